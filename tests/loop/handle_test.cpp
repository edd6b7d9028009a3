// Handle and TimerHandle: cancelling what call_soon, call_later and call_at scheduled.
// Reference: CPython 3.13 Lib/asyncio/events.py (Handle, TimerHandle).

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <optional>
#include <string>

#include "support/test_support.hpp"

using asyncio::EventLoop;
using asyncio::Handle;
using asyncio::TimerHandle;
using asyncio::testing::virtual_clock;

TEST(Handle, CancelOfACallSoonCallbackPreventsItFromRunning) {
  EventLoop loop(virtual_clock());
  bool ran = false;
  Handle h = loop.call_soon([&] { ran = true; });
  h.cancel();
  loop.run_once();
  EXPECT_FALSE(ran);
}

TEST(Handle, CancelReleasesTheCallbacksCapturesAtOnce) {
  EventLoop loop(virtual_clock());
  auto token = std::make_shared<int>(0);
  Handle h = loop.call_soon([token] {});
  EXPECT_EQ(token.use_count(), 2);
  h.cancel();
  EXPECT_EQ(token.use_count(), 1);  // before the loop ever looks at the queue again
}

TEST(Handle, CancelReleasesTheArgumentsAtOnce) {
  EventLoop loop(virtual_clock());
  auto token = std::make_shared<int>(0);
  Handle h = loop.call_soon([](const std::shared_ptr<int>&) {}, token);
  EXPECT_EQ(token.use_count(), 2);
  h.cancel();
  EXPECT_EQ(token.use_count(), 1);
}

TEST(Handle, CancelledIsFalseUntilCancel) {
  EventLoop loop(virtual_clock());
  Handle h = loop.call_soon([] {});
  EXPECT_FALSE(h.cancelled());
  h.cancel();
  EXPECT_TRUE(h.cancelled());
}

TEST(Handle, CancelIsIdempotent) {
  EventLoop loop(virtual_clock());
  bool ran = false;
  Handle h = loop.call_soon([&] { ran = true; });
  h.cancel();
  h.cancel();
  loop.run_once();
  EXPECT_TRUE(h.cancelled());
  EXPECT_FALSE(ran);
}

TEST(Handle, CancelAfterTheCallbackRanStillMarksItCancelled) {
  // asyncio: Handle.cancel() sets _cancelled whether or not the callback already ran.
  EventLoop loop(virtual_clock());
  int runs = 0;
  Handle h = loop.call_soon([&] { ++runs; });
  loop.run_once();
  h.cancel();
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(runs, 1);
}

TEST(Handle, CopiesOfAHandleReferToTheSameCallback) {
  EventLoop loop(virtual_clock());
  bool ran = false;
  Handle h = loop.call_soon([&] { ran = true; });
  Handle copy = h;
  copy.cancel();
  loop.run_once();
  EXPECT_TRUE(h.cancelled());
  EXPECT_FALSE(ran);
}

TEST(Handle, DroppingTheHandleDoesNotCancelTheCallback) {
  EventLoop loop(virtual_clock());
  bool ran = false;
  {
    Handle h = loop.call_soon([&] { ran = true; });
  }
  loop.run_once();
  EXPECT_TRUE(ran);
}

TEST(Handle, ACallbackCancelledByAnEarlierCallbackOfTheSameIterationDoesNotRun) {
  EventLoop loop(virtual_clock());
  bool ran = false;
  Handle second;
  loop.call_soon([&] { second.cancel(); });
  second = loop.call_soon([&] { ran = true; });
  loop.run_once();
  EXPECT_FALSE(ran);
}

TEST(Handle, ACallbacksCapturesAreReleasedOnceItRanEvenIfTheHandleIsKept) {
  EventLoop loop(virtual_clock());
  auto token = std::make_shared<int>(0);
  Handle h = loop.call_soon([token] {});
  loop.run_once();
  EXPECT_TRUE(static_cast<bool>(h));
  EXPECT_EQ(token.use_count(), 1);
}

TEST(Handle, AnEmptyHandleIgnoresCancel) {
  Handle h;
  EXPECT_FALSE(static_cast<bool>(h));
  h.cancel();
  EXPECT_FALSE(h.cancelled());
}

TEST(Handle, AHandleThatOutlivesItsLoopCanStillBeCancelled) {
  std::optional<EventLoop> loop(std::in_place, virtual_clock());
  Handle h = loop->call_soon([] {});
  loop.reset();
  h.cancel();
  EXPECT_TRUE(h.cancelled());
}

TEST(TimerHandle, CancelOfATimerReleasesItsCapturesAtOnce) {
  EventLoop loop(virtual_clock());
  auto token = std::make_shared<int>(0);
  TimerHandle h = loop.call_later(10.0, [token] {});
  EXPECT_EQ(token.use_count(), 2);
  h.cancel();
  EXPECT_EQ(token.use_count(), 1);
  EXPECT_TRUE(h.cancelled());
}

TEST(TimerHandle, ATimerHandleThatOutlivesItsLoopCanStillBeCancelled) {
  std::optional<EventLoop> loop(std::in_place, virtual_clock());
  TimerHandle h = loop->call_later(10.0, [] {});
  loop.reset();
  h.cancel();
  EXPECT_TRUE(h.cancelled());
}

TEST(TimerHandle, CancelAfterTheTimerFiredStillMarksItCancelled) {
  EventLoop loop(virtual_clock());
  int runs = 0;
  TimerHandle h = loop.call_later(1.0, [&] { ++runs; });
  loop.run_once();
  ASSERT_EQ(runs, 1);
  h.cancel();
  EXPECT_TRUE(h.cancelled());
}

TEST(TimerHandle, WhenOfAnEmptyTimerHandleIsZero) {
  TimerHandle h;
  EXPECT_EQ(h.when(), 0.0);
}

TEST(Handle, CancellingAHandleFromItsOwnCallbackLetsTheCallbackFinishWithItsCaptures) {
  // asyncio: cancel() inside the running callback only marks the handle. The callable must not
  // be destroyed while it runs (here it is larger than the inline buffer, so it lives on the heap).
  EventLoop loop(virtual_clock());
  Handle self;
  std::string seen;
  std::array<int, 32> padding{};
  padding[31] = 7;
  self = loop.call_soon([&self, &seen, padding, text = std::string("a capture long enough to allocate")] {
    self.cancel();
    seen = text + std::to_string(padding[31]);
  });
  loop.run_once();
  EXPECT_EQ(seen, "a capture long enough to allocate7");
  EXPECT_TRUE(self.cancelled());
}

TEST(TimerHandle, CancellingATimerHandleFromItsOwnCallbackLetsTheCallbackFinishWithItsCaptures) {
  EventLoop loop(virtual_clock());
  TimerHandle self;
  std::string seen;
  std::array<int, 32> padding{};
  padding[31] = 7;
  self = loop.call_later(1.0, [&self, &seen, padding, text = std::string("a capture long enough to allocate")] {
    self.cancel();
    seen = text + std::to_string(padding[31]);
  });
  loop.run_once();
  EXPECT_EQ(seen, "a capture long enough to allocate7");
  EXPECT_TRUE(self.cancelled());
}
