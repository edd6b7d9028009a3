#pragma once
/// Queue<T>, PriorityQueue<T, Compare>, LifoQueue<T>: Python's asyncio queues (CPython 3.13
/// Lib/asyncio/queues.py), shutdown included.
///
///   asyncio::Queue<Job> q(64);                 // bounded: put() waits while 64 items are queued
///   co_await q.put(job);                       // producer
///   Job j = co_await q.get();                  // consumer; the item is moved out
///   q.task_done();                             // ... once j is processed
///   co_await q.join();                         // every item put was processed
///   q.shutdown();                              // puts raise QueueShutDown; gets drain, then raise
///
/// Like asyncio's, these queues are for the tasks of one loop: not thread-safe, and bound to the
/// loop of the first operation that has to wait (RuntimeError from any other loop). An operation
/// that need not wait costs no allocation and no coroutine frame; one that waits runs CPython's
/// loop in a Coro and allocates a Future per wait, as CPython does.
///
/// The queue must outlive every put(), get() and join() in progress on it (they refer to it, as the
/// coroutines of any C++ object do); share it by reference or through a shared_ptr.

#include <coroutine>
#include <cstddef>
#include <deque>
#include <functional>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "asyncio/coro/coro.hpp"
#include "asyncio/exceptions.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/sync/detail/owner_watch.hpp"
#include "asyncio/sync/queue_storage.hpp"
#include "asyncio/task/future.hpp"

namespace asyncio {

/// asyncio.QueueEmpty: get_nowait() found the queue empty.
class QueueEmpty : public std::runtime_error {
 public:
  QueueEmpty() : std::runtime_error("get_nowait() on an empty queue") {}
  using std::runtime_error::runtime_error;
};

/// asyncio.QueueFull: put_nowait() found the queue full (maxsize items in it).
class QueueFull : public std::runtime_error {
 public:
  QueueFull() : std::runtime_error("put_nowait() on a full queue") {}
  using std::runtime_error::runtime_error;
};

/// asyncio.QueueShutDown: a put on a queue that was shut down, or a get on one that was shut down
/// and is empty.
class QueueShutDown : public std::runtime_error {
 public:
  QueueShutDown() : std::runtime_error("the queue is shut down") {}
  using std::runtime_error::runtime_error;
};

namespace detail {

/// The awaiter of a QueuePut or QueueGet: forwards to it. (The awaitables are not awaiters
/// themselves: g++ 12 copies an awaiter that the promise's await_transform hands back as an lvalue,
/// so `auto p = q.put(x); co_await p;` would not compile, the awaitable being move-only.)
template <class Op>
class QueueOpAwaiter {
 public:
  static constexpr bool asyncio_awaiter = true;
  explicit QueueOpAwaiter(Op& op) noexcept : op_(&op) {}
  bool await_ready() { return op_->ready(); }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> awaiting) {
    return op_->suspend(awaiting);
  }
  decltype(auto) await_resume() { return op_->resume(); }

 private:
  Op* op_;
};

/// What `queue.put(item)` returns: an awaitable that puts at once when there is room (no frame, no
/// suspension: Python's `await q.put(x)` does not suspend then either) and otherwise runs the
/// waiting put (CPython's loop) as a Coro in place. Like a coroutine object it does nothing until
/// awaited, and can be awaited once. It is also a callable returning that Coro, and converts to
/// one, so `create_task(q.put(x))`, `wait_for(q.put(x), s)` and `Coro<void> c = q.put(x);` work.
template <class Q, class T>
class [[nodiscard]] QueuePut {
 public:
  QueuePut(Q& queue, T&& item) : queue_(&queue), item_(std::move(item)) {}

  QueueOpAwaiter<QueuePut> operator co_await() & noexcept { return QueueOpAwaiter<QueuePut>(*this); }
  QueueOpAwaiter<QueuePut> operator co_await() && noexcept { return QueueOpAwaiter<QueuePut>(*this); }

  /// The whole put as a Coro (for create_task, wait_for, gather, which take a callable).
  Coro<void> operator()() {
    use();
    return queue_->waiting_put(std::move(item_));
  }
  operator Coro<void>() && { return (*this)(); }  // NOLINT: a put is a Coro<void> to whoever wants one

 private:
  friend class QueueOpAwaiter<QueuePut>;
  void use() {
    if (used_) throw RuntimeError("cannot reuse already awaited queue put()");
    used_ = true;
  }
  bool ready() {
    use();
    return !queue_->full();
  }
  template <class P>
  bool suspend(std::coroutine_handle<P> awaiting) {
    waiting_ = queue_->waiting_put(std::move(item_));
    return waiting_.operator co_await().await_suspend(awaiting);
  }
  void resume() {
    if (waiting_) return waiting_.operator co_await().await_resume();
    queue_->put_nowait(std::move(item_));
  }

