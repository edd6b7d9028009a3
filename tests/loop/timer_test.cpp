// Timers through the loop: call_later, call_at, TimerHandle, deadline order. All on the virtual
// clock, so no test waits in real time. Reference: CPython 3.13 BaseEventLoop.call_later/call_at.

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "support/test_support.hpp"

using asyncio::EventLoop;
using asyncio::TimerHandle;
using asyncio::ValueError;
using asyncio::testing::virtual_clock;

TEST(Timer, TimersFireInDeadlineOrder) {
  EventLoop loop(virtual_clock());
  std::vector<std::string> order;
  loop.call_later(3.0, [&] { order.push_back("3"); });
  loop.call_later(1.0, [&] { order.push_back("1"); });
  loop.call_later(2.0, [&] { order.push_back("2"); });
  loop.call_later(2.5, [&] { order.push_back("2.5"); });
  loop.call_later(4.0, [&] { loop.stop(); });
  loop.run_forever();
  EXPECT_EQ(order, (std::vector<std::string>{"1", "2", "2.5", "3"}));
}

TEST(Timer, TimersWithEqualDeadlinesFireInTheOrderTheyWereScheduled) {
  EventLoop loop(virtual_clock());
  std::vector<int> order;
  for (int i = 0; i < 20; ++i) loop.call_at(5.0, [&order, i] { order.push_back(i); });
  loop.call_at(6.0, [&] { loop.stop(); });
  loop.run_forever();
  ASSERT_EQ(order.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
}

TEST(Timer, TimersDueInTheSameIterationRunInThatIteration) {
  EventLoop loop(virtual_clock());
  std::vector<std::string> order;
  loop.call_at(1.0, [&] { order.push_back("a"); });
  loop.call_at(1.0, [&] { order.push_back("b"); });
  loop.run_once();
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b"}));
}

TEST(Timer, ACancelledTimerNeverFires) {
  EventLoop loop(virtual_clock());
  bool fired = false;
  TimerHandle h = loop.call_later(1.0, [&] { fired = true; });
  loop.call_later(2.0, [&] { loop.stop(); });
  h.cancel();
  loop.run_forever();
  EXPECT_FALSE(fired);
  EXPECT_DOUBLE_EQ(loop.time(), 2.0);
}

TEST(Timer, ATimerCancelledByAnEarlierCallbackOfTheSameIterationDoesNotRun) {
  // Both are due in one iteration; the first cancels the second after it joined the ready queue.
  EventLoop loop(virtual_clock());
  bool second_ran = false;
  TimerHandle second;
  loop.call_at(1.0, [&] { second.cancel(); });
  second = loop.call_at(1.0, [&] { second_ran = true; });
  loop.run_once();
  EXPECT_FALSE(second_ran);
  EXPECT_TRUE(second.cancelled());
}

TEST(Timer, CancellingAllTimersLetsTheLoopStopWithoutFiringThem) {
  EventLoop loop(virtual_clock());
  int fired = 0;
  std::vector<TimerHandle> handles;
  for (int i = 0; i < 1000; ++i) handles.push_back(loop.call_later(1.0 + i, [&] { ++fired; }));
  for (TimerHandle& h : handles) h.cancel();
  loop.call_later(2000.0, [&] { loop.stop(); });
  loop.run_forever();
  EXPECT_EQ(fired, 0);
}

TEST(Timer, WhenIsTheDeadlineOnTheLoopsClock) {
  EventLoop loop(virtual_clock());
  TimerHandle h = loop.call_later(5.0, [] {});
  EXPECT_DOUBLE_EQ(h.when(), 5.0);
}

TEST(Timer, WhenOfCallLaterIsRelativeToTheCurrentTime) {
  EventLoop loop(virtual_clock());
  loop.advance_time(2.0);
  TimerHandle h = loop.call_later(3.0, [] {});
  EXPECT_DOUBLE_EQ(h.when(), 5.0);
}

TEST(Timer, WhenOfCallAtIsTheGivenTime) {
  EventLoop loop(virtual_clock());
  TimerHandle h = loop.call_at(7.5, [] {});
  EXPECT_DOUBLE_EQ(h.when(), 7.5);
}

TEST(Timer, CallLaterAcceptsAChronoDuration) {
  EventLoop loop(virtual_clock());
  double fired_at = -1;
  TimerHandle h = loop.call_later(std::chrono::milliseconds(1500), [&] {
    fired_at = loop.time();
    loop.stop();
  });
  EXPECT_DOUBLE_EQ(h.when(), 1.5);
  loop.run_forever();
  EXPECT_DOUBLE_EQ(fired_at, 1.5);
}

TEST(Timer, ChronoAndSecondDelaysOfTheSameLengthKeepSchedulingOrder) {
  EventLoop loop(virtual_clock());
  std::vector<std::string> order;
  loop.call_later(std::chrono::seconds(2), [&] { order.push_back("chrono"); });
  loop.call_later(2.0, [&] { order.push_back("double"); });
  loop.call_later(std::chrono::microseconds(2'000'000), [&] { order.push_back("micro"); });
  loop.call_later(3.0, [&] { loop.stop(); });
  loop.run_forever();
  EXPECT_EQ(order, (std::vector<std::string>{"chrono", "double", "micro"}));
}

TEST(Timer, CallLaterPassesItsArgumentsToTheCallback) {
  EventLoop loop(virtual_clock());
  int sum = 0;
  loop.call_later(
      1.0, [&](int a, int b) { sum = a + b; }, 2, 3);
  loop.run_once();
  EXPECT_EQ(sum, 5);
}

TEST(Timer, ANegativeDelayFiresInTheNextIteration) {
  // asyncio: a deadline in the past is simply due.
  EventLoop loop(virtual_clock());
  bool fired = false;
  loop.call_later(-5.0, [&] { fired = true; });
  loop.run_once();
  EXPECT_TRUE(fired);
  EXPECT_DOUBLE_EQ(loop.time(), 0.0);
}

TEST(Timer, ATimerDueLaterDoesNotRunBeforeTheReadyCallbacks) {
  EventLoop loop(virtual_clock());
  std::vector<std::string> order;
  loop.call_later(1.0, [&] { order.push_back("timer"); });
  loop.call_soon([&] { order.push_back("soon"); });
  loop.run_once();
  EXPECT_EQ(order, (std::vector<std::string>{"soon"}));
  EXPECT_DOUBLE_EQ(loop.time(), 0.0);
}

TEST(Timer, CallLaterWithANanDelayRaisesValueError) {
  EventLoop loop(virtual_clock());
  EXPECT_THROW(loop.call_later(std::nan(""), [] {}), ValueError);
}

TEST(Timer, CallAtWithANanTimeRaisesValueError) {
  EventLoop loop(virtual_clock());
  EXPECT_THROW(loop.call_at(std::numeric_limits<double>::quiet_NaN(), [] {}), ValueError);
}

TEST(Timer, AnInfiniteDelayNeverFiresBeforeAFiniteOne) {
  EventLoop loop(virtual_clock());
  bool infinite_fired = false;
  loop.call_later(std::numeric_limits<double>::infinity(), [&] { infinite_fired = true; });
  loop.call_later(1e9, [&] { loop.stop(); });
  loop.run_forever();
  EXPECT_FALSE(infinite_fired);
  EXPECT_DOUBLE_EQ(loop.time(), 1e9);
}
