// The Asio peer of the echo workload (h) of bench/net/run-net (issue 5): standalone Asio, C++20
// coroutines, one io_context run by one thread.
//
//   peer_asio_echo_server [host] [port] [--until-stdin-closes] [--tls CERT KEY]
//                         (defaults: 127.0.0.1 and 0)
//
// Per chunk, like bench/net/echo_protocol_server and the C epoll server (not line based like the
// streams echo): one coroutine per connection does async_read_some of up to 64 KiB, then
// async_write of what arrived, and again. TCP_NODELAY on accepted sockets, as the others.
// With --tls the same coroutine runs on an asio::ssl::stream over the socket, after its
// async_handshake; at the client's close_notify it answers with its own (async_shutdown), as the
// other TLS servers do.
// Prints "serving on HOST:PORT" once it listens; stops when stdin closes (--until-stdin-closes) or
// on SIGINT/SIGTERM.

#include <asio.hpp>
#include <asio/ssl.hpp>

#include <memory>

#include "server_common.hpp"

namespace {

using asio::ip::tcp;

asio::awaitable<void> echo(tcp::socket socket) {
  // In the coroutine frame, allocated once per connection.
  std::unique_ptr<char[]> data(new char[64 * 1024]);
  try {
    for (;;) {
      const std::size_t n = co_await socket.async_read_some(asio::buffer(data.get(), 64 * 1024), asio::use_awaitable);
      co_await asio::async_write(socket, asio::buffer(data.get(), n), asio::use_awaitable);
    }
  } catch (const std::system_error&) {
    // EOF or a reset: the connection ends (the only exception per connection).
  }
}

asio::awaitable<void> echo_tls(asio::ssl::stream<tcp::socket> stream) {
  asio::error_code ec;
  co_await stream.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;  // a failed handshake ends only this connection
  std::unique_ptr<char[]> data(new char[64 * 1024]);
  for (;;) {
    const std::size_t n = co_await stream.async_read_some(asio::buffer(data.get(), 64 * 1024),
                                                          asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    co_await asio::async_write(stream, asio::buffer(data.get(), n), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
  }
  // asio::error::eof is the client's close_notify: answer it. Anything else (a reset, TCP EOF
  // without close_notify) leaves nobody to answer.
  if (ec == asio::error::eof) co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> accept_loop(tcp::acceptor acceptor, std::shared_ptr<asio::ssl::context> tls) {
  for (;;) {
    tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
    socket.set_option(tcp::no_delay(true));
    if (tls) {
      asio::co_spawn(acceptor.get_executor(), echo_tls(asio::ssl::stream<tcp::socket>(std::move(socket), *tls)),
                     asio::detached);
    } else {
      asio::co_spawn(acceptor.get_executor(), echo(std::move(socket)), asio::detached);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  return peer::run_server("peer_asio_echo_server", argc, argv, [](asio::io_context& ctx, const peer::ServerArgs& args) {
    auto tls = args.tls_cert.empty() ? nullptr : peer::tls_context(args);
    asio::co_spawn(ctx, accept_loop(peer::listen(ctx, args), std::move(tls)), asio::detached);
  });
}