  Q* queue_;
  T item_;
  Coro<void> waiting_;  // the slow path, once started
  bool used_ = false;
};

/// What `queue.get()` returns: takes an item at once when there is one, otherwise runs the waiting
/// get (CPython's loop) as a Coro in place. See QueuePut.
template <class Q, class T>
class [[nodiscard]] QueueGet {
 public:
  explicit QueueGet(Q& queue) noexcept : queue_(&queue) {}

  QueueOpAwaiter<QueueGet> operator co_await() & noexcept { return QueueOpAwaiter<QueueGet>(*this); }
  QueueOpAwaiter<QueueGet> operator co_await() && noexcept { return QueueOpAwaiter<QueueGet>(*this); }

  /// The whole get as a Coro (for create_task, wait_for, gather, which take a callable).
  Coro<T> operator()() {
    use();
    return queue_->waiting_get();
  }
  operator Coro<T>() && { return (*this)(); }  // NOLINT: a get is a Coro<T> to whoever wants one

 private:
  friend class QueueOpAwaiter<QueueGet>;
  void use() {
    if (used_) throw RuntimeError("cannot reuse already awaited queue get()");
    used_ = true;
  }
  bool ready() {
    use();
    return !queue_->empty();
  }
  template <class P>
  bool suspend(std::coroutine_handle<P> awaiting) {
    waiting_ = queue_->waiting_get();
    return waiting_.operator co_await().await_suspend(awaiting);
  }
  T resume() {
    if (waiting_) return waiting_.operator co_await().await_resume();
    return queue_->get_nowait();
  }

  Q* queue_;
  Coro<T> waiting_;
  bool used_ = false;
};

}  // namespace detail

/// The queue machinery shared by Queue, PriorityQueue and LifoQueue (Python's Queue class, whose
/// subclasses change only the storage). Use it with your own storage to get another order.
///
/// Invariants (loop-thread only, like asyncio):
///  - getters_ holds a Future for each get() waiting; they wait only while the queue is empty
///    (or were just woken). putters_ likewise for put() while the queue is full. Both are FIFO.
///  - A woken waiter's Future is popped before it is completed (wakeup_next), so the wake-up it
///    stands for cannot be given twice; a waiter that leaves with an exception after it was woken
///    (cancelled between the wake-up and its step) passes the wake-up to the next in line when
///    what it was woken for is still there, so no item or slot is stranded.
///  - unfinished_ counts put_nowait()s minus task_done()s (and items dropped by shutdown(true));
///    joiners_ wait exactly while it is non-zero (Python's `_finished` Event is `unfinished_ == 0`).
///  - After shutdown() no item enters; getters_ and putters_ were emptied, every waiter woken to
///    re-check and raise QueueShutDown (a getter only once the queue is empty).
template <class T, class Storage>
class BasicQueue {
 public:
  using value_type = T;

  /// A queue of at most `maxsize` items; 0 (the default) is unbounded.
  explicit BasicQueue(std::size_t maxsize = 0, Storage storage = Storage())
      : storage_(std::move(storage)), maxsize_(maxsize) {}
  BasicQueue(const BasicQueue&) = delete;
  BasicQueue& operator=(const BasicQueue&) = delete;
  /// Destroyed while tasks wait in get(), put() or join(): they stay blocked until cancelled,
  /// then raise without touching it (one already woken raises RuntimeError); debug mode reports it.
  ~BasicQueue() {
    if (!watchers_.empty()) [[unlikely]]
      detail::report_destroyed_while_waited(Storage::name, this, watchers_.size());
    if (anchor_ != nullptr) anchor_->release();
  }

  /// Number of items in the queue.
  [[nodiscard]] std::size_t qsize() const noexcept { return storage_.size(); }
  /// Number of items allowed in the queue (0: unbounded).
  [[nodiscard]] std::size_t maxsize() const noexcept { return maxsize_; }
  /// True if the queue holds no item.
  [[nodiscard]] bool empty() const noexcept { return storage_.size() == 0; }
  /// True if the queue holds maxsize items; never for an unbounded queue.
  [[nodiscard]] bool full() const noexcept { return maxsize_ > 0 && storage_.size() >= maxsize_; }

