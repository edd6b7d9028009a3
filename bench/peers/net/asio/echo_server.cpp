// The Asio peer of the echo workload (h) of bench/net/run-net (issue 5): standalone Asio, C++20
// coroutines, one io_context run by one thread.
//
//   peer_asio_echo_server [host] [port] [--until-stdin-closes]    (defaults: 127.0.0.1 and 0)
//
// Per chunk, like bench/net/echo_protocol_server and the C epoll server (not line based like the
// streams echo): one coroutine per connection does async_read_some of up to 64 KiB, then
// async_write of what arrived, and again. TCP_NODELAY on accepted sockets, as the others.
// Prints "serving on HOST:PORT" once it listens; stops when stdin closes (--until-stdin-closes) or
// on SIGINT/SIGTERM.

#include <asio.hpp>

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

asio::awaitable<void> accept_loop(tcp::acceptor acceptor) {
  for (;;) {
    tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
    socket.set_option(tcp::no_delay(true));
    asio::co_spawn(acceptor.get_executor(), echo(std::move(socket)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  return peer::run_server("peer_asio_echo_server", argc, argv, [](asio::io_context& ctx, const peer::ServerArgs& args) {
    asio::co_spawn(ctx, accept_loop(peer::listen(ctx, args)), asio::detached);
  });
}
