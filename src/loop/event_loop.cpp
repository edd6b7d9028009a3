#include "asyncio/loop/event_loop.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "asyncio/coro/coro.hpp"
#include "asyncio/detail/describe.hpp"
#include "asyncio/loop/logger.hpp"

namespace asyncio {

namespace {

thread_local EventLoop* tls_running_loop = nullptr;

bool debug_from_environment() {
  const char* v = std::getenv("ASYNCIO_DEBUG");
  return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
}

void report_never_awaited(const detail::CoroOrigin& origin) {
  EventLoop* loop = tls_running_loop;
  if (!(loop ? loop->get_debug() : debug_from_environment())) return;
  log(LogLevel::warning,
      std::string("coroutine '") + origin.function + "' (line " + std::to_string(origin.line) + ") was never awaited");
}

void register_asyncgen(detail::AsyncGenNode& node) noexcept {
  EventLoop* loop = tls_running_loop;
  if (loop == nullptr) return;  // iterated outside a loop: nothing will close it but its owner
  detail::AsyncGenRegistry& registry = detail::LoopAccess::asyncgens(*loop);
  if (registry.shutdown_called) {
    log(LogLevel::warning,
        "an asynchronous generator was first iterated after shutdown_asyncgens(): it will not be "
        "closed by the loop");
  }
  registry.add(node);
}

std::string describe_callback_node(void* arg) {
  auto* node = static_cast<detail::CallbackNode*>(arg);
  return "<" + std::string(node->is_timer ? "TimerHandle " : "Handle ") +
         detail::type_name(node->callback.target_type()) + ">";
}

void run_callback_node(void* arg) {
  auto* node = static_cast<detail::CallbackNode*>(arg);
  struct Release {
    detail::CallbackNode* n;
    ~Release() { detail::release(n); }
  } release{node};
  if (node->cancelled) return;
  detail::run_handle_callback(*node);
  node->callback.reset();  // what it captured goes now, even if a Handle keeps the node
}

void discard_callback_node(void* arg) noexcept { detail::release(static_cast<detail::CallbackNode*>(arg)); }

}  // namespace

namespace detail {
void run_handle_callback(CallbackNode& node) noexcept {
  node.running = true;
  try {
    // Left before the exception handler runs, as asyncio's Handle._run leaves Context.run.
    ContextEntry entry;
    if (!entry.enter(node.context)) throw_already_entered(node.context.bits());
    struct Leave {
      ContextEntry& entry;
      ContextRef& held;
      ~Leave() { entry.leave(held); }
    } leave{entry, node.context};
    node.callback();
  } catch (...) {
    ExceptionContext context;
    context.message = "Exception in callback";
    context.exception = std::current_exception();
    context.handle = describe_callback_node(&node);
    node.loop->call_exception_handler(context);
  }
  node.running = false;
}

const ReadyOps callback_ready_ops{&run_callback_node, &discard_callback_node, &describe_callback_node};

EventLoop* running_loop() noexcept { return tls_running_loop; }

}  // namespace detail

EventLoop& get_running_loop() {
  if (tls_running_loop == nullptr) {
    throw RuntimeError(
        "no running event loop: create_task(), sleep() and the other asyncio functions run inside a "
        "loop; start one with asyncio::run(main()) and call them from the coroutines it runs");
  }
  return *tls_running_loop;
}

EventLoop::EventLoop() : EventLoop(LoopOptions{}) {}

EventLoop::EventLoop(LoopOptions options)
    : backend_(detail::make_default_backend()),
      anchor_(new detail::LoopAnchor{this}),
      clock_(options.clock),
      debug_(options.debug.value_or(debug_from_environment())) {
  detail::coro_never_awaited_hook.store(&report_never_awaited, std::memory_order_relaxed);
  detail::asyncgen_firstiter_hook.store(&register_asyncgen, std::memory_order_relaxed);
  asyncgens_.loop = this;
}

EventLoop::~EventLoop() {
  if (!is_closed()) close();
  // Pending tasks: each unlinks itself, reports, unwinds its frames and drops the loop's reference.
  while (residents_ != nullptr) {
    detail::Resident* r = residents_;
    detail::LoopAccess::release(*this, *r);
    abandon_resident_(r);
  }
  anchor_->loop = nullptr;
  anchor_->release();
  detail::release_snapshot_cache(context_cache_);
}

void EventLoop::throw_closed() { throw RuntimeError("Event loop is closed"); }

void EventLoop::check_thread_slow(const char* what) const {
  if (running_ && std::this_thread::get_id() != thread_id_) {
    throw RuntimeError(std::string("Non-thread-safe operation invoked on an event loop other than the current one (") +
                       what + ")");
  }
}

void EventLoop::advance_time(double seconds) {
  if (clock_ != ClockKind::virtual_time) throw RuntimeError("advance_time: the loop's clock is not virtual");
  const std::int64_t ns = detail::seconds_to_ns(seconds, "advance_time");
  if (ns < 0) throw ValueError("advance_time: cannot move time backwards");
  virtual_now_ = detail::add_saturating(virtual_now_, ns);
}

void EventLoop::set_slow_callback_duration(double seconds) {
  if (!(seconds >= 0)) throw ValueError("slow_callback_duration must be a non-negative number of seconds");
  slow_callback_seconds_ = seconds;
}

void EventLoop::cancel_timer(detail::CallbackNode& node) noexcept { timers_.cancel(node); }

bool EventLoop::try_post(detail::CallbackNode* node) {
  std::lock_guard lock(inbox_mutex_);
  if (closed_.load(std::memory_order_relaxed)) return false;
  inbox_.push_back(node);
  inbox_nonempty_.store(true, std::memory_order_seq_cst);
  // Pairs with run_once(): it sets polling_ and then looks at inbox_nonempty_, so either it sees
  // this node before it sleeps or this thread sees it sleeping. The wake is written under the
  // lock so that close() cannot release the backend underneath it.
  if (polling_.load(std::memory_order_seq_cst) && !wake_sent_.exchange(true, std::memory_order_acq_rel)) {
    backend_->wake();
    wakeups_written_.fetch_add(1, std::memory_order_relaxed);
  }
  return true;
}

void EventLoop::drain_inbox() {
  if (!inbox_nonempty_.load(std::memory_order_acquire)) return;
  {
    std::lock_guard lock(inbox_mutex_);
    inbox_.swap(inbox_spare_);
    inbox_nonempty_.store(false, std::memory_order_relaxed);
  }
  for (detail::CallbackNode* node : inbox_spare_) ready_.push(&detail::callback_ready_ops, node);
  inbox_spare_.clear();
}

void EventLoop::run_once() {
  enter_running("run_once");
  struct Leave {
    EventLoop* loop;
    ~Leave() { loop->leave_running(); }
  } leave{this};
  run_iteration();
}

void EventLoop::enter_running(const char* what) {
  if (is_closed()) throw_closed();
  if (running_) throw RuntimeError(std::string("This event loop is already running (") + what + ")");
  if (tls_running_loop != nullptr) throw RuntimeError("Cannot run the event loop while another loop is running");
  running_ = true;
  thread_id_ = std::this_thread::get_id();
  tls_running_loop = this;
}

void EventLoop::leave_running() noexcept {
  running_ = false;
  thread_id_ = std::thread::id();
  tls_running_loop = nullptr;
}

void EventLoop::run_iteration() {
  ++stats_.iterations;

  // 1. How long may the backend wait? Callbacks already sent by other threads count as ready.
  std::int64_t timeout = -1;
  const std::optional<std::int64_t> deadline = timers_.next_deadline();
  if (!ready_.empty() || stopping_ || inbox_nonempty_.load(std::memory_order_acquire)) {
    timeout = 0;
  } else if (deadline) {
    timeout = std::max<std::int64_t>(0, *deadline - now_ns());
  }
  bool polled = false;
  if (clock_ == ClockKind::virtual_time && timeout != 0) {
    if (autojump_holds_ == 0 && deadline) {
      // A descriptor already ready comes first; otherwise nothing else can happen first: jump.
      // (What another thread or process will write later cannot be foreseen: tests that wait for
      // such I/O under a deadline run on the monotonic clock.)
      if (backend_->has_sources()) {
        backend_->poll(Duration(0), &EventLoop::io_ready, this);
        ++stats_.polls;
        polled = true;
      }
      if (ready_.empty()) virtual_now_ = std::max(virtual_now_, *deadline);
      timeout = 0;
    } else {
      timeout = -1;  // a thread will report back (or nothing is scheduled): wait for it
    }
  }

  // 2. Poll (a poll that would not wait is skipped when nothing could be reported, and made only
  //    every kPassivePollInterval-th time when only passive descriptors could); collect what
  //    other threads sent.
  if (timeout != 0) {
    polling_.store(true, std::memory_order_seq_cst);
    if (inbox_nonempty_.load(std::memory_order_seq_cst)) timeout = 0;
  }
  //    A busy iteration right after a poll that reported descriptors does not poll: what is ready
  //    now is mostly the work those descriptors started (a task woken by its read), and polling
  //    again before running it finds nothing at low load (a second epoll_wait per request). I/O is
  //    still polled at least every other iteration.
  const bool follow_up = std::exchange(io_follow_up_, false);
  if (!polled && (timeout != 0 || (!follow_up && should_poll_without_waiting()))) {
    backend_->poll(Duration(timeout), &EventLoop::io_ready, this);
    ++stats_.polls;
  }
  if (polling_.load(std::memory_order_relaxed)) polling_.store(false, std::memory_order_relaxed);
  if (wake_sent_.load(std::memory_order_relaxed)) wake_sent_.store(false, std::memory_order_release);
  drain_inbox();

  // 3. Due timers join the ready queue.
  if (!timers_.empty()) timers_.pop_due(now_ns());

  // 4. Run what is ready now, and only that.
  run_ready(ready_.size());
}

void EventLoop::run_ready(std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    const detail::ReadyEntry entry = ready_.pop();
    ++stats_.callbacks;
    if (debug_) {
      run_entry_debug(entry);
      continue;
    }
    try {
      entry.ops->run(entry.arg);
    } catch (...) {
      ExceptionContext context;
      context.message = "Exception in callback";
      context.exception = std::current_exception();
      call_exception_handler(context);
    }
  }
}

