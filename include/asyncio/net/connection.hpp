#pragma once
/// Client connections: Python's loop.create_connection, loop.create_unix_connection and
/// loop.connect_accepted_socket (CPython 3.13 base_events.py, unix_events.py), on the running loop.
///
///   auto [transport, protocol] = co_await asyncio::create_connection(
///       [] { return std::make_shared<MyProtocol>(); }, "example.org", 80);
///   transport->write("GET / HTTP/1.0\r\n\r\n");
///
/// A numeric host ("127.0.0.1", "::1", "fe80::1%eth0") is used as it is; any other name is resolved
/// with getaddrinfo in the default executor (net/dns.hpp). By default the addresses are tried one
/// after the other, in getaddrinfo's order, each with a new socket; the first that connects wins.
/// With happy_eyeballs_delay (Happy Eyeballs, RFC 8305) they are interleaved by family and the
/// attempts overlap: the next starts when the previous fails or after the delay, the first to
/// connect wins and the others are cancelled (their sockets closed). If none connects, the error
/// of the only attempt (or of every attempt, when all have the same text) is raised -
/// ConnectionRefusedError, OSError EHOSTUNREACH, ... - else a CreateConnectionError listing them
/// ("Multiple exceptions: ..."), or with all_errors an ExceptionGroup of them all. The protocol
/// factory is called once the socket is connected; the Coro returns after connection_made has
/// run. Cancelling it closes whatever socket or transport it had made (the protocol then gets
/// connection_lost).
///
/// Differences from CPython: ssl= is tls/connection.hpp's overloads; the port is a number;
/// interleave and happy_eyeballs_delay must not be negative (ValueError; CPython does not check).

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "asyncio/coro/coro.hpp"
#include "asyncio/exceptions.hpp"
#include "asyncio/net/dns.hpp"
#include "asyncio/net/host_port.hpp"
#include "asyncio/net/protocol_factory.hpp"
#include "asyncio/net/socket.hpp"
#include "asyncio/net/socket_address.hpp"
#include "asyncio/net/transport.hpp"
#include "asyncio/os_error.hpp"

namespace asyncio {

/// The keyword arguments of Python's create_connection. Trivially destructible (passed into
/// coroutines; see net/dns.hpp's AddrInfoHints for why).
struct ConnectionOptions {
  int family = AF_UNSPEC;  ///< restrict to AF_INET or AF_INET6
  int proto = 0;           ///< getaddrinfo's proto
  int flags = 0;           ///< getaddrinfo's flags
  /// Bind the socket to this address before connecting (Python's local_addr): a SocketAddress, or
  /// a HostPort whose name is resolved like the host (with family, proto and flags). Each attempt
  /// binds to the first local address of its own family that it can bind; an attempt without one
  /// fails with OSError EADDRNOTAVAIL ("no matching local address with family=AF_INET6 found").
  std::optional<HostPort> local_addr{};
  /// Python's happy_eyeballs_delay: how long an attempt may go unanswered before the next one
  /// starts alongside it (RFC 8305 recommends 250 ms). Unset: one attempt at a time, each after
  /// the previous failed. ValueError if negative.
  std::optional<std::chrono::duration<double>> happy_eyeballs_delay{};
  /// Python's interleave: reorder the addresses by family (how many of the first family come
  /// before the families alternate). Unset: 1 with happy_eyeballs_delay, else no reordering; 0 no
  /// reordering. ValueError if negative.
  std::optional<int> interleave{};
  /// Python's all_errors: when every attempt failed, raise an ExceptionGroup ("create_connection
  /// failed") of every attempt's OSError instead of one error.
  bool all_errors = false;
};
static_assert(std::is_trivially_destructible_v<ConnectionOptions>,
              "ConnectionOptions is passed into coroutines: g++ 12 would destroy a non-trivial temporary twice");

/// Python's OSError('Multiple exceptions: ...'): create_connection tried several addresses and they
/// failed differently. errors() holds each attempt's exception, in order; errno_value() is the last
/// attempt's (Python's is None).
class CreateConnectionError : public OSError {
 public:
  explicit CreateConnectionError(std::vector<std::exception_ptr> errors);
  [[nodiscard]] const std::vector<std::exception_ptr>& errors() const noexcept { return errors_; }

