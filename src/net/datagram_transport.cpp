// DatagramSocketTransport and create_datagram_endpoint: CPython 3.13 selector_events.py
// (_SelectorDatagramTransport) on detail::FdTransport (net/fd_transport.hpp: _SelectorTransport and
// _FlowControlMixin), and base_events.py (create_datagram_endpoint).

#include "asyncio/net/datagram_transport.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "asyncio/exceptions.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/loop/logger.hpp"
#include "asyncio/net/detail/resolve.hpp"
#include "asyncio/net/sock_ops.hpp"
#include "asyncio/os_error.hpp"

namespace asyncio {

namespace {

using detail::os_error_ptr;
using detail::would_block;

/// What a queued datagram counts beyond its bytes (CPython's "include header bytes").
constexpr std::size_t kDatagramOverhead = 8;

}  // namespace

// --- creation and destruction --------------------------------------------------------------------

std::shared_ptr<DatagramSocketTransport> DatagramSocketTransport::create(EventLoop& loop, Socket sock,
                                                                         std::shared_ptr<BaseProtocol> protocol,
                                                                         std::optional<SocketAddress> address,
                                                                         Future<void> waiter) {
  detail::check_datagram_socket(sock);
  detail::TransportTable& table = detail::TransportTable::of(loop);
  return launch(std::make_shared<DatagramSocketTransport>(Private{}, loop, table, std::move(sock), address),
                std::move(protocol), std::move(waiter));
}

DatagramSocketTransport::DatagramSocketTransport(Private, EventLoop& loop, detail::TransportTable& table, Socket sock,
                                                 std::optional<SocketAddress> address)
    : Base(loop, table, sock.fileno()),
      sock_(std::move(sock)),
      address_(address),
      peername_(detail::query_peername(fd_)),
      sockname_(detail::query_sockname(fd_)) {}

DatagramSocketTransport::~DatagramSocketTransport() { release_resources(); }

void DatagramSocketTransport::start_watching() {
  // Only now: no datagram_received before connection_made (Python schedules _add_reader after it).
  if (!closing_) add_reader_or_fail("Fatal error on transport: add_reader() failed");
}

void DatagramSocketTransport::release_descriptor() noexcept {
  drop_write_buffer();
  sock_.close();
}

void DatagramSocketTransport::set_protocol(std::shared_ptr<BaseProtocol> protocol) {
  datagram_protocol_ = replace_protocol_as<DatagramProtocol>(
      std::move(protocol), "DatagramSocketTransport: the protocol must be a DatagramProtocol");
}

// --- receiving -----------------------------------------------------------------------------------

void DatagramSocketTransport::read_ready() {
  if (lost_) return;
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
  if (address_ && address && !(*address == *address_)) {
    throw ValueError("Invalid address: must be None or " + address_->to_string());
  }
  const std::optional<SocketAddress>& destination = address_ ? address_ : address;
  if (!destination && !peername_) {
    throw ValueError("sendto(): an address is required: the endpoint has no remote address");
  }
  if (lost_) {
    drop_write("socket.send() raised exception.");
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
    if (!add_writer_or_fail("Fatal error on transport: add_writer() failed")) return;  // being lost
  }
  queue_.push_back(Datagram{std::string(data), destination});
  queued_bytes_ += data.size() + kDatagramOverhead;
  maybe_pause_protocol();
}

void DatagramSocketTransport::write_ready() {
  if (lost_) return;
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
      if (lost_) return;  // error_received aborted
      break;
    }
  }
  maybe_resume_protocol();  // may queue more, or close or abort
  if (lost_ || !queue_.empty()) return;
  remove_writer();
  if (closing_) {
    // close() waited for this flush.
    call_connection_lost(nullptr);  // may destroy *this: nothing after it
  }
}

void DatagramSocketTransport::drop_write_buffer() noexcept {
  queue_.clear();
  queued_bytes_ = 0;
}

// --- closing -------------------------------------------------------------------------------------

void DatagramSocketTransport::close() { close_when_flushed(); }

void DatagramSocketTransport::abort() { force_close(nullptr); }

// --- information ---------------------------------------------------------------------------------

std::any DatagramSocketTransport::get_extra_info(std::string_view name) const {
  return detail::socket_extra_info(name, sock_, peername_, sockname_);
}

std::string DatagramSocketTransport::describe() const {
  return describe_socket("DatagramSocketTransport", !sock_.valid());
}

// --- create_datagram_endpoint --------------------------------------------------------------------

