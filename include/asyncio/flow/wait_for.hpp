#pragma once
/// wait_for(awaitable, timeout): Python's asyncio.wait_for, as CPython 3.12+ writes it (on top of
/// timeout(); CPython 3.13 Lib/asyncio/tasks.py is the reference).
///
///   int n = co_await asyncio::wait_for(fetch(url), 2.5);          // a Coro: runs in this task
///   int m = co_await asyncio::wait_for(task, std::chrono::seconds(1));
///   co_await asyncio::wait_for(fut, std::nullopt);                 // no deadline
///
/// - On timeout the awaitable is cancelled and awaited (it may take its time to clean up, or even
///   swallow the cancellation and return a value: that value is then returned), then TimeoutError
///   is raised, with the CancelledError nested in it.
/// - A cancellation of the calling task always propagates as CancelledError: never swallowed, never
///   turned into TimeoutError (the awaitable is cancelled with it). As with `co_await task`, the
///   cancel is forwarded to an awaited task; should that task swallow it and return a value, the
///   value is returned and the caller's cancelling() stays raised (CPython 3.13 does the same).
/// - timeout <= 0: a done awaitable gives its result; otherwise it is cancelled and awaited at once
///   and TimeoutError is raised (a Coro is wrapped in a task first, which then never starts).
/// - The deadline is counted exactly as timeout() counts it: if the awaitable completes in the
///   same loop iteration as the deadline fires, before the calling task has resumed, the calling
///   task is still cancelled (a cancel() arriving after the awaited future completed is not lost),
///   so wait_for raises TimeoutError; the awaitable keeps its result. CPython 3.12+ does the same.
///
/// What it accepts, as Python's ensure_future does:
///  - a Coro<T> (or a callable returning one, kept alive for the wait): with a positive or no
///    timeout it runs inline in the calling task, as `await coro` in CPython 3.12+ (no task is
///    made); with a timeout <= 0 it is wrapped in a task;
///  - a Future<T> or Task<T>: awaited. An rvalue handle has its result moved out (as awaiting
///    `std::move(fut)` does); an lvalue handle's result is copied.
/// The timeout is seconds (double or integer), a std::chrono duration, or std::nullopt for none.
/// Like timeout(), it needs a task: RuntimeError("Timeout should be used inside a task") if not.

#include <exception>
#include <functional>
#include <type_traits>
#include <utility>

#include "asyncio/coro/coro.hpp"
#include "asyncio/exceptions.hpp"
#include "asyncio/flow/timeout.hpp"
#include "asyncio/task/future.hpp"
#include "asyncio/task/task.hpp"

namespace asyncio {

namespace detail {

/// Python's _cancel_and_wait(fut): cancels `fut` and waits until it is done. It waits on a waiter
/// of its own that fut's done-callback completes, not on fut, so that cancelling the caller ends
/// this wait at once (fut, already asked to cancel, finishes on its own time).
Coro<void> cancel_and_wait(AnyFuture fut);

/// The result of a done future: moved out or copied (or its exception raised).
template <class T, bool Move>
T wait_for_take_result(Future<T>& fut) {
  if constexpr (std::is_void_v<T>) {
    fut.result();
  } else if constexpr (Move) {
    return std::move(fut.result());
  } else {
    return fut.result();
  }
}

/// wait_for with a timeout <= 0 (Python's special case, so that a coroutine never starts).
template <class T, bool Move>
Coro<T> wait_for_now(Future<T> fut) {
  if (!fut.done()) {
    co_await cancel_and_wait(fut);
    if (fut.cancelled()) raise_timeout_error(fut.state_ptr()->make_cancelled_error());
  }
  co_return wait_for_take_result<T, Move>(fut);
}

inline bool wait_for_expires_now(const Delay& delay) noexcept { return delay.has_value() && delay.ns() <= 0; }

/// The AwaitOutcome awaiter for what wait_for was given: a Coro, a callable returning one, or a handle.
template <bool Move, class Source>
auto wait_for_outcome(Source& source) {
  if constexpr (is_future_or_task_handle<Source>::value) {
    if constexpr (Move) {
      return outcome_of(std::move(source));
    } else {
      return outcome_of(source);
    }
  } else if constexpr (CoroFactory<Source>) {
    return outcome_of(std::invoke(source));
  } else {
    return outcome_of(std::move(source));
  }
}

/// Python's wait_for: `async with timeout(delay): return await source` (one frame: the Timeout
/// lives here), with the timeout <= 0 case first.
template <class T, bool Move, class Source>
Coro<T> wait_for_impl(Source source, Delay delay) {
  if (wait_for_expires_now(delay)) {
    if constexpr (is_future_or_task_handle<Source>::value) {
      co_return co_await wait_for_now<T, Move>(std::move(source));
    } else {
      co_return co_await wait_for_now<T, true>(Future<T>(create_task(std::move(source))));
    }
  }
  Timeout t = timeout(delay);
  TimeoutScope::enter(t);
  AwaitOutcome<T> outcome;
  try {
    outcome.take(co_await wait_for_outcome<Move>(source));
  } catch (...) {
    outcome.error = std::current_exception();  // the callable threw before giving a Coro
  }
  TimeoutScope::leave(t, std::move(outcome.error));
  co_return outcome.get();
}

}  // namespace detail

/// Python's asyncio.wait_for(coro, timeout): see the top of this file. The Coro runs inline in the
/// calling task (a timeout <= 0 wraps it in a task that never starts).
template <class T>
Coro<T> wait_for(Coro<T> coro, detail::Delay timeout) {
  return detail::wait_for_impl<T, true>(std::move(coro), timeout);
}

/// wait_for on a callable returning a Coro (as create_task takes one): the callable lives in
/// wait_for's frame (or in the task, for a timeout <= 0) while the Coro runs.
template <class F>
requires detail::CoroFactory<F>
auto wait_for(F fn, detail::Delay timeout) {
  using T = typename detail::coro_value<std::invoke_result_t<F&>>::type;
  return detail::wait_for_impl<T, true>(std::move(fn), timeout);
}

/// Python's asyncio.wait_for(future_or_task, timeout): see the top of this file. Awaiting an rvalue
/// handle moves the result out; an lvalue handle's result is copied.
template <class A>
requires detail::is_future_or_task_handle<std::remove_cvref_t<A>>::value auto wait_for(A&& future,
                                                                                       detail::Delay timeout) {
  using T = typename std::remove_cvref_t<A>::value_type;
  constexpr bool move = !std::is_lvalue_reference_v<A>;
  static_assert(move || std::is_void_v<T> || std::is_copy_constructible_v<T>,
                "wait_for: the result type cannot be copied; pass the handle with std::move to move it out");
  return detail::wait_for_impl<T, move>(Future<T>(std::forward<A>(future)), timeout);
}

}  // namespace asyncio
