#include "asyncio/task/runner.hpp"

#include <thread>
#include <vector>

#include "asyncio/loop/logger.hpp"

namespace asyncio {

namespace detail {
void run_until_done(EventLoop& loop, AnyFuture future) {
  const CallbackId id = future.add_done_callback([](AnyFuture& f) { f.get_loop().stop(); });
  try {
    loop.run_forever();
  } catch (...) {
    future.remove_done_callback(id);
    throw;
  }
  future.remove_done_callback(id);
  if (!future.done()) throw RuntimeError("Event loop stopped before Future completed.");
}
}  // namespace detail

namespace {
Coro<void> wait_quietly(std::vector<AnyTask> tasks) {
  for (AnyTask& t : tasks) {
    try {
      co_await t;
    } catch (...) {  // results are read below; CancelledError is the expected outcome
    }
  }
}
}  // namespace

void cancel_all_tasks(EventLoop& loop) {
  std::vector<AnyTask> to_cancel = all_tasks(&loop);
  if (to_cancel.empty()) return;
  for (AnyTask& t : to_cancel) t.cancel();
  loop.run_until_complete(wait_quietly(to_cancel));
  for (AnyTask& t : to_cancel) {
    if (t.cancelled()) continue;
    if (std::exception_ptr e = t.exception()) {
      ExceptionContext context;
      context.message = "unhandled exception during asyncio::run() shutdown";
      context.exception = e;
      context.future = t.repr();
      loop.call_exception_handler(context);
    }
  }
}

Coro<void> shutdown_default_executor(EventLoop& loop) {
  Executor* executor = loop.default_executor();
  if (executor == nullptr) co_return;
  Future<void> done = loop.create_future<void>();
  // The handle's count is not atomic: the helper thread carries a raw pointer with a reference
  // taken here, and gives it back on the loop thread.
  detail::FutureBase* state = done.state_ptr();
  state->retain();
  detail::LoopAccess::hold_autojump(loop);
  std::thread joiner([executor, &loop, state] {
    executor->shutdown(true);
    loop.call_soon_threadsafe([state, &loop] {
      detail::LoopAccess::release_autojump(loop);
      if (!state->done()) Future<void>::from_state(state).set_result();
      state->release();
    });
  });
  try {
    co_await done;
  } catch (...) {
    joiner.join();
    throw;
  }
  joiner.join();
}

EventLoop& Runner::get_loop() {
  if (closed_) throw RuntimeError("Runner is closed");
  if (!loop_) loop_ = std::make_unique<EventLoop>(options_);
  return *loop_;
}

void Runner::close() noexcept {
  if (closed_) return;
  closed_ = true;
  if (!loop_) return;
  try {
    cancel_all_tasks(*loop_);
    loop_->run_until_complete(shutdown_default_executor(*loop_));
  } catch (...) {
    ExceptionContext context;
    context.message = "error while closing the Runner";
    context.exception = std::current_exception();
    loop_->call_exception_handler(context);
  }
  try {
    loop_->close();
  } catch (...) {
  }
  loop_.reset();
}

}  // namespace asyncio
