// https_get: fetches an https:// URL over asyncio's TLS streams, as a very small curl.
//
//   https_get URL [--cafile FILE] [--insecure]
//
// The server's certificate must verify against the system's CA store (with --cafile, against the
// CAs in FILE instead) and must name the URL's host, which is also sent in SNI. --insecure skips
// both checks (for testing only: anyone in the middle can then read and change the traffic).
// Prints the status line and headers to stderr and the body to stdout, whether its length is
// given by Content-Length, by chunked transfer coding, or by the server closing the connection.
// Redirects are not followed. Exit status: 0 for a 2xx or 3xx answer, 1 for any other answer or
// an error (with a message), 2 for a bad command line.
//
// Try: https_get https://example.com/ > page.html

#include <asyncio/asyncio.hpp>

#include <algorithm>
#include <any>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

// The reads of the body are at most this large: the body is copied on as it comes, never held whole.
constexpr std::size_t kChunkSize = 64 * 1024;

// The parts of an https:// URL that the connection and the request need.
struct Url {
  std::string host;          // a name or an IP address (an IPv6 one without its brackets)
  std::uint16_t port = 443;  // https's default
  std::string authority;     // "host[:port]" as written in the URL: the request's Host header
  std::string target;        // path and query, "/" at least: the request line's target
};

// Splits "https://host[:port][/path][?query][#fragment]"; a ValueError says what is wrong.
Url parse_url(std::string_view url) {
  constexpr std::string_view scheme = "https://";
  if (!url.starts_with(scheme)) throw asyncio::ValueError("not an https:// URL: " + std::string(url));
  std::string_view rest = url.substr(scheme.size());
  rest = rest.substr(0, rest.find('#'));  // the fragment is for the browser, never sent

  Url parts;
  const std::size_t path_start = rest.find_first_of("/?");
  parts.authority = rest.substr(0, path_start);
  parts.target = path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
  if (parts.target.front() == '?') parts.target.insert(0, "/");

  std::string_view authority = parts.authority;
  if (authority.find('@') != std::string_view::npos) {
    throw asyncio::ValueError("user names and passwords in URLs are not supported: " + std::string(url));
  }
  std::string_view port;
  if (authority.starts_with('[')) {  // an IPv6 address: [::1]:8443
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) throw asyncio::ValueError("unclosed '[' in URL: " + std::string(url));
    parts.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') throw asyncio::ValueError("bad host in URL: " + std::string(url));
      port = authority.substr(close + 2);
    }
  } else {
    const std::size_t colon = authority.find(':');
    parts.host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (parts.host.empty()) throw asyncio::ValueError("no host in URL: " + std::string(url));
  if (!port.empty()) {
    unsigned value = 0;
    const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (error != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      throw asyncio::ValueError("bad port in URL: " + std::string(url));
    }
    parts.port = static_cast<std::uint16_t>(value);
  }
  return parts;
}

// HTTP header names are case-insensitive.
bool same_name(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](unsigned char x, unsigned char y) { return std::tolower(x) == std::tolower(y); });
}

// Without the spaces and tabs HTTP allows around a header's value.
std::string_view trim(std::string_view s) {
  const std::size_t begin = s.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(" \t") - begin + 1);
}

// A malformed response: what the server sent is not HTTP/1.1 as this client reads it.
struct ProtocolError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What the status line and headers say about the response and its body.
struct ResponseHead {
  int status = 0;
  bool chunked = false;                       // Transfer-Encoding: ..., chunked
  std::optional<std::size_t> content_length;  // Content-Length, when given (and not chunked)
};

// Parses a head (the status line, the header lines and the empty line, each ending in CRLF, as
// readuntil("\r\n\r\n") returns it) and prints it to stderr.
ResponseHead parse_head(std::string_view head) {
  auto next_line = [&head]() {
    const std::string_view line = head.substr(0, head.find("\r\n"));
    head.remove_prefix(line.size() + 2);
    std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
    return line;
  };
  ResponseHead parsed;
  const std::string_view status_line = next_line();  // "HTTP/1.1 200 OK"
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12 || status_line[8] != ' ' ||
      std::from_chars(status_line.data() + 9, status_line.data() + 12, parsed.status).ptr != status_line.data() + 12) {
    throw ProtocolError("not an HTTP/1.x status line: " + std::string(status_line));
  }
  while (!head.starts_with("\r\n")) {
    const std::string_view line = next_line();
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) throw ProtocolError("malformed header: " + std::string(line));
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (same_name(name, "Transfer-Encoding")) {
      parsed.chunked = value.size() >= 7 && same_name(value.substr(value.size() - 7), "chunked");
    } else if (same_name(name, "Content-Length")) {
      std::size_t length = 0;
      const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), length);
      if (error != std::errc() || end != value.data() + value.size()) {
        throw ProtocolError("bad Content-Length: " + std::string(value));
      }
      parsed.content_length = length;
    }
  }
  return parsed;
}

// The body goes to stdout byte for byte (it may be binary).
void write_out(std::string_view bytes) { std::fwrite(bytes.data(), 1, bytes.size(), stdout); }

// Copies the next `length` bytes of the response to stdout.
asyncio::Coro<void> copy_exactly(asyncio::StreamReader& reader, std::size_t length) {
  while (length > 0) {
    const std::string chunk = co_await reader.read(static_cast<std::ptrdiff_t>(std::min(length, kChunkSize)));
    if (chunk.empty()) {
      throw ProtocolError("the server closed the connection " + std::to_string(length) +
                          " bytes before the end of the body");
    }
    write_out(chunk);
    length -= chunk.size();
  }
}

