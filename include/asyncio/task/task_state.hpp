#pragma once
/// The state behind a Task: a Future that drives a chain of Coro frames (Python's Task object).
///
/// Invariants (as asyncio's tasks.py states them, adapted):
///  - A pending task is owned by its loop (a Resident) and is in exactly one of these states:
///      running its step (the loop's current task), waiting for a step already on the ready queue
///      (waiting() == step), parked on a future (waiting() == future, fut_waiter() set and holding a
///      wake-up entry there), parked on its own sleep timer (waiting() == timer), or parked on an
///      ExternalWait (waiting() == external, or external_woken once it woke the task with a hint,
///      ext_wait() set, which holds the task until it wakes it or is told to forget it). Parking sets Driver::parked,
///      which ends the step's run.
///  - Only step() resumes the chain, through Driver::run; a wake-up is always a step on
///    the ready queue, never a resumption inside another callback.
///  - cancel() never resumes anything: it cancels what the task waits for (whose wake-up then steps
///    the task) or sets must_cancel_, which the next step turns into a CancelledError thrown at the
///    task's co_await. A task cancelled before its first step never runs its body.
///  - When the chain ends the task settles exactly once (result, exception, or cancelled) and the
///    loop drops its reference; the finished root frame stays until the task itself goes.

#include <coroutine>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "asyncio/coro/coro.hpp"
#include "asyncio/coro/driver.hpp"
#include "asyncio/loop/context.hpp"
#include "asyncio/loop/detail/context_state.hpp"
#include "asyncio/task/future_state.hpp"

namespace asyncio::detail {

/// What a parked task waits for. `external_woken`: still at an ExternalWait, whose wake-up was a
/// hint; a check queued where the task's step would run decides whether it steps or parks again.
enum class TaskWait : std::uint8_t { none, step, future, timer, external, external_woken };

/// A place a task can wait at without a Future, for waits on a hot path where making, completing
/// and destroying a Future would cost more than the rest of the wait (a StreamReader's line read).
/// The wait site keeps the task and wakes it with TaskBase::wake_external(); when the task stops
/// waiting for another reason (it is cancelled, or abandoned by a dying loop) the task calls
/// forget_task(), after which the site must not touch the task. The awaiter that parked raises the
/// task's pending exception (CancelledError) on resumption, as a future's awaiter does.
class ExternalWait {
 public:
  /// The task no longer waits here and will not be woken: drop it.
  virtual void forget_task() noexcept = 0;
  /// For a site that wakes its task with TaskBase::wake_external_hint(): called where the task's
  /// step would run. True keeps the task parked here (the site has re-armed itself and will wake
  /// it again); false lets the step run. A wake-up is a hint when the condition it reports can be
  /// undone before the task runs (another task reads the line that woke a line read).
  virtual bool still_waiting() noexcept { return false; }

