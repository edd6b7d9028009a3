#pragma once
/// Pipe transports: Python's loop.connect_read_pipe / loop.connect_write_pipe and their transports,
/// _UnixReadPipeTransport and _UnixWritePipeTransport (CPython 3.13 base_events.py,
/// unix_events.py). They put a Protocol on one end of a pipe (a FIFO, a socket or a character
/// device also do), as the socket transports do on a connection; the streams
/// (StreamReaderProtocol, StreamWriter) then work on pipes too, and subprocesses use them for
/// their standard streams (process/process.hpp).
///
///   auto [r, w] = asyncio::open_pipe();                 // process/pipe.hpp
///   auto reader = std::make_shared<asyncio::StreamReader>();
///   auto in = co_await asyncio::connect_read_pipe(
///       [reader] { return std::make_shared<asyncio::StreamReaderProtocol>(reader); }, std::move(r));
///
/// The read transport (ReadPipeTransport), as Python's: connection_made runs in the iteration after
/// creation and reading starts right after it; each readiness reads at most 256 KiB into a buffer
/// the loop's transports share, and data_received gets a view of it. At EOF (the writers all
/// closed their end) it calls eof_received() and then connection_lost(null), whatever
/// eof_received() returns: a pipe cannot be half-closed. pause_reading()/resume_reading() stop and
/// restart reading. A read error is fatal: connection_lost(error) (EIO, what a pty gives when its
/// other side closes, quietly; any other error is also reported to the loop's exception handler).
///
/// The write transport (WritePipeTransport), as Python's: write() writes at once if nothing is
/// buffered and buffers the rest, which a writer sends as the pipe drains; flow control
/// (pause_writing/resume_writing, 64 KiB / 16 KiB) as the socket transports. It also watches its
/// own descriptor for readability, which on the write end of a pipe means that the reading end was
/// closed (the kernel reports EPOLLERR there): it then closes itself, with connection_lost(null) if
/// nothing was left to write and connection_lost(BrokenPipeError) if data was lost, so a
/// StreamWriter's drain() raises BrokenPipeError and no write waits forever. A write failing with
/// EPIPE ends it the same way. close() and write_eof() are the same thing (a pipe is closed to
/// signal EOF): the buffer is flushed, then the descriptor closed and connection_lost(null) called.
///
/// SIGPIPE: a write to a pipe whose reader is gone raises SIGPIPE, which kills a process that has
/// not ignored it. The first WritePipeTransport made sets SIGPIPE to SIG_IGN if it still has its
/// default disposition (as process/pipe.hpp's WritePipe does, and as CPython does at startup), so
/// the write fails with EPIPE instead; a handler the program installed is left alone
/// (net/sigpipe.hpp).
///
/// Descriptors: the transport takes the descriptor over and closes it after connection_lost (or
/// when the loop closes first). It makes it non-blocking (the open file description is shared
/// with whoever else has it: for an inherited stdin, the parent shell's terminal too, as in
/// CPython) and close-on-exec, except 0, 1 and 2, which children expect to inherit.
///
/// Lifetime: as SocketTransport (net/socket_transport.hpp): the loop keeps a transport alive until
/// connection_lost has returned; if the loop closes first the transport is abandoned (descriptor
/// closed, protocol released without connection_lost).
///
/// Differences from CPython:
///  - an exception thrown by data_received() is fatal, as on SocketTransport (CPython lets it
///    escape to the loop, which logs it, and keeps reading); one thrown by connection_made() is
///    reported and the transport closed (CPython only logs it); one thrown by
///    eof_received() is reported and connection_lost still follows.
///  - the read transport takes a Protocol only (as CPython's: no BufferedProtocol).
///
/// Loop-thread-only.

#include <any>
#include <concepts>
#include <cstddef>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "asyncio/coro/coro.hpp"
#include "asyncio/net/fd_transport.hpp"
#include "asyncio/net/protocol.hpp"
#include "asyncio/net/protocol_factory.hpp"
#include "asyncio/net/transport.hpp"
#include "asyncio/net/transport_table.hpp"
#include "asyncio/task/future.hpp"

