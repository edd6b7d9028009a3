#pragma once
/// Socket: the owner of one socket descriptor, Python's socket.socket as asyncio uses it (always
/// non-blocking). The layer under sock_* (net/sock_ops.hpp), transports, streams and servers.
///
///   Socket server(AF_INET, SOCK_STREAM);
///   server.set_reuse_address();
///   server.bind(SocketAddress("127.0.0.1", 0));
///   server.listen();
///   auto [conn, peer] = co_await sock_accept(server);
///
/// Invariants: a valid Socket owns exactly one descriptor, which is non-blocking and close-on-exec
/// from the moment it exists (SOCK_NONBLOCK | SOCK_CLOEXEC, or set by from_fd); it is closed exactly
/// once, by close() or the destructor, unless detach() gave it away. A Socket is move-only; a
/// moved-from or closed Socket has fileno() == -1 and valid() == false. family(), type() and
/// proto() keep their values after close() (as Python's do).
///
/// The try_* methods are the non-blocking system calls the net layer is built on: each makes one
/// attempt and reports "would block" (EAGAIN, EWOULDBLOCK, EINTR) as an empty optional or false,
/// never as an exception, because it is the common case of a non-blocking socket; any other
/// failure throws the OSError subclass for its errno, naming the operation and the address
/// ("connect(127.0.0.1:1): [Errno 111] Connection refused"). Sends use MSG_NOSIGNAL: a closed peer
/// gives BrokenPipeError, never SIGPIPE.
///
/// Loop-thread-only, like everything in asyncio (the descriptor itself may be used anywhere).

#include <sys/socket.h>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "asyncio/net/socket_address.hpp"

namespace asyncio {

class Socket;

namespace detail {
/// An operation of net/sock_ops.hpp waiting for readiness on a Socket (defined in sock_ops.cpp).
/// The Socket points back at it so that moving the Socket retargets the operation and closing the
/// Socket ends it, instead of leaving it with a dangling reference or a reused descriptor number.
class SocketWaiter;
void socket_waiter_moved(SocketWaiter& waiter, Socket* to) noexcept;
void socket_waiter_closing(SocketWaiter& waiter) noexcept;
/// An address family's name for messages: "AF_INET", "AF_INET6", "AF_UNIX", "AF_UNSPEC" (0), or
/// the number.
std::string family_name(int family);

/// Types whose object representation is not the option's bytes, though trivially copyable: views
/// (their pointer would be sent) and pointers. setsockopt/getsockopt refuse them at compile time.
template <class T>
struct is_view_like : std::is_pointer<T> {};
template <class C, class Tr>
struct is_view_like<std::basic_string_view<C, Tr>> : std::true_type {};
template <class E, std::size_t N>
struct is_view_like<std::span<E, N>> : std::true_type {};

/// A value setsockopt/getsockopt can pass as the option's bytes: int, struct linger, timeval, ...
template <class T>
concept SocketOptionValue = std::is_trivially_copyable_v<T> && !is_view_like<std::remove_cv_t<T>>::value &&
                            !std::is_array_v<T> && !std::is_same_v<std::remove_cv_t<T>, bool>;
}  // namespace detail

class Socket {
 public:
  /// An empty Socket (no descriptor): valid() is false. What a moved-from Socket becomes.
  Socket() noexcept = default;

  /// Python's socket.socket(family, type, proto): a new non-blocking, close-on-exec socket.
  /// OSError if the system refuses ("socket(AF_INET6, SOCK_STREAM, 0)").
  Socket(int family, int type, int proto = 0);

  /// Adopts `fd` (Python's socket.socket(fileno=fd)): reads its family, type and protocol from the
  /// kernel and makes it non-blocking and close-on-exec. OSError (ENOTSOCK, EBADF) if `fd` is not
  /// a socket; the descriptor then stays the caller's (it is not closed).
  static Socket from_fd(int fd);

  /// Python's socket.socketpair(family, type, proto): two connected sockets.
  static std::pair<Socket, Socket> socketpair(int family = AF_UNIX, int type = SOCK_STREAM, int proto = 0);

  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  /// Takes the descriptor; an operation waiting on `other` now waits on this Socket.
  Socket(Socket&& other) noexcept;
  /// Closes this Socket's descriptor first, then takes `other`'s.
  Socket& operator=(Socket&& other) noexcept;
  /// close().
  ~Socket() { close(); }

