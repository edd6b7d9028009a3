// tasks_fuzz: random task programs on the virtual clock, checked on every step against asyncio's
// rules (CPython 3.13 Lib/asyncio: tasks.py, timeouts.py, taskgroups.py, locks.py, queues.py, and
// TaskGroup.cancel() from CPython's main branch; where a header documents a deliberate difference,
// the header wins).
//
// The input decodes into shared objects (a Lock, a Semaphore or BoundedSemaphore of value 1..3, an
// Event, a Queue<long> of maxsize 0..3, a Condition) and up to 8 top-level tasks, each running a
// small tree of operations: sleeps; holding the lock or the semaphore around a body; event set,
// clear and wait; queue put, get, task_done, join and shutdown; condition wait and notify; child
// tasks (awaited, kept and awaited later, cancelled before they start, shielded, gathered with or
// without return_exceptions, waited for with asyncio::wait, run in a TaskGroup; some eager);
// wait_for, timeout and timeout_at scopes, reschedule(); TaskGroup.cancel(); raising an error;
// catching CancelledError (swallowing it or re-raising) or errors; cancel() of a top-level task at
// a point; uncancel(). Every operation runs once, so every program is finite. The delays are
// multiples of half a second, so equal deadlines (the interesting races) are common and every time
// is exact in a double.
//
// The harness steps the loop itself (run_once), with a far timer armed so that it never blocks.
// On the virtual clock time moves only when nothing is ready, so when an iteration moved the
// clock the state before it was idle: every task waited, and nobody may then wait for something
// available (a lost wake-up). Once every task has ended or waits forever, the harness cancels
// whatever is pending, again and again, until everything has ended.
//
// Checked at every operation boundary, after every loop iteration, or where an operation ends:
//  - Lock: at most one holder (counted by the harness) and locked() agrees; Semaphore: never more
//    holders than its value, value() never above what the holders leave; the Condition's lock
//    likewise. Both are FIFO: a task that waited never gets the lock or a permit before a task that
//    began waiting earlier, unless that one was cancelled.
//  - Queue: items are unique ids; every get returns the oldest item not yet gone (the items that
//    left, got or dropped by shutdown(immediate), are a prefix of the items put), so puts - gets ==
//    qsize() at all times; QueueShutDown only after shutdown() (for get(), only once empty); no
//    put succeeds after shutdown(); join() returns only once every item was marked done.
//  - Idle: a lock waiter implies the lock is held; a semaphore waiter implies no free permit; free
//    permits == value - holders; an event waiter has seen no set() since it began and the event is
//    clear; get() waits only on an empty queue and put() only on a full one, neither after
//    shutdown(); join() waits only while items are unfinished; a task in Condition.wait() that is
//    no longer queued (it re-acquires) implies the condition's lock is held; the primitives'
//    waiter counts match the harness's.
//  - Time: sleep(d) resumes at exactly start + d (a timer fires at its deadline and the task steps
//    in that iteration). wait_for/timeout raise TimeoutError (nesting the CancelledError) never
//    before the deadline (the last one reschedule() set), exactly at it unless something in the
//    body may delay the unwinding (a swallowed CancelledError, a Condition re-acquire); they let a
//    normal result through after expiring only if the body may swallow a cancellation; without
//    expiring they end by the deadline; they withdraw their own cancel() (cancelling() is back
//    where it was); an expired timeout lets CancelledError through only when someone else's
//    cancel() is left. wait_for(coro, 0) never starts the coroutine. wait(timeout) returns before
//    its condition holds only at its deadline, and splits done/pending correctly in input order.
//  - Cancellation: cancel() returns !done(); a task cancelled before its first step never runs its
//    body and ends cancelled; CancelledError reaches only a task with cancelling() > 0; outside any
//    timeout or group a top-level task's cancelling() equals the successful cancel() calls aimed at
//    it; uncancel() returns max(n - 1, 0). A top-level task that may not lose a cancellation (it and
//    its children never swallow one, never uncancel(), and never enter a timeout with a cancel()
//    already requested, which CPython's timeout takes for its own) ends cancelled only if it was
//    cancelled, and then never finishes normally.
//  - Awaiting a child gives its value, its very exception, or CancelledError when the child was
//    cancelled or the awaiting task was. gather without return_exceptions gives every value, or
//    the exception of the first child (in completion order) that failed; with return_exceptions one
//    Outcome per child that matches that child. A TaskGroup raises an ExceptionGroup holding exactly
//    the children's errors in the order they failed, then the body's own error; CancelledError only
//    when no child failed (and without the body's error, unless cancel() was called on the group,
//    where CPython lets an outside cancellation win); nothing else; all its children are done when
//    it ends. shield gives the inner's value or exception; when the outer is cancelled the inner is
//    not. wait() cancels nothing. current_task() is the task running; all_tasks() is exactly the
//    tasks not done.
//  - BoundedSemaphore released above its value: ValueError; Lock released while unlocked,
//    Condition.notify() without its lock, reschedule() of an expired timeout: RuntimeError;
//    task_done() with nothing unfinished: ValueError.
//  - At the end: every task is done (none left pending after repeated cancellation: a hang or a lost
//    wake-up fails here), all_tasks() is empty, each task's state matches how its coroutine ended,
//    the lock is free, every permit is back (taken again without waiting), the queue holds exactly
//    the items put and not gone, and nothing reached the loop's exception handler. Leaks are the
//    sanitizers' (the fuzz build runs LeakSanitizer).
//
// Not modelled: which of several ready tasks runs first beyond the FIFO hand-overs, cancel
// messages, children's cancelling() counts, Condition notifications, and which of several
// simultaneous events wins (only that the outcome is one the rules allow).
//
// TASKS_FUZZ_TRACE=1 in the environment prints the decoded program and a trace of every operation.

#include <asyncio/exceptions.hpp>
#include <asyncio/flow/as_completed.hpp>
#include <asyncio/flow/exception_group.hpp>
#include <asyncio/flow/gather.hpp>
#include <asyncio/flow/shield.hpp>
#include <asyncio/flow/sleep.hpp>
#include <asyncio/flow/task_group.hpp>
#include <asyncio/flow/timeout.hpp>
#include <asyncio/flow/wait.hpp>
#include <asyncio/flow/wait_for.hpp>
#include <asyncio/loop/event_loop.hpp>
#include <asyncio/loop/handle.hpp>
#include <asyncio/loop/logger.hpp>
#include <asyncio/sync/condition.hpp>
#include <asyncio/sync/event.hpp>
#include <asyncio/sync/held.hpp>
#include <asyncio/sync/lock.hpp>
#include <asyncio/sync/queue.hpp>
#include <asyncio/sync/semaphore.hpp>
#include <asyncio/task/future.hpp>
#include <asyncio/task/runner.hpp>
#include <asyncio/task/task.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/check.hpp"
#include "support/fuzz_input.hpp"

