#pragma once
/// Task factories: Python's loop.set_task_factory / loop.get_task_factory, and eager tasks
/// (asyncio.eager_task_factory, asyncio.create_eager_task_factory; CPython 3.12, with 3.14's
/// eager_start= keyword).
///
///   loop.set_task_factory(asyncio::eager_task_factory);   // every create_task on loop starts eagerly
///   Task<int> t = asyncio::create_task(cached(key));       // ran up to its first suspension here;
///                                                          // done already if it never suspended
///   // A factory of one's own: count, name or instrument every task of the loop.
///   loop.set_task_factory([&created](EventLoop&, TaskRequest& request) {
///     ++created;
///     if (request.options().name.empty()) request.options().name = request.coro_name();
///     return request.create();
///   });
///
/// How a factory looks in C++, and why. Python's factory is factory(loop, coro, **kwargs) and
/// returns a Task it built with Task(coro, loop=loop, **kwargs). Here Task<T> is typed and a
/// factory is one function for every T, so it can neither take the Coro<T> nor build the Task<T>.
/// create_task therefore makes the task first, unstarted, and hands it to the factory type-erased,
/// as a TaskRequest: request.options() are create_task's options (Python's kwargs), which the
/// factory may change; request.create() is Python's Task(coro, loop=loop, **kwargs): it applies the
/// name and context the options now say, registers the task with the loop and starts it (eagerly if
/// the options say so). The factory returns what create() returned, and create_task returns that task typed.
/// Python's factories can also return an object of their own (a Task subclass); a C++ factory
/// cannot replace the task, so what a subclass would add goes through the task instead
/// (add_done_callback, set_name, the context it runs in). The factory is a std::function (a
/// type-erased hook on the loop, not a policy type parameter) so that any callable fits, as in
/// Python, and a loop without one pays a single test in create_task.
///
/// What goes through the factory: every create_task on the loop, and what uses it: TaskGroup's
/// create_task, gather/wait_for/shield of a coroutine, ensure_future, run_until_complete,
/// Runner::run's main task, run_coroutine_threadsafe, the loop's closing of async generators.
///
/// Checked, each with an exception that says what was wrong:
///  - the loop is closed: RuntimeError("Event loop is closed") before the factory runs;
///  - create() called a second time: RuntimeError;
///  - the factory returns without having called create(), or returns another handle than the one
///    create() gave: TypeError (a task never created is destroyed without running, as Python closes
///    the coroutine of a create_task that failed; one created runs on, owned by its loop);
///  - an exception the factory throws propagates out of create_task.
///
/// Eager tasks (eager_start, or a factory that sets it): with the loop running, create() runs the
/// task's first step at once, in the task's context and with current_task() == the new task, then
/// restores the caller's context and current task. A coroutine that returns or throws without
/// suspending leaves the task done (result or exception; cancel() then returns false) and it is
/// never scheduled; one that suspends continues as any task, from the loop. During the eager step
/// all_tasks() includes the task; once it is done it does not. With the loop not running (a main
/// task made before run) the first step is scheduled instead.

#include <string>

#include "asyncio/loop/detail/context_state.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/task/task.hpp"

namespace asyncio {

/// The task create_task is making, as a task factory receives it (see the top of this file). Lives
/// on create_task's stack for the factory's call; not copyable.
class TaskRequest {
 public:
  TaskRequest(const TaskRequest&) = delete;
  TaskRequest& operator=(const TaskRequest&) = delete;

  /// create_task's options (Python's keyword arguments), which the factory may change before
  /// create(): what a name or context points to must live until create() returns.
  [[nodiscard]] TaskOptions& options() noexcept { return options_; }
  [[nodiscard]] const TaskOptions& options() const noexcept { return options_; }
  /// The loop the task is for.
  [[nodiscard]] EventLoop& loop() const noexcept { return *loop_; }
  /// The name of the coroutine function the task will run (Python's coro.__qualname__).
  [[nodiscard]] const char* coro_name() const noexcept { return task_->coro_name(); }
  /// Whether create() ran.
  [[nodiscard]] bool created() const noexcept { return created_; }

  /// Python's Task(coro, loop=loop, **options): names the task (options().name, else "Task-N"),
  /// gives it its context (options().context itself; left as create_task gave it: the context
  /// create_task decided, that one or a copy of the current one taken when create_task was
  /// called), registers it with the loop and starts it. With options().eager_start and the loop
  /// running, the first step runs here, before create() returns; otherwise it is scheduled.
  /// Returns the task. RuntimeError if called a second time (a request makes one task).
  AnyTask create();

 private:
  friend class detail::TaskBase;
  TaskRequest(EventLoop& loop, detail::TaskBase& task, const TaskOptions& options) noexcept
      : loop_(&loop), task_(&task), options_(options), given_context_(options.context) {}

  EventLoop* loop_;
  detail::TaskBase* task_;
  TaskOptions options_;
  const Context* given_context_;  // create_task's: the task already holds it (or a copy of the current)
  bool created_ = false;
};

/// Python's asyncio.eager_task_factory: makes every task with eager_start, unless create_task's
/// caller set eager_start to false. A plain function, so that
/// `loop.get_task_factory().target<decltype(&eager_task_factory)>()` can tell it is the one set.
AnyTask eager_task_factory(EventLoop& loop, TaskRequest& request);

/// Python's asyncio.create_eager_task_factory(custom_task_constructor): a factory that sets
/// eager_start (unless create_task's caller set it) and hands the request on to
/// `custom_task_constructor`, itself a factory: it calls create() and may add to the task what a
/// Python Task subclass would. TypeError if it is empty.
TaskFactory create_eager_task_factory(TaskFactory custom_task_constructor);

}  // namespace asyncio
