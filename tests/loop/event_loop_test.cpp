// EventLoop: scheduling with call_soon, the iteration boundary of run_once, running, stopping and
// closing. Reference: CPython 3.13 Lib/asyncio/base_events.py.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "support/test_support.hpp"

using asyncio::EventLoop;
using asyncio::RuntimeError;
using asyncio::testing::virtual_clock;

namespace {

// A loop on the virtual clock with debug off (independent of ASYNCIO_DEBUG).
struct Loop : EventLoop {
  Loop() : EventLoop(virtual_clock()) {}
};

}  // namespace

// --- call_soon ------------------------------------------------------------------------------------

TEST(EventLoop, CallSoonRunsCallbacksInFifoOrder) {
  Loop loop;
  std::vector<int> order;
  for (int i = 0; i < 10; ++i) loop.call_soon([&order, i] { order.push_back(i); });
  loop.run_once();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(EventLoop, CallSoonOrderIsKeptWhenTheReadyQueueGrowsPastItsInitialCapacity) {
  Loop loop;
  std::vector<int> order;
  constexpr int kCount = 5000;
  for (int i = 0; i < kCount; ++i) loop.call_soon([&order, i] { order.push_back(i); });
  loop.run_once();
  ASSERT_EQ(order.size(), static_cast<std::size_t>(kCount));
  for (int i = 0; i < kCount; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
}

TEST(EventLoop, CallbackScheduledWhileTheReadyQueueRunsWaitsForTheNextIteration) {
  Loop loop;
  std::vector<std::string> order;
  loop.call_soon([&] {
    order.push_back("a");
    loop.call_soon([&] { order.push_back("c"); });
  });
  loop.call_soon([&] { order.push_back("b"); });

  loop.run_once();
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b"}));
  loop.run_once();
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(EventLoop, CallSoonPassesItsArgumentsToTheCallback) {
  Loop loop;
  int got_int = 0;
  std::string got_text;
  loop.call_soon(
      [&](int n, const std::string& text) {
        got_int = n;
        got_text = text;
      },
      42, std::string("hello"));
  loop.run_once();
  EXPECT_EQ(got_int, 42);
  EXPECT_EQ(got_text, "hello");
}

TEST(EventLoop, CallSoonArgumentsAreCopiedWhenScheduled) {
  Loop loop;
  std::string text = "before";
  std::string seen;
  loop.call_soon([&seen](const std::string& s) { seen = s; }, text);
  text = "after";
  loop.run_once();
  EXPECT_EQ(seen, "before");
}

TEST(EventLoop, CallLaterZeroMadeBeforeCallSoonRunsAfterIt) {
  // asyncio: the timer is moved to the ready queue after the callbacks already there.
  Loop loop;
  std::vector<std::string> order;
  loop.call_later(0, [&] { order.push_back("a"); });
  loop.call_soon([&] { order.push_back("b"); });
  loop.run_once();
  EXPECT_EQ(order, (std::vector<std::string>{"b", "a"}));
}

TEST(EventLoop, CallLaterZeroMadeBeforeCallSoonRunsAfterItOnTheMonotonicClock) {
  EventLoop loop(asyncio::LoopOptions{.debug = false});
  std::vector<std::string> order;
  loop.call_later(0, [&] { order.push_back("a"); });
  loop.call_soon([&] { order.push_back("b"); });
  loop.run_once();
  EXPECT_EQ(order, (std::vector<std::string>{"b", "a"}));
}

// --- run_forever and stop -------------------------------------------------------------------------

TEST(EventLoop, StopMakesRunForeverReturnAfterTheCurrentIteration) {
  Loop loop;
  std::vector<std::string> order;
  loop.call_soon([&] {
    order.push_back("stopper");
    loop.stop();
    loop.call_soon([&] { order.push_back("next iteration"); });
  });
  loop.call_soon([&] { order.push_back("same iteration"); });
  loop.run_forever();
  EXPECT_EQ(order, (std::vector<std::string>{"stopper", "same iteration"}));
  EXPECT_FALSE(loop.is_running());
}

TEST(EventLoop, CallbacksLeftByStopRunInTheNextRunForever) {
  Loop loop;
  int runs = 0;
  loop.call_soon([&] {
    loop.stop();
    loop.call_soon([&] {
      ++runs;
      loop.stop();
    });
  });
  loop.run_forever();
  EXPECT_EQ(runs, 0);
  loop.run_forever();
  EXPECT_EQ(runs, 1);
}

TEST(EventLoop, StopBeforeRunForeverMakesItRunOneIteration) {
  Loop loop;
  std::vector<std::string> order;
  loop.call_soon([&] {
    order.push_back("first");
    loop.call_soon([&] { order.push_back("second"); });
  });
  loop.stop();
  loop.run_forever();
  EXPECT_EQ(order, (std::vector<std::string>{"first"}));
  EXPECT_EQ(loop.stats().iterations, 1u);
}

TEST(EventLoop, StopBeforeRunForeverOnAnIdleLoopReturnsWithoutWaiting) {
  // Nothing is scheduled: without the stop the poll would wait forever.
  EventLoop loop(asyncio::LoopOptions{.debug = false});
  loop.stop();
  loop.run_forever();
  EXPECT_EQ(loop.stats().iterations, 1u);
}

TEST(EventLoop, StopIsForgottenOnceRunForeverReturns) {
  Loop loop;
  loop.stop();
  loop.run_forever();
  int later_iteration_runs = 0;
  loop.call_soon([&] {
    loop.call_soon([&] {
      ++later_iteration_runs;
      loop.stop();
    });
  });
  loop.run_forever();
  EXPECT_EQ(later_iteration_runs, 1);
  EXPECT_EQ(loop.stats().iterations, 3u);
}

TEST(EventLoop, RunForeverWhileRunningRaisesRuntimeError) {
  Loop loop;
  bool raised = false;
  loop.call_soon([&] {
    try {
      loop.run_forever();
    } catch (const RuntimeError&) {
      raised = true;
    }
    loop.stop();
  });
  loop.run_forever();
  EXPECT_TRUE(raised);
}

TEST(EventLoop, RunForeverWhileAnotherLoopRunsInTheThreadRaisesRuntimeError) {
  Loop outer;
  Loop inner;
  bool raised = false;
  bool inner_running_after = true;
  outer.call_soon([&] {
    try {
      inner.run_forever();
    } catch (const RuntimeError&) {
      raised = true;
    }
    inner_running_after = inner.is_running();
    outer.stop();
  });
  outer.run_forever();
  EXPECT_TRUE(raised);
  EXPECT_FALSE(inner_running_after);
}

TEST(EventLoop, RunForeverOnAClosedLoopRaisesRuntimeError) {
  Loop loop;
  loop.close();
  EXPECT_THROW(loop.run_forever(), RuntimeError);
}

TEST(EventLoop, RunOnceOnAClosedLoopRaisesRuntimeError) {
  // Like run_forever: close() released the backend, so there is nothing to poll.
  Loop loop;
  loop.call_soon([] {});
  loop.close();
  EXPECT_THROW(loop.run_once(), RuntimeError);
}

TEST(EventLoop, RunOnceFromACallbackRaisesRuntimeError) {
  // Nested stepping would run the rest of the outer iteration's callbacks inside the inner one;
  // the outer iteration then pops entries that are no longer there.
  Loop loop;
  bool raised = false;
  int second_runs = 0;
  loop.call_soon([&] {
    try {
      loop.run_once();
    } catch (const RuntimeError&) {
      raised = true;
    }
  });
  loop.call_soon([&] { ++second_runs; });
  loop.call_soon([&] { loop.stop(); });
  loop.run_forever();
  EXPECT_TRUE(raised);
  EXPECT_EQ(second_runs, 1);
}

// --- is_running, get_running_loop ---------------------------------------------------------------

TEST(EventLoop, IsRunningIsTrueOnlyWhileRunForeverRuns) {
  Loop loop;
  bool inside = false;
  EXPECT_FALSE(loop.is_running());
  loop.call_soon([&] {
    inside = loop.is_running();
    loop.stop();
  });
  loop.run_forever();
  EXPECT_TRUE(inside);
  EXPECT_FALSE(loop.is_running());
}

TEST(EventLoop, GetRunningLoopOutsideALoopRaisesRuntimeError) {
  EXPECT_THROW(asyncio::get_running_loop(), RuntimeError);
}

TEST(EventLoop, GetRunningLoopInsideACallbackReturnsTheLoop) {
  Loop loop;
  EventLoop* seen = nullptr;
  loop.call_soon([&] {
    seen = &asyncio::get_running_loop();
    loop.stop();
  });
  loop.run_forever();
  EXPECT_EQ(seen, &loop);
}

TEST(EventLoop, GetRunningLoopRaisesAgainOnceRunForeverReturns) {
  Loop loop;
  loop.stop();
  loop.run_forever();
  EXPECT_THROW(asyncio::get_running_loop(), RuntimeError);
}

// --- close ----------------------------------------------------------------------------------------

TEST(EventLoop, CloseWhileRunningRaisesRuntimeError) {
  Loop loop;
  bool raised = false;
  bool closed_inside = true;
  loop.call_soon([&] {
    try {
      loop.close();
    } catch (const RuntimeError&) {
      raised = true;
    }
    closed_inside = loop.is_closed();
    loop.stop();
  });
  loop.run_forever();
  EXPECT_TRUE(raised);
  EXPECT_FALSE(closed_inside);
}

TEST(EventLoop, CloseIsIdempotent) {
  Loop loop;
  loop.close();
  EXPECT_NO_THROW(loop.close());
  EXPECT_TRUE(loop.is_closed());
}

TEST(EventLoop, IsClosedIsFalseUntilClose) {
  Loop loop;
  EXPECT_FALSE(loop.is_closed());
  loop.close();
  EXPECT_TRUE(loop.is_closed());
}

TEST(EventLoop, CallSoonOnAClosedLoopRaisesRuntimeError) {
  Loop loop;
  loop.close();
  EXPECT_THROW(loop.call_soon([] {}), RuntimeError);
}

TEST(EventLoop, CallLaterOnAClosedLoopRaisesRuntimeError) {
  Loop loop;
  loop.close();
  EXPECT_THROW(loop.call_later(1.0, [] {}), RuntimeError);
}

TEST(EventLoop, CallAtOnAClosedLoopRaisesRuntimeError) {
  Loop loop;
  loop.close();
  EXPECT_THROW(loop.call_at(1.0, [] {}), RuntimeError);
}

TEST(EventLoop, CallSoonThreadsafeOnAClosedLoopRaisesRuntimeError) {
  Loop loop;
  loop.close();
  EXPECT_THROW(loop.call_soon_threadsafe([] {}), RuntimeError);
}

TEST(EventLoop, ACallbackRefusedByAClosedLoopIsDestroyedAtOnce) {
  Loop loop;
  loop.close();
  auto token = std::make_shared<int>(0);
  EXPECT_THROW(loop.call_soon([token] {}), RuntimeError);
  EXPECT_THROW(loop.call_later(1.0, [token] {}), RuntimeError);
  EXPECT_THROW(loop.call_soon_threadsafe([token] {}), RuntimeError);
  EXPECT_EQ(token.use_count(), 1);
}

TEST(EventLoop, CloseDropsPendingCallbacksAndTimersAndReleasesTheirCaptures) {
  Loop loop;
  auto token = std::make_shared<int>(0);
  bool ran = false;
  loop.call_soon([token, &ran] { ran = true; });
  loop.call_later(5.0, [token, &ran] { ran = true; });
  loop.call_soon_threadsafe([token, &ran] { ran = true; });
  EXPECT_EQ(token.use_count(), 4);
  loop.close();
  EXPECT_EQ(token.use_count(), 1);
  EXPECT_FALSE(ran);
}

TEST(EventLoop, DestroyingALoopReleasesPendingCallbacks) {
  auto token = std::make_shared<int>(0);
  {
    Loop loop;
    loop.call_soon([token] {});
    loop.call_later(5.0, [token] {});
    EXPECT_EQ(token.use_count(), 3);
  }
  EXPECT_EQ(token.use_count(), 1);
}

// --- stats ----------------------------------------------------------------------------------------

TEST(EventLoop, StatsCountIterationsAndCallbacks) {
  Loop loop;
  loop.call_soon([] {});
  loop.call_soon([] {});
  loop.run_once();
  loop.call_soon([] {});
  loop.run_once();
  const asyncio::LoopStats stats = loop.stats();
  EXPECT_EQ(stats.iterations, 2u);
  EXPECT_EQ(stats.callbacks, 3u);
  EXPECT_EQ(stats.wakeups_written, 0u);
}