namespace {

using asyncio::CancelledError;
using asyncio::Coro;
using asyncio::EventLoop;
using asyncio::Task;
using asyncio_fuzz::FuzzInput;

constexpr double kTick = 0.5;  // every delay is a multiple: equal deadlines are common
constexpr std::size_t kMaxTopTasks = 8;
constexpr int kOpBudget = 48;          // operations in the whole input
constexpr int kMaxDepth = 3;           // nesting of bodies and child programs
constexpr double kHorizon = 100000.0;  // virtual seconds: far beyond any finite program
constexpr std::uint64_t kMaxIterations = 40000;
constexpr int kMaxCleanupRounds = 300;

double ticks(std::uint8_t v) { return static_cast<double>(v % 8) * kTick; }

/// TASKS_FUZZ_TRACE=1 in the environment prints the decoded program and every operation as it
/// starts and ends, for reading a failing input (it changes nothing else).
bool tracing() {
  static const bool on = [] {
    const char* v = std::getenv("TASKS_FUZZ_TRACE");
    return v != nullptr && *v != '\0' && *v != '0';
  }();
  return on;
}

// ---------------------------------------------------------------------------------------------
// Programs

// An input: a byte for the number of top-level tasks (1 + n % 8), a byte for the shared objects
// (semaphore value 1 + v % 3, bounded if bit 2, queue maxsize (v >> 3) % 4, debug mode if bit 5),
// then each top-level program. A program is a count byte (n % 7 operations at the top, n % 4
// nested) and that many operations; an operation is a kind byte (k % 32; k % 19 at the deepest
// level, where nothing nests), two parameter bytes a and b, then its body and/or child programs.
// Decoding stops at the end of the input or after kOpBudget operations.
enum class OpKind : std::uint8_t {
  // simple operations (no nested program)
  sleep,  // sleep(ticks(a))
  event_wait,
  event_set,
  event_clear,
  put,  // a fresh item
  get,
  raise,                // a FuzzError
  cancel,               // top-level task a % n
  uncancel,             // this task
  cond_wait,            // hold the condition's lock, wait() once
  cond_notify,          // a % 4: notify(1), notify(2), notify_all(), notify() without the lock
  sem_over_release,     // release() a BoundedSemaphore that is at its value
  lock_release_unheld,  // release() the lock while unlocked
  await_kept,           // await every child kept by this task, oldest first
  reschedule,           // the innermost timeout to now + ticks(a % 9), or none if a % 9 == 8
  tg_cancel,            // cancel() the innermost group whose body this task runs, or its own group
  queue_shutdown,       // immediate if a & 1
  task_done,
  join,
  // compound operations: a body run by this task, or child programs run by new tasks
  lock_hold,     // the body, holding the lock
  sem_hold,      // the body, holding a permit
  catch_cancel,  // the body; a CancelledError is swallowed, or re-raised if a & 1
  try_catch,     // the body; errors are swallowed (if a & 1 even while this task is being cancelled)
  wait_for,      // wait_for(body, ticks(a))
  timeout,       // the body under timeout(ticks(a)), or timeout_at(now + ticks(a)) if b & 1
  spawn,         // one child, eager if b & 1; awaited, or kept if a & 1
  spawn_cancel,  // one child cancelled at once; awaited if a & 1
  shield,        // await shield(one child), eager if b & 1
  gather,        // 1 + b % 3 children; return_exceptions if a & 1
  task_group,    // 1 + b % 3 children (eager if a & 2), then the body
  wait,          // 1 + (a / 3) % 3 children; return_when a % 3; timeout ticks(b % 9), none if 8
  as_completed,  // 1 + (a / 3) % 3 children; timeout ticks(b % 9), none if 8
};
constexpr std::size_t kSimpleKinds = 19;
constexpr std::size_t kAllKinds = 32;

const char* kind_name(OpKind k) {
  // clang-format off
  static constexpr const char* names[kAllKinds] = {
      "sleep", "event_wait", "event_set", "event_clear", "put", "get", "raise", "cancel", "uncancel",
      "cond_wait", "cond_notify", "sem_over_release", "lock_release_unheld", "await_kept", "reschedule",
      "tg_cancel", "queue_shutdown", "task_done", "join", "lock_hold", "sem_hold", "catch_cancel", "try_catch",
      "wait_for", "timeout", "spawn", "spawn_cancel", "shield", "gather", "task_group", "wait", "as_completed"};
  // clang-format on
  return names[static_cast<std::size_t>(k)];
}

struct Op {
  OpKind kind = OpKind::sleep;
  std::uint8_t a = 0;
  std::uint8_t b = 0;
  std::vector<Op> body;                   // run by this task (scopes, holds, catches)
  std::vector<std::vector<Op>> children;  // each run by a new task
  // What running this operation may do, for the checks whose outcome it changes:
  bool swallows = false;     // may swallow a CancelledError (here or in a child): a cancel may be lost
  bool slow = false;         // may delay unwinding after a cancel (swallows, or a Condition re-acquire)
  bool uncancels = false;    // calls uncancel() in this task: cancelling() is no longer a plain count
  bool awaits_kept = false;  // awaits children spawned earlier, whose programs are not in this tree
  bool scoped = false;       // enters a timeout, wait_for or TaskGroup, which cancel this very task
};

struct Flags {
  bool swallows = false;
  bool slow = false;
  bool uncancels = false;
  bool awaits_kept = false;
  bool scoped = false;
};

Flags flags_of(const std::vector<Op>& ops) {
  Flags f;
  for (const Op& op : ops) {
    f.swallows |= op.swallows;
    f.slow |= op.slow;
    f.uncancels |= op.uncancels;
    f.awaits_kept |= op.awaits_kept;
    f.scoped |= op.scoped;
  }
  return f;
}

void annotate(Op& op) {
  const Flags body = flags_of(op.body);
  Flags kids;
  for (const auto& child : op.children) {
    const Flags c = flags_of(child);
    kids.swallows |= c.swallows;
    kids.slow |= c.slow;
  }
  // uncancel() too: it clears a cancel() not yet delivered (CPython 3.13), one forwarded by an
  // awaiting parent included.
  op.swallows = (op.kind == OpKind::catch_cancel && (op.a & 1) == 0) ||
                (op.kind == OpKind::try_catch && (op.a & 1) != 0) || op.kind == OpKind::uncancel || body.swallows ||
                kids.swallows;
  op.slow = op.swallows || op.kind == OpKind::cond_wait || body.slow || kids.slow;
  op.uncancels = op.kind == OpKind::uncancel || body.uncancels;
  op.awaits_kept = op.kind == OpKind::await_kept || body.awaits_kept;
  op.scoped = op.kind == OpKind::timeout || op.kind == OpKind::wait_for || op.kind == OpKind::task_group || body.scoped;
}

std::vector<Op> decode_ops(FuzzInput& in, int depth, int& budget) {
  std::vector<Op> ops;
  const std::size_t n = in.below(depth == 0 ? 7 : 4);
  for (std::size_t i = 0; i < n && budget > 0 && !in.empty(); ++i) {
    --budget;
    Op op;
    op.kind = static_cast<OpKind>(in.below(depth >= kMaxDepth ? kSimpleKinds : kAllKinds));
    op.a = in.byte();
    op.b = in.byte();
    switch (op.kind) {
      case OpKind::lock_hold:
      case OpKind::sem_hold:
      case OpKind::catch_cancel:
      case OpKind::try_catch:
      case OpKind::wait_for:
      case OpKind::timeout:
        op.body = decode_ops(in, depth + 1, budget);
        break;
      case OpKind::spawn:
      case OpKind::spawn_cancel:
      case OpKind::shield:
        op.children.push_back(decode_ops(in, depth + 1, budget));
        break;
      case OpKind::gather:
        for (int k = 0; k < 1 + op.b % 3; ++k) op.children.push_back(decode_ops(in, depth + 1, budget));
        break;
      case OpKind::task_group:
        for (int k = 0; k < 1 + op.b % 3; ++k) op.children.push_back(decode_ops(in, depth + 1, budget));
        op.body = decode_ops(in, depth + 1, budget);
        break;
      case OpKind::wait:
      case OpKind::as_completed:
        for (int k = 0; k < 1 + (op.a / 3) % 3; ++k) op.children.push_back(decode_ops(in, depth + 1, budget));
        break;
      default:
        break;
    }
    annotate(op);
    ops.push_back(std::move(op));
  }
  return ops;
}

void dump(const std::vector<Op>& ops, int indent) {
  for (const Op& op : ops) {
    std::fprintf(stderr, "%*s%s a=%u b=%u%s%s%s\n", indent, "", kind_name(op.kind), op.a, op.b,
                 op.swallows ? " [swallows]" : "", op.slow ? " [slow]" : "", op.uncancels ? " [uncancels]" : "");
    if (!op.body.empty()) {
      std::fprintf(stderr, "%*sbody:\n", indent + 2, "");
      dump(op.body, indent + 4);
    }
    for (const auto& child : op.children) {
      std::fprintf(stderr, "%*schild:\n", indent + 2, "");
      dump(child, indent + 4);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The world the tasks share, and what the harness counts in it

class FuzzError : public std::runtime_error {
 public:
  explicit FuzzError(long id) : std::runtime_error("FuzzError #" + std::to_string(id)) {}
};

std::string describe(const std::exception_ptr& e) {
  if (!e) return "(none)";
  try {
    std::rethrow_exception(e);
  } catch (const asyncio::BaseException& x) {
    return std::string(x.name()) + "(" + x.what() + ")";
  } catch (const asyncio::ExceptionGroup& g) {
    std::string s = "ExceptionGroup[";
    for (const auto& item : g.exceptions()) s += describe(item) + ";";
    return s + "]";
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "(unknown)";
  }
}

std::string describe(const std::vector<std::exception_ptr>& v) {
  std::string s = "[";
  for (const auto& e : v) s += describe(e) + ";";
  return s + "]";
}

enum class Exit : std::uint8_t { none, normal, cancelled, error };

struct TaskRec {
  int id = 0;
  int top = -1;  // index among the top-level tasks, or -1 for a child
  const std::vector<Op>* program = nullptr;
  Flags flags;
  Task<long> task;
  bool started = false;
  bool cancelled_before_start = false;
  bool shielded = false;
  int ext_true = 0;  // cancel() calls aimed at this task (as a target) that returned true
  // Set when this task, or a task it spawned, entered a timeout while a cancel() was already
  // requested: the timeout counts that request as its own (CPython's __aexit__ compares counts),
  // so on expiring it may turn it into TimeoutError and the cancellation is lost.
  bool may_lose_cancel = false;
  TaskRec* parent = nullptr;  // the task that spawned this one
  Exit exit = Exit::none;
  std::exception_ptr exit_error;
  std::int64_t settle_seq = -1;  // order of completion (its done-callback), -1 while pending
  bool settled_in_cleanup = false;
  std::vector<TaskRec*> kept;               // children spawned and not awaited yet
  std::vector<asyncio::Timeout*> timeouts;  // the timeout scopes this task is inside, innermost last
  std::vector<asyncio::TaskGroup*> groups;  // the TaskGroup bodies this task is running, innermost last
  asyncio::TaskGroup* member_of = nullptr;  // the group this task is a child of
};

struct World {
  explicit World(EventLoop& l) : loop(l) {}

  EventLoop& loop;

  asyncio::Lock lock;
  int lock_holders = 0;
  std::vector<TaskRec*> lock_waiters;  // in the order they began to wait (the lock's FIFO order)

  std::optional<asyncio::Semaphore> plain_sem;
  std::optional<asyncio::BoundedSemaphore> bounded_sem;
  bool bounded = false;
  std::int64_t sem_initial = 1;
  int sem_holders = 0;
  std::vector<TaskRec*> sem_waiters;
  asyncio::Semaphore& sem() { return bounded ? static_cast<asyncio::Semaphore&>(*bounded_sem) : *plain_sem; }

  asyncio::Event event;
  std::uint32_t event_gen = 0;               // set() calls that changed the flag
  std::vector<std::uint32_t> event_waiting;  // the generation each waiter started in

  std::optional<asyncio::Queue<long>> queue;
  std::size_t queue_max = 0;
  long next_item = 0;
  std::vector<long> puts;  // items put, in order
  std::vector<long> gets;  // items that left the queue (got, or dropped by shutdown(immediate)), in order
  int getters = 0;
  int putters = 0;
  bool queue_shut = false;
  std::size_t unfinished = 0;          // puts not yet marked done (task_done, or dropped)
  std::uint32_t finished_gen = 0;      // times unfinished fell to 0
  std::vector<std::uint32_t> joiners;  // the generation each join() started in

  asyncio::Condition cond;
  int cond_holders = 0;
  int cond_lock_waiters = 0;
  int cond_in_wait = 0;

  std::deque<TaskRec> recs;
  std::vector<TaskRec*> tops;
  std::int64_t settle_counter = 0;
  int live = 0;  // tasks whose done-callback has not run
  bool cleanup = false;
  long next_error = 0;
  std::uint64_t lossy_events = 0;                           // note_may_lose_cancel() calls
  std::vector<const asyncio::TaskGroup*> cancelled_groups;  // groups of running TaskGroup ops cancel() was called on
};

/// ++ on construction, -- on destruction: "this task is inside that wait / holds that".
class Counter {
 public:
  explicit Counter(int& n) noexcept : n_(n) { ++n_; }
  ~Counter() { --n_; }
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

 private:
  int& n_;
};

/// A holder count that a Condition.wait() gives up and takes back.
class Holding {
 public:
  explicit Holding(int& n) noexcept : n_(n) { take(); }
  ~Holding() {
    if (on_) --n_;
  }
  Holding(const Holding&) = delete;
  Holding& operator=(const Holding&) = delete;
  void take() noexcept {
    ++n_;
    on_ = true;
  }
  void drop() noexcept {
    --n_;
    on_ = false;
  }

 private:
  int& n_;
  bool on_ = false;
};

/// This task waits in a FIFO primitive (Lock, Semaphore) from construction to destruction.
class Queued {
 public:
  Queued(std::vector<TaskRec*>& list, TaskRec& self) : list_(list), self_(self) { list_.push_back(&self_); }
  ~Queued() {
    auto it = std::find(list_.begin(), list_.end(), &self_);
    if (it != list_.end()) list_.erase(it);
  }
  Queued(const Queued&) = delete;
  Queued& operator=(const Queued&) = delete;

  /// FIFO: whoever began to wait earlier and is still waiting must have been cancelled (a
  /// newcomer may take the primitive at once only when every waiter is cancelled; a woken waiter
  /// runs before anyone woken after it).
  [[nodiscard]] const TaskRec* overtaken() const;

 private:
  std::vector<TaskRec*>& list_;
  TaskRec& self_;
};

/// Pushes `item` on a stack for the lifetime of a scope.
template <class T>
class Pushed {
 public:
  Pushed(std::vector<T*>& stack, T& item) : stack_(stack) { stack_.push_back(&item); }
  ~Pushed() { stack_.pop_back(); }
  Pushed(const Pushed&) = delete;
  Pushed& operator=(const Pushed&) = delete;

 private:
  std::vector<T*>& stack_;
};

class EventWaiting {
 public:
  EventWaiting(World& w, std::uint32_t gen) : w_(w), gen_(gen) { w_.event_waiting.push_back(gen); }
  ~EventWaiting() {
    auto it = std::find(w_.event_waiting.begin(), w_.event_waiting.end(), gen_);
    if (it != w_.event_waiting.end()) w_.event_waiting.erase(it);
  }
  EventWaiting(const EventWaiting&) = delete;
  EventWaiting& operator=(const EventWaiting&) = delete;

 private:
  World& w_;
  std::uint32_t gen_;
};

const TaskRec* Queued::overtaken() const {
  for (const TaskRec* r : list_) {
    if (r == &self_) break;
    if (r->task.cancelling() == 0) return r;
  }
  return nullptr;
}

std::string task_name(const TaskRec& r) {
  return (r.top >= 0 ? "top-level task " + std::to_string(r.top) : "child task") + " #" + std::to_string(r.id);
}

/// What must hold whenever any task's code runs, and after every loop iteration.
void check_shared(World& w) {
  FUZZ_CHECK(w.lock_holders <= 1, "Lock: " + std::to_string(w.lock_holders) + " holders at once");
  FUZZ_CHECK(w.lock.locked() == (w.lock_holders == 1), "Lock: locked() is " + std::to_string(w.lock.locked()) +
                                                           " with " + std::to_string(w.lock_holders) + " holders");
  asyncio::Semaphore& s = w.sem();
  FUZZ_CHECK(w.sem_holders <= w.sem_initial,
             "Semaphore(" + std::to_string(w.sem_initial) + "): " + std::to_string(w.sem_holders) + " holders at once");
  FUZZ_CHECK(s.value() >= 0 && s.value() <= w.sem_initial - w.sem_holders,
             "Semaphore: value() " + std::to_string(s.value()) + " with " + std::to_string(w.sem_holders) +
                 " holders of " + std::to_string(w.sem_initial));
  FUZZ_CHECK(w.cond_holders <= 1, "Condition: " + std::to_string(w.cond_holders) + " holders of its lock");
  FUZZ_CHECK(w.cond.locked() == (w.cond_holders == 1), "Condition: locked() is " + std::to_string(w.cond.locked()) +
                                                           " with " + std::to_string(w.cond_holders) + " holders");
  FUZZ_CHECK(w.puts.size() - w.gets.size() == w.queue->qsize(),
             "Queue: " + std::to_string(w.puts.size()) + " puts, " + std::to_string(w.gets.size()) +
                 " gets, but qsize() is " + std::to_string(w.queue->qsize()));
  FUZZ_CHECK(w.queue_max == 0 || w.queue->qsize() <= w.queue_max,
             "Queue: qsize() " + std::to_string(w.queue->qsize()) + " above maxsize");
}

/// What must hold when every task waits (nothing is ready): otherwise a wake-up was lost. Empty if
/// all is well.
std::string idle_violation(World& w) {
  if (!w.lock_waiters.empty() && !w.lock.locked())
    return "Lock: free while " + std::to_string(w.lock_waiters.size()) + " tasks wait for it";
  if (w.lock.waiter_count() != w.lock_waiters.size())
    return "Lock: waiter_count() " + std::to_string(w.lock.waiter_count()) + " but " +
           std::to_string(w.lock_waiters.size()) + " tasks wait";
  asyncio::Semaphore& s = w.sem();
  if (!w.sem_waiters.empty() && s.value() > 0)
    return "Semaphore: " + std::to_string(s.value()) + " permits free while " + std::to_string(w.sem_waiters.size()) +
           " tasks wait";
  if (s.value() != w.sem_initial - w.sem_holders)
    return "Semaphore: value() " + std::to_string(s.value()) + " but " + std::to_string(w.sem_holders) +
           " holders of " + std::to_string(w.sem_initial) + " (a permit was lost or promised to nobody)";
  if (s.waiter_count() != w.sem_waiters.size())
    return "Semaphore: waiter_count() " + std::to_string(s.waiter_count()) + " but " +
           std::to_string(w.sem_waiters.size()) + " tasks wait";
  for (std::uint32_t gen : w.event_waiting) {
    if (gen != w.event_gen) return "Event: a waiter did not wake up although set() was called since it began";
  }
  if (!w.event_waiting.empty() && w.event.is_set()) return "Event: set while tasks wait for it";
  if (w.event.waiter_count() != w.event_waiting.size())
    return "Event: waiter_count() " + std::to_string(w.event.waiter_count()) + " but " +
           std::to_string(w.event_waiting.size()) + " tasks wait";
  if (w.getters > 0 && (!w.queue->empty() || w.queue_shut))
    return "Queue: " + std::to_string(w.queue->qsize()) + " items left (or shut down) while " +
           std::to_string(w.getters) + " get() wait";
  if (w.putters > 0 && (!w.queue->full() || w.queue_shut))
    return "Queue: room left (or shut down) while " + std::to_string(w.putters) + " put() wait";
  for (std::uint32_t gen : w.joiners) {
    if (gen != w.finished_gen || w.unfinished == 0)
      return "Queue: join() still waits although every item was marked done";
  }
  const int queued = static_cast<int>(w.cond.waiter_count());
  if (queued > w.cond_in_wait)
    return "Condition: waiter_count() " + std::to_string(queued) + " but " + std::to_string(w.cond_in_wait) +
           " tasks in wait()";
  if ((w.cond_lock_waiters > 0 || w.cond_in_wait > queued) && !w.cond.locked())
    return "Condition: its lock is free while tasks wait to take it";
  return {};
}

// ---------------------------------------------------------------------------------------------
// Running programs

Coro<long> run_task(World& w, TaskRec& self);
Coro<void> run_ops(World& w, TaskRec& self, const std::vector<Op>& ops, int scopes);

/// A new task running `program`: top-level (top >= 0), a child of `group`, or a plain child. An
/// eager one runs its first step inside this call.
TaskRec& spawn(World& w, TaskRec* parent, const std::vector<Op>& program, int top, asyncio::TaskGroup* group,
               bool eager = false) {
  TaskRec& r = w.recs.emplace_back();
  r.parent = parent;
  r.id = static_cast<int>(w.recs.size());
  r.top = top;
  r.program = &program;
  r.flags = flags_of(program);
  r.member_of = group;
  const asyncio::TaskOptions options{.name = {}, .eager_start = eager};
  try {
    r.task = group != nullptr ? group->create_task(run_task(w, r), options)
                              : asyncio::create_task(w.loop, run_task(w, r), options);
  } catch (...) {
    w.recs.pop_back();  // refused: the coroutine was destroyed unstarted
    throw;
  }
  ++w.live;
  r.task.add_done_callback([&w, &r](Task<long>&) {
    r.settle_seq = w.settle_counter++;
    r.settled_in_cleanup = w.cleanup;
    --w.live;
  });
  return r;
}

void note_may_lose_cancel(World& w, TaskRec& self) {
  ++w.lossy_events;
  for (TaskRec* r = &self; r != nullptr; r = r->parent) r->may_lose_cancel = true;
}

void check_cancel_cause(TaskRec& self, const Op& op) {
  if (self.flags.uncancels) return;
  FUZZ_CHECK(self.task.cancelling() > 0, task_name(self) + ": CancelledError out of " + kind_name(op.kind) +
                                             " although cancelling() is 0 (nobody asked to cancel it)");
}

void check_point(World& w, TaskRec& self, int scopes) {
  check_shared(w);
  FUZZ_CHECK(asyncio::current_task() == self.task, task_name(self) + ": current_task() is another task");
  if (self.top < 0 || self.flags.uncancels) return;
  const int c = self.task.cancelling();
  if (scopes == 0) {
    FUZZ_CHECK(c == self.ext_true, task_name(self) + ": cancelling() is " + std::to_string(c) +
                                       " outside any scope, but " + std::to_string(self.ext_true) +
                                       " cancel() calls succeeded on it");
  } else {
    FUZZ_CHECK(c >= self.ext_true, task_name(self) + ": cancelling() is " + std::to_string(c) + " but " +
                                       std::to_string(self.ext_true) + " cancel() calls succeeded on it");
  }
}

/// The body's flags, widened by the kept children it may await.
Flags scope_flags(const TaskRec& self, const Op& op) {
  Flags f;
  f.swallows = op.swallows;
  f.slow = op.slow;
  if (op.awaits_kept) {
    for (const TaskRec* c : self.kept) {
      f.swallows |= c->flags.swallows;
      f.slow |= c->flags.slow;
    }
  }
  return f;
}

void check_nested_cancel(const asyncio::TimeoutError& e, const char* where) {
  try {
    std::rethrow_if_nested(e);
    FUZZ_CHECK(false, std::string(where) + ": TimeoutError without a nested CancelledError");
  } catch (const CancelledError&) {
  } catch (...) {
    FUZZ_CHECK(false, std::string(where) + ": TimeoutError nests something else than CancelledError");
  }
}

Coro<void> op_sleep(World& w, const Op& op) {
  const double d = ticks(op.a);
  const double t0 = w.loop.time();
  co_await asyncio::sleep(d);
  FUZZ_CHECK(w.loop.time() == t0 + d, "sleep(" + std::to_string(d) + ") from t=" + std::to_string(t0) +
                                          " resumed at t=" + std::to_string(w.loop.time()));
}

Coro<void> op_lock_hold(World& w, TaskRec& self, const Op& op, int scopes) {
  asyncio::Held<asyncio::Lock> held;
  {
    Queued waiting(w.lock_waiters, self);
    held = co_await w.lock.hold();
    const TaskRec* earlier = waiting.overtaken();
    FUZZ_CHECK(earlier == nullptr, "Lock: " + task_name(self) + " acquired it before " +
                                       (earlier != nullptr ? task_name(*earlier) : std::string()) +
                                       ", which waited longer and was not cancelled");
  }
  FUZZ_CHECK(held.owns() && w.lock.locked(), "Lock: hold() returned without the lock");
  FUZZ_CHECK(w.lock_holders == 0, "Lock: acquired while another task holds it");
  Counter holding(w.lock_holders);
  co_await run_ops(w, self, op.body, scopes);
}

Coro<void> op_sem_hold(World& w, TaskRec& self, const Op& op, int scopes) {
  asyncio::Held<asyncio::Semaphore> held;
  {
    Queued waiting(w.sem_waiters, self);
    held = co_await w.sem().hold();
    const TaskRec* earlier = waiting.overtaken();
    FUZZ_CHECK(earlier == nullptr, "Semaphore: " + task_name(self) + " took a permit before " +
                                       (earlier != nullptr ? task_name(*earlier) : std::string()) +
                                       ", which waited longer and was not cancelled");
  }
  FUZZ_CHECK(held.owns(), "Semaphore: hold() returned without a permit");
  FUZZ_CHECK(w.sem_holders < w.sem_initial,
             "Semaphore: a permit was taken while all " + std::to_string(w.sem_initial) + " are held");
  Counter holding(w.sem_holders);
  co_await run_ops(w, self, op.body, scopes);
}

Coro<void> op_event_wait(World& w) {
  const std::uint32_t gen = w.event_gen;
  const bool was_set = w.event.is_set();
  bool ok = false;
  {
    EventWaiting waiting(w, gen);
    ok = co_await w.event.wait();
  }
  FUZZ_CHECK(ok, "Event.wait() returned false");
  FUZZ_CHECK(was_set || w.event_gen != gen, "Event.wait() returned although nobody set the event since it began");
}

void op_event_set(World& w) {
  if (!w.event.is_set()) ++w.event_gen;
  w.event.set();
  FUZZ_CHECK(w.event.is_set(), "Event: not set after set()");
}

Coro<void> op_put(World& w) {
  const long item = ++w.next_item;
  try {
    Counter putting(w.putters);
    co_await w.queue->put(item);
  } catch (const asyncio::QueueShutDown&) {
    FUZZ_CHECK(w.queue_shut, "Queue.put() raised QueueShutDown before shutdown()");
    throw;
  }
  FUZZ_CHECK(!w.queue_shut, "Queue.put() succeeded after shutdown()");
  w.puts.push_back(item);
  ++w.unfinished;
}

Coro<void> op_get(World& w) {
  long v = 0;
  try {
    Counter getting(w.getters);
    v = co_await w.queue->get();
  } catch (const asyncio::QueueShutDown&) {
    FUZZ_CHECK(w.queue_shut && w.queue->empty(), "Queue.get() raised QueueShutDown with items left or no shutdown()");
    throw;
  }
  FUZZ_CHECK(w.gets.size() < w.puts.size(),
             "Queue.get() returned item " + std::to_string(v) + " but every item put was already got");
  FUZZ_CHECK(w.puts[w.gets.size()] == v, "Queue.get() returned item " + std::to_string(v) + ", expected " +
                                             std::to_string(w.puts[w.gets.size()]) + " (FIFO)");
  w.gets.push_back(v);
}

void op_queue_shutdown(World& w, const Op& op) {
  const bool immediate = (op.a & 1) != 0;
  const std::size_t left = w.queue->qsize();
  w.queue->shutdown(immediate);
  w.queue_shut = true;
  if (!immediate) return;
  FUZZ_CHECK(w.queue->empty(), "Queue: items left after shutdown(immediate=true)");
  const bool had_unfinished = w.unfinished > 0;
  for (std::size_t i = 0; i < left; ++i) {
    w.gets.push_back(w.puts[w.gets.size()]);
    if (w.unfinished > 0) --w.unfinished;
  }
  if (had_unfinished && w.unfinished == 0) ++w.finished_gen;
}

void op_task_done(World& w) {
  if (w.unfinished == 0) {
    try {
      w.queue->task_done();
      FUZZ_CHECK(false, "Queue.task_done() with nothing unfinished did not raise");
    } catch (const asyncio::ValueError&) {
    }
    return;
  }
  w.queue->task_done();
  if (--w.unfinished == 0) ++w.finished_gen;
}

Coro<void> op_join(World& w) {
  const std::uint32_t gen = w.finished_gen;
  const bool finished = w.unfinished == 0;
  {
    w.joiners.push_back(gen);
    struct Leave {
      World& w;
      std::uint32_t gen;
      ~Leave() { w.joiners.erase(std::find(w.joiners.begin(), w.joiners.end(), gen)); }
    } leave{w, gen};
    co_await w.queue->join();
  }
  FUZZ_CHECK(finished || w.finished_gen != gen, "Queue.join() returned although items put were never all done");
}

void op_cancel(World& w, const Op& op) {
  TaskRec& t = *w.tops[op.a % w.tops.size()];
  const bool was_done = t.task.done();
  const bool was_started = t.started;
  const bool r = t.task.cancel();
  FUZZ_CHECK(r == !was_done, "cancel() of " + task_name(t) + " returned " + std::to_string(r) + " with done() " +
                                 std::to_string(was_done));
  if (r) {
    ++t.ext_true;
    if (!was_started) t.cancelled_before_start = true;
  }
}

void op_uncancel(TaskRec& self) {
  const int before = self.task.cancelling();
  const int r = self.task.uncancel();
  FUZZ_CHECK(r == std::max(before - 1, 0),
             "uncancel() with cancelling() " + std::to_string(before) + " returned " + std::to_string(r));
  FUZZ_CHECK(self.task.cancelling() == r, "cancelling() differs from what uncancel() returned");
}

Coro<void> op_cond_wait(World& w) {
  asyncio::Held<asyncio::Lock> held;
  {
    Counter waiting(w.cond_lock_waiters);
    held = co_await w.cond.hold();
  }
  FUZZ_CHECK(w.cond_holders == 0, "Condition: its lock was acquired while another task holds it");
  Holding holding(w.cond_holders);
  holding.drop();  // wait() gives the lock up
  {
    Counter in_wait(w.cond_in_wait);
    try {
      const bool ok = co_await w.cond.wait();
      FUZZ_CHECK(ok, "Condition.wait() returned false");
    } catch (...) {
      FUZZ_CHECK(w.cond.locked() && w.cond_holders == 0,
                 "Condition.wait() raised without holding the lock again: " + describe(std::current_exception()));
      holding.take();
      throw;
    }
  }
  FUZZ_CHECK(w.cond.locked() && w.cond_holders == 0, "Condition.wait() returned without holding the lock");
  holding.take();
}

Coro<void> op_cond_notify(World& w, const Op& op) {
  const int mode = op.a % 4;
  if (mode == 3) {
    if (!w.cond.locked()) {
      try {
        w.cond.notify();
        FUZZ_CHECK(false, "Condition.notify() without the lock did not raise");
      } catch (const asyncio::RuntimeError&) {
      }
    }
    co_return;
  }
  asyncio::Held<asyncio::Lock> held;
  {
    Counter waiting(w.cond_lock_waiters);
    held = co_await w.cond.hold();
  }
  FUZZ_CHECK(w.cond_holders == 0, "Condition: its lock was acquired while another task holds it");
  Holding holding(w.cond_holders);
  if (mode == 2) {
    w.cond.notify_all();
  } else {
    w.cond.notify(mode + 1);
  }
}

void op_sem_over_release(World& w) {
  asyncio::Semaphore& s = w.sem();
  if (!w.bounded || s.value() != w.sem_initial) return;
  try {
    s.release();
    FUZZ_CHECK(false, "BoundedSemaphore released above its initial value did not raise");
  } catch (const asyncio::ValueError&) {
  }
  FUZZ_CHECK(s.value() == w.sem_initial, "BoundedSemaphore: a refused release() changed value()");
}

void op_lock_release_unheld(World& w) {
  if (w.lock.locked()) return;
  try {
    w.lock.release();
    FUZZ_CHECK(false, "Lock.release() of an unlocked lock did not raise");
  } catch (const asyncio::RuntimeError&) {
  }
  FUZZ_CHECK(!w.lock.locked(), "Lock: a refused release() locked it");
}

Coro<void> await_child(TaskRec& self, TaskRec& c) {
  const int c0 = self.task.cancelling();
  try {
    const long v = co_await c.task;
    FUZZ_CHECK(c.task.done() && !c.task.cancelled() && v == c.id,
               task_name(self) + ": awaiting " + task_name(c) + " gave " + std::to_string(v));
  } catch (const CancelledError&) {
    FUZZ_CHECK(c.task.cancelled() || self.task.cancelling() > c0 || self.flags.uncancels,
               task_name(self) + ": CancelledError from awaiting " + task_name(c) +
                   ", which was not cancelled, and nobody cancelled the awaiting task");
    throw;
  } catch (...) {
    const std::exception_ptr e = std::current_exception();
    FUZZ_CHECK(c.task.done() && !c.task.cancelled() && c.task.exception() == e,
               task_name(self) + ": awaiting " + task_name(c) + " raised " + describe(e) + ", not its exception");
    throw;
  }
}

Coro<void> op_spawn(World& w, TaskRec& self, const Op& op) {
  TaskRec& c = spawn(w, &self, op.children[0], -1, nullptr, (op.b & 1) != 0);
  if ((op.a & 1) != 0) {
    self.kept.push_back(&c);
    co_return;
  }
  co_await await_child(self, c);
}

Coro<void> op_spawn_cancel(World& w, TaskRec& self, const Op& op) {
  TaskRec& c = spawn(w, &self, op.children[0], -1, nullptr);
  const bool r = c.task.cancel();
  FUZZ_CHECK(r, "cancel() of a task just created returned false");
  c.cancelled_before_start = true;
  if ((op.a & 1) == 0) co_return;
  try {
    const long v = co_await c.task;
    FUZZ_CHECK(false, "awaiting a task cancelled before it started gave " + std::to_string(v));
  } catch (const CancelledError&) {
    FUZZ_CHECK(c.task.cancelled(),
               "awaiting a task cancelled before it started raised CancelledError, "
               "but the task is not cancelled");
    // The idiom for a cancellation that is not ours: swallow it only if nobody cancels this task.
    if (self.task.cancelling() != 0) throw;
  }
}

Coro<void> op_shield(World& w, TaskRec& self, const Op& op) {
  TaskRec& c = spawn(w, &self, op.children[0], -1, nullptr, (op.b & 1) != 0);
  c.shielded = true;
  asyncio::Future<long> outer = asyncio::shield(c.task);
  try {
    const long v = co_await outer;
    FUZZ_CHECK(c.task.done() && !c.task.cancelled() && v == c.id,
               "shield(" + task_name(c) + ") gave " + std::to_string(v));
  } catch (const CancelledError&) {
    if (!c.task.done())
      FUZZ_CHECK(c.task.cancelling() == 0 || c.flags.scoped || w.cleanup,
                 "shield: cancelling the awaiting task cancelled the inner " + task_name(c));
    throw;
  } catch (...) {
    const std::exception_ptr e = std::current_exception();
    FUZZ_CHECK(c.task.done() && !c.task.cancelled() && c.task.exception() == e,
               "shield(" + task_name(c) + ") raised " + describe(e) + ", not the inner's exception");
    throw;
  }
}

/// The child of `cs` that failed (exception or cancelled) first, in completion order, or null.
TaskRec* first_failed(const std::vector<TaskRec*>& cs) {
  TaskRec* first = nullptr;
  for (TaskRec* c : cs) {
    if (c->settle_seq < 0) continue;
    if (!c->task.cancelled() && !c->task.exception()) continue;
    if (first == nullptr || c->settle_seq < first->settle_seq) first = c;
  }
  return first;
}

Coro<void> op_gather(World& w, TaskRec& self, const Op& op) {
  std::vector<TaskRec*> cs;
  std::vector<Task<long>> hs;
  for (const auto& program : op.children) {
    TaskRec& c = spawn(w, &self, program, -1, nullptr);
    cs.push_back(&c);
    hs.push_back(c.task);
  }
  const int c0 = self.task.cancelling();
  if ((op.a & 1) == 0) {
    auto outer = asyncio::gather(hs);
    try {
      const std::vector<long> vs = co_await outer;
      FUZZ_CHECK(vs.size() == cs.size(),
                 "gather: " + std::to_string(vs.size()) + " results for " + std::to_string(cs.size()) + " children");
      for (std::size_t i = 0; i < cs.size(); ++i) {
        TaskRec& c = *cs[i];
        FUZZ_CHECK(c.task.done() && !c.task.cancelled() && !c.task.exception() && vs[i] == c.id,
                   "gather: result " + std::to_string(i) + " is " + std::to_string(vs[i]) + " for " + task_name(c));
      }
    } catch (const CancelledError&) {
      TaskRec* f = first_failed(cs);
      FUZZ_CHECK((f != nullptr && f->task.cancelled()) || self.task.cancelling() > c0 || self.flags.uncancels,
                 "gather raised CancelledError, but its first failed child was not cancelled and nobody cancelled "
                 "the awaiting task");
      throw;
    } catch (...) {
      const std::exception_ptr e = std::current_exception();
      TaskRec* f = first_failed(cs);
      FUZZ_CHECK(f != nullptr && !f->task.cancelled() && f->task.exception() == e,
                 "gather raised " + describe(e) + ", not the exception of its first failed child");
      throw;
    }
    co_return;
  }
  auto outer = asyncio::gather(asyncio::return_exceptions, hs);
  try {
    auto& outcomes = co_await outer;
    FUZZ_CHECK(outcomes.size() == cs.size(), "gather(return_exceptions): wrong number of outcomes");
    for (std::size_t i = 0; i < cs.size(); ++i) {
      TaskRec& c = *cs[i];
      auto& o = outcomes[i];
      FUZZ_CHECK(c.task.done(), "gather(return_exceptions) returned before " + task_name(c) + " was done");
      if (o.has_value()) {
        FUZZ_CHECK(!c.task.cancelled() && !c.task.exception() && o.value() == c.id,
                   "gather(return_exceptions): a value for " + task_name(c) + " that did not return it");
      } else if (o.cancelled()) {
        FUZZ_CHECK(c.task.cancelled(),
                   "gather(return_exceptions): CancelledError for " + task_name(c) + " that was not cancelled");
      } else {
        FUZZ_CHECK(!c.task.cancelled() && c.task.exception() == o.exception(),
                   "gather(return_exceptions): " + describe(o.exception()) + " for " + task_name(c) +
                       " that did not raise it");
      }
    }
  } catch (const CancelledError&) {
    throw;
  } catch (...) {
    FUZZ_CHECK(false, "gather(return_exceptions) raised " + describe(std::current_exception()));
  }
}

Coro<void> tg_body(World& w, TaskRec& self, asyncio::TaskGroup& group, const std::vector<Op>& ops, int scopes,
                   std::exception_ptr& error) {
  Pushed<asyncio::TaskGroup> in_group(self.groups, group);
  try {
    co_await run_ops(w, self, ops, scopes);
  } catch (const CancelledError&) {
    throw;
  } catch (...) {
    error = std::current_exception();
    throw;
  }
}

/// The errors of the children, in the order they finished.
std::vector<std::exception_ptr> child_errors(const std::vector<TaskRec*>& cs) {
  std::vector<TaskRec*> failed;
  for (TaskRec* c : cs) {
    FUZZ_CHECK(c->task.done() && c->settle_seq >= 0, "TaskGroup ended before its child " + task_name(*c) + " did");
    if (!c->task.cancelled() && c->task.exception()) failed.push_back(c);
  }
  std::sort(failed.begin(), failed.end(),
            [](const TaskRec* x, const TaskRec* y) { return x->settle_seq < y->settle_seq; });
  std::vector<std::exception_ptr> out;
  for (TaskRec* c : failed) out.push_back(c->task.exception());
  return out;
}

Coro<void> op_task_group(World& w, TaskRec& self, const Op& op, int scopes) {
  asyncio::TaskGroup tg;
  struct Forget {
    World& w;
    const asyncio::TaskGroup* group;
    ~Forget() { std::erase(w.cancelled_groups, group); }
  } forget{w, &tg};
  std::vector<TaskRec*> cs;
  std::exception_ptr body_error;
  const bool eager = (op.a & 2) != 0;
  auto body = [&w, &self, &op, &cs, &body_error, scopes, eager](asyncio::TaskGroup& g) {
    for (const auto& program : op.children) {
      try {
        cs.push_back(&spawn(w, &self, program, -1, &g, eager));
      } catch (const asyncio::RuntimeError&) {
        // An eager child may have cancelled the group already: it then takes no more children.
        FUZZ_CHECK(std::find(w.cancelled_groups.begin(), w.cancelled_groups.end(), &g) != w.cancelled_groups.end(),
                   "TaskGroup.create_task() refused a child although nobody cancelled the group");
        break;
      }
    }
    return tg_body(w, self, g, op.body, scopes + 1, body_error);
  };
  try {
    co_await tg.run(std::move(body));
    const auto errors = child_errors(cs);
    FUZZ_CHECK(errors.empty() && !body_error, "TaskGroup returned normally although children raised " +
                                                  describe(errors) + " and the body " + describe(body_error));
  } catch (const asyncio::ExceptionGroup& eg) {
    auto expected = child_errors(cs);
    if (body_error) expected.push_back(body_error);
    FUZZ_CHECK(eg.exceptions() == expected,
               "TaskGroup raised " + describe(eg.exceptions()) + ", expected " + describe(expected));
    throw;
  } catch (const CancelledError&) {
    const auto errors = child_errors(cs);
    // CPython (main, with TaskGroup.cancel()) lets a cancellation from outside win over the body's
    // own error when cancel() was called on the group: __aexit__ looks for errors before it adds
    // the body's. The library does the same.
    const bool body_error_may_go =
        std::find(w.cancelled_groups.begin(), w.cancelled_groups.end(), &tg) != w.cancelled_groups.end() &&
        self.task.cancelling() > 0;
    FUZZ_CHECK(errors.empty() && (!body_error || body_error_may_go),
               "TaskGroup raised CancelledError although children raised " + describe(errors) + " and the body " +
                   describe(body_error));
    throw;
  } catch (...) {
    FUZZ_CHECK(false, "TaskGroup raised " + describe(std::current_exception()));
  }
}

Coro<void> op_wait(World& w, TaskRec& self, const Op& op) {
  std::vector<TaskRec*> cs;
  std::vector<Task<long>> hs;
  for (const auto& program : op.children) {
    TaskRec& c = spawn(w, &self, program, -1, nullptr);
    cs.push_back(&c);
    hs.push_back(c.task);
  }
  const auto when = static_cast<asyncio::ReturnWhen>(op.a % 3);
  const std::optional<double> timeout =
      op.b % 9 == 8 ? std::nullopt : std::optional<double>(ticks(static_cast<std::uint8_t>(op.b % 9)));
  const double t0 = w.loop.time();
  asyncio::WaitResult<Task<long>> r;
  try {
    r = co_await asyncio::wait(hs, when, timeout);
  } catch (const CancelledError&) {
    for (TaskRec* c : cs) {
      FUZZ_CHECK(c->task.done() || c->task.cancelling() == 0 || c->flags.scoped || w.cleanup,
                 "wait() cancelled a child when the waiting task was cancelled");
    }
    throw;
  }
  const double now = w.loop.time();
  FUZZ_CHECK(r.done.size() + r.pending.size() == hs.size(), "wait(): done + pending is not every child");
  std::size_t di = 0;
  std::size_t pi = 0;
  bool failed = false;
  for (std::size_t i = 0; i < cs.size(); ++i) {
    TaskRec& c = *cs[i];
    if (di < r.done.size() && r.done[di] == hs[i]) {
      ++di;
      FUZZ_CHECK(c.task.done(), "wait(): " + task_name(c) + " in done but pending");
      if (!c.task.cancelled() && c.task.exception()) failed = true;
    } else {
      FUZZ_CHECK(pi < r.pending.size() && r.pending[pi] == hs[i], "wait(): done and pending not in input order");
      ++pi;
      FUZZ_CHECK(!c.task.done(), "wait(): " + task_name(c) + " in pending but done");
      self.kept.push_back(&c);
    }
  }
  bool met = false;
  switch (when) {
    case asyncio::ReturnWhen::first_completed:
      met = !r.done.empty();
      break;
    case asyncio::ReturnWhen::first_exception:
      met = failed || r.pending.empty();
      break;
    case asyncio::ReturnWhen::all_completed:
      met = r.pending.empty();
      break;
  }
  if (timeout) {
    FUZZ_CHECK(now <= t0 + *timeout, "wait(timeout=" + std::to_string(*timeout) + ") from t=" + std::to_string(t0) +
                                         " returned at t=" + std::to_string(now));
  }
  FUZZ_CHECK(met || (timeout && now == t0 + *timeout),
             "wait() returned at t=" + std::to_string(now) + " before its condition held and before its timeout");
}

Coro<void> op_as_completed(World& w, TaskRec& self, const Op& op) {
  std::vector<TaskRec*> cs;
  std::vector<Task<long>> hs;
  for (const auto& program : op.children) {
    TaskRec& c = spawn(w, &self, program, -1, nullptr);
    cs.push_back(&c);
    hs.push_back(c.task);
  }
  const std::optional<double> timeout =
      op.b % 9 == 8 ? std::nullopt : std::optional<double>(ticks(static_cast<std::uint8_t>(op.b % 9)));
  const double t0 = w.loop.time();
  auto ac = asyncio::as_completed(hs, timeout);
  std::vector<bool> handed(cs.size(), false);
  std::int64_t last = -1;
  bool timed_out = false;
  // Whatever is not handed out stays this task's to await later: as_completed cancels nothing.
  struct Keep {
    TaskRec& self;
    const std::vector<TaskRec*>& cs;
    const std::vector<bool>& handed;
    ~Keep() {
      for (std::size_t i = 0; i < cs.size(); ++i) {
        if (!handed[i]) self.kept.push_back(cs[i]);
      }
    }
  } keep{self, cs, handed};
  while (!ac.done()) {
    Task<long> t;
    try {
      t = co_await ac.next();
    } catch (const asyncio::TimeoutError&) {
      timed_out = true;
    }
    if (timed_out) break;
    const auto it = std::find(hs.begin(), hs.end(), t);
    FUZZ_CHECK(it != hs.end(), "as_completed() handed out a task it was not given");
    const auto i = static_cast<std::size_t>(it - hs.begin());
    TaskRec& c = *cs[i];
    FUZZ_CHECK(!handed[i], "as_completed() handed out " + task_name(c) + " twice");
    handed[i] = true;
    FUZZ_CHECK(t.done() && c.settle_seq > last,
               "as_completed() handed out " + task_name(c) + " out of completion order, or before it was done");
    last = c.settle_seq;
  }
  const double now = w.loop.time();
  if (timed_out) {
    FUZZ_CHECK(timeout && now == t0 + *timeout,
               "as_completed(timeout) from t=" + std::to_string(t0) + " timed out at t=" + std::to_string(now));
  } else {
    FUZZ_CHECK(std::find(handed.begin(), handed.end(), false) == handed.end(),
               "as_completed() ended without handing out every task");
    if (timeout) FUZZ_CHECK(now <= t0 + *timeout, "as_completed() ended after its timeout");
  }
  for (TaskRec* c : cs) {
    FUZZ_CHECK(c->task.done() || c->task.cancelling() == 0 || c->flags.scoped || w.cleanup,
               "as_completed() cancelled " + task_name(*c));
  }
}

Coro<void> run_body(World& w, TaskRec& self, const std::vector<Op>& ops, int scopes, bool& started) {
  started = true;
  co_await run_ops(w, self, ops, scopes);
}

Coro<void> op_wait_for(World& w, TaskRec& self, const Op& op, int scopes) {
  const double d = ticks(op.a);
  const double t0 = w.loop.time();
  const double deadline = t0 + d;
  const int c0 = self.task.cancelling();
  Flags f = scope_flags(self, op);
  const std::uint64_t lossy0 = w.lossy_events;
  if (d > 0 && self.task.cancelling() > 0) note_may_lose_cancel(w, self);
  bool started = false;
  bool timed_out = false;
  try {
    co_await asyncio::wait_for(run_body(w, self, op.body, scopes + 1, started), d);
  } catch (const asyncio::TimeoutError& e) {
    timed_out = true;
    check_nested_cancel(e, "wait_for");
  }
  if (w.lossy_events != lossy0) f.slow = f.swallows = true;  // a task in the body may have lost a cancel
  const double now = w.loop.time();
  if (timed_out) {
    FUZZ_CHECK(now >= deadline, "wait_for(" + std::to_string(d) + ") from t=" + std::to_string(t0) +
                                    " raised TimeoutError early, at t=" + std::to_string(now));
    FUZZ_CHECK(f.slow || now == deadline, "wait_for(" + std::to_string(d) + ") from t=" + std::to_string(t0) +
                                              " raised TimeoutError at t=" + std::to_string(now) +
                                              " although nothing could delay it");
    FUZZ_CHECK(d > 0 || !started, "wait_for(coro, 0) started the coroutine");
    FUZZ_CHECK(self.flags.uncancels || self.task.cancelling() == c0,
               "wait_for: TimeoutError but cancelling() went from " + std::to_string(c0) + " to " +
                   std::to_string(self.task.cancelling()));
  } else {
    FUZZ_CHECK(d > 0, "wait_for(coro, 0) finished normally");
    FUZZ_CHECK(now <= deadline || f.swallows, "wait_for(" + std::to_string(d) + ") from t=" + std::to_string(t0) +
                                                  " finished normally after its deadline, at t=" + std::to_string(now));
  }
}

Coro<void> op_timeout(World& w, TaskRec& self, const Op& op, int scopes) {
  const double d = ticks(op.a);
  const double t0 = w.loop.time();
  asyncio::Timeout t = (op.b & 1) != 0 ? asyncio::timeout_at(t0 + d) : asyncio::timeout(d);
  FUZZ_CHECK(t.when() && *t.when() == t0 + d, "timeout: when() is not the deadline asked for");
  const int c0 = self.task.cancelling();
  Flags f = scope_flags(self, op);
  const std::uint64_t lossy0 = w.lossy_events;
  if (self.task.cancelling() > 0) note_may_lose_cancel(w, self);
  bool timed_out = false;
  try {
    Pushed<asyncio::Timeout> in_scope(self.timeouts, t);
    auto body = [&w, &self, &op, scopes]() { return run_ops(w, self, op.body, scopes + 1); };
    co_await t.run(std::move(body));
  } catch (const asyncio::TimeoutError& e) {
    timed_out = true;
    check_nested_cancel(e, "timeout");
  } catch (const CancelledError&) {
    FUZZ_CHECK(!t.expired() || self.flags.uncancels || self.task.cancelling() > c0,
               "timeout: expired, and let its own cancellation through as CancelledError");
    throw;
  }
  if (w.lossy_events != lossy0) f.slow = f.swallows = true;  // a task in the body may have lost a cancel
  // The deadline as the body last set it (reschedule).
  const std::optional<double> when = t.when();
  const double now = w.loop.time();
  if (timed_out) {
    FUZZ_CHECK(t.expired() && when, "timeout raised TimeoutError but expired() is false");
    FUZZ_CHECK(now >= *when, "timeout(" + std::to_string(d) + ") from t=" + std::to_string(t0) + " with deadline " +
                                 std::to_string(*when) + " raised TimeoutError early, at t=" + std::to_string(now));
    FUZZ_CHECK(f.slow || now == *when, "timeout(" + std::to_string(d) + ") from t=" + std::to_string(t0) +
                                           " with deadline " + std::to_string(*when) + " raised TimeoutError at t=" +
                                           std::to_string(now) + " although nothing could delay it");
    FUZZ_CHECK(self.flags.uncancels || self.task.cancelling() == c0,
               "timeout: TimeoutError but cancelling() went from " + std::to_string(c0) + " to " +
                   std::to_string(self.task.cancelling()));
  } else if (t.expired()) {
    FUZZ_CHECK(f.swallows, "timeout expired but its body finished normally, and the body swallows no cancellation");
    FUZZ_CHECK(when && now >= *when, "timeout: expired() before its deadline");
  } else if (when) {
    FUZZ_CHECK(now <= *when, "timeout(" + std::to_string(d) + ") from t=" + std::to_string(t0) + " with deadline " +
                                 std::to_string(*when) +
                                 " did not expire although its body ran until t=" + std::to_string(now));
  }
}

Coro<void> op_catch_cancel(World& w, TaskRec& self, const Op& op, int scopes) {
  const bool reraise = (op.a & 1) != 0;
  try {
    co_await run_ops(w, self, op.body, scopes);
  } catch (const CancelledError&) {
    check_cancel_cause(self, op);
    // Re-raising is the correct way; swallowing is allowed too, and then the cancellation is gone.
    if (reraise) throw;
  }
}

Coro<void> op_try_catch(World& w, TaskRec& self, const Op& op, int scopes) {
  const bool lax = (op.a & 1) != 0;
  try {
    co_await run_ops(w, self, op.body, scopes);
  } catch (const std::exception&) {
    // The strict variant catches errors only while nobody cancels this task, so that an error
    // that won a race against a cancel() (gather) does not make the task forget that cancel().
    if (!lax && self.task.cancelling() != 0) throw;
  }
}

void op_reschedule(World& w, TaskRec& self, const Op& op) {
  if (self.timeouts.empty()) return;
  asyncio::Timeout& t = *self.timeouts.back();
  const std::optional<double> when =
      op.a % 9 == 8 ? std::nullopt : std::optional<double>(w.loop.time() + ticks(static_cast<std::uint8_t>(op.a % 9)));
  if (t.expired()) {
    try {
      t.reschedule(when);
      FUZZ_CHECK(false, "reschedule() of an expired timeout did not raise");
    } catch (const asyncio::RuntimeError&) {
    }
    return;
  }
  t.reschedule(when);
  FUZZ_CHECK(t.when() == when, "reschedule(): when() is not the new deadline");
}

void op_tg_cancel(World& w, TaskRec& self) {
  asyncio::TaskGroup* group = !self.groups.empty() ? self.groups.back() : self.member_of;
  if (group == nullptr) return;
  group->cancel();
  if (std::find(w.cancelled_groups.begin(), w.cancelled_groups.end(), group) == w.cancelled_groups.end())
    w.cancelled_groups.push_back(group);
}

Coro<void> op_await_kept(TaskRec& self) {
  while (!self.kept.empty()) {
    TaskRec* c = self.kept.front();
    self.kept.erase(self.kept.begin());
    co_await await_child(self, *c);
  }
}

Coro<void> run_op(World& w, TaskRec& self, const Op& op, int scopes) {
  switch (op.kind) {
    case OpKind::sleep:
      co_await op_sleep(w, op);
      break;
    case OpKind::event_wait:
      co_await op_event_wait(w);
      break;
    case OpKind::event_set:
      op_event_set(w);
      break;
    case OpKind::event_clear:
      w.event.clear();
      break;
    case OpKind::put:
      co_await op_put(w);
      break;
    case OpKind::get:
      co_await op_get(w);
      break;
    case OpKind::raise:
      throw FuzzError(++w.next_error);
    case OpKind::cancel:
      op_cancel(w, op);
      break;
    case OpKind::uncancel:
      op_uncancel(self);
      break;
    case OpKind::cond_wait:
      co_await op_cond_wait(w);
      break;
    case OpKind::cond_notify:
      co_await op_cond_notify(w, op);
      break;
    case OpKind::sem_over_release:
      op_sem_over_release(w);
      break;
    case OpKind::lock_release_unheld:
      op_lock_release_unheld(w);
      break;
    case OpKind::await_kept:
      co_await op_await_kept(self);
      break;
    case OpKind::reschedule:
      op_reschedule(w, self, op);
      break;
    case OpKind::tg_cancel:
      op_tg_cancel(w, self);
      break;
    case OpKind::queue_shutdown:
      op_queue_shutdown(w, op);
      break;
    case OpKind::task_done:
      op_task_done(w);
      break;
    case OpKind::join:
      co_await op_join(w);
      break;
    case OpKind::lock_hold:
      co_await op_lock_hold(w, self, op, scopes);
      break;
    case OpKind::sem_hold:
      co_await op_sem_hold(w, self, op, scopes);
      break;
    case OpKind::catch_cancel:
      co_await op_catch_cancel(w, self, op, scopes);
      break;
    case OpKind::try_catch:
      co_await op_try_catch(w, self, op, scopes);
      break;
    case OpKind::wait_for:
      co_await op_wait_for(w, self, op, scopes);
      break;
    case OpKind::timeout:
      co_await op_timeout(w, self, op, scopes);
      break;
    case OpKind::spawn:
      co_await op_spawn(w, self, op);
      break;
    case OpKind::spawn_cancel:
      co_await op_spawn_cancel(w, self, op);
      break;
    case OpKind::shield:
      co_await op_shield(w, self, op);
      break;
    case OpKind::gather:
      co_await op_gather(w, self, op);
      break;
    case OpKind::task_group:
      co_await op_task_group(w, self, op, scopes);
      break;
    case OpKind::wait:
      co_await op_wait(w, self, op);
      break;
    case OpKind::as_completed:
      co_await op_as_completed(w, self, op);
      break;
  }
}

void trace_raised(World& w, TaskRec& self, const Op& op) {
  if (!tracing()) return;
  std::fprintf(stderr, "t=%g #%d %s: raised %s (cancelling %d)\n", w.loop.time(), self.id, kind_name(op.kind),
               describe(std::current_exception()).c_str(), self.task.cancelling());
}

Coro<void> run_ops(World& w, TaskRec& self, const std::vector<Op>& ops, int scopes) {
  for (const Op& op : ops) {
    check_point(w, self, scopes);
    if (tracing()) {
      std::fprintf(stderr, "t=%g #%d %s a=%u b=%u: start (cancelling %d)\n", w.loop.time(), self.id, kind_name(op.kind),
                   op.a, op.b, self.task.cancelling());
    }
    try {
      co_await run_op(w, self, op, scopes);
    } catch (const CancelledError&) {
      trace_raised(w, self, op);
      check_cancel_cause(self, op);
      throw;
    } catch (...) {
      trace_raised(w, self, op);
      throw;
    }
    if (tracing()) {
      std::fprintf(stderr, "t=%g #%d %s: done (cancelling %d)\n", w.loop.time(), self.id, kind_name(op.kind),
                   self.task.cancelling());
    }
  }
  check_point(w, self, scopes);
}

Coro<long> run_task(World& w, TaskRec& self) {
  FUZZ_CHECK(!self.cancelled_before_start,
             task_name(self) + " ran its body although it was cancelled before its first step");
  self.started = true;
  // An eager task runs this before create_task() has returned its handle.
  if (!self.task) self.task = Task<long>::from_state(asyncio::current_task().state_ptr());
  try {
    co_await run_ops(w, self, *self.program, 0);
  } catch (const CancelledError&) {
    self.exit = Exit::cancelled;
    throw;
  } catch (...) {
    self.exit = Exit::error;
    self.exit_error = std::current_exception();
    throw;
  }
  self.exit = Exit::normal;
  co_return self.id;
}

// ---------------------------------------------------------------------------------------------
// Driving the loop

TaskRec* find_rec(World& w, const asyncio::AnyTask& t) {
  for (TaskRec& r : w.recs) {
    if (r.task == t) return &r;
  }
  return nullptr;
}

class Driver {
 public:
  Driver(World& w, EventLoop& loop) : w_(w), loop_(loop), before_(loop.time()) {}

  /// One iteration; if time moved, the state it started from was idle and must have been sound.
  void step() {
    FUZZ_CHECK(++iterations_ <= kMaxIterations,
               "the loop ran " + std::to_string(kMaxIterations) + " iterations without the program ending (livelock)");
    loop_.run_once();
    if (loop_.time() != before_) {
      FUZZ_CHECK(suspect_.empty(), suspect_ + " (with every task waiting, at t=" + std::to_string(before_) + ")");
      before_ = loop_.time();
    }
    check_shared(w_);
    check_all_tasks();
    suspect_ = idle_violation(w_);
  }

  /// all_tasks(): exactly the tasks not done (the harness's, and the library's own).
  void check_all_tasks() {
    const std::vector<asyncio::AnyTask> all = asyncio::all_tasks(&loop_);
    for (const asyncio::AnyTask& t : all) FUZZ_CHECK(!t.done(), "all_tasks() lists a finished task");
    for (TaskRec& r : w_.recs) {
      if (r.task.done()) continue;
      FUZZ_CHECK(std::find(all.begin(), all.end(), static_cast<asyncio::AnyTask>(r.task)) != all.end(),
                 "all_tasks() misses the pending " + task_name(r));
    }
  }

  /// Runs the program until every task is done or every task waits forever.
  void run_program() {
    asyncio::TimerHandle horizon = loop_.call_at(kHorizon, [] {});
    while (w_.live > 0 && loop_.time() < kHorizon) step();
    horizon.cancel();
  }

  /// Cancels whatever is pending, again until everything has ended.
  void cancel_the_rest() {
    w_.cleanup = true;
    for (int round = 0;; ++round) {
      std::vector<asyncio::AnyTask> pending = asyncio::all_tasks(&loop_);
      if (pending.empty() && w_.live == 0) break;
      FUZZ_CHECK(round < kMaxCleanupRounds, std::to_string(pending.size()) + " tasks still pending after " +
                                                std::to_string(kMaxCleanupRounds) + " rounds of cancel()");
      for (asyncio::AnyTask& t : pending) {
        TaskRec* rec = find_rec(w_, t);
        const bool was_started = rec == nullptr || rec->started;
        const bool r = t.cancel();
        if (tracing()) {
          std::fprintf(stderr, "t=%g cleanup round %d: cancel() of %s returned %d\n", loop_.time(), round,
                       rec != nullptr ? task_name(*rec).c_str() : t.get_name().c_str(), r);
        }
        if (r && rec != nullptr) {
          if (rec->top >= 0) ++rec->ext_true;
          if (!was_started) rec->cancelled_before_start = true;
        }
      }
      suspect_ = idle_violation(w_);
      // A timer, so that the loop never blocks; the round ends when time moves (all idle).
      asyncio::TimerHandle guard = loop_.call_later(1.0, [] {});
      const double t0 = loop_.time();
      while ((w_.live > 0 || !asyncio::all_tasks(&loop_).empty()) && loop_.time() == t0) step();
      guard.cancel();
    }
  }

 private:
  World& w_;
  EventLoop& loop_;
  double before_;
  std::string suspect_;
  std::uint64_t iterations_ = 0;
};

void check_ended(TaskRec& r) {
  FUZZ_CHECK(r.task.done(), task_name(r) + " is still pending");
  FUZZ_CHECK(r.settle_seq >= 0, task_name(r) + ": its done-callback never ran");
  const bool cancelled = r.task.cancelled();
  const std::exception_ptr error = cancelled ? std::exception_ptr() : r.task.exception();  // marks it retrieved
  if (!r.started) FUZZ_CHECK(cancelled, task_name(r) + " never started, yet ended otherwise than cancelled");
  if (r.cancelled_before_start)
    FUZZ_CHECK(!r.started, task_name(r) + " was cancelled before its first step yet started");
  switch (r.exit) {
    case Exit::none:
      FUZZ_CHECK(!r.started, task_name(r) + " started but its coroutine never ended");
      break;
    case Exit::cancelled:
      FUZZ_CHECK(cancelled, task_name(r) + ": its coroutine raised CancelledError but the task is not cancelled");
      break;
    case Exit::error:
      FUZZ_CHECK(!cancelled && error == r.exit_error, task_name(r) + ": its coroutine raised " +
                                                          describe(r.exit_error) + " but the task holds " +
                                                          (cancelled ? "a cancellation" : describe(error)));
      break;
    case Exit::normal:
      // A cancel() that arrived after the last suspension cancels the task as it returns.
      FUZZ_CHECK(cancelled || (!error && r.task.result() == r.id),
                 task_name(r) + ": its coroutine returned but the task holds " + describe(error));
      break;
  }
  if (r.top >= 0 && !r.flags.uncancels) {
    FUZZ_CHECK(r.task.cancelling() == r.ext_true, task_name(r) + " ended with cancelling() " +
                                                      std::to_string(r.task.cancelling()) + " after " +
                                                      std::to_string(r.ext_true) + " successful cancel() calls");
    if (!r.flags.swallows && !r.may_lose_cancel) {
      if (r.ext_true == 0) {
        FUZZ_CHECK(!cancelled, task_name(r) + " ended cancelled although nobody cancelled it");
      } else {
        FUZZ_CHECK(cancelled || error, task_name(r) + " finished normally although cancelled " +
                                           std::to_string(r.ext_true) + " times and it never swallows a cancellation");
      }
    }
  }
  if (r.shielded && !r.settled_in_cleanup) {
    FUZZ_CHECK(!cancelled, task_name(r) + ", shielded, ended cancelled before the final cleanup");
  }
}

struct Config {
  std::size_t top_tasks = 1;
  std::int64_t sem_value = 1;
  bool bounded = false;
  std::size_t queue_max = 0;
  bool debug = false;  // the loop's debug mode: among others, it looks for an await cycle at every wait
  std::vector<std::vector<Op>> programs;
};

Config decode(FuzzInput& in) {
  Config c;
  c.top_tasks = 1 + in.below(kMaxTopTasks);
  const std::uint8_t shape = in.byte();
  c.sem_value = 1 + shape % 3;
  c.bounded = (shape & 4) != 0;
  c.queue_max = (shape >> 3) % 4;
  c.debug = (shape & 0x20) != 0;
  int budget = kOpBudget;
  for (std::size_t i = 0; i < c.top_tasks; ++i) c.programs.push_back(decode_ops(in, 0, budget));
  return c;
}

void run_case(const Config& config) {
  std::vector<std::string> reports;
  {
    EventLoop loop(asyncio::LoopOptions{.clock = asyncio::ClockKind::virtual_time, .debug = config.debug});
    loop.set_exception_handler([&reports](EventLoop&, const asyncio::ExceptionContext& context) {
      reports.push_back(context.message + ": " + describe(context.exception) + " " + context.future);
    });
    {
      World w(loop);
      w.sem_initial = config.sem_value;
      w.bounded = config.bounded;
      if (w.bounded) {
        w.bounded_sem.emplace(config.sem_value);
      } else {
        w.plain_sem.emplace(config.sem_value);
      }
      w.queue_max = config.queue_max;
      w.queue.emplace(config.queue_max);
      for (std::size_t i = 0; i < config.programs.size(); ++i) {
        w.tops.push_back(&spawn(w, nullptr, config.programs[i], static_cast<int>(i), nullptr));
      }

      Driver driver(w, loop);
      driver.run_program();
      for (TaskRec& r : w.recs) {
        if (r.shielded && !r.task.done() && !r.flags.scoped) {
          FUZZ_CHECK(r.task.cancelling() == 0, "the shielded " + task_name(r) + " was cancelled");
        }
      }
      driver.cancel_the_rest();

      FUZZ_CHECK(asyncio::all_tasks(&loop).empty(), "all_tasks() is not empty at the end");
      FUZZ_CHECK(w.live == 0, "a done-callback never ran");
      for (TaskRec& r : w.recs) check_ended(r);

      FUZZ_CHECK(w.lock_holders == 0 && w.sem_holders == 0 && w.cond_holders == 0, "a hold outlived its task");
      FUZZ_CHECK(w.lock_waiters.empty() && w.sem_waiters.empty() && w.event_waiting.empty() && w.getters == 0 &&
                     w.putters == 0 && w.joiners.empty() && w.cond_lock_waiters == 0 && w.cond_in_wait == 0,
                 "a wait outlived its task");
      FUZZ_CHECK(!w.lock.locked() && w.lock.waiter_count() == 0, "Lock: not free at the end");
      asyncio::Semaphore& s = w.sem();
      FUZZ_CHECK(s.value() == w.sem_initial && !s.locked() && s.waiter_count() == 0,
                 "Semaphore: value() " + std::to_string(s.value()) + " of " + std::to_string(w.sem_initial) +
                     " at the end (a permit was lost)");
      FUZZ_CHECK(w.event.waiter_count() == 0, "Event: waiters left at the end");
      FUZZ_CHECK(!w.cond.locked() && w.cond.waiter_count() == 0, "Condition: not free at the end");
      while (!w.queue->empty()) {
        const long v = w.queue->get_nowait();
        FUZZ_CHECK(w.gets.size() < w.puts.size() && w.puts[w.gets.size()] == v,
                   "Queue: item " + std::to_string(v) + " left at the end out of order");
        w.gets.push_back(v);
      }
      FUZZ_CHECK(w.gets.size() == w.puts.size(),
                 "Queue: " + std::to_string(w.puts.size() - w.gets.size()) + " items lost");

      // Every permit can be taken back without waiting; a bounded semaphore refuses one more.
      loop.run_until_complete([&w]() -> Coro<void> {
        asyncio::Semaphore& sem = w.sem();
        for (std::int64_t i = 0; i < w.sem_initial; ++i) {
          FUZZ_CHECK(!sem.locked(), "Semaphore: permit " + std::to_string(i) + " cannot be taken at the end");
          const bool ok = co_await sem.acquire();
          FUZZ_CHECK(ok, "Semaphore.acquire() returned false");
        }
        FUZZ_CHECK(sem.locked() && sem.value() == 0, "Semaphore: still unlocked with every permit taken");
        for (std::int64_t i = 0; i < w.sem_initial; ++i) sem.release();
        FUZZ_CHECK(!w.lock.locked(), "Lock: locked at the end");
        const bool ok = co_await w.lock.acquire();
        FUZZ_CHECK(ok && w.lock.locked(), "Lock: acquire() at the end failed");
        w.lock.release();
      });
      if (w.bounded) {
        try {
          s.release();
          FUZZ_CHECK(false, "BoundedSemaphore released above its initial value did not raise");
        } catch (const asyncio::ValueError&) {
        }
      }
      FUZZ_CHECK(asyncio::all_tasks(&loop).empty(), "all_tasks() is not empty after the final check");
    }
    for (const std::string& r : reports) FUZZ_CHECK(false, "the exception handler was called: " + r);
  }
  for (const std::string& r : reports) FUZZ_CHECK(false, "the exception handler was called at loop close: " + r);
}

/// Error lines the library logged during the current input. Warnings are not collected: debug
/// mode warns about callbacks slower than 0.1 s of real time, which depends on the machine.
std::vector<std::string>& logged_errors() {
  static std::vector<std::string> lines;
  return lines;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool log_routed = [] {
    asyncio::set_log_handler([](asyncio::LogLevel level, std::string_view line) {
      if (level == asyncio::LogLevel::error) logged_errors().emplace_back(line);
    });
    return true;
  }();
  (void)log_routed;
  logged_errors().clear();
  FuzzInput in(data, size);
  const Config config = decode(in);
  if (tracing()) {
    std::fprintf(stderr, "semaphore %lld%s, queue maxsize %zu%s\n", static_cast<long long>(config.sem_value),
                 config.bounded ? " (bounded)" : "", config.queue_max, config.debug ? ", debug mode" : "");
    for (std::size_t i = 0; i < config.programs.size(); ++i) {
      std::fprintf(stderr, "top-level task %zu (#%zu):\n", i, i + 1);
      dump(config.programs[i], 2);
    }
  }
  run_case(config);
  for (const std::string& line : logged_errors()) FUZZ_CHECK(false, "the library logged an error: " + line);
  return 0;
}
