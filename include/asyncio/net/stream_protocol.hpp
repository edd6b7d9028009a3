#pragma once
/// StreamReaderProtocol: Python's asyncio.StreamReaderProtocol, the adapter between a transport
/// and the streams: it feeds what the transport receives to a StreamReader, follows the
/// transport's flow control for StreamWriter::drain() (FlowControlMixin), and, for a server
/// (start_server), gives each new connection's reader and writer to the client_connected callback,
/// run as a Task.
///
///   auto reader = std::make_shared<asyncio::StreamReader>();
///   auto protocol = std::make_shared<asyncio::StreamReaderProtocol>(reader);
///   // ... the transport calls protocol->connection_made(transport), data_received(...), ...
///   asyncio::StreamWriter writer(transport, protocol, reader);
///
/// Ownership: transports hold their protocol by std::shared_ptr, and so must everyone else: a
/// StreamReaderProtocol made otherwise cannot start a client_connected callback. The protocol
/// holds its reader by std::shared_ptr until connection_lost (Python holds a weak reference, and
/// drops data once the user dropped the reader; here it is buffered, up to the pause at 2 * limit).

#include <exception>
#include <functional>
#include <memory>
#include <string_view>
#include <type_traits>
#include <utility>

#include "asyncio/coro/coro.hpp"
#include "asyncio/net/flow_control.hpp"
#include "asyncio/net/stream_reader.hpp"
#include "asyncio/net/stream_writer.hpp"
#include "asyncio/task/task.hpp"

namespace asyncio {

class BaseTransport;

namespace detail {

// clang-format 14 reads these type traits as comparisons: keep them as written.
// clang-format off

/// client_connected_cb as a coroutine function: fn(reader, writer) returns a Coro<void>.
template <class F>
concept ClientCoroutineFunction =
    std::is_invocable_r_v<Coro<void>, std::decay_t<F>&, std::shared_ptr<StreamReader>, StreamWriter>;

/// client_connected_cb as a plain function: fn(reader, writer) returns nothing.
template <class F>
concept ClientPlainFunction =
    std::is_invocable_v<std::decay_t<F>&, std::shared_ptr<StreamReader>, StreamWriter> &&
    std::is_void_v<std::invoke_result_t<std::decay_t<F>&, std::shared_ptr<StreamReader>, StreamWriter>>;

// clang-format on

}  // namespace detail

/// Python's client_connected_cb of start_server: called with each connection's reader and writer.
/// Either a coroutine function (a callable returning Coro<void>), which runs as a new Task, or a
/// plain function (returning void), called inside connection_made.
///
/// The callable is kept (by the server's protocol factory and by each running Task) as long as a
/// connection may still call it, so a lambda's captures stay valid while its coroutine runs.
///
/// The writer owns the connection: when the handler (or whoever it moved the writer to) lets it
/// go, the connection is closed. A coroutine handler that returns therefore closes it; a plain
/// function must move the writer somewhere (a task it starts) to keep the connection open.
class ClientConnectedCallback {
 public:
  using CoroutineFunction = std::function<Coro<void>(std::shared_ptr<StreamReader>, StreamWriter)>;
  using PlainFunction = std::function<void(std::shared_ptr<StreamReader>, StreamWriter)>;

  template <detail::ClientCoroutineFunction F>
  ClientConnectedCallback(F&& fn)  // NOLINT: a callable is a callback
      : coroutine_(std::forward<F>(fn)) {}

  template <detail::ClientPlainFunction F>
  ClientConnectedCallback(F&& fn)  // NOLINT: a callable is a callback
      : plain_(std::forward<F>(fn)) {}

  /// True for a coroutine function (its calls run as Tasks).
  [[nodiscard]] bool is_coroutine_function() const noexcept { return static_cast<bool>(coroutine_); }

  /// Calls the coroutine function (precondition: is_coroutine_function()).
  [[nodiscard]] Coro<void> call_coroutine(std::shared_ptr<StreamReader> reader, StreamWriter writer) const {
    return coroutine_(std::move(reader), std::move(writer));
  }
  /// Calls the plain function (precondition: !is_coroutine_function()).
  void call_plain(std::shared_ptr<StreamReader> reader, StreamWriter writer) const {
    plain_(std::move(reader), std::move(writer));
  }

 private:
  CoroutineFunction coroutine_;
  PlainFunction plain_;
};

/// Python's asyncio.StreamReaderProtocol.
///
/// Invariants: `transport_` is set from connection_made to connection_lost (the transport is
/// alive exactly then); `reader_` is held until connection_lost; a client task is tracked in
/// `task_` while it runs and the connection is open (never longer: its frame holds the writer,
/// which holds this protocol).
class StreamReaderProtocol : public FlowControlMixin, public std::enable_shared_from_this<StreamReaderProtocol> {
 public:
  /// Python's StreamReaderProtocol(stream_reader): for a client (open_connection) or a pipe.
  /// `reader` may be null (data is then dropped). Needs a running loop (see FlowControlMixin).
  explicit StreamReaderProtocol(std::shared_ptr<StreamReader> reader);

  /// Python's StreamReaderProtocol(stream_reader, client_connected_cb): for a server connection.
  /// The callback is shared, not copied: a server shares one among all its connections.
  StreamReaderProtocol(std::shared_ptr<StreamReader> reader, std::shared_ptr<const ClientConnectedCallback> callback);

  /// Gives the transport to the reader (for pause_reading/resume_reading); for a server
  /// connection, makes the StreamWriter and calls the callback: a coroutine function runs as a
  /// Task. If that Task is cancelled the transport is closed; if it fails, the error goes to the
  /// loop's exception handler ("Unhandled exception in client_connected_cb") and the transport is
  /// closed (CPython 3.12+). A plain function that throws is handled the same way.
  void connection_made(BaseTransport& transport) override;

  /// Ends the reader (feed_eof, or set_exception(error)), completes the close waiter, wakes the
  /// drains (FlowControlMixin), and forgets the transport, the reader and the task.
  void connection_lost(std::exception_ptr error) override;

  /// reader.feed_data(data).
  void data_received(std::string_view data) override;

  /// reader.feed_eof(); returns true, keeping the connection half-open for the writer, except
  /// over TLS (a transport with the "sslcontext" extra), which has no half-close.
  bool eof_received() override;

  /// The reader (null after connection_lost).
  [[nodiscard]] const std::shared_ptr<StreamReader>& reader() const noexcept { return reader_; }
  /// The transport between connection_made and connection_lost, else null.
  [[nodiscard]] BaseTransport* transport() const noexcept { return transport_; }
  /// For start_tls (Python's _replace_transport): the connection now goes through `transport`.
  void replace_transport(BaseTransport& transport);
  /// Whether this protocol serves a server's connection (it has a client_connected callback).
  [[nodiscard]] bool serves_a_client() const noexcept { return callback_ != nullptr; }
  /// The Task running the client_connected callback, until it finishes or the connection is lost
  /// (else empty). Holding a copy keeps the handler's frame, and so its writer, alive.
  [[nodiscard]] const Task<void>& client_task() const noexcept { return task_; }

 private:
  /// The client_connected callback failed (or its task was cancelled, `error` null): report the
  /// error and close the transport, if the connection is still open.
  void client_failed(std::exception_ptr error, const std::string& task_repr);

  std::shared_ptr<StreamReader> reader_;
  std::shared_ptr<const ClientConnectedCallback> callback_;
  BaseTransport* transport_ = nullptr;
  Task<void> task_;
  bool over_ssl_ = false;
};

}  // namespace asyncio
