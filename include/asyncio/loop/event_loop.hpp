#pragma once
/// EventLoop: Python's asyncio event loop. One per thread; everything but call_soon_threadsafe
/// belongs to the thread that runs it.
///
/// The loop runs callbacks and knows nothing of Futures or Tasks: those layers reach it through the
/// ready queue, the timer heap and the list of residents (pending tasks the loop keeps alive).
///
/// One iteration, run_once(), follows asyncio's BaseEventLoop._run_once:
///   1. timeout: 0 if a callback is ready or stop() was called; else until the next live timer;
///      else without limit. (Virtual clock: instead of waiting, jump to the next timer.)
///   2. poll the backend for at most that long; collect callbacks sent by other threads.
///   3. move every timer that is due onto the ready queue, in deadline order.
///   4. run exactly the callbacks that were ready when this step began; whatever they schedule
///      waits for the next iteration.
/// run_once() is the only place callbacks run.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "asyncio/coro/detail/async_gen_registry.hpp"
#include "asyncio/detail/callback.hpp"
#include "asyncio/exceptions.hpp"
#include "asyncio/loop/backend.hpp"
#include "asyncio/loop/clock.hpp"
#include "asyncio/loop/context.hpp"
#include "asyncio/loop/detail/context_state.hpp"
#include "asyncio/loop/exception_context.hpp"
#include "asyncio/loop/executor.hpp"
#include "asyncio/loop/handle.hpp"
#include "asyncio/loop/loop_extension.hpp"
#include "asyncio/loop/ready_queue.hpp"
#include "asyncio/loop/timer_heap.hpp"

namespace asyncio {

template <class T>
class Future;
template <class T>
class Coro;
class AnyTask;
class TaskRequest;

/// Python's task factory (loop.set_task_factory): called by every create_task on the loop with the
/// task to be made; it makes it with TaskRequest::create() and returns it. See task/task_factory.hpp.
using TaskFactory = std::function<AnyTask(EventLoop&, TaskRequest&)>;

namespace detail {
class TaskBase;
struct LoopAccess;
class SignalWatch;
/// add_signal_handler's non-template part (loop/signal_watch.cpp): validates `sig`, makes `watch` on
/// first use and installs `callback` for it.
void add_signal_handler(EventLoop& loop, std::shared_ptr<SignalWatch>& watch, int sig, Callback callback);

/// Something the loop keeps alive while it is pending: a Task. (asyncio keeps only weak references
/// to tasks, so a task nobody holds can vanish mid-flight; this loop owns them until they finish.)
/// Two links and no vtable: every resident byte is paid by every idle task. What to do with a
/// resident still pending when the loop is destroyed is given to LoopAccess::adopt.
class Resident {
 protected:
  Resident() = default;
  ~Resident() = default;

