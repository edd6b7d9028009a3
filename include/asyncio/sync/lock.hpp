#pragma once
/// Lock: Python's asyncio.Lock, a mutual-exclusion lock for tasks on one loop.
///
///   asyncio::Lock lock;
///   {
///     auto held = co_await lock.hold();   // Python's `async with lock:`
///     ...                                 // released when `held` goes out of scope
///   }
///   co_await lock.acquire();              // or by hand, as in Python
///   lock.release();
///
/// Fair, as CPython 3.13's: waiters acquire in FIFO order, and a task arriving while others wait
/// queues behind them (it may take the lock at once only when every waiter has been cancelled).
/// A waiter cancelled while waiting, or cancelled after release() chose it, never loses the lock
/// for the others: it passes it to the next waiter (Lock._wake_up_first).
///
/// The lock is not owned by a task: any task may release it. It belongs to one loop: it binds to
/// the running loop the first time a task has to wait on it (asyncio's _LoopBoundMixin) and raises
/// RuntimeError if a task of another loop waits on it later. As in CPython, the paths that do not
/// wait (an uncontended acquire, release) do not check the loop.

#include <coroutine>
#include <cstddef>
#include <string>

#include "asyncio/coro/coro.hpp"
#include "asyncio/exceptions.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/sync/detail/owner_watch.hpp"
#include "asyncio/sync/held.hpp"
#include "asyncio/sync/waiter_queue.hpp"
#include "asyncio/task/future.hpp"

namespace asyncio {

/// Python's asyncio.Lock.
///
/// Invariants (CPython 3.13 locks.py):
///  - `locked_` says whether some task holds the lock; it is set only by the acquiring task itself,
///    on the fast path or when its wait ends;
///  - a queued waiter stays queued until its own task resumes (woken, cancelled or failed) and
///    removes itself; a waiter whose future is done is "about to take the lock" (or to pass it on
///    if it turns out cancelled);
///  - while unlocked with a queued waiter not cancelled, the first queued waiter's future is done
///    (release() and a cancelled waiter's exit both call wake_up_first()), so nobody is forgotten.
class Lock {
 public:
  /// The awaiter of `co_await lock.acquire()`: takes the lock at once if it is free and nobody
  /// waits (no suspension); otherwise queues the task and parks it.
  class AcquireAwaiter {
   public:
    static constexpr bool asyncio_awaiter = true;

    explicit AcquireAwaiter(Lock& lock) noexcept : lock_(&lock) {}
    // Movable before it is awaited; its waiter is queued only in await_suspend, where it no
    // longer moves.
    AcquireAwaiter(AcquireAwaiter&& other) noexcept : lock_(other.lock_) {}
    AcquireAwaiter& operator=(const AcquireAwaiter&) = delete;

    bool await_ready() noexcept {
      // Fair: jumping the queue is allowed only when every waiter has been cancelled.
      if (!lock_->locked_ && lock_->waiters_.all_cancelled()) {
        lock_->locked_ = true;
        return true;
      }
      return false;
    }

    template <class P>
    void await_suspend(std::coroutine_handle<P> awaiting) {
      lock_->get_loop();  // binds the lock, or raises RuntimeError before parking
      node_.park(lock_->waiters_, awaiting);
    }

    bool await_resume() {
      if (!node_.parked()) return true;  // taken on the fast path
      if (node_.orphaned()) [[unlikely]]
        node_.finish_orphaned("Lock");
      try {
        node_.finish();
      } catch (const CancelledError&) {
        // Chosen by release() (or not): if the lock is still free, the next waiter must run.
        if (!lock_->locked_) lock_->wake_up_first();
        throw;
      }
      lock_->locked_ = true;
      return true;
    }

   private:
    Lock* lock_;
    detail::SyncWaiter node_;
  };

  /// What acquire() returns (see detail::SyncCall).
  using Acquire = detail::SyncCall<Lock, AcquireAwaiter>;

  Lock() = default;
  /// A lock is shared by address (its waiters point at it): neither copyable nor movable.
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;
  /// A Lock destroyed while tasks wait to acquire it leaves them blocked until they are cancelled
  /// (then they raise CancelledError without touching it; one already chosen raises RuntimeError),
  /// and a guard (Held) still holding it then releases nothing; debug mode reports both. A plain
  /// release() after the Lock is gone is a use-after-free: see docs/design.md, "Lifetimes".
  ~Lock() {
    if (!waiters_.empty()) [[unlikely]]
      detail::report_destroyed_while_waited("Lock", this, waiters_.size());
    if (holder_ != nullptr) [[unlikely]] {
      holder_->mark_gone();
      detail::report_destroyed_while_held("Lock", this);
    }
  }

  /// Python's `await lock.acquire()`: waits until the lock is free and this task's turn has come,
  /// takes it, returns true. Cancelled while waiting: raises CancelledError and does not hold it.
  /// RuntimeError if it has to wait and the lock is bound to another loop.
  Acquire acquire() noexcept { return Acquire(*this); }

  /// Python's `async with lock:`: `auto held = co_await lock.hold();` acquires and gives a guard
  /// that releases on scope exit.
  detail::Hold<Lock> hold() noexcept { return detail::Hold<Lock>(*this); }

  /// Python's release(): unlocks and wakes the first waiter. RuntimeError("Lock is not acquired.")
  /// if the lock is not locked.
  void release() {
    if (!locked_) throw RuntimeError("Lock is not acquired.");
    locked_ = false;
    wake_up_first();
  }

  /// Python's locked(): true while some task holds the lock.
  [[nodiscard]] bool locked() const noexcept { return locked_; }

  /// How many tasks are queued (Python's `len(lock._waiters)`, shown by repr()); cancelled waiters
  /// count until their task has resumed.
  [[nodiscard]] std::size_t waiter_count() const noexcept { return waiters_.size(); }

  /// "<asyncio::Lock object at 0x... [locked, waiters:2]>", as Python's repr.
  [[nodiscard]] std::string repr() const;

 private:
  /// Python's Lock._wake_up_first(): completes the first waiter's future unless already done (a
  /// done future is a waiter already woken, or cancelled and about to pass the lock on).
  void wake_up_first() {
    detail::SyncWaiter* first = waiters_.front();
    if (first != nullptr && !first->done()) first->wake(*loop_);
  }

  EventLoop& get_loop() { return detail::bind_loop(loop_, *this); }

  template <class>
  friend class Held;
  // How a guard (Held) learns that the lock was destroyed under it.
  using HolderWatch = detail::SoleHolderWatch;
  void attach_holder(HolderWatch& watch) noexcept { holder_ = &watch; }
  void move_holder(HolderWatch& from, HolderWatch& to) noexcept {
    if (holder_ == &from) holder_ = &to;
  }
  void detach_holder(HolderWatch& watch) noexcept {
    if (holder_ == &watch) holder_ = nullptr;
  }

  detail::WaiterQueue waiters_;
  HolderWatch* holder_ = nullptr;  // the guard holding it, if a guard does
  EventLoop* loop_ = nullptr;
  bool locked_ = false;
};

}  // namespace asyncio
