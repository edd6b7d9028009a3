#pragma once
/// Condition: Python's asyncio.Condition, a condition variable for tasks: wait until another task
/// notifies, with a lock held around both.
///
///   asyncio::Condition cond;                            // its own Lock; or Condition(&lock)
///   ... consumer:
///   auto held = co_await cond.hold();                   // Python's `async with cond:`
///   co_await cond.wait_for([&] { return !items.empty(); });
///   ... producer:
///   auto held = co_await cond.hold();
///   items.push_back(x);
///   cond.notify();                                      // or notify(n), notify_all()
///
/// wait() releases the lock, waits for a notification and re-acquires the lock before it returns
/// or raises, even when cancelled (the cancellation is raised once the lock is held again, as in
/// CPython). A waiter that was notified but leaves wait() with an exception passes its notification
/// on to the next waiter, so a cancellation never swallows a wake-up. Waiters are notified in FIFO
/// order. The condition binds to the running loop at its first wait().

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>

#include "asyncio/coro/coro.hpp"
#include "asyncio/sync/detail/owner_watch.hpp"
#include "asyncio/sync/lock.hpp"

namespace asyncio {

/// Python's asyncio.Condition.
///
/// Invariants (CPython 3.13 locks.py): `lock_` is the condition's own lock or the one given; a
/// waiter is queued only while its task, having released the lock, waits for its notification;
/// notify() completes futures of waiters still queued, and a notified waiter leaving with an
/// exception completes one more (so the number of wake-ups delivered never shrinks).
class Condition {
 public:
  /// Python's Condition(lock=None): uses `lock` (which must outlive the condition), or a Lock of
  /// its own if null.
  explicit Condition(Lock* lock = nullptr) noexcept : lock_(lock != nullptr ? lock : &own_lock_) {}
  /// Shared by address (its waiters point at it): neither copyable nor movable.
  Condition(const Condition&) = delete;
  Condition& operator=(const Condition&) = delete;
  /// Destroyed while tasks are inside wait(): they stay blocked until cancelled, then raise without
  /// touching it or re-acquiring the lock (one already notified raises RuntimeError); debug mode
  /// reports it.
  ~Condition() {
    if (!watchers_.empty()) [[unlikely]]
      detail::report_destroyed_while_waited("Condition", this, watchers_.size());
  }

  /// The underlying lock's acquire(), release(), locked() and hold(), as Python exports them.
  Lock::Acquire acquire() noexcept { return lock_->acquire(); }
  void release() { lock_->release(); }
  [[nodiscard]] bool locked() const noexcept { return lock_->locked(); }
  /// Python's `async with cond:`: a guard of the underlying lock.
  detail::Hold<Lock> hold() noexcept { return lock_->hold(); }

  /// Python's `await cond.wait()`: releases the lock, waits to be notified, re-acquires the lock,
  /// returns true. RuntimeError("cannot wait on un-acquired lock") if the lock is not held.
  /// Cancelled: still re-acquires the lock, then raises CancelledError (the latest one, if the
  /// re-acquiring was cancelled too). May return spuriously (a wake-up passed on by a waiter that
  /// left with an exception): re-check the state, or use wait_for().
  Coro<bool> wait();

  /// Python's `await cond.wait_for(predicate)`: calls `predicate()` and, while its value is false
  /// (contextually converted to bool), wait()s and calls it again; returns its last value. The lock
  /// must be held unless the predicate holds at once.
  template <class Predicate>
  requires std::invocable<Predicate&> Coro<std::decay_t<std::invoke_result_t<Predicate&>>> wait_for(
      Predicate predicate) {
    // A coroutine: the predicate is taken by value, so it lives in the frame.
    for (;;) {
      std::decay_t<std::invoke_result_t<Predicate&>> result = std::invoke(predicate);
      if (static_cast<bool>(result)) co_return std::move(result);
      co_await wait();
    }
  }

  /// Python's notify(n=1): wakes up to `n` waiters (FIFO) not already woken. They return from
  /// wait() only once they re-acquire the lock, which the caller still holds. RuntimeError("cannot
  /// notify on un-acquired lock") if the lock is not held.
  void notify(std::int64_t n = 1) {
    if (!locked()) throw RuntimeError("cannot notify on un-acquired lock");
    notify_unchecked(n);
  }

  /// Python's notify_all(): notify(number of waiters).
  void notify_all() { notify(static_cast<std::int64_t>(waiters_.size())); }

  /// How many tasks wait to be notified (Python's `len(cond._waiters)`, shown by repr()).
  [[nodiscard]] std::size_t waiter_count() const noexcept { return waiters_.size(); }

  /// "<asyncio::Condition object at 0x... [locked, waiters:2]>", as Python's repr.
  [[nodiscard]] std::string repr() const;

 private:
  /// Python's Condition._notify(n).
  void notify_unchecked(std::int64_t n) {
    if (n > 0 && !waiters_.empty()) waiters_.wake(static_cast<std::size_t>(n), *loop_);
  }

  EventLoop& get_loop() { return detail::bind_loop(loop_, *this); }

  Lock own_lock_;
  Lock* lock_;
  detail::WaiterQueue waiters_;
  detail::OwnerWatchList watchers_;  // the frames inside wait()
  EventLoop* loop_ = nullptr;
};

}  // namespace asyncio
