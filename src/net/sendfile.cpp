// sock_sendfile and sendfile: CPython 3.13 base_events.py (sock_sendfile, sendfile,
// _sock_sendfile_fallback, _sendfile_fallback, _check_sendfile_params, _SendfileFallbackProtocol),
// selector_events.py (_sendfile_native, the transport's _empty_waiter) and unix_events.py
// (_sock_sendfile_native, _sock_sendfile_native_impl, _sock_sendfile_update_filepos).

#include "asyncio/net/sendfile.hpp"

#include <poll.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "asyncio/loop/event_loop.hpp"
#include "asyncio/net/fd_transport.hpp"
#include "asyncio/net/protocol.hpp"
#include "asyncio/net/sock_ops.hpp"
#include "asyncio/net/socket_transport.hpp"
#include "asyncio/os_error.hpp"
#include "asyncio/task/future.hpp"
#include "asyncio/thread/run_in_executor.hpp"
#include "socket_waiter.hpp"

namespace asyncio {

namespace detail {

/// What sendfile() needs of a SocketTransport's insides (Python reaches for transp._sock and
/// transp._make_empty_waiter()).
struct SendfileAccess {
  static Socket& socket(SocketTransport& t) noexcept { return t.sock_; }

  /// A future completed once the write buffer is empty; from now on write() raises.
  static Future<void> make_empty_waiter(SocketTransport& t, EventLoop& loop) {
    if (t.empty_waiter_) {
      throw RuntimeError("sendfile: another sendfile is already in progress on " + t.describe() +
                         " (await it before starting the next)");
    }
    t.empty_waiter_ = loop.create_future<void>();
    if (t.wbuf_.empty()) t.empty_waiter_.set_result();
    return t.empty_waiter_;
  }

  static void reset_empty_waiter(SocketTransport& t) noexcept { t.empty_waiter_ = Future<void>(); }
};

}  // namespace detail

namespace {

using detail::SocketWaiter;

/// Linux sends at most this much per sendfile(2) call anyway.
constexpr std::size_t kMaxSendfileCall = 0x7ffff000;

void check_params(std::int64_t offset, const std::optional<std::int64_t>& count, const char* what) {
  if (offset < 0) {
    throw ValueError(std::string(what) + ": offset must be a non-negative integer (got " + std::to_string(offset) +
                     "); it is where in the file to start");
  }
  if (count && *count <= 0) {
    throw ValueError(std::string(what) + ": count must be a positive integer (got " + std::to_string(*count) +
                     "); leave it empty to send up to the end of the file");
  }
}

bool seekable(int fd) noexcept { return ::lseek(fd, 0, SEEK_CUR) >= 0; }

void check_seekable_offset(int fd, std::int64_t offset, bool can_seek, const char* what) {
  if (!can_seek && offset != 0) {
    throw ValueError(std::string(what) + ": offset " + std::to_string(offset) + " given for fd " + std::to_string(fd) +
                     ", which cannot seek (a pipe, socket or terminal): its data is read from where it is; pass "
                     "offset 0");
  }
}

/// Leaves the file's position at offset + sent when the call ends in any way (Python's
/// _sock_sendfile_update_filepos and the `finally: file.seek(...)` of the fallbacks), if anything
/// was sent. fd -1: a file that cannot seek, left alone.
class PositionOnExit {
 public:
  PositionOnExit(int fd, std::int64_t offset, const std::size_t& sent) noexcept
      : fd_(fd), offset_(offset), sent_(sent) {}
  PositionOnExit(const PositionOnExit&) = delete;
  PositionOnExit& operator=(const PositionOnExit&) = delete;
  ~PositionOnExit() {
    if (fd_ >= 0 && sent_ > 0)
      (void)::lseek(fd_, static_cast<off_t>(offset_ + static_cast<std::int64_t>(sent_)), SEEK_SET);
  }

