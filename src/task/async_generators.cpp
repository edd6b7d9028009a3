// The task layer's half of async generators: the finalizer hook (an abandoned generator is closed
// in a task on its loop) and loop.shutdown_asyncgens().

#include <exception>
#include <string>
#include <vector>

#include "asyncio/coro/async_generator.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/task/task.hpp"

namespace asyncio {

namespace {

// Python reports an aclose() that failed during shutdown_asyncgens() this way; an abandoned
// generator's failed close is reported the same, rather than as an unretrieved task exception.
Coro<void> close_reporting(EventLoop& loop, Coro<void> closer, const char* function) {
  try {
    co_await closer;
  } catch (const CancelledError&) {
    throw;
  } catch (...) {
    ExceptionContext context;
    context.message = std::string("an error occurred during closing of asynchronous generator '") + function + "'";
    context.exception = std::current_exception();
    loop.call_exception_handler(context);
  }
}

bool finalize_asyncgen(detail::AsyncGenNode& node, Coro<void>& closer) noexcept {
  auto* loop = static_cast<EventLoop*>(node.registry->loop);
  if (loop->is_closed()) return false;
  try {
    (void)asyncio::create_task(*loop, close_reporting(*loop, std::move(closer), node.function));
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace

namespace detail {
void install_asyncgen_finalizer() noexcept {
  asyncgen_finalizer_hook.store(&finalize_asyncgen, std::memory_order_relaxed);
}
}  // namespace detail

Coro<void> EventLoop::shutdown_asyncgens() {
  detail::AsyncGenRegistry& registry = detail::LoopAccess::asyncgens(*this);
  registry.shutdown_called = true;
  std::vector<Task<void>> closers;
  for (detail::AsyncGenNode* node = registry.first; node != nullptr; node = node->next_node) {
    if (!node->closable(*node)) continue;
    closers.push_back(asyncio::create_task(*this, close_reporting(*this, node->make_aclose(*node), node->function)));
  }
  for (Task<void>& closer : closers) co_await closer;
}

}  // namespace asyncio
