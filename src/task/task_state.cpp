#include "asyncio/task/task_state.hpp"

#include <atomic>
#include <deque>
#include <unordered_map>
#include <vector>

#include "asyncio/detail/describe.hpp"

namespace asyncio::detail {

void install_asyncgen_finalizer() noexcept;  // async_generators.cpp

namespace {
std::atomic<std::uint32_t> task_counter{0};  // Python's global Task-N counter

// Wherever tasks run, an abandoned async generator can be closed in one (see async_generator.hpp).
[[maybe_unused]] const bool asyncgen_finalizer_installed = (install_asyncgen_finalizer(), true);

void run_task_step(void* arg) { static_cast<TaskBase*>(arg)->step(); }
void discard_task_step(void*) noexcept {}  // the loop owns pending tasks; abandon() cleans up
std::string describe_task(void* arg) { return static_cast<TaskBase*>(arg)->repr(); }

void run_resume_handle(void* arg) {
  auto* waiter = static_cast<ResumeWaiter*>(arg);
  const std::coroutine_handle<> h = waiter->handle;
  delete waiter;
  h.resume();
}
void discard_resume_handle(void* arg) noexcept { delete static_cast<ResumeWaiter*>(arg); }
std::string describe_resume_handle(void*) { return "<resume a coroutine>"; }

/// The tasks whose cancel() is passing a request on, innermost first: a task met again is in a
/// cycle. Frames live on the stack of the cancel() calls.
struct CancelFrame {
  const TaskBase* task;
  const CancelFrame* outer;
};
thread_local const CancelFrame* cancel_chain = nullptr;

std::string await_node_name(const FutureBase& f) {
  return f.is_task() ? "Task '" + static_cast<const TaskBase&>(f).name() + "'" : f.repr();
}

std::string cancelled_message(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const CancelledError& c) {
    return c.what();
  } catch (...) {
    return {};
  }
}
}  // namespace

// The layout TaskFields buys (a per-task byte count the idle-task benchmark sees).
static_assert(sizeof(TaskState<int>) == sizeof(TaskBase), "an int result sits in Driver's tail padding");
static_assert(sizeof(TaskState<void>) == sizeof(TaskBase));
// 144 bytes before context variables; the context is one word more.
static_assert(sizeof(void*) != 8 || sizeof(TaskBase) == 152, "a task's size changed: update docs/design.md");

const ReadyOps task_step_ops{&run_task_step, &discard_task_step, &describe_task};
const ReadyOps TaskBase::external_check_ops{&TaskBase::run_external_check, &discard_task_step, &describe_task};
const ReadyOps resume_handle_ops{&run_resume_handle, &discard_resume_handle, &describe_resume_handle};
const TimerOps TaskBase::sleep_timer_ops{&TaskBase::timer_due, &TaskBase::timer_retain, &TaskBase::timer_release};

TaskBase::TaskBase(EventLoop& loop, std::string name, ContextRef context)
    : FutureBase(&loop), TimerNode(&sleep_timer_ops) {
  context_ = std::move(context);
  is_task_ = true;
  task_id_ = task_counter.fetch_add(1, std::memory_order_relaxed) + 1;
  if (!name.empty()) extras().name = std::move(name);
}

TaskBase::~TaskBase() { destroy_root(); }

void TaskBase::release_root() noexcept {
  if (log_traceback_) report_unretrieved("Task exception was never retrieved");
  log_traceback_ = false;
  destroy_root();
}

void TaskBase::set_root(std::coroutine_handle<> root) noexcept { root_ = root; }

void TaskBase::destroy_root() noexcept {
  if (root_) {
    std::coroutine_handle<> r = std::exchange(root_, nullptr);
    current = nullptr;
    r.destroy();
  }
}

void TaskBase::timer_due(TimerNode* node) {
  TaskBase* t = from_timer(node);
  t->set_wait(TaskWait::step);
  LoopAccess::schedule(t->live_loop(), &task_step_ops, t);
}
void TaskBase::timer_retain(TimerNode* node) noexcept { from_timer(node)->retain(); }
void TaskBase::timer_release(TimerNode* node) noexcept { from_timer(node)->release(); }

