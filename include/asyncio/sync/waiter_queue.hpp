#pragma once
/// The waiter queue every primitive of sync/ but the queues shares: one node per waiting coroutine,
/// living in its frame, linked in FIFO order (CPython's deque of waiter futures), plus the loop
/// binding (asyncio's _LoopBoundMixin) and the park/finish steps around a wait.

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <type_traits>

#include "asyncio/coro/coro.hpp"
#include "asyncio/exceptions.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/task/task_state.hpp"

namespace asyncio {
namespace detail {

class WaiterQueue;

extern const ReadyOps sync_resume_ops;

/// The links of a circular doubly-linked list: a queued node's, or a queue's own sentinel. Unlinking
/// needs neither the queue nor a count, which keeps a waiting frame 8 bytes smaller.
struct WaitLink {
  WaitLink* prev = nullptr;  // null when not queued
  WaitLink* next = nullptr;
};

/// One coroutine waiting on a primitive: what CPython's waiter future records (pending, done with
/// a result = woken, cancelled), and the links of the primitive's queue (CPython's deque).
///
/// Why not a Future: a wait on a Lock or an Event is the hottest wait there is, and an idle task
/// blocked on an Event is what the memory-per-task benchmark measures. A waiter in a task parks the
/// task itself (an ExternalWait: no allocation, no Future, no callback node); a coroutine outside
/// any task (resumed by callbacks) is resumed through the ready queue instead. The node lives in
/// the waiting frame (inside its awaiter), so leaving the queue (Python's `_waiters.remove(fut)`)
/// is O(1) wherever the waiter stands.
///
/// Invariants: `state_` goes idle -> waiting (queued, parked) -> woken (wake(): the wake-up is
/// scheduled) or cancelled (its task was cancelled or abandoned: forget_task()); the node stays
/// queued until its own coroutine resumes and calls finish(), as a CPython waiter future stays in
/// the deque until its task removes it.
class SyncWaiter final : public ExternalWait, private WaitLink {
 public:
  SyncWaiter() = default;
  SyncWaiter(const SyncWaiter&) = delete;
  SyncWaiter& operator=(const SyncWaiter&) = delete;
  /// A frame destroyed while it waits (its loop was destroyed) leaves the queue.
  ~SyncWaiter() { unlink(); }

  /// Python's `fut.done()`: woken or cancelled.
  [[nodiscard]] bool done() const noexcept { return state_ == State::woken || state_ == State::cancelled; }
  /// Python's `fut.cancelled()`.
  [[nodiscard]] bool cancelled() const noexcept { return state_ == State::cancelled; }
  /// True once the coroutine had to wait (the awaiter's slow path ran).
  [[nodiscard]] bool parked() const noexcept { return state_ != State::idle; }

  /// Queues this node at the back of `queue` and parks the awaiting coroutine: on its task when it
  /// runs in one, else until wake() schedules its resumption.
  template <class P>
  void park(WaiterQueue& queue, std::coroutine_handle<P> awaiting) noexcept;

  /// Python's `fut.set_result(None)` on a pending waiter: schedules the waiting coroutine's
  /// resumption (outside a task, on `loop`: the primitive's, where it parked). Precondition: !done().
  void wake(EventLoop& loop);

  /// After the wake-up, in the resumed coroutine: leaves the queue (Python's `finally:
  /// _waiters.remove(fut)`), then raises what `await fut` would: the task's pending
  /// CancelledError if it was cancelled.
  void finish() {
    unlink();
    if (in_task_) static_cast<Driver*>(static_cast<TaskBase*>(target_))->raise_pending();
  }

  /// True if the primitive was destroyed while this node waited in its queue (see
  /// detail::OwnerWatch for why C++ must know): its coroutine must not touch the primitive again.
  [[nodiscard]] bool orphaned() const noexcept { return orphaned_; }

  /// The way out of a wait whose primitive was destroyed: raises the task's CancelledError if it
  /// was cancelled, else RuntimeError naming `what` (the wait cannot have succeeded: whatever it
  /// was woken for went with the primitive). Touches nothing but this node.
  [[noreturn]] void finish_orphaned(const char* what);

