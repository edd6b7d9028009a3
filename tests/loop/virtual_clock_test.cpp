// The virtual clock: starts at 0, jumps to the next timer when the loop is idle, moves by hand
// with advance_time.

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <vector>

#include "support/test_support.hpp"

using asyncio::ClockKind;
using asyncio::EventLoop;
using asyncio::LoopOptions;
using asyncio::RuntimeError;
using asyncio::ValueError;
using asyncio::testing::virtual_clock;

TEST(VirtualClock, TimeStartsAtZero) {
  EventLoop loop(virtual_clock());
  EXPECT_EQ(loop.clock(), ClockKind::virtual_time);
  EXPECT_EQ(loop.time(), 0.0);
}

TEST(VirtualClock, AnHourLongCallLaterRunsWithoutWaitingAndTimeIsThenAnHour) {
  EventLoop loop(virtual_clock());
  double fired_at = -1;
  const auto real_start = std::chrono::steady_clock::now();
  loop.call_later(3600, [&] {
    fired_at = loop.time();
    loop.stop();
  });
  loop.run_forever();
  const auto real_elapsed = std::chrono::steady_clock::now() - real_start;
  EXPECT_DOUBLE_EQ(fired_at, 3600.0);
  EXPECT_DOUBLE_EQ(loop.time(), 3600.0);
  EXPECT_LT(real_elapsed, std::chrono::seconds(60));  // an hour of virtual time, not of real time
}

TEST(VirtualClock, TimeDoesNotMoveWhileCallbacksAreReady) {
  EventLoop loop(virtual_clock());
  std::vector<double> seen;
  loop.call_later(10, [&] { loop.stop(); });
  int remaining = 5;
  std::function<void()> chain = [&] {
    seen.push_back(loop.time());
    if (--remaining > 0) loop.call_soon(chain);
  };
  loop.call_soon(chain);
  loop.run_forever();
  EXPECT_EQ(seen, (std::vector<double>{0, 0, 0, 0, 0}));
  EXPECT_DOUBLE_EQ(loop.time(), 10.0);
}

TEST(VirtualClock, TheClockJumpsFromTimerToTimer) {
  EventLoop loop(virtual_clock());
  std::vector<double> seen;
  for (double t : {0.5, 2.0, 7.25}) loop.call_later(t, [&] { seen.push_back(loop.time()); });
  loop.call_later(10, [&] { loop.stop(); });
  loop.run_forever();
  EXPECT_EQ(seen, (std::vector<double>{0.5, 2.0, 7.25}));
}

TEST(VirtualClock, OneIterationJumpsToTheNextTimerOnly) {
  EventLoop loop(virtual_clock());
  int fired = 0;
  loop.call_later(1, [&] { ++fired; });
  loop.call_later(2, [&] { ++fired; });
  loop.run_once();
  EXPECT_EQ(fired, 1);
  EXPECT_DOUBLE_EQ(loop.time(), 1.0);
}

TEST(VirtualClock, ACancelledTimerDoesNotMoveTheClock) {
  EventLoop loop(virtual_clock());
  asyncio::TimerHandle early = loop.call_later(1, [] {});
  double fired_at = -1;
  loop.call_later(5, [&] { fired_at = loop.time(); });
  early.cancel();
  loop.run_once();
  EXPECT_DOUBLE_EQ(fired_at, 5.0);
}

TEST(VirtualClock, AdvanceTimeMovesTheClock) {
  EventLoop loop(virtual_clock());
  loop.advance_time(2.5);
  EXPECT_DOUBLE_EQ(loop.time(), 2.5);
  loop.advance_time(0.5);
  EXPECT_DOUBLE_EQ(loop.time(), 3.0);
}

TEST(VirtualClock, ATimerMadeDueByAdvanceTimeRunsInTheNextIteration) {
  EventLoop loop(virtual_clock());
  bool fired = false;
  loop.call_later(10, [&] { fired = true; });
  loop.advance_time(10);
  EXPECT_FALSE(fired);
  loop.call_soon([] {});  // keeps the iteration from jumping anywhere
  loop.run_once();
  EXPECT_TRUE(fired);
  EXPECT_DOUBLE_EQ(loop.time(), 10.0);
}

TEST(VirtualClock, AdvanceTimeByZeroIsAllowed) {
  EventLoop loop(virtual_clock());
  loop.advance_time(0);
  EXPECT_EQ(loop.time(), 0.0);
}

TEST(VirtualClock, AdvanceTimeRaisesRuntimeErrorOnAMonotonicLoop) {
  EventLoop loop(LoopOptions{.clock = ClockKind::monotonic, .debug = false});
  EXPECT_THROW(loop.advance_time(1.0), RuntimeError);
}

TEST(VirtualClock, AdvanceTimeRaisesValueErrorForANegativeValue) {
  EventLoop loop(virtual_clock());
  EXPECT_THROW(loop.advance_time(-1.0), ValueError);
  EXPECT_EQ(loop.time(), 0.0);
}

TEST(VirtualClock, AdvanceTimeRaisesValueErrorForNan) {
  EventLoop loop(virtual_clock());
  EXPECT_THROW(loop.advance_time(std::nan("")), ValueError);
  EXPECT_EQ(loop.time(), 0.0);
}

TEST(VirtualClock, ACallbackPostedBeforeTheIterationRunsBeforeTheClockJumps) {
  // A callback waiting in the thread-safe inbox is work ready to run: on a real clock the poll
  // would not wait for the timer, so on the virtual clock time must not jump past it.
  EventLoop loop(virtual_clock());
  std::vector<double> posted_seen;
  bool timer_fired_with_it = false;
  loop.call_later(100, [&] { timer_fired_with_it = posted_seen.size() == 1 && loop.stats().iterations == 1; });
  loop.call_soon_threadsafe([&] { posted_seen.push_back(loop.time()); });
  loop.run_once();
  ASSERT_EQ(posted_seen.size(), 1u);
  EXPECT_EQ(posted_seen[0], 0.0);
  EXPECT_FALSE(timer_fired_with_it);
}

TEST(VirtualClock, TheMonotonicClockIsNotVirtual) {
  EventLoop loop(LoopOptions{.debug = false});
  EXPECT_EQ(loop.clock(), ClockKind::monotonic);
  const double t1 = loop.time();
  const double t2 = loop.time();
  EXPECT_LE(t1, t2);
}