 private:
  friend class asyncio::EventLoop;
  friend struct LoopAccess;
  Resident* prev_ = nullptr;
  Resident* next_ = nullptr;
};

extern const ReadyOps callback_ready_ops;

/// What a Future holds of its loop: a pointer that the loop clears when it is destroyed, so that a
/// future outliving its loop raises "Event loop is closed" instead of touching freed memory.
/// Reference-counted without atomics, like the futures that hold it (one thread).
struct LoopAnchor {
  EventLoop* loop;
  std::uint32_t refs = 1;
  void retain() noexcept { ++refs; }
  void release() noexcept {
    if (--refs == 0) delete this;
  }
};

/// fn itself, or a closure that calls fn(args...) with copies of the arguments (Python's
/// call_soon(cb, *args)). Returned by value so the node builds its Callback from it in place.
template <class F, class... Args>
decltype(auto) bind_callback(F&& fn, Args&&... args) {
  if constexpr (sizeof...(Args) == 0) {
    return std::forward<F>(fn);
  } else {
    return [fn = std::forward<F>(fn), tup = std::make_tuple(std::forward<Args>(args)...)]() mutable {
      std::apply(fn, tup);
    };
  }
}
}  // namespace detail

/// How to build an EventLoop.
struct LoopOptions {
  /// Real monotonic time, or virtual time that jumps to the next timer when the loop is idle.
  ClockKind clock = ClockKind::monotonic;
  /// Debug mode; when unset, on if the environment variable ASYNCIO_DEBUG is 1 (Python's
  /// PYTHONASYNCIODEBUG).
  std::optional<bool> debug{};
};

/// Counters for tests and benchmarks.
struct LoopStats {
  std::uint64_t iterations = 0;       ///< run_once() calls
  std::uint64_t callbacks = 0;        ///< ready-queue entries run
  std::uint64_t wakeups_written = 0;  ///< cross-thread wake-ups written to the backend
  std::uint64_t polls = 0;            ///< backend polls (system calls) made
};

class EventLoop {
 public:
  /// A loop on real monotonic time (debug mode from ASYNCIO_DEBUG).
  EventLoop();
  explicit EventLoop(LoopOptions options);
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  /// Closes the loop if needed. Tasks still pending are destroyed (their frames unwound) and each
  /// is reported to the exception handler: "Task was destroyed but it is pending!".
  ~EventLoop();

  // --- scheduling callbacks -------------------------------------------------------------------

  /// Runs fn(args...) in the next iteration, after the callbacks already ready (FIFO), in a copy of
  /// the context current now (as asyncio's Handle copies it): what fn sets is seen by no one else.
  /// Throws RuntimeError if the loop is closed (or, in debug mode, called from another thread).
  template <class F, class... Args>
  requires std::is_invocable_v < std::decay_t<F>
  &, std::decay_t<Args>&... > Handle call_soon(F&& fn, Args&&... args) {
    check_loop_thread("call_soon");
    auto* node = new detail::CallbackNode(this, detail::bind_callback(std::forward<F>(fn), std::forward<Args>(args)...),
                                          false, detail::capture_context(context_cache_));
    return Handle(enqueue(node));
  }

  /// Python's call_soon(fn, *args, context=ctx): the same, run in `context` itself (what fn sets
  /// stays there). If `context` is entered when the callback runs, the RuntimeError goes to the
  /// exception handler, as in asyncio.
  template <class F, class... Args>
  requires std::is_invocable_v < std::decay_t<F>
  &, std::decay_t<Args>&... > Handle call_soon(const Context& context, F&& fn, Args&&... args) {
    check_loop_thread("call_soon");
    auto* node = new detail::CallbackNode(this, detail::bind_callback(std::forward<F>(fn), std::forward<Args>(args)...),
                                          false, detail::hold_context(context));
    return Handle(enqueue(node));
  }

  /// Runs fn(args...) once `delay_seconds` have passed on the loop's clock (Python's call_later), in
  /// a copy of the context current now. Callbacks with the same deadline run in the order they
  /// were scheduled.
  template <class F, class... Args>
  requires std::is_invocable_v < std::decay_t<F>
  &, std::decay_t<Args>&... > TimerHandle call_later(double delay_seconds, F&& fn, Args&&... args) {
    const std::int64_t when = detail::add_saturating(now_ns(), detail::seconds_to_ns(delay_seconds, "call_later"));
    return schedule_timer(when, detail::bind_callback(std::forward<F>(fn), std::forward<Args>(args)...),
                          detail::capture_context(context_cache_));
  }

  /// Python's call_later(delay, fn, *args, context=ctx): runs in `context` itself.
  template <class F, class... Args>
  requires std::is_invocable_v < std::decay_t<F>
  &, std::decay_t<Args>&... >
         TimerHandle call_later(double delay_seconds, const Context& context, F&& fn, Args&&... args) {
    const std::int64_t when = detail::add_saturating(now_ns(), detail::seconds_to_ns(delay_seconds, "call_later"));
    return schedule_timer(when, detail::bind_callback(std::forward<F>(fn), std::forward<Args>(args)...),
                          detail::hold_context(context));
  }

