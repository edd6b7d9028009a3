// DatagramSocketTransport and create_datagram_endpoint: CPython 3.13 selector_events.py
// (_SelectorTransport, _SelectorDatagramTransport), transports.py (_FlowControlMixin) and
// base_events.py (create_datagram_endpoint), on EventLoop::add_reader / add_writer.

#include "asyncio/net/datagram_transport.hpp"

#include <sys/socket.h>
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
#include "asyncio/net/sock_ops.hpp"
#include "asyncio/os_error.hpp"

namespace asyncio {

namespace {

/// Python's constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES.
constexpr std::uint32_t kLogThresholdForConnLostWrites = 5;
/// What a queued datagram counts beyond its bytes (CPython's "include header bytes").
constexpr std::size_t kDatagramOverhead = 8;

bool would_block(int err) noexcept { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

bool is_os_error(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const OSError&) {
    return true;
  } catch (...) {
    return false;
  }
}

std::exception_ptr os_error_ptr(int err, const std::string& operation) {
  try {
    throw_os_error(err, operation);
  } catch (...) {
    return std::current_exception();
  }
}

const char* family_name(int family) {
  switch (family) {
    case AF_INET:
      return "AF_INET";
    case AF_INET6:
      return "AF_INET6";
    case AF_UNIX:
      return "AF_UNIX";
    default:
      return "AF_UNSPEC";
  }
}

}  // namespace

// --- creation and destruction --------------------------------------------------------------------

std::shared_ptr<DatagramSocketTransport> DatagramSocketTransport::create(EventLoop& loop, Socket sock,
                                                                         std::shared_ptr<BaseProtocol> protocol,
                                                                         std::optional<SocketAddress> address,
                                                                         Future<void> waiter) {
  detail::check_datagram_socket(sock);
  detail::TransportTable& table = detail::TransportTable::of(loop);
  auto t = std::make_shared<DatagramSocketTransport>(Private{}, loop, table, std::move(sock), address);
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

DatagramSocketTransport::DatagramSocketTransport(Private, EventLoop& loop, detail::TransportTable& table, Socket sock,
                                                 std::optional<SocketAddress> address)
    : loop_(&loop), table_(&table), sock_(std::move(sock)), fd_(sock_.fileno()), address_(address) {
  sockaddr_storage storage{};
  socklen_t len = sizeof storage;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&storage), &len) == 0) {
    sockname_ = SocketAddress::from_raw(reinterpret_cast<const sockaddr*>(&storage), len);
  }
  len = sizeof storage;
  if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&storage), &len) == 0) {
    peername_ = SocketAddress::from_raw(reinterpret_cast<const sockaddr*>(&storage), len);
  }
  table_->link(*this);
}

DatagramSocketTransport::~DatagramSocketTransport() { release_resources(); }

void DatagramSocketTransport::start(Future<void> waiter) {
  try {
    loop_->call_soon([this, waiter = std::move(waiter)]() mutable { on_start(waiter); });
  } catch (...) {
    release_resources();
    throw;
  }
}

void DatagramSocketTransport::on_start(Future<void>& waiter) {
  if (protocol_) {
    try {
      protocol_->connection_made(*this);
    } catch (...) {
      fatal_error(std::current_exception(), "Fatal error: protocol.connection_made() call failed.");
    }
  }
  // Only now: no datagram_received before connection_made (Python schedules _add_reader after it).
  if (!closing_ && !reader_on_) {
    try {
      loop_->add_reader(fd_, [this] { read_ready(); });
      reader_on_ = true;
    } catch (...) {
      fatal_error(std::current_exception(), "Fatal error on transport: add_reader() failed");
    }
  }
  if (waiter && !waiter.done()) waiter.set_result();  // futures._set_result_unless_cancelled
}

void DatagramSocketTransport::set_protocol(std::shared_ptr<BaseProtocol> protocol) {
  auto* datagram = dynamic_cast<DatagramProtocol*>(protocol.get());
  if (datagram == nullptr) throw TypeError("DatagramSocketTransport: the protocol must be a DatagramProtocol");
  // The old protocol may be running the call that replaces it: released with the next replacement
  // or at connection_lost, never under its own feet.
  retired_protocol_ = std::move(protocol_);
  protocol_ = std::move(protocol);
  datagram_protocol_ = datagram;
}

// --- receiving -----------------------------------------------------------------------------------

