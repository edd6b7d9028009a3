#pragma once
/// Semaphore and BoundedSemaphore: Python's asyncio.Semaphore and asyncio.BoundedSemaphore, a
/// counter of permits that tasks take and give back.
///
///   asyncio::Semaphore slots(3);           // at most 3 tasks inside at once
///   {
///     auto held = co_await slots.hold();   // Python's `async with slots:`
///     ...
///   }                                      // released here, even on an exception or a cancel
///
/// Fair, as CPython 3.13's: waiters acquire in FIFO order, and a task arriving while a waiter (not
/// cancelled) is queued waits behind it even if a permit is free. A permit is never lost to a
/// cancellation: a waiter cancelled after release() chose it gives the permit back and wakes the
/// next one. The semaphore binds to the running loop the first time a task has to wait on it.

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <string>

#include "asyncio/coro/coro.hpp"
#include "asyncio/sync/detail/owner_watch.hpp"
#include "asyncio/sync/lock.hpp"

namespace asyncio {

/// Python's asyncio.Semaphore.
///
/// Invariants (CPython 3.13 locks.py):
///  - `value_` >= 0 is the number of permits free and not yet promised: release() adds one and
///    wake_up_next() takes it back at once when it completes a waiter's future, so a waiter whose
///    future is done (and not cancelled) already owns its permit;
///  - a woken waiter that turns out cancelled returns its permit (value_ + 1), and every waiter
///    leaving acquire() wakes as many queued waiters as there are free permits, so free permits
///    and waiters not woken never coexist once the leaving task is done;
///  - locked() is true while value_ is 0 or a waiter not cancelled is queued (FIFO: newcomers
///    queue behind it).
class Semaphore {
 public:
  /// The awaiter of `co_await sem.acquire()`: takes a permit at once when the semaphore is not
  /// locked(), else queues the task and parks it.
  class AcquireAwaiter {
   public:
    static constexpr bool asyncio_awaiter = true;

    explicit AcquireAwaiter(Semaphore& sem) noexcept : sem_(&sem) {}
    // Movable before it is awaited; its waiter is queued only in await_suspend, where it no
    // longer moves.
    AcquireAwaiter(AcquireAwaiter&& other) noexcept : sem_(other.sem_) {}
    AcquireAwaiter& operator=(const AcquireAwaiter&) = delete;

    bool await_ready() noexcept {
      if (sem_->locked()) return false;
      --sem_->value_;
      return true;
    }

    template <class P>
    void await_suspend(std::coroutine_handle<P> awaiting) {
      sem_->get_loop();  // binds the semaphore, or raises RuntimeError before parking
      node_.park(sem_->waiters_, awaiting);
    }

    bool await_resume() {
      if (!node_.parked()) return true;  // taken on the fast path
      if (node_.orphaned()) [[unlikely]]
        node_.finish_orphaned("Semaphore");
      try {
        node_.finish();
      } catch (const CancelledError&) {
        // Woken (the permit was promised to us) but cancelled: give the permit back.
        if (node_.done() && !node_.cancelled()) ++sem_->value_;
        sem_->wake_up_free();
        throw;
      } catch (...) {
        sem_->wake_up_free();
        throw;
      }
      sem_->wake_up_free();
      return true;
    }

   private:
    Semaphore* sem_;
    detail::SyncWaiter node_;
  };

  /// What acquire() returns (see detail::SyncCall).
  using Acquire = detail::SyncCall<Semaphore, AcquireAwaiter>;

  /// Python's Semaphore(value=1): ValueError("Semaphore initial value must be >= 0") if negative.
  explicit Semaphore(std::int64_t value = 1) : Semaphore(value, false) {}
  /// Shared by address (its waiters point at it): neither copyable nor movable.
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;
  /// Destroyed while tasks wait for a permit: they stay blocked until cancelled (then raise
  /// CancelledError without touching it; one already given a permit raises RuntimeError), and a
  /// guard (Held) still holding a permit releases nothing; debug mode reports both.
  ~Semaphore() {
    if (!waiters_.empty()) [[unlikely]]
      detail::report_destroyed_while_waited("Semaphore", this, waiters_.size());
    if (!holders_.empty()) [[unlikely]]
      detail::report_destroyed_while_held("Semaphore", this);
  }

