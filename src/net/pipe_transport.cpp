// ReadPipeTransport, WritePipeTransport, connect_read_pipe, connect_write_pipe: CPython 3.13
// unix_events.py (_UnixReadPipeTransport, _UnixWritePipeTransport) on detail::FdTransport
// (net/fd_transport.hpp: what they share with _SelectorTransport and _FlowControlMixin), and
// base_events.py (connect_read_pipe, connect_write_pipe).

#include "asyncio/net/pipe_transport.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

#include "asyncio/exceptions.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/loop/logger.hpp"
#include "asyncio/net/sigpipe.hpp"
#include "asyncio/os_error.hpp"

namespace asyncio {

namespace {

using detail::os_errno;
using detail::os_error_ptr;
using detail::would_block;

std::string pipe_name(int fd) { return "pipe fd " + std::to_string(fd); }

/// read and write as bare system calls, as SocketTransport's recv and send: glibc's wrappers are
/// thread-cancellation points, which cost on every call once the process has a second thread.
inline ssize_t raw_read(int fd, char* buffer, std::size_t size) noexcept {
  return ::syscall(SYS_read, fd, buffer, size);
}
inline ssize_t raw_write(int fd, const char* data, std::size_t size) noexcept {
  return ::syscall(SYS_write, fd, data, size);
}

/// What kind of file `fd` is (OSError, naming `call`, if it is not open).
mode_t file_mode(int fd, const char* call) {
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) {
    throw_os_error(fd < 0 ? EBADF : errno, std::string(call) + "(fd " + std::to_string(fd) + ")");
  }
  return st.st_mode;
}

/// Non-blocking, and close-on-exec unless it is a standard stream (children inherit those).
void prepare_descriptor(int fd, const char* call) {
  const int status = ::fcntl(fd, F_GETFL);
  if (status < 0 || ((status & O_NONBLOCK) == 0 && ::fcntl(fd, F_SETFL, status | O_NONBLOCK) < 0)) {
    throw_last_os_error(std::string(call) + "(fd " + std::to_string(fd) + "): fcntl(O_NONBLOCK)");
  }
  if (fd > 2) {
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0 || ((flags & FD_CLOEXEC) == 0 && ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)) {
      throw_last_os_error(std::string(call) + "(fd " + std::to_string(fd) + "): fcntl(FD_CLOEXEC)");
    }
  }
}

/// Closes the pipe descriptor `fd` if it is still open, leaving -1.
void close_pipe(int& fd) noexcept {
  if (fd >= 0) ::close(std::exchange(fd, -1));
}

constexpr const char* kAddReaderFailed = "Fatal error on pipe transport: add_reader() failed";
constexpr const char* kWriteError = "Fatal write error on pipe transport";

}  // namespace

// =================================================================================================
// ReadPipeTransport
// =================================================================================================

std::shared_ptr<ReadPipeTransport> ReadPipeTransport::create(EventLoop& loop, int fd,
                                                             std::shared_ptr<BaseProtocol> protocol,
                                                             Future<void> waiter) {
  if (dynamic_cast<Protocol*>(protocol.get()) == nullptr) {
    throw TypeError("ReadPipeTransport: the protocol must be a Protocol");
  }
  const mode_t mode = file_mode(fd, "connect_read_pipe");
  if (!S_ISFIFO(mode) && !S_ISSOCK(mode) && !S_ISCHR(mode)) {
    throw ValueError("Pipe transport is for pipes/sockets only.");
  }
  prepare_descriptor(fd, "connect_read_pipe");
  detail::TransportTable& table = detail::TransportTable::of(loop);
  return launch(std::make_shared<ReadPipeTransport>(Private{}, loop, table, fd), std::move(protocol),
                std::move(waiter));
}

ReadPipeTransport::ReadPipeTransport(Private, EventLoop& loop, detail::TransportTable& table, int fd)
    : Base(loop, table, fd) {}

ReadPipeTransport::~ReadPipeTransport() { release_resources(); }

void ReadPipeTransport::start_watching() {
  // Only now: no data_received before connection_made (Python schedules _add_reader after it).
  if (is_reading()) add_reader_or_fail(kAddReaderFailed);
}

void ReadPipeTransport::watch_reads_again() { add_reader_or_fail(kAddReaderFailed); }

void ReadPipeTransport::undo_start() noexcept {
  fd_ = -1;  // still the caller's
  release_resources();
}

void ReadPipeTransport::release_descriptor() noexcept { close_pipe(fd_); }

bool ReadPipeTransport::is_quiet_error(const std::exception_ptr& error) noexcept { return os_errno(error) == EIO; }

void ReadPipeTransport::set_protocol(std::shared_ptr<BaseProtocol> protocol) {
  stream_protocol_ =
      replace_protocol_as<Protocol>(std::move(protocol), "ReadPipeTransport: the protocol must be a Protocol");
}

