// Cancellation stress: random programs of sleeps, futures, timeout, wait_for and shield, run by
// thousands of tasks that other tasks cancel at random times (fixed seeds, virtual clock).
//
// Every outcome is checked against what asyncio's rules demand:
//  - a worker that was cancelled from outside (a cancel() that returned true) ends cancelled: an
//    outside cancellation is never swallowed nor turned into TimeoutError, however it races with
//    timeouts and completing futures;
//  - a worker never cancelled from outside ends with its program's value, or with TimeoutError if a
//    deadline passed; never cancelled;
//  - its cancelling() count equals the cancel() requests from outside: every timeout withdrew its own;
//  - a Timeout that expired never lets its body's value through; a CancelledError is only ever seen
//    where an outside cancel, a parent's cancel or an enclosing deadline explains it;
//  - a shielded task is never cancelled (it ends with its value or its own TimeoutError);
//  - at the end nothing is pending, nothing reached the exception handler, and (ASan build) nothing
//    leaked.

#include <gtest/gtest.h>

#include <asyncio/flow/shield.hpp>
#include <asyncio/flow/timeout.hpp>
#include <asyncio/flow/wait_for.hpp>

#include <cstdint>
#include <cstdio>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/test_support.hpp"

namespace {

using asyncio::AnyTask;
using asyncio::CancelledError;
using asyncio::Coro;
using asyncio::EventLoop;
using asyncio::Future;
using asyncio::Task;
using asyncio::Timeout;
using asyncio::TimeoutError;

/// splitmix64: the same sequence on every compiler and standard library.
struct Rng {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  int below(int n) { return static_cast<int>(next() % static_cast<std::uint64_t>(n)); }
  bool chance(int num, int den) { return below(den) < num; }
  /// 0 .. max_ms milliseconds, in seconds.
  double ms(int max_ms) { return below(max_ms + 1) / 1000.0; }
};

enum class Kind { sleep, future, seq, timeout, wait_for_coro, wait_for_task, shield };

struct Node {
  Kind kind = Kind::sleep;
  double delay = 0;          // sleep, future completion, or deadline (seconds)
  bool no_deadline = false;  // timeout / wait_for with std::nullopt
  int reschedule = 0;        // timeout: 0 none, 1 to delay2 from entry, 2 to none
  double delay2 = 0;
  bool race_cancel = false;  // future: its completing callback also cancels the worker
  long value = 0;
  std::vector<Node> children;
};

long expected_value(const Node& n) {
  switch (n.kind) {
    case Kind::sleep:
    case Kind::future:
      return n.value;
    case Kind::seq: {
      long sum = 0;
      for (const Node& c : n.children) sum += expected_value(c);
      return sum;
    }
    default:
      return expected_value(n.children.front());
  }
}

Node make_program(Rng& rng, int depth) {
  Node n;
  const int pick = depth >= 3 ? rng.below(2) : rng.below(10);
  n.value = rng.below(1000);
  switch (pick) {
    case 0:
      n.kind = Kind::sleep;
      n.delay = rng.ms(6);
      return n;
    case 1:
      n.kind = Kind::future;
      n.delay = rng.ms(6);
      n.race_cancel = rng.chance(1, 6);
      return n;
    case 2:
    case 3: {
      n.kind = Kind::seq;
      const int k = 1 + rng.below(3);
      for (int i = 0; i < k; ++i) n.children.push_back(make_program(rng, depth + 1));
      return n;
    }
    case 4:
    case 5:
      n.kind = Kind::timeout;
      n.reschedule = rng.chance(1, 5) ? 1 + rng.below(2) : 0;
      n.delay2 = rng.ms(12);
      break;
    case 6:
      n.kind = Kind::wait_for_coro;
      break;
    case 7:
      n.kind = Kind::wait_for_task;
      break;
    default:
      n.kind = Kind::shield;
      break;
  }
  n.no_deadline = n.kind != Kind::shield && rng.chance(1, 8);
  n.delay = rng.chance(1, 10) ? -rng.ms(2) : rng.ms(15);  // some deadlines already due
  n.children.push_back(make_program(rng, depth + 1));
  return n;
}

struct WorkerRec {
  Task<long> task;
  long expected = 0;
  int ext_cancels = 0;       // cancel() calls on it that returned true
  std::size_t live_pos = 0;  // its place in Round::live while not done
};

/// Who may cancel the task running a program (for the "CancelledError has a cause" check).
struct Ctx {
  WorkerRec* owner = nullptr;          // a worker's own context: outside cancels are counted there
  WorkerRec* race_target = nullptr;    // whom a racing future callback cancels (null: nobody)
  bool parent_cancels = false;         // a wait_for child: its parent's timeout or cancel reaches it
  std::vector<const Timeout*> active;  // enclosing timeouts in this task; null: a wait_for's own
};

struct Round {
  explicit Round(std::uint64_t seed) : rng{seed} {}
  Rng rng;
  std::vector<std::unique_ptr<WorkerRec>> workers;
  std::vector<int> live;  // indexes of workers not done
  std::deque<Ctx> contexts;
  std::vector<std::pair<Task<long>, long>> shielded;
  std::vector<Task<long>> children;
  long cancels = 0;
  long timeout_errors = 0;
  long violations = 0;
  std::vector<std::string> messages;