  /// The task was cancelled (or its loop destroyed) while this node waited: Python's cancelled
  /// waiter future. The node stays queued until the task resumes.
  void forget_task() noexcept override { state_ = State::cancelled; }

  /// Leaves the queue if still in it.
  void unlink() noexcept {
    if (prev == nullptr) return;
    prev->next = next;
    next->prev = prev;
    prev = next = nullptr;
  }

 private:
  friend class WaiterQueue;
  enum class State : std::uint8_t { idle, waiting, woken, cancelled };

  void* target_ = nullptr;  // the parked TaskBase, or the frame's address outside a task
  State state_ = State::idle;
  bool in_task_ = false;
  bool orphaned_ = false;  // set by the queue's destructor
};

/// An intrusive FIFO of SyncWaiters: CPython's `collections.deque` of futures, as a circular list
/// through a sentinel.
///
/// Invariants: the sentinel's next is the first waiter (itself when empty), its prev the last.
/// Walking the queue never meets a change: waking a waiter schedules its coroutine, it never runs
/// it inline.
class WaiterQueue {
 public:
  WaiterQueue() noexcept { sentinel_.prev = sentinel_.next = &sentinel_; }
  WaiterQueue(const WaiterQueue&) = delete;
  WaiterQueue& operator=(const WaiterQueue&) = delete;
  /// Detaches the waiters still queued and marks them orphaned, so that neither their way out of
  /// the wait nor their frames' destruction touches the queue or its primitive.
  ~WaiterQueue() {
    for (WaitLink* l = sentinel_.next; l != &sentinel_;) {
      WaitLink* next = l->next;
      l->prev = l->next = nullptr;
      static_cast<SyncWaiter*>(l)->orphaned_ = true;
      l = next;
    }
  }

  void push_back(SyncWaiter& w) noexcept {
    WaitLink& link = w;
    link.prev = sentinel_.prev;
    link.next = &sentinel_;
    sentinel_.prev->next = &link;
    sentinel_.prev = &link;
  }

  [[nodiscard]] SyncWaiter* front() const noexcept { return waiter_at(sentinel_.next); }
  /// The waiter after `w` (a queued one), or null.
  [[nodiscard]] SyncWaiter* next(const SyncWaiter& w) const noexcept {
    return waiter_at(static_cast<const WaitLink&>(w).next);
  }
  [[nodiscard]] bool empty() const noexcept { return sentinel_.next == &sentinel_; }
  /// How many wait (Python's `len(_waiters)`); walks the queue, for repr() and waiter_count().
  [[nodiscard]] std::size_t size() const noexcept {
    std::size_t n = 0;
    for (const WaitLink* l = sentinel_.next; l != &sentinel_; l = l->next) ++n;
    return n;
  }

  /// Python's `all(w.cancelled() for w in waiters)` (true when empty). Stops at the first waiter
  /// not cancelled, so it costs the number of cancelled waiters at the head.
  [[nodiscard]] bool all_cancelled() const noexcept {
    for (SyncWaiter* w = front(); w != nullptr; w = next(*w)) {
      if (!w->cancelled()) return false;
    }
    return true;
  }

  /// Wakes the first `n` waiters not yet done, in FIFO order; returns how many it woke.
  std::size_t wake(std::size_t n, EventLoop& loop) {
    std::size_t woken = 0;
    for (SyncWaiter* w = front(); w != nullptr && woken < n; w = next(*w)) {
      if (!w->done()) {
        w->wake(loop);
        ++woken;
      }
    }
    return woken;
  }

  /// Wakes every waiter not yet done, in FIFO order.
  void wake_all(EventLoop& loop) {
    for (SyncWaiter* w = front(); w != nullptr; w = next(*w)) {
      if (!w->done()) w->wake(loop);
    }
  }

 private:
  [[nodiscard]] SyncWaiter* waiter_at(WaitLink* l) const noexcept {
    return l == &sentinel_ ? nullptr : static_cast<SyncWaiter*>(l);
  }

