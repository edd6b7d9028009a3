#pragma once
/// Name resolution: Python's loop.getaddrinfo and loop.getnameinfo. Both run the blocking libc call
/// in the loop's default executor (run_in_executor(nullptr, ...)), as asyncio does, so the loop
/// keeps running while a resolver answers.
///
///   for (const AddrInfo& ai : co_await getaddrinfo("localhost", "8080", {.type = SOCK_STREAM})) {
///     Socket s(ai.family, ai.type, ai.protocol);
///     co_await sock_connect(s, ai.address);
///   }
///
/// Cancelling the await does not stop a lookup already running in its thread (as in asyncio): its
/// answer is dropped when it comes.

#include <netdb.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "asyncio/coro/coro.hpp"
#include "asyncio/net/socket_address.hpp"
#include "asyncio/os_error.hpp"

namespace asyncio {

/// Python's socket.gaierror: getaddrinfo or getnameinfo failed with an EAI_* code (negative on
/// glibc: EAI_NONAME is -2). errno_value() is that code, as Python's e.errno is; the message is
/// gai_strerror's, naming the lookup: "getaddrinfo(nosuch.invalid, 80): [Errno -2] Name or service
/// not known" (strerror() does not know EAI codes). (EAI_SYSTEM is not a GaiError: the errno it carries is raised as
/// its OSError, as Python does.) code() is meaningless for these codes: use eai_code().
class GaiError : public OSError {
 public:
  GaiError(int eai_code, std::string_view operation);

  /// The EAI_* code (EAI_NONAME, EAI_SERVICE, EAI_AGAIN, ...).
  [[nodiscard]] int eai_code() const noexcept { return errno_value(); }
  /// gai_strerror's text for the code (Python's e.strerror).
  [[nodiscard]] const std::string& strerror() const noexcept { return strerror_; }

 private:
  GaiError(int eai_code, std::string_view operation, std::string text);

  std::string strerror_;
};

/// The hints of getaddrinfo (Python's keyword arguments family=, type=, proto=, flags=). Trivially
/// destructible on purpose: it is built inside co_await expressions (g++ 12 destroys aggregate
/// temporaries with non-trivial destructors there twice).
struct AddrInfoHints {
  int family = AF_UNSPEC;  ///< AF_INET, AF_INET6, AF_UNSPEC (both)
  int type = 0;            ///< SOCK_STREAM, SOCK_DGRAM, 0 (any)
  int protocol = 0;        ///< IPPROTO_TCP, ... or 0
  int flags = 0;           ///< AI_PASSIVE, AI_NUMERICHOST, AI_CANONNAME, ...
};

/// One answer of getaddrinfo: Python's 5-tuple (family, type, proto, canonname, sockaddr).
struct AddrInfo {
  int family = AF_UNSPEC;
  int type = 0;
  int protocol = 0;
  /// The canonical name, set on the first answer only when AI_CANONNAME was asked for.
  std::string canonname;
  SocketAddress address;
};

/// Python's loop.getaddrinfo(host, port, family=, type=, proto=, flags=): the addresses for
/// `host` and `port_or_service` ("80", "http"), in the order libc gives them. An empty host or
/// port is Python's None (with AI_PASSIVE, an empty host means the wildcard address). GaiError if
/// nothing is found; ValueError if a string contains a NUL byte.
Coro<std::vector<AddrInfo>> getaddrinfo(std::string host, std::string port_or_service, AddrInfoHints hints = {});

/// getaddrinfo with a numeric port (Python accepts an int port too).
inline Coro<std::vector<AddrInfo>> getaddrinfo(std::string host, std::uint16_t port, AddrInfoHints hints = {}) {
  return getaddrinfo(std::move(host), std::to_string(port), hints);
}

/// Python's loop.getnameinfo(sockaddr, flags): the host name and service name of `address`
/// (NI_NUMERICHOST, NI_NUMERICSERV, NI_NAMEREQD, NI_DGRAM, ... in `flags`). GaiError if it cannot
/// be found ("getnameinfo(127.0.0.1:80): ...").
Coro<std::pair<std::string, std::string>> getnameinfo(SocketAddress address, int flags = 0);

}  // namespace asyncio
