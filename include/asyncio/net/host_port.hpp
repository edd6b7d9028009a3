#pragma once
/// HostPort: an address as Python's create_connection(local_addr=) and
/// create_datagram_endpoint(local_addr=, remote_addr=) take it - a (host, port) pair whose host may
/// be a name, resolved with getaddrinfo when the call runs - or an address already resolved.
///
///   ConnectionOptions{.local_addr = HostPort("localhost", 0)};            // resolved, then bound
///   ConnectionOptions{.local_addr = SocketAddress("127.0.0.1", 0)};      // used as it is
///   DatagramOptions{.remote_addr = HostPort("ntp.example.org", 123)};
///
/// Why a type of its own rather than a std::string: the options structs that hold it are passed
/// into coroutines and must stay trivially destructible (g++ 12 destroys aggregate temporaries with
/// non-trivial destructors twice inside a co_await expression), so the host name lives in a
/// fixed buffer. 255 bytes hold any DNS name (253 characters at most) and any numeric address.
///
/// Invariant: either resolved() (address() is the address, of any family, AF_UNIX included) or a
/// host text of 1..kMaxHost bytes without NUL, and a port.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "asyncio/net/socket_address.hpp"

namespace asyncio {

class HostPort {
 public:
  /// The longest host text accepted.
  static constexpr std::size_t kMaxHost = 255;

  /// A host (a name such as "localhost", or a numeric address "127.0.0.1", "::1") and a port,
  /// resolved when used. ValueError if `host` is empty, longer than kMaxHost or contains a NUL.
  HostPort(std::string_view host, std::uint16_t port);

  /// An address already resolved: used as it is, without getaddrinfo. Implicit, so that a
  /// SocketAddress goes wherever a HostPort is asked for.
  HostPort(const SocketAddress& address) noexcept;  // NOLINT(google-explicit-constructor)

  /// True if this is a SocketAddress (nothing to resolve).
  [[nodiscard]] bool resolved() const noexcept { return address_.family() != AF_UNSPEC; }
  /// The address. Precondition: resolved().
  [[nodiscard]] const SocketAddress& address() const noexcept { return address_; }
  /// The host text as given (empty when resolved()).
  [[nodiscard]] std::string_view host() const noexcept { return {host_, host_length_}; }
  /// The port as given, or the resolved address's port.
  [[nodiscard]] std::uint16_t port() const noexcept { return resolved() ? address_.port() : port_; }
  /// For messages: "localhost:80", "[::1]:80", or the address's to_string().
  [[nodiscard]] std::string to_string() const;

 private:
  SocketAddress address_;
  std::uint16_t port_ = 0;
  std::uint8_t host_length_ = 0;
  char host_[kMaxHost] = {};
};

}  // namespace asyncio