 private:
  int fd_;
  std::int64_t offset_;
  const std::size_t& sent_;
};

/// Runs in an executor thread: up to `want` bytes of `fd` into `buffer`, at `at` (pread) or, when
/// `at` is -1, from the file's position (read; a non-blocking descriptor is waited for with poll,
/// as a blocking read would wait).
std::size_t read_some(int fd, char* buffer, std::size_t want, std::int64_t at) {
  for (;;) {
    const ssize_t n = at >= 0 ? ::pread(fd, buffer, want, static_cast<off_t>(at)) : ::read(fd, buffer, want);
    if (n >= 0) return static_cast<std::size_t>(n);
    const int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) {
      pollfd p{fd, POLLIN, 0};
      (void)::poll(&p, 1, -1);
      continue;
    }
    throw_os_error(err, "sendfile: read(fd=" + std::to_string(fd) + ")");
  }
}

/// How much the copying fallback reads next: a block, or what is left of `count`; 0 when done.
std::size_t chunk_size(const std::optional<std::int64_t>& count, std::size_t sent, std::size_t blocksize) {
  if (!count) return blocksize;
  return std::min(static_cast<std::size_t>(*count) - sent, blocksize);
}

/// One chunk of the file, read in the default executor (Python's run_in_executor(None,
/// file.readinto, view)). The buffer is shared with the job: a cancelled call must not free what
/// the thread still writes into.
Coro<std::size_t> read_chunk(EventLoop& loop, int fd, std::shared_ptr<std::string> buffer, std::size_t want,
                             std::int64_t at) {
  auto job = loop.run_in_executor(nullptr, [fd, buffer, want, at] { return read_some(fd, buffer->data(), want, at); });
  co_return co_await std::move(job);
}

Coro<std::size_t> sock_sendfile_native(Socket& sock, int file, std::int64_t offset, std::optional<std::int64_t> count) {
  struct stat st {};
  if (::fstat(file, &st) != 0 || !S_ISREG(st.st_mode)) {
    throw SendfileNotAvailableError("sock_sendfile: fd " + std::to_string(file) +
                                    " is not a regular file, which sendfile(2) needs");
  }
  const auto blocksize = static_cast<std::size_t>(count ? *count : st.st_size);
  if (blocksize == 0) co_return 0;  // an empty file
  EventLoop& loop = detail::start_socket_operation(sock, SocketWaiter::writing, "sock_sendfile");
  std::size_t sent = 0;
  PositionOnExit position(file, offset, sent);
  std::optional<SocketWaiter> waiter;
  Socket* target = &sock;
  for (;;) {
    std::size_t want = blocksize;
    if (count) {
      want = static_cast<std::size_t>(*count) - sent;
      if (want == 0) break;
    }
    off_t at = static_cast<off_t>(offset + static_cast<std::int64_t>(sent));
    const ssize_t n = ::sendfile(target->fileno(), file, &at, std::min(want, kMaxSendfileCall));
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n == 0) break;  // the end of the file
    const int err = errno;
    if (detail::would_block(err)) {
      if (!waiter) waiter.emplace(loop, *target, SocketWaiter::writing, "sock_sendfile");
      co_await waiter->readiness();
      target = &waiter->after_wait();
      continue;
    }
    // Python: a failure before anything was sent means sendfile(2) cannot do this (the copy may).
    if (sent == 0) {
      throw SendfileNotAvailableError("sock_sendfile: sendfile(2) failed before sending anything: " +
                                      std::string(std::strerror(err)));
    }
    throw_os_error(err, "sendfile(" + target->describe() + ")");
  }
  co_return sent;
}

Coro<std::size_t> sock_sendfile_fallback(Socket& sock, int file, std::int64_t offset,
                                         std::optional<std::int64_t> count) {
  EventLoop& loop = get_running_loop();
  const bool can_seek = seekable(file);
  check_seekable_offset(file, offset, can_seek, "sock_sendfile");
  const std::size_t blocksize =
      count ? std::min(static_cast<std::size_t>(*count), kSockSendfileChunk) : kSockSendfileChunk;
  auto buffer = std::make_shared<std::string>(blocksize, '\0');
  std::size_t sent = 0;
  PositionOnExit position(can_seek ? file : -1, offset, sent);
  for (;;) {
    const std::size_t want = chunk_size(count, sent, blocksize);
    if (want == 0) break;
    const std::size_t got =
        co_await read_chunk(loop, file, buffer, want, can_seek ? offset + static_cast<std::int64_t>(sent) : -1);
    if (got == 0) break;
    co_await sock_sendall(sock, std::string_view(buffer->data(), got));
    sent += got;
  }
  co_return sent;
}

/// Python's _SendfileFallbackProtocol: the transport's protocol while the copy runs. It turns
/// pause_writing/resume_writing into drain(), passes connection_lost on to the real protocol, and
/// refuses data (reading is paused meanwhile).
class FallbackProtocol final : public Protocol {
 public:
  FallbackProtocol(EventLoop& loop, Transport& transport)
      : loop_(loop),
        transport_(transport),
        proto_(transport.get_protocol()),
        resume_reading_(transport.is_reading()),
        resume_writing_(transport.get_write_buffer_size() > transport.get_write_buffer_limits().second) {
    transport.pause_reading();
    if (resume_writing_) write_ready_ = loop_.create_future<void>();
  }

  /// Waits until the transport takes more (Python's drain()).
  Coro<void> drain() {
    if (transport_.is_closing()) throw ConnectionError(ECONNRESET, "sendfile(the connection was closed)");
    if (!write_ready_) co_return;
    Future<void> ready = write_ready_;
    co_await ready;
  }

  /// Gives the transport back to its protocol.
  void restore() {
    transport_.set_protocol(proto_);
    if (resume_reading_) transport_.resume_reading();
    if (write_ready_) write_ready_.cancel();
    if (resume_writing_ && proto_) proto_->resume_writing();
  }

