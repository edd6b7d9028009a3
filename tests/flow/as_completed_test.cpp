// asyncio::as_completed (CPython 3.13 Lib/asyncio/tasks.py as_completed() and
// _AsCompletedIterator are the reference; Lib/test/test_asyncio/test_tasks.py test_as_completed*),
// on the virtual clock.

#include <gtest/gtest.h>

#include <asyncio/flow/as_completed.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/test_support.hpp"

namespace {

using asyncio::AnyFuture;
using asyncio::CancelledError;
using asyncio::Coro;
using asyncio::EventLoop;
using asyncio::Future;
using asyncio::Task;
using asyncio::testing::run_virtual;

double now() { return asyncio::get_running_loop().time(); }

Coro<int> after(double seconds, int value) {
  co_await asyncio::sleep(seconds);
  co_return value;
}

Coro<int> fail_after(double seconds) {
  co_await asyncio::sleep(seconds);
  throw std::runtime_error("boom");
}

TEST(AsCompleted, HandsBackTheOriginalTasksInTheOrderTheyComplete) {
  const auto [positions, times] = run_virtual([]() -> Coro<std::pair<std::vector<int>, std::vector<double>>> {
    std::vector<Task<int>> tasks{asyncio::create_task(after(3, 0)), asyncio::create_task(after(1, 1)),
                                 asyncio::create_task(after(2, 2))};
    std::vector<int> positions;
    std::vector<double> times;
    auto ac = asyncio::as_completed(tasks);
    while (!ac.done()) {
      Task<int> t = co_await ac.next();
      for (int i = 0; i < 3; ++i) {
        if (t == tasks[i]) positions.push_back(i);  // the very task, not a copy of its result
      }
      times.push_back(now());
    }
    co_return std::make_pair(positions, times);
  });
  EXPECT_EQ(positions, (std::vector<int>{1, 2, 0}));
  EXPECT_EQ(times, (std::vector<double>{1, 2, 3}));
}

TEST(AsCompleted, CorosAreWrappedInTasks) {
  const std::vector<int> got = run_virtual([]() -> Coro<std::vector<int>> {
    std::vector<Coro<int>> coros;
    coros.push_back(after(2, 20));
    coros.push_back(after(1, 10));
    std::vector<int> got;
    auto ac = asyncio::as_completed(coros);
    while (!ac.done()) {
      Task<int> t = co_await ac.next();
      got.push_back(t.result());
    }
    co_return got;
  });
  EXPECT_EQ(got, (std::vector<int>{10, 20}));
}

TEST(AsCompleted, AiterYieldsTheTasksInTheOrderTheyCompleteAsAnAsyncGenerator) {
  const std::vector<int> got = run_virtual([]() -> Coro<std::vector<int>> {
    std::vector<Task<int>> tasks{asyncio::create_task(after(3, 30)), asyncio::create_task(after(1, 10)),
                                 asyncio::create_task(after(2, 20))};
    std::vector<int> got;
    auto each = asyncio::as_completed(tasks).aiter();
    while (std::optional<Task<int>> t = co_await each.next()) got.push_back(t->result());
    co_return got;
  });
  EXPECT_EQ(got, (std::vector<int>{10, 20, 30}));
}

TEST(AsCompleted, NextAfterEveryFutureWasHandedOutRaisesStopAsyncIteration) {
  const bool raised = run_virtual([]() -> Coro<bool> {
    std::vector<Task<int>> tasks{asyncio::create_task(after(1, 1))};
    auto ac = asyncio::as_completed(tasks);
    (void)co_await ac.next();
    EXPECT_TRUE(ac.done());
    try {
      (void)co_await ac.next();
    } catch (const asyncio::StopAsyncIteration&) {
      co_return true;
    }
    co_return false;
  });
  EXPECT_TRUE(raised);
}

TEST(AsCompleted, AnEmptyRangeIsDoneAtOnce) {
  const bool done = run_virtual([]() -> Coro<bool> {
    std::vector<Task<int>> none;
    co_return asyncio::as_completed(none, 1.0).done();
  });
  EXPECT_TRUE(done);
}

TEST(AsCompleted, ATimeoutRaisesTimeoutErrorForEveryNextStillToComeAndCancelsNothing) {
  struct Seen {
    int first = 0;
    int timeouts = 0;
    double at = 0;
    bool done = false;
    bool cancelled = true;
  };
  const Seen seen = run_virtual([]() -> Coro<Seen> {
    std::vector<Task<int>> tasks{asyncio::create_task(after(1, 1)), asyncio::create_task(after(10, 2)),
                                 asyncio::create_task(after(10, 3))};
    Seen s;
    auto ac = asyncio::as_completed(tasks, 5.0);
    s.first = (co_await ac.next()).result();
    while (!ac.done()) {
      try {
        (void)co_await ac.next();
      } catch (const asyncio::TimeoutError&) {
        ++s.timeouts;
        s.at = now();
      }
    }
    s.done = ac.done();
    s.cancelled = tasks[1].cancelled() || tasks[2].cancelled();
    co_await tasks[1];  // still running: they finish in their own time
    co_await tasks[2];
    co_return s;
  });
  EXPECT_EQ(seen.first, 1);
  EXPECT_EQ(seen.timeouts, 2);
  EXPECT_EQ(seen.at, 5.0);
  EXPECT_TRUE(seen.done);
  EXPECT_FALSE(seen.cancelled);
}

TEST(AsCompleted, TheTimeoutAcceptsAStdChronoDuration) {
  const double at = run_virtual([]() -> Coro<double> {
    std::vector<Task<int>> tasks{asyncio::create_task(after(10, 1))};
    auto ac = asyncio::as_completed(tasks, std::chrono::milliseconds(2500));
    try {
      (void)co_await ac.next();
    } catch (const asyncio::TimeoutError&) {
    }
    const double t = now();
    tasks[0].cancel();
    co_return t;
  });
  EXPECT_EQ(at, 2.5);
}

TEST(AsCompleted, FuturesAlreadyDoneAreHandedBackAfterOneIterationInInputOrder) {
  const std::vector<int> got = run_virtual([]() -> Coro<std::vector<int>> {
    EventLoop& loop = asyncio::get_running_loop();
    std::vector<Future<int>> fs{loop.create_future<int>(), loop.create_future<int>()};
    fs[0].set_result(1);
    fs[1].set_result(2);
    std::vector<int> got;
    auto ac = asyncio::as_completed(fs);
    while (!ac.done()) got.push_back((co_await ac.next()).result());
    co_return got;
  });
  EXPECT_EQ(got, (std::vector<int>{1, 2}));
}

TEST(AsCompleted, AFutureGivenTwiceIsHandedBackOnce) {
  const int n = run_virtual([]() -> Coro<int> {
    Task<int> t = asyncio::create_task(after(1, 1));
    std::vector<Task<int>> tasks{t, t};
    int n = 0;
    auto ac = asyncio::as_completed(tasks);
    while (!ac.done()) {
      (void)co_await ac.next();
      ++n;
    }
    co_return n;
  });
  EXPECT_EQ(n, 1);
}

TEST(AsCompleted, TasksAndFuturesMixInARangeOfAnyFuture) {
  const std::vector<bool> got = run_virtual([]() -> Coro<std::vector<bool>> {
    EventLoop& loop = asyncio::get_running_loop();
    Future<std::string> f = loop.create_future<std::string>();
    loop.call_later(1, [f]() mutable { f.set_result("first"); });
    Task<int> t = asyncio::create_task(after(2, 2));
    std::vector<AnyFuture> all{t, f};
    std::vector<bool> is_future;
    auto ac = asyncio::as_completed(all);
    while (!ac.done()) {
      AnyFuture next = co_await ac.next();
      is_future.push_back(next == AnyFuture(f));
    }
    co_return is_future;
  });
  EXPECT_EQ(got, (std::vector<bool>{true, false}));
}

TEST(AsCompleted, NextHandsBackAFailedTaskWithoutRaisingItsError) {
  const bool failed = run_virtual([]() -> Coro<bool> {
    std::vector<Task<int>> tasks{asyncio::create_task(fail_after(1))};
    auto ac = asyncio::as_completed(tasks);
    Task<int> t = co_await ac.next();
    co_return t.exception() != nullptr;
  });
  EXPECT_TRUE(failed);
}

TEST(AsCompleted, DroppingTheIteratorEarlyLeavesTheOtherTasksRunning) {
  const int total = run_virtual([]() -> Coro<int> {
    std::vector<Task<int>> tasks{asyncio::create_task(after(1, 1)), asyncio::create_task(after(2, 2)),
                                 asyncio::create_task(after(3, 3))};
    int first = 0;
    {
      auto ac = asyncio::as_completed(tasks, 10.0);
      first = (co_await ac.next()).result();
    }  // its callbacks are unlinked and its timer cancelled
    co_await asyncio::sleep(5);
    co_return first + tasks[1].result() + tasks[2].result();
  });
  EXPECT_EQ(total, 6);
}

TEST(AsCompleted, ANextCancelledWhileWaitingUsesUpItsTurnButLosesNoFuture) {
  // As Python's __anext__: the turn is taken before waiting, and the queue keeps the future for
  // the next caller.
  const auto [got, done] = run_virtual([]() -> Coro<std::pair<int, bool>> {
    EventLoop& loop = asyncio::get_running_loop();
    std::vector<Future<int>> fs{loop.create_future<int>(), loop.create_future<int>()};
    auto ac = asyncio::as_completed(fs);
    Task<Future<int>> taker = asyncio::create_task(ac.next());
    co_await asyncio::sleep(1);
    taker.cancel();
    try {
      (void)co_await taker;
    } catch (const CancelledError&) {
    }
    fs[0].set_result(7);
    Future<int> next = co_await ac.next();
    const bool done = ac.done();
    fs[1].set_result(8);
    co_return std::make_pair(next.result(), done);
  });
  EXPECT_EQ(got, 7);
  EXPECT_TRUE(done);
}

TEST(AsCompleted, AFutureOfAnotherLoopRaisesValueError) {
  EventLoop other(asyncio::testing::virtual_clock());
  Future<int> foreign = other.create_future<int>();
  const bool raised = run_virtual([foreign]() -> Coro<bool> {
    std::vector<Future<int>> fs{foreign};
    try {
      (void)asyncio::as_completed(fs);
    } catch (const asyncio::ValueError&) {
      co_return true;
    }
    co_return false;
  });
  EXPECT_TRUE(raised);
}

}  // namespace