std::string TaskBase::name() const {
  if (extras_ && !extras_->name.empty()) return extras_->name;
  return "Task-" + std::to_string(task_id_);
}

int TaskBase::uncancel() noexcept {
  if (task_cancels_ > 0) {
    --task_cancels_;
    if (task_cancels_ == 0) must_cancel_ = false;
  }
  return task_cancels_;
}

std::string TaskBase::repr() const {
  const CoroPromiseBase* root = root_promise();
  const unsigned line = root ? root->origin().line : 0;
  std::string text = "<Task " + status_repr() + " name='" + name() + "' coro=<" + coro_name() + "() line " +
                     std::to_string(line) + ">";
  if (status_ == FutureStatus::finished && exception_) text += " exception=" + describe_exception(exception_);
  return text + ">";
}

// begin()'s body, inlined into start() too: create_task's path pays the factory test only.
inline void TaskBase::begin_here(bool eager) {
  if (eager && live_loop().is_running()) {
    LoopAccess::adopt(live_loop(), *this, &TaskBase::abandon_resident);
    retain();  // the loop's reference
    step();
    return;
  }
  LoopAccess::schedule(live_loop(), &task_step_ops, this);
  set_wait(TaskWait::step);
  LoopAccess::adopt(live_loop(), *this, &TaskBase::abandon_resident);
  retain();
}

void TaskBase::start(std::optional<bool> eager_start, const Context* context) {
  if (LoopAccess::task_factory(live_loop())) [[unlikely]] {
    start_by_factory(eager_start, context);
    return;
  }
  begin_here(eager_start.value_or(false));
}

void TaskBase::begin(bool eager) { begin_here(eager); }

void TaskBase::set_waiter(FutureBase* f) noexcept {
  if (f) f->retain();
  if (FutureBase* old = fut_waiter()) old->release();
  waiting_on_ = f;
}

bool TaskBase::park_on(FutureBase& f, std::coroutine_handle<> frame) {
  if (&f == this) {
    pending = std::make_exception_ptr(RuntimeError("Task cannot await on itself: " + repr()));
    return false;
  }
  if (f.loop_or_null() != anchor_->loop) {
    pending = std::make_exception_ptr(
        RuntimeError("Task " + repr() + " got Future " + f.repr() + " attached to a different loop"));
    return false;
  }
  f.add_waiter(*this, WaiterKind::task);
  set_waiter(&f);
  set_wait(TaskWait::future);
  park(frame);
  if (live_loop().get_debug()) [[unlikely]]
    report_await_cycle(f);
  return true;
}

void TaskBase::report_await_cycle(FutureBase& f) {
  // Breadth first from `f` over what each future awaits, remembering how each was reached; the
  // graph may be wide (a gather of many tasks) or long (a chain of tasks), so no recursion.
  std::unordered_map<const FutureBase*, const FutureBase*> reached_from{{&f, nullptr}};
  std::deque<FutureBase*> todo{&f};
  struct Search {
    std::unordered_map<const FutureBase*, const FutureBase*>* reached_from;
    std::deque<FutureBase*>* todo;
    const FutureBase* from = nullptr;
  } search{&reached_from, &todo};
  while (!todo.empty() && !reached_from.contains(this)) {
    FutureBase* next = todo.front();
    todo.pop_front();
    search.from = next;
    next->for_each_awaited(
        [](FutureBase& child, void* context) {
          auto* s = static_cast<Search*>(context);
          if (s->reached_from->emplace(&child, s->from).second) s->todo->push_back(&child);
        },
        &search);
  }
  if (!reached_from.contains(this)) return;
  std::vector<const FutureBase*> cycle;  // this task, back along the path to `f`
  for (const FutureBase* n = this; n != nullptr; n = reached_from[n]) cycle.push_back(n);
  std::string path = await_node_name(*this);
  for (auto it = cycle.rbegin(); it != cycle.rend(); ++it) path += " -> " + await_node_name(**it);
  ExceptionContext context;
  context.message = "Tasks await each other in a cycle, a deadlock: " + path;
  context.future = repr();
  live_loop().call_exception_handler(context);
}

