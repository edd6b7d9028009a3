#include "asyncio/net/socket_address.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstddef>
#include <cstring>

#include "asyncio/exceptions.hpp"

namespace asyncio {

namespace {

constexpr socklen_t kUnixPathOffset = offsetof(sockaddr_un, sun_path);
constexpr std::size_t kUnixPathCapacity = sizeof(sockaddr_un::sun_path);

const sockaddr_in& as_in(const sockaddr_storage& s) noexcept { return reinterpret_cast<const sockaddr_in&>(s); }
const sockaddr_in6& as_in6(const sockaddr_storage& s) noexcept { return reinterpret_cast<const sockaddr_in6&>(s); }
const sockaddr_un& as_un(const sockaddr_storage& s) noexcept { return reinterpret_cast<const sockaddr_un&>(s); }

/// The bytes of sun_path that belong to the address, without a pathname's trailing NULs.
std::string_view unix_bytes(const sockaddr_storage& s, socklen_t length) noexcept {
  if (length <= kUnixPathOffset) return {};
  std::size_t n = static_cast<std::size_t>(length - kUnixPathOffset);
  if (n > kUnixPathCapacity) n = kUnixPathCapacity;
  const char* p = as_un(s).sun_path;
  if (p[0] != '\0') {
    // A pathname: the kernel may report the NUL in the length or not (and bind accepts both).
    n = ::strnlen(p, n);
  }
  return {p, n};
}

bool parse_scope(std::string_view scope, std::uint32_t& out) {
  if (scope.empty()) return false;
  bool digits = true;
  std::uint64_t value = 0;
  for (char c : scope) {
    if (c < '0' || c > '9') {
      digits = false;
      break;
    }
    value = value * 10 + static_cast<unsigned>(c - '0');
    if (value > 0xffffffffu) return false;
  }
  if (digits) {
    out = static_cast<std::uint32_t>(value);
    return true;
  }
  const std::string name(scope);
  out = ::if_nametoindex(name.c_str());
  return out != 0;
}

[[noreturn]] void not_numeric(std::string_view host) {
  throw ValueError("SocketAddress: '" + std::string(host) +
                   "' is not a numeric IPv4 or IPv6 address (resolve host names with getaddrinfo)");
}

}  // namespace

SocketAddress::SocketAddress() noexcept : storage_{}, length_(0) { storage_.ss_family = AF_UNSPEC; }

SocketAddress::SocketAddress(std::string_view host, std::uint16_t port) : SocketAddress() {
  // inet_pton needs a NUL-terminated string; a host longer than any numeric address is refused
  // before copying.
  if (host.empty() || host.size() > 200 || host.find('\0') != std::string_view::npos) not_numeric(host);
  const std::size_t percent = host.find('%');
  const std::string addr(host.substr(0, percent));
  if (percent == std::string_view::npos) {
    sockaddr_in in{};
    if (::inet_pton(AF_INET, addr.c_str(), &in.sin_addr) == 1) {
      in.sin_family = AF_INET;
      in.sin_port = htons(port);
      std::memcpy(&storage_, &in, sizeof in);
      length_ = sizeof in;
      return;
    }
  }
  sockaddr_in6 in6{};
  if (::inet_pton(AF_INET6, addr.c_str(), &in6.sin6_addr) != 1) not_numeric(host);
  if (percent != std::string_view::npos) {
    std::uint32_t scope = 0;
    if (!parse_scope(host.substr(percent + 1), scope)) {
      throw ValueError("SocketAddress: unknown IPv6 scope in '" + std::string(host) + "'");
    }
    in6.sin6_scope_id = scope;
  }
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(port);
  std::memcpy(&storage_, &in6, sizeof in6);
  length_ = sizeof in6;
}

SocketAddress SocketAddress::from_path(std::string_view path) {
  const bool abstract = !path.empty() && path[0] == '\0';
  if (!abstract && path.find('\0') != std::string_view::npos) {
    throw ValueError("SocketAddress: an AF_UNIX path cannot contain a NUL byte");
  }
  // A pathname needs room for its terminating NUL; an abstract name uses every byte.
  const std::size_t limit = abstract ? kUnixPathCapacity : kUnixPathCapacity - 1;
  if (path.size() > limit) {
    throw ValueError("SocketAddress: AF_UNIX path too long (" + std::to_string(path.size()) + " bytes, at most " +
                     std::to_string(limit) + "): " + std::string(abstract ? path.substr(1) : path));
  }
  SocketAddress a;
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::memcpy(un.sun_path, path.data(), path.size());
  std::memcpy(&a.storage_, &un, sizeof un);
  a.length_ = static_cast<socklen_t>(kUnixPathOffset + path.size() + (abstract || path.empty() ? 0 : 1));
  return a;
}

SocketAddress SocketAddress::from_abstract(std::string_view name) {
  std::string path(1, '\0');
  path.append(name);
  return from_path(path);
}

SocketAddress SocketAddress::from_raw(const sockaddr* address, socklen_t length) {
  if (length > sizeof(sockaddr_storage)) {
    throw ValueError("SocketAddress: address length " + std::to_string(length) + " exceeds sockaddr_storage");
  }
  SocketAddress a;
  if (length > 0) std::memcpy(&a.storage_, address, length);
  a.length_ = length;
  return a;
}

std::string SocketAddress::host() const {
  char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2] = {};
  if (family() == AF_INET) {
    ::inet_ntop(AF_INET, &as_in(storage_).sin_addr, text, sizeof text);
    return text;
  }
  if (family() == AF_INET6) {
    ::inet_ntop(AF_INET6, &as_in6(storage_).sin6_addr, text, sizeof text);
    std::string out(text);
    if (const std::uint32_t scope = as_in6(storage_).sin6_scope_id; scope != 0) {
      char name[IF_NAMESIZE] = {};
      out += '%';
      out += ::if_indextoname(scope, name) != nullptr ? std::string(name) : std::to_string(scope);
    }
    return out;
  }
  return {};
}

