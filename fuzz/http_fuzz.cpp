// The http_hello example's request parser and server, fuzzed.
//
// The first input byte picks a mode:
//
// Parser mode: the rest is one buffer for parse_request(). Checked against a reference parser
// written independently in this file from the grammar http_request.hpp states (RFC 9112's request
// line and fields, Content-Length only, Host required on 1.1, CRLF line ends, 8 KiB heads): both
// must agree on the status and on every field. Also, for the library's parser: a complete head is
// parsed the same from any buffer that starts with it; every proper prefix of a complete head is
// incomplete (a head is never refused before the byte that makes it wrong); an error on a prefix
// stays an error however the buffer goes on; views point inside the head.
//
// Server mode: the rest is a script for one connection served by http_hello::serve_requests over
// a fake transport on the virtual clock: chunks of request bytes (from raw input or a table of
// HTTP tokens), pauses of virtual time, the client stopping and resuming reading, and the end
// (EOF or a reset). Checked: the server always ends (never waits forever), nothing reaches the
// loop's exception handler, every response is framed correctly (status line, Content-Length that
// matches the body, no body for HEAD or 100), and the sequence of statuses is what a model of the
// server computes from the bytes alone: exactly, when no pause reached a timeout and the client
// kept reading; otherwise a prefix of it, followed by at most one 408.

#include <asyncio/asyncio.hpp>

#include <algorithm>
#include <any>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http_request.hpp"
#include "http_server.hpp"
#include "support/check.hpp"
#include "support/fuzz_input.hpp"

namespace {

using asyncio_fuzz::FuzzInput;
using http_hello::Expectation;
using http_hello::ParseResult;
using http_hello::ParseStatus;

// ------------------------------------------------------------------------------------------------
// The reference parser: the same grammar, written line by line instead of by offsets.

struct RefResult {
  ParseStatus status = ParseStatus::incomplete;
  std::size_t head_size = 0;
  std::string method, target;
  int minor_version = 1;
  bool keep_alive = true;
  std::size_t content_length = 0;
  Expectation expect = Expectation::none;
};

bool ref_tchar(unsigned char c) {
  return std::isalnum(c) != 0 ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool ref_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return ref_tchar(static_cast<unsigned char>(c)); });
}

