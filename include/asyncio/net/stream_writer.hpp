#pragma once
/// StreamWriter: Python's asyncio.StreamWriter, the writing half of a stream (streams.py): a thin
/// wrapper of a transport that adds drain() (wait while the transport's buffer is over its
/// high-water mark) and wait_closed().
///
///   writer.write("GET / HTTP/1.0\r\n\r\n");   // buffered by the transport, never blocks
///   co_await writer.drain();                  // returns at once unless writing is paused
///   writer.close();
///   co_await writer.wait_closed();
///
/// Ownership: a StreamWriter is move-only and holds its protocol (a FlowControlMixin) and reader by
/// std::shared_ptr, the transport by plain pointer. The transport lives until its protocol's
/// connection_lost() (net/transport.hpp), so once the protocol reports the connection lost (or
/// the loop is closed, which abandons open transports) the writer no longer touches it:
/// is_closing() is true, write() drops the data (as Python's transports do once the connection is
/// lost), close() and write_eof() do nothing, get_extra_info() is empty and transport() is null.
/// Destroying a writer whose connection is still open closes the transport (Python 3.13's
/// StreamWriter.__del__ does the same, with a ResourceWarning).

#include <any>
#include <coroutine>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "asyncio/coro/coro.hpp"
#include "asyncio/net/flow_control.hpp"
#include "asyncio/net/stream_reader.hpp"
#include "asyncio/net/transport.hpp"

namespace asyncio {

/// Python's asyncio.StreamWriter.
///
/// Invariants: a writer is empty (moved from) exactly when `protocol_` is null; otherwise
/// `transport_` is the transport `protocol_` is connected to, valid while
/// protocol_->transport_usable().
class StreamWriter {
 public:
  /// What drain() returns: an awaitable that finishes at once, without a coroutine frame, when the
  /// connection is open and writing is not paused (the common case: one per request in a server),
  /// and otherwise runs CPython's drain() as a Coro in place. Like a coroutine object it does
  /// nothing until awaited, and it can be awaited once; it is also a callable returning that Coro
  /// and converts to one, so create_task(writer.drain()) and wait_for(writer.drain(), t) work.
  class [[nodiscard]] Drain {
   public:
    class Awaiter {
     public:
      static constexpr bool asyncio_awaiter = true;
      explicit Awaiter(Drain& drain) noexcept : drain_(&drain) {}
      bool await_ready() { return drain_->ready(); }
      template <class P>
      bool await_suspend(std::coroutine_handle<P> awaiting) {
        drain_->slow_ = drain_->writer_->drain_slowly();
        return drain_->slow_.operator co_await().await_suspend(awaiting);
      }
      void await_resume() {
        if (drain_->slow_) drain_->slow_.operator co_await().await_resume();
      }

     private:
      Drain* drain_;
    };

    explicit Drain(const StreamWriter& writer) noexcept : writer_(&writer) {}

    Awaiter operator co_await() & noexcept { return Awaiter(*this); }
    Awaiter operator co_await() && noexcept { return Awaiter(*this); }

    /// The whole drain as a Coro (for create_task, wait_for, gather).
    Coro<void> operator()() const { return writer_->drain_slowly(); }
    operator Coro<void>() && { return (*this)(); }  // NOLINT: a drain is a Coro<void> to whoever wants one

   private:
    bool ready() const { return writer_->drain_ready(); }

    const StreamWriter* writer_;
    Coro<void> slow_;  // the slow path, once started
  };

  /// An empty writer (what a moved-from one is): every member but the destructor, assignment and
  /// is_empty() raises InvalidStateError.
  StreamWriter() noexcept = default;

  /// Python's StreamWriter(transport, protocol, reader, loop). `protocol` must be the protocol
  /// `transport` delivers to (its connection_lost tells the writer the transport is gone);
  /// `reader`, if given, is the reading half: drain() raises its exception() first.
  StreamWriter(WriteTransport& transport, std::shared_ptr<FlowControlMixin> protocol,
               std::shared_ptr<StreamReader> reader = nullptr);