  /// Python's `await sem.acquire()`: takes a permit, waiting for one (and for the waiters ahead)
  /// if needed; returns true. Raises CancelledError if cancelled while waiting (holding nothing),
  /// RuntimeError if it has to wait and the semaphore is bound to another loop.
  Acquire acquire() noexcept { return Acquire(*this); }

  /// Python's `async with sem:`: `auto held = co_await sem.hold();` acquires and gives a guard that
  /// releases on scope exit.
  detail::Hold<Semaphore> hold() noexcept { return detail::Hold<Semaphore>(*this); }

  /// Python's release(): gives a permit back and wakes the first waiter not yet woken. For a
  /// BoundedSemaphore: ValueError("BoundedSemaphore released too many times") if the counter is
  /// already at its initial value.
  void release() {
    if (bounded_ && value_ >= bound_) throw ValueError("BoundedSemaphore released too many times");
    ++value_;
    wake_up_next();
  }

  /// Python's locked(): true if acquire() would wait (no permit free, or waiters queued ahead).
  [[nodiscard]] bool locked() const noexcept { return value_ == 0 || !waiters_.all_cancelled(); }

  /// The counter: free permits not promised to a woken waiter (Python's private `_value`, shown by
  /// repr()).
  [[nodiscard]] std::int64_t value() const noexcept { return value_; }

  /// How many tasks are queued (Python's `len(sem._waiters)`, shown by repr()).
  [[nodiscard]] std::size_t waiter_count() const noexcept { return waiters_.size(); }

  /// "<asyncio::Semaphore object at 0x... [unlocked, value:2]>" or "[locked, waiters:3]", as
  /// Python's repr.
  [[nodiscard]] std::string repr() const;

 protected:
  Semaphore(std::int64_t value, bool bounded) : value_(value), bound_(value), bounded_(bounded) {
    if (value < 0) throw ValueError("Semaphore initial value must be >= 0");
  }

 private:
  /// Python's Semaphore._wake_up_next(): completes the first waiter not yet woken, promising it a
  /// permit (value_ - 1). False if every queued waiter is already done.
  bool wake_up_next() {
    for (detail::SyncWaiter* w = waiters_.front(); w != nullptr; w = waiters_.next(*w)) {
      if (!w->done()) {
        --value_;
        w->wake(*loop_);
        return true;
      }
    }
    return false;
  }

  /// The `finally` of Python's acquire(): newcomers may have queued behind us although permits
  /// were free (FIFO); wake as many as there are free permits.
  void wake_up_free() {
    while (value_ > 0) {
      if (!wake_up_next()) break;
    }
  }

  EventLoop& get_loop() { return detail::bind_loop(loop_, *this); }

  template <class>
  friend class Held;
  // How a guard (Held) learns that the semaphore was destroyed under it: several hold permits.
  using HolderWatch = detail::OwnerWatch;
  void attach_holder(HolderWatch& watch) noexcept { watch.attach(holders_); }
  void move_holder(HolderWatch&, HolderWatch&) noexcept {}  // the watch moves its place itself
  void detach_holder(HolderWatch&) noexcept {}              // it leaves the list when destroyed

  detail::WaiterQueue waiters_;
  detail::OwnerWatchList holders_;  // the guards (Held) holding a permit
  EventLoop* loop_ = nullptr;
  std::int64_t value_;
  std::int64_t bound_;  // the initial value: BoundedSemaphore's limit
  bool bounded_;
};

/// Python's asyncio.BoundedSemaphore: a Semaphore whose release() raises ValueError when it would
/// raise the counter above its initial value.
///
/// The bound is a flag of Semaphore rather than an override, so that release() stays non-virtual
/// and a Held<Semaphore> or a Semaphore& of a BoundedSemaphore checks it too.
class BoundedSemaphore : public Semaphore {
 public:
  /// Python's BoundedSemaphore(value=1): ValueError if negative.
  explicit BoundedSemaphore(std::int64_t value = 1) : Semaphore(value, true) {}

  /// "<asyncio::BoundedSemaphore object at 0x... [unlocked, value:1]>".
  [[nodiscard]] std::string repr() const;
};

}  // namespace asyncio