  /// Puts `item` in the queue, waiting first while it is full. QueueShutDown if the queue is shut
  /// down (before or while waiting). Cancelled while waiting: the item is not put, and a free slot
  /// this put() was woken for goes to the next waiting put(). Awaiting it when there is room costs
  /// no frame and does not suspend (see detail::QueuePut for what else it can be used as).
  /// With g++ 12, build an aggregate item before the co_await (`Job j{...}; co_await
  /// q.put(std::move(j));`): g++ 12 destroys an aggregate temporary of a co_await expression twice.
  detail::QueuePut<BasicQueue, T> put(T item) { return {*this, std::move(item)}; }

  /// Puts `item` if there is room: QueueFull if the queue is full, QueueShutDown if it is shut down.
  /// Wakes the first waiting get().
  void put_nowait(T item) {
    if (shutdown_) throw QueueShutDown();
    if (full()) throw QueueFull();
    storage_.push(std::move(item));
    ++unfinished_;
    wakeup_next(getters_);
  }

  /// Removes and returns an item (moved out), waiting first while the queue is empty.
  /// QueueShutDown once the queue is shut down and empty. Cancelled while waiting: no item is taken,
  /// and an item this get() was woken for goes to the next waiting get(). Awaiting it when an item
  /// is there costs no frame and does not suspend (see detail::QueueGet).
  detail::QueueGet<BasicQueue, T> get() { return detail::QueueGet<BasicQueue, T>(*this); }

  /// Removes and returns an item if one is there: QueueEmpty if the queue is empty (QueueShutDown
  /// if it is also shut down). Wakes the first waiting put().
  T get_nowait() {
    if (empty()) {
      if (shutdown_) throw QueueShutDown();
      throw QueueEmpty();
    }
    T item = storage_.pop();
    wakeup_next(putters_);
    return item;
  }

  /// Marks one item taken by get() as processed; when every item put was, join() returns.
  /// ValueError if called more often than items were put.
  void task_done() {
    if (unfinished_ == 0) throw ValueError("task_done() called too many times");
    if (--unfinished_ == 0) wake_joiners();
  }

  /// Waits until every item ever put was processed (task_done() called for it, or dropped by
  /// shutdown(true)). Returns at once if none is outstanding.
  Coro<void> join() {
    if (unfinished_ == 0) co_return;
    detail::OwnerWatch watch(watchers_);
    Future<void> joiner = bound_loop().template create_future<void>();
    joiners_.push_back(joiner);
    try {
      co_await joiner;
    } catch (...) {
      if (!watch.owner_gone()) erase(joiners_, joiner);
      throw;
    }
  }

  /// Shuts the queue down: put() and put_nowait() raise QueueShutDown from now on, and get() once
  /// the queue is empty. Every waiting put() and get() wakes: puts raise QueueShutDown, gets take
  /// what is left or raise it. With `immediate`, the items left are dropped first (each counts as
  /// processed, which may end join()), so every get() raises. Calling it again is harmless.
  void shutdown(bool immediate = false) {
    shutdown_ = true;
    if (immediate) {
      while (!empty()) {
        (void)storage_.pop();
        if (unfinished_ > 0) --unfinished_;
      }
      if (unfinished_ == 0) wake_joiners();
    }
    wake_all(getters_);
    wake_all(putters_);
  }

  /// Python's str(queue): "<Queue maxsize=2 _queue=[1, 2] _getters[1] _putters[1] tasks=2 shutdown>"
  /// (the items appear when T can be written to a std::ostream, in storage order).
  [[nodiscard]] std::string repr() const {
    std::ostringstream out;
    out << '<' << Storage::name << " maxsize=" << maxsize_;
    if constexpr (requires(std::ostream & os, const T& item) { os << item; }) {
      if (!empty()) {
        out << " _queue=[";
        const char* sep = "";
        storage_.for_each([&](const T& item) {
          out << sep << item;
          sep = ", ";
        });
        out << ']';
      }
    }
    if (!getters_.empty()) out << " _getters[" << getters_.size() << ']';
    if (!putters_.empty()) out << " _putters[" << putters_.size() << ']';
    if (unfinished_ != 0) out << " tasks=" << unfinished_;
    if (shutdown_) out << " shutdown";
    out << '>';
    return out.str();
  }

 protected:
  Storage storage_;

 private:
  friend class detail::QueuePut<BasicQueue, T>;
  friend class detail::QueueGet<BasicQueue, T>;
  using Waiters = std::deque<Future<void>>;

