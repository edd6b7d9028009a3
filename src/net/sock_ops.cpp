// sock_recv, sock_sendall, sock_connect, sock_accept, ...: CPython 3.13 selector_events.py's
// BaseSelectorEventLoop.sock_* on EventLoop::add_reader/add_writer.

#include "asyncio/net/sock_ops.hpp"

#include <cerrno>
#include <string>
#include <utility>

#include "asyncio/loop/event_loop.hpp"
#include "asyncio/os_error.hpp"
#include "asyncio/task/future.hpp"
#include "socket_waiter.hpp"

namespace asyncio {

namespace detail {

void socket_waiter_moved(SocketWaiter& waiter, Socket* to) noexcept { waiter.moved(to); }
void socket_waiter_closing(SocketWaiter& waiter) noexcept { waiter.closing(); }

}  // namespace detail

namespace {

using detail::SocketWaiter;

EventLoop& start(const Socket& sock, SocketWaiter::Direction direction, const char* op) {
  return detail::start_socket_operation(sock, direction, op);
}

}  // namespace

Coro<std::string> sock_recv(Socket& sock, std::size_t n) {
  EventLoop& loop = start(sock, SocketWaiter::reading, "sock_recv");
  std::string data(n, '\0');
  if (auto got = sock.try_recv(data)) {
    data.resize(*got);
    co_return data;
  }
  SocketWaiter waiter(loop, sock, SocketWaiter::reading, "sock_recv");
  for (;;) {
    co_await waiter.readiness();
    if (auto got = waiter.after_wait().try_recv(data)) {
      data.resize(*got);
      co_return data;
    }
  }
}

Coro<std::size_t> sock_recv_into(Socket& sock, std::span<char> buffer) {
  EventLoop& loop = start(sock, SocketWaiter::reading, "sock_recv_into");
  if (auto got = sock.try_recv(buffer)) co_return *got;
  SocketWaiter waiter(loop, sock, SocketWaiter::reading, "sock_recv_into");
  for (;;) {
    co_await waiter.readiness();
    if (auto got = waiter.after_wait().try_recv(buffer)) co_return *got;
  }
}

Coro<void> sock_sendall(Socket& sock, std::string_view data) {
  EventLoop& loop = start(sock, SocketWaiter::writing, "sock_sendall");
  std::size_t sent = sock.try_send(data).value_or(0);
  if (sent == data.size()) co_return;
  SocketWaiter waiter(loop, sock, SocketWaiter::writing, "sock_sendall");
  while (sent < data.size()) {
    co_await waiter.readiness();
    sent += waiter.after_wait().try_send(data.substr(sent)).value_or(0);
  }
}

Coro<void> sock_connect(Socket& sock, SocketAddress address) {
  EventLoop& loop = start(sock, SocketWaiter::writing, "sock_connect");
  if (sock.try_connect(address)) co_return;
  SocketWaiter waiter(loop, sock, SocketWaiter::writing, "sock_connect");
  for (;;) {
    co_await waiter.readiness();
    if (waiter.after_wait().finish_connect(address)) co_return;
  }
}

Coro<std::pair<Socket, SocketAddress>> sock_accept(Socket& sock) {
  EventLoop& loop = start(sock, SocketWaiter::reading, "sock_accept");
  if (auto conn = sock.try_accept()) co_return std::move(*conn);
  SocketWaiter waiter(loop, sock, SocketWaiter::reading, "sock_accept");
  for (;;) {
    co_await waiter.readiness();
    if (auto conn = waiter.after_wait().try_accept()) co_return std::move(*conn);
  }
}

Coro<std::pair<std::string, SocketAddress>> sock_recvfrom(Socket& sock, std::size_t n) {
  EventLoop& loop = start(sock, SocketWaiter::reading, "sock_recvfrom");
  std::string data(n, '\0');
  if (auto got = sock.try_recvfrom(data)) {
    data.resize(got->first);
    co_return std::pair{std::move(data), got->second};
  }
  SocketWaiter waiter(loop, sock, SocketWaiter::reading, "sock_recvfrom");
  for (;;) {
    co_await waiter.readiness();
    if (auto got = waiter.after_wait().try_recvfrom(data)) {
      data.resize(got->first);
      co_return std::pair{std::move(data), got->second};
    }
  }
}

Coro<std::pair<std::size_t, SocketAddress>> sock_recvfrom_into(Socket& sock, std::span<char> buffer) {
  EventLoop& loop = start(sock, SocketWaiter::reading, "sock_recvfrom_into");
  if (auto got = sock.try_recvfrom(buffer)) co_return std::move(*got);
  SocketWaiter waiter(loop, sock, SocketWaiter::reading, "sock_recvfrom_into");
  for (;;) {
    co_await waiter.readiness();
    if (auto got = waiter.after_wait().try_recvfrom(buffer)) co_return std::move(*got);
  }
}

Coro<std::size_t> sock_sendto(Socket& sock, std::string_view data, SocketAddress address) {
  EventLoop& loop = start(sock, SocketWaiter::writing, "sock_sendto");
  if (auto sent = sock.try_sendto(data, address)) co_return *sent;
  SocketWaiter waiter(loop, sock, SocketWaiter::writing, "sock_sendto");
  for (;;) {
    co_await waiter.readiness();
    if (auto sent = waiter.after_wait().try_sendto(data, address)) co_return *sent;
  }
}

}  // namespace asyncio
