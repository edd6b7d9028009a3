#pragma once
/// loop.run_in_executor(executor, fn, args...) and to_thread(fn, args...): blocking work on another
/// thread, its result back on the loop as a Future (the seed's fake_io_read, made real).
///
///   int n = co_await loop.run_in_executor(nullptr, count_lines, path);  // default thread pool
///   int m = co_await asyncio::to_thread(count_lines, path);
///
/// The result comes back only through call_soon_threadsafe, so the Future is completed on the loop's
/// thread. While a job runs, a virtual clock does not jump: a timeout around it fires in loop time
/// only after the job has answered.
///
/// Context variables, as in asyncio: to_thread runs fn in a copy of the caller's context, so fn
/// sees the caller's values (and what fn sets stays in the copy); run_in_executor copies nothing, so
/// fn runs in the worker thread's own context, unless fn enters one itself (ctx.run(...)).

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "asyncio/coro/coro.hpp"
#include "asyncio/loop/context.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/task/future.hpp"
#include "asyncio/thread/thread_pool_executor.hpp"

namespace asyncio {

namespace detail {

/// A reference to a future's state carried through another thread. The count is not atomic, so
/// the reference is taken and dropped on the loop's thread only: it is released by the callback
/// that runs (or is discarded) on the loop.
struct LoopThreadRef {
  FutureBase* state;
  explicit LoopThreadRef(FutureBase* s) noexcept : state(s) {}
  LoopThreadRef(LoopThreadRef&& o) noexcept : state(std::exchange(o.state, nullptr)) {}
  LoopThreadRef(const LoopThreadRef&) = delete;
  ~LoopThreadRef() {
    if (state) state->release();
  }
};

/// fn, called in a context of its own: to_thread's copy of the caller's (functools.partial(ctx.run,
/// func) in asyncio).
template <class F>
struct RunInContext {
  Context context;
  F fn;
  template <class... Args>
  std::invoke_result_t<F&, Args&...> operator()(Args&... args) {
    return context.run(fn, args...);
  }
};

template <class R>
struct JobOutcome {
  std::optional<R> value;
  std::exception_ptr error;
};
template <>
struct JobOutcome<void> {
  bool ran = false;
  std::exception_ptr error;
};

}  // namespace detail

template <class F, class... Args>
auto EventLoop::run_in_executor(Executor* executor, F&& fn, Args&&... args) {
  using R = std::invoke_result_t<std::decay_t<F>&, std::decay_t<Args>&...>;
  check_loop_thread("run_in_executor");
  if (executor == nullptr) {
    if (!default_executor_) default_executor_ = std::make_unique<ThreadPoolExecutor>();
    executor = default_executor_.get();
  }
  Future<R> future = create_future<R>();
  detail::FutureBase* state = future.state_ptr();
  state->retain();  // given back on the loop thread by the result callback
  detail::LoopAccess::hold_autojump(*this);
  auto job = [loop = this, state, fn = std::forward<F>(fn),
              args = std::make_tuple(std::forward<Args>(args)...)]() mutable {
    detail::JobOutcome<R> outcome;
    try {
      if constexpr (std::is_void_v<R>) {
        std::apply(fn, args);
        outcome.ran = true;
      } else {
        outcome.value.emplace(std::apply(fn, args));
      }
    } catch (...) {
      outcome.error = std::current_exception();
    }
    auto deliver = [loop, ref = detail::LoopThreadRef(state), outcome = std::move(outcome)]() mutable {
      detail::LoopAccess::release_autojump(*loop);
      Future<R> f = Future<R>::from_state(ref.state);
      if (f.done()) return;  // cancelled meanwhile: the result is dropped, as asyncio drops it
      if (outcome.error) {
        f.set_exception(outcome.error);
      } else if constexpr (std::is_void_v<R>) {
        f.set_result();
      } else {
        f.set_result(std::move(*outcome.value));
      }
    };
    auto* node = new detail::CallbackNode(loop, std::move(deliver), false);
    if (!detail::LoopAccess::try_post(*loop, node)) {
      // The loop closed under a custom executor: releasing the state here would race with the loop
      // thread, so the node (and one reference) is left behind on purpose.
      (void)node;
    }
  };
  try {
    executor->submit(detail::Callback(std::move(job)));
  } catch (...) {
    detail::LoopAccess::release_autojump(*this);
    state->release();
    throw;
  }
  return future;
}

namespace detail {

template <class F, class... Args>
Coro<std::invoke_result_t<F&, Args&...>> to_thread_body(F fn, Args... args) {
  // Named, not a temporary in the co_await: g++ 12 would destroy the temporary twice.
  RunInContext<F> call{copy_context(), std::move(fn)};
  co_return co_await get_running_loop().run_in_executor(nullptr, std::move(call), std::move(args)...);
}

}  // namespace detail

/// Python's asyncio.to_thread(fn, *args): a coroutine that, once awaited (or wrapped in a task),
/// runs fn(args...) on the running loop's default executor in a copy of the then current context
/// (fn sees the caller's context variables) and returns its result. Like Python's, a call that is
/// never awaited runs nothing (debug mode reports the coroutine as never awaited). fn and args are
/// copied (or moved) into the coroutine; a reference argument needs std::ref. Awaited outside a
/// running loop it raises RuntimeError.
template <class F, class... Args>
[[nodiscard]] Coro<std::invoke_result_t<std::decay_t<F>&, std::decay_t<Args>&...>> to_thread(F&& fn, Args&&... args) {
  return detail::to_thread_body<std::decay_t<F>, std::decay_t<Args>...>(std::forward<F>(fn),
                                                                        std::forward<Args>(args)...);
}

}  // namespace asyncio
