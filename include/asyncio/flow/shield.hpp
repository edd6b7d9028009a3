#pragma once
/// shield(awaitable): Python's asyncio.shield (CPython 3.13 Lib/asyncio/tasks.py is the reference).
///
///   Task<int> save = asyncio::create_task(write_to_disk(data));
///   int n = co_await asyncio::shield(save);   // if this task is cancelled here, `save` goes on
///
/// shield returns an outer Future<T> that follows the inner awaitable: its result, its exception,
/// its cancellation. Cancelling the outer (which is what cancelling a task awaiting it does) does
/// not touch the inner: the awaiting task sees CancelledError, the inner keeps running. A Coro (or a
/// callable returning one) is wrapped in a task first; the loop keeps that task alive until it
/// ends, so nothing needs to hold it. An inner that is already done is returned as is.
///
/// Once the outer is cancelled, the inner's outcome goes nowhere, as in Python: its result is
/// dropped, and its exception is reported as never retrieved unless it was already on its way to
/// the outer ("Future exception was never retrieved"; CPython 3.13 does the same).
///
/// An rvalue Future/Task handle (and a Coro) has its result moved into the outer; an lvalue
/// handle's result is copied, since others may read it.

#include <cstdint>
#include <exception>
#include <type_traits>
#include <utility>

#include "asyncio/coro/coro.hpp"
#include "asyncio/task/future.hpp"
#include "asyncio/task/future_state.hpp"
#include "asyncio/task/runner.hpp"  // detail::is_future_handle
#include "asyncio/task/task.hpp"

namespace asyncio {

namespace detail {

/// The outer future of a shield. It knows the inner only while its done-callback on the inner is
/// registered (or queued), so that it can take that callback back; it holds no reference to the
/// inner, while that callback holds one to it: no reference cycle, whichever is dropped first.
///
/// Invariant: `inner` is non-null exactly while the ShieldInnerDone node registered on it exists,
/// and then points at the future that node is registered on (a registered node dies with its
/// future, and clears `inner` as it goes).
///
/// It keeps FutureBase::cancel: the outer cancels like a plain future, and takes its callback back
/// from the inner in its own done-callback (CPython's _outer_done_callback), one loop iteration
/// later, not inside cancel(). So an inner that completes in between still finds its callback and
/// marks its exception retrieved, as in CPython.
template <class T>
class ShieldState final : public FutureState<T> {
 public:
  explicit ShieldState(EventLoop* loop) noexcept : FutureState<T>(loop) {}

  FutureBase* inner = nullptr;
  std::uint64_t inner_callback = 0;
};

/// Python's _inner_done_callback: copies the inner's outcome to the outer, unless the outer was
/// cancelled meanwhile (then only marks the inner's exception retrieved).
template <class T, bool Move>
struct ShieldInnerDone final : UserCallbackNode {
  explicit ShieldInnerDone(ShieldState<T>* o) noexcept : outer(o) {
    outer->retain();
    invoke = &run;
    destroy = &drop;
  }

  static void run(UserCallbackNode* self) {
    auto* me = static_cast<ShieldInnerDone*>(self);
    FutureBase* inner = me->future;  // set (and retained) when the callback was queued
    ShieldState<T>* outer = me->outer;
    if (outer->cancelled()) {
      if (!inner->cancelled()) (void)inner->exception();  // mark it retrieved
      return;
    }
    if (inner->cancelled()) {
      outer->cancel({});
      return;
    }
    if (std::exception_ptr e = inner->exception()) {
      outer->set_exception(std::move(e));
    } else if constexpr (std::is_void_v<T>) {
      outer->set_result();
    } else if constexpr (Move) {
      outer->set_result(std::move(value_of<T>(inner)));
    } else {
      outer->set_result(value_of<T>(inner));
    }
  }

  static void drop(UserCallbackNode* self) noexcept {
    auto* me = static_cast<ShieldInnerDone*>(self);
    me->outer->inner = nullptr;
    me->outer->release();
    delete me;
  }

  ShieldState<T>* outer;  // retained
};

template <class T, bool Move>
Future<T> shield_future(Future<T> inner) {
  if (inner.done()) return inner;  // Python's shortcut
  FutureBase* in = inner.state_ptr();
  auto* state = new ShieldState<T>(&in->loop());
  Future<T> outer = Future<T>::adopt(state);
  state->inner = in;
  state->inner_callback = in->add_user_callback(new ShieldInnerDone<T, Move>(state));
  // Python's _outer_done_callback: once the outer is done (cancelled, normally), the inner's
  // callback is taken back, unless the inner is done too (then the callback already is queued).
  outer.add_done_callback([](Future<T>& f) {
    auto* s = static_cast<ShieldState<T>*>(f.state_ptr());
    if (s->inner != nullptr && !s->inner->done()) s->inner->remove_callback(s->inner_callback);
  });
  return outer;
}

}  // namespace detail

/// Python's asyncio.shield(coro): wraps the Coro in a task on the running loop and shields it.
template <class T>
Future<T> shield(Coro<T> coro) {
  return detail::shield_future<T, true>(Future<T>(create_task(std::move(coro))));
}

/// shield of a callable returning a Coro: create_task(fn) (the callable lives in the task), shielded.
template <class F>
requires detail::CoroFactory<F>
auto shield(F&& fn) {
  using T = typename detail::coro_value<std::invoke_result_t<std::decay_t<F>&>>::type;
  return detail::shield_future<T, true>(Future<T>(create_task(std::forward<F>(fn))));
}

/// Python's asyncio.shield(future_or_task): see the top of this file.
template <class A>
requires detail::is_future_handle<std::remove_cvref_t<A>>::value Future<typename std::remove_cvref_t<A>::value_type>
shield(A&& future) {
  using T = typename std::remove_cvref_t<A>::value_type;
  constexpr bool move = !std::is_lvalue_reference_v<A>;
  static_assert(move || std::is_void_v<T> || std::is_copy_constructible_v<T>,
                "shield: the result type cannot be copied; pass the handle with std::move to move it out");
  return detail::shield_future<T, move>(Future<T>(std::forward<A>(future)));
}

}  // namespace asyncio