  /// call_later with a std::chrono duration.
  template <class Rep, class Period, class F, class... Args>
  requires std::is_invocable_v < std::decay_t<F>
  &, std::decay_t<Args>&... > TimerHandle call_later(std::chrono::duration<Rep, Period> delay, F&& fn, Args&&... args) {
    const std::int64_t when = detail::add_saturating(now_ns(), detail::duration_to_ns(delay));
    return schedule_timer(when, detail::bind_callback(std::forward<F>(fn), std::forward<Args>(args)...),
                          detail::capture_context(context_cache_));
  }

  /// call_later with a std::chrono duration, run in `context` itself.
  template <class Rep, class Period, class F, class... Args>
  requires std::is_invocable_v < std::decay_t<F>
  &, std::decay_t<Args>&... > TimerHandle call_later(std::chrono::duration<Rep, Period> delay, const Context& context,
                                                     F&& fn, Args&&... args) {
    const std::int64_t when = detail::add_saturating(now_ns(), detail::duration_to_ns(delay));
    return schedule_timer(when, detail::bind_callback(std::forward<F>(fn), std::forward<Args>(args)...),
                          detail::hold_context(context));
  }

  /// Runs fn(args...) when time() reaches `when` (seconds on the loop's clock), in a copy of the
  /// context current now.
  template <class F, class... Args>
  requires std::is_invocable_v < std::decay_t<F>
  &, std::decay_t<Args>&... > TimerHandle call_at(double when, F&& fn, Args&&... args) {
    return schedule_timer(detail::seconds_to_ns(when, "call_at"),
                          detail::bind_callback(std::forward<F>(fn), std::forward<Args>(args)...),
                          detail::capture_context(context_cache_));
  }

  /// Python's call_at(when, fn, *args, context=ctx): runs in `context` itself.
  template <class F, class... Args>
  requires std::is_invocable_v < std::decay_t<F>
  &, std::decay_t<Args>&... > TimerHandle call_at(double when, const Context& context, F&& fn, Args&&... args) {
    return schedule_timer(detail::seconds_to_ns(when, "call_at"),
                          detail::bind_callback(std::forward<F>(fn), std::forward<Args>(args)...),
                          detail::hold_context(context));
  }

  /// The only thread-safe method: queues fn(args...) from any thread and wakes the loop if it may be
  /// asleep (an eventfd write, sent only while the loop waits in its backend). fn runs in a copy of
  /// the calling thread's current context. Throws RuntimeError if the loop is closed. Unlike
  /// asyncio it returns no Handle: a Handle is loop-thread-only.
  template <class F, class... Args>
  requires std::is_invocable_v < std::decay_t<F>
  &, std::decay_t<Args>&... > void call_soon_threadsafe(F&& fn, Args&&... args) {
    post_or_throw(new detail::CallbackNode(this,
                                           detail::bind_callback(std::forward<F>(fn), std::forward<Args>(args)...),
                                           false, detail::capture_context_for_loop(context_cache_)));
  }

  /// Python's call_soon_threadsafe(fn, *args, context=ctx): runs in `context` itself.
  template <class F, class... Args>
  requires std::is_invocable_v < std::decay_t<F>
  &, std::decay_t<Args>&... > void call_soon_threadsafe(const Context& context, F&& fn, Args&&... args) {
    post_or_throw(new detail::CallbackNode(this,
                                           detail::bind_callback(std::forward<F>(fn), std::forward<Args>(args)...),
                                           false, detail::hold_context(context)));
  }

  /// The loop's clock in seconds (Python's loop.time()): monotonic, or virtual (starts at 0).
  [[nodiscard]] double time() const noexcept { return detail::ns_to_seconds(now_ns()); }

  /// Virtual clock only: moves time forward by `seconds` now (timers then due run in the next
  /// iteration). Throws RuntimeError on a monotonic clock, ValueError if negative.
  void advance_time(double seconds);

