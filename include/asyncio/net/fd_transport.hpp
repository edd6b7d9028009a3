#pragma once
/// detail::FdTransport<Derived>: what the loop's descriptor transports have in common -
/// SocketTransport (net/socket_transport.hpp), ReadPipeTransport and WritePipeTransport
/// (net/pipe_transport.hpp), DatagramSocketTransport (net/datagram_transport.hpp). It is CPython's
/// _SelectorTransport with transports.py's _FlowControlMixin, plus what unix_events.py's pipe
/// transports repeat of them. Internal to net/.
///
/// Why it exists: the four transports watch one descriptor through EventLoop::add_reader and
/// add_writer, keep themselves alive from create() until connection_lost has returned, end the same
/// way (connection_lost always from a later iteration, its failure reported, the protocol released
/// only after it), are abandoned the same way when their loop closes first (transport_table.hpp),
/// report to the loop's exception handler and, when they write, pause and resume their protocol
/// around the same high- and low-water marks. That machinery was written four times; it is written
/// once here. Each transport keeps what really differs: how it reads, how it buffers what it writes
/// (a byte string for streams and pipes, a queue of datagrams for UDP), which protocol it takes, and
/// its descriptor's kind (a Socket, or a bare pipe descriptor that a failed create() gives back).
///
/// Why CRTP and not virtual hooks: the readiness callbacks registered here call Derived::read_ready()
/// and Derived::write_ready() directly, so SocketTransport's hot path (the loop's callback, recv,
/// data_received, send) has no indirection it did not have before; every hook below is resolved at
/// compile time and nothing here adds a virtual call. The base is inherited privately: its helpers
/// are how a transport is implemented, not part of what it offers. Member functions of a class
/// template exist only where used, so the reading and writing helpers cost a transport that does
/// not read (WritePipeTransport) or write (ReadPipeTransport) nothing.

#include <any>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "asyncio/coro/coro.hpp"
#include "asyncio/detail/describe.hpp"
#include "asyncio/exceptions.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/loop/logger.hpp"
#include "asyncio/net/protocol.hpp"
#include "asyncio/net/socket_address.hpp"
#include "asyncio/net/transport_table.hpp"
#include "asyncio/task/future.hpp"

namespace asyncio {
class Socket;
}  // namespace asyncio

