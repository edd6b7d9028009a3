// wait_for: Python's asyncio.wait_for as CPython 3.12+ writes it, on top of timeout (CPython 3.13
// Lib/asyncio/tasks.py and Lib/test/test_asyncio/test_waitfor.py are the reference), on the virtual
// clock.

#include <gtest/gtest.h>

#include <asyncio/flow/wait_for.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "support/test_support.hpp"

namespace {

using asyncio::AnyTask;
using asyncio::CancelledError;
using asyncio::Coro;
using asyncio::EventLoop;
using asyncio::Future;
using asyncio::RuntimeError;
using asyncio::Task;
using asyncio::TimeoutError;
using asyncio::testing::run_virtual;

double now() { return asyncio::get_running_loop().time(); }

Coro<int> value_after(double seconds, int value) {
  co_await asyncio::sleep(seconds);
  co_return value;
}

/// Sleeps for `seconds`; on cancellation keeps going (ignores up to `ignore` cancellations), then
/// returns `value`.
Coro<int> stubborn(double seconds, int ignore, int value) {
  const double until = now() + seconds;
  while (now() < until) {
    try {
      co_await asyncio::sleep(until - now());
    } catch (const CancelledError&) {
      if (ignore-- == 0) throw;
    }
  }
  co_return value;
}

// --- results ----------------------------------------------------------------------------------

TEST(WaitFor, CoroThatFinishesInTimeGivesItsResult) {
  run_virtual([]() -> Coro<void> {
    const int v = co_await asyncio::wait_for(value_after(0.5, 42), 1.0);
    EXPECT_EQ(v, 42);
    EXPECT_EQ(now(), 0.5);
  });
  SUCCEED();
}

TEST(WaitFor, CoroRunsInlineInTheCallingTaskAsInCPython312) {
  run_virtual([]() -> Coro<void> {
    const AnyTask me = asyncio::current_task();
    const bool same = co_await asyncio::wait_for(
        [&me]() -> Coro<bool> {
          co_await asyncio::sleep(0);
          co_return asyncio::current_task() == me;
        },
        1.0);
    EXPECT_TRUE(same);
  });
  SUCCEED();
}

TEST(WaitFor, FutureCompletedBeforeTheDeadlineGivesItsResult) {
  run_virtual([]() -> Coro<void> {
    EventLoop& loop = asyncio::get_running_loop();
    Future<std::string> fut = loop.create_future<std::string>();
    loop.call_later(0.1, [fut]() mutable { fut.set_result("ok"); });
    const std::string v = co_await asyncio::wait_for(fut, 0.2);
    EXPECT_EQ(v, "ok");
    EXPECT_EQ(now(), 0.1);
  });
  SUCCEED();
}

TEST(WaitFor, TaskFinishedInTimeGivesItsResult) {
  run_virtual([]() -> Coro<void> {
    Task<int> task = asyncio::create_task(value_after(1, 7));
    const int v = co_await asyncio::wait_for(task, std::chrono::seconds(2));
    EXPECT_EQ(v, 7);
    EXPECT_EQ(task.result(), 7);  // an lvalue handle's result is copied, not moved out
  });
  SUCCEED();
}

TEST(WaitFor, RvalueTaskHandleHasAMoveOnlyResultMovedOut) {
  run_virtual([]() -> Coro<void> {
    Task<std::unique_ptr<int>> task = asyncio::create_task([]() -> Coro<std::unique_ptr<int>> {
      co_await asyncio::sleep(1);
      co_return std::make_unique<int>(9);
    });
    std::unique_ptr<int> p = co_await asyncio::wait_for(std::move(task), 5.0);
    EXPECT_TRUE(p && *p == 9);
  });
  SUCCEED();
}

TEST(WaitFor, NoTimeoutWaitsAsLongAsItTakes) {
  run_virtual([]() -> Coro<void> {
    const int v = co_await asyncio::wait_for(value_after(3600, 1), std::nullopt);
    EXPECT_EQ(v, 1);
    EXPECT_EQ(now(), 3600.0);
  });
  SUCCEED();
}

TEST(WaitFor, ExceptionOfTheAwaitablePropagates) {
  run_virtual([]() -> Coro<void> {
    EXPECT_THROW(co_await asyncio::wait_for(
                     []() -> Coro<void> {
                       co_await asyncio::sleep(0.1);
                       throw std::invalid_argument("bad");
                     },
                     1.0),
                 std::invalid_argument);
  });
  SUCCEED();
}

// --- timing out ---------------------------------------------------------------------------------

TEST(WaitFor, TimeoutCancelsTheTaskWaitsForItAndRaisesTimeoutError) {
  run_virtual([]() -> Coro<void> {
    bool running = false;
    Task<int> task = asyncio::create_task([&running]() -> Coro<int> {
      running = true;
      struct Done {
        bool* r;
        ~Done() { *r = false; }
      } done{&running};
      co_await asyncio::sleep(10);
      co_return 1;
    });
    EXPECT_THROW(co_await asyncio::wait_for(task, 0.1), TimeoutError);
    EXPECT_EQ(now(), 0.1);
    EXPECT_TRUE(task.cancelled());
    EXPECT_FALSE(running);
  });
  SUCCEED();
}

TEST(WaitFor, TimeoutErrorCarriesTheCancelledErrorAsItsNestedException) {
  run_virtual([]() -> Coro<void> {
    bool nested_cancelled = false;
    try {
      co_await asyncio::wait_for(value_after(10, 1), 0.5);
    } catch (const TimeoutError& e) {
      try {
        std::rethrow_if_nested(e);
      } catch (const CancelledError&) {
        nested_cancelled = true;
      }
    }
    EXPECT_TRUE(nested_cancelled);
  });
  SUCCEED();
}

TEST(WaitFor, TimeoutWaitsForTheTaskToFinishItsCleanupBeforeRaising) {
  run_virtual([]() -> Coro<void> {
    bool task_done = false;
    Task<void> task = asyncio::create_task([&task_done]() -> Coro<void> {
      std::exception_ptr cancelled;
      try {
        co_await asyncio::sleep(10);
      } catch (const CancelledError&) {
        cancelled = std::current_exception();
      }
      co_await asyncio::sleep(0.5);  // cleanup takes time
      task_done = true;
      if (cancelled) std::rethrow_exception(cancelled);
    });
    EXPECT_THROW(co_await asyncio::wait_for(task, 0.1), TimeoutError);
    EXPECT_TRUE(task_done);
    EXPECT_EQ(now(), 0.6);
  });
  SUCCEED();
}

TEST(WaitFor, ExceptionRaisedByTheTaskWhileBeingCancelledPropagatesInsteadOfTimeoutError) {
  run_virtual([]() -> Coro<void> {
    Task<void> task = asyncio::create_task([]() -> Coro<void> {
      try {
        co_await asyncio::sleep(0.2);
      } catch (...) {
      }
      throw std::logic_error("FooException");
    });
    EXPECT_THROW(co_await asyncio::wait_for(task, 0.0001), std::logic_error);
  });
  SUCCEED();
}

TEST(WaitFor, AwaitableThatSuppressesTheCancellationHasItsValueReturned) {
  run_virtual([]() -> Coro<void> {
    const int v = co_await asyncio::wait_for(
        []() -> Coro<int> {
          try {
            co_await asyncio::sleep(10);
          } catch (const CancelledError&) {
            co_return 42;
          }
          co_return 0;
        },
        0.1);
    EXPECT_EQ(v, 42);
    EXPECT_EQ(now(), 0.1);
    EXPECT_EQ(asyncio::current_task().cancelling(), 0);
  });
  SUCCEED();
}

TEST(WaitFor, TaskThatSuppressesTheCancellationHasItsValueReturned) {
  run_virtual([]() -> Coro<void> {
    Task<int> task = asyncio::create_task(stubborn(1.0, 1, 5));
    const int v = co_await asyncio::wait_for(task, 0.01);
    EXPECT_EQ(v, 5);
    EXPECT_EQ(now(), 1.0);
  });
  SUCCEED();
}

TEST(WaitFor, TimeoutLeavesTheCallersCancellingCountAtZero) {
  run_virtual([]() -> Coro<void> {
    EXPECT_THROW(co_await asyncio::wait_for(value_after(10, 1), 0.5), TimeoutError);
    EXPECT_EQ(asyncio::current_task().cancelling(), 0);
  });
  SUCCEED();
}

// --- the same-iteration races --------------------------------------------------------------------

TEST(WaitFor, FutureCompletingInTheIterationOfTheDeadlineStillTimesOutAndKeepsItsResult) {
  // CPython 3.12+: the future's callback ran first, but the waiting task had not resumed when the
  // timeout cancelled it; a cancel() after the awaited future completed is not lost, so
  // TimeoutError wins. (Verified against CPython 3.13.0.) The future keeps its result.
  run_virtual([]() -> Coro<void> {
    EventLoop& loop = asyncio::get_running_loop();
    Future<int> fut = loop.create_future<int>();
    loop.call_at(1.0, [fut]() mutable { fut.set_result(42); });  // armed before the deadline
    EXPECT_THROW(co_await asyncio::wait_for(fut, 1.0), TimeoutError);
    EXPECT_FALSE(fut.cancelled());
    EXPECT_EQ(fut.result(), 42);
  });
  SUCCEED();
}

TEST(WaitFor, InnerTaskFinishingInTheIterationOfTheDeadlineStillTimesOutAndKeepsItsResult) {
  // The caller gets TimeoutError as in CPython. (In CPython the inner would not even finish: its
  // sleep wakes it through a future, one iteration later, so the forwarded cancel reaches it first.
  // Here a task's sleep wakes it directly, so it finishes in the deadline's iteration.)
  run_virtual([]() -> Coro<void> {
    Task<int> task = asyncio::create_task(value_after(1.0, 42));
    co_await asyncio::sleep(0);  // the task armed its sleep (for 1.0) before wait_for arms its deadline
    EXPECT_THROW(co_await asyncio::wait_for(task, 1.0), TimeoutError);
    EXPECT_FALSE(task.cancelled());
    EXPECT_EQ(task.result(), 42);
  });
  SUCCEED();
}

TEST(WaitFor, DeadlineFiringFirstInTheIterationCancelsTheInnerTaskBeforeItFinishes) {
  run_virtual([]() -> Coro<void> {
    Task<int> task = asyncio::create_task(value_after(1.0, 42));  // its sleep is armed after the deadline
    EXPECT_THROW(co_await asyncio::wait_for(task, 1.0), TimeoutError);
    EXPECT_TRUE(task.cancelled());
  });
  SUCCEED();
}

TEST(WaitFor, InnerThatFinishedOneIterationBeforeTheDeadlineWins) {
  run_virtual([]() -> Coro<void> {
    EventLoop& loop = asyncio::get_running_loop();
    Future<int> fut = loop.create_future<int>();
    loop.call_at(0.999, [fut]() mutable { fut.set_result(42); });
    const int v = co_await asyncio::wait_for(fut, 1.0);
    EXPECT_EQ(v, 42);
    EXPECT_LT(now(), 1.0);
  });
  SUCCEED();
}

TEST(WaitFor, TaskCancelledJustAfterTheAwaitedFutureCompletesEndsCancelledNotTimedOut) {
  run_virtual([]() -> Coro<void> {
    Future<int> fut = asyncio::get_running_loop().create_future<int>();
    bool reached_end = false;
    Task<void> task = asyncio::create_task([&]() -> Coro<void> {
      co_await asyncio::wait_for(fut, 100);
      reached_end = true;
    });
    co_await asyncio::sleep(0);  // task parks on fut
    fut.set_result(1);
    task.cancel();  // same iteration: task's wake-up is queued, not yet run
    EXPECT_THROW(co_await task, CancelledError);
    EXPECT_TRUE(task.cancelled());
    EXPECT_FALSE(reached_end);
  });
  SUCCEED();
}

TEST(WaitFor, TaskCancelledRightAfterAnInlineCoroFinishedEndsCancelled) {
  // CPython's test_wait_for_issue86296.
  run_virtual([]() -> Coro<void> {
    bool reached_end = false;
    Task<void> task = asyncio::create_task([&reached_end]() -> Coro<void> {
      co_await asyncio::wait_for([]() -> Coro<void> { co_return; }, 100);
      co_await asyncio::sleep(1);
      reached_end = true;
    });
    co_await asyncio::sleep(0);
    EXPECT_FALSE(task.done());
    task.cancel();
    EXPECT_THROW(co_await task, CancelledError);
    EXPECT_FALSE(reached_end);
  });
  SUCCEED();
}

// --- cancellation of the caller -------------------------------------------------------------------

TEST(WaitFor, CancellingTheCallerPropagatesCancelledErrorAndCancelsTheTask) {
  for (std::optional<double> timeout : {std::optional<double>(60.0), std::optional<double>()}) {
    run_virtual([timeout]() -> Coro<void> {
      EventLoop& loop = asyncio::get_running_loop();
      Task<void> blocked = asyncio::create_task([&loop]() -> Coro<void> {
        Future<void> never = loop.create_future<void>();
        co_await never;
      });
      Task<void> wait = asyncio::create_task(asyncio::wait_for(blocked, timeout));
      loop.call_soon([wait]() mutable { wait.cancel(); });
      EXPECT_THROW(co_await wait, CancelledError);
      EXPECT_TRUE(wait.cancelled());
      EXPECT_TRUE(blocked.cancelled());  // Python issue #23219
    });
  }
  SUCCEED();
}

TEST(WaitFor, CallerCancelledWhileTheTaskHoldsOffItsCancellationStillEndsCancelled) {
  // CPython's test_wait_for_self_cancellation.
  run_virtual([]() -> Coro<void> {
    Task<int> inner = asyncio::create_task(stubborn(0.9, 2, 42));
    Task<int> wait = asyncio::create_task(asyncio::wait_for(inner, 0.1));
    wait.cancel();  // before its first step: wait_for never runs
    EXPECT_THROW(co_await wait, CancelledError);
    EXPECT_EQ(co_await inner, 42);
  });
  SUCCEED();
}

TEST(WaitFor, CallerCancelIsForwardedToTheAwaitedTaskAndATaskThatSwallowsItGivesItsValue) {
  run_virtual([]() -> Coro<void> {
    Task<int> inner = asyncio::create_task(stubborn(0.9, 1, 42));
    Task<int> wait = asyncio::create_task(asyncio::wait_for(inner, 10));
    co_await asyncio::sleep(0.1);
    wait.cancel();  // cancels inner, which swallows it and returns 42 at 0.9
    // As `await task` does: the caller's cancel was forwarded to inner, which returned a value
    // instead, so wait_for returns it (CPython 3.13.0 does the same); the request stays counted.
    EXPECT_EQ(co_await wait, 42);
    EXPECT_FALSE(wait.cancelled());
    EXPECT_EQ(wait.cancelling(), 1);
  });
  SUCCEED();
}

TEST(WaitFor, CancellingTheCallerInTheIterationOfTheDeadlinePropagatesCancelledError) {
  run_virtual([]() -> Coro<void> {
    EventLoop& loop = asyncio::get_running_loop();
    Task<int> wait = asyncio::create_task(asyncio::wait_for(value_after(100, 1), 1.0));
    co_await asyncio::sleep(0);                              // wait_for armed its deadline for 1.0
    loop.call_at(1.0, [wait]() mutable { wait.cancel(); });  // runs right after the deadline's handler
    EXPECT_THROW(co_await wait, CancelledError);
    EXPECT_TRUE(wait.cancelled());
  });
  SUCCEED();
}

TEST(WaitFor, CancellingTheCallerJustBeforeTheDeadlineFiresPropagatesCancelledError) {
  run_virtual([]() -> Coro<void> {
    EventLoop& loop = asyncio::get_running_loop();
    Task<int> wait;
    loop.call_at(1.0, [&wait] { wait.cancel(); });  // armed first: runs just before the deadline's handler
    wait = asyncio::create_task(asyncio::wait_for(value_after(100, 1), 1.0));
    EXPECT_THROW(co_await wait, CancelledError);
    EXPECT_TRUE(wait.cancelled());
    EXPECT_EQ(now(), 1.0);
  });
  SUCCEED();
}

// --- timeout <= 0 ------------------------------------------------------------------------------

TEST(WaitFor, ZeroTimeoutOnADoneFutureGivesItsResult) {
  run_virtual([]() -> Coro<void> {
    Future<std::string> fut = asyncio::get_running_loop().create_future<std::string>();
    fut.set_result("done");
    const std::string v = co_await asyncio::wait_for(fut, 0);
    EXPECT_EQ(v, "done");
    EXPECT_EQ(now(), 0.0);
  });
  SUCCEED();
}

TEST(WaitFor, ZeroTimeoutNeverStartsACoro) {
  run_virtual([]() -> Coro<void> {
    bool started = false;
    EXPECT_THROW(co_await asyncio::wait_for(
                     [&started]() -> Coro<void> {
                       started = true;
                       co_return;
                     },
                     0),
                 TimeoutError);
    EXPECT_FALSE(started);
    EXPECT_EQ(now(), 0.0);
  });
  SUCCEED();
}

TEST(WaitFor, ZeroOrNegativeTimeoutCancelsARunningTaskAndRaisesTimeoutErrorAtOnce) {
  for (double timeout : {0.0, -1.0}) {
    run_virtual([timeout]() -> Coro<void> {
      bool running = false;
      Task<int> task = asyncio::create_task([&running]() -> Coro<int> {
        running = true;
        struct Done {
          bool* r;
          ~Done() { *r = false; }
        } done{&running};
        co_await asyncio::sleep(10);
        co_return 1;
      });
      co_await asyncio::sleep(0);
      EXPECT_TRUE(running);
      bool nested_cancelled = false;
      try {
        co_await asyncio::wait_for(task, timeout);
      } catch (const TimeoutError& e) {
        try {
          std::rethrow_if_nested(e);
        } catch (const CancelledError&) {
          nested_cancelled = true;
        }
      }
      EXPECT_TRUE(nested_cancelled);
      EXPECT_TRUE(task.cancelled());
      EXPECT_FALSE(running);
      EXPECT_EQ(now(), 0.0);
    });
  }
  SUCCEED();
}

TEST(WaitFor, ZeroTimeoutWaitsForTheTaskToFinishItsCleanup) {
  run_virtual([]() -> Coro<void> {
    bool task_done = false;
    Task<void> task = asyncio::create_task([&task_done]() -> Coro<void> {
      std::exception_ptr cancelled;
      try {
        co_await asyncio::sleep(10);
      } catch (const CancelledError&) {
        cancelled = std::current_exception();
      }
      co_await asyncio::sleep(0.5);
      task_done = true;
      if (cancelled) std::rethrow_exception(cancelled);
    });
    co_await asyncio::sleep(0.1);
    EXPECT_THROW(co_await asyncio::wait_for(task, 0), TimeoutError);
    EXPECT_TRUE(task_done);
    EXPECT_EQ(now(), 0.6);
  });
  SUCCEED();
}

TEST(WaitFor, ZeroTimeoutOnATaskThatSuppressesTheCancellationGivesItsValue) {
  run_virtual([]() -> Coro<void> {
    Task<int> task = asyncio::create_task(stubborn(1.0, 1, 5));
    co_await asyncio::sleep(0);
    EXPECT_EQ(co_await asyncio::wait_for(task, 0), 5);
  });
  SUCCEED();
}

TEST(WaitFor, CallerCancelledDuringTheZeroTimeoutWaitPropagatesCancelledError) {
  run_virtual([]() -> Coro<void> {
    Task<int> inner = asyncio::create_task(stubborn(1.0, 1, 5));  // takes until 1.0 after a cancel
    co_await asyncio::sleep(0);
    Task<int> wait = asyncio::create_task(asyncio::wait_for(inner, 0));
    co_await asyncio::sleep(0.5);
    wait.cancel();
    EXPECT_THROW(co_await wait, CancelledError);
    EXPECT_EQ(now(), 0.5);  // wait_for did not wait for inner any longer
    EXPECT_FALSE(inner.done());
    EXPECT_EQ(co_await inner, 5);
  });
  SUCCEED();
}

// --- nesting and misuse -------------------------------------------------------------------------

TEST(WaitFor, EnclosingTimeoutThatExpiresFirstRaisesTimeoutErrorAndWaitForPropagatesCancelledError) {
  run_virtual([]() -> Coro<void> {
    bool wait_for_raised_cancelled = false;
    EXPECT_THROW(co_await asyncio::timeout(1).run([&]() -> Coro<void> {
      try {
        co_await asyncio::wait_for(value_after(100, 1), 5);
      } catch (const CancelledError&) {
        wait_for_raised_cancelled = true;
        throw;
      }
    }),
                 TimeoutError);
    EXPECT_TRUE(wait_for_raised_cancelled);
    EXPECT_EQ(now(), 1.0);
  });
  SUCCEED();
}

TEST(WaitFor, WaitForWhoseDeadlineComesFirstInsideATimeoutLeavesTheTimeoutRunning) {
  run_virtual([]() -> Coro<void> {
    auto outer = asyncio::timeout(5);
    const int v = co_await outer.run([]() -> Coro<int> {
      EXPECT_THROW(co_await asyncio::wait_for(value_after(100, 1), 1), TimeoutError);
      co_return co_await value_after(1, 3);
    });
    EXPECT_EQ(v, 3);
    EXPECT_FALSE(outer.expired());
    EXPECT_EQ(now(), 2.0);
  });
  SUCCEED();
}

TEST(WaitFor, LoopDestroyedWhileAWaitForIsPendingDisarmsItAndLeaksNothing) {
  {
    EventLoop loop(asyncio::testing::virtual_clock());
    asyncio::testing::HandlerCapture handler(loop);
    Task<int> task =
        loop.create_task([]() -> Coro<int> { co_return co_await asyncio::wait_for(value_after(1000, 1), 100); });
    loop.call_later(1.0, [&loop] { loop.stop(); });
    loop.run_forever();
    EXPECT_FALSE(task.done());
  }           // the task is abandoned: its frames (and the wait_for's Timeout in them) are unwound
  SUCCEED();  // LeakSanitizer (the ASan build) checks that nothing leaked
}

TEST(WaitFor, WaitForOnAnEmptyCoroIsRuntimeError) {
  run_virtual([]() -> Coro<void> { EXPECT_THROW(co_await asyncio::wait_for(Coro<int>(), 1.0), RuntimeError); });
  SUCCEED();
}

}  // namespace
