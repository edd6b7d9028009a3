// asyncio::sleep (CPython 3.13 Lib/asyncio/tasks.py sleep() is the reference), on the virtual clock.

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "support/test_support.hpp"

namespace {

using asyncio::CancelledError;
using asyncio::Coro;
using asyncio::EventLoop;
using asyncio::Task;
using asyncio::testing::run_virtual;

double now() { return asyncio::get_running_loop().time(); }

Coro<double> nap(double seconds) {
  co_await asyncio::sleep(seconds);
  co_return now();
}

TEST(Sleep, SleepOnTheVirtualClockReturnsWithTheTimeAdvancedByTheDelay) {
  const double t = run_virtual([]() -> Coro<double> {
    co_await asyncio::sleep(3600);
    co_return now();
  });
  EXPECT_EQ(t, 3600.0);
}

TEST(Sleep, SleepOfFractionalSecondsIsExactOnTheVirtualClock) {
  const double t = run_virtual([]() -> Coro<double> {
    co_await asyncio::sleep(0.25);
    co_await asyncio::sleep(0.5);
    co_return now();
  });
  EXPECT_EQ(t, 0.75);
}

TEST(Sleep, SleepAcceptsAStdChronoDuration) {
  const double t = run_virtual([]() -> Coro<double> {
    co_await asyncio::sleep(std::chrono::milliseconds(1500));
    co_return now();
  });
  EXPECT_EQ(t, 1.5);
}

TEST(Sleep, SleepAcceptsCoarseStdChronoDurations) {
  const double t = run_virtual([]() -> Coro<double> {
    co_await asyncio::sleep(std::chrono::minutes(2));
    co_await asyncio::sleep(std::chrono::microseconds(250));
    co_return now();
  });
  EXPECT_DOUBLE_EQ(t, 120.00025);
}

TEST(Sleep, SleepWithAResultReturnsTheResult) {
  const int v = run_virtual([]() -> Coro<int> {
    const int r = co_await asyncio::sleep(1.0, 42);
    EXPECT_EQ(now(), 1.0);
    co_return r;
  });
  EXPECT_EQ(v, 42);
}

TEST(Sleep, SleepWithAResultMovesAMoveOnlyResultThrough) {
  const int v = run_virtual([]() -> Coro<int> {
    std::unique_ptr<int> p = co_await asyncio::sleep(2.0, std::make_unique<int>(5));
    co_return p ? *p : -1;
  });
  EXPECT_EQ(v, 5);
}

TEST(Sleep, SleepZeroLetsOtherReadyTasksRunFirst) {
  const std::vector<std::string> order = run_virtual([]() -> Coro<std::vector<std::string>> {
    std::vector<std::string> order;
    auto player = [&order](std::string name) -> Coro<void> {
      for (int i = 0; i < 3; ++i) {
        order.push_back(name + std::to_string(i));
        co_await asyncio::sleep(0);
      }
    };
    Task<void> a = asyncio::create_task(player("A"));
    Task<void> b = asyncio::create_task(player("B"));
    co_await a;
    co_await b;
    EXPECT_EQ(now(), 0.0);
    co_return order;
  });
  EXPECT_EQ(order, (std::vector<std::string>{"A0", "B0", "A1", "B1", "A2", "B2"}));
}

TEST(Sleep, SleepZeroLetsReadyCallbacksRunFirst) {
  const std::vector<std::string> order = run_virtual([]() -> Coro<std::vector<std::string>> {
    std::vector<std::string> order;
    asyncio::get_running_loop().call_soon([&order] { order.emplace_back("callback"); });
    order.emplace_back("before sleep(0)");
    co_await asyncio::sleep(0);
    order.emplace_back("after sleep(0)");
    co_return order;
  });
  EXPECT_EQ(order, (std::vector<std::string>{"before sleep(0)", "callback", "after sleep(0)"}));
}

TEST(Sleep, SleepZeroDoesNotAdvanceTheClockPastPendingTimers) {
  const double t = run_virtual([]() -> Coro<double> {
    bool fired = false;
    asyncio::get_running_loop().call_later(10, [&fired] { fired = true; });
    co_await asyncio::sleep(0);
    EXPECT_FALSE(fired);
    co_return now();
  });
  EXPECT_EQ(t, 0.0);
}

TEST(Sleep, NegativeDelayBehavesAsSleepZero) {
  const std::vector<std::string> order = run_virtual([]() -> Coro<std::vector<std::string>> {
    std::vector<std::string> order;
    Task<void> a = asyncio::create_task([&order]() -> Coro<void> {
      order.emplace_back("A before");
      co_await asyncio::sleep(-5);
      order.emplace_back("A after");
    });
    Task<void> b = asyncio::create_task([&order]() -> Coro<void> {
      order.emplace_back("B");
      co_return;
    });
    co_await a;
    co_await b;
    EXPECT_EQ(now(), 0.0);
    co_return order;
  });
  EXPECT_EQ(order, (std::vector<std::string>{"A before", "B", "A after"}));
}

TEST(Sleep, NegativeChronoDurationBehavesAsSleepZero) {
  const double t = run_virtual([]() -> Coro<double> {
    co_await asyncio::sleep(std::chrono::seconds(-3));
    co_return now();
  });
  EXPECT_EQ(t, 0.0);
}

TEST(Sleep, NanDelayIsValueError) {
  const bool raised = run_virtual([]() -> Coro<bool> {
    try {
      co_await asyncio::sleep(std::nan(""));
    } catch (const asyncio::ValueError&) {
      co_return true;
    }
    co_return false;
  });
  EXPECT_TRUE(raised);
}

TEST(Sleep, SleepingTaskThatIsCancelledWakesAtOnceWithCancelledError) {
  run_virtual([]() -> Coro<void> {
    double woke_at = -1;
    bool saw_cancel = false;
    Task<void> sleeper = asyncio::create_task([&]() -> Coro<void> {
      try {
        co_await asyncio::sleep(3600);
      } catch (const CancelledError&) {
        saw_cancel = true;
        woke_at = now();
        throw;
      }
    });
    co_await asyncio::sleep(1);
    EXPECT_TRUE(sleeper.cancel());
    EXPECT_THROW(co_await sleeper, CancelledError);
    EXPECT_TRUE(saw_cancel);
    EXPECT_EQ(woke_at, 1.0);
    EXPECT_EQ(now(), 1.0);
    EXPECT_TRUE(sleeper.cancelled());
  });
  SUCCEED();
}

TEST(Sleep, CancelledSleepCarriesTheCancelMessage) {
  const std::string what = run_virtual([]() -> Coro<std::string> {
    std::string seen;
    Task<void> sleeper = asyncio::create_task([&seen]() -> Coro<void> {
      try {
        co_await asyncio::sleep(50);
      } catch (const CancelledError& e) {
        seen = e.what();
        throw;
      }
    });
    co_await asyncio::sleep(0);
    sleeper.cancel("wake up");
    try {
      co_await sleeper;
    } catch (const CancelledError&) {
    }
    co_return seen;
  });
  EXPECT_EQ(what, "wake up");
}

TEST(Sleep, TaskThatCatchesTheCancellationOfItsSleepCanSleepAgain) {
  const double t = run_virtual([]() -> Coro<double> {
    Task<double> sleeper = asyncio::create_task([]() -> Coro<double> {
      try {
        co_await asyncio::sleep(100);
      } catch (const CancelledError&) {
      }
      co_await asyncio::sleep(5);
      co_return now();
    });
    co_await asyncio::sleep(2);
    sleeper.cancel();
    co_return co_await sleeper;
  });
  EXPECT_EQ(t, 7.0);
}

TEST(Sleep, SleepForeverCanBeCancelled) {
  const double t = run_virtual([]() -> Coro<double> {
    Task<void> sleeper =
        asyncio::create_task([]() -> Coro<void> { co_await asyncio::sleep(std::numeric_limits<double>::infinity()); });
    co_await asyncio::sleep(1);
    sleeper.cancel();
    try {
      co_await sleeper;
    } catch (const CancelledError&) {
    }
    co_return now();
  });
  EXPECT_EQ(t, 1.0);
}

TEST(Sleep, SleepOfTheLargestChronoDurationLastsUntilCancelled) {
  const bool slept = run_virtual([]() -> Coro<bool> {
    Task<void> sleeper =
        asyncio::create_task([]() -> Coro<void> { co_await asyncio::sleep(std::chrono::hours::max()); });
    co_await asyncio::sleep(1);
    const bool still_asleep = !sleeper.done();
    sleeper.cancel();
    try {
      co_await sleeper;
    } catch (const CancelledError&) {
    }
    co_return still_asleep;
  });
  EXPECT_TRUE(slept);
}

TEST(Sleep, SleepsOfSeveralTasksEndInDeadlineOrder) {
  const std::vector<std::pair<int, double>> ends = run_virtual([]() -> Coro<std::vector<std::pair<int, double>>> {
    std::vector<std::pair<int, double>> ends;
    std::vector<Task<void>> tasks;
    for (int delay : {3, 1, 2}) {
      tasks.push_back(asyncio::create_task([&ends, delay]() -> Coro<void> {
        co_await asyncio::sleep(delay);
        ends.emplace_back(delay, now());
      }));
    }
    for (Task<void>& t : tasks) co_await t;
    co_return ends;
  });
  EXPECT_EQ(ends, (std::vector<std::pair<int, double>>{{1, 1.0}, {2, 2.0}, {3, 3.0}}));
}

TEST(Sleep, SleepsWithTheSameDeadlineEndInTheOrderTheyStarted) {
  const std::vector<int> order = run_virtual([]() -> Coro<std::vector<int>> {
    std::vector<int> order;
    std::vector<Task<void>> tasks;
    for (int i = 0; i < 5; ++i) {
      tasks.push_back(asyncio::create_task([&order, i]() -> Coro<void> {
        co_await asyncio::sleep(1);
        order.push_back(i);
      }));
    }
    for (Task<void>& t : tasks) co_await t;
    co_return order;
  });
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(Sleep, SleepInANestedCoroutineSuspendsTheWholeTask) {
  const double t = run_virtual([]() -> Coro<double> {
    const double inner = co_await nap(4);
    EXPECT_EQ(inner, 4.0);
    co_return co_await nap(1);
  });
  EXPECT_EQ(t, 5.0);
}

TEST(Sleep, ConcurrentSleepsOverlapInsteadOfAddingUp) {
  const double t = run_virtual([]() -> Coro<double> {
    Task<double> a = asyncio::create_task(nap(10));
    Task<double> b = asyncio::create_task(nap(10));
    co_await a;
    co_await b;
    co_return now();
  });
  EXPECT_EQ(t, 10.0);
}

}  // namespace
