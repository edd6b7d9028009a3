#pragma once
/// run(coro), Runner and loop.run_until_complete: Python's entry points from synchronous code.
///
///   int main() { return asyncio::run(main_coro()); }
///
/// run() makes a new loop, runs the coroutine in a task until it is done, then cancels the tasks
/// still pending and waits for them, shuts the default executor down (its threads are joined off
/// the loop, so jobs that call back into the loop can finish), closes the loop, and returns the
/// coroutine's result or rethrows its exception.
///
/// Ctrl-C, as CPython 3.11+'s asyncio.Runner: when run() runs in the process's main thread and
/// SIGINT has its default disposition (the user installed no handler of their own, and does not
/// block it), the first SIGINT cancels the main task instead of killing the process, and restores
/// SIGINT's default disposition, so that a second SIGINT kills the process as usual. If the main
/// task then ends cancelled (it did not swallow the cancellation, and no other cancel() is left
/// pending: uncancel() gives 0), run() raises KeyboardInterrupt; if it caught the CancelledError
/// and returned, run() returns its result. SIGINT is read through the loop's
/// add_signal_handler (loop/signal_watch.hpp) while the main task runs, and everything is restored
/// when run() returns. (CPython's second SIGINT raises KeyboardInterrupt in whatever code runs; a
/// C++ program cannot raise from a signal handler, so the default action, termination, applies.)

#include <memory>
#include <type_traits>
#include <utility>

#include "asyncio/coro/coro.hpp"
#include "asyncio/loop/context.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/task/future.hpp"
#include "asyncio/task/keyboard_interrupt.hpp"
#include "asyncio/task/task.hpp"

namespace asyncio {

namespace detail {

/// Runs `loop` until `future` is done; throws RuntimeError if the loop stopped first.
void run_until_done(EventLoop& loop, AnyFuture future);

template <class T>
struct is_future_handle : std::false_type {};
template <class T>
struct is_future_handle<Future<T>> : std::true_type {};
template <class T>
struct is_future_handle<Task<T>> : std::true_type {};

/// Runner::run's SIGINT handling for one run (see the top of this file): installs the handler if
/// this is the main thread and SIGINT has its default disposition and is not blocked; removes it
/// again on destruction if it is still installed (the first SIGINT removes it itself, and the user
/// may have replaced it).
class SigintGuard {
 public:
  SigintGuard(EventLoop& loop, AnyFuture main);
  ~SigintGuard();
  SigintGuard(const SigintGuard&) = delete;
  SigintGuard& operator=(const SigintGuard&) = delete;

  /// Whether a SIGINT arrived during this run.
  [[nodiscard]] bool interrupted() const noexcept;

  /// What the guard shares with its handler's closure (task/runner.cpp).
  struct State;

 private:
  EventLoop& loop_;
  std::shared_ptr<State> state_;  // null: not installed
};

/// The main task of Runner::run: a Task for a Coro or a callable, running in `context` if given,
/// else in the runner's (moved into the task; `took` is set); the handle itself for a Future or
/// Task handle.
template <class A>
auto main_future(EventLoop& loop, A&& awaitable, const Context* context, ContextRef& runner_context, bool& took) {
  if constexpr (is_future_handle<std::remove_cvref_t<A>>::value) {
    if (awaitable.get_loop_ptr() != &loop) {
      throw ValueError("The future belongs to a different loop than the one specified as the loop argument");
    }
    return std::remove_cvref_t<A>(std::forward<A>(awaitable));
  } else if (context != nullptr) {
    TaskOptions options;
    options.context = context;
    return asyncio::create_task(loop, std::forward<A>(awaitable), options);
  } else {
    auto task = make_task(loop, std::forward<A>(awaitable), TaskOptions{}, std::move(runner_context));
    took = true;
    return task;
  }
}

/// Gives the runner back the context its main task ran in: the task's own if it is done, else a
/// copy of it (it may still step, in close()).
void give_back_context(FutureBase& main, ContextRef& runner_context, EventLoop& loop) noexcept;

}  // namespace detail

template <class A>
decltype(auto) EventLoop::run_until_complete(A&& awaitable) {
  using Arg = std::remove_cvref_t<A>;
  if (is_closed()) throw_closed();
  if (running_) throw RuntimeError("This event loop is already running");
  if constexpr (detail::is_future_handle<Arg>::value) {
    using T = typename Arg::value_type;
    Arg future = std::forward<A>(awaitable);
    if (future.get_loop_ptr() != this) {
      throw ValueError("The future belongs to a different loop than the one specified as the loop argument");
    }
    detail::run_until_done(*this, future);
    if constexpr (std::is_void_v<T>) {
      future.result();
    } else if constexpr (std::is_rvalue_reference_v<A&&>) {
      return T(std::move(future.result()));
    } else {
      return T(future.result());
    }
  } else {
    auto task = asyncio::create_task(*this, std::forward<A>(awaitable));
    using T = typename decltype(task)::value_type;
    detail::run_until_done(*this, task);
    if constexpr (std::is_void_v<T>) {
      task.result();
    } else {
      return T(std::move(task.result()));
    }
  }
}

/// Python's asyncio.Runner: one loop for several run() calls, closed by close() or the destructor.
class Runner {
 public:
  /// The loop is made on first use, with these options.
  explicit Runner(LoopOptions options = {}) : options_(options) {}
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;
  /// close().
  ~Runner() { close(); }