 protected:
  ExternalWait() = default;
  ~ExternalWait() = default;
};

extern const ReadyOps task_step_ops;
extern const ReadyOps resume_handle_ops;

/// TaskBase's own fields, as a base: TaskBase declares no members, so that Driver, its last base,
/// ends the object and a small result (TaskState<int>'s value) sits in Driver's tail padding.
struct TaskFields {
  // One slot for both (a task parked at an ExternalWait holds no future, see park_external), since
  // every byte of an idle task counts: the ExternalWait* while waiting() == external, else the
  // future parked on (or null).
  void* waiting_on_ = nullptr;
  std::coroutine_handle<> root_;  // the chain's outermost frame (see TaskBase::set_root)
  // The context every step runs in (Python's Task._context): a copy of the creator's, or the one
  // given; empty (no bits) when nothing was ever set, so a plain task pays one word and no count.
  ContextRef context_;
};

class TaskBase : public FutureBase,
                 public Resident,
                 public WaiterLink,
                 private TimerNode,
                 protected TaskFields,
                 public Driver {
 public:
  TaskBase(EventLoop& loop, std::string name, ContextRef context);
  ~TaskBase() override;

  /// Python's Task.cancel(msg): see the invariants above. RuntimeError, naming the tasks, when the
  /// request comes back to this task through what it awaits (tasks awaiting each other in a cycle,
  /// directly or through gather): a deadlock no cancellation can end, where CPython recurses until
  /// RecursionError. The tasks of the cycle keep their state (their cancel() counts are restored).
  bool cancel(std::string message) override;
  /// The future this task is parked on, if any.
  void for_each_awaited(void (*visit)(FutureBase&, void*), void* context) const override;
  [[nodiscard]] std::string repr() const override;
  /// The loop is destroyed while this task is pending: report it, unwind its frames, let go.
  void abandon() noexcept;
  static void abandon_resident(Resident* r) noexcept { static_cast<TaskBase*>(r)->abandon(); }

  /// What create_task does once the task is made: with a task factory set on the loop, hands the
  /// task to it (which calls begin() through TaskRequest::create(), see task/task_factory.hpp),
  /// telling it create_task's `eager_start` and `context` options; else begin(). The factory's
  /// test lives here, out of line, so that create_task's inline code does not change: g++ stops
  /// passing create_task's options in registers (see task_context) when it grows a branch.
  void start(std::optional<bool> eager_start, const Context* context);
  /// Registers with the loop and schedules the first step; with `eager` (and a running loop), runs
  /// the first step now, as Python 3.12's eager tasks do.
  void begin(bool eager);

  /// Python's Task.__step: one run of the chain until it parks or ends, in the task's context. If
  /// that context is a Context entered elsewhere at that moment, the task ends with the
  /// RuntimeError (its frames unwound) instead of running.
  void step() noexcept;

  // --- parking, called by awaiters from inside the task's step ---
  /// Waits for `f`: returns false (without parking) if the task may not wait on it; the reason is
  /// then pending and the awaiter raises it.
  bool park_on(FutureBase& f, std::coroutine_handle<> frame);
  /// Waits for the loop's clock to reach `when` (ns).
  void park_until(std::int64_t when, std::coroutine_handle<> frame);
  /// Lets the loop run everything else that is ready, then continues (sleep(0)).
  void park_yield(std::coroutine_handle<> frame);
  /// Waits at `wait` until it calls wake_external() (see ExternalWait).
  void park_external(ExternalWait& wait, std::coroutine_handle<> frame) noexcept;
  /// Called by the ExternalWait the task is parked at: schedules the task's next step. Nothing if
  /// the task is not parked at one (it was cancelled first).
  void wake_external();
  /// As wake_external(), for a wake-up that is only a hint: what is scheduled first asks the wait
  /// (ExternalWait::still_waiting) whether the task still has to wait, and steps the task only if
  /// not. The wait keeps the task until then; cancel() in between ends the wait as usual.
  void wake_external_hint();

  [[nodiscard]] std::string name() const;
  void set_name(std::string name) { extras().name = std::move(name); }
  /// The name given at creation or by set_name, empty if none (name() is then "Task-N").
  [[nodiscard]] std::string_view given_name() const noexcept {
    return extras_ ? std::string_view(extras_->name) : std::string_view();
  }
  /// Replaces the context the task will run in (a task factory's choice). Before begin() only.
  void set_context(ContextRef context) noexcept { context_ = std::move(context); }
  [[nodiscard]] int cancelling() const noexcept { return task_cancels_; }
  int uncancel() noexcept;
  /// The name of the coroutine function (read from the root frame, kept until the task goes).
  [[nodiscard]] const char* coro_name() const noexcept {
    const CoroPromiseBase* root = root_promise();
    return root ? root->origin().function : "";
  }
  /// Where the coroutine the task runs was defined (function and line), if it still has one.
  [[nodiscard]] std::optional<CoroOrigin> coro_origin() const noexcept {
    const CoroPromiseBase* root = root_promise();
    if (root == nullptr) return std::nullopt;
    return root->origin();
  }
  [[nodiscard]] TaskWait waiting() const noexcept { return static_cast<TaskWait>(task_wait_); }

  /// The context the task runs in, as held (not while it steps: the thread's slot has it then).
  [[nodiscard]] std::uintptr_t context_bits() const noexcept { return context_.bits(); }
  /// Takes the task's context away from a task that is done (Runner keeps its main task's context
  /// for the next run, as CPython's runner keeps one Context for all its runs).
  ContextRef take_context() noexcept { return std::move(context_); }

 protected:
  /// Adopts the chain's outermost frame; the task owns it and destroys it when the task goes (the
  /// finished frame is small, and it names the task in reports).
  void set_root(std::coroutine_handle<> root) noexcept;
  /// The root frame's promise (typed access lives in TaskState<T>); null once the frame is gone.
  [[nodiscard]] virtual const CoroPromiseBase* root_promise() const noexcept = 0;
  /// The root frame ended: store its result (typed) and settle. Implemented by TaskState<T>.
  virtual void complete_from_root() noexcept = 0;
  /// Settles the task after the root ended: `error` null means the value was stored.
  void settle(std::exception_ptr error) noexcept;
  void destroy_root() noexcept;
  /// What the most-derived destructor does: reports an exception nobody retrieved, then destroys
  /// the root frame.
  void release_root() noexcept;

 private:
  static void timer_due(TimerNode* node);
  static void timer_retain(TimerNode* node) noexcept;
  static void timer_release(TimerNode* node) noexcept;
  static const TimerOps sleep_timer_ops;
  static TaskBase* from_timer(TimerNode* node) noexcept { return static_cast<TaskBase*>(node); }
  TimerNode& sleep_timer() noexcept { return *this; }  // the task's own timer, for sleep()

  void set_waiter(FutureBase* f) noexcept;
  /// The future parked on (kept, retained, from park_on until the next step starts), else null.
  [[nodiscard]] FutureBase* fut_waiter() const noexcept {
    return is_external(waiting()) ? nullptr : static_cast<FutureBase*>(waiting_on_);
  }
  /// The ExternalWait parked at, else null.
  [[nodiscard]] ExternalWait* ext_wait() const noexcept {
    return is_external(waiting()) ? static_cast<ExternalWait*>(waiting_on_) : nullptr;
  }
  static bool is_external(TaskWait w) noexcept { return w == TaskWait::external || w == TaskWait::external_woken; }
  /// The check wake_external_hint() queues.
  void begin_here(bool eager);
  /// start() with a task factory set: task/task_factory.cpp.
  [[gnu::cold]] void start_by_factory(std::optional<bool> eager_start, const Context* context);
  static void run_external_check(void* task);
  static const ReadyOps external_check_ops;

  /// Stops waiting at the ExternalWait (which forgets the task) and schedules a step.
  void leave_external_wait();
  /// step() found the task's context entered elsewhere: the task ends with that RuntimeError.
  void refuse_step() noexcept;
  /// Debug mode: reports through the exception handler when parking on `f` closed an await cycle.
  void report_await_cycle(FutureBase& f);
  [[noreturn]] void throw_cancel_cycle() const;
  void set_wait(TaskWait w) noexcept { task_wait_ = static_cast<std::uint8_t>(w); }
};

/// A Task<T>'s state: the task machinery plus the value slot.
template <class T>
class TaskState : public ValueHolder<T, TaskBase> {
 public:
  TaskState(EventLoop& loop, Coro<T>&& coro, std::string name, ContextRef context)
      : ValueHolder<T, TaskBase>(loop, std::move(name), std::move(context)) {
    adopt(std::move(coro));
  }
  // Reports here, not in ~TaskBase: the report names the task through root_promise(), which is
  // this class's, and gone once ~TaskBase runs.
  ~TaskState() override { this->release_root(); }