  StreamWriter(StreamWriter&& other) noexcept;
  /// Closes this writer's connection (as the destructor does) and takes `other`'s.
  StreamWriter& operator=(StreamWriter&& other) noexcept;
  StreamWriter(const StreamWriter&) = delete;
  StreamWriter& operator=(const StreamWriter&) = delete;
  /// Closes the transport if the connection is open (and its loop neither closed nor gone).
  ~StreamWriter();

  /// True for a default-constructed or moved-from writer.
  [[nodiscard]] bool is_empty() const noexcept { return protocol_ == nullptr; }

  /// Python's `writer.transport`: the transport, or null once the connection is lost (it may be
  /// destroyed after that).
  [[nodiscard]] WriteTransport* transport() const;

  /// Python's write(data): hands `data` to the transport (which copies what it cannot send now).
  void write(std::string_view data) {
    if (WriteTransport* t = live()) t->write(data);
  }

  /// Python's writelines(list_of_data).
  void writelines(std::span<const std::string_view> data);
  void writelines(std::initializer_list<std::string_view> data) {
    writelines(std::span<const std::string_view>(data.begin(), data.size()));
  }

  /// Python's write_eof(): shut the write side down once the buffer is flushed.
  void write_eof();

  /// Python's can_write_eof() (as the transport answered when the writer was made).
  [[nodiscard]] bool can_write_eof() const;

  /// Python's close(): the transport flushes, then closes; wait_closed() waits for the end.
  void close();

  /// Python's is_closing(): close() was called, or the connection is lost or being lost.
  [[nodiscard]] bool is_closing() const;

  /// Python's wait_closed(): waits until the connection is lost; raises its error, if it ended
  /// with one. The writer need not outlive the returned Coro.
  [[nodiscard]] Coro<void> wait_closed() const;

  /// Python's get_extra_info(name, default=None): an empty std::any (or `default_value`) when the
  /// transport has no such information or the connection is lost.
  [[nodiscard]] std::any get_extra_info(std::string_view name, std::any default_value = {}) const;

  /// Python's drain(): raises the reader's exception if it has one (the connection's error); if
  /// the transport is closing, yields once (so that connection_lost can run) and raises
  /// ConnectionResetError("Connection lost") once it has; waits while writing is paused. The
  /// writer must outlive the returned awaitable (as it does in `co_await writer.drain()`).
  Drain drain() const noexcept { return Drain(*this); }

  /// The protocol the writer's transport delivers to.
  [[nodiscard]] const std::shared_ptr<FlowControlMixin>& protocol() const noexcept { return protocol_; }

  /// For start_tls (tls/streams.hpp): the connection now goes through `transport`, a transport
  /// layered over the old one that delivers to this writer's protocol.
  void replace_transport(WriteTransport& transport);

  /// "<StreamWriter transport=<...> reader=<StreamReader ...>>", as Python's repr.
  [[nodiscard]] std::string repr() const;

 private:
  /// Throws InvalidStateError for an empty writer.
  void check_not_empty() const {
    if (protocol_ == nullptr) throw_empty();
  }
  [[noreturn]] static void throw_empty();
  /// The transport while the connection is open, else null (throws if empty).
  [[nodiscard]] WriteTransport* live() const {
    check_not_empty();
    return protocol_->transport_usable() ? transport_ : nullptr;
  }
  [[nodiscard]] bool drain_ready() const;
  [[nodiscard]] Coro<void> drain_slowly() const;
  /// What the destructor does.
  void close_if_open() noexcept;

  WriteTransport* transport_ = nullptr;
  std::shared_ptr<FlowControlMixin> protocol_;
  std::shared_ptr<StreamReader> reader_;
  bool can_write_eof_ = false;
};

// Inline: the fast path of every drain().
inline bool StreamWriter::drain_ready() const {
  if (protocol_ == nullptr || !protocol_->drain_ready()) return false;
  if (reader_ != nullptr && reader_->exception() != nullptr) return false;
  return !transport_->is_closing();
}

}  // namespace asyncio
