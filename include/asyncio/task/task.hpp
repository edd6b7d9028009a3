#pragma once
/// Task<T>: Python's asyncio.Task, a Future<T> that runs a Coro<T> concurrently on its loop.
///
///   Task<int> t = create_task(fetch(url));                        // scheduled, runs from the loop
///   Task<int> u = create_task([url]() -> Coro<int> { ... }, {.name = "fetch"});  // lambda kept alive
///   int n = co_await t;                                            // wait for it
///   t.cancel("shutting down");                                     // CancelledError at its co_await
///
/// The loop owns every pending task: a task nobody holds still runs to the end (in asyncio it could
/// be garbage-collected mid-flight). Cancellation is asyncio's exactly: edge-triggered and counted
/// (cancel() / cancelling() / uncancel()); see task/task_state.hpp for the invariants.

#include <concepts>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "asyncio/coro/coro.hpp"
#include "asyncio/loop/context.hpp"
#include "asyncio/loop/detail/context_state.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/task/future.hpp"
#include "asyncio/task/stack_frame.hpp"
#include "asyncio/task/task_state.hpp"

namespace asyncio {

/// Options of create_task (Python's keyword arguments name=, eager_start= and context=).
///
/// Trivially destructible on purpose: g++ 12 destroys an aggregate temporary with a non-trivial
/// destructor twice when it appears inside a co_await expression (`co_await create_task(c, {...})`).
struct TaskOptions {
  /// The task's name, copied into the task; empty: "Task-N". (Initialised here so that g++ 12 does
  /// not warn about `TaskOptions{.context = &ctx}` leaving it out.)
  std::string_view name{};
  /// Run the first step inside create_task (if the loop is running), as Python 3.12's eager tasks:
  /// a coroutine that finishes without suspending never touches the ready queue. Unset (Python:
  /// the keyword not given) lets the loop's task factory decide: eager_task_factory starts the task
  /// eagerly, no factory does not; `false` keeps even eager_task_factory from doing so (3.14).
  std::optional<bool> eager_start{};
  /// Python's context=: the Context the task runs in, itself, not a copy (the task keeps a
  /// reference; the pointer need not outlive create_task). Null: a copy of the current context.
  const Context* context = nullptr;
};

namespace detail {

std::vector<StackFrame> task_stack(const TaskBase& task, std::optional<std::size_t> limit);
void print_task_stack(const TaskBase& task, std::optional<std::size_t> limit, std::ostream& out);

/// The methods Task<T> and AnyTask share.
template <class Derived>
class TaskMethods {
 public:
  /// Python's get_name(): the name given at creation or by set_name, else "Task-N".
  [[nodiscard]] std::string get_name() const { return task().name(); }
  void set_name(std::string name) { task().set_name(std::move(name)); }
  /// Python's cancelling(): cancel() requests not yet withdrawn by uncancel().
  [[nodiscard]] int cancelling() const { return task().cancelling(); }
  /// Python's uncancel(): withdraws one cancel() request; returns how many remain.
  int uncancel() { return task().uncancel(); }
  /// The name of the coroutine function the task runs (Python's get_coro().__name__).
  [[nodiscard]] const char* coro_name() const { return task().coro_name(); }

  /// Python's get_stack(limit=None): the task's frames, oldest first. As in Python, a task not yet
  /// done shows one frame, its coroutine's (see StackFrame for what a C++ frame records), and a
  /// task that is done shows none (Python walks a failed task's traceback; C++ exceptions carry
  /// none). With `limit`, at most that many frames, the newest.
  [[nodiscard]] std::vector<StackFrame> get_stack(std::optional<std::size_t> limit = std::nullopt) const {
    return detail::task_stack(task(), limit);
  }

  /// Python's print_stack(limit=None, file=None): "Stack for <Task ...> (most recent call last):"
  /// then a line per frame of get_stack(limit), or "No stack for <Task ...>", written to `out`
  /// (standard error by default, as Python's sys.stderr).
  void print_stack(std::optional<std::size_t> limit = std::nullopt, std::ostream& out = std::cerr) const {
    detail::print_task_stack(task(), limit, out);
  }

 private:
  TaskBase& task() const {
    FutureBase* s = static_cast<const Derived*>(this)->state_ptr();
    if (s == nullptr) throw InvalidStateError("empty Task handle");
    return *static_cast<TaskBase*>(s);
  }
};

template <class C>
struct coro_value;
template <class T>
struct coro_value<Coro<T>> {
  using type = T;
};

template <class F>
concept CoroFactory = std::invocable < std::decay_t<F>
& > &&requires { typename coro_value<std::invoke_result_t<std::decay_t<F>&>>::type; };

}  // namespace detail

/// A handle to a task of any result type: what current_task() and all_tasks() return.
class AnyTask : public AnyFuture, public detail::TaskMethods<AnyTask> {
 public:
  AnyTask() noexcept = default;

  /// add_done_callback with a task handle: fn(AnyTask&).
  template <class F>
  requires std::is_invocable_v < std::decay_t<F>
  &, AnyTask& > CallbackId add_done_callback(F&& fn) {
    return detail::add_done_callback<AnyTask>(state(), std::forward<F>(fn), nullptr);
  }

