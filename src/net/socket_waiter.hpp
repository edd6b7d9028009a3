#pragma once
// detail::SocketWaiter: how a sock_* operation (net/sock_ops.hpp) and sock_sendfile
// (net/sendfile.hpp) wait for readiness on a Socket. Private to src/net.

#include <fcntl.h>

#include <cerrno>
#include <string>
#include <utility>

#include "asyncio/exceptions.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/net/socket.hpp"
#include "asyncio/os_error.hpp"
#include "asyncio/task/future.hpp"

namespace asyncio::detail {

/// The state of one sock_* operation that had to wait, a local of its coroutine frame.
///
/// Invariants: registered in sock_->waiters_[direction_] while sock_ is not null; `installed_` is
/// true exactly while the loop holds this waiter's reader/writer for fd_ (the callback owns a
/// Watch whose destructor clears it, so a reader replaced by someone else's add_reader or dropped
/// by the loop's close is noticed: CPython's `handle.cancelled()` test in _sock_read_done). The
/// destructor removes the reader/writer and unregisters, whatever way the operation ends.
class SocketWaiter {
 public:
  enum Direction : int { reading = 0, writing = 1 };

  /// RuntimeError if another operation already waits on `sock` in this direction.
  static void check_idle(const Socket& sock, Direction direction, const char* op) {
    if (sock.waiters_[direction] != nullptr) {
      throw RuntimeError(std::string(op) + ": another coroutine is already waiting to " +
                         (direction == reading ? "read from" : "write to") + " this socket (" + sock.describe() + ")");
    }
  }

  SocketWaiter(EventLoop& loop, Socket& sock, Direction direction, const char* op)
      : loop_(&loop), sock_(&sock), fd_(sock.fileno()), direction_(direction), op_(op) {
    check_idle(sock, direction, op);
    sock.waiters_[direction] = this;
  }
  SocketWaiter(const SocketWaiter&) = delete;
  SocketWaiter& operator=(const SocketWaiter&) = delete;

  ~SocketWaiter() {
    stop_watching();
    if (sock_ != nullptr) sock_->waiters_[direction_] = nullptr;
  }

  /// A future completed when the socket may be ready (or when it is closed under the operation),
  /// watching it first if not yet watched.
  Future<void> readiness() {
    after_wait();
    ready_ = loop_->create_future<void>();
    if (!installed_) {
      auto on_ready = [this, watch = Watch(this)] { wake(); };
      own_change_ = true;  // a refused add_reader destroys the callback: that is no loss
      try {
        if (direction_ == reading) {
          loop_->add_reader(fd_, std::move(on_ready));
        } else {
          loop_->add_writer(fd_, std::move(on_ready));
        }
      } catch (...) {
        own_change_ = false;
        throw;
      }
      own_change_ = false;
      installed_ = true;
    }
    return ready_;
  }

  /// The socket to try again after a wake-up. OSError EBADF if it was closed meanwhile,
  /// RuntimeError if someone else took over the descriptor's reader/writer.
  Socket& after_wait() {
    if (sock_ == nullptr) {
      throw_os_error(EBADF, std::string(op_) + ": the socket was closed while waiting");
    }
    if (lost_) {
      throw RuntimeError(std::string(op_) + ": the " + (direction_ == reading ? "reader" : "writer") + " of fd " +
                         std::to_string(fd_) + " was replaced by another add_" +
                         (direction_ == reading ? "reader" : "writer") + " while the operation waited");
    }
    return *sock_;
  }

  void moved(Socket* to) noexcept { sock_ = to; }

  void closing() noexcept {
    stop_watching();
    sock_ = nullptr;
    wake();
  }

 private:
  /// Lives in the loop's reader/writer callback; its destruction means the loop let go of it.
  class Watch {
   public:
    explicit Watch(SocketWaiter* w) noexcept : w_(w) {}
    Watch(Watch&& other) noexcept : w_(std::exchange(other.w_, nullptr)) {}
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;
    Watch& operator=(Watch&&) = delete;
    ~Watch() {
      if (w_ != nullptr) w_->unwatched();
    }

   private:
    SocketWaiter* w_;
  };

  void unwatched() noexcept {
    installed_ = false;
    if (!own_change_) {
      // Not our own removal: another add_reader/add_writer replaced us, or the loop closed.
      lost_ = true;
      wake();
    }
  }

  void wake() noexcept {
    if (!ready_ || ready_.done()) return;
    if (loop_->is_closed()) return;  // the loop unwinds the waiting task itself
    try {
      ready_.set_result();
    } catch (...) {  // scheduling the wake-up failed: nothing else could be done with it here
    }
  }

  void stop_watching() noexcept {
    if (!installed_) return;
    own_change_ = true;
    try {
      if (direction_ == reading) {
        loop_->remove_reader(fd_);
      } else {
        loop_->remove_writer(fd_);
      }
    } catch (...) {  // the backend refused to unwatch a descriptor: it is left to the kernel
    }
    own_change_ = false;
    installed_ = false;
  }

  EventLoop* loop_;
  Socket* sock_;
  int fd_;
  Direction direction_;
  const char* op_;
  Future<void> ready_;
  bool installed_ = false;
  bool own_change_ = false;
  bool lost_ = false;
};

/// What every operation checks before its first attempt: a running loop, no other operation
/// waiting on `sock` in `direction`, and (debug mode) a non-blocking descriptor.
inline EventLoop& start_socket_operation(const Socket& sock, SocketWaiter::Direction direction, const char* op) {
  EventLoop& loop = get_running_loop();
  SocketWaiter::check_idle(sock, direction, op);
  if (loop.get_debug() && sock.valid()) {
    const int flags = ::fcntl(sock.fileno(), F_GETFL);
    if (flags >= 0 && (flags & O_NONBLOCK) == 0) {
      throw ValueError(std::string(op) + ": the socket must be non-blocking");
    }
  }
  return loop;
}

}  // namespace asyncio::detail