  /// The descriptor, or -1 if closed (Python's fileno()). It stays owned by the Socket.
  [[nodiscard]] int fileno() const noexcept { return fd_; }
  /// True while the Socket owns a descriptor.
  [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
  /// AF_INET, AF_INET6, AF_UNIX, ...
  [[nodiscard]] int family() const noexcept { return family_; }
  /// SOCK_STREAM, SOCK_DGRAM, ... (without SOCK_NONBLOCK / SOCK_CLOEXEC).
  [[nodiscard]] int type() const noexcept { return type_; }
  /// The protocol (IPPROTO_TCP, or 0 as given).
  [[nodiscard]] int proto() const noexcept { return proto_; }

  /// Closes the descriptor (idempotent, never throws). A sock_* operation waiting on this Socket
  /// stops watching it at once and, when it resumes, raises OSError EBADF ("the socket was closed
  /// while sock_recv waited"), so no reader or writer is left behind on a descriptor number that
  /// the kernel may hand out again.
  void close() noexcept;

  /// Gives up the descriptor without closing it and returns it (-1 if none); the Socket becomes
  /// empty. A waiting sock_* operation ends as with close().
  int detach() noexcept;

  /// Python's bind(address). OSError naming the address ("bind(127.0.0.1:80)").
  void bind(const SocketAddress& address);
  /// Python's listen(backlog).
  void listen(int backlog = 100);

  /// SO_REUSEADDR.
  void set_reuse_address(bool on = true) { set_option(SOL_SOCKET, SO_REUSEADDR, on ? 1 : 0); }
  /// SO_REUSEPORT (one listening socket per loop on the same port).
  void set_reuse_port(bool on = true) { set_option(SOL_SOCKET, SO_REUSEPORT, on ? 1 : 0); }
  /// TCP_NODELAY (TCP sockets only: OSError otherwise).
  void set_nodelay(bool on = true);
  /// Python's setsockopt(level, name, value) with an int value.
  void set_option(int level, int name, int value);
  /// Python's getsockopt(level, name) for an int option (SO_ERROR, SO_RCVBUF, TCP_NODELAY, ...).
  [[nodiscard]] int get_option(int level, int name) const;

  /// Python's setsockopt(level, name, value) with a value of any plain type, passed as its bytes:
  /// `setsockopt(SOL_SOCKET, SO_LINGER, linger{1, 0})`, an int, a timeval, an ip_mreq ... (bool is
  /// refused at compile time: options take an int). OSError (EINVAL for a size the option does
  /// not take) naming the level and option.
  template <detail::SocketOptionValue T>
  void setsockopt(int level, int name, const T& value) {
    set_option_bytes(level, name, &value, sizeof value);
  }
  /// Python's setsockopt(level, name, bytes): the option's raw bytes.
  void setsockopt(int level, int name, std::span<const std::byte> value) {
    set_option_bytes(level, name, value.data(), value.size());
  }

  /// Python's getsockopt(level, name) read as a T: `getsockopt<linger>(SOL_SOCKET, SO_LINGER)`.
  /// ValueError if the kernel's value is not sizeof(T) bytes long (the message gives its size: ask
  /// for that type, or for the bytes with getsockopt(level, name, buflen)).
  template <detail::SocketOptionValue T>
  [[nodiscard]] T getsockopt(int level, int name) const {
    T value{};
    check_option_size(level, name, get_option_bytes(level, name, &value, sizeof value), sizeof value);
    return value;
  }
  /// Python's getsockopt(level, name, buflen): at most `buflen` bytes of the option, as many as
  /// the kernel gives. OSError EINVAL unless 0 < buflen <= 1024 (Python's range).
  [[nodiscard]] std::string getsockopt(int level, int name, std::size_t buflen) const;

  /// Python's getsockname(): the address this socket is bound to.
  [[nodiscard]] SocketAddress getsockname() const;
  /// Python's getpeername(): the address of the connected peer (OSError ENOTCONN if none).
  [[nodiscard]] SocketAddress getpeername() const;
  /// Python's shutdown(how): SHUT_RD, SHUT_WR or SHUT_RDWR.
  void shutdown(int how);

  // --- one non-blocking attempt each (see the top of this file) --------------------------------

  /// recv into `buffer`: the number of bytes read (0 at end of stream, or for an empty buffer), or
  /// empty if nothing is there yet.
  [[nodiscard]] std::optional<std::size_t> try_recv(std::span<char> buffer);
  /// send of `data` with MSG_NOSIGNAL: the number of bytes the kernel took (maybe fewer than
  /// data.size()), or empty if the send buffer is full.
  [[nodiscard]] std::optional<std::size_t> try_send(std::string_view data);
  /// recvfrom into `buffer`: the datagram's size (truncated to the buffer) and its sender, or empty.
  [[nodiscard]] std::optional<std::pair<std::size_t, SocketAddress>> try_recvfrom(std::span<char> buffer);
  /// sendto with MSG_NOSIGNAL: the number of bytes sent, or empty.
  [[nodiscard]] std::optional<std::size_t> try_sendto(std::string_view data, const SocketAddress& address);
  /// accept4 (the new socket non-blocking and close-on-exec): the connection and the peer's
  /// address, or empty if no connection is waiting.
  [[nodiscard]] std::optional<std::pair<Socket, SocketAddress>> try_accept();
  /// connect: true if connected at once; false if the connection goes on in the background
  /// (EINPROGRESS, or EINTR: bpo-23618): wait until writable, then call finish_connect().
  /// EAGAIN is an error here (BlockingIOError), not "in progress": on Linux it means a full
  /// AF_UNIX listen backlog or no free local port, and nothing would announce a retry.
  [[nodiscard]] bool try_connect(const SocketAddress& address);
  /// After a connect in progress reported writability: returns if connected, throws the OSError
  /// for SO_ERROR otherwise ("connect(127.0.0.1:1)"); false if still in progress.
  [[nodiscard]] bool finish_connect(const SocketAddress& address);

  /// What error messages call this socket: the peer's address if connected, else the local
  /// address if bound, else "fd=N".
  [[nodiscard]] std::string describe() const;

 private:
  friend class detail::SocketWaiter;
  explicit Socket(int fd, int family, int type, int proto) noexcept
      : fd_(fd), family_(family), type_(type), proto_(proto) {}
  void end_waiters() noexcept;
  void set_option_bytes(int level, int name, const void* value, std::size_t size);
  std::size_t get_option_bytes(int level, int name, void* value, std::size_t size) const;
  void check_option_size(int level, int name, std::size_t got, std::size_t want) const;
  std::string option_what(const char* call, int level, int name) const;
  void take_waiters(Socket& other) noexcept;

  int fd_ = -1;
  int family_ = AF_UNSPEC;
  int type_ = 0;
  int proto_ = 0;
  /// The sock_* operation waiting to read ([0]) and to write ([1]), at most one each.
  detail::SocketWaiter* waiters_[2] = {nullptr, nullptr};
};

}  // namespace asyncio
