#pragma once
/// Datagram endpoints: Python's loop.create_datagram_endpoint and its transport,
/// _SelectorDatagramTransport (CPython 3.13 base_events.py, selector_events.py), for UDP and Unix
/// datagram sockets.
///
///   struct Echo : asyncio::DatagramProtocol {
///     asyncio::DatagramTransport* t = nullptr;
///     void connection_made(asyncio::BaseTransport& tr) override { t = dynamic_cast<asyncio::DatagramTransport*>(&tr);
///     } void datagram_received(std::string_view data, const asyncio::SocketAddress& from) override { t->sendto(data,
///     from); }
///   };
///   auto [transport, protocol] = co_await asyncio::create_datagram_endpoint(
///       [] { return std::make_shared<Echo>(); }, asyncio::DatagramOptions{.local_addr =
///       asyncio::SocketAddress("127.0.0.1", 9999)});
///
/// What the transport does, as Python's:
///  - connection_made(transport) runs in the iteration after creation; reading starts right after
///    it. Each readiness receives one datagram (at most 256 KiB, Python's max_size: a longer one
///    is truncated) into a buffer the loop's transports share, and datagram_received gets a view of
///    it and the sender's address (an unnamed Unix sender - unbound, or a socketpair's end - as the
///    AF_UNIX address with path "", where Python gives None).
///  - sendto(data, addr) sends at once when nothing is queued; if the socket's buffer is full
///    (EAGAIN) the datagram is copied to a queue that a writer sends as the socket drains, in
///    order. Above the high-water mark of queued bytes (each datagram counts its size plus 8, as
///    in CPython) the protocol gets pause_writing(), at or below the low-water mark resume_writing().
///  - A failed send or receive (an OSError: ECONNREFUSED when an ICMP "port unreachable" answered
///    an earlier datagram of a connected socket, EMSGSIZE, ...) goes to the protocol's
///    error_received(); the endpoint stays open, and a datagram whose send failed is dropped.
///  - close() stops receiving, sends what is queued, then closes the socket and calls
///    connection_lost(null) (from a later iteration than close()). abort() drops the queue.
///  - An exception that is not an OSError from the socket is fatal (Python's _fatal_error): it goes
///    to the loop's exception handler and connection_lost(error) follows. One thrown by
///    connection_made is reported ("Exception in callback protocol.connection_made()") and the
///    endpoint closed, as on every transport here.
///
/// Lifetime: as SocketTransport (net/socket_transport.hpp): the loop keeps the transport alive
/// until connection_lost has returned; if the loop closes first the transport is abandoned (socket
/// closed, protocol released without connection_lost).
///
/// Differences from CPython:
///  - sendto() without an address on an
///    endpoint that has no remote address raises ValueError at once (CPython's socket.sendto
///    raises TypeError, which is then fatal).
///  - an exception thrown by datagram_received() or error_received() is reported to the exception
///    handler ("protocol.datagram_received() call failed.") and the endpoint stays open (CPython lets
///    it escape to the loop, which logs it; the endpoint stays open too). After an exception from
///    connection_made() the endpoint is closed (CPython only logs it).
///  - a (host, port) pair is a HostPort (net/host_port.hpp), a resolved address a SocketAddress.
///
/// Loop-thread-only.

#include <sys/socket.h>

#include <any>
#include <concepts>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "asyncio/coro/coro.hpp"
#include "asyncio/net/fd_transport.hpp"
#include "asyncio/net/host_port.hpp"
#include "asyncio/net/protocol.hpp"
#include "asyncio/net/protocol_factory.hpp"
#include "asyncio/net/socket.hpp"
#include "asyncio/net/socket_address.hpp"
#include "asyncio/net/transport.hpp"
#include "asyncio/net/transport_table.hpp"
#include "asyncio/task/future.hpp"