void DatagramSocketTransport::read_ready() {
  if (conn_lost_ != 0) return;
  const std::span<char> buffer = table_->read_buffer();
  sockaddr_storage from{};
  socklen_t from_len = sizeof from;
  // A bare system call, as SocketTransport's recv (glibc's wrapper is a cancellation point).
  const ssize_t n =
      ::syscall(SYS_recvfrom, fd_, buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
  if (n < 0) {
    const int err = errno;
    if (!would_block(err)) report_error_received(err, std::nullopt);
    return;
  }
  // Linux gives no address at all for an unnamed Unix sender (an unbound socket, a socketpair's
  // end; Python: None): it is reported as the unnamed AF_UNIX address (path "").
  if (from_len == 0 && sock_.family() == AF_UNIX) {
    from.ss_family = AF_UNIX;
    from_len = sizeof(sa_family_t);
  }
  const SocketAddress sender =
      from_len > 0 ? SocketAddress::from_raw(reinterpret_cast<const sockaddr*>(&from), from_len) : SocketAddress();
  try {
    datagram_protocol_->datagram_received(std::string_view(buffer.data(), static_cast<std::size_t>(n)), sender);
  } catch (...) {
    report("protocol.datagram_received() call failed.", std::current_exception());
  }
}

void DatagramSocketTransport::report_error_received(int err, const std::optional<SocketAddress>& address) {
  std::string operation;
  if (address) {
    operation = "sendto(" + sock_.describe() + " -> " + address->to_string() + ")";
  } else if (peername_) {
    operation = "send/recv(" + sock_.describe() + ")";
  } else {
    operation = "recvfrom(" + sock_.describe() + ")";
  }
  std::exception_ptr error = os_error_ptr(err, operation);
  try {
    datagram_protocol_->error_received(std::move(error));
  } catch (...) {
    report("protocol.error_received() call failed.", std::current_exception());
  }
}

// --- sending -------------------------------------------------------------------------------------

int DatagramSocketTransport::send_one(std::string_view data, const std::optional<SocketAddress>& address) noexcept {
  ssize_t n;
  if (peername_ || !address) {
    n = ::syscall(SYS_sendto, fd_, data.data(), data.size(), MSG_NOSIGNAL, nullptr, 0);
  } else {
    n = ::syscall(SYS_sendto, fd_, data.data(), data.size(), MSG_NOSIGNAL, address->data(),
                  static_cast<socklen_t>(address->size()));
  }
  return n < 0 ? errno : 0;
}

void DatagramSocketTransport::sendto(std::string_view data, const std::optional<SocketAddress>& address) {
  if (user_closed_) throw RuntimeError("Cannot call sendto() after close() or abort()");
  if (address_ && address && !(*address == *address_)) {
    throw ValueError("Invalid address: must be None or " + address_->to_string());
  }
  const std::optional<SocketAddress>& destination = address_ ? address_ : address;
  if (!destination && !peername_) {
    throw ValueError("sendto(): an address is required: the endpoint has no remote address");
  }
  if (conn_lost_ != 0) {
    if (conn_lost_ >= kLogThresholdForConnLostWrites) log(LogLevel::warning, "socket.send() raised exception.");
    ++conn_lost_;
    return;
  }
  if (queue_.empty()) {
    // Nothing queued: try to send it right away.
    const int err = send_one(data, destination);
    if (err == 0) return;
    if (!would_block(err)) {
      report_error_received(err, destination);
      return;
    }
    add_writer();
    if (!writer_on_) return;  // add_writer failed: the transport is being lost
  }
  queue_.push_back(Datagram{std::string(data), destination});
  queued_bytes_ += data.size() + kDatagramOverhead;
  maybe_pause_protocol();
}

void DatagramSocketTransport::sendto_ready() {
  if (conn_lost_ != 0) return;
  while (!queue_.empty()) {
    Datagram& front = queue_.front();
    const int err = send_one(front.data, front.address);
    if (err != 0 && would_block(err)) break;  // try again when writable
    const std::optional<SocketAddress> address = front.address;
    queued_bytes_ -= front.data.size() + kDatagramOverhead;
    queue_.pop_front();
    if (err != 0) {
      // As CPython: report, and leave the rest for the next writability.
      report_error_received(err, address);
      if (conn_lost_ != 0) return;  // error_received aborted
      break;
    }
  }
  maybe_resume_protocol();  // may queue more, or close or abort
  if (conn_lost_ != 0 || !queue_.empty()) return;
  remove_writer();
  if (closing_) {
    // close() waited for this flush.
    ++conn_lost_;
    call_connection_lost(nullptr);  // may destroy *this: nothing after it
  }
}

void DatagramSocketTransport::add_writer() {
  if (writer_on_) return;
  try {
    loop_->add_writer(fd_, [this] { sendto_ready(); });
    writer_on_ = true;
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error on transport: add_writer() failed");
  }
}

void DatagramSocketTransport::remove_reader() noexcept {
  if (!reader_on_) return;
  reader_on_ = false;
  if (loop_ == nullptr) return;
  try {
    loop_->remove_reader(fd_);
  } catch (...) {  // only debug mode's wrong-thread check throws; the descriptor is closed soon
  }
}

void DatagramSocketTransport::remove_writer() noexcept {
  if (!writer_on_) return;
  writer_on_ = false;
  if (loop_ == nullptr) return;
  try {
    loop_->remove_writer(fd_);
  } catch (...) {  // as remove_reader
  }
}

void DatagramSocketTransport::clear_queue() noexcept {
  queue_.clear();
  queued_bytes_ = 0;
}

// --- flow control (_FlowControlMixin) ------------------------------------------------------------

void DatagramSocketTransport::maybe_pause_protocol() {
  if (queued_bytes_ <= high_) return;
  if (protocol_paused_ || !protocol_) return;
  protocol_paused_ = true;
  try {
    protocol_->pause_writing();
  } catch (...) {
    report("protocol.pause_writing() failed", std::current_exception());
  }
}

void DatagramSocketTransport::maybe_resume_protocol() {
  if (!protocol_paused_ || queued_bytes_ > low_) return;
  protocol_paused_ = false;
  if (!protocol_) return;
  try {
    protocol_->resume_writing();
  } catch (...) {
    report("protocol.resume_writing() failed", std::current_exception());
  }
}

void DatagramSocketTransport::set_write_buffer_limits(std::size_t high, std::size_t low) {
  if (low > high) {
    throw ValueError("high (" + std::to_string(high) + ") must be >= low (" + std::to_string(low) + ") must be >= 0");
  }
  high_ = high;
  low_ = low;
  maybe_pause_protocol();
}

// --- closing -------------------------------------------------------------------------------------

void DatagramSocketTransport::close() {
  user_closed_ = true;
  if (closing_) return;
  closing_ = true;
  remove_reader();
  if (queue_.empty()) {
    ++conn_lost_;
    remove_writer();
    schedule_connection_lost(nullptr);
  }
}

void DatagramSocketTransport::abort() {
  user_closed_ = true;
  force_close(nullptr);
}

void DatagramSocketTransport::fatal_error(std::exception_ptr error, const char* message) {
  if (!is_os_error(error)) {
    report(message, error);
  } else if (loop_ != nullptr && loop_->get_debug()) {
    log(LogLevel::debug, describe() + ": " + message + ": " + detail::describe_exception(error));
  }
  force_close(std::move(error));
}

void DatagramSocketTransport::force_close(std::exception_ptr error) {
  if (conn_lost_ != 0) return;
  if (!queue_.empty()) {
    clear_queue();
    remove_writer();
  }
  if (!closing_) {
    closing_ = true;
    remove_reader();
  }
  ++conn_lost_;
  schedule_connection_lost(std::move(error));
}

void DatagramSocketTransport::schedule_connection_lost(std::exception_ptr error) {
  // A closed loop runs nothing: its table abandons this transport instead.
  if (loop_ == nullptr || loop_->is_closed()) return;
  loop_->call_soon([this, error = std::move(error)]() mutable { call_connection_lost(std::move(error)); });
}

void DatagramSocketTransport::call_connection_lost(std::exception_ptr error) {
  if (conn_lost_ == 0) conn_lost_ = 1;
  closing_ = true;
  // The loop's reference goes last (it may be the only one): nothing touches *this after it.
  const std::shared_ptr<DatagramSocketTransport> keep = std::move(self_);
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
  datagram_protocol_ = nullptr;
  release_resources();
}

void DatagramSocketTransport::release_resources() noexcept {
  // Unwatch before closing: the loop must never hold a callback for a descriptor number that the
  // kernel may give to someone else.
  remove_reader();
  remove_writer();
  clear_queue();
  sock_.close();
  if (table_ != nullptr) std::exchange(table_, nullptr)->unlink(*this);
}

void DatagramSocketTransport::abandon() noexcept {
  // The loop is closing (its callbacks are already gone) and will run nothing more.
  const std::shared_ptr<DatagramSocketTransport> keep = std::move(self_);
  loop_ = nullptr;
  reader_on_ = false;
  writer_on_ = false;
  closing_ = true;
  if (conn_lost_ == 0) conn_lost_ = 1;
  release_resources();
  const std::shared_ptr<BaseProtocol> protocol = std::move(protocol_);
  const std::shared_ptr<BaseProtocol> retired = std::move(retired_protocol_);
  datagram_protocol_ = nullptr;
}

void DatagramSocketTransport::report(const char* message, std::exception_ptr error) noexcept {
  if (loop_ == nullptr) return;
  try {
    loop_->call_exception_handler(ExceptionContext{message, std::move(error), {}, describe()});
  } catch (...) {  // building the context may fail (memory)
  }
}

// --- information ---------------------------------------------------------------------------------

std::any DatagramSocketTransport::get_extra_info(std::string_view name) const {
  if (name == "peername") return peername_ ? std::any(*peername_) : std::any();
  if (name == "sockname") return sockname_ ? std::any(*sockname_) : std::any();
  if (name == "socket") return std::any(static_cast<const Socket*>(&sock_));
  return {};
}

std::string DatagramSocketTransport::describe() const {
  std::string text = "<DatagramSocketTransport";
  if (!sock_.valid()) {
    text += " closed";
  } else if (closing_) {
    text += " closing";
  }
  text += " fd=" + std::to_string(fd_);
  if (loop_ != nullptr && !loop_->is_closed()) {
    text += reader_on_ ? " read=polling" : " read=idle";
    text += std::string(" write=<") + (writer_on_ ? "polling" : "idle") + ", bufsize=" + std::to_string(queued_bytes_) +
            ">";
  }
  return text + ">";
}

// --- create_datagram_endpoint --------------------------------------------------------------------

namespace detail {

void check_datagram_socket(const Socket& sock) {
  if (!sock.valid()) throw ValueError("create_datagram_endpoint: the socket is closed");
  if (sock.type() != SOCK_DGRAM) {
    throw ValueError("create_datagram_endpoint: A UDP Socket was expected, got " + sock.describe());
  }
}

Coro<std::pair<Socket, std::optional<SocketAddress>>> open_datagram_socket(DatagramOptions options) {
  int family = options.family;
  if (!options.local_addr && !options.remote_addr) {
    if (family == AF_UNSPEC) throw ValueError("create_datagram_endpoint: unexpected address family");
  } else {
    // The addresses decide the family; they and `family` must agree (Python: no (family, proto)
    // pair common to both addresses).
    for (const std::optional<SocketAddress>* addr : {&options.local_addr, &options.remote_addr}) {
      if (!*addr) continue;
      const int f = (*addr)->family();
      if (family != AF_UNSPEC && f != family) {
        throw ValueError(std::string("create_datagram_endpoint: can not get address information (") +
                         (*addr)->to_string() + " is not " + family_name(family) + ")");
      }
      family = f;
    }
  }
  if (family == AF_UNIX && options.local_addr && !options.local_addr->is_abstract()) {
    // Python removes a stale socket file at the path before binding (and only a socket file).
    const std::string path = options.local_addr->path();
    struct stat st {};
    if (!path.empty() && ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        log(LogLevel::error, "Unable to check or remove stale UNIX socket " + path);
      }
    }
  }
  Socket sock(family, SOCK_DGRAM, options.proto);
  if (options.reuse_port) sock.set_reuse_port(true);
  if (options.allow_broadcast) sock.set_option(SOL_SOCKET, SO_BROADCAST, 1);
  if (options.local_addr) sock.bind(*options.local_addr);
  if (options.remote_addr && !options.allow_broadcast) co_await sock_connect(sock, *options.remote_addr);
  co_return std::pair{std::move(sock), options.remote_addr};
}

Coro<std::shared_ptr<DatagramTransport>> start_datagram_transport(Socket sock, std::shared_ptr<BaseProtocol> protocol,
                                                                  std::optional<SocketAddress> address) {
  if (!protocol) throw TypeError("the protocol factory returned a null protocol");
  EventLoop& loop = get_running_loop();
  Future<void> waiter = loop.create_future<void>();
  std::shared_ptr<DatagramSocketTransport> transport =
      DatagramSocketTransport::create(loop, std::move(sock), std::move(protocol), address, waiter);
  try {
    co_await waiter;
  } catch (...) {
    transport->close();
    throw;
  }
  co_return transport;
}

}  // namespace detail
}  // namespace asyncio