 private:
  CreateConnectionError(std::vector<std::exception_ptr> errors, std::pair<int, std::string> summary);
  std::vector<std::exception_ptr> errors_;
};

namespace detail {

/// The addresses of (host, port) for a stream socket: detail::resolve_address
/// (net/detail/resolve.hpp) with SOCK_STREAM.
Coro<std::vector<AddrInfo>> resolve_stream(std::string host, std::uint16_t port, int family, int proto, int flags);

/// create_connection's socket: resolves the host (and local_addr), then connects as the options
/// say (net/detail/happy_eyeballs.hpp). Returns the connected socket and the peer's address.
Coro<std::pair<Socket, SocketAddress>> connect_stream(std::string host, std::uint16_t port, ConnectionOptions options);

/// create_unix_connection's socket.
Coro<std::pair<Socket, SocketAddress>> connect_unix(std::string path);

/// Python's _create_connection_transport: a SocketTransport for `sock` and `protocol`, returned
/// once connection_made has run (closed again if the wait is cancelled). TypeError if `protocol`
/// is null.
Coro<std::shared_ptr<Transport>> start_transport(Socket sock, std::shared_ptr<BaseProtocol> protocol,
                                                 std::optional<SocketAddress> peer);

/// ValueError unless `sock` is an open SOCK_STREAM socket (`what` names the caller).
void check_stream_socket(const Socket& sock, const char* what);

}  // namespace detail

/// Python's loop.create_connection(protocol_factory, host, port, family=, proto=, flags=,
/// local_addr=, happy_eyeballs_delay=, interleave=, all_errors=): connects to (host, port) and returns {transport,
/// protocol}. See the top of this file.
template <StreamProtocolFactory F>
Coro<std::pair<std::shared_ptr<Transport>, std::shared_ptr<protocol_of_t<F>>>> create_connection(
    F protocol_factory, std::string host, std::uint16_t port, ConnectionOptions options = {}) {
  auto [sock, peer] = co_await detail::connect_stream(std::move(host), port, options);
  std::shared_ptr<protocol_of_t<F>> protocol = protocol_factory();
  std::shared_ptr<Transport> transport = co_await detail::start_transport(std::move(sock), protocol, peer);
  co_return std::pair{std::move(transport), std::move(protocol)};
}

/// Python's create_connection(protocol_factory, sock=sock): a transport over an already connected
/// stream socket (TCP or Unix). ValueError unless it is an open SOCK_STREAM socket.
template <StreamProtocolFactory F>
Coro<std::pair<std::shared_ptr<Transport>, std::shared_ptr<protocol_of_t<F>>>> create_connection(F protocol_factory,
                                                                                                 Socket sock) {
  detail::check_stream_socket(sock, "create_connection");
  std::shared_ptr<protocol_of_t<F>> protocol = protocol_factory();
  std::shared_ptr<Transport> transport = co_await detail::start_transport(std::move(sock), protocol, std::nullopt);
  co_return std::pair{std::move(transport), std::move(protocol)};
}

/// Python's loop.create_unix_connection(protocol_factory, path): connects a Unix stream socket to
/// `path` ('\0' first: the abstract namespace).
template <StreamProtocolFactory F>
Coro<std::pair<std::shared_ptr<Transport>, std::shared_ptr<protocol_of_t<F>>>> create_unix_connection(
    F protocol_factory, std::string path) {
  auto [sock, peer] = co_await detail::connect_unix(std::move(path));
  std::shared_ptr<protocol_of_t<F>> protocol = protocol_factory();
  std::shared_ptr<Transport> transport = co_await detail::start_transport(std::move(sock), protocol, peer);
  co_return std::pair{std::move(transport), std::move(protocol)};
}

/// Python's loop.connect_accepted_socket(protocol_factory, sock): a transport over a socket some
/// other code accepted. ValueError unless it is an open SOCK_STREAM socket.
template <StreamProtocolFactory F>
Coro<std::pair<std::shared_ptr<Transport>, std::shared_ptr<protocol_of_t<F>>>> connect_accepted_socket(
    F protocol_factory, Socket sock) {
  detail::check_stream_socket(sock, "connect_accepted_socket");
  std::shared_ptr<protocol_of_t<F>> protocol = protocol_factory();
  std::shared_ptr<Transport> transport = co_await detail::start_transport(std::move(sock), protocol, std::nullopt);
  co_return std::pair{std::move(transport), std::move(protocol)};
}

}  // namespace asyncio
