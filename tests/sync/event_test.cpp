// asyncio::Event (CPython 3.13 Lib/asyncio/locks.py Event and test_locks.py EventTests are the
// reference), on the virtual clock.

#include <gtest/gtest.h>
#include <asyncio/flow/wait_for.hpp>
#include <asyncio/sync/event.hpp>

#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "support/test_support.hpp"

namespace {

using asyncio::CancelledError;
using asyncio::Coro;
using asyncio::create_task;
using asyncio::Event;
using asyncio::EventLoop;
using asyncio::RuntimeError;
using asyncio::sleep;
using asyncio::Task;

using asyncio::testing::run_virtual_watched;

TEST(Event, ANewEventIsNotSet) {
  Event ev;
  EXPECT_FALSE(ev.is_set());
}

TEST(Event, SetSetsTheFlagAndClearClearsIt) {
  // CPython's test_clear.
  Event ev;
  ev.set();
  EXPECT_TRUE(ev.is_set());
  ev.clear();
  EXPECT_FALSE(ev.is_set());
}

TEST(Event, WaitOnASetEventReturnsTrueWithoutSuspending) {
  // CPython's test_wait_on_set.
  run_virtual_watched([]() -> Coro<void> {
    Event ev;
    ev.set();
    const auto iterations = asyncio::get_running_loop().stats().iterations;
    EXPECT_TRUE(co_await ev.wait());
    EXPECT_EQ(asyncio::get_running_loop().stats().iterations, iterations);
  });
}

TEST(Event, SetWakesEveryWaiterAndEachWaitReturnsTrue) {
  // CPython's test_wait: t3 was created before set() but had not run, so it passes first.
  run_virtual_watched([]() -> Coro<void> {
    Event ev;
    std::vector<int> result;
    auto c = [&](int id) {
      return create_task([&ev, &result, id]() -> Coro<bool> {
        const bool r = co_await ev.wait();
        if (r) result.push_back(id);
        co_return r;
      });
    };
    Task<bool> t1 = c(1);
    Task<bool> t2 = c(2);
    co_await sleep(0);
    EXPECT_TRUE(result.empty());
    Task<bool> t3 = c(3);
    ev.set();
    co_await sleep(0);
    EXPECT_EQ(result, (std::vector<int>{3, 1, 2}));
    EXPECT_TRUE(t1.done() && t2.done() && t3.done());
    EXPECT_TRUE(t1.result() && t2.result() && t3.result());
  });
}

TEST(Event, WaitersWakeInTheOrderTheyStartedWaiting) {
  const std::vector<int> order = run_virtual_watched([]() -> Coro<std::vector<int>> {
    Event ev;
    std::vector<int> order;
    std::vector<Task<void>> tasks;
    for (int id = 0; id < 20; ++id) {
      tasks.push_back(create_task([&ev, &order, id]() -> Coro<void> {
        co_await sleep(0.01 * (20 - id));  // start waiting in reverse creation order
        co_await ev.wait();
        order.push_back(id);
      }));
    }
    co_await sleep(1);
    EXPECT_EQ(ev.waiter_count(), 20u);
    ev.set();
    for (auto& t : tasks) co_await t;
    co_return order;
  });
  std::vector<int> expected;
  for (int id = 19; id >= 0; --id) expected.push_back(id);
  EXPECT_EQ(order, expected);
}

TEST(Event, ClearRightAfterSetDoesNotTakeBackTheWakeUp) {
  // CPython's test_clear_with_waiters.
  run_virtual_watched([]() -> Coro<void> {
    Event ev;
    std::vector<int> result;
    auto t = create_task([&]() -> Coro<bool> {
      if (co_await ev.wait()) result.push_back(1);
      co_return true;
    });
    co_await sleep(0);
    EXPECT_TRUE(result.empty());

    ev.set();
    ev.clear();
    EXPECT_FALSE(ev.is_set());
    ev.set();
    ev.set();
    EXPECT_EQ(ev.waiter_count(), 1u);

    co_await sleep(0);
    EXPECT_EQ(result, (std::vector<int>{1}));
    EXPECT_EQ(ev.waiter_count(), 0u);
    EXPECT_TRUE(t.done() && t.result());
  });
}

TEST(Event, WaitAfterClearBlocksUntilTheNextSet) {
  run_virtual_watched([]() -> Coro<void> {
    Event ev;
    ev.set();
    ev.clear();
    auto t = create_task([&ev]() -> Coro<double> {
      co_await ev.wait();
      co_return asyncio::get_running_loop().time();
    });
    co_await sleep(5);
    EXPECT_FALSE(t.done());
    ev.set();
    EXPECT_EQ(co_await t, 5.0);
  });
}

TEST(Event, ACancelledWaiterLeavesTheQueueAndRaisesCancelledError) {
  // CPython's test_wait_cancel.
  run_virtual_watched([]() -> Coro<void> {
    Event ev;
    auto wait = create_task([&ev]() -> Coro<bool> { co_return co_await ev.wait(); });
    asyncio::get_running_loop().call_soon([wait]() mutable { wait.cancel(); });
    EXPECT_THROW(co_await wait, CancelledError);
    EXPECT_EQ(ev.waiter_count(), 0u);
  });
}

TEST(Event, ACancelledWaiterDoesNotKeepTheOthersFromWaking) {
  run_virtual_watched([]() -> Coro<void> {
    Event ev;
    int woken = 0;
    std::vector<Task<void>> tasks;
    for (int i = 0; i < 3; ++i) {
      tasks.push_back(create_task([&]() -> Coro<void> {
        co_await ev.wait();
        ++woken;
      }));
    }
    co_await sleep(0);
    tasks[1].cancel();
    ev.set();  // in the same iteration as the cancel
    co_await tasks[0];
    EXPECT_THROW(co_await tasks[1], CancelledError);
    co_await tasks[2];
    EXPECT_EQ(woken, 2);
    EXPECT_EQ(ev.waiter_count(), 0u);
  });
}

TEST(Event, AWaiterCancelledAfterSetRaisesCancelledErrorAndTheOthersStillReturn) {
  run_virtual_watched([]() -> Coro<void> {
    Event ev;
    auto a = create_task([&ev]() -> Coro<bool> { co_return co_await ev.wait(); });
    auto b = create_task([&ev]() -> Coro<bool> { co_return co_await ev.wait(); });
    co_await sleep(0);
    ev.set();
    a.cancel();  // a's future is already done: the cancellation is thrown at its co_await
    EXPECT_THROW(co_await a, CancelledError);
    EXPECT_TRUE(co_await b);
    EXPECT_TRUE(ev.is_set());
  });
}

TEST(Event, WaitingOnAnEventBoundToAnotherLoopRaisesRuntimeError) {
  EventLoop loop1(asyncio::testing::virtual_clock());
  EventLoop loop2(asyncio::testing::virtual_clock());
  Event ev;
  loop1.run_until_complete([&]() -> Coro<void> {
    auto t = create_task([&ev]() -> Coro<void> { co_await ev.wait(); });  // binds loop1
    co_await sleep(0);
    ev.set();
    co_await t;
  });
  ev.clear();
  EXPECT_THROW(loop2.run_until_complete([&]() -> Coro<void> { co_await ev.wait(); }), RuntimeError);
  EXPECT_EQ(ev.waiter_count(), 0u);
}

TEST(Event, ReprShowsTheFlagAndTheNumberOfWaiters) {
  run_virtual_watched([]() -> Coro<void> {
    Event ev;
    EXPECT_NE(ev.repr().find("[unset]>"), std::string::npos) << ev.repr();
    auto t = create_task([&ev]() -> Coro<void> { co_await ev.wait(); });
    co_await sleep(0);
    EXPECT_NE(ev.repr().find("[unset, waiters:1]>"), std::string::npos) << ev.repr();
    ev.set();
    co_await t;
    EXPECT_NE(ev.repr().find("[set]>"), std::string::npos) << ev.repr();
  });
}

}  // namespace

