// asyncio::wait (CPython 3.13 Lib/asyncio/tasks.py wait() and _wait() are the reference;
// Lib/test/test_asyncio/test_tasks.py test_wait*), on the virtual clock.

#include <gtest/gtest.h>

#include <asyncio/flow/wait.hpp>

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
using asyncio::ReturnWhen;
using asyncio::Task;
using asyncio::WaitResult;
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

/// The values of the done tasks, in order (-1 for one that failed or was cancelled).
std::vector<int> values(std::vector<Task<int>>& tasks) {
  std::vector<int> out;
  for (Task<int>& t : tasks) out.push_back(!t.cancelled() && t.exception() == nullptr ? t.result() : -1);
  return out;
}

/// What a test reports: done values, pending count, the time wait() returned.
struct Outcome {
  std::vector<int> done;
  std::size_t pending = 0;
  double at = 0;
};

TEST(Wait, AllCompletedWaitsForEveryFutureAndKeepsTheInputOrder) {
  const Outcome got = run_virtual([]() -> Coro<Outcome> {
    std::vector<Task<int>> tasks{asyncio::create_task(after(1, 1)), asyncio::create_task(after(3, 3)),
                                 asyncio::create_task(after(2, 2))};
    auto [done, pending] = co_await asyncio::wait(tasks);
    co_return Outcome{values(done), pending.size(), now()};
  });
  EXPECT_EQ(got.done, (std::vector<int>{1, 3, 2}));
  EXPECT_EQ(got.pending, 0u);
  EXPECT_EQ(got.at, 3.0);
}

TEST(Wait, FirstCompletedReturnsWhenOneIsDoneAndTheOthersStayPending) {
  const Outcome got = run_virtual([]() -> Coro<Outcome> {
    std::vector<Task<int>> tasks{asyncio::create_task(after(3, 3)), asyncio::create_task(after(1, 1)),
                                 asyncio::create_task(after(2, 2))};
    WaitResult<Task<int>> r = co_await asyncio::wait(tasks, ReturnWhen::first_completed);
    Outcome o{values(r.done), r.pending.size(), now()};
    for (auto& t : r.pending) {
      if (t.cancelled()) o.pending += 100;  // wait() cancels nothing
    }
    co_return o;
  });
  EXPECT_EQ(got.done, (std::vector<int>{1}));
  EXPECT_EQ(got.pending, 2u);
  EXPECT_EQ(got.at, 1.0);
}

TEST(Wait, FirstCompletedCountsAsDoneEverythingDoneWhenTheTaskWakes) {
  const Outcome got = run_virtual([]() -> Coro<Outcome> {
    std::vector<Task<int>> tasks{asyncio::create_task(after(1, 1)), asyncio::create_task(after(1, 2)),
                                 asyncio::create_task(after(5, 5))};
    auto [done, pending] = co_await asyncio::wait(tasks, ReturnWhen::first_completed);
    co_return Outcome{values(done), pending.size(), now()};
  });
  EXPECT_EQ(got.done, (std::vector<int>{1, 2}));
  EXPECT_EQ(got.pending, 1u);
}

TEST(Wait, FirstExceptionReturnsAtTheFirstErrorWithoutRaisingIt) {
  const Outcome got = run_virtual([]() -> Coro<Outcome> {
    std::vector<Task<int>> tasks{asyncio::create_task(after(1, 1)), asyncio::create_task(fail_after(2)),
                                 asyncio::create_task(after(5, 5))};
    auto [done, pending] = co_await asyncio::wait(tasks, ReturnWhen::first_exception);
    co_return Outcome{values(done), pending.size(), now()};
  });
  EXPECT_EQ(got.done, (std::vector<int>{1, -1}));
  EXPECT_EQ(got.pending, 1u);
  EXPECT_EQ(got.at, 2.0);
}

TEST(Wait, FirstExceptionWithoutAnyErrorWaitsForAll) {
  const Outcome got = run_virtual([]() -> Coro<Outcome> {
    std::vector<Task<int>> tasks{asyncio::create_task(after(1, 1)), asyncio::create_task(after(4, 4))};
    auto [done, pending] = co_await asyncio::wait(tasks, ReturnWhen::first_exception);
    co_return Outcome{values(done), pending.size(), now()};
  });
  EXPECT_EQ(got.done, (std::vector<int>{1, 4}));
  EXPECT_EQ(got.at, 4.0);
}

TEST(Wait, FirstExceptionDoesNotStopAtACancellation) {
  const Outcome got = run_virtual([]() -> Coro<Outcome> {
    std::vector<Task<int>> tasks{asyncio::create_task(after(5, 1)), asyncio::create_task(after(3, 3))};
    asyncio::get_running_loop().call_later(1, [t = tasks[0]]() mutable { t.cancel(); });
    auto [done, pending] = co_await asyncio::wait(tasks, ReturnWhen::first_exception);
    co_return Outcome{values(done), pending.size(), now()};
  });
  EXPECT_EQ(got.done, (std::vector<int>{-1, 3}));
  EXPECT_EQ(got.at, 3.0);
}

TEST(Wait, ATimeoutReturnsWithTheRestStillPendingAndCancelsNothing) {
  const auto [waited, later] = run_virtual([]() -> Coro<std::pair<Outcome, double>> {
    std::vector<Task<int>> tasks{asyncio::create_task(after(1, 1)), asyncio::create_task(after(10, 10))};
    auto [done, pending] = co_await asyncio::wait(tasks, ReturnWhen::all_completed, 5.0);
    Outcome o{values(done), pending.size(), now()};
    // Still running after the timeout: it finishes in its own time.
    const int v = co_await pending.at(0);
    co_return std::make_pair(o, now() + v);
  });
  EXPECT_EQ(waited.done, (std::vector<int>{1}));
  EXPECT_EQ(waited.pending, 1u);
  EXPECT_EQ(waited.at, 5.0);
  EXPECT_EQ(later, 20.0);
}