namespace detail {

void check_datagram_socket(const Socket& sock) {
  if (!sock.valid()) throw ValueError("create_datagram_endpoint: the socket is closed");
  if (sock.type() != SOCK_DGRAM) {
    throw ValueError("create_datagram_endpoint: A UDP Socket was expected, got " + sock.describe());
  }
}

namespace {

/// One way to make the endpoint: a family and protocol, with the local and remote address of it.
struct DatagramPlan {
  int family;
  int proto;
  std::optional<SocketAddress> local;
  std::optional<SocketAddress> remote;
};

std::string describe_request(const DatagramOptions& options) {
  std::string text;
  if (options.local_addr) text += "local_addr " + options.local_addr->to_string();
  if (options.remote_addr)
    text += std::string(text.empty() ? "" : " and ") + "remote_addr " + options.remote_addr->to_string();
  if (options.family != AF_UNSPEC) text += ", family " + family_name(options.family);
  return text;
}

void remove_stale_unix_socket(const SocketAddress& local) {
  if (local.is_abstract()) return;
  // Python removes a stale socket file at the path before binding (and only a socket file).
  const std::string path = local.path();
  struct stat st {};
  if (!path.empty() && ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      log(LogLevel::error, "Unable to check or remove stale UNIX socket " + path);
    }
  }
}

/// Python's grouping of the resolved addresses by (family, proto): every group that has an
/// address for each address asked for is a plan, in the order the groups first appear.
Coro<std::vector<DatagramPlan>> plan_inet(const DatagramOptions& options) {
  std::vector<DatagramPlan> plans;
  const std::optional<HostPort>* asked[2] = {&options.local_addr, &options.remote_addr};
  for (int idx = 0; idx < 2; ++idx) {
    if (!*asked[idx]) continue;
    const std::vector<AddrInfo> infos =
        co_await ensure_resolved(**asked[idx], options.family, SOCK_DGRAM, options.proto, options.flags);
    for (const AddrInfo& info : infos) {
      // An address given already resolved keeps its family: it fits only a matching request.
      if (options.family != AF_UNSPEC && info.family != options.family) continue;
      DatagramPlan* plan = nullptr;
      for (DatagramPlan& p : plans) {
        if (p.family == info.family && p.proto == info.protocol) plan = &p;
      }
      if (plan == nullptr) plan = &plans.emplace_back(DatagramPlan{info.family, info.protocol, {}, {}});
      (idx == 0 ? plan->local : plan->remote) = info.address;
    }
  }
  std::erase_if(plans, [&](const DatagramPlan& p) {
    return (options.local_addr && !p.local) || (options.remote_addr && !p.remote);
  });
  if (plans.empty()) {
    throw ValueError(
        "create_datagram_endpoint: can not get address information (no address family and protocol "
        "common to " +
        describe_request(options) + ")");
  }
  co_return plans;
}

bool is_unix(const std::optional<HostPort>& address) {
  return address && address->resolved() && address->address().family() == AF_UNIX;
}

}  // namespace

Coro<std::pair<Socket, std::optional<SocketAddress>>> open_datagram_socket(DatagramOptions options) {
  std::vector<DatagramPlan> plans;
  if (!options.local_addr && !options.remote_addr) {
    if (options.family == AF_UNSPEC) {
      throw ValueError("create_datagram_endpoint: unexpected address family (give family, local_addr or remote_addr)");
    }
    plans.push_back(DatagramPlan{options.family, options.proto, std::nullopt, std::nullopt});
  } else if (options.family == AF_UNIX || is_unix(options.local_addr) || is_unix(options.remote_addr)) {
    // Unix datagram sockets: the addresses are paths, never resolved.
    DatagramPlan plan{AF_UNIX, options.proto, std::nullopt, std::nullopt};
    const std::optional<HostPort>* asked[2] = {&options.local_addr, &options.remote_addr};
    for (int idx = 0; idx < 2; ++idx) {
      if (!*asked[idx]) continue;
      if (!is_unix(*asked[idx]) || (options.family != AF_UNSPEC && options.family != AF_UNIX)) {
        throw ValueError("create_datagram_endpoint: can not get address information (" + describe_request(options) +
                         "): a Unix datagram endpoint takes paths (SocketAddress::from_path) for both addresses");
      }
      (idx == 0 ? plan.local : plan.remote) = (*asked[idx])->address();
    }
    if (plan.local) remove_stale_unix_socket(*plan.local);
    plans.push_back(plan);
  } else {
    plans = co_await plan_inet(options);
  }
  // Python: the first plan that works; if none does, the first plan's error.
  std::exception_ptr first_error;
  for (const DatagramPlan& plan : plans) {
    std::optional<Socket> made;
    try {
      Socket sock(plan.family, SOCK_DGRAM, plan.proto);
      if (options.reuse_port) sock.set_reuse_port(true);
      if (options.allow_broadcast) sock.set_option(SOL_SOCKET, SO_BROADCAST, 1);
      if (plan.local) sock.bind(*plan.local);
      if (plan.remote && !options.allow_broadcast) co_await sock_connect(sock, *plan.remote);
      made = std::move(sock);
    } catch (const OSError&) {
      if (!first_error) first_error = std::current_exception();
      continue;
    }
    co_return std::pair{std::move(*made), plan.remote};
  }
  std::rethrow_exception(first_error);
}

Coro<std::shared_ptr<DatagramTransport>> start_datagram_transport(Socket sock, std::shared_ptr<BaseProtocol> protocol,
                                                                  std::optional<SocketAddress> address) {
  if (!protocol) throw TypeError("the protocol factory returned a null protocol");
  EventLoop& loop = get_running_loop();
  Future<void> waiter = loop.create_future<void>();
  std::shared_ptr<DatagramTransport> transport =
      DatagramSocketTransport::create(loop, std::move(sock), std::move(protocol), address, waiter);
  co_return co_await await_connection_made(std::move(transport), std::move(waiter));
}

}  // namespace detail
}  // namespace asyncio
