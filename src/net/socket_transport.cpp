// SocketTransport: CPython 3.13 selector_events.py's _SelectorSocketTransport, on
// detail::FdTransport (net/fd_transport.hpp: _SelectorTransport and _FlowControlMixin). The hot path
// (read_ready -> data_received -> write) allocates nothing: the reader's callback node stays with
// the loop, the read buffer is the loop's, and a write the kernel takes whole never touches the
// write buffer.

#include "asyncio/net/socket_transport.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

#include "asyncio/exceptions.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/loop/logger.hpp"
#include "asyncio/net/server.hpp"

namespace asyncio {

namespace {

using detail::os_error_ptr;
using detail::would_block;

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

constexpr const char* kDroppedWriteWarning = "socket.send() raised exception.";
constexpr const char* kWriteError = "Fatal write error on socket transport";
constexpr const char* kAddWriterFailed = "Fatal error on transport: add_writer() failed";

}  // namespace

// --- creation and destruction --------------------------------------------------------------------

std::shared_ptr<SocketTransport> SocketTransport::create(EventLoop& loop, Socket sock,
                                                         std::shared_ptr<BaseProtocol> protocol, Future<void> waiter,
                                                         std::optional<SocketAddress> peername,
                                                         std::shared_ptr<Server> server) {
  if (!sock.valid()) throw ValueError("SocketTransport: the socket is closed");
  if (sock.type() != SOCK_STREAM) throw ValueError("A Stream Socket was expected, got " + sock.describe());
  detail::TransportTable& table = detail::TransportTable::of(loop);
  return launch(std::make_shared<SocketTransport>(Private{}, loop, table, std::move(sock), peername, std::move(server)),
                std::move(protocol), std::move(waiter));
}

SocketTransport::SocketTransport(Private, EventLoop& loop, detail::TransportTable& table, Socket sock,
                                 std::optional<SocketAddress> peername, std::shared_ptr<Server> server)
    : Base(loop, table, sock.fileno()),
      read_buffer_(table.read_buffer().data()),
      sock_(std::move(sock)),
      server_(std::move(server)),
      peername_(peername) {
  // Python's base_events._set_nodelay: small writes go out without waiting for an ACK.
  if ((sock_.family() == AF_INET || sock_.family() == AF_INET6) &&
      (sock_.proto() == 0 || sock_.proto() == IPPROTO_TCP)) {
    const int on = 1;
    (void)::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  }
  sockname_ = detail::query_sockname(fd_);
  if (!peername_) peername_ = detail::query_peername(fd_);
  if (server_) server_->attach(*this);
}

SocketTransport::~SocketTransport() { release_resources(); }

void SocketTransport::start_watching() {
  // Only now: no data_received before connection_made (Python schedules _add_reader after it).
  if (is_reading() && !eof_seen_) add_reader_or_fail("Fatal error on transport: add_reader() failed");
}

void SocketTransport::release_resources() noexcept {
  Base::release_resources();
  if (empty_waiter_ && !empty_waiter_.done() && loop_usable()) {
    try {
      empty_waiter_.set_exception(ConnectionError(ECONNRESET, "sendfile(the connection was closed)"));
    } catch (...) {  // the waiting sendfile then ends with the socket's own error
    }
  }
  if (server_) {
    const std::shared_ptr<Server> server = std::move(server_);
    server->detach(*this);
  }
}

// --- protocol ------------------------------------------------------------------------------------

void SocketTransport::set_protocol(std::shared_ptr<BaseProtocol> protocol) {
  auto* buffered = dynamic_cast<BufferedProtocol*>(protocol.get());
  auto* stream = buffered != nullptr ? nullptr : dynamic_cast<Protocol*>(protocol.get());
  if (buffered == nullptr && stream == nullptr) {
    throw TypeError("SocketTransport: the protocol must be a Protocol or a BufferedProtocol");
  }
  replace_protocol(std::move(protocol));
  stream_protocol_ = stream;
  buffered_protocol_ = buffered;
}

void SocketTransport::clear_protocol_views() noexcept {
  stream_protocol_ = nullptr;
  buffered_protocol_ = nullptr;
}

// --- reading -------------------------------------------------------------------------------------

void SocketTransport::read_ready() {
  if (lost_) [[unlikely]]
    return;
  if (buffered_protocol_ != nullptr) {
    read_ready_buffered();
    return;
  }
  char* const buffer = read_buffer_;
  const ssize_t n = raw_recv(fd_, buffer, kReadSize);
  if (n <= 0) [[unlikely]] {
    read_ended(n);
    return;
  }
  try {
    stream_protocol_->data_received(std::string_view(buffer, static_cast<std::size_t>(n)));
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error: protocol.data_received() call failed.");
  }
}

void SocketTransport::read_ended(ssize_t n) {
  if (n == 0) {
    on_eof();
    return;
  }
  const int err = errno;
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
    read_ended(n);
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
    close_when_flushed();
  }
}