namespace asyncio {

class EventLoop;

/// Python's _UnixReadPipeTransport.
///
/// Invariants (besides detail::FdTransport's, net/fd_transport.hpp): `closing_` once close(), EOF
/// or an error began the end; the reader is registered between connection_made and closing, unless
/// paused; `fd_` is open until connection_lost returned or the transport was abandoned.
class ReadPipeTransport final : public ReadTransport,
                                public std::enable_shared_from_this<ReadPipeTransport>,
                                private detail::FdTransport<ReadPipeTransport> {
  struct Private {};
  using Base = detail::FdTransport<ReadPipeTransport>;
  friend Base;

 public:
  /// Python's loop._make_read_pipe_transport(pipe, protocol, waiter): a transport reading `fd` for
  /// `protocol` (a Protocol: TypeError otherwise). ValueError "Pipe transport is for
  /// pipes/sockets only." unless `fd` is a FIFO, a socket or a character device; OSError EBADF if
  /// it is not open. If this throws, `fd` is still the caller's; otherwise the transport owns it.
  /// connection_made runs in the next iteration; then reading starts and `waiter` gets its result.
  static std::shared_ptr<ReadPipeTransport> create(EventLoop& loop, int fd, std::shared_ptr<BaseProtocol> protocol,
                                                   Future<void> waiter = {});

  /// Use create().
  ReadPipeTransport(Private, EventLoop& loop, detail::TransportTable& table, int fd);
  ~ReadPipeTransport() override;

  /// "pipe": the descriptor (int; -1 once closed).
  [[nodiscard]] std::any get_extra_info(std::string_view name) const override;
  [[nodiscard]] bool is_closing() const noexcept override { return closing_; }
  /// Stops reading; connection_lost(null) follows in a later iteration. Idempotent.
  void close() override;
  /// TypeError unless `protocol` is a Protocol.
  void set_protocol(std::shared_ptr<BaseProtocol> protocol) override;
  [[nodiscard]] std::shared_ptr<BaseProtocol> get_protocol() const override { return protocol_; }

  [[nodiscard]] bool is_reading() const noexcept override { return !paused_ && !closing_; }
  void pause_reading() override { pause_reading_now(); }
  void resume_reading() override { resume_reading_now(); }

  /// The descriptor (-1 once closed).
  [[nodiscard]] int fileno() const noexcept { return fd_; }
  /// "<ReadPipeTransport fd=7 polling>", as Python's repr.
  [[nodiscard]] std::string describe() const;

 private:
  /// Only failed and dropped writes count in conn_lost_, as in unix_events.py (it has no writes).
  static constexpr bool kCountsLoss = false;

  // Base's hooks (net/fd_transport.hpp).
  void start_watching();
  void watch_reads_again();
  void undo_start() noexcept;
  void release_descriptor() noexcept;
  void clear_protocol_views() noexcept { stream_protocol_ = nullptr; }
  /// EIO, what a pty's master reads once the slave side is closed, is an end, not a failure.
  [[nodiscard]] static bool is_quiet_error(const std::exception_ptr& error) noexcept;

  void read_ready();
  void on_eof();

  Protocol* stream_protocol_ = nullptr;  // protocol_ as a Protocol
};

/// Python's _UnixWritePipeTransport.
///
/// Invariants (besides detail::FdTransport's, net/fd_transport.hpp): `closing_` once
/// close()/write_eof()/abort(), the reader's departure or an error began the end (writes are then
/// dropped, as CPython's); `conn_lost_` counts the writes dropped after an error (and is > 0 from
/// the error on); the writer is registered iff bytes
/// are buffered and the end has not come; the reader (the peer-close watch) from connection_made
/// until the end, for a FIFO or a socket.
class WritePipeTransport final : public WriteTransport,
                                 public std::enable_shared_from_this<WritePipeTransport>,
                                 private detail::FdTransport<WritePipeTransport> {
  struct Private {};
  using Base = detail::FdTransport<WritePipeTransport>;
  friend Base;

 public:
  /// Default high-water mark of the write buffer (low: a quarter of it).
  static constexpr std::size_t kDefaultHighWater = detail::kDefaultHighWater;

  /// Python's loop._make_write_pipe_transport(pipe, protocol, waiter): a transport writing `fd`
  /// for `protocol` (any BaseProtocol: it gets connection_made, connection_lost and flow control).
  /// ValueError "Pipe transport is only for pipes, sockets and character devices" otherwise;
  /// OSError EBADF if it is not open. If this throws, `fd` is still the caller's; otherwise the
  /// transport owns it. connection_made runs in the next iteration; then, for a FIFO or a socket,
  /// the descriptor is watched for the reader's departure, and `waiter` gets its result.
  static std::shared_ptr<WritePipeTransport> create(EventLoop& loop, int fd, std::shared_ptr<BaseProtocol> protocol,
                                                    Future<void> waiter = {});

  /// Use create(). `watch_peer`: watch the descriptor for the reader's departure.
  WritePipeTransport(Private, EventLoop& loop, detail::TransportTable& table, int fd, bool watch_peer);
  ~WritePipeTransport() override;

  /// "pipe": the descriptor (int; -1 once closed).
  [[nodiscard]] std::any get_extra_info(std::string_view name) const override;
  [[nodiscard]] bool is_closing() const noexcept override { return closing_; }
  /// write_eof(): flush, then close the descriptor. Idempotent.
  void close() override;
  void set_protocol(std::shared_ptr<BaseProtocol> protocol) override;
  [[nodiscard]] std::shared_ptr<BaseProtocol> get_protocol() const override { return protocol_; }

  /// Writes now what the pipe takes and buffers the rest (copied). Dropped, as CPython's, after
  /// close(), write_eof() or abort(), and once the reader went away or a write failed.
  void write(std::string_view data) override;
  /// As one write() of the concatenation.
  void writelines(std::span<const std::string_view> data) override;
  /// Closes the pipe once the buffer is flushed: the reader sees EOF; connection_lost(null) follows.
  void write_eof() override;
  [[nodiscard]] bool can_write_eof() const noexcept override { return true; }
  /// Drops the buffer and closes; connection_lost(null) follows.
  void abort() override;
  [[nodiscard]] std::size_t get_write_buffer_size() const noexcept override { return buffer_.size(); }
  using WriteTransport::set_write_buffer_limits;
  void set_write_buffer_limits(std::size_t high, std::size_t low) override { set_write_limits(high, low); }
  [[nodiscard]] std::pair<std::size_t, std::size_t> get_write_buffer_limits() const noexcept override {
    return write_limits();
  }

  /// The descriptor (-1 once closed).
  [[nodiscard]] int fileno() const noexcept { return fd_; }
  /// "<WritePipeTransport fd=8 idle bufsize=0>", as Python's repr.
  [[nodiscard]] std::string describe() const;

 private:
  /// Only failed and dropped writes count in conn_lost_, as in unix_events.py.
  static constexpr bool kCountsLoss = false;

  // Base's hooks (net/fd_transport.hpp).
  void start_watching();
  void undo_start() noexcept;
  void release_descriptor() noexcept;
  void drop_write_buffer() noexcept { buffer_.clear(); }
  /// Every exception but an OSError with an errno (a gaierror's EAI code is negative) is reported.
  [[nodiscard]] static bool is_quiet_error(const std::exception_ptr& error) noexcept;

  /// Python's _read_ready: on the write end of a pipe, readability means the reader went away.
  void read_ready();
  void write_ready();
  /// add_writer(), a failure being fatal (and counted as a failed write, as in CPython).
  bool add_writer_counted();

  detail::WriteBuffer buffer_;
  bool watch_peer_;  // a FIFO or a socket: the reader's departure shows as readability
};

/// A callable returning std::shared_ptr<P>, P derived from Protocol (what reads a pipe).
template <class F>
concept ReadPipeProtocolFactory = std::invocable<F&> && requires {
  typename std::invoke_result_t<F&>::element_type;
} && std::same_as<std::invoke_result_t<F&>, std::shared_ptr<protocol_of_t<F>>> &&
    std::derived_from<protocol_of_t<F>, Protocol>;

/// A callable returning std::shared_ptr<P>, P derived from BaseProtocol (what writes a pipe).
template <class F>
concept WritePipeProtocolFactory = std::invocable<F&> && requires {
  typename std::invoke_result_t<F&>::element_type;
} && std::same_as<std::invoke_result_t<F&>, std::shared_ptr<protocol_of_t<F>>> &&
    std::derived_from<protocol_of_t<F>, BaseProtocol>;

/// An owner of a descriptor that can give it up: ReadPipe and WritePipe (process/pipe.hpp), Socket.
template <class T>
concept DetachableDescriptor = std::movable<T> && requires(T& owner) {
  { owner.detach() } -> std::convertible_to<int>;
};

namespace detail {

/// Python's connect_read_pipe after the factory: makes the transport for `fd` and returns once
/// connection_made has run (closing the transport if the wait fails or is cancelled). If the
/// transport cannot be made, `fd` is closed when `owned`, else left to the caller.
Coro<std::shared_ptr<ReadTransport>> start_read_pipe(int fd, bool owned, std::shared_ptr<BaseProtocol> protocol);

/// The same for connect_write_pipe.
Coro<std::shared_ptr<WriteTransport>> start_write_pipe(int fd, bool owned, std::shared_ptr<BaseProtocol> protocol);

}  // namespace detail

/// Python's loop.connect_read_pipe(protocol_factory, pipe) with a descriptor: the read transport
/// takes `fd` over (see ReadPipeTransport::create; if this fails, `fd` is still the caller's).
/// Returns {transport, protocol} once connection_made has run.
template <ReadPipeProtocolFactory F>
Coro<std::pair<std::shared_ptr<ReadTransport>, std::shared_ptr<protocol_of_t<F>>>> connect_read_pipe(F protocol_factory,
                                                                                                     int fd) {
  std::shared_ptr<protocol_of_t<F>> protocol = protocol_factory();
  std::shared_ptr<ReadTransport> transport = co_await detail::start_read_pipe(fd, false, protocol);
  co_return std::pair{std::move(transport), std::move(protocol)};
}

/// connect_read_pipe with an owner of the descriptor (a ReadPipe from open_pipe(), a Socket): its
/// descriptor goes to the transport (closed if the transport cannot be made). RuntimeError if a
/// ReadPipe operation is still in progress; OSError EBADF for a closed pipe.
template <ReadPipeProtocolFactory F, DetachableDescriptor Pipe>
Coro<std::pair<std::shared_ptr<ReadTransport>, std::shared_ptr<protocol_of_t<F>>>> connect_read_pipe(F protocol_factory,
                                                                                                     Pipe pipe) {
  std::shared_ptr<protocol_of_t<F>> protocol = protocol_factory();
  const int fd = pipe.detach();
  std::shared_ptr<ReadTransport> transport = co_await detail::start_read_pipe(fd, true, protocol);
  co_return std::pair{std::move(transport), std::move(protocol)};
}

/// Python's loop.connect_write_pipe(protocol_factory, pipe) with a descriptor: the write transport
/// takes `fd` over (see WritePipeTransport::create; if this fails, `fd` is still the caller's).
/// Returns {transport, protocol} once connection_made has run.
template <WritePipeProtocolFactory F>
Coro<std::pair<std::shared_ptr<WriteTransport>, std::shared_ptr<protocol_of_t<F>>>> connect_write_pipe(
    F protocol_factory, int fd) {
  std::shared_ptr<protocol_of_t<F>> protocol = protocol_factory();
  std::shared_ptr<WriteTransport> transport = co_await detail::start_write_pipe(fd, false, protocol);
  co_return std::pair{std::move(transport), std::move(protocol)};
}

/// connect_write_pipe with an owner of the descriptor (a WritePipe from open_pipe(), a Socket), as
/// connect_read_pipe's.
template <WritePipeProtocolFactory F, DetachableDescriptor Pipe>
Coro<std::pair<std::shared_ptr<WriteTransport>, std::shared_ptr<protocol_of_t<F>>>> connect_write_pipe(
    F protocol_factory, Pipe pipe) {
  std::shared_ptr<protocol_of_t<F>> protocol = protocol_factory();
  const int fd = pipe.detach();
  std::shared_ptr<WriteTransport> transport = co_await detail::start_write_pipe(fd, true, protocol);
  co_return std::pair{std::move(transport), std::move(protocol)};
}

}  // namespace asyncio
