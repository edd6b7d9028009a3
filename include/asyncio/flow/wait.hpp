#pragma once
/// wait: Python's asyncio.wait. Waits until some or all of a range of tasks and futures are done,
/// without raising their errors and without cancelling anything.
///
///   auto [done, pending] = co_await asyncio::wait(tasks);                                   // all
///   auto r = co_await asyncio::wait(tasks, asyncio::ReturnWhen::first_completed);
///   auto r = co_await asyncio::wait(tasks, asyncio::ReturnWhen::all_completed, 5.0);       // timeout
///   for (auto& t : r.done) use(t.result());
///
/// The handles are Task<T>, Future<T>, AnyTask or AnyFuture (a std::vector<AnyFuture> mixes tasks
/// and futures of any result type). Coroutines are refused at compile time, as Python 3.11+ refuses
/// them at run time: wrap each in create_task() so that you hold the task you wait for.
///
/// CPython 3.13's rules: wait() of an empty range raises ValueError when awaited; done and pending
/// are computed when the waiting task wakes, so everything done by then is in `done` (with
/// first_completed, several futures done in the same loop iteration are all in `done`); on
/// timeout nothing is cancelled and nothing is raised: what is not done stays in `pending`. Even if
/// every future is already done, wait() lets the loop run once (the done-callbacks run from it).
///
/// Python returns two sets; here `done` and `pending` keep the input order, and a handle given
/// twice appears once (where it first appeared), since Python makes a set of the input.

#include <chrono>
#include <cstddef>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>
#include <vector>

#include "asyncio/coro/coro.hpp"
#include "asyncio/exceptions.hpp"
#include "asyncio/flow/gather.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/loop/handle.hpp"
#include "asyncio/task/future.hpp"

namespace asyncio {

/// Python's FIRST_COMPLETED / FIRST_EXCEPTION / ALL_COMPLETED.
enum class ReturnWhen {
  first_completed,  ///< as soon as any future is done (or cancelled)
  first_exception,  ///< as soon as any future finishes with an exception (not a cancellation), or
                    ///< all are done
  all_completed,    ///< when all are done
};

/// What wait() returns: Python's `(done, pending)` pair of sets, as vectors in input order.
template <class H>
struct WaitResult {
  std::vector<H> done;
  std::vector<H> pending;
};

namespace detail {

/// The positions of the handles whose future appeared earlier in `states`, in increasing order
/// (empty, without allocating, when every future is distinct: the usual case).
std::vector<std::size_t> duplicate_positions(const std::vector<FutureBase*>& states);

/// Removes the handles that refer to a future already in `handles` (keeps the first), as Python's
/// `set(fs)` does.
template <class H>
void drop_duplicate_handles(std::vector<H>& handles) {
  std::vector<FutureBase*> states;
  states.reserve(handles.size());
  for (const H& h : handles) states.push_back(h.state_ptr());
  const std::vector<std::size_t> repeated = duplicate_positions(states);
  if (repeated.empty()) return;
  std::size_t out = 0;
  std::size_t next_repeated = 0;
  for (std::size_t i = 0; i < handles.size(); ++i) {
    if (next_repeated < repeated.size() && repeated[next_repeated] == i) {
      ++next_repeated;
      continue;
    }
    if (out != i) handles[out] = std::move(handles[i]);
    ++out;
  }
  handles.erase(handles.begin() + static_cast<std::ptrdiff_t>(out), handles.end());
}

/// wait()'s waiter future (CPython's `waiter` in _wait) together with the `_on_completion`
/// callbacks it is released by: one node per future, linked into the future's waiters.
///
/// Invariants: a node linked or scheduled holds a reference to the waiter (so a callback that runs
/// after wait() returned still finds it, and does nothing); `counter_` counts the futures whose
/// callback has not run; the timer, when armed, holds a handle to the waiter until it fires or is
/// cancelled (disarm() cancels it, and drops the callbacks not yet scheduled).
class WaitWaiter final : public FutureState<void> {
 public:
  WaitWaiter(EventLoop& loop, ReturnWhen when, std::vector<FutureBase*> futures);
  ~WaitWaiter() override = default;

  /// Arms the timeout and links the callbacks (scheduled at once for futures already done).
  void arm(std::optional<double> timeout);
  /// CPython's `finally:` of _wait: cancels the timeout and removes the callbacks not yet run.
  void disarm() noexcept;
  /// The same in two steps, for wait()'s last pass over the futures: the timeout, then the
  /// callback of future `i` (which is still pending).
  void cancel_timeout() noexcept { timeout_.cancel(); }
  void unlink(std::size_t i) noexcept;