  // mutable: a const walk hands out the waiters it finds (the queue itself does not change).
  mutable WaitLink sentinel_;
};

template <class P>
void SyncWaiter::park(WaiterQueue& queue, std::coroutine_handle<P> awaiting) noexcept {
  queue.push_back(*this);
  state_ = State::waiting;
  if constexpr (std::is_base_of_v<CoroPromiseBase, P>) {
    if (Driver* d = awaiting.promise().driver()) {
      auto* task = static_cast<TaskBase*>(d);
      target_ = task;
      in_task_ = true;
      task->park_external(*this, awaiting);
      return;
    }
  }
  target_ = awaiting.address();
}

inline void SyncWaiter::wake(EventLoop& loop) {
  if (in_task_) {
    static_cast<TaskBase*>(target_)->wake_external();
  } else {
    LoopAccess::schedule(loop, &sync_resume_ops, target_);
  }
  state_ = State::woken;
}

/// Debug mode: reports through the running loop's exception handler that a primitive was destroyed
/// while `waiters` coroutines waited in it (they stay blocked until cancelled, then leave without
/// touching it). `what` names the primitive ("Lock"), `self` is its address.
void report_destroyed_while_waited(const char* what, const void* self, std::size_t waiters) noexcept;

/// Debug mode: reports that a primitive was destroyed while a guard (Held) still held it.
void report_destroyed_while_held(const char* what, const void* self) noexcept;

/// The RuntimeError of a wait whose primitive (`what`, e.g. "Queue") was destroyed meanwhile.
[[noreturn]] void throw_destroyed_while_waited(const char* what);

/// The way out of a wait whose primitive was destroyed: rethrows `error` (the task's
/// CancelledError, most often) if there is one, else throw_destroyed_while_waited(what).
[[noreturn]] void leave_destroyed(std::exception_ptr error, const char* what);

/// The awaiter of a plain wait in a primitive's queue (Condition's wait for its notification):
/// always parks, and returns once woken (raising the task's CancelledError if cancelled).
class QueueWait {
 public:
  static constexpr bool asyncio_awaiter = true;
  explicit QueueWait(WaiterQueue& queue) noexcept : queue_(&queue) {}
  QueueWait(QueueWait&& other) noexcept : queue_(other.queue_) {}
  QueueWait& operator=(const QueueWait&) = delete;

  bool await_ready() const noexcept { return false; }
  template <class P>
  void await_suspend(std::coroutine_handle<P> awaiting) noexcept {
    node_.park(*queue_, awaiting);
  }
  void await_resume() { node_.finish(); }

 private:
  WaiterQueue* queue_;
  SyncWaiter node_;
};

/// What `lock.acquire()`, `sem.acquire()` and `event.wait()` return: `co_await` it (the Awaiter is
/// made then), or pass it where a Coro<bool> is taken (create_task, wait_for, gather,
/// TaskGroup::create_task): Python's `wait_for(lock.acquire(), t)`. Like a coroutine object, it does
/// nothing until awaited or run. One pointer: see detail::Hold for why the awaiter is not returned
/// directly.
template <class Owner, class Awaiter>
class [[nodiscard]] SyncCall {
 public:
  explicit SyncCall(Owner& owner) noexcept : owner_(&owner) {}
  Awaiter operator co_await() const noexcept { return Awaiter(*owner_); }
  Coro<bool> operator()() const { return as_coro(*owner_); }
  operator Coro<bool>() const { return (*this)(); }  // NOLINT: a wait is a Coro<bool> to whoever wants one

 private:
  static Coro<bool> as_coro(Owner& owner) { co_return co_await SyncCall(owner); }
  Owner* owner_;
};

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

/// Python's repr of a primitive: "<asyncio::Lock object at 0x... [locked, waiters:2]>" (the
/// waiters part only when some wait).
std::string sync_repr(const char* class_name, const void* self, const std::string& state, std::size_t waiters);

}  // namespace detail

}  // namespace asyncio
