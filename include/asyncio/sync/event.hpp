#pragma once
/// Event: Python's asyncio.Event, a flag that tasks can wait for.
///
///   asyncio::Event ready;
///   ... in a task:   co_await ready.wait();   // returns true once the flag is set
///   ... elsewhere:   ready.set();             // wakes every waiter; later waits do not block
///   ready.clear();                            // later waits block again
///
/// set() wakes every task waiting at that moment, in FIFO order; a clear() right after does not take
/// the wake-up back (the waiters already woken return true). The event binds to the running loop
/// the first time a task waits on it; a task of another loop waiting later raises RuntimeError.

#include <coroutine>
#include <cstddef>
#include <string>

#include "asyncio/coro/coro.hpp"
#include "asyncio/sync/lock.hpp"

namespace asyncio {

/// Python's asyncio.Event.
///
/// Invariants (CPython 3.13 locks.py): `value_` is the flag; while it is set no waiter is pending
/// (set() completed them all, and wait() does not queue when set); a queued waiter leaves the queue
/// only when its own task resumes.
class Event {
 public:
  /// The awaiter of `co_await event.wait()`: returns at once if the flag is set, else queues the
  /// task and parks it.
  class WaitAwaiter {
   public:
    static constexpr bool asyncio_awaiter = true;

    explicit WaitAwaiter(Event& event) noexcept : event_(&event) {}
    // Movable before it is awaited; its waiter is queued only in await_suspend, where it no
    // longer moves.
    WaitAwaiter(WaitAwaiter&& other) noexcept : event_(other.event_) {}
    WaitAwaiter& operator=(const WaitAwaiter&) = delete;

    bool await_ready() const noexcept { return event_->value_; }

    template <class P>
    void await_suspend(std::coroutine_handle<P> awaiting) {
      event_->get_loop();  // binds the event, or raises RuntimeError before parking
      node_.park(event_->waiters_, awaiting);
    }

    bool await_resume() {
      if (node_.parked()) node_.finish();
      return true;
    }

   private:
    Event* event_;
    detail::SyncWaiter node_;
  };

  /// What wait() returns (see detail::SyncCall).
  using Wait = detail::SyncCall<Event, WaitAwaiter>;

  Event() = default;
  /// Shared by address (its waiters point at it): neither copyable nor movable.
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  /// Destroyed while tasks wait: they stay blocked until cancelled (one already woken by set()
  /// returns normally); debug mode reports it.
  ~Event() {
    if (!waiters_.empty()) [[unlikely]]
      detail::report_destroyed_while_waited("Event", this, waiters_.size());
  }

  /// Python's is_set().
  [[nodiscard]] bool is_set() const noexcept { return value_; }

  /// Python's set(): sets the flag and wakes every task waiting now (no-op if already set).
  void set() {
    if (value_) return;
    value_ = true;
    if (!waiters_.empty()) waiters_.wake_all(*loop_);
  }

  /// Python's clear(): later wait() calls block until the next set().
  void clear() noexcept { value_ = false; }

  /// Python's `await event.wait()`: returns true once the flag is set (at once if it is). Raises
  /// CancelledError if cancelled while waiting, RuntimeError if it has to wait and the event is
  /// bound to another loop.
  Wait wait() noexcept { return Wait(*this); }

  /// How many tasks are queued (Python's `len(event._waiters)`, shown by repr()).
  [[nodiscard]] std::size_t waiter_count() const noexcept { return waiters_.size(); }

  /// "<asyncio::Event object at 0x... [unset, waiters:2]>", as Python's repr.
  [[nodiscard]] std::string repr() const {
    return detail::sync_repr("Event", this, value_ ? "set" : "unset", waiters_.size());
  }

 private:
  EventLoop& get_loop() { return detail::bind_loop(loop_, *this); }

  detail::WaiterQueue waiters_;
  EventLoop* loop_ = nullptr;
  bool value_ = false;
};

}  // namespace asyncio
