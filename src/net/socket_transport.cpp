// SocketTransport: CPython 3.13 selector_events.py's _SelectorTransport and
// _SelectorSocketTransport, with transports.py's _FlowControlMixin, on EventLoop::add_reader /
// add_writer. The hot path (read_ready -> data_received -> write) allocates nothing: the reader's
// callback node stays with the loop, the read buffer is the loop's, and a write the kernel takes
// whole never touches the write buffer.

#include "asyncio/net/socket_transport.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "asyncio/detail/describe.hpp"
#include "asyncio/exceptions.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/loop/logger.hpp"
#include "asyncio/net/server.hpp"
#include "asyncio/os_error.hpp"

namespace asyncio {

namespace {

/// Python's constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES.
constexpr std::uint32_t kLogThresholdForConnLostWrites = 5;
/// A drained write buffer keeps its capacity for the next burst unless it grew beyond this.
constexpr std::size_t kKeptWriteCapacity = 1 << 20;

bool is_os_error(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const OSError&) {
    return true;
  } catch (...) {
    return false;
  }
}

/// recv and send as bare system calls. glibc's recv/send are thread-cancellation points and pay
/// for it on every call once the process has a second thread (an executor): enabling and disabling
/// asynchronous cancellation cost more instructions than the rest of the echo path's user code.
/// A loop never wants pthread_cancel to act inside it, so nothing is lost.
inline ssize_t raw_recv(int fd, char* buffer, std::size_t size) noexcept {
  return ::syscall(SYS_recvfrom, fd, buffer, size, 0, nullptr, nullptr);
}
inline ssize_t raw_send(int fd, const char* data, std::size_t size) noexcept {
  return ::syscall(SYS_sendto, fd, data, size, MSG_NOSIGNAL, nullptr, 0);
}

bool would_block(int err) noexcept { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

std::exception_ptr os_error_ptr(int err, const std::string& operation) {
  try {
    throw_os_error(err, operation);
  } catch (...) {
    return std::current_exception();
  }
}

}  // namespace

// --- creation and destruction --------------------------------------------------------------------

std::shared_ptr<SocketTransport> SocketTransport::create(EventLoop& loop, Socket sock,
                                                         std::shared_ptr<BaseProtocol> protocol, Future<void> waiter,
                                                         std::optional<SocketAddress> peername,
                                                         std::shared_ptr<Server> server) {
  if (!sock.valid()) throw ValueError("SocketTransport: the socket is closed");
  if (sock.type() != SOCK_STREAM) throw ValueError("A Stream Socket was expected, got " + sock.describe());
  detail::TransportTable& table = detail::TransportTable::of(loop);
  auto t = std::make_shared<SocketTransport>(Private{}, loop, table, std::move(sock), peername, std::move(server));
  t->set_protocol(std::move(protocol));
  t->self_ = t;  // the loop's reference, until connection_lost has run
  try {
    t->start(std::move(waiter));
  } catch (...) {
    t->self_.reset();
    throw;
  }
  return t;
}

SocketTransport::SocketTransport(Private, EventLoop& loop, detail::TransportTable& table, Socket sock,
                                 std::optional<SocketAddress> peername, std::shared_ptr<Server> server)
    : loop_(&loop),
      table_(&table),
      read_buffer_(table.read_buffer().data()),
      sock_(std::move(sock)),
      fd_(sock_.fileno()),
      server_(std::move(server)),
      peername_(peername) {
  // Python's base_events._set_nodelay: small writes go out without waiting for an ACK.
  if ((sock_.family() == AF_INET || sock_.family() == AF_INET6) &&
      (sock_.proto() == 0 || sock_.proto() == IPPROTO_TCP)) {
    const int on = 1;
    (void)::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  }
  sockaddr_storage storage{};
  socklen_t len = sizeof storage;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&storage), &len) == 0) {
    sockname_ = SocketAddress::from_raw(reinterpret_cast<const sockaddr*>(&storage), len);
  }
  if (!peername_) {
    len = sizeof storage;
    if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&storage), &len) == 0) {
      peername_ = SocketAddress::from_raw(reinterpret_cast<const sockaddr*>(&storage), len);
    }
  }
  table_->link(*this);
  if (server_) server_->attach(*this);
}

