#include "http_server.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

#include "http_request.hpp"

namespace http_hello {

namespace {

constexpr std::size_t kReadSize = 64 * 1024;
constexpr std::string_view kHello = "Hello, world!\n";

// The 200 responses, built once: a response per request is the server's hot path.
struct HelloResponses {
  std::string keep_alive_11;  // HTTP/1.1: persistent by default, nothing to say
  std::string keep_alive_10;  // HTTP/1.0 client that asked for keep-alive: must be told
  std::string close;
  std::string head_keep_alive_11, head_keep_alive_10, head_close;

  HelloResponses() {
    const std::string start =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(kHello.size()) + "\r\n";
    head_keep_alive_11 = start + "\r\n";
    head_keep_alive_10 = start + "Connection: keep-alive\r\n\r\n";
    head_close = start + "Connection: close\r\n\r\n";
    keep_alive_11 = head_keep_alive_11 + std::string(kHello);
    keep_alive_10 = head_keep_alive_10 + std::string(kHello);
    close = head_close + std::string(kHello);
  }

  const std::string& pick(bool head, bool keep_alive, int minor_version) const {
    if (!keep_alive) return head ? head_close : close;
    if (minor_version == 0) return head ? head_keep_alive_10 : keep_alive_10;
    return head ? head_keep_alive_11 : keep_alive_11;
  }
};

const HelloResponses& hello() {
  static const HelloResponses responses;
  return responses;
}

// An error response; the connection closes after it.
std::string error_response(int status, std::string_view reason, std::string_view detail) {
  const std::string body = std::string(detail) + "\n";
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
         "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

std::string parse_error_response(const ParseResult& parsed) {
  switch (parsed.status) {
    case ParseStatus::not_implemented:
      return error_response(501, "Not Implemented", parsed.error);
    case ParseStatus::too_large:
      return error_response(431, "Request Header Fields Too Large", parsed.error);
    default:
      return error_response(400, "Bad Request", parsed.error);
  }
}

// What the response needs from a head, copied out before the buffer it points into changes.
struct Head {
  bool head_method = false;
  bool keep_alive = true;
  int minor_version = 1;
  std::size_t content_length = 0;
  Expectation expect = Expectation::none;
};

// The state of one connection between its phases.
class Connection {
 public:
  Connection(asyncio::StreamReader& reader, asyncio::StreamWriter& writer, const ServerOptions& options,
             asyncio::Timeout& deadline)
      : reader_(reader), writer_(writer), options_(options), deadline_(deadline) {}

  // Where a connection can wait, and what running out of time there means.
  enum class Phase {
    idle,     // between requests: close quietly
    request,  // inside a head or a body: 408, then close
    respond,  // the client does not read its response: abort (nothing more can be sent)
    linger,   // after a refusal, dropping what the client still sends: close
  };
  [[nodiscard]] Phase phase() const noexcept { return phase_; }

  // Serves requests until the connection is to end, then lets the last response go out (under the
  // deadline still set: a client that does not read cannot hold the connection forever).
  asyncio::Coro<void> serve() {
    co_await serve_requests();
    phase_ = Phase::respond;
    co_await writer_.drain();
    if (refused_) co_await linger();
  }

 private:
  asyncio::Coro<void> serve_requests() {
    for (;;) {
      std::optional<Head> head = co_await read_head();
      if (!head) co_return;
      if (head->expect == Expectation::unsupported) {
        refuse(error_response(417, "Expectation Failed", "only 100-continue is supported"));
        co_return;
      }
      if (head->content_length > options_.max_body_size) {
        refuse(error_response(413, "Content Too Large",
                              "the body is larger than " + std::to_string(options_.max_body_size) + " bytes"));
        co_return;
      }
      if (head->content_length > 0) {
        // RFC 9110 10.1.1: an HTTP/1.0 client's 100-continue is ignored.
        if (head->expect == Expectation::continue_100 && head->minor_version == 1) {
          writer_.write(std::string_view("HTTP/1.1 100 Continue\r\n\r\n"));
        }
        phase_ = Phase::request;
        if (!co_await skip_body(head->content_length)) {
          refuse(error_response(400, "Bad Request", "truncated body"));
          co_return;
        }
      }
      writer_.write(hello().pick(head->head_method, head->keep_alive, head->minor_version));
      phase_ = Phase::respond;
      co_await writer_.drain();
      if (!head->keep_alive) co_return;
    }
  }

  // Answers with an error; the connection ends after it.
  void refuse(std::string_view response) {
    writer_.write(response);
    refused_ = true;
  }

  // A lingering close (nginx's lingering_close): after a refusal the client may still be sending (a
  // body we will not read, more pipelined requests). Closing a socket with unread data makes the
  // kernel answer with a reset, which can destroy the response before the client reads it; so
  // shut our side down and drop what comes, for a bounded time and amount, until the client closes.
  asyncio::Coro<void> linger() {
    phase_ = Phase::linger;
    deadline_.reschedule(asyncio::get_running_loop().time() + kLingerSeconds);
    co_await drop_until_eof();
  }

 public:
  static constexpr double kLingerSeconds = 2;

  // The lingering itself, under whatever deadline the caller set: our side shut down, what comes
  // dropped until the client closes (or 4 MiB have come).
  asyncio::Coro<void> drop_until_eof() {
    constexpr std::size_t kLingerBytes = 4 * 1024 * 1024;
    if (writer_.can_write_eof() && !writer_.is_closing()) writer_.write_eof();
    for (std::size_t dropped = 0; dropped < kLingerBytes;) {
      const std::string_view chunk = co_await reader_.read_view(kReadSize);
      if (chunk.empty()) break;
      dropped += chunk.size();
    }
  }

 private:
  // Reads and parses the next head. Empty when the connection is to end: the client left between
  // requests (nothing to say), or the head was malformed, truncated or too large (answered).
  // Deadlines: idle_timeout for a head to begin, then header_timeout from its first incomplete
  // parse. A head that arrives whole is parsed once and moves no deadline beyond the idle one.
  asyncio::Coro<std::optional<Head>> read_head() {
    asyncio::EventLoop& loop = asyncio::get_running_loop();
    phase_ = Phase::idle;
    bool waiting_set = false;  // the idle deadline, once per head
    for (;;) {
      if (!buffer_.empty()) {
        const ParseResult parsed = parse_request(buffer_);
        if (parsed.status == ParseStatus::complete) {
          const Request& r = parsed.request;
          Head head{r.method == "HEAD", r.keep_alive, r.minor_version, r.content_length, r.expect};
          buffer_.erase(0, parsed.head_size);
          co_return head;
        }
        if (parsed.status != ParseStatus::incomplete) {
          refuse(parse_error_response(parsed));
          co_return std::nullopt;
        }
        if (phase_ == Phase::idle) {
          phase_ = Phase::request;
          deadline_.reschedule(loop.time() + options_.header_timeout);
        }
      } else if (!waiting_set) {
        deadline_.reschedule(loop.time() + options_.idle_timeout);
        waiting_set = true;
      }
      std::string_view chunk = co_await reader_.read_view(kReadSize);
      if (chunk.empty()) {  // EOF: between requests the client is leaving; inside one it is a truncation
        if (!buffer_.empty()) refuse(error_response(400, "Bad Request", "truncated request"));
        co_return std::nullopt;
      }
      buffer_.append(chunk);
    }
  }

  // Reads and drops `length` body bytes (those already buffered first); false at EOF before.
  asyncio::Coro<bool> skip_body(std::size_t length) {
    const std::size_t buffered = std::min(length, buffer_.size());
    buffer_.erase(0, buffered);
    length -= buffered;
    asyncio::EventLoop& loop = asyncio::get_running_loop();
    while (length > 0) {
      deadline_.reschedule(loop.time() + options_.idle_timeout);
      const std::string_view chunk = co_await reader_.read_view(std::min(length, kReadSize));
      if (chunk.empty()) co_return false;
      length -= chunk.size();
    }
    co_return true;
  }

  asyncio::StreamReader& reader_;
  asyncio::StreamWriter& writer_;
  const ServerOptions& options_;
  asyncio::Timeout& deadline_;
  std::string buffer_;  // received bytes not yet used: part of a head, or what follows one
  Phase phase_ = Phase::idle;
  bool refused_ = false;
};

}  // namespace

asyncio::Coro<void> serve_requests(asyncio::StreamReader& reader, asyncio::StreamWriter& writer,
                                   const ServerOptions& options) {
  asyncio::Timeout deadline = asyncio::timeout(std::nullopt);
  Connection connection(reader, writer, options, deadline);
  bool request_timed_out = false;
  try {
    co_await deadline.run([&connection]() { return connection.serve(); });
  } catch (const asyncio::TimeoutError&) {
    switch (connection.phase()) {
      case Connection::Phase::idle:
      case Connection::Phase::linger:
        break;
      case Connection::Phase::request:
        request_timed_out = true;
        break;
      case Connection::Phase::respond:
        if (asyncio::WriteTransport* transport = writer.transport()) transport->abort();
        break;
    }
  }
  if (!request_timed_out) co_return;
  // The client is still sending (slowly, or a body we stopped waiting for): answer, then linger,
  // so that the 408 is read rather than destroyed by a reset. (Small enough for the socket buffer:
  // no drain, which a client that does not read could hold forever.)
  writer.write(error_response(408, "Request Timeout", "the request took too long"));
  auto lingering = asyncio::timeout(Connection::kLingerSeconds);
  try {
    co_await lingering.run([&connection]() { return connection.drop_until_eof(); });
  } catch (const asyncio::TimeoutError&) {
  }
}

}  // namespace http_hello