void EventLoop::run_entry_debug(const detail::ReadyEntry& entry) {
  // Described before it runs: running may free what the entry points to.
  std::string description = entry.ops->describe ? entry.ops->describe(entry.arg) : std::string("<callback>");
  const auto start = std::chrono::steady_clock::now();
  try {
    entry.ops->run(entry.arg);
  } catch (...) {
    ExceptionContext context;
    context.message = "Exception in callback";
    context.exception = std::current_exception();
    context.handle = description;
    call_exception_handler(context);
  }
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (took >= slow_callback_seconds_) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.3f", took);
    log(LogLevel::warning, "Executing " + description + " took " + seconds + " seconds");
  }
}

void EventLoop::run_forever() {
  enter_running("run_forever");
  struct Restore {
    EventLoop* loop;
    ~Restore() {
      loop->stopping_ = false;
      loop->leave_running();
    }
  } restore{this};
  for (;;) {
    run_iteration();
    if (stopping_) break;
  }
}

void EventLoop::close() {
  if (running_) throw RuntimeError("Cannot close a running event loop");
  if (is_closed()) return;
  // Executor first: its last results arrive through the inbox and are dropped below, on this
  // thread, rather than refused in a worker that cannot release them.
  shutdown_default_executor_now();
  std::vector<detail::CallbackNode*> pending;
  {
    std::lock_guard lock(inbox_mutex_);
    closed_.store(true, std::memory_order_release);
    pending.swap(inbox_);
    inbox_nonempty_.store(false, std::memory_order_relaxed);
  }
  for (detail::CallbackNode* node : pending) detail::release(node);
  while (!ready_.empty()) {
    const detail::ReadyEntry entry = ready_.pop();
    entry.ops->discard(entry.arg);
  }
  timers_.clear();
  release_fd_callbacks();
  detail::release_snapshot_cache(context_cache_);
  // Newest first; each leaves the list before it is destroyed, so none is found half destroyed.
  while (!extensions_.empty()) {
    const std::unique_ptr<detail::LoopExtension> extension = std::move(extensions_.back().second);
    extensions_.pop_back();
  }
  backend_.reset();
}

