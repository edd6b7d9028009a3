#include "asyncio/net/socket.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "asyncio/exceptions.hpp"
#include "asyncio/os_error.hpp"

namespace asyncio {

namespace {

std::string type_name(int type) {
  switch (type) {
    case SOCK_STREAM:
      return "SOCK_STREAM";
    case SOCK_DGRAM:
      return "SOCK_DGRAM";
    case SOCK_SEQPACKET:
      return "SOCK_SEQPACKET";
    case SOCK_RAW:
      return "SOCK_RAW";
    default:
      return std::to_string(type);
  }
}

std::string triple(int family, int type, int proto) {
  return detail::family_name(family) + ", " + type_name(type) + ", " + std::to_string(proto);
}

bool would_block(int err) noexcept { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

constexpr int kTypeMask = ~(SOCK_NONBLOCK | SOCK_CLOEXEC);

}  // namespace

Socket::Socket(int family, int type, int proto) {
  const int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
  if (fd < 0) throw_last_os_error("socket(" + triple(family, type & kTypeMask, proto) + ")");
  fd_ = fd;
  family_ = family;
  type_ = type & kTypeMask;
  proto_ = proto;
}

Socket Socket::from_fd(int fd) {
  const std::string what = "from_fd(fd=" + std::to_string(fd) + ")";
  int values[3] = {};
  const int options[3] = {SO_DOMAIN, SO_TYPE, SO_PROTOCOL};
  for (int i = 0; i < 3; ++i) {
    socklen_t len = sizeof values[i];
    if (::getsockopt(fd, SOL_SOCKET, options[i], &values[i], &len) != 0) throw_last_os_error(what);
  }
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) throw_last_os_error(what);
  const int fd_flags = ::fcntl(fd, F_GETFD);
  if (fd_flags < 0 || ::fcntl(fd, F_SETFD, fd_flags | FD_CLOEXEC) != 0) throw_last_os_error(what);
  return Socket(fd, values[0], values[1], values[2]);
}

std::pair<Socket, Socket> Socket::socketpair(int family, int type, int proto) {
  int fds[2];
  if (::socketpair(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto, fds) != 0) {
    throw_last_os_error("socketpair(" + triple(family, type & kTypeMask, proto) + ")");
  }
  return {Socket(fds[0], family, type & kTypeMask, proto), Socket(fds[1], family, type & kTypeMask, proto)};
}

Socket::Socket(Socket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), family_(other.family_), type_(other.type_), proto_(other.proto_) {
  take_waiters(other);
}

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    family_ = other.family_;
    type_ = other.type_;
    proto_ = other.proto_;
    take_waiters(other);
  }
  return *this;
}

void Socket::take_waiters(Socket& other) noexcept {
  for (int i = 0; i < 2; ++i) {
    waiters_[i] = std::exchange(other.waiters_[i], nullptr);
    if (waiters_[i] != nullptr) detail::socket_waiter_moved(*waiters_[i], this);
  }
}

void Socket::end_waiters() noexcept {
  // Before the descriptor goes: the waiters remove their readers/writers while the number is
  // still this socket's.
  for (auto*& w : waiters_) {
    if (w != nullptr) detail::socket_waiter_closing(*std::exchange(w, nullptr));
  }
}

void Socket::close() noexcept {
  end_waiters();
  if (fd_ >= 0) {
    // Linux releases the descriptor even when close() reports EINTR: never retry.
    ::close(std::exchange(fd_, -1));
  }
}

int Socket::detach() noexcept {
  end_waiters();
  return std::exchange(fd_, -1);
}

void Socket::bind(const SocketAddress& address) {
  if (::bind(fd_, address.data(), address.size()) != 0) throw_last_os_error("bind(" + address.to_string() + ")");
}

void Socket::listen(int backlog) {
  if (::listen(fd_, backlog) != 0) {
    const int err = errno;
    throw_os_error(err, "listen(" + describe() + ")");
  }
}

void Socket::set_nodelay(bool on) { set_option(IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0); }

void Socket::set_option(int level, int name, int value) {
  if (::setsockopt(fd_, level, name, &value, sizeof value) != 0) {
    const int err = errno;
    throw_os_error(err, "setsockopt(" + describe() + ", level=" + std::to_string(level) +
                            ", option=" + std::to_string(name) + ")");
  }
}

int Socket::get_option(int level, int name) const {
  int value = 0;
  socklen_t len = sizeof value;
  if (::getsockopt(fd_, level, name, &value, &len) != 0) {
    const int err = errno;
    throw_os_error(err, "getsockopt(" + describe() + ", level=" + std::to_string(level) +
                            ", option=" + std::to_string(name) + ")");
  }
  return value;
}

std::string Socket::option_what(const char* call, int level, int name) const {
  return std::string(call) + "(" + describe() + ", level=" + std::to_string(level) +
         ", option=" + std::to_string(name) + ")";
}

void Socket::set_option_bytes(int level, int name, const void* value, std::size_t size) {
  if (::setsockopt(fd_, level, name, value, static_cast<socklen_t>(size)) != 0) {
    const int err = errno;
    throw_os_error(err, option_what("setsockopt", level, name) + " with " + std::to_string(size) + " bytes");
  }
}

std::size_t Socket::get_option_bytes(int level, int name, void* value, std::size_t size) const {
  auto len = static_cast<socklen_t>(size);
  if (::getsockopt(fd_, level, name, value, &len) != 0) {
    const int err = errno;
    throw_os_error(err, option_what("getsockopt", level, name));
  }
  return len;
}