  void fail(const std::string& what) {
    ++violations;
    if (messages.size() < 10) messages.push_back(what);
  }
};

bool excused(const Ctx& ctx) {
  if (ctx.parent_cancels) return true;
  if (ctx.owner != nullptr && ctx.owner->ext_cancels > 0) return true;
  for (const Timeout* t : ctx.active) {
    if (t == nullptr || t->expired()) return true;
  }
  return false;
}

/// A CancelledError leaving a deadline node must have a cause.
void check_cancelled(Round& r, const Ctx& ctx, const char* where) {
  if (!excused(ctx)) r.fail(std::string(where) + ": CancelledError with no cancel to explain it");
}

Coro<long> exec(Round& r, Ctx& ctx, const Node& n);

Coro<long> exec_future(Round& r, Ctx& ctx, const Node& n) {
  EventLoop& loop = asyncio::get_running_loop();
  Future<long> f = loop.create_future<long>();
  WorkerRec* target = n.race_cancel ? ctx.race_target : nullptr;
  asyncio::TimerHandle h = loop.call_later(n.delay, [f, target, &r, value = n.value]() mutable {
    if (!f.done()) f.set_result(value);
    // The same iteration as the result: the waiting task has not resumed yet.
    if (target != nullptr && target->task.cancel()) {
      ++target->ext_cancels;
      ++r.cancels;
    }
  });
  struct Disarm {
    asyncio::TimerHandle& h;
    ~Disarm() { h.cancel(); }  // as asyncio.sleep's `finally: h.cancel()`
  } disarm{h};
  co_return co_await f;
}

Coro<long> exec_timeout(Round& r, Ctx& ctx, const Node& n) {
  EventLoop& loop = asyncio::get_running_loop();
  Timeout t = n.no_deadline ? asyncio::timeout(std::nullopt) : asyncio::timeout(n.delay);
  ctx.active.push_back(&t);
  struct Pop {
    Ctx& ctx;
    ~Pop() { ctx.active.pop_back(); }
  } pop{ctx};
  long v = 0;
  try {
    v = co_await t.run([&]() -> Coro<long> {
      if (n.reschedule == 1) t.reschedule(loop.time() + n.delay2);
      if (n.reschedule == 2) t.reschedule(std::nullopt);
      return exec(r, ctx, n.children.front());
    });
  } catch (const TimeoutError&) {
    ++r.timeout_errors;
    throw;
  } catch (const CancelledError&) {
    check_cancelled(r, ctx, "timeout");
    throw;
  }
  if (t.expired()) r.fail("an expired timeout let its body's value through");
  co_return v;
}

Coro<long> exec_wait_for(Round& r, Ctx& ctx, const Node& n) {
  const std::optional<double> deadline = n.no_deadline ? std::nullopt : std::optional<double>(n.delay);
  ctx.active.push_back(nullptr);
  struct Pop {
    Ctx& ctx;
    ~Pop() { ctx.active.pop_back(); }
  } pop{ctx};
  try {
    if (n.kind == Kind::wait_for_coro) co_return co_await asyncio::wait_for(exec(r, ctx, n.children.front()), deadline);
    Ctx& child_ctx = r.contexts.emplace_back();
    child_ctx.race_target = ctx.race_target;
    child_ctx.parent_cancels = true;
    Task<long> child = asyncio::create_task(exec(r, child_ctx, n.children.front()));
    r.children.push_back(child);
    co_return co_await asyncio::wait_for(child, deadline);
  } catch (const TimeoutError&) {
    ++r.timeout_errors;
    throw;
  } catch (const CancelledError&) {
    check_cancelled(r, ctx, "wait_for");
    throw;
  }
}

Coro<long> exec_shield(Round& r, Ctx&, const Node& n) {
  Ctx& inner_ctx = r.contexts.emplace_back();  // nobody may cancel the inner but its own deadlines
  Task<long> inner = asyncio::create_task(exec(r, inner_ctx, n.children.front()));
  r.shielded.emplace_back(inner, expected_value(n.children.front()));
  co_return co_await asyncio::shield(inner);
}

Coro<long> exec_sleep(const Node& n) {
  co_await asyncio::sleep(n.delay);
  co_return n.value;
}

Coro<long> exec_seq(Round& r, Ctx& ctx, const Node& n) {
  long sum = 0;
  for (const Node& c : n.children) sum += co_await exec(r, ctx, c);
  co_return sum;
}

// Not a coroutine: hands out the node's own Coro, so that a program's nesting costs one frame per node.
Coro<long> exec(Round& r, Ctx& ctx, const Node& n) {
  switch (n.kind) {
    case Kind::sleep:
      return exec_sleep(n);
    case Kind::future:
      return exec_future(r, ctx, n);
    case Kind::seq:
      return exec_seq(r, ctx, n);
    case Kind::timeout:
      return exec_timeout(r, ctx, n);
    case Kind::wait_for_coro:
    case Kind::wait_for_task:
      return exec_wait_for(r, ctx, n);
    case Kind::shield:
      return exec_shield(r, ctx, n);
  }
  return exec_sleep(n);
}

Coro<void> killer(Round& r, std::uint64_t seed) {
  Rng rng{seed};
  while (!r.live.empty()) {
    co_await asyncio::sleep(rng.ms(2));
    for (int burst = 1 + rng.below(3); burst > 0 && !r.live.empty(); --burst) {
      const auto pick = static_cast<std::size_t>(rng.below(static_cast<int>(r.live.size())));
      WorkerRec& w = *r.workers[static_cast<std::size_t>(r.live[pick])];
      const int times = rng.chance(1, 10) ? 2 : 1;  // sometimes twice in a row: both are counted
      for (int i = 0; i < times; ++i) {
        if (w.task.cancel()) {
          ++w.ext_cancels;
          ++r.cancels;
        }
      }
    }
  }
}

void check_worker(Round& r, WorkerRec& w) {
  Task<long>& t = w.task;
  if (!t.done()) return r.fail("a worker is still pending");
  if (t.cancelling() != w.ext_cancels) r.fail("cancelling() does not match the outside cancels");
  if (w.ext_cancels > 0) {
    if (!t.cancelled()) r.fail("a worker cancelled from outside did not end cancelled");
    return;
  }
  if (t.cancelled()) return r.fail("a worker nobody cancelled ended cancelled");
  if (std::exception_ptr e = t.exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const TimeoutError&) {
    } catch (...) {
      r.fail("a worker ended with an exception other than TimeoutError");
    }
    return;
  }
  if (t.result() != w.expected) r.fail("a worker returned a wrong value");
}