 protected:
  // For TaskWithCallable: the Coro is made after the callable is in place.
  TaskState(EventLoop& loop, std::string name, ContextRef context)
      : ValueHolder<T, TaskBase>(loop, std::move(name), std::move(context)) {}

  void adopt(Coro<T>&& coro) {
    if (!coro) throw TypeError("create_task: the Coro is empty (moved from, or already awaited)");
    auto h = coro.release();
    if (h.promise().started()) {
      h.destroy();
      throw RuntimeError("create_task: cannot reuse already awaited coroutine");
    }
    h.promise().driver_ = this;
    h.promise().started_ = true;
    this->current = h;
    this->set_root(h);
  }

  const CoroPromiseBase* root_promise() const noexcept override {
    if (!this->root_) return nullptr;
    return &std::coroutine_handle<CoroPromise<T>>::from_address(this->root_.address()).promise();
  }

  void complete_from_root() noexcept override {
    auto h = std::coroutine_handle<CoroPromise<T>>::from_address(this->root_.address());
    std::exception_ptr error = h.promise().exception();
    if constexpr (!std::is_void_v<T>) {
      if (!error) {
        try {
          this->emplace_value(h.promise().take_result());
        } catch (...) {
          error = std::current_exception();
        }
      }
    }
    this->settle(std::move(error));
  }
};

/// A task made from a callable: the callable lives in the task, so a lambda coroutine's captures
/// outlive every suspension (the classic C++ coroutine lifetime bug cannot happen).
template <class T, class F>
class TaskWithCallable final : public TaskState<T> {
 public:
  template <class G>
  TaskWithCallable(EventLoop& loop, G&& fn, std::string name, ContextRef context)
      : TaskState<T>(loop, std::move(name), std::move(context)), fn_(std::forward<G>(fn)) {
    this->adopt(std::invoke(fn_));
  }

 private:
  F fn_;
};

}  // namespace asyncio::detail
