#pragma once
/// Address resolution as the net/ entry points need it: Python's base_events._ensure_resolved and
/// _ipaddr_info. A numeric host is turned into its address at once (no executor round trip); a
/// name goes through getaddrinfo in the default executor. Internal to net/.

#include <cstdint>
#include <string>
#include <vector>

#include "asyncio/coro/coro.hpp"
#include "asyncio/net/dns.hpp"
#include "asyncio/net/host_port.hpp"

namespace asyncio::detail {

/// The addresses of (host, port) for sockets of `type` (SOCK_STREAM, SOCK_DGRAM): a numeric host
/// of an acceptable family (or "" with AI_PASSIVE: the wildcard address of each family) without
/// the executor, a name through getaddrinfo. OSError EADDRNOTAVAIL if getaddrinfo answers nothing;
/// GaiError if the name is unknown.
Coro<std::vector<AddrInfo>> resolve_address(std::string host, std::uint16_t port, int family, int type, int proto,
                                            int flags);

/// resolve_address for a HostPort; an address already resolved is returned as the only answer
/// (of its own family, whatever `family` says: the caller matches families).
Coro<std::vector<AddrInfo>> ensure_resolved(HostPort address, int family, int type, int proto, int flags);

}  // namespace asyncio::detail