struct Totals {
  long workers = 0;
  long cancels = 0;
  long cancelled_workers = 0;
  long timeout_errors = 0;
  long shielded = 0;
  long violations = 0;
  std::vector<std::string> messages;
};

void run_round(std::uint64_t seed, int worker_count, int killer_count, Totals& totals) {
  Round r(seed);
  EventLoop loop(asyncio::testing::virtual_clock());
  asyncio::testing::HandlerCapture handler(loop);
  std::vector<Node> programs;
  programs.reserve(static_cast<std::size_t>(worker_count));
  for (int i = 0; i < worker_count; ++i) programs.push_back(make_program(r.rng, 0));

  loop.run_until_complete([&]() -> Coro<void> {
    for (int i = 0; i < worker_count; ++i) {
      auto w = std::make_unique<WorkerRec>();
      w->expected = expected_value(programs[static_cast<std::size_t>(i)]);
      Ctx& ctx = r.contexts.emplace_back();
      ctx.owner = w.get();
      ctx.race_target = w.get();
      w->task = asyncio::create_task(exec(r, ctx, programs[static_cast<std::size_t>(i)]));
      w->task.add_done_callback([&r, i](Task<long>&) {
        const std::size_t pos = r.workers[static_cast<std::size_t>(i)]->live_pos;
        const int moved = r.live.back();
        r.live[pos] = moved;
        r.workers[static_cast<std::size_t>(moved)]->live_pos = pos;
        r.live.pop_back();
      });
      w->live_pos = r.live.size();
      r.live.push_back(i);
      r.workers.push_back(std::move(w));
    }
    std::vector<Task<void>> killers;
    for (int k = 0; k < killer_count; ++k) killers.push_back(asyncio::create_task(killer(r, r.rng.next())));

    // Everything must end; a generous deadline turns a hang into a failure instead of a stuck test.
    try {
      co_await asyncio::timeout(3600).run([&]() -> Coro<void> {
        for (auto& w : r.workers) {
          try {
            co_await w->task;
          } catch (...) {
          }
        }
        for (auto& k : killers) co_await k;
        for (auto& [inner, expected] : r.shielded) {
          try {
            co_await inner;
          } catch (...) {
          }
        }
        for (auto& c : r.children) {
          try {
            co_await c;
          } catch (...) {
          }
        }
      });
    } catch (const TimeoutError&) {
      r.fail("tasks were still pending after an hour of virtual time");
    }
    co_await asyncio::sleep(0);  // let the last done-callbacks run
    if (asyncio::all_tasks().size() != 1) r.fail("tasks left pending at the end");
  });

  for (auto& w : r.workers) {
    check_worker(r, *w);
    if (w->task.cancelled()) ++totals.cancelled_workers;
  }
  for (auto& [inner, expected] : r.shielded) {
    if (!inner.done() || inner.cancelled()) {
      r.fail("a shielded task was cancelled or left pending");
      continue;
    }
    if (inner.cancelling() != 0) r.fail("a shielded task kept a cancel request");
    if (std::exception_ptr e = inner.exception()) {
      try {
        std::rethrow_exception(e);
      } catch (const TimeoutError&) {
      } catch (...) {
        r.fail("a shielded task ended with an exception other than TimeoutError");
      }
    } else if (inner.result() != expected) {
      r.fail("a shielded task returned a wrong value");
    }
  }
  for (auto& c : r.children) {
    if (!c.done()) r.fail("a wait_for child task was left pending");
  }
  if (!handler.contexts().empty()) r.fail("something reached the exception handler: " + handler.contexts()[0].message);

  totals.workers += worker_count;
  totals.cancels += r.cancels;
  totals.timeout_errors += r.timeout_errors;
  totals.shielded += static_cast<long>(r.shielded.size());
  totals.violations += r.violations;
  for (auto& m : r.messages) {
    if (totals.messages.size() < 20) totals.messages.push_back("seed " + std::to_string(seed) + ": " + m);
  }
}

TEST(CancellationStress, AHundredThousandCancellationsAtRandomAwaitPointsEndEveryTaskAsItsPathDemands) {
  Totals totals;
  constexpr std::uint64_t kSeeds[] = {1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597, 2584, 4181};
  for (std::uint64_t seed : kSeeds) {
    run_round(seed, 3000, 1800, totals);
    if (totals.cancels >= 100000) break;
  }
  std::string report;
  for (auto& m : totals.messages) report += m + "\n";
  EXPECT_EQ(totals.violations, 0) << report;
  EXPECT_GE(totals.cancels, 100000);
  EXPECT_GT(totals.timeout_errors, 0);
  EXPECT_GT(totals.cancelled_workers, 0);
  std::printf("workers %ld, outside cancels %ld, workers cancelled %ld, TimeoutErrors seen %ld, shielded %ld\n",
              totals.workers, totals.cancels, totals.cancelled_workers, totals.timeout_errors, totals.shielded);
}

}  // namespace