void SocketTransport::watch_reads_again() {
  // After the peer's EOF there is nothing to read. (An add_reader failure reaches the caller.)
  if (!eof_seen_) add_reader();
}

// --- writing -------------------------------------------------------------------------------------

void SocketTransport::throw_not_writable(const char* what) const {
  throw RuntimeError(std::string("Cannot call ") + what + " after write_eof()");
}

void SocketTransport::throw_sendfile_in_progress() const {
  throw RuntimeError("unable to write; sendfile is in progress on " + describe() +
                     " (await loop.sendfile() before writing again)");
}

void SocketTransport::write(std::string_view data) {
  // After close(), as CPython: queued behind what is still buffered (close() waits for it), or
  // dropped if nothing was (the connection then counts as lost); after abort(), dropped.
  if (eof_) [[unlikely]]
    throw_not_writable("write()");
  if (empty_waiter_) [[unlikely]]
    throw_sendfile_in_progress();
  if (data.empty()) return;
  if (lost_) [[unlikely]] {
    drop_write(kDroppedWriteWarning);
    return;
  }
  if (!wbuf_.empty()) {
    wbuf_.append(data);  // behind what is queued; the writer is registered
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
    fatal_error(os_error_ptr(err, "send(" + sock_.describe() + ")"), kWriteError);
    return;
  }
  wbuf_.append(data.substr(sent));
  if (!add_writer_or_fail(kAddWriterFailed)) return;
  maybe_pause_protocol();
}

void SocketTransport::writelines(std::span<const std::string_view> data) {
  if (eof_) throw_not_writable("writelines()");
  if (empty_waiter_) throw_sendfile_in_progress();
  std::size_t total = 0;
  for (std::string_view piece : data) total += piece.size();
  if (total == 0) return;
  if (lost_) {
    drop_write(kDroppedWriteWarning);
    return;
  }
  std::size_t first = 0;   // pieces before it were sent whole
  std::size_t offset = 0;  // bytes of data[first] already sent
  if (wbuf_.empty()) {
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
        fatal_error(os_error_ptr(err, "sendmsg(" + sock_.describe() + ")"), kWriteError);
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
  const bool was_empty = wbuf_.empty();
  for (std::size_t i = first; i < data.size(); ++i) wbuf_.append(i == first ? data[i].substr(offset) : data[i]);
  if (was_empty && !add_writer_or_fail(kAddWriterFailed)) return;
  maybe_pause_protocol();
}

void SocketTransport::write_ready() {
  if (lost_) return;
  const ssize_t n = raw_send(fd_, wbuf_.data(), wbuf_.size());
  if (n < 0) {
    const int err = errno;
    if (!would_block(err)) {
      remove_writer();
      wbuf_.clear();
      fatal_error(os_error_ptr(err, "send(" + sock_.describe() + ")"), kWriteError);
      return;
    }
  } else {
    wbuf_.consume(static_cast<std::size_t>(n));
  }
  maybe_resume_protocol();  // may write more, or close or abort
  if (lost_ || !wbuf_.empty()) return;
  remove_writer();
  if (empty_waiter_ && !empty_waiter_.done()) empty_waiter_.set_result();
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
  if (wbuf_.empty()) sock_.shutdown(SHUT_WR);
}

// --- closing -------------------------------------------------------------------------------------

void SocketTransport::close() { close_when_flushed(); }

void SocketTransport::abort() { force_close(nullptr); }

// --- information ---------------------------------------------------------------------------------

std::any SocketTransport::get_extra_info(std::string_view name) const {
  return detail::socket_extra_info(name, sock_, peername_, sockname_);
}

std::string SocketTransport::describe() const { return describe_socket("SocketTransport", !sock_.valid()); }

}  // namespace asyncio