  // --- watching file descriptors (loop/io_watch.cpp) -------------------------------------------

  /// Python's loop.add_reader(fd, callback, *args): runs fn(args...) in the loop whenever `fd` is
  /// readable, level-triggered (again in each iteration while unread data or an error remains),
  /// until remove_reader(fd), in a copy of the context current now (kept from one call to the
  /// next). A reader already set for `fd` is replaced. The descriptor stays the caller's: the loop
  /// never closes it, and it must be removed before it is closed.
  /// ValueError for a negative fd; OSError if the system refuses to watch it (PermissionError for
  /// a regular file, OSError EBADF for a closed descriptor); RuntimeError if the loop is closed.
  template <class F, class... Args>
  requires std::is_invocable_v < std::decay_t<F>
  &, std::decay_t<Args>&... > void add_reader(int fd, F&& fn, Args&&... args) {
    check_loop_thread("add_reader");
    set_fd_callback(
        fd, detail::io_readable,
        new detail::CallbackNode(this, detail::bind_callback(std::forward<F>(fn), std::forward<Args>(args)...), false,
                                 detail::capture_context(context_cache_)));
  }

  /// Python's loop.add_writer(fd, callback, *args): the same for writability.
  template <class F, class... Args>
  requires std::is_invocable_v < std::decay_t<F>
  &, std::decay_t<Args>&... > void add_writer(int fd, F&& fn, Args&&... args) {
    check_loop_thread("add_writer");
    set_fd_callback(
        fd, detail::io_writable,
        new detail::CallbackNode(this, detail::bind_callback(std::forward<F>(fn), std::forward<Args>(args)...), false,
                                 detail::capture_context(context_cache_)));
  }

  /// Python's loop.remove_reader(fd): stops watching `fd` for reading; a call already scheduled by
  /// readiness in this iteration does not run. Returns whether a reader was set (false on a closed
  /// loop, as in asyncio).
  bool remove_reader(int fd);

  /// Python's loop.remove_writer(fd): the same for writing.
  bool remove_writer(int fd);

  // --- signals (loop/signal_watch.cpp; see loop/signal_watch.hpp for the mechanism) -------------

  /// Python's loop.add_signal_handler(sig, callback, *args): runs fn(args...) as a loop callback
  /// (like call_soon) each time signal `sig` arrives, until remove_signal_handler(sig) or close().
  /// A handler already set for `sig` is replaced. While a handler is set, `sig` is blocked in the
  /// calling thread (which must be the loop's thread) and read from a signalfd; threads started
  /// from it meanwhile inherit the block, and a signal another thread receives is forwarded here.
  /// ValueError for a number that is not a signal; RuntimeError for SIGKILL and SIGSTOP ("cannot be
  /// caught"), for a signal another loop of this process handles, and on a closed loop. A callable
  /// returning a coroutine does not compile (Python raises TypeError).
  template <class F, class... Args>
  requires std::is_invocable_v < std::decay_t<F>
  &, std::decay_t<Args>&... > void add_signal_handler(int sig, F&& fn, Args&&... args) {
    using R = std::invoke_result_t<std::decay_t<F>&, std::decay_t<Args>&...>;
    static_assert(
        !requires { typename R::promise_type; },
        "coroutines cannot be used with add_signal_handler(): start a task from the handler");
    check_loop_thread("add_signal_handler");
    detail::add_signal_handler(*this, signals_, sig,
                               detail::bind_callback(std::forward<F>(fn), std::forward<Args>(args)...));
  }

  /// Python's loop.remove_signal_handler(sig): removes the handler (a call already scheduled by a
  /// signal does not run), restores the signal's previous disposition and unblocks it in this
  /// thread if add_signal_handler blocked it; an instance of `sig` still pending is discarded.
  /// Returns whether a handler was set (false on a closed loop). ValueError if `sig` is not a signal.
  bool remove_signal_handler(int sig);