void TaskBase::park_until(std::int64_t when, std::coroutine_handle<> frame) {
  LoopAccess::arm_timer(live_loop(), sleep_timer(), when);
  set_wait(TaskWait::timer);
  park(frame);
}

void TaskBase::park_yield(std::coroutine_handle<> frame) {
  LoopAccess::schedule(live_loop(), &task_step_ops, this);
  set_wait(TaskWait::step);
  park(frame);
}

void TaskBase::park_external(ExternalWait& wait, std::coroutine_handle<> frame) noexcept {
  // Parking happens inside a step, which began with set_waiter(nullptr): no future to release.
  waiting_on_ = &wait;
  set_wait(TaskWait::external);
  park(frame);
}

void TaskBase::wake_external() {
  if (waiting() != TaskWait::external) return;
  LoopAccess::schedule(live_loop(), &task_step_ops, this);
  waiting_on_ = nullptr;
  set_wait(TaskWait::step);
}

void TaskBase::wake_external_hint() {
  if (waiting() != TaskWait::external) return;
  LoopAccess::schedule(live_loop(), &external_check_ops, this);
  set_wait(TaskWait::external_woken);
}

void TaskBase::run_external_check(void* arg) {
  auto* task = static_cast<TaskBase*>(arg);
  // Anything else (cancelled meanwhile: a step is queued) makes this check stale.
  if (task->waiting() != TaskWait::external_woken) return;
  if (task->ext_wait()->still_waiting()) {
    task->set_wait(TaskWait::external);
    return;
  }
  task->waiting_on_ = nullptr;
  task->set_wait(TaskWait::step);
  task->step();
}

void TaskBase::leave_external_wait() {
  ExternalWait* wait = ext_wait();
  waiting_on_ = nullptr;
  set_wait(TaskWait::none);
  wait->forget_task();
  LoopAccess::schedule(live_loop(), &task_step_ops, this);
  set_wait(TaskWait::step);
}

void TaskBase::for_each_awaited(void (*visit)(FutureBase&, void*), void* context) const {
  if (FutureBase* f = fut_waiter()) visit(*f, context);
}

void TaskBase::throw_cancel_cycle() const {
  // The chain from this task (outermost) to the innermost task whose cancel() came back here.
  std::vector<const TaskBase*> cycle;
  for (const CancelFrame* f = cancel_chain; f != nullptr; f = f->outer) {
    cycle.push_back(f->task);
    if (f->task == this) break;
  }
  std::string path;
  for (auto it = cycle.rbegin(); it != cycle.rend(); ++it) path += await_node_name(**it) + " -> ";
  path += await_node_name(*this);
  throw RuntimeError("cancel(): the tasks await each other in a cycle (" + path +
                     "), a deadlock that no cancellation can end; break the cycle, for example by "
                     "awaiting one of them with a timeout");
}

bool TaskBase::cancel(std::string message) {
  log_traceback_ = false;
  if (status_ != FutureStatus::pending) return false;
  if (in_cancel_) throw_cancel_cycle();
  ++task_cancels_;
  if (waiting() == TaskWait::future) {
    // Passing the request on can come back here: mark this task, and undo the count if it throws.
    const CancelFrame frame{this, cancel_chain};
    struct Passing {
      TaskBase& task;
      const CancelFrame* outer;
      bool ok = false;
      ~Passing() {
        task.in_cancel_ = false;
        cancel_chain = outer;
        if (!ok) --task.task_cancels_;
      }
    } passing{*this, cancel_chain};
    in_cancel_ = true;
    cancel_chain = &frame;
    const bool cancelled = fut_waiter()->cancel(message);
    passing.ok = true;
    // The future's wake-up steps the task, and its result() raises CancelledError(message) at the
    // task's co_await. The future stays parked on: it may be a task that ignores the cancellation.
    if (cancelled) return true;
  }
  if (waiting() == TaskWait::timer) {
    LoopAccess::disarm_timer(live_loop(), sleep_timer());
    LoopAccess::schedule(live_loop(), &task_step_ops, this);
    set_wait(TaskWait::step);
  } else if (is_external(waiting())) {
    leave_external_wait();
  }
  must_cancel_ = true;
  extras().cancel_message = std::move(message);
  return true;
}