SocketTransport::~SocketTransport() { release_resources(); }

void SocketTransport::start(Future<void> waiter) {
  try {
    loop_->call_soon([this, waiter = std::move(waiter)]() mutable { on_start(waiter); });
  } catch (...) {
    release_resources();
    throw;
  }
}

void SocketTransport::on_start(Future<void>& waiter) {
  started_ = true;
  if (protocol_) {
    try {
      protocol_->connection_made(*this);
    } catch (...) {
      fatal_error(std::current_exception(), "Fatal error: protocol.connection_made() call failed.");
    }
  }
  // Only now: no data_received before connection_made (Python schedules _add_reader after it).
  if (is_reading() && !eof_seen_) {
    try {
      add_reader();
    } catch (...) {
      fatal_error(std::current_exception(), "Fatal error on transport: add_reader() failed");
    }
  }
  if (waiter && !waiter.done()) waiter.set_result();  // futures._set_result_unless_cancelled
}

// --- protocol ------------------------------------------------------------------------------------

void SocketTransport::set_protocol(std::shared_ptr<BaseProtocol> protocol) {
  auto* buffered = dynamic_cast<BufferedProtocol*>(protocol.get());
  auto* stream = buffered != nullptr ? nullptr : dynamic_cast<Protocol*>(protocol.get());
  if (buffered == nullptr && stream == nullptr) {
    throw TypeError("SocketTransport: the protocol must be a Protocol or a BufferedProtocol");
  }
  // The old protocol may be running the call that replaces it: it is released with the next
  // replacement or at connection_lost, never under its own feet.
  retired_protocol_ = std::move(protocol_);
  protocol_ = std::move(protocol);
  stream_protocol_ = stream;
  buffered_protocol_ = buffered;
}

// --- reading -------------------------------------------------------------------------------------

void SocketTransport::add_reader() {
  if (reader_on_) return;
  loop_->add_reader(fd_, [this] { read_ready(); });
  reader_on_ = true;
}

void SocketTransport::remove_reader() noexcept {
  if (!reader_on_) return;
  reader_on_ = false;
  if (loop_ == nullptr) return;
  try {
    loop_->remove_reader(fd_);
  } catch (...) {  // the backend refused to unwatch: the descriptor is closed soon anyway
  }
}

void SocketTransport::read_ready() {
  if (conn_lost_ != 0) [[unlikely]]
    return;
  if (buffered_protocol_ != nullptr) {
    read_ready_buffered();
    return;
  }
  char* const buffer = read_buffer_;
  const ssize_t n = raw_recv(fd_, buffer, kReadSize);
  if (n <= 0) [[unlikely]] {
    if (n == 0) {
      on_eof();
    } else {
      read_failed(errno);
    }
    return;
  }
  try {
    stream_protocol_->data_received(std::string_view(buffer, static_cast<std::size_t>(n)));
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error: protocol.data_received() call failed.");
  }
}

void SocketTransport::read_failed(int err) {
  if (would_block(err)) return;
  fatal_error(os_error_ptr(err, "recv(" + sock_.describe() + ")"), "Fatal read error on socket transport");
}

void SocketTransport::read_ready_buffered() {
  std::span<char> buffer;
  try {
    buffer = buffered_protocol_->get_buffer(kReadSize);
    if (buffer.empty()) throw RuntimeError("get_buffer() returned an empty buffer");
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error: protocol.get_buffer() call failed.");
    return;
  }
  const ssize_t n = raw_recv(fd_, buffer.data(), buffer.size());
  if (n <= 0) {
    if (n == 0) {
      on_eof();
    } else {
      read_failed(errno);
    }
    return;
  }
  try {
    buffered_protocol_->buffer_updated(static_cast<std::size_t>(n));
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error: protocol.buffer_updated() call failed.");
  }
}