namespace asyncio {

class EventLoop;

/// The keyword arguments of Python's create_datagram_endpoint. Trivially destructible (passed into
/// coroutines; see net/dns.hpp's AddrInfoHints for why).
struct DatagramOptions {
  /// Bind to this address (Python's local_addr): SocketAddress("127.0.0.1", 0) for any free port,
  /// a HostPort("localhost", 5353) resolved with getaddrinfo, or SocketAddress::from_path(p) for
  /// a Unix datagram socket (a stale socket file at `p` is removed first, as Python does).
  std::optional<HostPort> local_addr{};
  /// Connect to this address (Python's remote_addr), a SocketAddress or a HostPort resolved like
  /// local_addr: sendto() may then omit the address, and only datagrams from it are received.
  /// With allow_broadcast the socket is not connected: the address is only sendto()'s default.
  std::optional<HostPort> remote_addr{};
  /// AF_INET, AF_INET6 or AF_UNIX; needed when neither address is given, else it must match them.
  int family = AF_UNSPEC;
  /// The socket's protocol (0: the family's default).
  int proto = 0;
  /// getaddrinfo's flags for the names.
  int flags = 0;
  /// SO_REUSEPORT: several endpoints may bind the same address (the kernel spreads datagrams).
  bool reuse_port = false;
  /// SO_BROADCAST: datagrams may be sent to broadcast addresses.
  bool allow_broadcast = false;
};
static_assert(std::is_trivially_destructible_v<DatagramOptions>,
              "DatagramOptions is passed into coroutines: g++ 12 would destroy a non-trivial temporary twice");

/// A callable returning std::shared_ptr<P>, P derived from DatagramProtocol.
template <class F>
concept DatagramProtocolFactory = std::invocable<F&> && requires {
  typename std::invoke_result_t<F&>::element_type;
} && std::same_as<std::invoke_result_t<F&>, std::shared_ptr<protocol_of_t<F>>> &&
    std::derived_from<protocol_of_t<F>, DatagramProtocol>;

/// Python's _SelectorDatagramTransport. Always owned by a std::shared_ptr (create() makes it), so
/// a protocol that keeps its transport beyond connection_lost takes a strong reference with
/// shared_from_this().
///
/// Invariants (besides detail::FdTransport's, net/fd_transport.hpp): `closing_` once
/// close()/abort()/a fatal error began the end; the reader is registered from connection_made until
/// closing, the writer iff datagrams are queued and the connection is not lost; `queued_bytes_` is
/// the sum over the queue of size + 8.
class DatagramSocketTransport final : public DatagramTransport,
                                      public std::enable_shared_from_this<DatagramSocketTransport>,
                                      private detail::FdTransport<DatagramSocketTransport> {
  struct Private {};
  using Base = detail::FdTransport<DatagramSocketTransport>;
  friend Base;

 public:
  /// Default high-water mark of the send queue (low: a quarter of it).
  static constexpr std::size_t kDefaultHighWater = detail::kDefaultHighWater;

  /// Python's loop._make_datagram_transport(sock, protocol, address, waiter): wraps the datagram
  /// socket `sock` (it becomes the transport's) for `protocol`, which must be a DatagramProtocol
  /// (TypeError otherwise). `address` is the default destination of sendto() (Python's
  /// remote_addr); a connected socket sends to its peer whatever the address. connection_made runs
  /// in the next iteration; then reading starts and `waiter` (if given) gets its result.
  /// ValueError unless `sock` is an open SOCK_DGRAM socket.
  static std::shared_ptr<DatagramSocketTransport> create(EventLoop& loop, Socket sock,
                                                         std::shared_ptr<BaseProtocol> protocol,
                                                         std::optional<SocketAddress> address = std::nullopt,
                                                         Future<void> waiter = {});

  /// Use create().
  DatagramSocketTransport(Private, EventLoop& loop, detail::TransportTable& table, Socket sock,
                          std::optional<SocketAddress> address);
  ~DatagramSocketTransport() override;

  // --- BaseTransport ---
  /// "peername" (SocketAddress, when the socket is connected), "sockname" (SocketAddress),
  /// "socket" (const Socket*, borrowed: never close it).
  [[nodiscard]] std::any get_extra_info(std::string_view name) const override;
  [[nodiscard]] bool is_closing() const noexcept override { return closing_; }
  void close() override;
  /// TypeError unless `protocol` is a DatagramProtocol.
  void set_protocol(std::shared_ptr<BaseProtocol> protocol) override;
  [[nodiscard]] std::shared_ptr<BaseProtocol> get_protocol() const override { return protocol_; }

  // --- DatagramTransport ---
  /// Python's sendto(data, addr). On an endpoint with a remote address, `address` must be that
  /// address or omitted (ValueError otherwise); without one it is required (ValueError). Errors
  /// of the send itself go to error_received(). After close() queued behind what is still
  /// buffered, else dropped, as CPython's; after abort() or a fatal error, dropped.
  void sendto(std::string_view data, const std::optional<SocketAddress>& address = std::nullopt) override;
  void abort() override;
  /// Bytes queued (each datagram counts its size plus 8, as in CPython).
  [[nodiscard]] std::size_t get_write_buffer_size() const noexcept override { return queued_bytes_; }

  /// Python's set_write_buffer_limits(high, low): ValueError unless high >= low.
  void set_write_buffer_limits(std::size_t high, std::size_t low) { set_write_limits(high, low); }
  void set_write_buffer_limits(std::size_t high) { set_write_limits(high, high / 4); }
  /// Python's get_write_buffer_limits(): {low, high}.
  [[nodiscard]] std::pair<std::size_t, std::size_t> get_write_buffer_limits() const noexcept { return write_limits(); }

  /// The socket's descriptor (-1 once closed).
  [[nodiscard]] int fileno() const noexcept { return sock_.fileno(); }
  /// "<DatagramSocketTransport fd=7 read=polling write=<idle, bufsize=0>>", as Python's repr.
  [[nodiscard]] std::string describe() const;

 private:
  struct Datagram {
    std::string data;
    std::optional<SocketAddress> address;
  };

  /// The loss counts in conn_lost_, as CPython's _SelectorTransport counts it.
  static constexpr bool kCountsLoss = true;

  // Base's hooks (net/fd_transport.hpp).
  void start_watching();
  void release_descriptor() noexcept;
  void drop_write_buffer() noexcept;
  void clear_protocol_views() noexcept { datagram_protocol_ = nullptr; }

  void read_ready();
  /// Python's _sendto_ready: sends what is queued as the socket drains.
  void write_ready();
  /// One send of `data` (to `address` unless connected): the errno on failure, else 0.
  int send_one(std::string_view data, const std::optional<SocketAddress>& address) noexcept;
  void report_error_received(int err, const std::optional<SocketAddress>& address);

  Socket sock_;
  std::optional<SocketAddress> address_;   // sendto()'s default destination (Python's _address)
  std::optional<SocketAddress> peername_;  // set when the socket is connected
  std::optional<SocketAddress> sockname_;
  DatagramProtocol* datagram_protocol_ = nullptr;  // protocol_ as a DatagramProtocol
  std::deque<Datagram> queue_;
  std::size_t queued_bytes_ = 0;
};

namespace detail {

/// create_datagram_endpoint's socket: made, optioned, bound and connected as the options say.
/// Returns it and the remote address to give the transport.
Coro<std::pair<Socket, std::optional<SocketAddress>>> open_datagram_socket(DatagramOptions options);

/// A DatagramSocketTransport for `sock` and `protocol`, returned once connection_made has run
/// (closed again if the wait is cancelled or fails). TypeError if `protocol` is null.
Coro<std::shared_ptr<DatagramTransport>> start_datagram_transport(Socket sock, std::shared_ptr<BaseProtocol> protocol,
                                                                  std::optional<SocketAddress> address);

/// ValueError unless `sock` is an open SOCK_DGRAM socket.
void check_datagram_socket(const Socket& sock);

}  // namespace detail

/// Python's loop.create_datagram_endpoint(protocol_factory, local_addr=, remote_addr=, family=,
/// proto=, reuse_port=, allow_broadcast=): a datagram socket as the options say and its transport;
/// returns {transport, protocol} once connection_made has run.
///   - no address: `family` is required (ValueError "unexpected address family");
///   - local_addr: bound to it; remote_addr: connected to it (unless allow_broadcast);
///   - names are resolved (SOCK_DGRAM, with family, proto and flags) and the answers grouped by
///     family and protocol, as CPython does: the first group holding an address for each address
///     given is tried, then the next; none (the addresses and `family` do not agree): ValueError
///     "can not get address information".
/// OSError if the socket cannot be made, bound or connected (naming the address; the first
/// group's error when every group failed). Cancelling it closes what it made.
template <DatagramProtocolFactory F>
Coro<std::pair<std::shared_ptr<DatagramTransport>, std::shared_ptr<protocol_of_t<F>>>> create_datagram_endpoint(
    F protocol_factory, DatagramOptions options = {}) {
  auto [sock, remote] = co_await detail::open_datagram_socket(options);
  std::shared_ptr<protocol_of_t<F>> protocol = protocol_factory();
  std::shared_ptr<DatagramTransport> transport =
      co_await detail::start_datagram_transport(std::move(sock), protocol, remote);
  co_return std::pair{std::move(transport), std::move(protocol)};
}

/// Python's create_datagram_endpoint(protocol_factory, sock=sock): a transport over an existing
/// datagram socket (bound or connected, or neither). ValueError unless it is an open SOCK_DGRAM
/// socket. (Python also refuses the other keyword arguments with sock=: here there are none.)
template <DatagramProtocolFactory F>
Coro<std::pair<std::shared_ptr<DatagramTransport>, std::shared_ptr<protocol_of_t<F>>>> create_datagram_endpoint(
    F protocol_factory, Socket sock) {
  detail::check_datagram_socket(sock);
  std::shared_ptr<protocol_of_t<F>> protocol = protocol_factory();
  std::shared_ptr<DatagramTransport> transport =
      co_await detail::start_datagram_transport(std::move(sock), protocol, std::nullopt);
  co_return std::pair{std::move(transport), std::move(protocol)};
}

}  // namespace asyncio