TEST(Wait, TheTimeoutAcceptsAStdChronoDuration) {
  const double at = run_virtual([]() -> Coro<double> {
    std::vector<Task<int>> tasks{asyncio::create_task(after(10, 10))};
    (void)co_await asyncio::wait(tasks, ReturnWhen::first_completed, std::chrono::milliseconds(1500));
    const double t = now();
    tasks[0].cancel();
    co_return t;
  });
  EXPECT_EQ(at, 1.5);
}

TEST(Wait, AnEmptyRangeRaisesValueErrorWhenAwaited) {
  const bool raised = run_virtual([]() -> Coro<bool> {
    std::vector<Task<int>> none;
    auto waiting = asyncio::wait(none);  // Python's wait is a coroutine: nothing is checked yet
    try {
      (void)co_await waiting;
    } catch (const asyncio::ValueError&) {
      co_return true;
    }
    co_return false;
  });
  EXPECT_TRUE(raised);
}

TEST(Wait, FuturesAlreadyDoneAreAllDoneAfterOneLoopIteration) {
  const auto [done, pending] = run_virtual([]() -> Coro<std::pair<std::size_t, std::size_t>> {
    EventLoop& loop = asyncio::get_running_loop();
    std::vector<Future<int>> fs{loop.create_future<int>(), loop.create_future<int>()};
    fs[0].set_result(1);
    fs[1].set_exception(std::runtime_error("done badly"));
    auto r = co_await asyncio::wait(fs, ReturnWhen::first_completed);
    (void)fs[1].exception();  // retrieved
    co_return std::make_pair(r.done.size(), r.pending.size());
  });
  EXPECT_EQ(done, 2u);
  EXPECT_EQ(pending, 0u);
}

TEST(Wait, AHandleGivenTwiceAppearsOnce) {
  const std::size_t n = run_virtual([]() -> Coro<std::size_t> {
    Task<int> t = asyncio::create_task(after(1, 1));
    std::vector<Task<int>> tasks{t, asyncio::create_task(after(2, 2)), t};
    auto [done, pending] = co_await asyncio::wait(tasks);
    co_return done.size() + pending.size();
  });
  EXPECT_EQ(n, 2u);
}

TEST(Wait, AmongManyHandlesEachFutureAppearsOnceWhereItFirstAppeared) {
  const std::vector<int> got = run_virtual([]() -> Coro<std::vector<int>> {
    std::vector<Task<int>> distinct;
    for (int i = 0; i < 20; ++i) distinct.push_back(asyncio::create_task(after(1, i)));
    std::vector<Task<int>> tasks;
    for (int i = 0; i < 60; ++i) tasks.push_back(distinct[(i * 7) % 20]);  // each one three times
    auto [done, pending] = co_await asyncio::wait(tasks);
    co_return values(done);
  });
  std::vector<int> expected;
  for (int i = 0; i < 20; ++i) expected.push_back((i * 7) % 20);
  EXPECT_EQ(got, expected);
}

TEST(Wait, TasksAndFuturesMixInARangeOfAnyFuture) {
  const auto [done, pending] = run_virtual([]() -> Coro<std::pair<std::size_t, std::size_t>> {
    EventLoop& loop = asyncio::get_running_loop();
    Future<std::string> f = loop.create_future<std::string>();
    loop.call_later(2, [f]() mutable { f.set_result("late"); });
    Task<int> t = asyncio::create_task(after(1, 1));
    std::vector<AnyFuture> all{t, f};
    auto r = co_await asyncio::wait(all, ReturnWhen::first_completed);
    const std::pair<std::size_t, std::size_t> sizes{r.done.size(), r.pending.size()};
    co_await f;
    co_return sizes;
  });
  EXPECT_EQ(done, 1u);
  EXPECT_EQ(pending, 1u);
}

TEST(Wait, CancellingTheWaitingTaskCancelsNoneOfTheFutures) {
  const auto [waiter_cancelled, futures_cancelled, value] = run_virtual([]() -> Coro<std::tuple<bool, bool, int>> {
    EventLoop& loop = asyncio::get_running_loop();
    Future<int> f = loop.create_future<int>();
    Task<int> t = asyncio::create_task(after(5, 5));
    Task<void> waiter = asyncio::create_task([f, t]() -> Coro<void> {
      std::vector<AnyFuture> all{f, t};
      (void)co_await asyncio::wait(all);
    });
    co_await asyncio::sleep(1);
    waiter.cancel();
    try {
      co_await waiter;
    } catch (const CancelledError&) {
    }
    const bool any_cancelled = f.cancelled() || t.cancelled();
    f.set_result(1);  // its callback was removed: nothing left to wake
    const int v = co_await t;
    co_return std::make_tuple(waiter.cancelled(), any_cancelled, v + f.result());
  });
  EXPECT_TRUE(waiter_cancelled);
  EXPECT_FALSE(futures_cancelled);
  EXPECT_EQ(value, 6);
}

TEST(Wait, ErrorsOfTheFuturesAreNotRaisedByWait) {
  const bool failed = run_virtual([]() -> Coro<bool> {
    std::vector<Task<int>> tasks{asyncio::create_task(fail_after(1))};
    auto [done, pending] = co_await asyncio::wait(tasks);
    co_return done.at(0).exception() != nullptr;
  });
  EXPECT_TRUE(failed);
}

}  // namespace
