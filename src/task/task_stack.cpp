#include <ostream>
#include <string>
#include <vector>

#include "asyncio/task/task.hpp"

namespace asyncio::detail {

std::vector<StackFrame> task_stack(const TaskBase& task, std::optional<std::size_t> limit) {
  std::vector<StackFrame> frames;
  if (task.done() || (limit && *limit == 0)) return frames;
  if (std::optional<CoroOrigin> origin = task.coro_origin()) {
    frames.push_back(StackFrame{origin->function, origin->line});
  }
  return frames;
}

void print_task_stack(const TaskBase& task, std::optional<std::size_t> limit, std::ostream& out) {
  const std::vector<StackFrame> frames = task_stack(task, limit);
  if (frames.empty()) {
    out << "No stack for " << task.repr() << '\n';
    return;
  }
  out << "Stack for " << task.repr() << " (most recent call last):\n";
  for (const StackFrame& frame : frames) out << "  line " << frame.line << ", in " << frame.function << '\n';
}

}  // namespace asyncio::detail
