#pragma once
/// TaskGroup: Python's asyncio.TaskGroup (3.13, with cancel() from CPython's main branch).
///
///   asyncio::TaskGroup tg;
///   co_await tg.run([&](asyncio::TaskGroup& g) -> Coro<void> {   // Python: async with TaskGroup() as g:
///     t1 = g.create_task(fetch(a));
///     t2 = g.create_task(fetch(b));
///     co_await asyncio::sleep(1);                                 // the body runs on, in this task
///   });
///   // here every child is done: t1.result(), t2.result()
///
/// Python's `async with` has no C++ spelling (no co_await in destructors), so the group runs a body:
/// `co_await tg.run(body)` enters the group, runs body(tg) (or body()) in the calling task, then
/// waits for every child, as `__aexit__` does. run() returns only when every child is done: a group
/// cannot be left while a child runs, whatever happens (errors, repeated outside cancellations).
///
/// Semantics (CPython's taskgroups.py):
///  - The first child that fails cancels the other children and the parent task (the one running
///    run()), so the body's pending co_await raises CancelledError; run() then raises one
///    ExceptionGroup("unhandled errors in a TaskGroup") holding every child's error, in the order
///    they failed, then the body's own error if it raised one (other than that CancelledError).
///  - The body raising cancels the children; its error joins the group (even alone).
///  - The parent cancelled from outside: the children are cancelled and waited for, then the
///    CancelledError propagates (with its message), unless children's errors were collected: they
///    win, and the parent is cancelled again so that the cancellation is not lost (cancelling()
///    unchanged). As in CPython (gh-155433), the body's own error is added to the group only when
///    the group raises one: after cancel(), a body that raises while the parent is cancelled from
///    outside ends the group with that CancelledError, and the body's error is lost.
///  - The group's own cancellation of the parent is withdrawn with uncancel() before run()
///    returns, so nested groups and timeouts each swallow only their own cancellation.
///  - cancel() (CPython main) cancels the children and the body and ends the group without an
///    error; before run() it makes the group cancel itself on entry; after, it does nothing.
///  - A child cancelled on its own (its task.cancel()) is not an error.
///
/// Differences from Python, and why:
///  - No BaseExceptionGroup (see flow/exception_group.hpp). A child or body raising an
///    asyncio::BaseException other than CancelledError (GeneratorExit, a user's subclass) is
///    treated as CPython treats SystemExit/KeyboardInterrupt: once every child is done it
///    propagates as itself, and the group's other errors go to the loop's exception handler
///    (CPython main, gh-135736). Unlike CPython, the group's own cancellation of the parent is
///    withdrawn on this path too.
///  - run() with a body that returns a value (Coro<T>) returns that value. If cancel() cut such a
///    body short there is no value: run() raises RuntimeError (in Python, using a variable the
///    block never assigned raises UnboundLocalError). Bodies of cancellable groups are usually
///    Coro<void>.
///  - create_task() of a refused Coro destroys it without the "never awaited" report (Python closes
///    the coroutine for the same reason).

#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "asyncio/coro/coro.hpp"
#include "asyncio/exceptions.hpp"
#include "asyncio/flow/exception_group.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/task/future.hpp"
#include "asyncio/task/task.hpp"

namespace asyncio {

class TaskGroup;

namespace detail {

/// What a TaskGroup body returns: body(TaskGroup&) or, failing that, body().
template <class F>
auto call_task_group_body(F& body, TaskGroup& group) {
  if constexpr (std::is_invocable_v<F&, TaskGroup&>) {
    return std::invoke(body, group);
  } else {
    return std::invoke(body);
  }
}

template <class F>
concept TaskGroupBody = requires(F& body, TaskGroup& group) {
  typename coro_value<decltype(call_task_group_body(body, group))>::type;
};

/// What TaskGroup::create_task accepts: what asyncio::create_task accepts.
template <class A>
concept TaskGroupChild = CoroFactory<A> || requires {
  typename coro_value<std::remove_cvref_t<A>>::type;
};

template <class F>
using task_group_body_value_t =
    typename coro_value<decltype(call_task_group_body(std::declval<F&>(), std::declval<TaskGroup&>()))>::type;

}  // namespace detail

/// Python's asyncio.TaskGroup: a scope whose child tasks all finish before it ends.
///
/// Invariants (as CPython's fields, adapted):
///  - entered_ is set once, by run(); exiting_ once the body ended; aborting_ once the children
///    were cancelled (by an error, the body ending with an error, an outside cancellation or
///    cancel()); after that no child is created.
///  - The children not yet done-called-back are exactly the occupied slots (live_ of them); each
///    holds a reference to its task and the id of the done-callback that will free the slot.
///  - parent_cancel_requested_ is set iff this group called parent_.cancel(); exit() then calls
///    parent_.uncancel() exactly once.
///  - Once run() returned: no live child, no callback of a child points at this group, and parent_
///    and the errors are released.
/// The group must outlive run(); it is bound to the loop that ran it. Loop-thread only.
class TaskGroup {
 public:
  TaskGroup() = default;
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;
  /// Detaches from children still pending (only possible if run() never finished, e.g. its loop
  /// was destroyed meanwhile); they are not cancelled.
  ~TaskGroup();

