#include "asyncio/task/task_factory.hpp"

#include <memory>
#include <utility>

namespace asyncio {

void EventLoop::set_task_factory(TaskFactory factory) {
  task_factory_ = factory ? std::make_shared<const TaskFactory>(std::move(factory)) : nullptr;
}

TaskFactory EventLoop::get_task_factory() const { return task_factory_ ? *task_factory_ : TaskFactory(); }

AnyTask TaskRequest::create() {
  if (created_) {
    throw RuntimeError("TaskRequest::create(): the task of this request was already created (" + task_->repr() +
                       "); a task factory calls create() once and returns the task it gave");
  }
  detail::ContextRef context;
  bool from_preset = false;
  if (options_.context != nullptr) {
    context = detail::hold_context(*options_.context);
  } else if (preset_ != nullptr) {
    context = std::move(*preset_);
    from_preset = true;
  } else {
    context = detail::capture_context(detail::LoopAccess::context_cache(*loop_));
  }
  if (!options_.name.empty()) task_->set_name(std::string(options_.name));
  task_->set_context(std::move(context));
  try {
    task_->start(options_.eager_start.value_or(false));
  } catch (...) {
    if (from_preset) *preset_ = task_->take_context();  // the runner keeps its context
    throw;
  }
  created_ = true;
  preset_taken_ = from_preset;
  return AnyTask::from_state(task_);
}

AnyTask eager_task_factory(EventLoop&, TaskRequest& request) {
  if (!request.options().eager_start.has_value()) request.options().eager_start = true;
  return request.create();
}

TaskFactory create_eager_task_factory(TaskFactory custom_task_constructor) {
  if (!custom_task_constructor) {
    throw TypeError(
        "create_eager_task_factory: the custom task constructor is empty; pass a factory that calls "
        "TaskRequest::create() and returns its task (or use eager_task_factory itself)");
  }
  return [custom = std::move(custom_task_constructor)](EventLoop& loop, TaskRequest& request) {
    if (!request.options().eager_start.has_value()) request.options().eager_start = true;
    return custom(loop, request);
  };
}

namespace detail {

bool run_task_factory(EventLoop& loop, TaskBase& task, const TaskOptions& options, ContextRef* preset) {
  if (loop.is_closed()) throw RuntimeError("Event loop is closed");
  // A reference of this call's own: a task the factory starts eagerly may replace the factory.
  const std::shared_ptr<const TaskFactory> factory = LoopAccess::task_factory(loop);
  TaskRequest request(loop, task, options, preset);
  const AnyTask made = (*factory)(loop, request);
  if (!request.created_) {
    throw TypeError(
        "the task factory returned without calling TaskRequest::create(): a factory makes the task of its "
        "request with create() and returns it");
  }
  if (made.state_ptr() != &task) {
    throw TypeError("the task factory returned " + (made ? made.repr() : std::string("an empty handle")) +
                    " instead of the task TaskRequest::create() made (" + task.repr() +
                    "): return what create() returned (create_task gives that task back typed, so a factory cannot "
                    "replace it)");
  }
  return request.preset_taken_;
}

}  // namespace detail
}  // namespace asyncio
