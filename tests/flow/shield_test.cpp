// shield: Python's asyncio.shield (CPython 3.13 Lib/asyncio/tasks.py and the shield tests of
// Lib/test/test_asyncio/test_tasks.py are the reference), on the virtual clock.

#include <gtest/gtest.h>

#include <asyncio/flow/shield.hpp>
#include <asyncio/flow/wait_for.hpp>

#include <memory>
#include <stdexcept>
#include <string>

#include "support/test_support.hpp"

namespace {

using asyncio::CancelledError;
using asyncio::Coro;
using asyncio::EventLoop;
using asyncio::Future;
using asyncio::Task;
using asyncio::TimeoutError;
using asyncio::testing::HandlerCapture;
using asyncio::testing::run_virtual;
using asyncio::testing::virtual_clock;

double now() { return asyncio::get_running_loop().time(); }

Coro<int> value_after(double seconds, int value) {
  co_await asyncio::sleep(seconds);
  co_return value;
}

/// How many exception-handler reports mention `text` in their message.
std::size_t reports(const HandlerCapture& h, const std::string& text) {
  std::size_t n = 0;
  for (const auto& c : h.contexts()) n += c.message.find(text) != std::string::npos ? 1 : 0;
  return n;
}

// --- following the inner --------------------------------------------------------------------------

TEST(Shield, OuterGetsTheResultOfTheInnerFuture) {
  run_virtual([]() -> Coro<void> {
    Future<int> inner = asyncio::get_running_loop().create_future<int>();
    Future<int> outer = asyncio::shield(inner);
    EXPECT_FALSE(outer.done());
    inner.set_result(42);
    EXPECT_EQ(co_await outer, 42);
  });
  SUCCEED();
}

TEST(Shield, OuterGetsTheExceptionOfTheInnerFuture) {
  run_virtual([]() -> Coro<void> {
    Future<int> inner = asyncio::get_running_loop().create_future<int>();
    Future<int> outer = asyncio::shield(inner);
    inner.set_exception(std::runtime_error("boom"));
    EXPECT_THROW(co_await outer, std::runtime_error);
  });
  SUCCEED();
}

TEST(Shield, OuterIsCancelledWhenTheInnerIsCancelled) {
  run_virtual([]() -> Coro<void> {
    Future<void> inner = asyncio::get_running_loop().create_future<void>();
    Future<void> outer = asyncio::shield(inner);
    inner.cancel();
    co_await asyncio::sleep(0);
    EXPECT_TRUE(outer.cancelled());
  });
  SUCCEED();
}

TEST(Shield, ShieldOfADoneFutureIsThatFuture) {
  run_virtual([]() -> Coro<void> {
    Future<int> inner = asyncio::get_running_loop().create_future<int>();
    inner.set_result(3);
    Future<int> outer = asyncio::shield(inner);
    EXPECT_TRUE(outer == inner);
    EXPECT_EQ(co_await outer, 3);
  });
  SUCCEED();
}

TEST(Shield, ShieldOfAFinishedTaskIsThatTask) {
  run_virtual([]() -> Coro<void> {
    Task<int> task = asyncio::create_task(value_after(0, 4));
    co_await task;
    Future<int> outer = asyncio::shield(task);
    EXPECT_TRUE(outer == task);
  });
  SUCCEED();
}

TEST(Shield, ShieldOfACoroRunsItInATaskTheLoopKeepsAlive) {
  run_virtual([]() -> Coro<void> {
    int proof = 0;
    {
      Future<void> outer = asyncio::shield([&proof]() -> Coro<void> {
        co_await asyncio::sleep(1);
        ++proof;
      });
      outer.cancel();  // and the handle goes: nothing holds the inner task but the loop
    }
    co_await asyncio::sleep(2);
    EXPECT_EQ(proof, 1);
  });
  SUCCEED();
}

TEST(Shield, RvalueTaskHandleHasAMoveOnlyResultMovedIntoTheOuter) {
  run_virtual([]() -> Coro<void> {
    Task<std::unique_ptr<int>> task = asyncio::create_task([]() -> Coro<std::unique_ptr<int>> {
      co_await asyncio::sleep(1);
      co_return std::make_unique<int>(8);
    });
    std::unique_ptr<int> p = co_await asyncio::shield(std::move(task));
    EXPECT_TRUE(p && *p == 8);
  });
  SUCCEED();
}

TEST(Shield, LvalueTaskHandleKeepsItsResultWhenTheOuterGetsACopy) {
  run_virtual([]() -> Coro<void> {
    Task<std::string> task = asyncio::create_task([]() -> Coro<std::string> {
      co_await asyncio::sleep(1);
      co_return std::string("kept");
    });
    EXPECT_EQ(co_await asyncio::shield(task), "kept");
    EXPECT_EQ(task.result(), "kept");
  });
  SUCCEED();
}

// --- cancelling the outer ------------------------------------------------------------------------

TEST(Shield, CancellingTheOuterLeavesTheInnerRunning) {
  run_virtual([]() -> Coro<void> {
    Future<int> inner = asyncio::get_running_loop().create_future<int>();
    Future<int> outer = asyncio::shield(inner);
    co_await asyncio::sleep(0);
    EXPECT_TRUE(outer.cancel());
    co_await asyncio::sleep(0);
    EXPECT_TRUE(outer.cancelled());
    EXPECT_FALSE(inner.cancelled());
    inner.set_result(1);
    co_await asyncio::sleep(0);
    EXPECT_TRUE(outer.cancelled());  // unchanged by the late result
  });
  SUCCEED();
}

TEST(Shield, TaskAwaitingAShieldIsCancelledWhileTheInnerGoesOn) {
  // CPython's test_shield_effect.
  run_virtual([]() -> Coro<void> {
    int proof = 0;
    Future<void> waiter = asyncio::get_running_loop().create_future<void>();
    Task<void> outer_task = asyncio::create_task([&]() -> Coro<void> {
      co_await asyncio::shield([&]() -> Coro<void> {
        co_await waiter;
        proof += 1;
      });
      proof += 100;
    });
    co_await asyncio::sleep(0);
    outer_task.cancel();
    EXPECT_THROW(co_await outer_task, CancelledError);
    EXPECT_TRUE(outer_task.cancelled());
    waiter.set_result();
    co_await asyncio::sleep(0);
    co_await asyncio::sleep(0);
    EXPECT_EQ(proof, 1);
  });
  SUCCEED();
}

TEST(Shield, InnerTaskCompletesAfterItsAwaiterWasCancelledAndItsResultIsNotLost) {
  run_virtual([]() -> Coro<void> {
    Task<int> inner = asyncio::create_task(value_after(5, 42));
    Task<int> awaiter = asyncio::create_task([&inner]() -> Coro<int> { co_return co_await asyncio::shield(inner); });
    co_await asyncio::sleep(1);
    awaiter.cancel();
    EXPECT_THROW(co_await awaiter, CancelledError);
    EXPECT_EQ(now(), 1.0);
    EXPECT_FALSE(inner.done());
    EXPECT_EQ(co_await inner, 42);
    EXPECT_EQ(now(), 5.0);
  });
  SUCCEED();
}

TEST(Shield, ShieldedTaskOutlivesAWaitForTimeoutAndFinishes) {
  run_virtual([]() -> Coro<void> {
    Task<int> save = asyncio::create_task(value_after(3, 7));
    EXPECT_THROW(co_await asyncio::wait_for(asyncio::shield(save), 1.0), TimeoutError);
    EXPECT_FALSE(save.cancelled());
    EXPECT_EQ(co_await save, 7);
  });
  SUCCEED();
}

TEST(Shield, CancellingOneOfTwoShieldsOfTheSameInnerLeavesTheOtherToGetTheResult) {
  run_virtual([]() -> Coro<void> {
    Future<int> inner = asyncio::get_running_loop().create_future<int>();
    Future<int> a = asyncio::shield(inner);
    Future<int> b = asyncio::shield(inner);
    a.cancel();
    co_await asyncio::sleep(0);
    inner.set_result(11);
    EXPECT_EQ(co_await b, 11);
    EXPECT_TRUE(a.cancelled());
  });
  SUCCEED();
}

TEST(Shield, ResultOfAnInnerFinishingAfterTheOuterWasCancelledIsDroppedSilently) {
  EventLoop loop(virtual_clock());
  HandlerCapture handler(loop);
  loop.run_until_complete([]() -> Coro<void> {
    Future<int> inner = asyncio::get_running_loop().create_future<int>();
    Future<int> outer = asyncio::shield(inner);
    co_await asyncio::sleep(0);
    outer.cancel();
    co_await asyncio::sleep(0);
    inner.set_result(1);
    co_await asyncio::sleep(0);
  });
  EXPECT_TRUE(handler.contexts().empty());
}

TEST(Shield, ExceptionOfAnInnerFinishingAfterTheOuterWasCancelledIsReportedAsNeverRetrieved) {
  // As CPython 3.13's test_shield_cancel_outer_exception: the outer took its callback back.
  EventLoop loop(virtual_clock());
  HandlerCapture handler(loop);
  loop.run_until_complete([]() -> Coro<void> {
    Future<int> inner = asyncio::get_running_loop().create_future<int>();
    Future<int> outer = asyncio::shield(inner);
    co_await asyncio::sleep(0);
    outer.cancel();
    co_await asyncio::sleep(0);
    inner.set_exception(std::runtime_error("foo"));
    co_await asyncio::sleep(0);
  });  // the inner goes with the coroutine's frame
  EXPECT_EQ(reports(handler, "never retrieved"), 1u);
}

TEST(Shield, ExceptionOfAnInnerAlreadyOnItsWayWhenTheOuterIsCancelledIsMarkedRetrieved) {
  // The inner's callback was queued before the outer's: it sees the outer cancelled and reads the
  // inner's exception (Python's "Mark inner's result as retrieved").
  EventLoop loop(virtual_clock());
  HandlerCapture handler(loop);
  loop.run_until_complete([]() -> Coro<void> {
    Future<int> inner = asyncio::get_running_loop().create_future<int>();
    Future<int> outer = asyncio::shield(inner);
    inner.set_exception(std::runtime_error("foo"));
    outer.cancel();
    co_await asyncio::sleep(0);
    EXPECT_TRUE(outer.cancelled());
  });
  EXPECT_TRUE(handler.contexts().empty());
}

// --- lifetime -------------------------------------------------------------------------------------

TEST(Shield, DroppingTheOuterOfAPendingInnerLeavesTheInnerUsable) {
  run_virtual([]() -> Coro<void> {
    Future<int> inner = asyncio::get_running_loop().create_future<int>();
    { Future<int> outer = asyncio::shield(inner); }  // the inner's callback still holds the outer
    inner.set_result(6);
    co_await asyncio::sleep(0);
    EXPECT_EQ(co_await inner, 6);
  });
  SUCCEED();
}

TEST(Shield, DroppingTheInnerOfAPendingShieldLeavesTheOuterPendingAndLeaksNothing) {
  run_virtual([]() -> Coro<void> {
    Future<int> outer;
    {
      Future<int> inner = asyncio::get_running_loop().create_future<int>();
      outer = asyncio::shield(inner);
    }  // the inner dies with its callback, which let go of the outer
    co_await asyncio::sleep(0);
    EXPECT_FALSE(outer.done());
    outer.cancel();
    co_await asyncio::sleep(0);
    EXPECT_TRUE(outer.cancelled());
  });
  SUCCEED();  // LeakSanitizer (the ASan build) checks that nothing leaked
}

TEST(Shield, ShieldOfAForeverPendingTaskDestroyedWithTheLoopLeaksNothing) {
  {
    EventLoop loop(virtual_clock());
    HandlerCapture handler(loop);
    Future<int> outer;
    loop.run_until_complete([&outer]() -> Coro<void> {
      outer = asyncio::shield([]() -> Coro<int> {
        Future<int> never = asyncio::get_running_loop().create_future<int>();
        co_return co_await never;
      });
      co_await asyncio::sleep(0);
    });
    EXPECT_FALSE(outer.done());
  }  // the loop abandons the inner task; its callback lets go of the outer
  SUCCEED();
}

}  // namespace