namespace {

TEST(Event, WaitForOnEventWaitRaisesTimeoutErrorAndLeavesNoWaiter) {
  // Python's `await asyncio.wait_for(event.wait(), 1.0)` on an event nobody sets.
  run_virtual_watched([]() -> Coro<void> {
    Event ev;
    EventLoop& loop = asyncio::get_running_loop();
    EXPECT_THROW(co_await asyncio::wait_for(ev.wait(), 1.0), asyncio::TimeoutError);
    EXPECT_DOUBLE_EQ(loop.time(), 1.0);
    EXPECT_EQ(ev.waiter_count(), 0u);
  });
}

TEST(Event, WaitForOnEventWaitReturnsTrueWhenSetInTime) {
  run_virtual_watched([]() -> Coro<void> {
    Event ev;
    EventLoop& loop = asyncio::get_running_loop();
    loop.call_later(0.5, [&ev] { ev.set(); });
    EXPECT_TRUE(co_await asyncio::wait_for(ev.wait(), 1.0));
    EXPECT_DOUBLE_EQ(loop.time(), 0.5);
  });
}

TEST(Event, CreateTaskTakesEventWaitAsItsCoroutine) {
  run_virtual_watched([]() -> Coro<void> {
    Event ev;
    Task<bool> waiter = create_task(ev.wait());
    co_await sleep(0);
    EXPECT_FALSE(waiter.done());
    ev.set();
    EXPECT_TRUE(co_await waiter);
  });
}

}  // namespace