  /// Runs `coro` (a Coro, or a callable returning one) in a task on this runner's loop until it is
  /// done; returns its result or rethrows its exception. The task runs in the runner's context, a
  /// copy of the context current when the loop was made (CPython's Runner._context): what one run()
  /// sets, the next one sees. (The runner's context is handed from one main task to the next, so a
  /// program that sets no variable pays nothing for it.) RuntimeError if a loop already runs in
  /// this thread or the runner is closed. KeyboardInterrupt if a SIGINT cancelled the task (see the
  /// top of this file).
  template <class A>
  auto run(A&& coro) {
    return run_main(std::forward<A>(coro), nullptr);
  }

  /// Python's runner.run(coro, context=ctx): the same, the task running in `context` itself.
  template <class A>
  auto run(A&& coro, const Context& context) {
    return run_main(std::forward<A>(coro), &context);
  }

  /// Cancels what is still pending and waits for it, shuts the default executor down, closes the
  /// loop. Idempotent; never throws (errors go to the loop's exception handler).
  void close() noexcept;

  /// The runner's loop (made now if needed, and the runner's context with it). RuntimeError once
  /// closed.
  EventLoop& get_loop();

 private:
  template <class A>
  auto run_main(A&& coro, const Context* context) {
    if (detail::running_loop() != nullptr)
      throw RuntimeError(
          "Runner.run() cannot be called from a running event loop: inside a coroutine, co_await the "
          "coroutine (or create_task() it) instead");
    EventLoop& loop = get_loop();
    bool took = false;
    auto main = detail::main_future(loop, std::forward<A>(coro), context, context_, took);
    struct GiveBack {
      bool took;
      detail::FutureBase* main;
      detail::ContextRef& context;
      EventLoop& loop;
      ~GiveBack() {
        if (took) detail::give_back_context(*main, context, loop);
      }
    } give_back{took, main.state_ptr(), context_, loop};
    detail::SigintGuard guard(loop, main);
    try {
      // A Future handle the caller keeps is read by copy, as run_until_complete does for lvalues.
      using Handle = decltype(main);
      constexpr bool keep = detail::is_future_handle<std::remove_cvref_t<A>>::value && std::is_lvalue_reference_v<A>;
      Handle handle = main;
      return loop.run_until_complete(static_cast<std::conditional_t<keep, Handle&, Handle&&>>(handle));
    } catch (const CancelledError&) {
      if (guard.interrupted()) {
        if constexpr (requires { main.uncancel(); }) {
          if (main.uncancel() == 0) throw KeyboardInterrupt();
        } else {
          throw KeyboardInterrupt();
        }
      }
      throw;
    }
  }

  LoopOptions options_;
  std::unique_ptr<EventLoop> loop_;
  detail::ContextRef context_;  // made with the loop; lent to each run's main task
  bool closed_ = false;
};

/// Python's asyncio.run(coro): see the top of this file.
template <class A>
auto run(A&& coro, LoopOptions options = {}) {
  if (detail::running_loop() != nullptr)
    throw RuntimeError(
        "asyncio::run() cannot be called from a running event loop: inside a coroutine, co_await the "
        "coroutine (or create_task() it) instead");
  Runner runner(options);
  return runner.run(std::forward<A>(coro));
}

/// Cancels every pending task of `loop` and runs the loop until they are done; exceptions other
/// than cancellation go to the exception handler (what run() does at the end).
void cancel_all_tasks(EventLoop& loop);

/// Python's loop.shutdown_default_executor(): shuts the default executor down, joining its threads
/// in a helper thread while the loop keeps running.
Coro<void> shutdown_default_executor(EventLoop& loop);

}  // namespace asyncio