std::uint16_t SocketAddress::port() const noexcept {
  if (family() == AF_INET) return ntohs(as_in(storage_).sin_port);
  if (family() == AF_INET6) return ntohs(as_in6(storage_).sin6_port);
  return 0;
}

std::uint32_t SocketAddress::scope_id() const noexcept {
  return family() == AF_INET6 ? as_in6(storage_).sin6_scope_id : 0;
}

std::string SocketAddress::path() const {
  if (family() != AF_UNIX) return {};
  return std::string(unix_bytes(storage_, length_));
}

bool SocketAddress::is_abstract() const noexcept {
  return family() == AF_UNIX && length_ > kUnixPathOffset && as_un(storage_).sun_path[0] == '\0';
}

std::string SocketAddress::to_string() const {
  switch (family()) {
    case AF_INET:
      return host() + ":" + std::to_string(port());
    case AF_INET6:
      return "[" + host() + "]:" + std::to_string(port());
    case AF_UNIX: {
      std::string p = path();
      for (char& c : p) {
        if (c == '\0') c = '@';
      }
      return p;
    }
    case AF_UNSPEC:
      return {};
    default:
      return "<family " + std::to_string(family()) + ">";
  }
}

bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept {
  if (a.family() != b.family()) return false;
  switch (a.family()) {
    case AF_INET: {
      const sockaddr_in& x = as_in(a.storage_);
      const sockaddr_in& y = as_in(b.storage_);
      return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
    }
    case AF_INET6: {
      const sockaddr_in6& x = as_in6(a.storage_);
      const sockaddr_in6& y = as_in6(b.storage_);
      return x.sin6_port == y.sin6_port && x.sin6_flowinfo == y.sin6_flowinfo && x.sin6_scope_id == y.sin6_scope_id &&
             std::memcmp(&x.sin6_addr, &y.sin6_addr, sizeof x.sin6_addr) == 0;
    }
    case AF_UNIX:
      return unix_bytes(a.storage_, a.length_) == unix_bytes(b.storage_, b.length_);
    case AF_UNSPEC:
      return true;
    default:
      return a.length_ == b.length_ && std::memcmp(&a.storage_, &b.storage_, a.length_) == 0;
  }
}

}  // namespace asyncio