void ReadPipeTransport::read_ready() {
  if (lost_) return;
  const std::span<char> buffer = table_->read_buffer();
  const ssize_t n = raw_read(fd_, buffer.data(), buffer.size());
  if (n > 0) {
    try {
      stream_protocol_->data_received(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    } catch (...) {
      fatal_error(std::current_exception(), "Fatal error: protocol.data_received() call failed.");
    }
    return;
  }
  if (n == 0) {
    on_eof();
    return;
  }
  const int err = errno;
  if (would_block(err)) return;
  fatal_error(os_error_ptr(err, "read(" + pipe_name(fd_) + ")"), "Fatal read error on pipe transport");
}

void ReadPipeTransport::on_eof() {
  if (loop_->get_debug()) log(LogLevel::info, describe() + " was closed by peer");
  closing_ = true;
  remove_reader();
  mark_lost();
  // Python: call_soon(eof_received), call_soon(_call_connection_lost, None): one callback here,
  // connection_lost following whatever eof_received does.
  loop_->call_soon([this] {
    if (stream_protocol_ != nullptr) {
      try {
        (void)stream_protocol_->eof_received();
      } catch (...) {
        report("protocol.eof_received() call failed.", std::current_exception());
      }
    }
    call_connection_lost(nullptr);
  });
}

void ReadPipeTransport::close() {
  if (!closing_) force_close(nullptr);
}

std::any ReadPipeTransport::get_extra_info(std::string_view name) const {
  if (name == "pipe") return std::any(fd_);
  return {};
}

std::string ReadPipeTransport::describe() const {
  std::string text = describe_head("ReadPipeTransport", fd_ < 0);
  if (fd_ >= 0 && loop_usable()) text += reader_on_ ? " polling" : " idle";
  return text + ">";
}

// =================================================================================================
// WritePipeTransport
// =================================================================================================

std::shared_ptr<WritePipeTransport> WritePipeTransport::create(EventLoop& loop, int fd,
                                                               std::shared_ptr<BaseProtocol> protocol,
                                                               Future<void> waiter) {
  if (!protocol) throw TypeError("WritePipeTransport: the protocol is null");
  const mode_t mode = file_mode(fd, "connect_write_pipe");
  const bool is_fifo = S_ISFIFO(mode);
  const bool is_socket = S_ISSOCK(mode);
  if (!is_fifo && !is_socket && !S_ISCHR(mode)) {
    throw ValueError("Pipe transport is only for pipes, sockets and character devices");
  }
  prepare_descriptor(fd, "connect_write_pipe");
  detail::ignore_sigpipe_once();
  detail::TransportTable& table = detail::TransportTable::of(loop);
  // A character device (a terminal) is never readable because a reader left: not watched.
  const bool watch_peer = is_fifo || is_socket;
  return launch(std::make_shared<WritePipeTransport>(Private{}, loop, table, fd, watch_peer), std::move(protocol),
                std::move(waiter));
}

WritePipeTransport::WritePipeTransport(Private, EventLoop& loop, detail::TransportTable& table, int fd, bool watch_peer)
    : Base(loop, table, fd), watch_peer_(watch_peer) {}

WritePipeTransport::~WritePipeTransport() { release_resources(); }

void WritePipeTransport::start_watching() {
  // Only now, as Python: the reader's departure is reported after connection_made. Still watched
  // while a close flushes the buffer: the reader may leave meanwhile.
  if (watch_peer_ && !lost_) add_reader_or_fail(kAddReaderFailed);
}

void WritePipeTransport::undo_start() noexcept {
  fd_ = -1;  // still the caller's
  release_resources();
}

void WritePipeTransport::release_descriptor() noexcept {
  drop_write_buffer();
  close_pipe(fd_);
}

bool WritePipeTransport::is_quiet_error(const std::exception_ptr& error) noexcept { return os_errno(error) >= 0; }

void WritePipeTransport::set_protocol(std::shared_ptr<BaseProtocol> protocol) {
  if (!protocol) throw TypeError("WritePipeTransport: the protocol is null");
  replace_protocol(std::move(protocol));
}

void WritePipeTransport::read_ready() {
  // The write end of a pipe is "readable" (EPOLLERR) only once the reading end is closed.
  if (loop_->get_debug()) log(LogLevel::info, describe() + " was closed by peer");
  if (get_write_buffer_size() != 0) {
    force_close(os_error_ptr(EPIPE, "write(" + pipe_name(fd_) + "): the reading end was closed"));
  } else {
    force_close(nullptr);
  }
}

void WritePipeTransport::write(std::string_view data) {
  if (data.empty()) return;
  if (conn_lost_ != 0 || closing_) {
    drop_write("pipe closed by peer or os.write(pipe, data) raised exception.");
    return;
  }
  if (buffer_.empty()) {
    // Nothing buffered: write now.
    const ssize_t n = raw_write(fd_, data.data(), data.size());
    std::size_t written = 0;
    if (n >= 0) {
      written = static_cast<std::size_t>(n);
      if (written == data.size()) return;
    } else {
      const int err = errno;
      if (!would_block(err)) {
        ++conn_lost_;
        fatal_error(os_error_ptr(err, "write(" + pipe_name(fd_) + ")"), kWriteError);
        return;
      }
    }
    data.remove_prefix(written);
    if (!add_writer_counted()) return;  // the transport is being lost
  }
  buffer_.append(data);
  maybe_pause_protocol();
}

void WritePipeTransport::writelines(std::span<const std::string_view> data) {
  std::size_t total = 0;
  for (std::string_view piece : data) total += piece.size();
  if (total == 0) return;
  std::string joined;
  joined.reserve(total);
  for (std::string_view piece : data) joined.append(piece);
  write(joined);
}

bool WritePipeTransport::add_writer_counted() {
  try {
    add_writer();
  } catch (...) {
    ++conn_lost_;
    fatal_error(std::current_exception(), "Fatal error on pipe transport: add_writer() failed");
  }
  return writer_on_;
}

void WritePipeTransport::write_ready() {
  if (lost_) return;
  const ssize_t n = raw_write(fd_, buffer_.data(), buffer_.size());
  if (n < 0) {
    const int err = errno;
    if (would_block(err)) return;
    buffer_.clear();
    ++conn_lost_;
    remove_writer();
    fatal_error(os_error_ptr(err, "write(" + pipe_name(fd_) + ")"), kWriteError);
    return;
  }
  buffer_.consume(static_cast<std::size_t>(n));
  if (!buffer_.empty()) return;  // the rest when writable again
  remove_writer();
  maybe_resume_protocol();  // may write more, or close or abort
  if (closing_ && !lost_ && buffer_.empty()) {
    // close() or write_eof() waited for this flush.
    remove_reader();
    call_connection_lost(nullptr);  // may destroy *this: nothing after it
  }
}

void WritePipeTransport::write_eof() {
  if (closing_) return;
  closing_ = true;
  if (buffer_.empty()) {
    remove_reader();
    mark_lost();
    schedule_connection_lost(nullptr);
  }
}

void WritePipeTransport::close() {
  if (fd_ >= 0 && !closing_) write_eof();  // closing the pipe is all a write end can do
}

void WritePipeTransport::abort() { force_close(nullptr); }

std::any WritePipeTransport::get_extra_info(std::string_view name) const {
  if (name == "pipe") return std::any(fd_);
  return {};
}

std::string WritePipeTransport::describe() const {
  std::string text = describe_head("WritePipeTransport", fd_ < 0);
  if (fd_ >= 0 && loop_usable()) {
    text += writer_on_ ? " polling" : " idle";
    text += " bufsize=" + std::to_string(get_write_buffer_size());
  }
  return text + ">";
}

// =================================================================================================
// connect_read_pipe / connect_write_pipe
// =================================================================================================

namespace detail {

namespace {

template <class T, class Make>
Coro<std::shared_ptr<T>> start_pipe(int fd, bool owned, Make make) {
  EventLoop& loop = get_running_loop();
  Future<void> waiter = loop.create_future<void>();
  std::shared_ptr<T> transport;
  try {
    transport = make(loop, waiter);
  } catch (...) {
    if (owned && fd >= 0) ::close(fd);
    throw;
  }
  co_return co_await await_connection_made(std::move(transport), std::move(waiter));
}

}  // namespace

Coro<std::shared_ptr<ReadTransport>> start_read_pipe(int fd, bool owned, std::shared_ptr<BaseProtocol> protocol) {
  if (!protocol) {
    if (owned && fd >= 0) ::close(fd);
    throw TypeError("the protocol factory returned a null protocol");
  }
  auto make = [fd, protocol = std::move(protocol)](EventLoop& loop, Future<void> waiter) mutable {
    return std::shared_ptr<ReadTransport>(ReadPipeTransport::create(loop, fd, std::move(protocol), std::move(waiter)));
  };
  co_return co_await start_pipe<ReadTransport>(fd, owned, std::move(make));
}

Coro<std::shared_ptr<WriteTransport>> start_write_pipe(int fd, bool owned, std::shared_ptr<BaseProtocol> protocol) {
  if (!protocol) {
    if (owned && fd >= 0) ::close(fd);
    throw TypeError("the protocol factory returned a null protocol");
  }
  auto make = [fd, protocol = std::move(protocol)](EventLoop& loop, Future<void> waiter) mutable {
    return std::shared_ptr<WriteTransport>(
        WritePipeTransport::create(loop, fd, std::move(protocol), std::move(waiter)));
  };
  co_return co_await start_pipe<WriteTransport>(fd, owned, std::move(make));
}

}  // namespace detail
}  // namespace asyncio
