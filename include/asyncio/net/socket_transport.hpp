#pragma once
/// SocketTransport: the stream transport over a connected socket (TCP or Unix stream), Python's
/// _SelectorSocketTransport (CPython 3.13 selector_events.py). create_connection, create_server
/// and connect_accepted_socket make them; a program rarely constructs one itself.
///
/// What it does, as Python's does:
///  - connection_made(transport) runs in the iteration after creation; reading starts right after
///    it (a reader is added with EventLoop::add_reader). Each readiness makes one recv into a
///    64 KiB read buffer shared by the loop's transports, and data_received gets a string_view of
///    it (a BufferedProtocol is asked for its buffer with get_buffer() and told buffer_updated()).
///  - write(data) sends at once if nothing is buffered; what the kernel does not take is copied to
///    the write buffer and a writer is added, which sends the rest as the socket drains. Above the
///    high-water mark the protocol gets pause_writing(), at or below the low-water mark
///    resume_writing() (_FlowControlMixin). The buffer itself is not bounded, as in Python: a
///    writer that ignores pause_writing() keeps growing it.
///  - close() stops reading and, once the write buffer is flushed, closes the socket and calls
///    connection_lost(null), always from a later iteration than close(). abort() drops the buffer.
///    write_eof() shuts the write side down (SHUT_WR) once the buffer is flushed.
///  - An error from recv/send, or an exception thrown by a protocol callback (data_received,
///    get_buffer, buffer_updated, eof_received), is fatal (Python's _fatal_error):
///    an exception that is not an OSError goes to the loop's exception handler (message "Fatal
///    error: protocol.data_received() call failed.", ...; the transport is described in the
///    context's `handle` field, Python's 'transport' key), the buffer is dropped and
///    connection_lost(exception) follows. ECONNRESET / EPIPE reach it as ConnectionResetError /
///    BrokenPipeError (sends use MSG_NOSIGNAL: never SIGPIPE).
///  - eof_received() returning true keeps the connection half-open: reading stops, writing goes
///    on, and the protocol closes the transport when it is done.
///  - An exception from pause_writing() or resume_writing() is reported ("protocol.pause_writing()
///    failed") and the connection goes on, as in _FlowControlMixin; one from connection_lost() is
///    reported too ("Fatal error: protocol.connection_lost() call failed.").
///
/// Lifetime: the loop keeps the transport alive from creation until connection_lost has returned,
/// so a protocol may keep a plain reference to it; others hold the std::shared_ptr. If the loop is
/// closed while a transport is open, the transport is abandoned: its socket is closed, its
/// protocol released without a connection_lost call (the loop can run nothing any more), and the
/// loop's reference dropped, so the object goes unless someone else holds a std::shared_ptr to it
/// (a plain reference kept by a protocol then dangles: see shared_from_this() below). A transport
/// still held behaves as closed from then on (write() drops the data, close() does nothing).
///
/// Differences from CPython:
///  - eof_received() is called at most once even if reading is resumed after it.
///  - an exception from connection_made() is reported to the exception handler ("Exception in
///    callback protocol.connection_made()", as CPython's loop reports a failed callback) and the
///    transport closed after flushing (CPython only logs it and keeps the transport).
///  - the read size is 64 KiB (CPython: 256 KiB), and the buffer is reused instead of allocated.
///
/// Invariants (besides detail::FdTransport's, net/fd_transport.hpp): `closing_` once
/// close()/abort()/an error/EOF began the end; the writer is registered iff bytes are buffered and
/// the connection is not lost; `eof_seen_` once the peer's EOF was read (the reader is not added
/// back then). Loop-thread-only.

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "asyncio/net/fd_transport.hpp"
#include "asyncio/net/protocol.hpp"
#include "asyncio/net/socket.hpp"
#include "asyncio/net/socket_address.hpp"
#include "asyncio/net/transport.hpp"
#include "asyncio/net/transport_table.hpp"
#include "asyncio/task/future.hpp"