namespace asyncio::detail {

/// Python's constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES: writes dropped after the connection was
/// lost are logged from this count on (Python's _conn_lost).
inline constexpr std::uint32_t kLogThresholdForConnLostWrites = 5;
/// Python's default high-water mark of a write buffer (the low-water mark is a quarter of it).
inline constexpr std::size_t kDefaultHighWater = 64 * 1024;

/// The errno of a call that found nothing to do now: wait for the next readiness (EINTR too).
constexpr bool would_block(int err) noexcept { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

/// throw_os_error(err, operation)'s exception (the OSError subclass `err` calls for), caught: what
/// fatal_error() and error_received() take.
std::exception_ptr os_error_ptr(int err, const std::string& operation);

/// True if `error` (not null) is an OSError.
bool is_os_error(const std::exception_ptr& error) noexcept;

/// The errno of `error` (not null) if it is an OSError, -1 if it is any other exception.
int os_errno(const std::exception_ptr& error) noexcept;

/// getsockname(fd) / getpeername(fd), or nothing if the system has no address to give (an unbound
/// or unconnected socket): a transport's "sockname" and "peername" are optional, never an error.
std::optional<SocketAddress> query_sockname(int fd);
std::optional<SocketAddress> query_peername(int fd);

/// get_extra_info(name) of a transport over `sock`: "peername", "sockname" (SocketAddress; empty
/// std::any if unknown) and "socket" (const Socket*, borrowed).
std::any socket_extra_info(std::string_view name, const Socket& sock, const std::optional<SocketAddress>& peername,
                           const std::optional<SocketAddress>& sockname);

/// The end of the coroutines that make a transport (Python's _create_connection_transport,
/// connect_read_pipe, ...): waits for `waiter`, which the transport completes once connection_made
/// has run, and returns `transport`. If the wait fails or is cancelled, the transport is closed (it
/// would otherwise stay open with nobody holding it but the loop) and the exception propagates.
template <class T>
Coro<std::shared_ptr<T>> await_connection_made(std::shared_ptr<T> transport, Future<void> waiter) {
  try {
    co_await waiter;
  } catch (...) {
    transport->close();
    throw;
  }
  co_return transport;
}

/// The write buffer of the byte transports (SocketTransport, WritePipeTransport): the bytes not yet
/// handed to the kernel. Sending from the front only moves an offset; an append first compacts
/// once what was sent is at least half, so each byte moves at most once on average. Drained, it
/// keeps its capacity for the next burst unless that grew beyond 1 MiB (one burst must not pin its
/// peak for the rest of the connection).
///
/// Invariants: the pending bytes are bytes_[offset_, bytes_.size()); offset_ is 0 when empty.
class WriteBuffer {
 public:
  /// Bytes pending.
  [[nodiscard]] std::size_t size() const noexcept { return bytes_.size() - offset_; }
  [[nodiscard]] bool empty() const noexcept { return offset_ == bytes_.size(); }
  /// The first pending byte (size() of them follow).
  [[nodiscard]] const char* data() const noexcept { return bytes_.data() + offset_; }
  /// The memory held (what the largest burst since the last release left), for tests.
  [[nodiscard]] std::size_t capacity() const noexcept { return bytes_.capacity(); }

  /// Queues a copy of `data` behind what is pending.
  void append(std::string_view data) {
    if (offset_ != 0 && offset_ >= bytes_.size() / 2) {
      bytes_.erase(0, offset_);
      offset_ = 0;
    }
    bytes_.append(data);
  }

  /// The kernel took the first `n` (<= size()) pending bytes.
  void consume(std::size_t n) noexcept {
    offset_ += n;
    if (offset_ == bytes_.size()) clear();
  }

  /// Drops what is pending.
  void clear() noexcept {
    if (bytes_.capacity() > kKeptCapacity) {
      std::string().swap(bytes_);
    } else {
      bytes_.clear();
    }
    offset_ = 0;
  }

 private:
  static constexpr std::size_t kKeptCapacity = 1 << 20;

  std::string bytes_;
  std::size_t offset_ = 0;
};

/// The base of a descriptor transport `Derived` (see the top of this file for why it exists).
///
/// What Derived provides (it declares `friend class detail::FdTransport<Derived>`):
///  - describe(): its repr, for reports and debug logs;
///  - read_ready() if it calls add_reader(), write_ready() if it calls add_writer(): the readiness
///    handlers (WritePipeTransport's read_ready() is its reader's departure, as in CPython);
///  - start_watching(): what it watches once connection_made has returned;
///  - release_descriptor() noexcept: drops what is still buffered and closes its descriptor (the
///    reader and writer are removed by then);
///  - kCountsLoss: true if the loss counts in conn_lost_ as CPython's _SelectorTransport counts it
///    (socket and datagram transports), false if only failed and dropped writes count (pipes, as
///    unix_events.py), which moves the dropped-write warning one write later;
///  - if it writes: get_write_buffer_size() and drop_write_buffer() noexcept;
///  - if it reads: watch_reads_again(), resume_reading()'s way to add its reader back;
/// and may declare its own (they hide the defaults here): is_quiet_error() (which fatal errors are
/// not reported), clear_protocol_views() (its typed protocol pointers), undo_start() (create()
/// failed after the descriptor was taken), release_resources() (more to release after the rest).
///
/// Invariants: `lost_` once connection_lost is scheduled or ran, or the transport was abandoned;
/// from then on nothing but connection_lost reaches the protocol, `closing_` holds, nothing is
/// buffered, and neither reader nor writer is registered. The reader is registered iff
/// `reader_on_`, the writer iff `writer_on_` (which implies bytes are buffered). `loop_` is null
/// once the transport was abandoned, `table_` once it left the table. `self_` holds the transport
/// from create() until connection_lost has returned or the loop abandoned it.
/// `protocol_paused_` iff the last flow-control call made was pause_writing(). Loop-thread-only.
template <class Derived>
class FdTransport : private TableEntry {
 protected:
  /// Links the transport into `table`, newest: the loop abandons it if it closes first.
  FdTransport(EventLoop& loop, TransportTable& table, int fd) noexcept : loop_(&loop), table_(&table), fd_(fd) {
    table.link(*this);
  }
  /// Unlinks, if the derived constructor threw before the transport could release itself.
  ~FdTransport() override {
    if (table_ != nullptr) table_->unlink(*this);
  }

  FdTransport(const FdTransport&) = delete;
  FdTransport& operator=(const FdTransport&) = delete;

  /// This transport as what it is (CRTP: resolved at compile time).
  Derived& derived() noexcept { return static_cast<Derived&>(*this); }
  const Derived& derived() const noexcept { return static_cast<const Derived&>(*this); }

  // --- creation ----------------------------------------------------------------------------------

  /// create()'s common end, Python's _SelectorTransport.__init__ then call_soon(connection_made):
  /// gives `transport` its protocol (Derived::set_protocol: its TypeError propagates, and the
  /// transport, still unreferenced by the loop, is destroyed with `transport`), takes the loop's
  /// reference and schedules start(). If that scheduling fails, the descriptor is released as
  /// undo_start() says and the exception propagates.
  static std::shared_ptr<Derived> launch(std::shared_ptr<Derived> transport, std::shared_ptr<BaseProtocol> protocol,
                                         Future<void> waiter) {
    transport->set_protocol(std::move(protocol));
    FdTransport& base = *transport;
    base.self_ = transport;  // the loop's reference, until connection_lost has run
    try {
      base.loop_->call_soon([&base, waiter = std::move(waiter)]() mutable { base.start(waiter); });
    } catch (...) {
      base.derived().undo_start();
      base.self_.reset();
      throw;
    }
    return transport;
  }

  /// What undo_start() does unless Derived says otherwise: the descriptor was the transport's
  /// (a Socket moved in), so it is closed.
  void undo_start() noexcept { derived().release_resources(); }

  // --- the protocol ------------------------------------------------------------------------------

  /// set_protocol()'s common part, once Derived has checked the protocol's type. The old protocol
  /// may be running the very call that replaces it: it is kept until the next replacement or
  /// connection_lost, never released under its own feet.
  void replace_protocol(std::shared_ptr<BaseProtocol> protocol) noexcept {
    retired_protocol_ = std::move(protocol_);
    protocol_ = std::move(protocol);
  }

  /// set_protocol() of a transport that takes a `P` only: TypeError(`refusal`) unless `protocol`
  /// is one; else replace_protocol(). Returns the protocol as a `P`, for Derived's typed view.
  template <class P>
  P* replace_protocol_as(std::shared_ptr<BaseProtocol> protocol, const char* refusal) {
    auto* typed = dynamic_cast<P*>(protocol.get());
    if (typed == nullptr) throw TypeError(refusal);
    replace_protocol(std::move(protocol));
    return typed;
  }

  /// Derived's typed views of protocol_ (nothing here): nulled when the protocol is released.
  void clear_protocol_views() noexcept {}

  // --- watching the descriptor -------------------------------------------------------------------

  /// Registers Derived::read_ready() for readability (nothing if registered). Throws what
  /// EventLoop::add_reader throws.
  void add_reader() {
    if (reader_on_) return;
    loop_->add_reader(fd_, [self = &derived()] { self->read_ready(); });
    reader_on_ = true;
  }

  /// add_reader(), a failure being fatal (`message`). Returns whether the reader is registered.
  bool add_reader_or_fail(const char* message) {
    return fatal_if_throws([this] { add_reader(); }, message);
  }

  /// Registers Derived::write_ready() for writability (nothing if registered). Throws what
  /// EventLoop::add_writer throws.
  void add_writer() {
    if (writer_on_) return;
    loop_->add_writer(fd_, [self = &derived()] { self->write_ready(); });
    writer_on_ = true;
  }

  /// add_writer(), a failure being fatal (`message`). Returns whether the writer is registered.
  bool add_writer_or_fail(const char* message) {
    return fatal_if_throws([this] { add_writer(); }, message);
  }

  /// Runs `step`; an exception from it is fatal (`message`). Returns whether it succeeded.
  template <class Step>
  bool fatal_if_throws(Step step, const char* message) {
    try {
      step();
      return true;
    } catch (...) {
      fatal_error(std::current_exception(), message);
      return false;
    }
  }

  /// Unregisters the reader (nothing if not registered). Once abandoned, the loop already forgot it.
  void remove_reader() noexcept { unwatch(reader_on_, &EventLoop::remove_reader); }
  /// Unregisters the writer, as remove_reader().
  void remove_writer() noexcept { unwatch(writer_on_, &EventLoop::remove_writer); }

  /// remove_reader() and remove_writer(): `watching` is reader_on_ or writer_on_.
  void unwatch(bool& watching, bool (EventLoop::*remove)(int)) noexcept {
    if (!watching) return;
    watching = false;
    if (loop_ == nullptr) return;
    try {
      (loop_->*remove)(fd_);
    } catch (...) {  // only debug mode's wrong-thread check throws; the descriptor is closed soon
    }
  }

  /// The loop runs: callbacks may be scheduled and watches are real.
  [[nodiscard]] bool loop_usable() const noexcept { return loop_ != nullptr && !loop_->is_closed(); }

  // --- reading (read transports) -----------------------------------------------------------------

  /// pause_reading(): idempotent, as Python's.
  void pause_reading_now() {
    if (closing_ || paused_) return;
    paused_ = true;
    remove_reader();
    if (loop_ != nullptr && loop_->get_debug()) log(LogLevel::debug, derived().describe() + " pauses reading");
  }

  /// resume_reading(): idempotent. Before connection_made the reader is left to start().
  void resume_reading_now() {
    if (closing_ || !paused_) return;
    paused_ = false;
    if (started_) derived().watch_reads_again();
    if (loop_ != nullptr && loop_->get_debug()) log(LogLevel::debug, derived().describe() + " resumes reading");
  }

  // --- writing (write transports) ----------------------------------------------------------------

  /// A write after the connection was lost is dropped; from the threshold on, each one is logged
  /// with `warning` (Python's wording differs between sockets and pipes).
  void drop_write(const char* warning) {
    if (conn_lost_ >= kLogThresholdForConnLostWrites) log(LogLevel::warning, warning);
    ++conn_lost_;
  }

  /// _FlowControlMixin._maybe_pause_protocol: pause_writing() once the buffer is above the
  /// high-water mark. An exception from it is reported and the connection goes on.
  void maybe_pause_protocol() {
    if (derived().get_write_buffer_size() <= high_) return;
    if (protocol_paused_ || !protocol_) return;
    protocol_paused_ = true;
    try {
      protocol_->pause_writing();
    } catch (...) {
      report("protocol.pause_writing() failed", std::current_exception());
    }
  }

  /// _FlowControlMixin._maybe_resume_protocol: resume_writing() once the buffer is at or below the
  /// low-water mark after a pause.
  void maybe_resume_protocol() {
    if (!protocol_paused_ || derived().get_write_buffer_size() > low_) return;
    protocol_paused_ = false;
    if (!protocol_) return;
    try {
      protocol_->resume_writing();
    } catch (...) {
      report("protocol.resume_writing() failed", std::current_exception());
    }
  }

  /// set_write_buffer_limits(high, low): ValueError unless high >= low; may pause the protocol.
  void set_write_limits(std::size_t high, std::size_t low) {
    if (low > high) {
      throw ValueError("high (" + std::to_string(high) + ") must be >= low (" + std::to_string(low) + ") must be >= 0");
    }
    high_ = high;
    low_ = low;
    maybe_pause_protocol();
  }

  /// get_write_buffer_limits(): {low, high}.
  [[nodiscard]] std::pair<std::size_t, std::size_t> write_limits() const noexcept { return {low_, high_}; }

  // --- the end -----------------------------------------------------------------------------------

  /// Python's _SelectorTransport.close(): stops reading; connection_lost(null) follows at once if
  /// nothing is buffered, else once write_ready() has flushed it. Idempotent.
  void close_when_flushed() {
    if (closing_) return;
    closing_ = true;
    remove_reader();
    if (derived().get_write_buffer_size() == 0) {
      mark_lost();
      remove_writer();
      schedule_connection_lost(nullptr);
    }
  }

  /// Python's _fatal_error: reports `error` (unless Derived finds it quiet: then only debug mode
  /// logs it) under `message`, then force_close(error).
  void fatal_error(std::exception_ptr error, const char* message) {
    if (!derived().is_quiet_error(error)) {
      report(message, error);
    } else if (loop_ != nullptr && loop_->get_debug()) {
      log(LogLevel::debug, derived().describe() + ": " + message + ": " + describe_exception(error));
    }
    force_close(std::move(error));
  }

  /// Which fatal errors go unreported by default: OSErrors (connection resets and the like are how
  /// connections end, as in CPython's _fatal_error).
  [[nodiscard]] static bool is_quiet_error(const std::exception_ptr& error) noexcept { return is_os_error(error); }

  /// Python's _force_close: drops the write buffer, stops watching, and schedules
  /// connection_lost(error). Nothing once the connection is lost.
  void force_close(std::exception_ptr error) {
    if (lost_) return;
    derived().drop_write_buffer();
    remove_writer();
    closing_ = true;
    remove_reader();
    mark_lost();
    schedule_connection_lost(std::move(error));
  }

  /// The buffer a read transport does not have.
  void drop_write_buffer() noexcept {}

  /// The connection is lost: nothing but connection_lost reaches the protocol any more.
  void mark_lost() noexcept {
    lost_ = true;
    if constexpr (Derived::kCountsLoss) {
      if (conn_lost_ == 0) conn_lost_ = 1;
    }
  }

  /// connection_lost(error) from the next iteration. A closed loop runs nothing: its table
  /// abandons the transport instead.
  void schedule_connection_lost(std::exception_ptr error) {
    if (!loop_usable()) return;
    loop_->call_soon([this, error = std::move(error)]() mutable { call_connection_lost(std::move(error)); });
  }

  /// Python's _call_connection_lost: the protocol's connection_lost(error) (an exception from it is
  /// reported), then the protocol and the descriptor are released. May destroy the transport.
  void call_connection_lost(std::exception_ptr error) {
    mark_lost();
    closing_ = true;
    // The loop's reference goes last (it may be the only one): nothing touches *this after it.
    const std::shared_ptr<Derived> keep = std::move(self_);
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
    derived().clear_protocol_views();
    derived().release_resources();
  }

  /// Removes the watches, then has Derived close its descriptor (never a callback for a number the
  /// kernel may give to someone else), and leaves the table. Idempotent.
  void release_resources() noexcept {
    remove_reader();
    remove_writer();
    derived().release_descriptor();
    if (table_ != nullptr) std::exchange(table_, nullptr)->unlink(*this);
  }

  /// To the loop's exception handler, the transport described in the context's `handle` (Python's
  /// 'transport' key). Nothing once abandoned: the loop is gone.
  void report(const char* message, std::exception_ptr error) noexcept {
    if (loop_ == nullptr) return;
    try {
      loop_->call_exception_handler(ExceptionContext{message, std::move(error), {}, derived().describe()});
    } catch (...) {  // call_exception_handler does not throw; building the context might (memory)
    }
  }

  // --- description -------------------------------------------------------------------------------

  /// "<Name", " closed" or " closing", " fd=N": how every transport's repr begins.
  [[nodiscard]] std::string describe_head(const char* name, bool closed) const {
    std::string text = std::string("<") + name;
    if (closed) {
      text += " closed";
    } else if (closing_) {
      text += " closing";
    }
    return text + " fd=" + std::to_string(fd_);
  }

  /// The whole repr of a socket transport, as Python's _SelectorTransport.__repr__:
  /// "<Name fd=7 read=polling write=<idle, bufsize=0>>".
  [[nodiscard]] std::string describe_socket(const char* name, bool closed) const {
    std::string text = describe_head(name, closed);
    if (loop_usable()) {
      text += reader_on_ ? " read=polling" : " read=idle";
      text += std::string(" write=<") + (writer_on_ ? "polling" : "idle") +
              ", bufsize=" + std::to_string(derived().get_write_buffer_size()) + ">";
    }
    return text + ">";
  }

  EventLoop* loop_;        // null once abandoned
  TransportTable* table_;  // null once unlinked
  int fd_;                 // the descriptor watched (pipes: owned, -1 once closed)
  std::shared_ptr<BaseProtocol> protocol_;
  std::shared_ptr<BaseProtocol> retired_protocol_;  // replaced by set_protocol, kept until the next
  std::shared_ptr<Derived> self_;                   // the loop's reference
  std::size_t high_ = kDefaultHighWater;
  std::size_t low_ = kDefaultHighWater / 4;
  std::uint32_t conn_lost_ = 0;  // Python's _conn_lost: see kCountsLoss
  bool lost_ = false;
  bool closing_ = false;
  bool paused_ = false;   // pause_reading()
  bool started_ = false;  // connection_made has run
  bool protocol_paused_ = false;
  bool reader_on_ = false;
  bool writer_on_ = false;

 private:
  /// Python's _SelectorTransport's call_soon(connection_made) and what follows it: connection_made,
  /// then Derived's watches, then the waiter's result (unless it was cancelled meanwhile:
  /// futures._set_result_unless_cancelled).
  void start(Future<void>& waiter) {
    started_ = true;
    if (protocol_) {
      try {
        protocol_->connection_made(derived());
      } catch (...) {
        // CPython runs connection_made as a loop callback, whose exception the loop reports; the
        // protocol is then in no state to go on, so the transport closes (what it wrote still goes
        // out first) and connection_lost(nullptr) follows.
        report("Exception in callback protocol.connection_made()", std::current_exception());
        derived().close();
      }
    }
    derived().start_watching();
    if (waiter && !waiter.done()) waiter.set_result();
  }

  /// The loop is closing (its callbacks are already gone) and will run nothing more: the descriptor
  /// is closed and the protocol released without connection_lost.
  void abandon() noexcept override {
    const std::shared_ptr<Derived> keep = std::move(self_);
    loop_ = nullptr;
    reader_on_ = false;
    writer_on_ = false;
    closing_ = true;
    lost_ = true;
    if (conn_lost_ == 0) conn_lost_ = 1;
    derived().drop_write_buffer();
    derived().release_resources();
    const std::shared_ptr<BaseProtocol> protocol = std::move(protocol_);
    const std::shared_ptr<BaseProtocol> retired = std::move(retired_protocol_);
    derived().clear_protocol_views();
  }
};

}  // namespace asyncio::detail