void EventLoop::set_default_executor(std::unique_ptr<Executor> executor) {
  if (default_executor_) default_executor_->shutdown(false);
  default_executor_ = std::move(executor);
}

void EventLoop::shutdown_default_executor_now() noexcept {
  if (default_executor_) default_executor_->shutdown(true);
}

void EventLoop::default_exception_handler(const ExceptionContext& context) noexcept {
  try {
    std::string text = context.message.empty() ? std::string("Unhandled exception in event loop") : context.message;
    if (context.exception) text += "\nexception: " + detail::describe_exception(context.exception);
    if (!context.future.empty()) text += "\nfuture: " + context.future;
    if (!context.handle.empty()) text += "\nhandle: " + context.handle;
    log(LogLevel::error, text);
  } catch (...) {
    log(LogLevel::error, "Exception in default exception handler");
  }
}

void EventLoop::call_exception_handler(const ExceptionContext& context) noexcept {
  if (!exception_handler_) {
    default_exception_handler(context);
    return;
  }
  try {
    exception_handler_(*this, context);
  } catch (...) {
    ExceptionContext failure;
    failure.message = "Unhandled error in exception handler (while handling: " + context.message + ")";
    failure.exception = std::current_exception();
    failure.future = context.future;
    failure.handle = context.handle;
    default_exception_handler(failure);
  }
}

LoopStats EventLoop::stats() const noexcept {
  LoopStats s = stats_;
  s.wakeups_written = wakeups_written_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace asyncio
