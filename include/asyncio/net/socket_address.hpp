#pragma once
/// SocketAddress: one socket address as a value, what Python spells as a tuple ("127.0.0.1", 8080),
/// ("::1", 8080, 0, 0) or a path "/tmp/x.sock".
///
///   SocketAddress a("127.0.0.1", 8080);            // numeric host only: no name lookup here
///   SocketAddress b("::1", 8080);                  // "[::1]:8080"
///   auto c = SocketAddress::from_path("/tmp/x.sock");
///   auto d = SocketAddress::from_abstract("name");   // Linux abstract namespace: "@name"
///
/// Invariant: the storage holds a sockaddr of family(), size() bytes long, which the kernel accepts
/// as it is (an AF_UNIX pathname includes its terminating NUL; an abstract name has none). The type
/// is trivially copyable and trivially destructible (a sockaddr_storage and a length), so it can be
/// passed by value into coroutines and through other threads.
///
/// Names are resolved by asyncio::getaddrinfo (net/dns.hpp), never here: a constructor that could
/// block on DNS would stall the loop.

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace asyncio {

class SocketAddress {
 public:
  /// An empty address: family() is AF_UNSPEC and size() is 0 (what no socket call accepts).
  SocketAddress() noexcept;

  /// An AF_INET or AF_INET6 address from a numeric host: "127.0.0.1", "::1", "fe80::1%eth0" (a
  /// scope given by interface name or number). ValueError if `host` is not a numeric IPv4 or IPv6
  /// address (a name such as "localhost" included: resolve it with getaddrinfo). IPv4 is strict
  /// dotted quad as inet_pton reads it: "127.1" is refused.
  SocketAddress(std::string_view host, std::uint16_t port);

  /// An AF_UNIX address for a filesystem path. A path starting with '\0' is a Linux abstract name
  /// (the rest of it, NULs included, is the name). ValueError if it does not fit in sun_path (107
  /// bytes for a pathname, 107 after the leading NUL for an abstract name) or if a pathname
  /// contains a NUL.
  static SocketAddress from_path(std::string_view path);

  /// An AF_UNIX address in the Linux abstract namespace: from_path('\0' + name).
  static SocketAddress from_abstract(std::string_view name);

  /// Copies what a system call returned (accept, recvfrom, getsockname, getaddrinfo). ValueError if
  /// `length` is larger than a sockaddr_storage.
  static SocketAddress from_raw(const sockaddr* address, socklen_t length);

  /// AF_INET, AF_INET6, AF_UNIX, or AF_UNSPEC for an empty address.
  [[nodiscard]] int family() const noexcept { return storage_.ss_family; }

  /// The numeric host of an AF_INET/AF_INET6 address ("127.0.0.1", "::1", "fe80::1%eth0"); ""
  /// for other families.
  [[nodiscard]] std::string host() const;

  /// The port of an AF_INET/AF_INET6 address (host byte order); 0 for other families.
  [[nodiscard]] std::uint16_t port() const noexcept;

  /// The IPv6 scope id (interface index); 0 for other families.
  [[nodiscard]] std::uint32_t scope_id() const noexcept;

  /// The path of an AF_UNIX address: a pathname without its NUL, or '\0' + name for an abstract
  /// address, or "" for an unnamed one (a socketpair's end, an unbound client); "" for other
  /// families.
  [[nodiscard]] std::string path() const;

  /// True for an AF_UNIX address in the abstract namespace.
  [[nodiscard]] bool is_abstract() const noexcept;

  /// "127.0.0.1:8080", "[::1]:8080", "[fe80::1%eth0]:80", "/tmp/x.sock", "@name" (abstract; NULs in
  /// the name shown as '@' too, as ss shows them), "" (unnamed AF_UNIX or empty), "<family N>" for
  /// other families. Used in error messages ("connect(127.0.0.1:1)").
  [[nodiscard]] std::string to_string() const;

  /// The raw address for system calls (bind, connect, sendto).
  [[nodiscard]] const sockaddr* data() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
  /// Its length in bytes.
  [[nodiscard]] socklen_t size() const noexcept { return length_; }

  /// Same family and same address: for IP, the address bytes, port, and for IPv6 flow info and
  /// scope id; for AF_UNIX, the path (a trailing NUL or its absence does not matter).
  friend bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept;

 private:
  sockaddr_storage storage_;
  socklen_t length_;
};

}  // namespace asyncio
