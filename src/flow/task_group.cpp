#include "asyncio/flow/task_group.hpp"

#include "asyncio/detail/describe.hpp"
#include "asyncio/loop/exception_context.hpp"

namespace asyncio {

namespace {

/// CPython groups every error but SystemExit and KeyboardInterrupt; here the BaseExceptions that
/// are not cancellations play their part (an ExceptionGroup cannot hold them).
bool is_base_error(const std::exception_ptr& error) noexcept {
  try {
    std::rethrow_exception(error);
  } catch (const CancelledError&) {
    return false;
  } catch (const BaseException&) {
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace

TaskGroup::~TaskGroup() {
  for (Child& child : children_) {
    if (child.task) child.task.remove_done_callback(child.callback);
  }
}

std::string TaskGroup::repr() const {
  std::string info;
  if (live_ > 0) info += " tasks=" + std::to_string(live_);
  if (!errors_.empty()) info += " errors=" + std::to_string(errors_.size());
  if (aborting_) {
    info += " cancelling";
  } else if (entered_) {
    info += " entered";
  }
  return "<TaskGroup" + info + ">";
}

void TaskGroup::enter() {
  if (entered_) throw RuntimeError("TaskGroup " + repr() + " has already been entered");
  EventLoop& loop = get_running_loop();
  AnyTask parent = current_task(&loop);
  if (!parent) throw RuntimeError("TaskGroup " + repr() + " cannot determine the parent task");
  loop_ = &loop;
  parent_ = std::move(parent);
  entered_ = true;
  if (cancel_on_enter_) cancel();
}

const char* TaskGroup::refusal() const noexcept {
  if (!entered_) return "has not been entered";
  if (exiting_ && live_ == 0) return "is finished";
  if (aborting_) return "is shutting down";
  return nullptr;
}

void TaskGroup::adopt(AnyTask task) {
  std::uint32_t slot = free_head_;
  if (slot != kNoSlot) {
    free_head_ = children_[slot].next_free;
  } else {
    slot = static_cast<std::uint32_t>(children_.size());
    children_.emplace_back();
  }
  Child& child = children_[slot];
  child.task = task;
  ++live_;
  // Added even if the task is already done (an eager task that finished at once): the callback
  // then runs from the loop, so a failure cancels the body at its next co_await, not inside
  // create_task (gh-128550).
  try {
    child.callback = task.add_done_callback([this, slot](AnyTask& t) { on_task_done(slot, t); });
  } catch (...) {
    child.task = AnyTask();
    child.next_free = free_head_;
    free_head_ = slot;
    --live_;
    throw;
  }
  // An eager child may have cancelled the group during its first step, before it had a slot
  // (gh-155418).
  if (aborting_ && !task.done()) task.cancel();
}

void TaskGroup::abort() {
  aborting_ = true;
  // cancel() never runs callbacks or resumes anything, so the slots do not change meanwhile.
  for (Child& child : children_) {
    if (child.task && !child.task.done()) child.task.cancel();
  }
}

void TaskGroup::cancel() {
  if (!entered_) {
    cancel_on_enter_ = true;
    return;
  }
  if (exiting_ && live_ == 0) return;
  if (!aborting_) {
    abort();
    if (parent_ && !parent_cancel_requested_) {
      parent_cancel_requested_ = true;
      parent_.cancel();
    }
  }
}

void TaskGroup::report(const char* message, const std::exception_ptr& error, const AnyTask* task) const noexcept {
  if (loop_ == nullptr) return;
  ExceptionContext context;
  try {
    context.message = message;
    context.exception = error;
    if (task != nullptr) context.future = task->repr();
  } catch (...) {
  }
  loop_->call_exception_handler(context);
}

void TaskGroup::on_task_done(std::uint32_t slot, AnyTask& task) {
  Child& child = children_[slot];
  child.task = AnyTask();
  child.next_free = free_head_;
  free_head_ = slot;
  --live_;

  if (on_completed_ && live_ == 0 && !on_completed_.done()) on_completed_.set_result();

  if (task.cancelled()) return;
  std::exception_ptr error = task.exception();
  if (!error) return;

  errors_.push_back(error);
  if (!base_error_ && is_base_error(error)) base_error_ = error;

  if (!parent_ || parent_.done()) {
    // CPython keeps this branch though it is not known to happen: run() outlives its children.
    std::string message = "Task " + task.repr() + " has errored out but its parent task " +
                          (parent_ ? parent_.repr() : std::string("<none>")) + " is already completed";
    report(message.c_str(), error, &task);
    return;
  }
  if (!aborting_ && !parent_cancel_requested_) {
    // Interrupts whatever the body awaits; exit() withdraws this cancellation (uncancel) so that
    // code after run() in the parent runs normally.
    abort();
    parent_cancel_requested_ = true;
    parent_.cancel();
  }
}

Coro<void> TaskGroup::exit(std::exception_ptr error) {
  exiting_ = true;
  const bool body_cancelled = detail::is_cancelled_error(error);
  if (error && !body_cancelled && !base_error_ && is_base_error(error)) base_error_ = error;
  std::exception_ptr propagate_cancel = body_cancelled ? error : nullptr;
  // The body ended with an error, or was cancelled from outside: the children go too.
  if (error && !aborting_) abort();

  // A loop, because the parent may be cancelled again and again while the children finish.
  std::exception_ptr pending_cancel;
  while (live_ > 0) {
    if (!on_completed_) on_completed_ = loop_->create_future<void>();
    try {
      co_await on_completed_;
    } catch (const CancelledError&) {
      pending_cancel = std::current_exception();
      if (!aborting_) {
        // The parent is cancelled from outside while only waiting for the children.
        propagate_cancel = pending_cancel;
        abort();
      }
    }
    on_completed_ = Future<void>();
  }

  if (parent_cancel_requested_) {
    // This group cancelled the parent: withdraw exactly that request.
    if (parent_.uncancel() == 0) {
      propagate_cancel = nullptr;  // it was ours alone
    } else if (!propagate_cancel) {
      propagate_cancel = pending_cancel;  // another one remains: do not drop it (gh-155433)
    }
  }

  std::exception_ptr raise;
  if (base_error_) {
    // Raised as itself; the other errors would be lost with it, so they are reported (gh-135736).
    for (const std::exception_ptr& other : errors_) {
      if (other != base_error_) {
        report(
            "TaskGroup task exception was not propagated because the TaskGroup body is being closed with a "
            "BaseException",
            other, nullptr);
      }
    }
    if (error && !body_cancelled && error != base_error_) {
      report(
          "TaskGroup task exception was not propagated because the TaskGroup body is being closed with a "
          "BaseException",
          error, nullptr);
    }
    raise = base_error_;
  } else if (propagate_cancel && errors_.empty()) {
    raise = propagate_cancel;
  } else {
    if (error && !body_cancelled) errors_.push_back(error);
    if (!errors_.empty()) {
      // Errors win over a cancellation from outside; cancel the parent again so that it is not
      // lost, keeping cancelling() where it was.
      if (parent_.cancelling() > 0) {
        parent_.uncancel();
        parent_.cancel();
      }
      try {
        raise = std::make_exception_ptr(ExceptionGroup("unhandled errors in a TaskGroup", std::move(errors_)));
      } catch (...) {
        raise = std::current_exception();
      }
    }
  }

  // As CPython's __aexit__ finally: keep no references once finished.
  parent_ = AnyTask();
  errors_.clear();
  base_error_ = nullptr;
  if (raise) std::rethrow_exception(raise);
}

}  // namespace asyncio
