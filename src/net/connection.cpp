// create_connection, create_unix_connection, connect_accepted_socket: CPython 3.13
// base_events.py (_ensure_resolved, _connect_sock, create_connection, _create_connection_transport)
// and unix_events.py (create_unix_connection).

#include "asyncio/net/connection.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string>
#include <utility>

#include "asyncio/loop/event_loop.hpp"
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

std::string what_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return {};
  }
}

/// Python's base_events._ipaddr_info: (host, port) as an address without getaddrinfo when the host
/// is numeric and of an acceptable family; empty otherwise.
std::optional<AddrInfo> numeric_address(const std::string& host, std::uint16_t port, int family, int proto) {
  if (host.empty()) return std::nullopt;
  AddrInfo info;
  info.type = SOCK_STREAM;
  info.protocol = proto == 0 ? IPPROTO_TCP : proto;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    if (family != AF_UNSPEC && family != AF_INET) return std::nullopt;
    info.family = AF_INET;
    info.address = SocketAddress(host, port);
    return info;
  }
  // Names never contain ':', so only IPv6 literals (with an optional %scope) get this far.
  if (host.find(':') == std::string::npos || (family != AF_UNSPEC && family != AF_INET6)) return std::nullopt;
  try {
    info.address = SocketAddress(host, port);
  } catch (const ValueError&) {
    return std::nullopt;
  }
  info.family = info.address.family();
  return info;
}

}  // namespace

CreateConnectionError::CreateConnectionError(std::vector<std::exception_ptr> errors)
    : CreateConnectionError(errors, summarize(errors)) {}

CreateConnectionError::CreateConnectionError(std::vector<std::exception_ptr> errors,
                                             std::pair<int, std::string> summary)
    : OSError(summary.first, "create_connection", std::move(summary.second)), errors_(std::move(errors)) {}

namespace detail {

Coro<std::vector<AddrInfo>> resolve_stream(std::string host, std::uint16_t port, int family, int proto, int flags) {
  if (auto info = numeric_address(host, port, family, proto)) co_return std::vector<AddrInfo>{std::move(*info)};
  if (host.empty() && (flags & AI_PASSIVE) != 0) {
    // Every interface: the wildcard address of each family (getaddrinfo(None, port, AI_PASSIVE)).
    std::vector<AddrInfo> infos;
    const int protocol = proto == 0 ? IPPROTO_TCP : proto;
    if (family == AF_UNSPEC || family == AF_INET) {
      infos.push_back(AddrInfo{AF_INET, SOCK_STREAM, protocol, {}, SocketAddress("0.0.0.0", port)});
    }
    if (family == AF_UNSPEC || family == AF_INET6) {
      infos.push_back(AddrInfo{AF_INET6, SOCK_STREAM, protocol, {}, SocketAddress("::", port)});
    }
    if (!infos.empty()) co_return infos;
  }
  const std::string what = host;
  std::vector<AddrInfo> infos = co_await getaddrinfo(
      std::move(host), port, AddrInfoHints{.family = family, .type = SOCK_STREAM, .protocol = proto, .flags = flags});
  if (infos.empty()) throw_os_error(EADDRNOTAVAIL, "getaddrinfo(" + what + ") returned an empty list");
  co_return infos;
}

Coro<std::pair<Socket, SocketAddress>> connect_stream(std::string host, std::uint16_t port, ConnectionOptions options) {
  const std::vector<AddrInfo> infos =
      co_await resolve_stream(std::move(host), port, options.family, options.proto, options.flags);
  std::vector<std::exception_ptr> errors;
  for (const AddrInfo& info : infos) {
    // Python's _connect_sock: a new socket per address, closed (RAII) if anything fails.
    try {
      Socket sock(info.family, info.type, info.protocol);
      if (options.local_addr) {
        if (options.local_addr->family() != info.family) {
          throw_os_error(EADDRNOTAVAIL, std::string("create_connection(no local address of family ") +
                                            detail::family_name(info.family) + " to bind to for " +
                                            info.address.to_string() + ")");
        }
        sock.bind(*options.local_addr);
      }
      co_await sock_connect(sock, info.address);
      co_return std::pair{std::move(sock), info.address};
    } catch (const OSError&) {
      errors.push_back(std::current_exception());
    }
  }
  // Python: one error, or several with the same text, is raised as it is; else all are listed.
  if (errors.empty()) throw_os_error(EADDRNOTAVAIL, "create_connection: no address to connect to");
  bool same = true;
  const std::string model = what_of(errors.front());
  for (const auto& e : errors) same = same && what_of(e) == model;
  if (same) std::rethrow_exception(errors.front());
  throw CreateConnectionError(std::move(errors));
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