  // --- running and stopping -------------------------------------------------------------------

  /// Runs iterations until stop() is called. Throws RuntimeError if the loop is closed, already
  /// running, or another loop runs in this thread.
  void run_forever();

  /// One iteration (see the top of this file), with the loop running meanwhile (get_running_loop()
  /// finds it), so that tests and embedders can step a loop. Throws RuntimeError if the loop is
  /// closed or already running (a callback cannot step its own loop).
  void run_once();

  /// Runs until `awaitable` (a Future, Task or Coro; a Coro is wrapped in a Task) is done and returns
  /// its result or rethrows its exception. Defined in task/run_until_complete.hpp.
  template <class A>
  decltype(auto) run_until_complete(A&& awaitable);

  /// Makes run_forever() return after the current iteration (before it, if it is not running: then
  /// the next run_forever() runs one iteration and returns).
  void stop() noexcept { stopping_ = true; }

  /// Drops every pending callback and timer, shuts the default executor down (waiting for its
  /// threads) and releases the backend. Throws RuntimeError while running; idempotent.
  void close();

  [[nodiscard]] bool is_running() const noexcept { return running_; }
  [[nodiscard]] bool is_closed() const noexcept { return closed_.load(std::memory_order_acquire); }

  // --- futures and tasks (defined in task/) ---------------------------------------------------

  /// Python's loop.create_future(): a pending Future<T> bound to this loop.
  template <class T = void>
  Future<T> create_future();

  /// Python's loop.shutdown_asyncgens(): closes (aclose()) every async generator first iterated on
  /// this loop that is still paused at a `co_yield`, concurrently, each in a task; an error from one
  /// goes to the exception handler. A generator first iterated afterwards is warned about.
  /// asyncio::run and Runner await it after cancelling the remaining tasks. Defined in task/.
  Coro<void> shutdown_asyncgens();

  /// Python's loop.create_task(coro, name=...): see task/task.hpp.
  template <class A, class... Options>
  auto create_task(A&& coro_or_callable, Options&&... options);

  /// Python's loop.set_task_factory(factory): from now on every create_task on this loop (and
  /// what goes through it: TaskGroup, gather, ensure_future, run_until_complete, Runner) hands
  /// its task to `factory`; an empty one (nullptr) restores the default. Defined in task/; see
  /// task/task_factory.hpp for what a factory may do.
  void set_task_factory(TaskFactory factory);
  /// Python's loop.get_task_factory(): the factory set, or an empty one.
  [[nodiscard]] TaskFactory get_task_factory() const;

  // --- executor (defined in thread/) ----------------------------------------------------------

  /// Python's loop.run_in_executor(executor, fn, *args): runs fn(args...) on `executor` (null: the
  /// default thread pool) and returns a Future of its result. Defined in thread/run_in_executor.hpp.
  template <class F, class... Args>
  auto run_in_executor(Executor* executor, F&& fn, Args&&... args);

  /// Replaces the default executor (the old one is shut down without waiting).
  void set_default_executor(std::unique_ptr<Executor> executor);
  /// The default executor, or null if none was made yet.
  [[nodiscard]] Executor* default_executor() const noexcept { return default_executor_.get(); }
  /// Shuts the default executor down, waiting for its threads. Python makes this a coroutine so the
  /// loop runs meanwhile; run() awaits the thread-layer version, shutdown_default_executor(loop).
  void shutdown_default_executor_now() noexcept;

  // --- errors and debugging -------------------------------------------------------------------

  /// Python's set_exception_handler; an empty handler restores the default.
  void set_exception_handler(ExceptionHandler handler) { exception_handler_ = std::move(handler); }
  /// The handler set by set_exception_handler (empty: the default is used).
  [[nodiscard]] const ExceptionHandler& get_exception_handler() const noexcept { return exception_handler_; }
  /// Logs the context at ERROR level: the message, the exception's type and text, the future and
  /// the handle.
  void default_exception_handler(const ExceptionContext& context) noexcept;
  /// Calls the exception handler; if the handler itself throws, logs that with the default
  /// handler. Never throws.
  void call_exception_handler(const ExceptionContext& context) noexcept;