  /// add_done_callback with a task handle, run in `context` itself.
  template <class F>
  requires std::is_invocable_v < std::decay_t<F>
  &, AnyTask& > CallbackId add_done_callback(F&& fn, const Context& context) {
    return detail::add_done_callback<AnyTask>(state(), std::forward<F>(fn), &context);
  }

  static AnyTask from_state(detail::FutureBase* s) noexcept { return AnyTask(s, Retain{}); }

 private:
  using AnyFuture::AnyFuture;
};

template <class T = void>
class Task : public Future<T>, public detail::TaskMethods<Task<T>> {
 public:
  /// An empty handle.
  Task() noexcept = default;

  /// A task's result is set by its coroutine (Python raises RuntimeError; here it does not compile).
  template <class... Args>
  void set_result(Args&&...) = delete;
  template <class E>
  void set_exception(E&&) = delete;

  /// add_done_callback with the typed handle: fn(Task<T>&).
  template <class F>
  requires std::is_invocable_v < std::decay_t<F>
  &, Task<T>& > CallbackId add_done_callback(F&& fn) {
    return detail::add_done_callback<Task<T>>(this->state(), std::forward<F>(fn), nullptr);
  }

  /// add_done_callback with the typed handle, run in `context` itself.
  template <class F>
  requires std::is_invocable_v < std::decay_t<F>
  &, Task<T>& > CallbackId add_done_callback(F&& fn, const Context& context) {
    return detail::add_done_callback<Task<T>>(this->state(), std::forward<F>(fn), &context);
  }

  /// The same task, without its result type.
  operator AnyTask() const noexcept { return AnyTask::from_state(this->s_); }  // NOLINT: a Task is an AnyTask

  static Task from_state(detail::FutureBase* s) noexcept { return Task(s, typename Future<T>::Retain{}); }
  /// Takes over a state reference (create_task).
  static Task adopt(detail::FutureBase* s) noexcept { return Task(s, typename Future<T>::Adopt{}); }

 private:
  using Future<T>::Future;
};

namespace detail {
/// What a new task runs in: the given context, else a copy of the current one (Task.__init__).
/// Takes the pointer, not the options: g++ then passes create_task's options in registers (its
/// IPA-SRA gives up on an aggregate whose address is taken, and the loads from the caller's
/// vector stores stall on store forwarding: +40 ns per task measured on this machine).
inline ContextRef task_context(EventLoop& loop, const Context* given) {
  if (given != nullptr) return hold_context(*given);
  return capture_context(LoopAccess::context_cache(loop));
}
}  // namespace detail

namespace detail {
/// create_task with the context the task runs in already decided (Runner hands its main task the
/// runner's context this way).
template <class T>
Task<T> make_task(EventLoop& loop, Coro<T>&& coro, TaskOptions options, ContextRef context) {
  auto* state = new TaskState<T>(loop, std::move(coro), std::string(options.name), std::move(context));
  Task<T> task = Task<T>::adopt(state);
  state->start(options.eager_start, options.context);
  return task;
}

template <class F>
requires CoroFactory<F>
auto make_task(EventLoop& loop, F&& fn, TaskOptions options, ContextRef context) {
  using T = typename coro_value<std::invoke_result_t<std::decay_t<F>&>>::type;
  auto* state = new TaskWithCallable<T, std::decay_t<F>>(loop, std::forward<F>(fn), std::string(options.name),
                                                         std::move(context));
  Task<T> task = Task<T>::adopt(state);
  state->start(options.eager_start, options.context);
  return task;
}

}  // namespace detail

/// Python's loop.create_task(coro): wraps `coro` in a Task on `loop` and schedules its first step.
/// The task runs in a copy of the current context (what it sets, its creator does not see), or in
/// `options.context`. With a task factory set on `loop` (set_task_factory), the task is handed to
/// the factory, which starts it (see task/task_factory.hpp).
template <class T>
Task<T> create_task(EventLoop& loop, Coro<T>&& coro, TaskOptions options = {}) {
  return detail::make_task(loop, std::move(coro), options, detail::task_context(loop, options.context));
}

/// create_task from a callable that returns a Coro: the callable is moved into the task and called
/// there, so what it captures lives as long as the task.
template <class F>
requires detail::CoroFactory<F>
auto create_task(EventLoop& loop, F&& fn, TaskOptions options = {}) {
  return detail::make_task(loop, std::forward<F>(fn), options, detail::task_context(loop, options.context));
}

/// Python's asyncio.create_task(coro): on the running loop (RuntimeError if none runs).
template <class A>
requires(detail::CoroFactory<A> || requires {
  typename detail::coro_value<std::remove_cvref_t<A>>::type;
}) auto create_task(A&& coro_or_callable, TaskOptions options = {}) {
  return create_task(get_running_loop(), std::forward<A>(coro_or_callable), options);
}

template <class A, class... Options>
auto EventLoop::create_task(A&& coro_or_callable, Options&&... options) {
  return asyncio::create_task(*this, std::forward<A>(coro_or_callable), std::forward<Options>(options)...);
}

/// Python's asyncio.current_task(): the task running on `loop` (default: the running loop), or an
/// empty handle outside any task.
AnyTask current_task(EventLoop* loop = nullptr);

/// Python's asyncio.all_tasks(): the tasks of `loop` (default: the running loop) not yet done.
std::vector<AnyTask> all_tasks(EventLoop* loop = nullptr);

}  // namespace asyncio
