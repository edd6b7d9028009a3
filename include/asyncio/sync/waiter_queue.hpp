#pragma once
/// The waiter queue every primitive of sync/ but the queues shares: one node per waiting task,
/// living in the task's frame, linked in FIFO order (CPython's deque of waiter futures), plus the
/// loop binding (asyncio's _LoopBoundMixin) and the wait/park steps around it.

#include <coroutine>
#include <cstddef>
#include <string>

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

}  // namespace detail

}  // namespace asyncio
