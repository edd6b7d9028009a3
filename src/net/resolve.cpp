// _ensure_resolved and _ipaddr_info of CPython 3.13 base_events.py.

#include "asyncio/net/detail/resolve.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <optional>
#include <string>
#include <utility>

#include "asyncio/exceptions.hpp"
#include "asyncio/os_error.hpp"

namespace asyncio::detail {

namespace {

int default_protocol(int type, int proto) {
  if (proto != 0) return proto;
  if (type == SOCK_STREAM) return IPPROTO_TCP;
  if (type == SOCK_DGRAM) return IPPROTO_UDP;
  return 0;
}

/// (host, port) as an address without getaddrinfo when the host is numeric and of an acceptable
/// family; empty otherwise (getaddrinfo then decides, and reports a family mismatch itself).
std::optional<AddrInfo> numeric_address(const std::string& host, std::uint16_t port, int family, int type, int proto) {
  if (host.empty()) return std::nullopt;
  AddrInfo info;
  info.type = type;
  info.protocol = default_protocol(type, proto);
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

Coro<std::vector<AddrInfo>> resolve_address(std::string host, std::uint16_t port, int family, int type, int proto,
                                            int flags) {
  if (auto info = numeric_address(host, port, family, type, proto)) co_return std::vector<AddrInfo>{std::move(*info)};
  if (host.empty() && (flags & AI_PASSIVE) != 0) {
    // Every interface: the wildcard address of each family (getaddrinfo(None, port, AI_PASSIVE)).
    std::vector<AddrInfo> infos;
    const int protocol = default_protocol(type, proto);
    if (family == AF_UNSPEC || family == AF_INET) {
      infos.push_back(AddrInfo{AF_INET, type, protocol, {}, SocketAddress("0.0.0.0", port)});
    }
    if (family == AF_UNSPEC || family == AF_INET6) {
      infos.push_back(AddrInfo{AF_INET6, type, protocol, {}, SocketAddress("::", port)});
    }
    if (!infos.empty()) co_return infos;
  }
  const std::string what = host;
  std::vector<AddrInfo> infos = co_await getaddrinfo(
      std::move(host), port, AddrInfoHints{.family = family, .type = type, .protocol = proto, .flags = flags});
  if (infos.empty()) throw_os_error(EADDRNOTAVAIL, "getaddrinfo(" + what + ") returned an empty list");
  co_return infos;
}

Coro<std::vector<AddrInfo>> ensure_resolved(HostPort address, int family, int type, int proto, int flags) {
  if (address.resolved()) {
    const SocketAddress& a = address.address();
    const int protocol = a.family() == AF_UNIX ? proto : default_protocol(type, proto);
    std::vector<AddrInfo> infos;
    infos.push_back(AddrInfo{a.family(), type, protocol, {}, a});
    co_return infos;
  }
  co_return co_await resolve_address(std::string(address.host()), address.port(), family, type, proto, flags);
}

}  // namespace asyncio::detail
