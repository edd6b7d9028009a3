// ReadPipeTransport, WritePipeTransport, connect_read_pipe, connect_write_pipe: CPython 3.13
// unix_events.py (_UnixReadPipeTransport, _UnixWritePipeTransport), transports.py
// (_FlowControlMixin) and base_events.py (connect_read_pipe, connect_write_pipe), on
// EventLoop::add_reader / add_writer.

#include "asyncio/net/pipe_transport.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

#include "asyncio/detail/describe.hpp"
#include "asyncio/exceptions.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/loop/logger.hpp"
#include "asyncio/net/sigpipe.hpp"
#include "asyncio/os_error.hpp"

namespace asyncio {

namespace {

/// Python's constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES.
constexpr std::uint32_t kLogThresholdForConnLostWrites = 5;
/// A drained write buffer keeps its capacity for the next burst unless it grew beyond this.
constexpr std::size_t kKeptWriteCapacity = 1 << 20;

bool would_block(int err) noexcept { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

std::exception_ptr os_error_ptr(int err, const std::string& operation) {
  try {
    throw_os_error(err, operation);
  } catch (...) {
    return std::current_exception();
  }
}

/// The errno of `error` if it is an OSError, -1 if it is another exception.
int os_errno(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const OSError& e) {
    return e.errno_value();
  } catch (...) {
    return -1;
  }
}

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
  auto t = std::make_shared<ReadPipeTransport>(Private{}, loop, table, fd);
  t->set_protocol(std::move(protocol));
  t->self_ = t;  // the loop's reference, until connection_lost has run
  try {
    t->start(std::move(waiter));
  } catch (...) {
    t->fd_ = -1;  // still the caller's
    t->release_resources();
    t->self_.reset();
    throw;
  }
  return t;
}

ReadPipeTransport::ReadPipeTransport(Private, EventLoop& loop, detail::TransportTable& table, int fd)
    : loop_(&loop), table_(&table), fd_(fd) {
  table_->link(*this);
}

ReadPipeTransport::~ReadPipeTransport() { release_resources(); }

void ReadPipeTransport::start(Future<void> waiter) {
  loop_->call_soon([this, waiter = std::move(waiter)]() mutable { on_start(waiter); });
}

void ReadPipeTransport::on_start(Future<void>& waiter) {
  started_ = true;
  if (protocol_) {
    try {
      protocol_->connection_made(*this);
    } catch (...) {
      fatal_error(std::current_exception(), "Fatal error: protocol.connection_made() call failed.");
    }
  }
  // Only now: no data_received before connection_made (Python schedules _add_reader after it).
  if (is_reading()) add_reader();
  if (waiter && !waiter.done()) waiter.set_result();  // futures._set_result_unless_cancelled
}

void ReadPipeTransport::set_protocol(std::shared_ptr<BaseProtocol> protocol) {
  auto* stream = dynamic_cast<Protocol*>(protocol.get());
  if (stream == nullptr) throw TypeError("ReadPipeTransport: the protocol must be a Protocol");
  retired_protocol_ = std::move(protocol_);  // may be running the call that replaces it
  protocol_ = std::move(protocol);
  stream_protocol_ = stream;
}

void ReadPipeTransport::add_reader() {
  if (reader_on_) return;
  try {
    loop_->add_reader(fd_, [this] { read_ready(); });
    reader_on_ = true;
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error on pipe transport: add_reader() failed");
  }
}

void ReadPipeTransport::remove_reader() noexcept {
  if (!reader_on_) return;
  reader_on_ = false;
  if (loop_ == nullptr) return;
  try {
    loop_->remove_reader(fd_);
  } catch (...) {  // only debug mode's wrong-thread check throws; the descriptor is closed soon
  }
}

void ReadPipeTransport::read_ready() {
  if (lost_scheduled_) return;
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
  lost_scheduled_ = true;
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

void ReadPipeTransport::pause_reading() {
  if (!is_reading()) return;
  paused_ = true;
  remove_reader();
  if (loop_ != nullptr && loop_->get_debug()) log(LogLevel::debug, describe() + " pauses reading");
}

void ReadPipeTransport::resume_reading() {
  if (closing_ || !paused_) return;
  paused_ = false;
  if (started_) add_reader();  // before connection_made, on_start adds it
  if (loop_ != nullptr && loop_->get_debug()) log(LogLevel::debug, describe() + " resumes reading");
}

void ReadPipeTransport::close() {
  if (!closing_) close_with(nullptr);
}

void ReadPipeTransport::fatal_error(std::exception_ptr error, const char* message) {
  if (os_errno(error) == EIO) {
    // What a pty's master reads once the slave side is closed: an end, not a failure.
    if (loop_ != nullptr && loop_->get_debug()) {
      log(LogLevel::debug, describe() + ": " + message + ": " + detail::describe_exception(error));
    }
  } else {
    report(message, error);
  }
  close_with(std::move(error));
}

void ReadPipeTransport::close_with(std::exception_ptr error) {
  closing_ = true;
  remove_reader();
  if (lost_scheduled_) return;
  lost_scheduled_ = true;
  // A closed loop runs nothing: its table abandons this transport instead.
  if (loop_ == nullptr || loop_->is_closed()) return;
  loop_->call_soon([this, error = std::move(error)]() mutable { call_connection_lost(std::move(error)); });
}

void ReadPipeTransport::call_connection_lost(std::exception_ptr error) {
  lost_scheduled_ = true;
  closing_ = true;
  // The loop's reference goes last (it may be the only one): nothing touches *this after it.
  const std::shared_ptr<ReadPipeTransport> keep = std::move(self_);
  std::exception_ptr failure;
  if (protocol_) {
    try {
      protocol_->connection_lost(std::move(error));
    } catch (...) {
      failure = std::current_exception();
    }
  }
  if (failure) report("Fatal error: protocol.connection_lost() call failed.", failure);
  const std::shared_ptr<BaseProtocol> protocol = std::move(protocol_);
  const std::shared_ptr<BaseProtocol> retired = std::move(retired_protocol_);
  stream_protocol_ = nullptr;
  release_resources();
}

void ReadPipeTransport::release_resources() noexcept {
  remove_reader();  // before closing: never a callback for a number the kernel may reuse
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  if (table_ != nullptr) std::exchange(table_, nullptr)->unlink(*this);
}

void ReadPipeTransport::abandon() noexcept {
  // The loop is closing (its callbacks are already gone) and will run nothing more.
  const std::shared_ptr<ReadPipeTransport> keep = std::move(self_);
  loop_ = nullptr;
  reader_on_ = false;
  closing_ = true;
  lost_scheduled_ = true;
  release_resources();
  const std::shared_ptr<BaseProtocol> protocol = std::move(protocol_);
  const std::shared_ptr<BaseProtocol> retired = std::move(retired_protocol_);
  stream_protocol_ = nullptr;
}

void ReadPipeTransport::report(const char* message, std::exception_ptr error) noexcept {
  if (loop_ == nullptr) return;
  try {
    loop_->call_exception_handler(ExceptionContext{message, std::move(error), {}, describe()});
  } catch (...) {  // building the context may fail (memory)
  }
}

std::any ReadPipeTransport::get_extra_info(std::string_view name) const {
  if (name == "pipe") return std::any(fd_);
  return {};
}

std::string ReadPipeTransport::describe() const {
  std::string text = "<ReadPipeTransport";
  if (fd_ < 0) {
    text += " closed";
  } else if (closing_) {
    text += " closing";
  }
  text += " fd=" + std::to_string(fd_);
  if (fd_ >= 0 && loop_ != nullptr && !loop_->is_closed()) text += reader_on_ ? " polling" : " idle";
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
  auto t = std::make_shared<WritePipeTransport>(Private{}, loop, table, fd);
  t->set_protocol(std::move(protocol));
  t->self_ = t;  // the loop's reference, until connection_lost has run
  try {
    t->start(std::move(waiter), watch_peer);
  } catch (...) {
    t->fd_ = -1;  // still the caller's
    t->release_resources();
    t->self_.reset();
    throw;
  }
  return t;
}

WritePipeTransport::WritePipeTransport(Private, EventLoop& loop, detail::TransportTable& table, int fd)
    : loop_(&loop), table_(&table), fd_(fd) {
  table_->link(*this);
}

WritePipeTransport::~WritePipeTransport() { release_resources(); }

void WritePipeTransport::start(Future<void> waiter, bool watch_peer) {
  loop_->call_soon([this, waiter = std::move(waiter), watch_peer]() mutable { on_start(waiter, watch_peer); });
}

void WritePipeTransport::on_start(Future<void>& waiter, bool watch_peer) {
  if (protocol_) {
    try {
      protocol_->connection_made(*this);
    } catch (...) {
      fatal_error(std::current_exception(), "Fatal error: protocol.connection_made() call failed.");
    }
  }
  // Only now, as Python: the reader's departure is reported after connection_made. Still watched
  // while a close flushes the buffer: the reader may leave meanwhile.
  if (watch_peer && !lost_scheduled_) {
    try {
      loop_->add_reader(fd_, [this] { peer_closed(); });
      reader_on_ = true;
    } catch (...) {
      fatal_error(std::current_exception(), "Fatal error on pipe transport: add_reader() failed");
    }
  }
  if (waiter && !waiter.done()) waiter.set_result();  // futures._set_result_unless_cancelled
}

void WritePipeTransport::set_protocol(std::shared_ptr<BaseProtocol> protocol) {
  if (!protocol) throw TypeError("WritePipeTransport: the protocol is null");
  retired_protocol_ = std::move(protocol_);  // may be running the call that replaces it
  protocol_ = std::move(protocol);
}

void WritePipeTransport::peer_closed() {
  // The write end of a pipe is "readable" (EPOLLERR) only once the reading end is closed.
  if (loop_->get_debug()) log(LogLevel::info, describe() + " was closed by peer");
  if (get_write_buffer_size() != 0) {
    close_with(os_error_ptr(EPIPE, "write(" + pipe_name(fd_) + "): the reading end was closed"));
  } else {
    close_with(nullptr);
  }
}

void WritePipeTransport::throw_not_writable(const char* what) const {
  throw RuntimeError(std::string("Cannot call ") + what + " after close(), write_eof() or abort()");
}

void WritePipeTransport::drop_write() {
  if (conn_lost_ >= kLogThresholdForConnLostWrites) {
    log(LogLevel::warning, "pipe closed by peer or os.write(pipe, data) raised exception.");
  }
  ++conn_lost_;
}

void WritePipeTransport::write(std::string_view data) {
  if (user_closed_) throw_not_writable("write()");
  if (data.empty()) return;
  if (conn_lost_ != 0 || closing_) {
    drop_write();
    return;
  }
  if (offset_ == buffer_.size()) {
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
        fatal_error(os_error_ptr(err, "write(" + pipe_name(fd_) + ")"), "Fatal write error on pipe transport");
        return;
      }
    }
    data.remove_prefix(written);
    add_writer();
    if (!writer_on_) return;  // add_writer failed: the transport is being lost
  } else if (offset_ != 0 && offset_ >= buffer_.size() / 2) {
    // Compact: what was written is at least half, so each byte moves at most once on average.
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  buffer_.append(data);
  maybe_pause_protocol();
}

void WritePipeTransport::writelines(std::span<const std::string_view> data) {
  if (user_closed_) throw_not_writable("writelines()");
  std::size_t total = 0;
  for (std::string_view piece : data) total += piece.size();
  if (total == 0) return;
  std::string joined;
  joined.reserve(total);
  for (std::string_view piece : data) joined.append(piece);
  write(joined);
}

void WritePipeTransport::add_writer() {
  if (writer_on_) return;
  try {
    loop_->add_writer(fd_, [this] { write_ready(); });
    writer_on_ = true;
  } catch (...) {
    ++conn_lost_;
    fatal_error(std::current_exception(), "Fatal error on pipe transport: add_writer() failed");
  }
}

void WritePipeTransport::remove_writer() noexcept {
  if (!writer_on_) return;
  writer_on_ = false;
  if (loop_ == nullptr) return;
  try {
    loop_->remove_writer(fd_);
  } catch (...) {  // only debug mode's wrong-thread check throws; the descriptor is closed soon
  }
}

void WritePipeTransport::remove_reader() noexcept {
  if (!reader_on_) return;
  reader_on_ = false;
  if (loop_ == nullptr) return;
  try {
    loop_->remove_reader(fd_);
  } catch (...) {  // as remove_writer
  }
}

void WritePipeTransport::clear_buffer() noexcept {
  if (buffer_.capacity() > kKeptWriteCapacity) {
    std::string().swap(buffer_);
  } else {
    buffer_.clear();
  }
  offset_ = 0;
}

void WritePipeTransport::write_ready() {
  if (lost_scheduled_) return;
  const ssize_t n = raw_write(fd_, buffer_.data() + offset_, buffer_.size() - offset_);
  if (n < 0) {
    const int err = errno;
    if (would_block(err)) return;
    clear_buffer();
    ++conn_lost_;
    remove_writer();
    fatal_error(os_error_ptr(err, "write(" + pipe_name(fd_) + ")"), "Fatal write error on pipe transport");
    return;
  }
  offset_ += static_cast<std::size_t>(n);
  if (offset_ != buffer_.size()) return;  // the rest when writable again
  clear_buffer();
  remove_writer();
  maybe_resume_protocol();  // may write more, or close or abort
  if (closing_ && !lost_scheduled_ && offset_ == buffer_.size()) {
    // close() or write_eof() waited for this flush.
    remove_reader();
    lost_scheduled_ = true;
    call_connection_lost(nullptr);  // may destroy *this: nothing after it
  }
}

void WritePipeTransport::write_eof() {
  user_closed_ = true;
  if (closing_) return;
  closing_ = true;
  if (offset_ == buffer_.size()) {
    remove_reader();
    lost_scheduled_ = true;
    schedule_connection_lost(nullptr);
  }
}

void WritePipeTransport::close() {
  user_closed_ = true;
  if (fd_ >= 0 && !closing_) write_eof();  // closing the pipe is all a write end can do
}

void WritePipeTransport::abort() {
  user_closed_ = true;
  close_with(nullptr);
}

void WritePipeTransport::fatal_error(std::exception_ptr error, const char* message) {
  if (os_errno(error) < 0) {
    report(message, error);
  } else if (loop_ != nullptr && loop_->get_debug()) {
    log(LogLevel::debug, describe() + ": " + message + ": " + detail::describe_exception(error));
  }
  close_with(std::move(error));
}

void WritePipeTransport::close_with(std::exception_ptr error) {
  closing_ = true;
  if (offset_ != buffer_.size()) {
    remove_writer();
    clear_buffer();
  }
  remove_reader();
  if (lost_scheduled_) return;
  lost_scheduled_ = true;
  schedule_connection_lost(std::move(error));
}

void WritePipeTransport::schedule_connection_lost(std::exception_ptr error) {
  // A closed loop runs nothing: its table abandons this transport instead.
  if (loop_ == nullptr || loop_->is_closed()) return;
  loop_->call_soon([this, error = std::move(error)]() mutable { call_connection_lost(std::move(error)); });
}

void WritePipeTransport::call_connection_lost(std::exception_ptr error) {
  lost_scheduled_ = true;
  closing_ = true;
  const std::shared_ptr<WritePipeTransport> keep = std::move(self_);
  std::exception_ptr failure;
  if (protocol_) {
    try {
      protocol_->connection_lost(std::move(error));
    } catch (...) {
      failure = std::current_exception();
    }
  }
  if (failure) report("Fatal error: protocol.connection_lost() call failed.", failure);
  const std::shared_ptr<BaseProtocol> protocol = std::move(protocol_);
  const std::shared_ptr<BaseProtocol> retired = std::move(retired_protocol_);
  release_resources();
}

void WritePipeTransport::release_resources() noexcept {
  remove_reader();  // before closing: never a callback for a number the kernel may reuse
  remove_writer();
  clear_buffer();
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  if (table_ != nullptr) std::exchange(table_, nullptr)->unlink(*this);
}

void WritePipeTransport::abandon() noexcept {
  const std::shared_ptr<WritePipeTransport> keep = std::move(self_);
  loop_ = nullptr;
  reader_on_ = false;
  writer_on_ = false;
  closing_ = true;
  lost_scheduled_ = true;
  if (conn_lost_ == 0) conn_lost_ = 1;
  release_resources();
  const std::shared_ptr<BaseProtocol> protocol = std::move(protocol_);
  const std::shared_ptr<BaseProtocol> retired = std::move(retired_protocol_);
}

void WritePipeTransport::report(const char* message, std::exception_ptr error) noexcept {
  if (loop_ == nullptr) return;
  try {
    loop_->call_exception_handler(ExceptionContext{message, std::move(error), {}, describe()});
  } catch (...) {  // building the context may fail (memory)
  }
}

// --- flow control (_FlowControlMixin) ------------------------------------------------------------

void WritePipeTransport::maybe_pause_protocol() {
  if (get_write_buffer_size() <= high_) return;
  if (protocol_paused_ || !protocol_) return;
  protocol_paused_ = true;
  try {
    protocol_->pause_writing();
  } catch (...) {
    report("protocol.pause_writing() failed", std::current_exception());
  }
}

void WritePipeTransport::maybe_resume_protocol() {
  if (!protocol_paused_ || get_write_buffer_size() > low_) return;
  protocol_paused_ = false;
  if (!protocol_) return;
  try {
    protocol_->resume_writing();
  } catch (...) {
    report("protocol.resume_writing() failed", std::current_exception());
  }
}

void WritePipeTransport::set_write_buffer_limits(std::size_t high, std::size_t low) {
  if (low > high) {
    throw ValueError("high (" + std::to_string(high) + ") must be >= low (" + std::to_string(low) + ") must be >= 0");
  }
  high_ = high;
  low_ = low;
  maybe_pause_protocol();
}

std::any WritePipeTransport::get_extra_info(std::string_view name) const {
  if (name == "pipe") return std::any(fd_);
  return {};
}

std::string WritePipeTransport::describe() const {
  std::string text = "<WritePipeTransport";
  if (fd_ < 0) {
    text += " closed";
  } else if (closing_) {
    text += " closing";
  }
  text += " fd=" + std::to_string(fd_);
  if (fd_ >= 0 && loop_ != nullptr && !loop_->is_closed()) {
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
  try {
    co_await waiter;
  } catch (...) {
    transport->close();
    throw;
  }
  co_return transport;
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
