// create_connection, create_unix_connection, connect_accepted_socket: CPython 3.13
// base_events.py (_ensure_resolved, _connect_sock, create_connection, _create_connection_transport)
// and unix_events.py (create_unix_connection).

#include "asyncio/net/connection.hpp"

#include <string>
#include <utility>

#include "asyncio/loop/event_loop.hpp"
#include "asyncio/net/detail/happy_eyeballs.hpp"
#include "asyncio/net/detail/resolve.hpp"
#include "asyncio/net/fd_transport.hpp"
#include "asyncio/net/sock_ops.hpp"
#include "asyncio/net/socket_transport.hpp"
#include "asyncio/task/future.hpp"

namespace asyncio {

namespace {

std::pair<int, std::string> summarize(const std::vector<std::exception_ptr>& errors) {
  std::string text = "Multiple exceptions: ";
  int last_errno = 0;
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (i != 0) text += ", ";
    try {
      std::rethrow_exception(errors[i]);
    } catch (const OSError& e) {
      text += e.what();
      last_errno = e.errno_value();
    } catch (const std::exception& e) {
      text += e.what();
    } catch (...) {
      text += "unknown error";
    }
  }
  return {last_errno, std::move(text)};
}

}  // namespace

CreateConnectionError::CreateConnectionError(std::vector<std::exception_ptr> errors)
    : CreateConnectionError(errors, summarize(errors)) {}

CreateConnectionError::CreateConnectionError(std::vector<std::exception_ptr> errors,
                                             std::pair<int, std::string> summary)
    : OSError(summary.first, "create_connection", std::move(summary.second)), errors_(std::move(errors)) {}

namespace detail {

Coro<std::vector<AddrInfo>> resolve_stream(std::string host, std::uint16_t port, int family, int proto, int flags) {
  return resolve_address(std::move(host), port, family, SOCK_STREAM, proto, flags);
}

Coro<std::pair<Socket, SocketAddress>> connect_stream(std::string host, std::uint16_t port, ConnectionOptions options) {
  if (options.interleave && *options.interleave < 0) {
    throw ValueError("create_connection: interleave must not be negative (got " + std::to_string(*options.interleave) +
                     "); 0 keeps getaddrinfo's order, 1 alternates the families");
  }
  std::vector<AddrInfo> infos =
      co_await resolve_address(std::move(host), port, options.family, SOCK_STREAM, options.proto, options.flags);
  ConnectAttempts attempts;
  if (options.local_addr) {
    attempts.local =
        co_await ensure_resolved(*options.local_addr, options.family, SOCK_STREAM, options.proto, options.flags);
    attempts.bind_local = true;
  }
  // Python: with Happy Eyeballs the families alternate unless told otherwise.
  std::optional<int> interleave = options.interleave;
  if (options.happy_eyeballs_delay && !interleave) interleave = 1;
  if (interleave && *interleave > 0) infos = interleave_addrinfos(std::move(infos), *interleave);
  attempts.delay = options.happy_eyeballs_delay;
  attempts.all_errors = options.all_errors;
  co_return co_await connect_any(std::move(infos), std::move(attempts));
}

Coro<std::pair<Socket, SocketAddress>> connect_unix(std::string path) {
  const SocketAddress address = SocketAddress::from_path(path);
  Socket sock(AF_UNIX, SOCK_STREAM);
  co_await sock_connect(sock, address);
  co_return std::pair{std::move(sock), address};
}

Coro<std::shared_ptr<Transport>> start_transport(Socket sock, std::shared_ptr<BaseProtocol> protocol,
                                                 std::optional<SocketAddress> peer) {
  if (!protocol) throw TypeError("the protocol factory returned a null protocol");
  EventLoop& loop = get_running_loop();
  Future<void> waiter = loop.create_future<void>();
  std::shared_ptr<SocketTransport> transport =
      SocketTransport::create(loop, std::move(sock), std::move(protocol), waiter, peer);
  co_return co_await detail::await_connection_made(std::move(transport), std::move(waiter));
}

void check_stream_socket(const Socket& sock, const char* what) {
  if (!sock.valid()) throw ValueError(std::string(what) + ": the socket is closed");
  if (sock.type() != SOCK_STREAM) {
    throw ValueError(std::string(what) + ": A Stream Socket was expected, got " + sock.describe());
  }
}

}  // namespace detail
}  // namespace asyncio