 private:
  struct Node : UserCallbackNode {
    WaitWaiter* owner = nullptr;
    FutureBase* child = nullptr;  // not retained: wait()'s frame holds the handles
  };
  static void invoke(UserCallbackNode* node);
  static void destroy(UserCallbackNode* node) noexcept;
  void on_completion(FutureBase& f);

  std::vector<Node> nodes_;
  TimerHandle timeout_;
  std::size_t counter_;
  ReturnWhen when_;
};

/// Disarms the waiter however wait()'s frame is left (CancelledError, or destruction), unless
/// wait() did it itself (dismiss()).
class WaitArmed {
 public:
  WaitArmed(WaitWaiter& w, std::optional<double> timeout) : w_(w) { w_.arm(timeout); }
  WaitArmed(const WaitArmed&) = delete;
  WaitArmed& operator=(const WaitArmed&) = delete;
  ~WaitArmed() {
    if (armed_) w_.disarm();
  }
  void dismiss() noexcept { armed_ = false; }

 private:
  WaitWaiter& w_;
  bool armed_ = true;
};

void check_return_when(ReturnWhen when);

template <class H>
Coro<WaitResult<H>> wait_impl(std::vector<H> fs, ReturnWhen when, std::optional<double> timeout) {
  // Checked here, not in wait(): Python's wait is a coroutine, so it raises when awaited.
  if (fs.empty()) throw ValueError("Set of Tasks/Futures is empty.");
  check_return_when(when);
  drop_duplicate_handles(fs);
  std::vector<FutureBase*> states;
  states.reserve(fs.size());
  for (const H& h : fs) states.push_back(h.state_ptr());
  auto* w = new WaitWaiter(get_running_loop(), when, std::move(states));
  Future<void> waiter = Future<void>::adopt(w);
  WaitArmed armed(*w, timeout);
  co_await waiter;
  // CPython's `finally:` and its split into done and pending, in one pass over the futures (no
  // callback can run in between).
  armed.dismiss();
  w->cancel_timeout();
  WaitResult<H> result;
  for (std::size_t i = 0; i < fs.size(); ++i) {
    if (fs[i].done()) {
      result.done.push_back(std::move(fs[i]));
    } else {
      w->unlink(i);
      result.pending.push_back(std::move(fs[i]));
    }
  }
  co_return std::move(result);
}

template <class R>
using wait_handle_t = std::remove_cvref_t<std::ranges::range_reference_t<R>>;

}  // namespace detail

/// Python's asyncio.wait(fs, timeout=..., return_when=...): waits for the handles in `range` (see
/// the top of this file); `timeout` in seconds, none by default. Returns a Coro: the range is copied
/// now (handles are cheap), checked and waited for when awaited.
template <std::ranges::input_range R>
auto wait(R&& range, ReturnWhen when = ReturnWhen::all_completed, std::optional<double> timeout = std::nullopt) {
  using H = detail::wait_handle_t<R>;
  static_assert(!detail::CoroArgument<H>,
                "asyncio::wait() does not accept coroutines (Python 3.11+ raises TypeError: passing coroutines "
                "is forbidden, use tasks explicitly): wrap each in asyncio::create_task() and wait for the tasks");
  static_assert(detail::CoroArgument<H> || detail::FutureHandle<H>,
                "asyncio::wait() takes a range of Task<T>, Future<T>, AnyTask or AnyFuture");
  if constexpr (detail::FutureHandle<H>) {
    std::vector<H> fs;
    if constexpr (std::ranges::sized_range<R>) fs.reserve(static_cast<std::size_t>(std::ranges::size(range)));
    for (auto&& h : range) {
      if (!h) throw InvalidStateError("asyncio::wait(): empty Future handle");
      fs.push_back(h);
    }
    return detail::wait_impl<H>(std::move(fs), when, timeout);
  }
}

/// wait() with a std::chrono timeout.
template <std::ranges::input_range R, class Rep, class Period>
auto wait(R&& range, ReturnWhen when, std::chrono::duration<Rep, Period> timeout) {
  return wait(std::forward<R>(range), when, std::optional<double>(std::chrono::duration<double>(timeout).count()));
}

/// Python raises TypeError for `wait(fut)`: here a single handle or coroutine does not compile.
template <class A, class... Rest>
requires(detail::FlowChild<A> && !std::ranges::input_range<A>) void wait(A&&, Rest&&...) {
  static_assert(!detail::FlowChild<A>, "asyncio::wait() takes a range of tasks or futures, not a single one");
}

}  // namespace asyncio
