#pragma once
/// as_completed: Python 3.13's asyncio.as_completed, in its `async for` form: the original tasks and
/// futures, in the order they complete.
///
///   auto ac = asyncio::as_completed(tasks);            // or as_completed(tasks, 5.0): a timeout
///   while (!ac.done()) {
///     Task<int> t = co_await ac.next();                 // the next one to complete (it is done)
///     use(t.result());
///   }
///
/// Python spells this `async for t in as_completed(tasks):`; C++ has no asynchronous for loop, so
/// the iterator's `__anext__` is `co_await ac.next()` and its end is `ac.done()` (calling next()
/// past the end raises StopAsyncIteration, as __anext__ does); `ac.aiter()` is the same as an
/// AsyncGenerator, iterated as every async generator is. Python's other form (`for f in
/// as_completed(...)`, coroutines giving results) is not provided: `(co_await ac.next()).result()`
/// is its spelling.
///
/// The range holds Task<T>, Future<T>, AnyTask or AnyFuture (handed back as they are), or Coros or
/// callables returning one, which are wrapped in tasks at once (the handles are then Task<T>). The
/// futures must belong to the running loop (outside one: to the first future's loop), else
/// ValueError, as ensure_future demands.
///
/// CPython 3.13's rules: a future given twice is handed back once (Python makes a set of the
/// input); futures already done are handed back after one loop iteration (their done-callbacks
/// run from the loop), in input order here (Python: set order); on timeout, every next() still to
/// come raises TimeoutError, and nothing is cancelled. A next() that is cancelled while waiting
/// still uses up its turn, as Python's __anext__ does: the future it would have got is handed to a
/// later next(), and the last one is never handed out.
///
/// Dropping every copy of the iterator (and every next() in progress) stops it: its callbacks are
/// unlinked and its timer cancelled; the tasks themselves go on.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "asyncio/coro/async_generator.hpp"
#include "asyncio/coro/coro.hpp"
#include "asyncio/exceptions.hpp"
#include "asyncio/flow/gather.hpp"
#include "asyncio/flow/wait.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/loop/handle.hpp"
#include "asyncio/task/future.hpp"

namespace asyncio {

namespace detail {

/// The part of as_completed that does not depend on the handle type: CPython's
/// _AsCompletedIterator, with its Queue (`done_`, and `getters_` as in Queue.get) built in.
///
/// Invariants:
///  - a node linked into a future's waiters, or scheduled, holds a reference to the core; so does
///    the timer while armed;
///  - todo_count_ counts the nodes still `in_todo` (Python's `_todo` set); the timeout empties it,
///    queueing one kTimedOut per future still in it;
///  - todo_left_ counts the next() calls still to come (Python's `_todo_left`), taken when a next()
///    starts;
///  - users_ counts the iterator's handles (and the next() calls running, which hold one); at zero
///    nobody can take from the queue any more, so the callbacks not yet scheduled are unlinked and
///    the timer cancelled.
class AsCompletedCore {
 public:
  /// The queue entry that stands for a timeout (CPython's None sentinel).
  static constexpr std::size_t kTimedOut = static_cast<std::size_t>(-1);

  AsCompletedCore(const AsCompletedCore&) = delete;
  AsCompletedCore& operator=(const AsCompletedCore&) = delete;

  void retain() noexcept { ++refs_; }
  void release() noexcept {
    if (--refs_ == 0) delete this;
  }
  void add_user() noexcept { ++users_; }
  void drop_user() noexcept {
    if (--users_ == 0) detach();
  }

  /// No next() left to take (Python: `not self._todo_left`).
  [[nodiscard]] bool exhausted() const noexcept { return todo_left_ == 0; }
  /// The start of __anext__: raises StopAsyncIteration if exhausted, else takes a turn.
  void take_turn();
  /// Queue.get(): the position of the next completed future, or kTimedOut. The caller keeps the
  /// core alive (it holds a user reference).
  Coro<std::size_t> get();

 protected:
  AsCompletedCore(EventLoop* loop, const std::vector<FutureBase*>& futures);
  virtual ~AsCompletedCore();
  /// Links the completion callbacks and arms the timeout (CPython's __init__).
  void start(std::optional<double> timeout);

 private:
  struct Node : UserCallbackNode {
    AsCompletedCore* owner = nullptr;
    FutureBase* child = nullptr;  // held by the typed state's handles
    std::size_t index = 0;
    bool in_todo = false;
  };
  static void invoke(UserCallbackNode* node);
  static void destroy(UserCallbackNode* node) noexcept;
  void handle_completion(Node& n);
  void handle_timeout();
  void put(std::size_t index);
  void wakeup_next();
  void detach() noexcept;