std::string ref_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view ref_trim(std::string_view s) {
  const std::size_t first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

RefResult ref_status(ParseStatus status) {
  RefResult r;
  r.status = status;
  return r;
}

RefResult reference_parse(std::string_view buffer) {
  const std::size_t end = buffer.find("\r\n\r\n");
  // The head so far (all of the buffer while its end has not come), of which the first 8 KiB
  // decide between "bare LF" (400) and "too large" (431).
  const std::string_view head = end == std::string_view::npos ? buffer : buffer.substr(0, end + 4);
  const std::string_view first = head.substr(0, http_hello::kMaxHeadSize);
  for (std::size_t i = 0; i < first.size(); ++i) {
    if (first[i] == '\n' && (i == 0 || first[i - 1] != '\r')) return ref_status(ParseStatus::bad_request);
  }
  if (head.size() > http_hello::kMaxHeadSize) return ref_status(ParseStatus::too_large);
  if (end == std::string_view::npos) return ref_status(ParseStatus::incomplete);

  std::vector<std::string_view> lines;
  for (std::string_view rest = buffer.substr(0, end + 2); !rest.empty();) {
    const std::size_t eol = rest.find("\r\n");
    lines.push_back(rest.substr(0, eol));
    rest.remove_prefix(eol + 2);
  }
  RefResult r;
  r.head_size = end + 4;
  // Request line: exactly three parts separated by single spaces.
  const std::string_view request_line = lines.front();
  if (request_line.find('\r') != std::string_view::npos) return ref_status(ParseStatus::bad_request);
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= request_line.size(); ++i) {
    if (i == request_line.size() || request_line[i] == ' ') {
      parts.push_back(request_line.substr(start, i - start));
      start = i + 1;
    }
  }
  if (parts.size() != 3 || !ref_token(parts[0]) || parts[1].empty()) return ref_status(ParseStatus::bad_request);
  for (char c : parts[1]) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return ref_status(ParseStatus::bad_request);
  }
  if (parts[2] == "HTTP/1.1") {
    r.minor_version = 1;
  } else if (parts[2] == "HTTP/1.0") {
    r.minor_version = 0;
  } else {
    return ref_status(ParseStatus::bad_request);
  }
  r.method = parts[0];
  r.target = parts[1];
  r.keep_alive = r.minor_version == 1;
  bool asked_keep_alive = false;
  bool asked_close = false;
  bool have_length = false;
  int hosts = 0;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (line.empty() || line.front() == ' ' || line.front() == '\t') return ref_status(ParseStatus::bad_request);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || !ref_token(line.substr(0, colon))) {
      return ref_status(ParseStatus::bad_request);
    }
    const std::string name = ref_lower(line.substr(0, colon));
    const std::string_view value = ref_trim(line.substr(colon + 1));
    for (char c : value) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) return ref_status(ParseStatus::bad_request);
    }
    if (name == "content-length") {
      if (value.empty() || !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return ref_status(ParseStatus::bad_request);
      }
      // Leading zeros are allowed; the largest body is 2^63 - 1.
      constexpr std::uint64_t kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
      std::uint64_t n = 0;
      for (char c : value) {
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (n > (kMax - digit) / 10) return ref_status(ParseStatus::bad_request);
        n = n * 10 + digit;
      }
      if (have_length && n != r.content_length) return ref_status(ParseStatus::bad_request);
      have_length = true;
      r.content_length = static_cast<std::size_t>(n);
    } else if (name == "transfer-encoding") {
      return ref_status(ParseStatus::not_implemented);
    } else if (name == "connection") {
      std::size_t from = 0;
      for (std::size_t j = 0; j <= value.size(); ++j) {
        if (j == value.size() || value[j] == ',') {
          const std::string option = ref_lower(ref_trim(value.substr(from, j - from)));
          if (option == "close") asked_close = true;
          if (option == "keep-alive") asked_keep_alive = true;
          from = j + 1;
        }
      }
    } else if (name == "expect") {
      if (r.expect != Expectation::none) return ref_status(ParseStatus::bad_request);
      r.expect = ref_lower(value) == "100-continue" ? Expectation::continue_100 : Expectation::unsupported;
    } else if (name == "host") {
      if (++hosts > 1) return ref_status(ParseStatus::bad_request);
    }
  }
  if (r.minor_version == 1 && hosts == 0) return ref_status(ParseStatus::bad_request);
  // The options in the order the header fields gave them: close wins over keep-alive.
  if (asked_keep_alive && r.minor_version == 0) r.keep_alive = true;
  if (asked_close) r.keep_alive = false;
  r.status = ParseStatus::complete;
  return r;
}

