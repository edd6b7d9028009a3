#pragma once
/// ensure_future(x): Python's asyncio.ensure_future, something to hold and await as a future.
///
///   Task<int> t = asyncio::ensure_future(fetch(url));        // a Coro: a task, by loop.create_task
///   Future<int> f = asyncio::ensure_future(fut);             // a future or task: itself
///   Task<void> s = asyncio::ensure_future(asyncio::sleep(1)); // another awaitable: awaited in a task
///
/// Python decides at run time what its argument is; here the overload does, at compile time, and
/// keeps the static type (a Task<T> stays a Task<T>, a Future<T> a Future<T>):
///  - a handle (Future<T>, Task<T>, AnyFuture, AnyTask): returned as it is. With a loop given,
///    ValueError if the future belongs to another loop.
///  - a Coro<T> (an rvalue: the task takes it over) or a callable returning one (moved into the
///    task, as create_task does): the Task<T> that loop.create_task makes, so the loop's task
///    factory applies, as in Python.
///  - any other awaitable of this library (sleep(), an Event's wait(), a StreamReader's read...):
///    a Task<R> of a coroutine that awaits it (Python's _wrap_awaitable), R being what its co_await
///    gives, without reference. The awaitable is moved into that coroutine.
///  Anything else does not compile (Python raises TypeError: "An asyncio.Future, a coroutine or an
///  awaitable is required").
/// Without a loop, a coroutine or awaitable goes to the running loop (RuntimeError "no running
/// event loop" outside one, where Python 3.14's get_event_loop() raises too).

#include <concepts>
#include <type_traits>
#include <utility>

#include "asyncio/coro/coro.hpp"
#include "asyncio/exceptions.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/task/future.hpp"
#include "asyncio/task/task.hpp"

namespace asyncio {

namespace detail {

/// A handle to a future or task.
template <class A>
concept EnsureFutureHandle = std::derived_from<std::remove_cvref_t<A>, AnyFuture>;

/// A coroutine a task can take: a Coro<T> rvalue, or a callable returning a Coro<T>.
template <class A>
concept EnsureFutureCoro = !EnsureFutureHandle<A> && (CoroFactory<A> || (!std::is_lvalue_reference_v<A> && requires {
                                                        typename coro_value<std::remove_cvref_t<A>>::type;
                                                      }));

/// What `co_await a` yields, for an awaitable of this library.
template <class A>
struct awaited_value {
  using awaiter = std::conditional_t<HasMemberCoAwait<A>, decltype(std::declval<A>().operator co_await()), A>;
  using type = std::remove_cvref_t<decltype(std::declval<std::remove_reference_t<awaiter>&>().await_resume())>;
};

/// Another awaitable of this library (Python's inspect.isawaitable, minus what the overloads
/// above take), which the wrapping coroutine can take (a Coro lvalue is not one: a task must own
/// its Coro).
template <class A>
concept EnsureFutureAwaitable = !EnsureFutureHandle<A> && !EnsureFutureCoro<A> && !requires {
  typename coro_value<std::remove_cvref_t<A>>::type;
}
&&std::constructible_from<std::remove_cvref_t<A>, A>&& is_loop_awaitable<std::remove_cvref_t<A>>();

/// Python's _wrap_awaitable: a coroutine that awaits `awaitable` and gives its result.
template <class R, class A>
Coro<R> await_in_coro(A awaitable) {
  if constexpr (std::is_void_v<R>) {
    co_await std::move(awaitable);
  } else {
    co_return co_await std::move(awaitable);
  }
}

[[noreturn]] inline void throw_future_of_another_loop() {
  throw ValueError("The future belongs to a different loop than the one specified as the loop argument");
}

}  // namespace detail

/// ensure_future of a future or task: the handle itself.
template <detail::EnsureFutureHandle H>
std::remove_cvref_t<H> ensure_future(H&& future) {
  return std::forward<H>(future);
}

/// ensure_future(future, loop=loop): the handle itself; ValueError if it belongs to another loop.
template <detail::EnsureFutureHandle H>
std::remove_cvref_t<H> ensure_future(H&& future, EventLoop& loop) {
  if (future.get_loop_ptr() != &loop) detail::throw_future_of_another_loop();
  return std::forward<H>(future);
}

/// ensure_future of a coroutine, on `loop`: loop.create_task(coro).
template <detail::EnsureFutureCoro A>
auto ensure_future(A&& coro_or_callable, EventLoop& loop) {
  return create_task(loop, std::forward<A>(coro_or_callable));
}

/// ensure_future of a coroutine, on the running loop.
template <detail::EnsureFutureCoro A>
auto ensure_future(A&& coro_or_callable) {
  return create_task(get_running_loop(), std::forward<A>(coro_or_callable));
}

/// ensure_future of another awaitable, on `loop`: a task awaiting it.
template <detail::EnsureFutureAwaitable A>
auto ensure_future(A&& awaitable, EventLoop& loop) {
  using R = typename detail::awaited_value<std::remove_cvref_t<A>>::type;
  return create_task(loop, detail::await_in_coro<R, std::remove_cvref_t<A>>(std::forward<A>(awaitable)));
}

/// ensure_future of another awaitable, on the running loop.
template <detail::EnsureFutureAwaitable A>
auto ensure_future(A&& awaitable) {
  return ensure_future(std::forward<A>(awaitable), get_running_loop());
}

}  // namespace asyncio
