#pragma once
/// Lock: Python's asyncio.Lock, a mutual-exclusion lock for tasks on one loop. Also the waiter
/// queue, the loop binding and the Held<L> guard that every primitive of sync/ shares.
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
#include <cstdint>
#include <exception>
#include <string>
#include <utility>

#include "asyncio/exceptions.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/task/future.hpp"

namespace asyncio {

namespace detail {

class WaiterQueue;

/// One task waiting on a primitive: Python's waiter future, plus the links of the primitive's
/// queue (CPython's deque). It lives in the waiting coroutine's frame (inside its awaiter), so
/// queueing allocates nothing but the future, and leaving the queue (Python's
/// `_waiters.remove(fut)`) is O(1) wherever the waiter stands.
struct SyncWaiter {
  SyncWaiter() = default;
  SyncWaiter(const SyncWaiter&) = delete;
  SyncWaiter& operator=(const SyncWaiter&) = delete;
  /// A frame destroyed while it waits (its loop was destroyed) leaves the queue.
  ~SyncWaiter();

  /// Leaves the queue if still in it.
  void unlink() noexcept;

  SyncWaiter* prev = nullptr;
  SyncWaiter* next = nullptr;
  WaiterQueue* queue = nullptr;  // null when not queued
  Future<void> fut;              // empty until the task had to wait
};

/// An intrusive FIFO of SyncWaiters: CPython's `collections.deque` of futures.
///
/// Invariants: every linked waiter's `queue` points here; `size_` counts them. Walking the queue
/// never meets a change: completing a future schedules its callbacks, it never runs them inline.
class WaiterQueue {
 public:
  WaiterQueue() = default;
  WaiterQueue(const WaiterQueue&) = delete;
  WaiterQueue& operator=(const WaiterQueue&) = delete;
  /// Detaches the waiters still queued, so that their frames, if destroyed later (a loop destroyed
  /// after the primitive), do not touch the queue.
  ~WaiterQueue() {
    while (head_ != nullptr) remove(*head_);
  }

  void push_back(SyncWaiter& w) noexcept {
    w.queue = this;
    w.prev = tail_;
    w.next = nullptr;
    if (tail_ != nullptr) {
      tail_->next = &w;
    } else {
      head_ = &w;
    }
    tail_ = &w;
    ++size_;
  }

  /// Precondition: `w` is in this queue.
  void remove(SyncWaiter& w) noexcept {
    if (w.prev != nullptr) {
      w.prev->next = w.next;
    } else {
      head_ = w.next;
    }
    if (w.next != nullptr) {
      w.next->prev = w.prev;
    } else {
      tail_ = w.prev;
    }
    w.prev = w.next = nullptr;
    w.queue = nullptr;
    --size_;
  }