// Copies a chunked body to stdout: "SIZE-IN-HEX[;extensions]\r\n" DATA "\r\n", ..., "0\r\n",
// then optional trailer fields and an empty line.
asyncio::Coro<void> copy_chunked(asyncio::StreamReader& reader) {
  for (;;) {
    const std::string line = co_await reader.readuntil("\r\n");
    std::size_t size = 0;
    const auto [ptr, error] = std::from_chars(line.data(), line.data() + line.size(), size, 16);
    if (error != std::errc() || (*ptr != ';' && *ptr != '\r' && *ptr != ' ')) {
      throw ProtocolError("bad chunk size line: " + line);
    }
    if (size == 0) break;
    co_await copy_exactly(reader, size);
    const std::string crlf = co_await reader.readexactly(2);
    if (crlf != "\r\n") throw ProtocolError("a chunk does not end with CRLF");
  }
  for (;;) {  // the trailer section, dropped
    const std::string line = co_await reader.readuntil("\r\n");
    if (line == "\r\n") break;
  }
}

// Copies everything until the server closes the connection to stdout.
asyncio::Coro<void> copy_until_eof(asyncio::StreamReader& reader) {
  for (;;) {
    const std::string chunk = co_await reader.read(static_cast<std::ptrdiff_t>(kChunkSize));
    if (chunk.empty()) break;
    write_out(chunk);
  }
}

// GETs `url` over TLS with `context`; prints the head and the body. Returns the exit status.
asyncio::Coro<int> fetch(Url url, asyncio::SSLContext context) {
  // server_hostname defaults to the host connected to: it is sent in SNI and the certificate must
  // name it (with check_hostname, as create_default_context sets it).
  const asyncio::TLSOptions tls(std::move(context));
  auto [reader, writer] = co_await asyncio::open_connection(url.host, url.port, tls);
  // What the handshake agreed on, as curl -v says it (to stderr, with the head).
  const auto session = std::any_cast<asyncio::SSLObject>(writer.get_extra_info("ssl_object"));
  std::fprintf(stderr, "* %s, ALPN %s\n", session.version().c_str(),
               session.selected_alpn_protocol().value_or("none").c_str());

  writer.write("GET " + url.target + " HTTP/1.1\r\nHost: " + url.authority +
               "\r\nUser-Agent: asyncio-cpp-https_get\r\nAccept: */*\r\nConnection: close\r\n\r\n");
  co_await writer.drain();

  ResponseHead head;
  do {  // interim 1xx answers (103 Early Hints) come before the final one
    const std::string text = co_await reader->readuntil("\r\n\r\n");
    head = parse_head(text);
  } while (head.status / 100 == 1);

  // RFC 9112 6.3: 204 and 304 have no body; else chunked, Content-Length, or until the close.
  if (head.status == 204 || head.status == 304) {
    // no body
  } else if (head.chunked) {
    co_await copy_chunked(*reader);
  } else if (head.content_length) {
    co_await copy_exactly(*reader, *head.content_length);
  } else {
    co_await copy_until_eof(*reader);
  }
  std::fflush(stdout);

  writer.close();  // sends close_notify; the server already closes (we said Connection: close)
  try {
    co_await writer.wait_closed();
  } catch (const asyncio::OSError&) {
    // The answer is complete: how the server ends the connection no longer matters.
  }
  co_return head.status >= 200 && head.status < 400 ? 0 : 1;
}

// The usage text, for a bad command line.
int usage() {
  std::fprintf(stderr, "usage: https_get URL [--cafile FILE] [--insecure]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url_text;
  std::string cafile;
  bool insecure = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--cafile" && i + 1 < argc) {
      cafile = argv[++i];
    } else if (arg == "--insecure") {
      insecure = true;
    } else if (url_text.empty() && !arg.starts_with("--")) {
      url_text = arg;
    } else {
      return usage();
    }
  }
  if (url_text.empty()) return usage();

  Url url;
  try {
    url = parse_url(url_text);
    // A client context: the system's CAs (or cafile's), the hostname check, TLS 1.2 at least.
    asyncio::SSLContext context = asyncio::create_default_context(asyncio::Purpose::server_auth, cafile);
    // Offered in the handshake, as every HTTPS client does (the only protocol spoken here).
    context.set_alpn_protocols({"http/1.1"});
    if (insecure) {
      context.set_check_hostname(false);  // first: cert_none is refused while it is on
      context.set_verify_mode(asyncio::VerifyMode::cert_none);
    }
    return asyncio::run(fetch(url, std::move(context)));
  } catch (const asyncio::SSLCertVerificationError& e) {
    std::fprintf(stderr, "https_get: %s:%u: %s\n", url.host.c_str(), url.port, e.what());
    std::fprintf(stderr, "https_get: (--cafile FILE trusts the CAs in FILE; --insecure skips verification)\n");
  } catch (const asyncio::IncompleteReadError&) {
    std::fprintf(stderr, "https_get: the server closed the connection before the end of the response\n");
  } catch (const asyncio::LimitOverrunError&) {
    std::fprintf(stderr, "https_get: the response's head (or a chunk size line) is over 64 KiB\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "https_get: %s\n", e.what());
  } catch (const asyncio::BaseException& e) {  // KeyboardInterrupt: Ctrl-C
    std::fprintf(stderr, "https_get: %s\n", e.name());
  }
  return 1;
}