  /// Debug mode reports callbacks slower than slow_callback_duration(), calls from a wrong thread,
  /// coroutines never awaited; see docs/design.md.
  void set_debug(bool enabled) noexcept { debug_ = enabled; }
  [[nodiscard]] bool get_debug() const noexcept { return debug_; }
  /// Python's loop.slow_callback_duration, in seconds (0.1 by default).
  [[nodiscard]] double slow_callback_duration() const noexcept { return slow_callback_seconds_; }
  void set_slow_callback_duration(double seconds);

  [[nodiscard]] ClockKind clock() const noexcept { return clock_; }
  [[nodiscard]] LoopStats stats() const noexcept;

 private:
  friend class Handle;
  friend class TimerHandle;
  friend struct detail::LoopAccess;

  [[nodiscard]] std::int64_t now_ns() const noexcept {
    if (clock_ == ClockKind::virtual_time) return virtual_now_;
    return std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }

  void check_loop_thread(const char* what) const {
    if (closed_.load(std::memory_order_relaxed)) throw_closed();
    if (debug_) check_thread_slow(what);
  }
  [[noreturn]] static void throw_closed();
  void check_thread_slow(const char* what) const;

  detail::CallbackNode* enqueue(detail::CallbackNode* node) {
    try {
      ready_.push(&detail::callback_ready_ops, node);
    } catch (...) {
      detail::release(node);
      throw;
    }
    detail::retain(node);  // the handle's reference
    return node;
  }

  template <class F>
  TimerHandle schedule_timer(std::int64_t when, F&& fn, detail::ContextRef context) {
    check_loop_thread("call_later");
    auto* node = new detail::CallbackNode(this, std::forward<F>(fn), true, std::move(context));
    node->when = when;
    try {
      timers_.push(*node, when);  // the heap's reference; the one from `new` becomes the handle's
    } catch (...) {
      delete node;
      throw;
    }
    return TimerHandle(node);
  }
  bool try_post(detail::CallbackNode* node);
  void post_or_throw(detail::CallbackNode* node) {
    if (!try_post(node)) {
      delete node;
      throw_closed();
    }
  }
  void drain_inbox();
  void cancel_timer(detail::CallbackNode& node) noexcept;
  void set_fd_callback(int fd, unsigned which, detail::CallbackNode* node);
  bool clear_fd_callback(int fd, unsigned which);
  static void io_ready(void* self, int fd, unsigned events);
  bool should_poll_without_waiting() noexcept;
  void release_fd_callbacks() noexcept;
  void run_iteration();
  void enter_running(const char* what);
  void leave_running() noexcept;
  void run_ready(std::size_t count);
  void run_entry_debug(const detail::ReadyEntry& entry);

