#include "asyncio/task/task.hpp"

namespace asyncio {

AnyTask current_task(EventLoop* loop) {
  EventLoop& l = loop ? *loop : get_running_loop();
  return AnyTask::from_state(detail::LoopAccess::current_task(l));
}

std::vector<AnyTask> all_tasks(EventLoop* loop) {
  EventLoop& l = loop ? *loop : get_running_loop();
  std::vector<AnyTask> tasks;
  tasks.reserve(detail::LoopAccess::resident_count(l));
  for (detail::Resident* r = detail::LoopAccess::first_resident(l); r; r = detail::LoopAccess::next_resident(*r)) {
    auto* task = static_cast<detail::TaskBase*>(r);
    if (!task->done()) tasks.push_back(AnyTask::from_state(task));
  }
  return tasks;
}

}  // namespace asyncio