  EventLoop* loop_;  // null only if there are no futures
  std::vector<Node> nodes_;
  std::deque<std::size_t> done_;
  std::deque<Future<void>> getters_;
  TimerHandle timeout_;
  std::size_t todo_count_ = 0;
  std::size_t todo_left_ = 0;
  std::uint32_t refs_ = 1;
  std::uint32_t users_ = 0;
};

template <class H>
std::vector<FutureBase*> states_of(const std::vector<H>& handles) {
  std::vector<FutureBase*> states;
  states.reserve(handles.size());
  for (const H& h : handles) states.push_back(h.state_ptr());
  return states;
}

template <class H>
class AsCompletedState final : public AsCompletedCore {
 public:
  AsCompletedState(EventLoop* loop, std::vector<H> handles)
      : AsCompletedCore(loop, states_of(handles)), handles_(std::move(handles)) {}
  using AsCompletedCore::start;

  [[nodiscard]] const H& handle(std::size_t i) const noexcept { return handles_[i]; }

 private:
  std::vector<H> handles_;
};

}  // namespace detail

/// The iterator as_completed() returns (Python's _AsCompletedIterator). Copies share the iteration.
template <class H>
class AsCompleted {
 public:
  using handle_type = H;

  AsCompleted(const AsCompleted& other) noexcept : s_(other.s_) {
    if (s_) {
      s_->retain();
      s_->add_user();
    }
  }
  AsCompleted(AsCompleted&& other) noexcept : s_(std::exchange(other.s_, nullptr)) {}
  AsCompleted& operator=(AsCompleted other) noexcept {
    std::swap(s_, other.s_);
    return *this;
  }
  ~AsCompleted() {
    if (s_) {
      s_->drop_user();
      s_->release();
    }
  }

  /// True once every future was handed out (or a timeout was reported for it): next() would raise
  /// StopAsyncIteration. A next() counts from the moment it starts running.
  [[nodiscard]] bool done() const noexcept { return s_ == nullptr || s_->exhausted(); }

  /// Python's `await it.__anext__()`: waits for the next future to complete and returns its handle
  /// (the original one; a task made from a Coro). Raises TimeoutError once the timeout passed,
  /// StopAsyncIteration if done().
  Coro<H> next() const { return next_impl(*this); }

  /// Python's `async for t in as_completed(fs)`: next() until done(), as an async generator:
  /// `auto each = as_completed(fs).aiter(); while (auto t = co_await each.next()) ...`. The
  /// generator holds its own copy of the iterator.
  AsyncGenerator<H> aiter() const { return aiter_impl(*this); }

  /// Adopts a new state's reference (as_completed()).
  static AsCompleted adopt(detail::AsCompletedState<H>* s) noexcept { return AsCompleted(s); }

 private:
  explicit AsCompleted(detail::AsCompletedState<H>* s) noexcept : s_(s) { s_->add_user(); }

  static AsyncGenerator<H> aiter_impl(AsCompleted self) {
    while (!self.done()) co_yield co_await self.next();
  }

  // A copy of the iterator lives in the frame: the state outlives the wait even if `this` does not.
  static Coro<H> next_impl(AsCompleted self) {
    if (self.s_ == nullptr) throw InvalidStateError("as_completed(): next() on a moved-from iterator");
    detail::AsCompletedState<H>& state = *self.s_;
    state.take_turn();
    const std::size_t i = co_await state.get();
    if (i == detail::AsCompletedCore::kTimedOut) throw TimeoutError("as_completed(): timed out");
    co_return state.handle(i);
  }

  detail::AsCompletedState<H>* s_;
};

namespace detail {
template <class R>
using as_completed_handle_t = child_handle_t<std::ranges::range_reference_t<R>>;
}  // namespace detail

/// Python 3.13's asyncio.as_completed(fs, timeout=...): see the top of this file. `timeout` in
/// seconds, counted from this call.
template <std::ranges::input_range R>
requires detail::FlowChild<std::ranges::range_reference_t<R>> AsCompleted<detail::as_completed_handle_t<R>>
as_completed(R&& range, std::optional<double> timeout = std::nullopt) {
  using Ref = std::ranges::range_reference_t<R>;
  using H = detail::as_completed_handle_t<R>;
  // Python uses the current event loop; outside a running loop, the first future's.
  EventLoop* loop = detail::running_loop();
  std::vector<H> handles;
  if constexpr (std::ranges::sized_range<R>) handles.reserve(static_cast<std::size_t>(std::ranges::size(range)));
  for (auto&& element : range) {
    if constexpr (detail::is_coro_type<std::remove_cvref_t<Ref>>::value) {
      handles.push_back(detail::ensure_child(loop, std::move(element)));  // the range's Coros are consumed
    } else {
      handles.push_back(detail::ensure_child(loop, element));
    }
  }
  detail::drop_duplicate_handles(handles);
  auto* state = new detail::AsCompletedState<H>(loop, std::move(handles));
  AsCompleted<H> iterator = AsCompleted<H>::adopt(state);
  state->start(timeout);
  return iterator;
}

/// as_completed() with a std::chrono timeout.
template <std::ranges::input_range R, class Rep, class Period>
requires detail::FlowChild<std::ranges::range_reference_t<R>>
auto as_completed(R&& range, std::chrono::duration<Rep, Period> timeout) {
  return as_completed(std::forward<R>(range), std::optional<double>(std::chrono::duration<double>(timeout).count()));
}

}  // namespace asyncio
