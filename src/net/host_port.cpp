#include "asyncio/net/host_port.hpp"

#include <algorithm>
#include <string>

#include "asyncio/exceptions.hpp"

namespace asyncio {

HostPort::HostPort(std::string_view host, std::uint16_t port) : port_(port) {
  if (host.empty()) {
    throw ValueError("HostPort: the host is empty (give a name or a numeric address, or a SocketAddress)");
  }
  if (host.size() > kMaxHost) {
    throw ValueError("HostPort: the host is " + std::to_string(host.size()) + " bytes long; a host name has at most " +
                     std::to_string(kMaxHost));
  }
  if (host.find('\0') != std::string_view::npos) throw ValueError("HostPort: embedded NUL character in the host");
  std::copy(host.begin(), host.end(), host_);
  host_length_ = static_cast<std::uint8_t>(host.size());
}

HostPort::HostPort(const SocketAddress& address) noexcept : address_(address) {}

std::string HostPort::to_string() const {
  if (resolved()) return address_.to_string();
  const std::string_view h = host();
  if (h.find(':') != std::string_view::npos) return "[" + std::string(h) + "]:" + std::to_string(port_);
  return std::string(h) + ":" + std::to_string(port_);
}

}  // namespace asyncio
