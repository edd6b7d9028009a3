// The Asio peer of the HTTP workloads of bench/net/run-net (issue 5): an HTTP/1.1 keep-alive
// "hello" server answering what examples/http_hello answers, on standalone Asio with C++20
// coroutines, one io_context run by one thread.
//
//   peer_asio_http_server [host] [port] [--until-stdin-closes] [--tls CERT KEY]
//                         (defaults: 127.0.0.1 and 0)
//
// One coroutine per connection: async_read_until the blank line ending a request head (8 KiB at
// most, the example's limit; 431 past it), a minimal parse of the request line and the header
// fields (Content-Length, Connection), the body if there is one, then async_write of
//
//   HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\nHello, world!\n
//
// Keep-alive for HTTP/1.1 unless "Connection: close", for HTTP/1.0 only with "Connection:
// keep-alive" (a closing answer adds "Connection: close"); a malformed request gets 400 and the
// connection closes. The parser checks less than the example's (examples/http_hello/
// http_request.cpp): the work any server must do, not a validating one.
//
// --tls: HTTPS, the same coroutine on an asio::ssl::stream over the socket after its
// async_handshake; where the plain server shuts its sending side, it sends close_notify.

#include <asio.hpp>
#include <asio/ssl.hpp>

#include <charconv>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "server_common.hpp"

namespace {

using asio::ip::tcp;

constexpr std::size_t kMaxHead = 8192;
constexpr std::string_view kHello = "Hello, world!\n";

std::string response(int status, std::string_view reason, std::string_view body, bool keep_alive) {
  std::string r = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
                  "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  if (!keep_alive) r += "Connection: close\r\n";
  r += "\r\n";
  r += body;
  return r;
}

const std::string kOkKeepAlive = response(200, "OK", kHello, true);
const std::string kOkClose = response(200, "OK", kHello, false);

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool lists(std::string_view value, std::string_view option) {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    if (iequals(trim(value.substr(0, comma)), option)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

struct Head {
  bool keep_alive = true;
  std::size_t content_length = 0;
};

// A request head, its final CRLF CRLF included; nullopt if malformed.
std::optional<Head> parse_head(std::string_view head) {
  head.remove_suffix(2);  // every line keeps its CRLF
  std::size_t eol = head.find("\r\n");
  const std::string_view line = head.substr(0, eol);
  head.remove_prefix(eol + 2);
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == 0 || sp2 == std::string_view::npos || sp2 == sp1 + 1) return std::nullopt;
  const std::string_view version = line.substr(sp2 + 1);
  Head h;
  if (version == "HTTP/1.1") {
    h.keep_alive = true;
  } else if (version == "HTTP/1.0") {
    h.keep_alive = false;
  } else {
    return std::nullopt;
  }
  while (!head.empty()) {
    eol = head.find("\r\n");
    const std::string_view field = head.substr(0, eol);
    head.remove_prefix(eol + 2);
    const std::size_t colon = field.find(':');
    if (colon == 0 || colon == std::string_view::npos) return std::nullopt;
    const std::string_view name = field.substr(0, colon);
    const std::string_view value = trim(field.substr(colon + 1));
    if (iequals(name, "content-length")) {
      const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), h.content_length);
      if (value.empty() || ec != std::errc() || ptr != value.data() + value.size()) return std::nullopt;
    } else if (iequals(name, "transfer-encoding")) {
      return std::nullopt;  // the example answers 501; no client of the benchmark sends it
    } else if (iequals(name, "connection")) {
      if (lists(value, "close")) {
        h.keep_alive = false;
      } else if (lists(value, "keep-alive")) {
        h.keep_alive = true;
      }
    }
  }
  return h;
}

// g++ 12 warns (-Wmismatched-new-delete) that the TLS instance's frame, from Asio's frame operator
// new (::operator new, inlined), is freed by the matching operator delete: a false positive, which
// the plain instance of the same coroutine does not get.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
template <typename Stream>
asio::awaitable<void> serve_client(Stream socket) {
  if constexpr (!std::is_same_v<Stream, tcp::socket>) {
    asio::error_code ec;
    co_await socket.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;  // a failed handshake ends only this connection
  }
  std::string buf;  // bytes received and not yet consumed (a pipelined request may follow a head)
  try {
    for (;;) {
      asio::error_code ec;
      const std::size_t n = co_await asio::async_read_until(socket, asio::dynamic_buffer(buf, kMaxHead), "\r\n\r\n",
                                                            asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::eof) {
        // EOF: between requests it is the client leaving; inside one it is a truncated request.
        if (!buf.empty())
          co_await asio::async_write(socket, asio::buffer(response(400, "Bad Request", "truncated request\n", false)),
                                     asio::use_awaitable);
        break;
      }
      if (ec == asio::error::not_found) {  // no blank line within kMaxHead bytes
        co_await asio::async_write(
            socket, asio::buffer(response(431, "Request Header Fields Too Large", "request head too large\n", false)),
            asio::use_awaitable);
        break;
      }
      if (ec) break;  // a reset
      const std::optional<Head> head = parse_head(std::string_view(buf).substr(0, n));
      buf.erase(0, n);
      if (!head) {
        co_await asio::async_write(socket, asio::buffer(response(400, "Bad Request", "malformed request\n", false)),
                                   asio::use_awaitable);
        break;
      }
      if (head->content_length > 0) {
        if (buf.size() < head->content_length) {
          co_await asio::async_read(socket, asio::dynamic_buffer(buf),
                                    asio::transfer_exactly(head->content_length - buf.size()), asio::use_awaitable);
        }
        buf.erase(0, head->content_length);
      }
      co_await asio::async_write(socket, asio::buffer(head->keep_alive ? kOkKeepAlive : kOkClose), asio::use_awaitable);
      if (!head->keep_alive) break;
    }
    // The end of a connection: a FIN after the last answer (plain), close_notify (TLS; a client
    // that has gone already makes it fail, which changes nothing).
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      socket.shutdown(tcp::socket::shutdown_send);
    } else {
      asio::error_code ec;
      co_await socket.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
    }
  } catch (const std::system_error&) {
    // A reset, or EOF inside a body: the connection ends.
  }
}
#pragma GCC diagnostic pop

asio::awaitable<void> accept_loop(tcp::acceptor acceptor, std::shared_ptr<asio::ssl::context> tls) {
  for (;;) {
    tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
    socket.set_option(tcp::no_delay(true));
    if (tls) {
      asio::co_spawn(acceptor.get_executor(), serve_client(asio::ssl::stream<tcp::socket>(std::move(socket), *tls)),
                     asio::detached);
    } else {
      asio::co_spawn(acceptor.get_executor(), serve_client(std::move(socket)), asio::detached);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  return peer::run_server("peer_asio_http_server", argc, argv, [](asio::io_context& ctx, const peer::ServerArgs& args) {
    auto tls = args.tls_cert.empty() ? nullptr : peer::tls_context(args);
    asio::co_spawn(ctx, accept_loop(peer::listen(ctx, args), std::move(tls)), asio::detached);
  });
}