  /// `async with`: enters the group (RuntimeError if it was entered before, or if not called from
  /// a task), runs `body(group)` (or `body()`) in the calling task, waits for every child, and
  /// returns the body's result; raises ExceptionGroup, CancelledError, or a BaseException as
  /// described at the top of this file. `body` is kept alive until run() returns.
  template <detail::TaskGroupBody F>
  Coro<detail::task_group_body_value_t<F>> run(F body) {
    using T = detail::task_group_body_value_t<F>;
    static_assert(!std::is_reference_v<T>, "a TaskGroup body returns a value or void, not a reference");
    enter();
    std::exception_ptr error;
    [[maybe_unused]] std::optional<std::conditional_t<std::is_void_v<T>, char, T>> value;
    try {
      if constexpr (std::is_void_v<T>) {
        co_await detail::call_task_group_body(body, *this);
      } else {
        value.emplace(co_await detail::call_task_group_body(body, *this));
      }
    } catch (...) {
      error = std::current_exception();
    }
    co_await exit(std::move(error));
    if constexpr (!std::is_void_v<T>) {
      if (!value) throw RuntimeError("TaskGroup.cancel() ended the body before it returned a value");
      co_return std::move(*value);
    }
  }

  /// Python's tg.create_task(coro, name=..., context=...): a child task of this group, from a Coro
  /// or a callable returning one (moved into the task, as asyncio::create_task does), running in a
  /// copy of the current context or in `options.context`. RuntimeError
  /// "TaskGroup <...> has not been entered" / "is finished" / "is shutting down" (the group is
  /// cancelling its children) otherwise. An eager child that fails at once still cancels the
  /// body only from the loop, after create_task returned (gh-128550).
  template <detail::TaskGroupChild A>
  auto create_task(A&& coro_or_callable, TaskOptions options = {}) {
    if (const char* refused = refusal()) {
      if constexpr (!detail::CoroFactory<A>) {
        // Python closes the coroutine: it never runs, and is not reported as never awaited.
        if (auto frame = std::forward<A>(coro_or_callable).release()) frame.destroy();
      }
      throw RuntimeError("TaskGroup " + repr() + " " + refused);
    }
    auto task = asyncio::create_task(*loop_, std::forward<A>(coro_or_callable), options);
    adopt(task);
    return task;
  }

  /// Python's tg.cancel() (CPython main): cancels the children still running and the body, and
  /// makes run() end without raising CancelledError (errors of children that failed anyway are
  /// still raised). Before run(): the group cancels itself when entered. Idempotent; does nothing
  /// once the group is finished.
  void cancel();

  /// "<TaskGroup tasks=2 errors=1 cancelling>", as Python's repr.
  [[nodiscard]] std::string repr() const;

 private:
  struct Child {
    AnyTask task;                 // empty: a free slot
    CallbackId callback = 0;      // the done-callback that frees this slot
    std::uint32_t next_free = 0;  // free slots form a list
  };
  static constexpr std::uint32_t kNoSlot = UINT32_MAX;

  void enter();
  Coro<void> exit(std::exception_ptr error);
  /// Why create_task refuses now, or null.
  [[nodiscard]] const char* refusal() const noexcept;
  /// Tracks a new child: a slot and a done-callback.
  void adopt(AnyTask task);
  /// Cancels every child not yet done; from now on no child is created.
  void abort();
  void on_task_done(std::uint32_t slot, AnyTask& task);
  void report(const char* message, const std::exception_ptr& error, const AnyTask* task) const noexcept;

  EventLoop* loop_ = nullptr;
  AnyTask parent_;
  std::vector<Child> children_;
  std::uint32_t free_head_ = kNoSlot;
  std::uint32_t live_ = 0;
  std::vector<std::exception_ptr> errors_;
  std::exception_ptr base_error_;  // the first asyncio::BaseException (not a cancellation)
  Future<void> on_completed_;      // set while exit() waits for the last child
  bool entered_ = false;
  bool exiting_ = false;
  bool aborting_ = false;
  bool parent_cancel_requested_ = false;
  bool cancel_on_enter_ = false;
};

}  // namespace asyncio