namespace asyncio {

class EventLoop;
class Server;

namespace detail {
struct SendfileAccess;
}  // namespace detail

/// A SocketTransport is always owned by a std::shared_ptr (create() makes it), so
/// shared_from_this() works: a protocol that keeps its transport beyond connection_lost (or beyond
/// the loop's close, when the transport is abandoned) takes a strong reference in connection_made:
/// `keep_ = dynamic_cast<SocketTransport&>(t).shared_from_this();`.
class SocketTransport final : public Transport,
                              public std::enable_shared_from_this<SocketTransport>,
                              private detail::FdTransport<SocketTransport> {
  struct Private {};
  using Base = detail::FdTransport<SocketTransport>;
  friend Base;

 public:
  /// Bytes asked of each recv (and the size hint given to BufferedProtocol::get_buffer).
  static constexpr std::size_t kReadSize = 64 * 1024;
  /// Default high-water mark of the write buffer (low: a quarter of it).
  static constexpr std::size_t kDefaultHighWater = detail::kDefaultHighWater;

  /// Python's loop._make_socket_transport(sock, protocol, waiter, extra={'peername': ...}, server):
  /// wraps the connected stream socket `sock` (it becomes the transport's) for `protocol`, which
  /// must be a Protocol or a BufferedProtocol (TypeError otherwise). Sets TCP_NODELAY on TCP
  /// sockets. connection_made runs in the next iteration; then reading starts and `waiter` (if
  /// given) gets its result. `peername` saves a getpeername call when the caller knows it; a
  /// `server` counts the transport among its clients until connection_lost.
  static std::shared_ptr<SocketTransport> create(EventLoop& loop, Socket sock, std::shared_ptr<BaseProtocol> protocol,
                                                 Future<void> waiter = {},
                                                 std::optional<SocketAddress> peername = std::nullopt,
                                                 std::shared_ptr<Server> server = nullptr);

  /// Use create().
  SocketTransport(Private, EventLoop& loop, detail::TransportTable& table, Socket sock,
                  std::optional<SocketAddress> peername, std::shared_ptr<Server> server);
  ~SocketTransport() override;

  // --- BaseTransport ---
  /// "peername", "sockname" (SocketAddress; empty std::any if unknown), "socket" (const Socket*,
  /// borrowed: never close it; its fileno() is -1 once the transport closed it).
  [[nodiscard]] std::any get_extra_info(std::string_view name) const override;
  [[nodiscard]] bool is_closing() const noexcept override { return closing_; }
  void close() override;
  /// TypeError unless `protocol` is a Protocol or a BufferedProtocol.
  void set_protocol(std::shared_ptr<BaseProtocol> protocol) override;
  [[nodiscard]] std::shared_ptr<BaseProtocol> get_protocol() const override { return protocol_; }

  // --- ReadTransport ---
  [[nodiscard]] bool is_reading() const noexcept override { return !closing_ && !paused_; }
  void pause_reading() override { pause_reading_now(); }
  void resume_reading() override { resume_reading_now(); }

  // --- WriteTransport ---
  void write(std::string_view data) override;
  void writelines(std::span<const std::string_view> data) override;
  /// Shuts down the write side once the buffer is flushed; nothing if closing or already done.
  /// OSError if the shutdown fails at once.
  void write_eof() override;
  [[nodiscard]] bool can_write_eof() const noexcept override { return true; }
  void abort() override;
  [[nodiscard]] std::size_t get_write_buffer_size() const noexcept override { return wbuf_.size(); }
  using WriteTransport::set_write_buffer_limits;
  void set_write_buffer_limits(std::size_t high, std::size_t low) override { set_write_limits(high, low); }
  [[nodiscard]] std::pair<std::size_t, std::size_t> get_write_buffer_limits() const noexcept override {
    return write_limits();
  }

  /// The socket's descriptor (-1 once closed), for diagnostics.
  [[nodiscard]] int fileno() const noexcept { return sock_.fileno(); }
  /// "<SocketTransport fd=7 read=polling write=<idle, bufsize=0>>", as Python's repr.
  [[nodiscard]] std::string describe() const;

 private:
  friend class Server;
  friend struct detail::SendfileAccess;

  /// The loss counts in conn_lost_, as CPython's _SelectorTransport counts it.
  static constexpr bool kCountsLoss = true;

  // Base's hooks (net/fd_transport.hpp).
  void start_watching();
  void watch_reads_again();
  void release_descriptor() noexcept { sock_.close(); }
  void release_resources() noexcept;
  void drop_write_buffer() noexcept { wbuf_.clear(); }
  void clear_protocol_views() noexcept;

  void read_ready();
  void read_ready_buffered();
  /// recv returned `n` <= 0: the peer's EOF, or the error in errno (fatal unless it would block).
  void read_ended(ssize_t n);
  void on_eof();
  void write_ready();
  void write_rest(std::string_view data, int err, std::size_t sent);
  [[noreturn]] void throw_not_writable(const char* what) const;
  [[noreturn]] void throw_sendfile_in_progress() const;

  char* read_buffer_;  // the table's: shared by the loop's transports (data_received's view)
  Socket sock_;
  Protocol* stream_protocol_ = nullptr;            // protocol_ as a Protocol, or null
  BufferedProtocol* buffered_protocol_ = nullptr;  // protocol_ as a BufferedProtocol, or null
  std::shared_ptr<Server> server_;
  detail::WriteBuffer wbuf_;
  bool eof_ = false;       // write_eof()
  bool eof_seen_ = false;  // the peer's EOF was read
  std::optional<SocketAddress> peername_;
  std::optional<SocketAddress> sockname_;
  // Python's _empty_waiter: set while loop.sendfile() owns the socket (write() raises then);
  // completed once the write buffer is empty, failed if the connection is lost first.
  Future<void> empty_waiter_;
  // links of the server's client list
  SocketTransport* client_prev_ = nullptr;
  SocketTransport* client_next_ = nullptr;
};
}  // namespace asyncio
