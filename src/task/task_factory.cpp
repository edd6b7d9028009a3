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
  if (options_.context != given_context_) {
    task_->set_context(options_.context != nullptr
                           ? detail::hold_context(*options_.context)
                           : detail::capture_context(detail::LoopAccess::context_cache(*loop_)));
  }
  if (options_.name != task_->given_name()) task_->set_name(std::string(options_.name));
  task_->begin(options_.eager_start.value_or(false));
  created_ = true;
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

void TaskBase::start_by_factory(std::optional<bool> eager_start, const Context* context) {
  EventLoop& loop = live_loop();
  if (loop.is_closed()) throw RuntimeError("Event loop is closed");
  // A reference of this call's own: a task the factory starts eagerly may replace the factory.
  const std::shared_ptr<const TaskFactory> factory = LoopAccess::task_factory(loop);
  TaskOptions options;
  options.name = given_name();
  options.eager_start = eager_start;
  options.context = context;
  TaskRequest request(loop, *this, options);
  const AnyTask made = (*factory)(loop, request);
  if (!request.created_) {
    throw TypeError(
        "the task factory returned without calling TaskRequest::create(): a factory makes the task of its "
        "request with create() and returns it");
  }
  if (made.state_ptr() != this) {
    throw TypeError("the task factory returned " + (made ? made.repr() : std::string("an empty handle")) +
                    " instead of the task TaskRequest::create() made (" + repr() +
                    "): return what create() returned (create_task gives that task back typed, so a factory cannot "
                    "replace it)");
  }
}

}  // namespace detail
}  // namespace asyncio