  /// CPython's Queue.put.
  Coro<void> waiting_put(T item) {
    detail::OwnerWatch watch(watchers_);
    while (full()) {
      if (shutdown_) throw QueueShutDown();
      Future<void> putter = bound_loop().template create_future<void>();
      putters_.push_back(putter);
      try {
        co_await putter;
      } catch (...) {
        if (!watch.owner_gone()) leave(putters_, putter, !full());
        throw;
      }
      if (watch.owner_gone()) [[unlikely]]
        detail::throw_destroyed_while_waited(Storage::name);
    }
    put_nowait(std::move(item));
  }

  /// CPython's Queue.get.
  Coro<T> waiting_get() {
    detail::OwnerWatch watch(watchers_);
    while (empty()) {
      if (shutdown_) throw QueueShutDown();
      Future<void> getter = bound_loop().template create_future<void>();
      getters_.push_back(getter);
      try {
        co_await getter;
      } catch (...) {
        if (!watch.owner_gone()) leave(getters_, getter, !empty());
        throw;
      }
      if (watch.owner_gone()) [[unlikely]]
        detail::throw_destroyed_while_waited(Storage::name);
    }
    co_return get_nowait();
  }

  /// The running loop, which the queue binds to on its first wait (asyncio's _LoopBoundMixin).
  EventLoop& bound_loop() {
    EventLoop& running = get_running_loop();
    if (anchor_ == nullptr) {
      anchor_ = detail::LoopAccess::retain_anchor(running);
    } else if (anchor_->loop != &running) {
      throw RuntimeError(repr() + " is bound to a different event loop");
    }
    return running;
  }

  /// Wakes the first waiter not already done (cancelled), dropping those before it.
  static void wakeup_next(Waiters& waiters) {
    while (!waiters.empty()) {
      Future<void> waiter = std::move(waiters.front());
      waiters.pop_front();
      if (!waiter.done()) {
        waiter.set_result();
        return;
      }
    }
  }

  static void wake_all(Waiters& waiters) {
    while (!waiters.empty()) {
      Future<void> waiter = std::move(waiters.front());
      waiters.pop_front();
      if (!waiter.done()) waiter.set_result();
    }
  }

  static void erase(Waiters& waiters, const Future<void>& waiter) noexcept {
    for (auto it = waiters.begin(); it != waiters.end(); ++it) {
      if (*it == waiter) {
        waiters.erase(it);
        return;
      }
    }
  }

  /// A waiter leaves with an exception (its task was cancelled). If it had been woken (its Future
  /// has a result) and what it was woken for is still `available`, the wake-up goes to the next.
  static void leave(Waiters& waiters, Future<void>& waiter, bool available) {
    waiter.cancel();  // in case it is still pending
    erase(waiters, waiter);
    if (available && !waiter.cancelled()) wakeup_next(waiters);
  }

  void wake_joiners() {
    Waiters joiners = std::move(joiners_);
    joiners_.clear();
    for (Future<void>& joiner : joiners) {
      if (!joiner.done()) joiner.set_result();
    }
  }

  Waiters getters_;
  Waiters putters_;
  Waiters joiners_;
  detail::OwnerWatchList watchers_;  // the frames waiting in get(), put() or join()
  std::size_t maxsize_;
  std::size_t unfinished_ = 0;
  detail::LoopAnchor* anchor_ = nullptr;  // the bound loop (null until the first wait)
  bool shutdown_ = false;
};

/// asyncio.Queue: first in, first out. `maxsize` 0 is unbounded. T may be move-only.
template <class T>
class Queue : public BasicQueue<T, queue_storage::Fifo<T>> {
 public:
  explicit Queue(std::size_t maxsize = 0) : BasicQueue<T, queue_storage::Fifo<T>>(maxsize) {}
};

/// asyncio.PriorityQueue: get() returns the least item under `Compare` (with std::less, the
/// smallest, as heapq); items that compare equal come out in the order Python's would.
/// `std::pair<int, Job>` (compared lexicographically) is Python's `(priority, data)` entry.
template <class T, class Compare = std::less<T>>
class PriorityQueue : public BasicQueue<T, queue_storage::Heap<T, Compare>> {
 public:
  explicit PriorityQueue(std::size_t maxsize = 0, Compare compare = Compare())
      : BasicQueue<T, queue_storage::Heap<T, Compare>>(maxsize, queue_storage::Heap<T, Compare>(std::move(compare))) {}
};

/// asyncio.LifoQueue: last in, first out (a stack).
template <class T>
class LifoQueue : public BasicQueue<T, queue_storage::Lifo<T>> {
 public:
  explicit LifoQueue(std::size_t maxsize = 0) : BasicQueue<T, queue_storage::Lifo<T>>(maxsize) {}
};

}  // namespace asyncio