  // loop-thread state
  detail::ReadyQueue ready_;
  detail::TimerHeap timers_;
  std::unique_ptr<detail::Backend> backend_;
  /// Per descriptor number: its reader and writer callbacks (null when not watched for that).
  struct FdCallbacks {
    detail::CallbackNode* reader = nullptr;
    detail::CallbackNode* writer = nullptr;
    bool passive = false;  // LoopAccess::make_reader_passive: a reader only, polled now and then
  };
  std::vector<FdCallbacks> fds_;
  void clear_passive(FdCallbacks& entry) noexcept;
  /// Passive descriptors (counted in fds_) and the iterations since they were last polled while
  /// the loop had callbacks ready (see should_poll_without_waiting()).
  std::size_t watched_fds_ = 0;  // descriptors with a reader or a writer
  std::uint32_t passive_fds_ = 0;
  std::uint32_t passive_skips_ = 0;
  /// The last poll reported a descriptor: the next busy iteration runs what it woke without
  /// polling first (see run_iteration).
  bool io_follow_up_ = false;
  /// How often passive descriptors are polled while callbacks are ready: a signal waits at most
  /// this many busy iterations (each runs every callback ready when it began).
  static constexpr std::uint32_t kPassivePollInterval = 64;
  std::unique_ptr<Executor> default_executor_;
  ExceptionHandler exception_handler_;
  detail::LoopAnchor* anchor_;
  detail::Resident* residents_ = nullptr;  // pending tasks, newest first
  detail::AsyncGenRegistry asyncgens_;     // async generators first iterated on this loop
  void (*abandon_resident_)(detail::Resident*) noexcept = nullptr;
  std::size_t resident_count_ = 0;
  detail::TaskBase* current_task_ = nullptr;
  /// The last snapshot of a context that a task or callback of this loop captured (see
  /// loop/detail/context_state.hpp); its address is the loop's snapshot domain.
  detail::ContextSnapshot* context_cache_ = nullptr;
  std::int64_t virtual_now_ = 0;
  std::uint32_t autojump_holds_ = 0;
  double slow_callback_seconds_ = 0.1;
  ClockKind clock_;
  bool debug_ = false;
  bool running_ = false;
  bool stopping_ = false;
  std::thread::id thread_id_;
  LoopStats stats_;
  /// Signal handlers, made on first use (a shared_ptr: its deleter is bound in loop/signal_watch.cpp,
  /// where the type is complete; a unique_ptr would need it wherever ~EventLoop is compiled).
  std::shared_ptr<detail::SignalWatch> signals_;
  /// Per-loop state of the layers above (LoopAccess::add_extension), oldest first, each with the
  /// key it is found by.
  std::vector<std::pair<const void*, std::unique_ptr<detail::LoopExtension>>> extensions_;
  /// set_task_factory's factory, or null. Shared so that a factory replaced while it runs (by a
  /// task it started eagerly) lives until it returns.
  std::shared_ptr<const TaskFactory> task_factory_;

  // shared with other threads (call_soon_threadsafe)
  std::mutex inbox_mutex_;
  std::vector<detail::CallbackNode*> inbox_;
  std::vector<detail::CallbackNode*> inbox_spare_;
  std::atomic<bool> inbox_nonempty_{false};
  std::atomic<bool> polling_{false};
  std::atomic<bool> wake_sent_{false};
  std::atomic<std::uint64_t> wakeups_written_{0};
  std::atomic<bool> closed_{false};
};

/// Python's asyncio.get_running_loop(): the loop running in this thread. Throws RuntimeError
/// ("no running event loop") outside a running loop.
EventLoop& get_running_loop();

namespace detail {

/// The running loop of this thread, or null.
EventLoop* running_loop() noexcept;

/// The runtime's access to the loop's internals (task/ and thread/ layers); not for users.
struct LoopAccess {
  static void schedule(EventLoop& loop, const ReadyOps* ops, void* arg) {
    if (loop.closed_.load(std::memory_order_relaxed)) EventLoop::throw_closed();
    loop.ready_.push(ops, arg);
  }
  static std::int64_t now_ns(const EventLoop& loop) noexcept { return loop.now_ns(); }
  /// The loop's anchor, with a reference added for the caller.
  static LoopAnchor* retain_anchor(EventLoop& loop) noexcept {
    loop.anchor_->retain();
    return loop.anchor_;
  }
  static void arm_timer(EventLoop& loop, TimerNode& node, std::int64_t when) {
    if (loop.closed_.load(std::memory_order_relaxed)) EventLoop::throw_closed();
    loop.timers_.push(node, when);
  }
  static void disarm_timer(EventLoop& loop, TimerNode& node) noexcept { loop.timers_.cancel(node); }