void Socket::check_option_size(int level, int name, std::size_t got, std::size_t want) const {
  if (got != want) {
    throw ValueError(option_what("getsockopt", level, name) + ": the option's value is " + std::to_string(got) +
                     " bytes, the type asked for " + std::to_string(want) +
                     " (read it as a type of that size, or as bytes with getsockopt(level, option, buflen))");
  }
}

std::string Socket::getsockopt(int level, int name, std::size_t buflen) const {
  if (buflen == 0 || buflen > 1024) {
    throw_os_error(EINVAL, option_what("getsockopt", level, name) + ": buflen " + std::to_string(buflen) +
                               " is out of range (give 1 to 1024 bytes)");
  }
  std::string value(buflen, '\0');
  value.resize(get_option_bytes(level, name, value.data(), buflen));
  return value;
}

SocketAddress Socket::getsockname() const {
  sockaddr_storage storage{};
  socklen_t len = sizeof storage;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&storage), &len) != 0) {
    throw_last_os_error("getsockname(fd=" + std::to_string(fd_) + ")");
  }
  return SocketAddress::from_raw(reinterpret_cast<const sockaddr*>(&storage), len);
}

SocketAddress Socket::getpeername() const {
  sockaddr_storage storage{};
  socklen_t len = sizeof storage;
  if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&storage), &len) != 0) {
    throw_last_os_error("getpeername(fd=" + std::to_string(fd_) + ")");
  }
  return SocketAddress::from_raw(reinterpret_cast<const sockaddr*>(&storage), len);
}

void Socket::shutdown(int how) {
  if (::shutdown(fd_, how) != 0) {
    const int err = errno;
    throw_os_error(err, "shutdown(" + describe() + ")");
  }
}

std::string detail::family_name(int family) {
  switch (family) {
    case AF_UNSPEC:
      return "AF_UNSPEC";
    case AF_INET:
      return "AF_INET";
    case AF_INET6:
      return "AF_INET6";
    case AF_UNIX:
      return "AF_UNIX";
    default:
      return std::to_string(family);
  }
}

std::string Socket::describe() const {
  if (fd_ < 0) return "closed socket";
  sockaddr_storage storage{};
  socklen_t len = sizeof storage;
  if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&storage), &len) == 0) {
    std::string text = SocketAddress::from_raw(reinterpret_cast<const sockaddr*>(&storage), len).to_string();
    if (!text.empty()) return text;
  }
  len = sizeof storage;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&storage), &len) == 0) {
    std::string text = SocketAddress::from_raw(reinterpret_cast<const sockaddr*>(&storage), len).to_string();
    // An unbound IP socket reports 0.0.0.0:0: no more telling than its descriptor.
    if (!text.empty() && text != "0.0.0.0:0" && text != "[::]:0") return text;
  }
  return "fd=" + std::to_string(fd_);
}

std::optional<std::size_t> Socket::try_recv(std::span<char> buffer) {
  const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
  if (n >= 0) return static_cast<std::size_t>(n);
  const int err = errno;
  if (would_block(err)) return std::nullopt;
  throw_os_error(err, "recv(" + describe() + ")");
}

std::optional<std::size_t> Socket::try_send(std::string_view data) {
  const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
  if (n >= 0) return static_cast<std::size_t>(n);
  const int err = errno;
  if (would_block(err)) return std::nullopt;
  throw_os_error(err, "send(" + describe() + ")");
}

std::optional<std::pair<std::size_t, SocketAddress>> Socket::try_recvfrom(std::span<char> buffer) {
  sockaddr_storage storage{};
  socklen_t len = sizeof storage;
  const ssize_t n = ::recvfrom(fd_, buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&storage), &len);
  if (n >= 0) {
    return std::pair{static_cast<std::size_t>(n),
                     SocketAddress::from_raw(reinterpret_cast<const sockaddr*>(&storage), len)};
  }
  const int err = errno;
  if (would_block(err)) return std::nullopt;
  throw_os_error(err, "recvfrom(" + describe() + ")");
}

std::optional<std::size_t> Socket::try_sendto(std::string_view data, const SocketAddress& address) {
  const ssize_t n = ::sendto(fd_, data.data(), data.size(), MSG_NOSIGNAL, address.data(), address.size());
  if (n >= 0) return static_cast<std::size_t>(n);
  const int err = errno;
  if (would_block(err)) return std::nullopt;
  throw_os_error(err, "sendto(" + address.to_string() + ")");
}

std::optional<std::pair<Socket, SocketAddress>> Socket::try_accept() {
  sockaddr_storage storage{};
  socklen_t len = sizeof storage;
  const int fd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&storage), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) {
    return std::pair{Socket(fd, family_, type_, proto_),
                     SocketAddress::from_raw(reinterpret_cast<const sockaddr*>(&storage), len)};
  }
  const int err = errno;
  if (would_block(err)) return std::nullopt;
  throw_os_error(err, "accept(" + describe() + ")");
}

bool Socket::try_connect(const SocketAddress& address) {
  if (::connect(fd_, address.data(), address.size()) == 0) return true;
  const int err = errno;
  if (err == EINPROGRESS || err == EINTR) return false;
  throw_os_error(err, "connect(" + address.to_string() + ")");
}

bool Socket::finish_connect(const SocketAddress& address) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err == 0) return true;
  if (err == EINPROGRESS || err == EALREADY || err == EINTR) return false;
  throw_os_error(err, "connect(" + address.to_string() + ")");
}

}  // namespace asyncio