  [[nodiscard]] SyncWaiter* front() const noexcept { return head_; }
  [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

  /// Python's `all(w.cancelled() for w in waiters)` (true when empty). Stops at the first waiter
  /// not cancelled, so it costs the number of cancelled waiters at the head.
  [[nodiscard]] bool all_cancelled() const noexcept {
    for (SyncWaiter* w = head_; w != nullptr; w = w->next) {
      if (!w->fut.cancelled()) return false;
    }
    return true;
  }

  /// Completes the first `n` futures not yet done, in FIFO order; returns how many it completed.
  std::size_t wake(std::size_t n) {
    std::size_t woken = 0;
    for (SyncWaiter* w = head_; w != nullptr && woken < n; w = w->next) {
      if (!w->fut.done()) {
        w->fut.set_result();
        ++woken;
      }
    }
    return woken;
  }

 private:
  SyncWaiter* head_ = nullptr;
  SyncWaiter* tail_ = nullptr;
  std::size_t size_ = 0;
};

inline SyncWaiter::~SyncWaiter() { unlink(); }
inline void SyncWaiter::unlink() noexcept {
  if (queue != nullptr) queue->remove(*this);
}

/// asyncio's _LoopBoundMixin._get_loop(): the running loop, which `bound` records the first time;
/// RuntimeError("<repr> is bound to a different event loop") if another loop runs later, or
/// RuntimeError("no running event loop") if none runs.
template <class Self>
EventLoop& bind_loop(EventLoop*& bound, const Self& self) {
  EventLoop& running = get_running_loop();
  if (bound == nullptr) {
    bound = &running;
  } else if (bound != &running) {
    throw RuntimeError(self.repr() + " is bound to a different event loop");
  }
  return running;
}

/// The slow path shared by the primitives' awaiters: a new future on `loop`, queued at the back
/// of `queue`, and the awaiting coroutine parked on it. Returns false if it could not park (the
/// reason is then pending in the driver and finish_wait() raises it).
template <class P>
bool queue_and_park(WaiterQueue& queue, SyncWaiter& node, EventLoop& loop, std::coroutine_handle<P> awaiting,
                    Driver*& driver) {
  node.fut = loop.create_future<void>();
  queue.push_back(node);
  try {
    return park_on_future(*node.fut.state_ptr(), awaiting, driver);
  } catch (...) {
    node.unlink();
    throw;
  }
}

/// After the wake-up: leaves the queue (Python's `finally: _waiters.remove(fut)`), then raises what
/// `await fut` would raise: the task's pending cancellation, or the future's CancelledError.
inline void finish_wait(SyncWaiter& node, Driver* driver) {
  node.unlink();
  if (driver != nullptr) driver->raise_pending();
  node.fut.check_result();
}

/// Python's repr of a primitive: "<asyncio::Lock object at 0x... [locked, waiters:2]>" (the
/// waiters part only when some wait).
std::string sync_repr(const char* class_name, const void* self, const std::string& state, std::size_t waiters);

/// Reports an exception from a guard's release in its destructor (a destructor cannot throw):
/// to the running loop's exception handler, else to the log.
void report_guard_release_error(std::exception_ptr error, const std::string& owner) noexcept;

template <class L, class Acquire>
class HoldAwaiter;

}  // namespace detail

/// Python's `async with lock:` in C++: holds a Lock, Semaphore or BoundedSemaphore (a Condition
/// gives its lock's guard) and releases it when destroyed, on scope exit, on an exception and on
/// cancellation alike. Move-only; `release()` releases early. Made by `co_await x.hold()`.
template <class L>
class [[nodiscard]] Held {
 public:
  /// A guard that holds nothing.
  Held() noexcept = default;
  Held(Held&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
  Held& operator=(Held&& other) noexcept {
    if (this != &other) {
      release_noexcept();
      owner_ = std::exchange(other.owner_, nullptr);
    }
    return *this;
  }
  Held(const Held&) = delete;
  Held& operator=(const Held&) = delete;

  /// Releases what it holds. An exception from that release (a BoundedSemaphore released too many
  /// times by hand meanwhile, a lock released by hand) cannot leave a destructor: it goes to the
  /// running loop's exception handler.
  ~Held() { release_noexcept(); }

  /// Releases now (Python's `release()` inside the `async with` body, done once): the destructor
  /// then does nothing. Exceptions from the primitive's release() propagate.
  void release() {
    if (L* owner = std::exchange(owner_, nullptr)) owner->release();
  }

  /// True while it still holds its primitive.
  [[nodiscard]] bool owns() const noexcept { return owner_ != nullptr; }
  [[nodiscard]] explicit operator bool() const noexcept { return owns(); }

 private:
  template <class, class>
  friend class detail::HoldAwaiter;
  explicit Held(L& owner) noexcept : owner_(&owner) {}

  void release_noexcept() noexcept {
    L* owner = std::exchange(owner_, nullptr);
    if (owner == nullptr) return;
    try {
      owner->release();
    } catch (...) {
      std::string what;
      try {
        what = owner->repr();
      } catch (...) {
      }
      detail::report_guard_release_error(std::current_exception(), what);
    }
  }

  L* owner_ = nullptr;
};

namespace detail {

/// `co_await x.hold()`: x's acquire awaiter, whose result becomes a Held<L>.
template <class L, class Acquire>
class HoldAwaiter {
 public:
  static constexpr bool asyncio_awaiter = true;

  explicit HoldAwaiter(L& owner) : owner_(&owner), acquire_(owner.acquire()) {}
  HoldAwaiter(HoldAwaiter&& other) noexcept : owner_(other.owner_), acquire_(std::move(other.acquire_)) {}
  HoldAwaiter& operator=(const HoldAwaiter&) = delete;

  bool await_ready() { return acquire_.await_ready(); }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> awaiting) {
    return acquire_.await_suspend(awaiting);
  }
  Held<L> await_resume() {
    acquire_.await_resume();
    return Held<L>(*owner_);
  }

 private:
  L* owner_;
  Acquire acquire_;
};

}  // namespace detail

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
  /// The awaiter of acquire(): takes the lock at once if it is free and nobody waits (no
  /// allocation, no suspension); otherwise queues a future and parks the task on it.
  class [[nodiscard]] AcquireAwaiter {
   public:
    static constexpr bool asyncio_awaiter = true;

    explicit AcquireAwaiter(Lock& lock) noexcept : lock_(&lock) {}
    // Movable before it is awaited (g++ copies an awaitable that await_transform passes through);
    // its waiter is queued only in await_suspend, where it no longer moves.
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
    bool await_suspend(std::coroutine_handle<P> awaiting) {
      return detail::queue_and_park(lock_->waiters_, node_, lock_->get_loop(), awaiting, driver_);
    }

    bool await_resume() {
      if (!node_.fut) return true;  // taken on the fast path
      try {
        detail::finish_wait(node_, driver_);
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
    detail::Driver* driver_ = nullptr;
  };

  Lock() = default;
  /// A lock is shared by address (its waiters point at it): neither copyable nor movable.
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

  /// Python's `await lock.acquire()`: waits until the lock is free and this task's turn has come,
  /// takes it, returns true. Cancelled while waiting: raises CancelledError and does not hold it.
  /// RuntimeError if it has to wait and the lock is bound to another loop.
  AcquireAwaiter acquire() noexcept { return AcquireAwaiter(*this); }

  /// Python's `async with lock:`: `auto held = co_await lock.hold();` acquires and gives a guard
  /// that releases on scope exit.
  detail::HoldAwaiter<Lock, AcquireAwaiter> hold() { return detail::HoldAwaiter<Lock, AcquireAwaiter>(*this); }

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
    if (first != nullptr && !first->fut.done()) first->fut.set_result();
  }

  EventLoop& get_loop() { return detail::bind_loop(loop_, *this); }

  detail::WaiterQueue waiters_;
  EventLoop* loop_ = nullptr;
  bool locked_ = false;
};

}  // namespace asyncio