  /// Keeps `r` alive until release(); `abandon` runs for it if the loop is destroyed first (the
  /// same function for every resident of a loop).
  static void adopt(EventLoop& loop, Resident& r, void (*abandon)(Resident*) noexcept) noexcept {
    loop.abandon_resident_ = abandon;
    r.prev_ = nullptr;
    r.next_ = loop.residents_;
    if (loop.residents_) loop.residents_->prev_ = &r;
    loop.residents_ = &r;
    ++loop.resident_count_;
  }
  static void release(EventLoop& loop, Resident& r) noexcept {
    if (r.prev_)
      r.prev_->next_ = r.next_;
    else
      loop.residents_ = r.next_;
    if (r.next_) r.next_->prev_ = r.prev_;
    r.prev_ = r.next_ = nullptr;
    --loop.resident_count_;
  }
  static Resident* first_resident(const EventLoop& loop) noexcept { return loop.residents_; }
  static Resident* next_resident(const Resident& r) noexcept { return r.next_; }
  static std::size_t resident_count(const EventLoop& loop) noexcept { return loop.resident_count_; }

  /// The async generators first iterated while this loop ran (Python's loop._asyncgens).
  static AsyncGenRegistry& asyncgens(EventLoop& loop) noexcept { return loop.asyncgens_; }

  static TaskBase* current_task(const EventLoop& loop) noexcept { return loop.current_task_; }
  /// The task factory, or null (create_task's one test on its fast path).
  static const std::shared_ptr<const TaskFactory>& task_factory(const EventLoop& loop) noexcept {
    return loop.task_factory_;
  }
  /// The loop's snapshot cache, for capture_context().
  static ContextSnapshot*& context_cache(EventLoop& loop) noexcept { return loop.context_cache_; }
  static TaskBase* swap_current_task(EventLoop& loop, TaskBase* task) noexcept {
    return std::exchange(loop.current_task_, task);
  }

  /// Work in another thread will report back: the virtual clock must not jump meanwhile.
  static void hold_autojump(EventLoop& loop) noexcept { ++loop.autojump_holds_; }
  /// call_soon_threadsafe for the runtime: false (and the node untouched) if the loop is closed.
  static bool try_post(EventLoop& loop, CallbackNode* node) { return loop.try_post(node); }
  static void release_autojump(EventLoop& loop) noexcept { --loop.autojump_holds_; }

  /// Python has no such notion: marks the reader of `fd` (which must have a reader and no writer)
  /// passive. A descriptor whose events are rare and need no prompt answer (a signalfd) would
  /// otherwise make every iteration with callbacks ready poll the backend, a system call that is
  /// most of the cost of a task switch; a passive one is polled only every
  /// kPassivePollInterval-th such iteration (and whenever the loop would wait anyway). Until the
  /// reader is removed or replaced, or a writer is added.
  static void make_reader_passive(EventLoop& loop, int fd) noexcept {
    if (fd < 0 || static_cast<std::size_t>(fd) >= loop.fds_.size()) return;
    EventLoop::FdCallbacks& entry = loop.fds_[static_cast<std::size_t>(fd)];
    if (entry.reader == nullptr || entry.writer != nullptr || entry.passive) return;
    entry.passive = true;
    ++loop.passive_fds_;
  }

  /// The extension added under `key` (the address of something the extension's layer owns), or
  /// null. Loop-thread-only, like the loop's other state.
  static LoopExtension* find_extension(const EventLoop& loop, const void* key) noexcept {
    for (const auto& [k, extension] : loop.extensions_) {
      if (k == key) return extension.get();
    }
    return nullptr;
  }
  /// Gives `extension` to the loop under `key` (not yet used), until close(). RuntimeError if the
  /// loop is closed (the extension is destroyed).
  static LoopExtension& add_extension(EventLoop& loop, const void* key, std::unique_ptr<LoopExtension> extension) {
    if (loop.closed_.load(std::memory_order_relaxed)) EventLoop::throw_closed();
    loop.extensions_.emplace_back(key, std::move(extension));
    return *loop.extensions_.back().second;
  }
};

}  // namespace detail
}  // namespace asyncio
