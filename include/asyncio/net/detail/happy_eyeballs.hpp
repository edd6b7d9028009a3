#pragma once
/// How create_connection tries the addresses of a host: one after the other, or staggered (Happy
/// Eyeballs, RFC 8305, as CPython's create_connection with happy_eyeballs_delay and
/// staggered.staggered_race). Internal to net/; connection.hpp's create_connection is the entry.

#include <chrono>
#include <exception>
#include <optional>
#include <utility>
#include <vector>

#include "asyncio/coro/coro.hpp"
#include "asyncio/net/dns.hpp"
#include "asyncio/net/socket.hpp"
#include "asyncio/net/socket_address.hpp"

namespace asyncio::detail {

/// Python's _interleave_addrinfos: the addresses grouped by family in the order each family first
/// appears, then taken from the groups in turn (v6, v4, v6, v4, ...), except that the first
/// `first_family_count` - 1 addresses of the first family come first. Order within a family is
/// kept. ValueError if `first_family_count` is below 1.
std::vector<AddrInfo> interleave_addrinfos(std::vector<AddrInfo> infos, int first_family_count = 1);

/// What connect_any needs besides the addresses.
struct ConnectAttempts {
  /// Addresses to bind each socket to before connecting (the first of the socket's family that
  /// binds); no binding when `bind_local` is false.
  std::vector<AddrInfo> local{};
  bool bind_local = false;
  /// Python's happy_eyeballs_delay: none means one attempt at a time.
  std::optional<std::chrono::duration<double>> delay{};
  /// Python's all_errors: raise an ExceptionGroup of every attempt's errors.
  bool all_errors = false;
};

/// Connects a new socket to one of `infos` (Python's create_connection after resolution, with
/// _connect_sock for each attempt). Without a delay the addresses are tried in order, each once
/// the previous failed. With one, attempt i+1 starts when attempt i fails or `delay` after attempt
/// i started, whichever comes first; the first connected socket wins, every other attempt is
/// cancelled (its socket closed) and waited for before returning. Cancelled, it cancels and waits
/// for every attempt, then lets the CancelledError out. When none connects, raises (errors in
/// address order, bind errors of an attempt before its connect error): with all_errors an
/// ExceptionGroup("create_connection failed", every error); else the only error, or the first
/// when all have the same text, else CreateConnectionError ("Multiple exceptions: ..."). An error
/// that is not an OSError is raised as it is. Returns the socket and the address it connected to.
Coro<std::pair<Socket, SocketAddress>> connect_any(std::vector<AddrInfo> infos, ConnectAttempts attempts);

/// The error create_connection raises when every attempt failed, as connect_any describes it.
[[noreturn]] void raise_connect_errors(std::vector<std::exception_ptr> errors, bool all_errors);

}  // namespace asyncio::detail