void SocketTransport::on_eof() {
  eof_seen_ = true;
  if (loop_->get_debug()) log(LogLevel::debug, describe() + " received EOF");
  bool keep_open = false;
  try {
    keep_open = buffered_protocol_ != nullptr ? buffered_protocol_->eof_received() : stream_protocol_->eof_received();
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error: protocol.eof_received() call failed.");
    return;
  }
  if (keep_open) {
    // Half-open: the protocol may still write, but nothing more can be read.
    remove_reader();
  } else {
    begin_close();
  }
}

void SocketTransport::pause_reading() {
  if (!is_reading()) return;
  paused_ = true;
  remove_reader();
  if (loop_ != nullptr && loop_->get_debug()) log(LogLevel::debug, describe() + " pauses reading");
}

void SocketTransport::resume_reading() {
  if (closing_ || !paused_) return;
  paused_ = false;
  // Before connection_made, on_start adds the reader; after the peer's EOF there is nothing to read.
  if (started_ && !eof_seen_) add_reader();
  if (loop_ != nullptr && loop_->get_debug()) log(LogLevel::debug, describe() + " resumes reading");
}

// --- writing -------------------------------------------------------------------------------------

void SocketTransport::throw_not_writable(const char* what) const {
  if (eof_) throw RuntimeError(std::string("Cannot call ") + what + " after write_eof()");
  throw RuntimeError(std::string("Cannot call ") + what + " after close() or abort()");
}

void SocketTransport::drop_write() {
  if (conn_lost_ >= kLogThresholdForConnLostWrites) log(LogLevel::warning, "socket.send() raised exception.");
  ++conn_lost_;
}

void SocketTransport::append(std::string_view data) {
  if (woff_ != 0 && woff_ >= wbuf_.size() / 2) {
    // Compact: what was sent is at least half, so each byte moves at most once on average.
    wbuf_.erase(0, woff_);
    woff_ = 0;
  }
  wbuf_.append(data);
}

void SocketTransport::consume(std::size_t n) noexcept {
  woff_ += n;
  if (woff_ == wbuf_.size()) {
    if (wbuf_.capacity() > kKeptWriteCapacity) {
      std::string().swap(wbuf_);
    } else {
      wbuf_.clear();
    }
    woff_ = 0;
  }
}

void SocketTransport::write(std::string_view data) {
  if (eof_ || user_closed_) [[unlikely]]
    throw_not_writable("write()");
  if (data.empty()) return;
  if (conn_lost_ != 0) [[unlikely]] {
    drop_write();
    return;
  }
  if (woff_ != wbuf_.size()) {
    append(data);  // behind what is queued; the writer is registered
    maybe_pause_protocol();
    return;
  }
  // Nothing queued: send now. The common case sends everything and buffers nothing.
  const ssize_t n = raw_send(fd_, data.data(), data.size());
  if (static_cast<std::size_t>(n) == data.size()) [[likely]]
    return;
  write_rest(data, n < 0 ? errno : 0, n < 0 ? 0 : static_cast<std::size_t>(n));
}

void SocketTransport::write_rest(std::string_view data, int err, std::size_t sent) {
  if (err != 0 && !would_block(err)) {
    fatal_error(os_error_ptr(err, "send(" + sock_.describe() + ")"), "Fatal write error on socket transport");
    return;
  }
  append(data.substr(sent));
  try {
    add_writer();
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error on transport: add_writer() failed");
    return;
  }
  maybe_pause_protocol();
}

