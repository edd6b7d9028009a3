#pragma once
/// FlowControlMixin: Python's asyncio.streams.FlowControlMixin, the protocol side of
/// StreamWriter::drain(). It follows the transport's pause_writing()/resume_writing() calls and
/// lets drain() wait while writing is paused; connection_lost() wakes the waiters (with the error,
/// if any) and makes later drains raise ConnectionResetError.
///
/// StreamReaderProtocol derives from it; so can any protocol that hands a StreamWriter out. A class
/// that overrides pause_writing, resume_writing or connection_lost must call these (as in Python).

#include <exception>
#include <vector>

#include "asyncio/coro/coro.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/net/protocol.hpp"
#include "asyncio/task/future.hpp"

namespace asyncio {

/// Python's FlowControlMixin, with the close waiter of StreamReaderProtocol (Python's `_closed`)
/// moved here, so that every protocol a StreamWriter can wrap has one.
///
/// Invariants: `drain_waiters_` holds the futures of the drain() calls waiting; they wait only
/// while `paused_`, and each is removed by its own drain when it leaves. `lost_` becomes true in
/// connection_lost() and stays; `closed_` is completed then (result, or the connection's error).
class FlowControlMixin : public Protocol {
 public:
  /// Binds to the running loop (RuntimeError "no running event loop" outside one, as Python's
  /// StreamReaderProtocol without a loop).
  FlowControlMixin();
  /// Marks the close waiter's exception retrieved (Python's StreamReaderProtocol.__del__), so a
  /// connection that ended with an error nobody waited for is not reported.
  ~FlowControlMixin() override;

  void pause_writing() override;
  /// Wakes every drain() waiting.
  void resume_writing() override;
  /// Completes the close waiter and wakes the drain() calls waiting: with `error` if not null.
  void connection_lost(std::exception_ptr error) override;

  /// Python's _drain_helper(): ConnectionResetError ("Connection lost") if the connection is
  /// lost; returns at once unless writing is paused; else waits for resume_writing() or
  /// connection_lost() (which raises its error, if any, here). Several tasks may wait at once.
  Coro<void> drain_helper();

  /// Python's _get_close_waiter(stream): a future completed when the connection is lost, with its
  /// error if it had one. StreamWriter::wait_closed() awaits it.
  virtual Future<void> close_waiter() { return closed_; }

  /// True while the transport has paused writing.
  [[nodiscard]] bool is_writing_paused() const noexcept { return paused_; }
  /// True once connection_lost() was called: the transport may be gone.
  [[nodiscard]] bool is_connection_lost() const noexcept { return lost_; }
  /// drain() would return at once: connected and not paused.
  [[nodiscard]] bool drain_ready() const noexcept { return !lost_ && !paused_; }
  /// The loop this protocol belongs to, or null once it was destroyed.
  [[nodiscard]] EventLoop* loop_or_null() const noexcept { return closed_.get_loop_ptr(); }
  /// The transport may be used: the connection is not lost and the loop is neither closed nor
  /// destroyed (a closing loop abandons its open transports without connection_lost).
  [[nodiscard]] bool transport_usable() const noexcept {
    if (lost_) return false;
    const EventLoop* loop = loop_or_null();
    return loop != nullptr && !loop->is_closed();
  }

 private:
  Future<void> closed_;
  std::vector<Future<void>> drain_waiters_;
  bool paused_ = false;
  bool lost_ = false;
};

}  // namespace asyncio