const char* status_name(ParseStatus s) {
  switch (s) {
    case ParseStatus::incomplete:
      return "incomplete";
    case ParseStatus::complete:
      return "complete";
    case ParseStatus::bad_request:
      return "bad_request";
    case ParseStatus::not_implemented:
      return "not_implemented";
    case ParseStatus::too_large:
      return "too_large";
  }
  return "?";
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (u < 0x20 || u >= 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

bool same_result(const ParseResult& a, const ParseResult& b) {
  if (a.status != b.status) return false;
  if (a.status != ParseStatus::complete) return true;
  return a.head_size == b.head_size && a.request.method == b.request.method && a.request.target == b.request.target &&
         a.request.minor_version == b.request.minor_version && a.request.keep_alive == b.request.keep_alive &&
         a.request.content_length == b.request.content_length && a.request.expect == b.request.expect;
}

void check_parser(std::string_view input, FuzzInput& cuts) {
  // A heap copy of exactly the input's size, so that AddressSanitizer sees any read past its end.
  const std::unique_ptr<char[]> copy(new char[input.size() + 1]);
  std::copy(input.begin(), input.end(), copy.get());
  const std::string_view buffer(copy.get(), input.size());

  const ParseResult got = http_hello::parse_request(buffer);
  const RefResult want = reference_parse(buffer);
  const std::string where = "buffer " + quoted(buffer);
  FUZZ_CHECK(got.status == want.status, where + ": parse_request says " + status_name(got.status) + ", the reference " +
                                            status_name(want.status) +
                                            (got.error.empty() ? "" : " (" + std::string(got.error) + ")"));
  FUZZ_CHECK(same_result(got, http_hello::parse_request(buffer)), where + ": not deterministic");
  if (got.status != ParseStatus::complete) {
    FUZZ_CHECK(got.status == ParseStatus::incomplete || !got.error.empty(), where + ": an error without a reason");
    if (got.status != ParseStatus::incomplete) {
      // Once wrong, always wrong: more bytes cannot repair a refused head.
      const std::string longer = std::string(buffer) + "\r\n\r\n" + std::string(cuts.bytes(16));
      FUZZ_CHECK(http_hello::parse_request(longer).status != ParseStatus::incomplete &&
                     http_hello::parse_request(longer).status != ParseStatus::complete,
                 where + ": an error became acceptable with more bytes");
    }
    return;
  }
  const http_hello::Request& r = got.request;
  FUZZ_CHECK(got.head_size <= buffer.size() && got.head_size >= 4 && buffer.substr(got.head_size - 4, 4) == "\r\n\r\n",
             where + ": head_size does not end at CRLF CRLF");
  for (std::string_view view : {r.method, r.target}) {
    FUZZ_CHECK(view.data() >= buffer.data() && view.data() + view.size() <= buffer.data() + got.head_size,
               where + ": a view points outside the head");
  }
  FUZZ_CHECK(r.method == want.method && r.target == want.target && r.minor_version == want.minor_version &&
                 r.keep_alive == want.keep_alive && r.content_length == want.content_length &&
                 r.expect == want.expect && got.head_size == want.head_size,
             where + ": fields differ from the reference (method " + quoted(r.method) + "/" + quoted(want.method) +
                 ", length " + std::to_string(r.content_length) + "/" + std::to_string(want.content_length) +
                 ", keep-alive " + std::to_string(r.keep_alive) + "/" + std::to_string(want.keep_alive) + ")");
  // Whatever follows the head does not change it.
  const std::string head(buffer.substr(0, got.head_size));
  FUZZ_CHECK(same_result(got, http_hello::parse_request(head)), where + ": the head alone parses differently");
  // A head is never refused early: every proper prefix of it is incomplete.
  for (int i = 0; i < 4; ++i) {
    const std::size_t cut = cuts.below(got.head_size);
    const ParseStatus s = http_hello::parse_request(std::string_view(head).substr(0, cut)).status;
    FUZZ_CHECK(s == ParseStatus::incomplete,
               where + ": its prefix of " + std::to_string(cut) + " bytes is " + status_name(s) + ", not incomplete");
  }
}

// ------------------------------------------------------------------------------------------------
// The server, over a fake transport.

// A transport with no descriptor: records what the server writes, lets the script play the
// client's side (data, EOF, reset, stopping and resuming reading).
class ScriptTransport final : public asyncio::Transport, public std::enable_shared_from_this<ScriptTransport> {
 public:
  explicit ScriptTransport(std::shared_ptr<asyncio::StreamReaderProtocol> protocol) : protocol_(std::move(protocol)) {}

  std::string written;
  bool aborted = false;
  bool closed = false;

  void receive(std::string_view data) { protocol_->data_received(data); }
  void receive_eof() { protocol_->eof_received(); }
  void lose(std::exception_ptr error) {
    if (lost_) return;
    lost_ = true;
    closing_ = true;
    protocol_->connection_lost(std::move(error));
  }
  void client_stops_reading() {
    if (!paused_ && !closing_) {
      paused_ = true;
      protocol_->pause_writing();
    }
  }
  void client_reads() {
    if (paused_ && !closing_) {
      paused_ = false;
      protocol_->resume_writing();
    }
  }
  [[nodiscard]] bool lost() const noexcept { return lost_; }

  [[nodiscard]] std::any get_extra_info(std::string_view) const override { return {}; }
  [[nodiscard]] bool is_closing() const noexcept override { return closing_; }
  void close() override {
    closed = true;
    end_soon();
  }
  void set_protocol(std::shared_ptr<asyncio::BaseProtocol>) override {}
  [[nodiscard]] std::shared_ptr<asyncio::BaseProtocol> get_protocol() const override { return protocol_; }
  [[nodiscard]] bool is_reading() const noexcept override { return reading_; }
  void pause_reading() override { reading_ = false; }
  void resume_reading() override { reading_ = true; }
  void write(std::string_view data) override {
    if (!closing_) written.append(data);
  }
  void writelines(std::span<const std::string_view> data) override {
    for (std::string_view d : data) write(d);
  }
  void write_eof() override {}
  [[nodiscard]] bool can_write_eof() const noexcept override { return true; }
  void abort() override {
    aborted = true;
    end_soon();
  }
  [[nodiscard]] std::size_t get_write_buffer_size() const noexcept override { return 0; }
  void set_write_buffer_limits(std::size_t, std::size_t) override {}
  using WriteTransport::set_write_buffer_limits;
  [[nodiscard]] std::pair<std::size_t, std::size_t> get_write_buffer_limits() const noexcept override {
    return {16 * 1024, 64 * 1024};
  }

 private:
  void end_soon() {
    if (closing_) return;
    closing_ = true;
    asyncio::get_running_loop().call_soon([self = shared_from_this()] { self->lose(nullptr); });
  }

  std::shared_ptr<asyncio::StreamReaderProtocol> protocol_;
  bool closing_ = false;
  bool lost_ = false;
  bool paused_ = false;
  bool reading_ = true;
};

// Tokens a request is made of, so that short inputs reach deep into the server.
constexpr std::string_view kTokens[] = {
    "GET / HTTP/1.1\r\n",
    "HEAD / HTTP/1.1\r\n",
    "POST /p HTTP/1.1\r\n",
    "GET / HTTP/1.0\r\n",
    "HEAD / HTTP/1.0\r\n",
    "Host: x\r\n",
    "Content-Length: 5\r\n",
    "Content-Length: 0\r\n",
    "Content-Length: 200\r\n",
    "Content-Length: 9223372036854775808\r\n",
    "Content-Length: 9223372036854775807\r\n",
    "Connection: close\r\n",
    "Connection: keep-alive\r\n",
    "Expect: 100-continue\r\n",
    "Expect: nothing\r\n",
    "Transfer-Encoding: chunked\r\n",
    "\r\n",
    "\n",
    "hello",
    "0123456789abcdef0123456789abcdef",
};

// What the script did, for the model.
struct Script {
  std::string bytes;    // everything the client sent, in order
  bool reset = false;   // the client reset instead of closing
  bool timing = false;  // a pause reached a timeout, or the client stopped reading
};

struct Expected {
  std::vector<int> statuses;    // in order; 100 included
  std::vector<bool> head_body;  // per status: false when the response has no body (HEAD's 200, 100)
};

// The server's answers to `bytes` followed by EOF, computed from the parser alone.
Expected model_server(std::string_view bytes, const http_hello::ServerOptions& options) {
  Expected e;
  auto answer = [&e](int status, bool body = true) {
    e.statuses.push_back(status);
    e.head_body.push_back(body);
  };
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    const ParseResult r = http_hello::parse_request(bytes.substr(pos));
    switch (r.status) {
      case ParseStatus::incomplete:
      case ParseStatus::bad_request:
        answer(400);
        return e;
      case ParseStatus::not_implemented:
        answer(501);
        return e;
      case ParseStatus::too_large:
        answer(431);
        return e;
      case ParseStatus::complete:
        break;
    }
    const http_hello::Request& req = r.request;
    const bool head = req.method == "HEAD";
    const bool keep_alive = req.keep_alive;
    const std::size_t length = req.content_length;
    const Expectation expect = req.expect;
    const int minor = req.minor_version;
    pos += r.head_size;
    if (expect == Expectation::unsupported) {
      answer(417);
      return e;
    }
    if (length > options.max_body_size) {
      answer(413);
      return e;
    }
    if (length > 0 && expect == Expectation::continue_100 && minor == 1) answer(100, false);
    if (bytes.size() - pos < length) {
      answer(400);
      return e;
    }
    pos += length;
    answer(200, !head);
    if (!keep_alive) return e;
  }
  return e;
}

// Splits what the server wrote into responses, checking the framing; returns the statuses.
std::vector<int> parse_responses(std::string_view out, const Expected& expected, const std::string& where) {
  std::vector<int> statuses;
  while (!out.empty()) {
    const std::size_t end = out.find("\r\n\r\n");
    FUZZ_CHECK(end != std::string_view::npos, where + ": a response without the end of its head: " + quoted(out));
    const std::string_view head = out.substr(0, end + 4);
    FUZZ_CHECK(head.starts_with("HTTP/1.1 ") && head.size() > 12 && head[12] == ' ',
               where + ": a bad status line: " + quoted(head));
    const int status = std::stoi(std::string(head.substr(9, 3)));
    out.remove_prefix(head.size());
    const std::size_t index = statuses.size();
    statuses.push_back(status);
    if (status == 100) {
      FUZZ_CHECK(head == "HTTP/1.1 100 Continue\r\n\r\n", where + ": a bad 100: " + quoted(head));
      continue;
    }
    const std::size_t cl = head.find("\r\nContent-Length: ");
    FUZZ_CHECK(cl != std::string_view::npos, where + ": a response without Content-Length: " + quoted(head));
    const std::size_t length = std::stoul(std::string(head.substr(cl + 18)));
    // A HEAD's 200 carries the length of the body it does not send.
    const bool has_body = index >= expected.head_body.size() || expected.head_body[index] || status != 200;
    if (has_body) {
      FUZZ_CHECK(out.size() >= length, where + ": a body shorter than its Content-Length");
      out.remove_prefix(length);
    }
    if (status != 200) {
      FUZZ_CHECK(head.find("\r\nConnection: close\r\n") != std::string_view::npos,
                 where + ": an error response that does not close: " + quoted(head));
    }
  }
  return statuses;
}

std::string list(const std::vector<int>& v) {
  std::string s = "[";
  for (int x : v) s += std::to_string(x) + " ";
  return s + "]";
}

asyncio::Coro<void> run_script(FuzzInput& in, Script& script, ScriptTransport& transport,
                               const http_hello::ServerOptions& options, const bool& server_done) {
  const double shortest = std::min(options.header_timeout, options.idle_timeout);
  double paused = 0;  // virtual time the script let pass: deadlines can fire once it adds up
  for (int step = 0; step < 64 && !in.empty() && !server_done; ++step) {
    const std::uint8_t op = in.byte();
    if (op < 120) {
      std::string chunk;
      for (std::size_t n = 1 + op % 4; n > 0; --n) chunk += kTokens[in.below(std::size(kTokens))];
      script.bytes += chunk;
      transport.receive(chunk);
    } else if (op < 200) {
      const std::string chunk = in.bytes(48);
      script.bytes += chunk;
      transport.receive(chunk);
    } else if (op < 230) {
      co_await asyncio::sleep(0);
    } else if (op < 245) {
      const double pause = 0.25 * static_cast<double>(in.range(1, 24));
      paused += pause;
      if (paused >= shortest) script.timing = true;
      co_await asyncio::sleep(pause);
    } else if (op < 250) {
      script.timing = true;
      transport.client_stops_reading();
    } else if (op < 253) {
      transport.client_reads();
    } else {
      break;
    }
  }
  co_await asyncio::sleep(0);
  if (!transport.lost()) {
    if (in.byte() == 0xff) {
      script.reset = true;
      transport.lose(std::make_exception_ptr(asyncio::ConnectionResetError(104, "reset by the script")));
    } else {
      transport.client_reads();
      transport.receive_eof();
    }
  }
}

void check_server(FuzzInput& in) {
  http_hello::ServerOptions options;
  constexpr std::size_t kBodyLimits[] = {0, 4, 100, 1024 * 1024};
  options.max_body_size = kBodyLimits[in.below(std::size(kBodyLimits))];
  options.header_timeout = static_cast<double>(in.range(1, 4));
  options.idle_timeout = static_cast<double>(in.range(1, 4));

  asyncio::EventLoop loop(asyncio::LoopOptions{.clock = asyncio::ClockKind::virtual_time});
  std::vector<std::string> reports;
  loop.set_exception_handler([&reports](asyncio::EventLoop&, const asyncio::ExceptionContext& context) {
    reports.push_back(context.message);
  });
  Script script;
  bool server_done = false;
  std::string server_error;
  std::shared_ptr<ScriptTransport> transport;
  loop.run_until_complete([&]() -> asyncio::Coro<void> {
    auto reader = std::make_shared<asyncio::StreamReader>(static_cast<std::ptrdiff_t>(http_hello::kMaxHeadSize));
    auto protocol = std::make_shared<asyncio::StreamReaderProtocol>(reader);
    transport = std::make_shared<ScriptTransport>(protocol);
    protocol->connection_made(*transport);
    asyncio::StreamWriter writer(*transport, protocol, reader);
    auto server = asyncio::create_task([&]() -> asyncio::Coro<void> {
      try {
        co_await http_hello::serve_requests(*reader, writer, options);
      } catch (const asyncio::ConnectionError& e) {
        server_error = e.what();
      }
      server_done = true;
    });
    co_await run_script(in, script, *transport, options, server_done);
    // The server must end on its own: the client has closed (or reset), and every deadline is
    // bounded. The virtual clock jumps, so an hour costs nothing; still waiting then is a hang.
    const double give_up = asyncio::get_running_loop().time() + 3600;
    while (!server_done && asyncio::get_running_loop().time() < give_up) co_await asyncio::sleep(1);
    FUZZ_CHECK(server_done,
               "the server never ended; it sent " + quoted(transport->written) + " for " + quoted(script.bytes));
    writer.close();
    co_await asyncio::sleep(0);
  });

  const std::string where = "request bytes " + quoted(script.bytes);
  FUZZ_CHECK(reports.empty(), where + ": the loop's exception handler got \"" +
                                  (reports.empty() ? std::string() : reports.front()) + "\"");
  FUZZ_CHECK(script.reset || server_error.empty(), where + ": unexpected connection error " + server_error);
  if (script.reset) return;  // the reset may cut a response anywhere
  const Expected expected = model_server(script.bytes, options);
  if (transport->aborted) return;  // a response the client never read was dropped: framing is moot
  const std::vector<int> got = parse_responses(transport->written, expected, where);
  if (!script.timing) {
    FUZZ_CHECK(got == expected.statuses,
               where + ": statuses " + list(got) + ", the model says " + list(expected.statuses));
    return;
  }
  // A timeout ends the connection early: what was answered is a prefix of the model's answers,
  // and the last one may be the 408 of a request that took too long.
  std::vector<int> answered = got;
  if (!answered.empty() && answered.back() == 408) answered.pop_back();
  FUZZ_CHECK(answered.size() <= expected.statuses.size() &&
                 std::equal(answered.begin(), answered.end(), expected.statuses.begin()),
             where + ": statuses " + list(got) + " are not a prefix of the model's " + list(expected.statuses));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzInput in(data, size);
  if (in.byte() % 2 == 0) {
    FuzzInput cuts(data, size);  // where to cut the head: any deterministic choice will do
    check_parser(in.rest(), cuts);
  } else {
    check_server(in);
  }
  return 0;
}
