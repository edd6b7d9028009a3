#pragma once
/// wrap_future(concurrent_future): Python's asyncio.wrap_future, a ConcurrentFuture seen from a
/// loop. Returns a Future<T> of the loop that completes as the ConcurrentFuture does, so a task can
/// await work that another thread (or another loop, through run_coroutine_threadsafe) completes.
///
///   ConcurrentFuture<int> cf = ConcurrentFuture<int>::create();
///   std::thread worker([cf]() mutable { cf.set_result(compute()); });
///   int n = co_await asyncio::wrap_future(cf);            // the running loop's Future<int>
///
/// As CPython's _chain_future:
///  - the result, the exception, or the cancellation of the ConcurrentFuture is copied into the
///    Future, on the loop's thread (the completing thread posts it with call_soon_threadsafe), in
///    the iteration after it completed;
///  - cancelling the Future cancels the ConcurrentFuture if it is still pending (one running under
///    set_running_or_notify_cancel refuses, as in Python; one from run_coroutine_threadsafe asks
///    its task to cancel); a Future already done (cancelled) is left alone when the outcome
///    arrives;
///  - a loop closed before the ConcurrentFuture completes: the outcome is dropped (the Future stays
///    pending), whether the loop is closed or destroyed by then; closing the loop lets go of the
///    Future. Nothing crosses threads but a link that the loop's close() disconnects (see
///    thread/detail/wrap_link.hpp).
/// Differences: wrap_future on a loop already closed raises RuntimeError("Event loop is closed")
/// (Python returns a future that never completes). While the Future waits, a virtual clock does not
/// jump (another thread may still answer), as for run_in_executor. A move-only result is moved out
/// of the ConcurrentFuture (it can be taken once); a copyable one is copied.
/// Loop thread only (it makes a Future of the loop).

#include <concepts>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "asyncio/exceptions.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/task/future.hpp"
#include "asyncio/thread/concurrent_future.hpp"
#include "asyncio/thread/detail/wrap_link.hpp"

namespace asyncio {

namespace detail {

/// A ConcurrentFuture's outcome, read in the completing thread and carried to the loop.
template <class T>
struct ConcurrentOutcome {
  bool cancelled = false;
  std::exception_ptr error;
  std::optional<std::conditional_t<std::is_void_v<T>, char, T>> value;
};

template <class T>
ConcurrentOutcome<T> read_outcome(ConcurrentState<T>& state) {
  using Status = typename ConcurrentState<T>::Status;
  ConcurrentOutcome<T> outcome;
  std::lock_guard lock(state.mutex);
  if (state.status == Status::cancelled) {
    outcome.cancelled = true;
  } else if (state.error) {
    outcome.error = state.error;
  } else if constexpr (!std::is_void_v<T>) {
    if constexpr (std::is_copy_constructible_v<T>) {
      outcome.value.emplace(*state.value);
    } else {
      outcome.value.emplace(std::move(*state.value));
    }
  }
  return outcome;
}

/// Python's _copy_future_state into `dest`, unless it is done already (cancelled meanwhile).
template <class T>
void copy_outcome(Future<T>& dest, ConcurrentOutcome<T>& outcome) {
  if (dest.done()) return;
  if (outcome.cancelled) {
    dest.cancel();
  } else if (outcome.error) {
    dest.set_exception(outcome.error);
  } else if constexpr (std::is_void_v<T>) {
    dest.set_result();
  } else {
    dest.set_result(std::move(*outcome.value));
  }
}

}  // namespace detail

/// Python's asyncio.wrap_future(future, loop=loop): a Future<T> of `loop` that follows `source`
/// (see the top of this file). InvalidStateError for an empty handle; RuntimeError if `loop` is
/// closed.
template <class T>
Future<T> wrap_future(ConcurrentFuture<T> source, EventLoop& loop) {
  if (!source)
    throw InvalidStateError("wrap_future: the ConcurrentFuture is empty (make one with ConcurrentFuture::create())");
  Future<T> dest = loop.create_future<T>();
  std::shared_ptr<detail::WrapLink> link = detail::WrapLink::make(loop, *dest.state_ptr());
  // Python's _call_check_cancel: the Future is done, by the outcome or otherwise; if cancelled,
  // the ConcurrentFuture is cancelled too.
  dest.add_done_callback([link, source](Future<T>& done) mutable {
    if (detail::FutureBase* held = link->unlink()) held->release();
    if (done.cancelled()) source.cancel();
  });
  // Python's _call_set_state: in the completing thread, or here at once if source is done.
  source.add_done_callback([link](ConcurrentFuture<T>& completed) {
    auto deliver = [link, outcome = detail::read_outcome(*completed.state_ptr())]() mutable {
      if (detail::FutureBase* held = link->unlink()) {
        Future<T> target = Future<T>::adopt(held);
        detail::copy_outcome(target, outcome);
      }
    };
    (void)link->post(std::move(deliver));
  });
  return dest;
}

/// wrap_future on the running loop (RuntimeError "no running event loop" outside one, where
/// Python 3.14's get_event_loop() raises too).
template <class T>
Future<T> wrap_future(ConcurrentFuture<T> source) {
  return wrap_future(std::move(source), get_running_loop());
}

/// wrap_future of an asyncio future or task: the handle itself, as Python returns a Future given to
/// it.
template <class H>
requires std::derived_from<std::remove_cvref_t<H>, AnyFuture> std::remove_cvref_t<H> wrap_future(H&& future) {
  return std::forward<H>(future);
}

}  // namespace asyncio