void TaskBase::step() noexcept {
  if (status_ != FutureStatus::pending || anchor_->loop == nullptr) return;
  if (must_cancel_) {
    pending = make_cancelled_error();
    must_cancel_ = false;
    // CPython's __wakeup reads the awaited future's result before the cancellation is thrown in,
    // which marks its exception retrieved: it must not be reported as never retrieved later.
    if (FutureBase* f = fut_waiter(); f != nullptr && f->done() && !f->cancelled()) (void)f->exception();
  }
  set_waiter(nullptr);
  set_wait(TaskWait::none);
  retain();  // settling drops the loop's reference; keep this alive to the end of the step
  ContextEntry entry;
  if (!entry.enter(context_)) [[unlikely]] {
    refuse_step();
    release();
    return;
  }
  TaskBase* previous = LoopAccess::swap_current_task(live_loop(), this);
  if (!task_started_) {
    task_started_ = true;
    if (pending) {  // cancelled before its first step: the body never runs
      std::exception_ptr error = std::exchange(pending, nullptr);
      destroy_root();
      LoopAccess::swap_current_task(live_loop(), previous);
      entry.leave(context_);
      settle(std::move(error));
      release();
      return;
    }
  }
  run();
  LoopAccess::swap_current_task(live_loop(), previous);
  entry.leave(context_);
  if (!current) {
    complete_from_root();
  } else if (must_cancel_) {
    // Cancelled during this step, now parked: cancel what it waits for, as asyncio's __step does.
    if (waiting() == TaskWait::future) {
      if (fut_waiter()->cancel(cancel_message())) must_cancel_ = false;
    } else if (waiting() == TaskWait::timer) {
      LoopAccess::disarm_timer(live_loop(), sleep_timer());
      LoopAccess::schedule(live_loop(), &task_step_ops, this);
      set_wait(TaskWait::step);
    } else if (is_external(waiting())) {
      leave_external_wait();
    }
  }
  release();
}

void TaskBase::refuse_step() noexcept {
  // asyncio reports the RuntimeError of Handle._run and leaves the task pending, waiting for
  // nothing, for ever (and run()'s shutdown with it): here the task ends with that error instead.
  std::exception_ptr error;
  try {
    throw_already_entered(context_.bits());
  } catch (...) {
    error = std::current_exception();
  }
  pending = nullptr;
  must_cancel_ = false;
  task_started_ = true;
  destroy_root();  // unwinds the frames: their locals are destroyed
  settle(std::move(error));
}

void TaskBase::settle(std::exception_ptr error) noexcept {
  try {
    if (!error) {
      if (must_cancel_) {  // cancelled right before the coroutine returned: it still ends cancelled
        must_cancel_ = false;
        mark_cancelled(cancel_message());
      } else {
        mark_finished();
      }
    } else if (is_cancelled_error(error)) {
      mark_cancelled(cancelled_message(error));
    } else {
      exception_ = std::move(error);
      log_traceback_ = true;
      mark_finished();
    }
  } catch (...) {
    // Only scheduling the callbacks can fail (memory); the task is settled regardless.
  }
  LoopAccess::release(live_loop(), *this);
  release();  // the loop's reference
}

void TaskBase::abandon() noexcept {
  ExceptionContext context;
  context.message = "Task was destroyed but it is pending!";
  try {
    context.future = repr();
  } catch (...) {
  }
  live_loop().call_exception_handler(context);
  if (ExternalWait* wait = ext_wait()) {
    waiting_on_ = nullptr;
    set_wait(TaskWait::none);
    wait->forget_task();
  }
  if (FutureBase* f = fut_waiter()) f->remove_waiter(*this);
  set_waiter(nullptr);  // (the loop already dropped its queues and timers)
  set_wait(TaskWait::none);
  destroy_root();  // unwinds the frames: their locals are destroyed
  drop_callbacks();
  release();  // the loop's reference
}

}  // namespace asyncio::detail
