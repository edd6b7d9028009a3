#include "asyncio/task/runner.hpp"

#include <signal.h>
#include <unistd.h>

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

void give_back_context(FutureBase& main, ContextRef& runner_context, EventLoop& loop) noexcept {
  auto& task = static_cast<TaskBase&>(main);
  if (task.done()) {
    runner_context = task.take_context();
    return;
  }
  try {
    runner_context = capture_context_slow(task.context_bits(), LoopAccess::context_cache(loop));
  } catch (...) {
    // No memory for a snapshot: the next run starts from an empty context.
  }
}

// --- Ctrl-C (CPython 3.11+ runners.py: Runner.run and Runner._on_sigint) ---------------------------

struct SigintGuard::State {
  EventLoop* loop = nullptr;
  AnyFuture main;
  int interrupts = 0;
  bool installed = false;  // our handler is still the loop's SIGINT handler
};

namespace {

/// Lives in the SIGINT handler's closure: when the loop drops the handler (removed by the first
/// SIGINT, by the guard, or replaced by the user), the guard learns that it is no longer installed.
class InstalledMark {
 public:
  explicit InstalledMark(std::shared_ptr<SigintGuard::State> state) noexcept : state_(std::move(state)) {
    state_->installed = true;
  }
  InstalledMark(InstalledMark&&) noexcept = default;
  InstalledMark& operator=(InstalledMark&&) = delete;
  ~InstalledMark() {
    if (state_) state_->installed = false;
  }
  [[nodiscard]] SigintGuard::State& state() const noexcept { return *state_; }

 private:
  std::shared_ptr<SigintGuard::State> state_;
};

void on_sigint(SigintGuard::State& state) {
  ++state.interrupts;
  // The default disposition comes back now: a second SIGINT terminates the process.
  state.loop->remove_signal_handler(SIGINT);
  if (!state.main.done()) state.main.cancel();
}

bool sigint_is_default() noexcept {
  if (::getpid() != ::gettid()) return false;  // CPython: only in the main thread
  struct sigaction current {};
  if (::sigaction(SIGINT, nullptr, &current) != 0) return false;
  if ((current.sa_flags & SA_SIGINFO) != 0 || current.sa_handler != SIG_DFL) return false;
  sigset_t mask;
  if (pthread_sigmask(SIG_BLOCK, nullptr, &mask) != 0) return false;
  return sigismember(&mask, SIGINT) == 0;  // blocked: the program waits for it its own way
}

}  // namespace

SigintGuard::SigintGuard(EventLoop& loop, AnyFuture main) : loop_(loop) {
  if (!sigint_is_default()) return;
  auto state = std::make_shared<State>();
  state->loop = &loop;
  state->main = std::move(main);
  try {
    loop.add_signal_handler(SIGINT, [mark = InstalledMark(state)] { on_sigint(mark.state()); });
  } catch (...) {  // no signalfd (descriptor limit...): run without Ctrl-C handling, as before
    return;
  }
  state_ = std::move(state);
}

SigintGuard::~SigintGuard() {
  if (state_ && state_->installed) {
    try {
      loop_.remove_signal_handler(SIGINT);
    } catch (...) {
    }
  }
}

bool SigintGuard::interrupted() const noexcept { return state_ && state_->interrupts > 0; }

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
  std::vector<AnyTask> cancelled;
  cancelled.reserve(to_cancel.size());
  for (AnyTask& t : to_cancel) {
    try {
      t.cancel();
      cancelled.push_back(t);
    } catch (const RuntimeError&) {
      // An await cycle (a deadlock): the task can never finish, so waiting for it would hang.
      // It is reported here and again, as pending, when the loop goes.
      ExceptionContext context;
      context.message = "asyncio::run() shutdown: a task that can never finish could not be cancelled";
      context.exception = std::current_exception();
      context.future = t.repr();
      loop.call_exception_handler(context);
    }
  }
  to_cancel = std::move(cancelled);
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
  if (!loop_) {
    loop_ = std::make_unique<EventLoop>(options_);
    context_ = detail::capture_context(detail::LoopAccess::context_cache(*loop_));
  }
  return *loop_;
}

void Runner::close() noexcept {
  if (closed_) return;
  closed_ = true;
  if (!loop_) return;
  try {
    cancel_all_tasks(*loop_);
    loop_->run_until_complete(loop_->shutdown_asyncgens());
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