void SocketTransport::writelines(std::span<const std::string_view> data) {
  if (eof_ || user_closed_) throw_not_writable("writelines()");
  std::size_t total = 0;
  for (std::string_view piece : data) total += piece.size();
  if (total == 0) return;
  if (conn_lost_ != 0) {
    drop_write();
    return;
  }
  std::size_t first = 0;   // pieces before it were sent whole
  std::size_t offset = 0;  // bytes of data[first] already sent
  if (woff_ == wbuf_.size()) {
    // One sendmsg of (up to 64 of) the pieces, as Python's _write_sendmsg.
    iovec iov[64];
    std::size_t count = 0;
    for (std::size_t i = 0; i < data.size() && count < 64; ++i) {
      if (data[i].empty()) continue;
      iov[count].iov_base = const_cast<char*>(data[i].data());
      iov[count].iov_len = data[i].size();
      ++count;
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = count;
    const ssize_t sent = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (sent < 0) {
      const int err = errno;
      if (!would_block(err)) {
        fatal_error(os_error_ptr(err, "sendmsg(" + sock_.describe() + ")"), "Fatal write error on socket transport");
        return;
      }
    } else {
      auto left = static_cast<std::size_t>(sent);
      while (first < data.size() && left >= data[first].size()) {
        left -= data[first].size();
        ++first;
      }
      offset = left;
      if (first == data.size()) return;
    }
  }
  const bool was_empty = woff_ == wbuf_.size();
  for (std::size_t i = first; i < data.size(); ++i) append(i == first ? data[i].substr(offset) : data[i]);
  if (was_empty) {
    try {
      add_writer();
    } catch (...) {
      fatal_error(std::current_exception(), "Fatal error on transport: add_writer() failed");
      return;
    }
  }
  maybe_pause_protocol();
}

void SocketTransport::add_writer() {
  if (writer_on_) return;
  loop_->add_writer(fd_, [this] { write_ready(); });
  writer_on_ = true;
}

void SocketTransport::remove_writer() noexcept {
  if (!writer_on_) return;
  writer_on_ = false;
  if (loop_ == nullptr) return;
  try {
    loop_->remove_writer(fd_);
  } catch (...) {  // the backend refused to unwatch: the descriptor is closed soon anyway
  }
}

void SocketTransport::write_ready() {
  if (conn_lost_ != 0) return;
  const ssize_t n = raw_send(fd_, wbuf_.data() + woff_, wbuf_.size() - woff_);
  if (n < 0) {
    const int err = errno;
    if (!would_block(err)) {
      remove_writer();
      consume(wbuf_.size() - woff_);
      fatal_error(os_error_ptr(err, "send(" + sock_.describe() + ")"), "Fatal write error on socket transport");
      return;
    }
  } else {
    consume(static_cast<std::size_t>(n));
  }
  maybe_resume_protocol();  // may write more, or close or abort
  if (conn_lost_ != 0 || woff_ != wbuf_.size()) return;
  remove_writer();
  if (closing_) {
    // close() waited for this flush. (Python calls _call_connection_lost here directly too.)
    call_connection_lost(nullptr);  // may destroy *this: nothing after it
    return;
  }
  if (eof_) {
    try {
      sock_.shutdown(SHUT_WR);
    } catch (...) {
      fatal_error(std::current_exception(), "Fatal error on transport: shutdown(SHUT_WR) failed");
    }
  }
}

void SocketTransport::write_eof() {
  if (closing_ || eof_) return;
  eof_ = true;
  if (woff_ == wbuf_.size()) sock_.shutdown(SHUT_WR);
}

// --- flow control (_FlowControlMixin) ------------------------------------------------------------

void SocketTransport::maybe_pause_protocol() {
  if (get_write_buffer_size() <= high_) return;
  if (protocol_paused_ || !protocol_) return;
  protocol_paused_ = true;
  try {
    protocol_->pause_writing();
  } catch (...) {
    report("protocol.pause_writing() failed", std::current_exception());
  }
}

void SocketTransport::maybe_resume_protocol() {
  if (!protocol_paused_ || get_write_buffer_size() > low_) return;
  protocol_paused_ = false;
  if (!protocol_) return;
  try {
    protocol_->resume_writing();
  } catch (...) {
    report("protocol.resume_writing() failed", std::current_exception());
  }
}

void SocketTransport::set_write_buffer_limits(std::size_t high, std::size_t low) {
  if (low > high) {
    throw ValueError("high (" + std::to_string(high) + ") must be >= low (" + std::to_string(low) + ") must be >= 0");
  }
  high_ = high;
  low_ = low;
  maybe_pause_protocol();
}

// --- closing -------------------------------------------------------------------------------------

void SocketTransport::close() {
  user_closed_ = true;
  begin_close();
}

void SocketTransport::begin_close() {
  if (closing_) return;
  closing_ = true;
  remove_reader();
  if (woff_ == wbuf_.size()) {
    ++conn_lost_;
    remove_writer();
    schedule_connection_lost(nullptr);
  }
}

void SocketTransport::abort() {
  user_closed_ = true;
  force_close(nullptr);
}

void SocketTransport::fatal_error(std::exception_ptr error, const char* message) {
  if (!is_os_error(error)) {
    report(message, error);
  } else if (loop_ != nullptr && loop_->get_debug()) {
    log(LogLevel::debug, describe() + ": " + message + ": " + detail::describe_exception(error));
  }
  force_close(std::move(error));
}

void SocketTransport::force_close(std::exception_ptr error) {
  if (conn_lost_ != 0) return;
  if (woff_ != wbuf_.size()) {
    consume(wbuf_.size() - woff_);
    remove_writer();
  }
  if (!closing_) {
    closing_ = true;
    remove_reader();
  }
  ++conn_lost_;
  schedule_connection_lost(std::move(error));
}

void SocketTransport::schedule_connection_lost(std::exception_ptr error) {
  // A closed loop runs nothing: its table abandons this transport instead.
  if (loop_ == nullptr || loop_->is_closed()) return;
  loop_->call_soon([this, error = std::move(error)]() mutable { call_connection_lost(std::move(error)); });
}

void SocketTransport::call_connection_lost(std::exception_ptr error) {
  if (conn_lost_ == 0) conn_lost_ = 1;
  closing_ = true;
  // The loop's reference goes last (it may be the only one): nothing touches *this after it.
  const std::shared_ptr<SocketTransport> keep = std::move(self_);
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
  buffered_protocol_ = nullptr;
  release_resources();
}

void SocketTransport::release_resources() noexcept {
  // Unwatch before closing: the loop must never hold a callback for a descriptor number that the
  // kernel may give to someone else.
  remove_reader();
  remove_writer();
  sock_.close();
  if (table_ != nullptr) std::exchange(table_, nullptr)->unlink(*this);
  if (server_) {
    const std::shared_ptr<Server> server = std::move(server_);
    server->detach(*this);
  }
}

void SocketTransport::abandon() noexcept {
  // The loop is closing (its callbacks are already gone) and will run nothing more.
  const std::shared_ptr<SocketTransport> keep = std::move(self_);
  loop_ = nullptr;
  reader_on_ = false;
  writer_on_ = false;
  closing_ = true;
  if (conn_lost_ == 0) conn_lost_ = 1;
  consume(wbuf_.size() - woff_);
  release_resources();
  const std::shared_ptr<BaseProtocol> protocol = std::move(protocol_);
  const std::shared_ptr<BaseProtocol> retired = std::move(retired_protocol_);
  stream_protocol_ = nullptr;
  buffered_protocol_ = nullptr;
}

void SocketTransport::report(const char* message, std::exception_ptr error) noexcept {
  if (loop_ == nullptr) return;
  try {
    loop_->call_exception_handler(ExceptionContext{message, std::move(error), {}, describe()});
  } catch (...) {  // call_exception_handler does not throw; building the context might (memory)
  }
}

// --- information ---------------------------------------------------------------------------------

std::any SocketTransport::get_extra_info(std::string_view name) const {
  if (name == "peername") return peername_ ? std::any(*peername_) : std::any();
  if (name == "sockname") return sockname_ ? std::any(*sockname_) : std::any();
  if (name == "socket") return std::any(static_cast<const Socket*>(&sock_));
  return {};
}

std::string SocketTransport::describe() const {
  std::string text = "<SocketTransport";
  if (!sock_.valid()) {
    text += " closed";
  } else if (closing_) {
    text += " closing";
  }
  text += " fd=" + std::to_string(fd_);
  if (loop_ != nullptr && !loop_->is_closed()) {
    text += reader_on_ ? " read=polling" : " read=idle";
    text += std::string(" write=<") + (writer_on_ ? "polling" : "idle") +
            ", bufsize=" + std::to_string(get_write_buffer_size()) + ">";
  }
  return text + ">";
}

}  // namespace asyncio