  void connection_made(BaseTransport&) override {
    throw RuntimeError("Invalid state: connection should have been established already.");
  }
  void connection_lost(std::exception_ptr error) override {
    if (write_ready_ && !write_ready_.done()) {
      if (error) {
        write_ready_.set_exception(error);
      } else {
        write_ready_.set_exception(ConnectionError(ECONNRESET, "sendfile(the connection was closed by the peer)"));
      }
    }
    if (proto_) proto_->connection_lost(std::move(error));
  }
  void pause_writing() override {
    if (!write_ready_) write_ready_ = loop_.create_future<void>();
  }
  void resume_writing() override {
    if (!write_ready_) return;
    if (!write_ready_.done()) write_ready_.set_result();
    write_ready_ = Future<void>();
  }
  void data_received(std::string_view) override { throw RuntimeError("Invalid state: reading should be paused"); }
  bool eof_received() override { throw RuntimeError("Invalid state: reading should be paused"); }

 private:
  EventLoop& loop_;
  Transport& transport_;
  std::shared_ptr<BaseProtocol> proto_;
  bool resume_reading_;
  bool resume_writing_;
  Future<void> write_ready_;
};

Coro<std::size_t> sendfile_fallback(Transport& transport, int file, std::int64_t offset,
                                    std::optional<std::int64_t> count) {
  EventLoop& loop = get_running_loop();
  const bool can_seek = seekable(file);
  check_seekable_offset(file, offset, can_seek, "sendfile");
  const std::size_t blocksize =
      count ? std::min(static_cast<std::size_t>(*count), kTransportSendfileChunk) : kTransportSendfileChunk;
  auto buffer = std::make_shared<std::string>(blocksize, '\0');
  auto proto = std::make_shared<FallbackProtocol>(loop, transport);
  transport.set_protocol(proto);
  std::size_t sent = 0;
  std::exception_ptr error;
  {
    PositionOnExit position(can_seek ? file : -1, offset, sent);
    try {
      for (;;) {
        const std::size_t want = chunk_size(count, sent, blocksize);
        if (want == 0) break;
        const std::size_t got =
            co_await read_chunk(loop, file, buffer, want, can_seek ? offset + static_cast<std::int64_t>(sent) : -1);
        if (got == 0) break;
        transport.write(std::string_view(buffer->data(), got));
        co_await proto->drain();
        sent += got;
      }
    } catch (...) {
      error = std::current_exception();
    }
  }
  proto->restore();
  if (error) std::rethrow_exception(error);
  co_return sent;
}

/// Python's _sendfile_native on a socket transport: once its buffer is empty, the socket is
/// sendfile(2)'s, reading paused, writes refused.
Coro<std::size_t> sendfile_native(std::shared_ptr<SocketTransport> transport, int file, std::int64_t offset,
                                  std::optional<std::int64_t> count) {
  EventLoop& loop = get_running_loop();
  const bool resume_reading = transport->is_reading();
  transport->pause_reading();
  Future<void> empty;
  std::size_t sent = 0;
  std::exception_ptr error;
  try {
    empty = detail::SendfileAccess::make_empty_waiter(*transport, loop);
    co_await empty;
    sent = co_await sock_sendfile(detail::SendfileAccess::socket(*transport), file, offset, count, false);
  } catch (...) {
    error = std::current_exception();
  }
  if (empty) detail::SendfileAccess::reset_empty_waiter(*transport);
  if (resume_reading) transport->resume_reading();
  if (error) std::rethrow_exception(error);
  co_return sent;
}

}  // namespace

Coro<std::size_t> sock_sendfile(Socket& sock, int file_fd, std::int64_t offset, std::optional<std::int64_t> count,
                                bool fallback) {
  check_params(offset, count, "sock_sendfile");
  if (!sock.valid()) throw ValueError("sock_sendfile: the socket is closed");
  if (sock.type() != SOCK_STREAM) {
    throw ValueError("sock_sendfile: only SOCK_STREAM type sockets are supported (got " + sock.describe() + ")");
  }
  try {
    co_return co_await sock_sendfile_native(sock, file_fd, offset, count);
  } catch (const SendfileNotAvailableError&) {
    if (!fallback) throw;
  }
  co_return co_await sock_sendfile_fallback(sock, file_fd, offset, count);
}

Coro<std::size_t> sendfile(Transport& transport, int file_fd, std::int64_t offset, std::optional<std::int64_t> count,
                           bool fallback) {
  check_params(offset, count, "sendfile");
  if (transport.is_closing()) throw RuntimeError("sendfile: the transport is closing");
  if (auto* socket_transport = dynamic_cast<SocketTransport*>(&transport)) {
    try {
      co_return co_await sendfile_native(socket_transport->shared_from_this(), file_fd, offset, count);
    } catch (const SendfileNotAvailableError&) {
      if (!fallback) throw;
    }
  } else if (!fallback) {
    throw SendfileNotAvailableError(
        "sendfile: fallback is disabled and sendfile(2) is not supported for this transport (only a plain "
        "SocketTransport can use it; a TLS transport needs the copy: pass fallback=true)");
  }
  co_return co_await sendfile_fallback(transport, file_fd, offset, count);
}

}  // namespace asyncio
