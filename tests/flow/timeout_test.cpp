// timeout / timeout_at / Timeout: Python's asyncio.timeout (CPython 3.13 Lib/asyncio/timeouts.py and
// Lib/test/test_asyncio/test_timeouts.py are the reference), on the virtual clock.

#include <gtest/gtest.h>

#include <asyncio/flow/timeout.hpp>

#include <chrono>
#include <coroutine>
#include <exception>
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
using asyncio::Timeout;
using asyncio::TimeoutError;
using asyncio::testing::Detached;
using asyncio::testing::HandlerCapture;
using asyncio::testing::run_virtual;
using asyncio::testing::virtual_clock;

double now() { return asyncio::get_running_loop().time(); }

Coro<void> nap(double seconds) { co_await asyncio::sleep(seconds); }

Detached await_without_task(Coro<void> coro, std::string* error) {
  try {
    co_await std::move(coro);
  } catch (const RuntimeError& e) {
    *error = e.what();
  }
}

// --- expiry ------------------------------------------------------------------------------------

TEST(Timeout, BodyStillRunningAtTheDeadlineEndsWithTimeoutErrorThere) {
  run_virtual([]() -> Coro<void> {
    auto t = asyncio::timeout(0.5);
    EXPECT_THROW(co_await t.run([] { return nap(10); }), TimeoutError);
    EXPECT_EQ(now(), 0.5);
    EXPECT_TRUE(t.expired());
  });
  SUCCEED();
}

TEST(Timeout, TimeoutErrorCarriesTheCancelledErrorAsItsNestedException) {
  run_virtual([]() -> Coro<void> {
    auto t = asyncio::timeout(0);
    bool nested_cancelled = false;
    try {
      co_await t.run([] { return nap(1); });
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

TEST(Timeout, TheBodySeesCancelledErrorAtItsAwaitBeforeItBecomesTimeoutError) {
  run_virtual([]() -> Coro<void> {
    bool body_saw_cancel = false;
    auto t = asyncio::timeout(0.01);
    EXPECT_THROW(co_await t.run([&]() -> Coro<void> {
      try {
        co_await asyncio::sleep(10);
      } catch (const CancelledError&) {
        body_saw_cancel = true;
        throw;
      }
    }),
                 TimeoutError);
    EXPECT_TRUE(body_saw_cancel);
  });
  SUCCEED();
}

TEST(Timeout, TimeoutAtExpiresAtItsDeadlineAndWhenReturnsItExactly) {
  run_virtual([]() -> Coro<void> {
    const double deadline = now() + 0.01;
    auto t = asyncio::timeout_at(deadline);
    EXPECT_THROW(co_await t.run([] { return nap(10); }), TimeoutError);
    EXPECT_TRUE(t.expired());
    EXPECT_EQ(t.when(), deadline);
    EXPECT_EQ(now(), deadline);
  });
  SUCCEED();
}

TEST(Timeout, TimeoutAcceptsAStdChronoDuration) {
  run_virtual([]() -> Coro<void> {
    auto t = asyncio::timeout(std::chrono::milliseconds(250));
    EXPECT_EQ(t.when(), 0.25);
    EXPECT_THROW(co_await t.run([] { return nap(10); }), TimeoutError);
    EXPECT_EQ(now(), 0.25);
  });
  SUCCEED();
}

TEST(Timeout, TheDeadlineIsFixedWhenTheTimeoutIsMadeNotWhenRunStarts) {
  run_virtual([]() -> Coro<void> {
    auto t = asyncio::timeout(1.0);
    co_await asyncio::sleep(0.75);
    EXPECT_THROW(co_await t.run([] { return nap(10); }), TimeoutError);
    EXPECT_EQ(now(), 1.0);
  });
  SUCCEED();
}

TEST(Timeout, ZeroTimeoutExpiresEvenIfTheBodyOnlySleepsZero) {
  run_virtual([]() -> Coro<void> {
    auto t = asyncio::timeout(0);
    EXPECT_THROW(co_await t.run([] { return nap(0); }), TimeoutError);
    EXPECT_TRUE(t.expired());
    EXPECT_EQ(t.when(), 0.0);
    EXPECT_EQ(now(), 0.0);
  });
  SUCCEED();
}

TEST(Timeout, TimeoutAtInThePastExpiresInTheFirstIterationOfTheBody) {
  run_virtual([]() -> Coro<void> {
    co_await asyncio::sleep(20);
    auto t = asyncio::timeout_at(now() - 11);
    EXPECT_THROW(co_await t.run([] { return nap(0); }), TimeoutError);
    EXPECT_TRUE(t.expired());
    EXPECT_EQ(t.when(), 9.0);
    EXPECT_EQ(now(), 20.0);
  });
  SUCCEED();
}

TEST(Timeout, BodySleepingExactlyUntilTheDeadlineTimesOut) {
  // The timeout's handler was armed first, so it runs first in the iteration where both are due:
  // the task is cancelled before it resumes (asyncio orders equal deadlines the same way).
  run_virtual([]() -> Coro<void> {
    auto t = asyncio::timeout(1.0);
    EXPECT_THROW(co_await t.run([] { return nap(1.0); }), TimeoutError);
    EXPECT_EQ(now(), 1.0);
  });
  SUCCEED();
}

// --- no expiry ---------------------------------------------------------------------------------

TEST(Timeout, BodyThatFinishesInTimeGivesItsValueAndTheTimeoutDoesNotExpire) {
  run_virtual([]() -> Coro<void> {
    auto t = asyncio::timeout(10);
    const int v = co_await t.run([]() -> Coro<int> {
      co_await asyncio::sleep(0.01);
      co_return 42;
    });
    EXPECT_EQ(v, 42);
    EXPECT_FALSE(t.expired());
    EXPECT_GT(*t.when(), now());
  });
  SUCCEED();
}

TEST(Timeout, TimeoutOfNulloptNeverExpiresAndHasNoDeadline) {
  run_virtual([]() -> Coro<void> {
    auto t = asyncio::timeout(std::nullopt);
    co_await t.run([] { return nap(3600); });
    EXPECT_FALSE(t.expired());
    EXPECT_FALSE(t.when().has_value());
    EXPECT_EQ(now(), 3600.0);
  });
  SUCCEED();
}

TEST(Timeout, TimeoutAtNulloptNeverExpiresAndHasNoDeadline) {
  run_virtual([]() -> Coro<void> {
    auto t = asyncio::timeout_at(std::nullopt);
    co_await t.run([] { return nap(3600); });
    EXPECT_FALSE(t.expired());
    EXPECT_FALSE(t.when().has_value());
  });
  SUCCEED();
}

TEST(Timeout, ExceptionFromTheBodyPassesThroughAndTheTimeoutDoesNotExpire) {
  run_virtual([]() -> Coro<void> {
    auto t = asyncio::timeout(0.01);
    EXPECT_THROW(co_await t.run([]() -> Coro<void> {
      co_await asyncio::sleep(0);
      throw std::out_of_range("key");
    }),
                 std::out_of_range);
    EXPECT_FALSE(t.expired());
  });
  SUCCEED();
}

TEST(Timeout, ExceptionRaisedWhileTheBodyHandlesTheTimeoutPropagatesInsteadOfTimeoutError) {
  run_virtual([]() -> Coro<void> {
    auto t = asyncio::timeout(0.01);
    EXPECT_THROW(co_await t.run([]() -> Coro<void> {
      try {
        co_await asyncio::sleep(1);
      } catch (const CancelledError&) {
        throw std::domain_error("division by zero");
      }
    }),
                 std::domain_error);
    EXPECT_TRUE(t.expired());
    EXPECT_EQ(asyncio::current_task().cancelling(), 0);
  });
  SUCCEED();
}

TEST(Timeout, BodyThatSwallowsTheCancellationReturnsItsValueAndTheTimeoutStillCountsAsExpired) {
  run_virtual([]() -> Coro<void> {
    auto t = asyncio::timeout(0.5);
    const int v = co_await t.run([]() -> Coro<int> {
      try {
        co_await asyncio::sleep(10);
      } catch (const CancelledError&) {
        co_return 7;
      }
      co_return 0;
    });
    EXPECT_EQ(v, 7);
    EXPECT_TRUE(t.expired());
    EXPECT_EQ(asyncio::current_task().cancelling(), 0);
  });
  SUCCEED();
}

TEST(Timeout, TaskWhoseTimeoutExpiredIsNotCancelledAndItsCancellingCountIsBackToZero) {
  run_virtual([]() -> Coro<void> {
    Task<int> task = asyncio::create_task([]() -> Coro<int> {
      try {
        co_await asyncio::timeout(0.001).run([] { return nap(10); });
      } catch (const TimeoutError&) {
        co_return asyncio::current_task().cancelling();
      }
      co_return -1;
    });
    const int cancelling_after = co_await task;
    EXPECT_EQ(cancelling_after, 0);
    EXPECT_FALSE(task.cancelled());
    EXPECT_EQ(task.cancelling(), 0);
  });
  SUCCEED();
}

// --- cancellation from elsewhere ------------------------------------------------------------

TEST(Timeout, CancelFromOutsideBeforeTheDeadlinePropagatesAsCancelledError) {
  run_virtual([]() -> Coro<void> {
    Timeout t = asyncio::timeout(10);
    Task<void> task = asyncio::create_task([&t]() -> Coro<void> { co_await t.run([] { return nap(100); }); });
    co_await asyncio::sleep(1);
    task.cancel("from outside");
    bool cancelled = false;
    try {
      co_await task;
    } catch (const CancelledError& e) {
      cancelled = true;
      EXPECT_STREQ(e.what(), "from outside");
    }
    EXPECT_TRUE(cancelled);
    EXPECT_TRUE(task.cancelled());
    EXPECT_FALSE(t.expired());
    EXPECT_EQ(now(), 1.0);
  });
  SUCCEED();
}

TEST(Timeout, SelfCancelInsideTheBodyPropagatesAsCancelledError) {
  run_virtual([]() -> Coro<void> {
    Timeout t = asyncio::timeout(10);
    Task<void> task = asyncio::create_task([&t]() -> Coro<void> {
      co_await t.run([]() -> Coro<void> {
        asyncio::current_task().cancel();
        co_await asyncio::sleep(10);
      });
    });
    EXPECT_THROW(co_await task, CancelledError);
    EXPECT_FALSE(t.expired());
  });
  SUCCEED();
}

TEST(Timeout, CancelFromOutsideInTheIterationTheTimeoutFiresStillPropagatesAsCancelledError) {
  run_virtual([]() -> Coro<void> {
    Timeout t = asyncio::timeout(1.0);
    Task<void> task = asyncio::create_task([&t]() -> Coro<void> { co_await t.run([] { return nap(100); }); });
    co_await asyncio::sleep(0);  // task entered the timeout: its handler is armed for 1.0
    // Armed after the timeout's handler: runs right after it, before the task resumes.
    asyncio::get_running_loop().call_at(1.0, [task]() mutable { task.cancel("outside"); });
    EXPECT_THROW(co_await task, CancelledError);
    EXPECT_TRUE(task.cancelled());
    EXPECT_TRUE(t.expired());  // it did fire, but the task owes the outside cancel too
  });
  SUCCEED();
}

TEST(Timeout, CancelFromOutsideJustBeforeTheTimeoutFiresStillPropagatesAsCancelledError) {
  run_virtual([]() -> Coro<void> {
    Task<void> task;
    // Armed before the timeout's handler: runs first in the iteration where both are due.
    asyncio::get_running_loop().call_at(1.0, [&task] { task.cancel("outside"); });
    Timeout t = asyncio::timeout(1.0);
    task = asyncio::create_task([&t]() -> Coro<void> { co_await t.run([] { return nap(100); }); });
    EXPECT_THROW(co_await task, CancelledError);
    EXPECT_TRUE(task.cancelled());
    EXPECT_EQ(now(), 1.0);
  });
  SUCCEED();
}

TEST(Timeout, TaskCancelledJustAfterTheFutureTheBodyAwaitsCompletesStillEndsCancelled) {
  run_virtual([]() -> Coro<void> {
    Future<int> fut = asyncio::get_running_loop().create_future<int>();
    bool body_resumed = false;
    Task<int> task = asyncio::create_task([&]() -> Coro<int> {
      co_return co_await asyncio::timeout(10).run([&]() -> Coro<int> {
        const int v = co_await fut;
        body_resumed = true;
        co_return v;
      });
    });
    co_await asyncio::sleep(0);  // task parks on fut
    fut.set_result(5);
    task.cancel("late");  // same iteration: the task's wake-up is queued, not yet run
    EXPECT_THROW(co_await task, CancelledError);
    EXPECT_TRUE(task.cancelled());
    EXPECT_FALSE(body_resumed);
    EXPECT_EQ(fut.result(), 5);
  });
  SUCCEED();
}

TEST(Timeout, FutureCompletingInTheIterationTheDeadlineFiresIsTooLateTheBodyTimesOut) {
  // As CPython 3.12+: the future's callback runs first, but the task has not resumed yet when the
  // timeout cancels it, so the cancellation wins (the future keeps its result).
  run_virtual([]() -> Coro<void> {
    EventLoop& loop = asyncio::get_running_loop();
    Future<int> fut = loop.create_future<int>();
    loop.call_at(1.0, [fut]() mutable { fut.set_result(42); });  // armed before the timeout
    auto t = asyncio::timeout_at(1.0);
    EXPECT_THROW(co_await t.run([&fut]() -> Future<int>& { return fut; }), TimeoutError);
    EXPECT_TRUE(t.expired());
    EXPECT_EQ(fut.result(), 42);
  });
  SUCCEED();
}

TEST(Timeout, TimeoutInsideCleanupAfterACaughtCancellationStillRaisesTimeoutError) {
  run_virtual([]() -> Coro<void> {
    Task<void> task = asyncio::create_task([]() -> Coro<void> {
      try {
        asyncio::current_task().cancel();
        co_await asyncio::sleep(1);
      } catch (const CancelledError&) {
      }
      EXPECT_EQ(asyncio::current_task().cancelling(), 1);  // caught, never uncancelled
      EXPECT_THROW(co_await asyncio::timeout(0.0).run([] { return nap(1); }), TimeoutError);
      EXPECT_EQ(asyncio::current_task().cancelling(), 1);
    });
    co_await task;
    EXPECT_FALSE(task.cancelled());
  });
  SUCCEED();
}

TEST(Timeout, CancelInsideATimeoutAfterACaughtCancellationPropagatesAsCancelledError) {
  run_virtual([]() -> Coro<void> {
    Task<void> task = asyncio::create_task([]() -> Coro<void> {
      try {
        asyncio::current_task().cancel();
        co_await asyncio::sleep(1);
      } catch (const CancelledError&) {
      }
      EXPECT_THROW(co_await asyncio::timeout(1.0).run([]() -> Coro<void> {
        asyncio::current_task().cancel();
        co_await asyncio::sleep(2);
      }),
                   CancelledError);
    });
    co_await task;
    EXPECT_FALSE(task.cancelled());
  });
  SUCCEED();
}

// --- nesting ------------------------------------------------------------------------------------

TEST(Timeout, NestedTimeoutsWhenTheInnerExpiresOnlyTheInnerRaisesTimeoutError) {
  run_virtual([]() -> Coro<void> {
    auto outer = asyncio::timeout(10);
    auto inner = asyncio::timeout(1);
    const int v = co_await outer.run([&]() -> Coro<int> {
      EXPECT_THROW(co_await inner.run([] { return nap(100); }), TimeoutError);
      EXPECT_EQ(now(), 1.0);
      co_await asyncio::sleep(2);  // the outer is unaffected: no pending cancel
      co_return 5;
    });
    EXPECT_EQ(v, 5);
    EXPECT_TRUE(inner.expired());
    EXPECT_FALSE(outer.expired());
    EXPECT_EQ(now(), 3.0);
    EXPECT_EQ(asyncio::current_task().cancelling(), 0);
  });
  SUCCEED();
}

TEST(Timeout, NestedTimeoutsWhenTheOuterExpiresTheInnerPropagatesCancelledErrorAndTheOuterRaisesTimeoutError) {
  run_virtual([]() -> Coro<void> {
    auto outer = asyncio::timeout(1);
    auto inner = asyncio::timeout(10);
    bool inner_raised_cancelled = false;
    EXPECT_THROW(co_await outer.run([&]() -> Coro<void> {
      try {
        co_await inner.run([] { return nap(100); });
      } catch (const CancelledError&) {
        inner_raised_cancelled = true;
        throw;
      }
    }),
                 TimeoutError);
    EXPECT_TRUE(inner_raised_cancelled);
    EXPECT_TRUE(outer.expired());
    EXPECT_FALSE(inner.expired());
    EXPECT_EQ(now(), 1.0);
  });
  SUCCEED();
}

TEST(Timeout, NestedTimeoutsWithTheSameDeadlineOnlyTheOutermostRaisesTimeoutError) {
  run_virtual([]() -> Coro<void> {
    const double deadline = now() + 0.01;
    auto outer = asyncio::timeout_at(deadline);
    auto inner = asyncio::timeout_at(deadline);
    bool inner_raised_cancelled = false;
    EXPECT_THROW(co_await outer.run([&]() -> Coro<void> {
      try {
        co_await inner.run([] { return nap(10); });
      } catch (const CancelledError&) {
        inner_raised_cancelled = true;
        throw;
      }
    }),
                 TimeoutError);
    EXPECT_TRUE(inner_raised_cancelled);
    EXPECT_TRUE(outer.expired());
    EXPECT_TRUE(inner.expired());
  });
  SUCCEED();
}

TEST(Timeout, OuterTimeoutStillInterruptsTheBodyAfterAnInnerTimeoutWasHandled) {
  run_virtual([]() -> Coro<void> {
    EXPECT_THROW(co_await asyncio::timeout(0.1).run([]() -> Coro<void> {
      EXPECT_THROW(co_await asyncio::timeout(0.01).run([] { return nap(1); }), TimeoutError);
      co_await asyncio::sleep(10);  // interrupted by the outer timeout
    }),
                 TimeoutError);
    EXPECT_EQ(now(), 0.1);
  });
  SUCCEED();
}

TEST(Timeout, TimeoutInsideTheCleanupOfAnExpiredTimeoutRaisesItsOwnTimeoutError) {
  run_virtual([]() -> Coro<void> {
    EXPECT_THROW(co_await asyncio::timeout(0.01).run([]() -> Coro<void> {
      std::exception_ptr error;
      try {
        co_await asyncio::sleep(1);
      } catch (...) {
        error = std::current_exception();
      }
      // "finally": a cleanup step with its own timeout, while the outer cancellation is pending.
      EXPECT_THROW(co_await asyncio::timeout(0.01).run([] { return nap(10); }), TimeoutError);
      if (error) std::rethrow_exception(error);
    }),
                 TimeoutError);
    EXPECT_EQ(now(), 0.02);
  });
  SUCCEED();
}

// --- reschedule ---------------------------------------------------------------------------------

TEST(Timeout, RescheduleToALaterDeadlineExpiresThere) {
  run_virtual([]() -> Coro<void> {
    auto t = asyncio::timeout(1);
    EXPECT_THROW(co_await t.run([&t]() -> Coro<void> {
      co_await asyncio::sleep(0.5);
      t.reschedule(now() + 2);
      co_await asyncio::sleep(100);
    }),
                 TimeoutError);
    EXPECT_EQ(now(), 2.5);
    EXPECT_EQ(t.when(), 2.5);
  });
  SUCCEED();
}

TEST(Timeout, RescheduleToAnEarlierDeadlineExpiresThere) {
  run_virtual([]() -> Coro<void> {
    auto t = asyncio::timeout(10);
    EXPECT_THROW(co_await t.run([&t]() -> Coro<void> {
      t.reschedule(now() + 0.25);
      co_await asyncio::sleep(100);
    }),
                 TimeoutError);
    EXPECT_EQ(now(), 0.25);
  });
  SUCCEED();
}

TEST(Timeout, ReschedulingLaterAgainAndAgainExpiresOnceAtTheLastDeadline) {
  // A server pushing a connection's deadline on at every request: the timer is not moved each
  // time (it re-arms when the earlier deadline comes), and the expiry is still exact.
  run_virtual([]() -> Coro<void> {
    auto t = asyncio::timeout(1);
    int pushes = 0;
    EXPECT_THROW(co_await t.run([&]() -> Coro<void> {
      for (; pushes < 10; ++pushes) {
        co_await asyncio::sleep(0.5);
        t.reschedule(now() + 1);
      }
      co_await asyncio::sleep(100);
    }),
                 TimeoutError);
    EXPECT_EQ(pushes, 10);
    EXPECT_EQ(now(), 6.0);
  });
  SUCCEED();
}

TEST(Timeout, ReschedulingEarlierAfterLaterExpiresAtTheEarlierDeadline) {
  run_virtual([]() -> Coro<void> {
    auto t = asyncio::timeout(2);
    EXPECT_THROW(co_await t.run([&t]() -> Coro<void> {
      t.reschedule(now() + 10);
      t.reschedule(now() + 1);
      co_await asyncio::sleep(100);
    }),
                 TimeoutError);
    EXPECT_EQ(now(), 1.0);
  });
  SUCCEED();
}

TEST(Timeout, ABodyThatEndsAfterItsDeadlineWasPushedLaterIsNotCancelled) {
  run_virtual([]() -> Coro<void> {
    auto t = asyncio::timeout(1);
    co_await t.run([&t]() -> Coro<void> {
      t.reschedule(now() + 5);
      co_await asyncio::sleep(3);  // past the first deadline, within the second
    });
    EXPECT_FALSE(t.expired());
    EXPECT_EQ(now(), 3.0);
  });
  SUCCEED();
}

TEST(Timeout, RescheduleToNulloptRemovesTheDeadline) {
  run_virtual([]() -> Coro<void> {
    auto t = asyncio::timeout(1);
    co_await t.run([&t]() -> Coro<void> {
      t.reschedule(std::nullopt);
      co_await asyncio::sleep(100);
    });
    EXPECT_FALSE(t.expired());
    EXPECT_FALSE(t.when().has_value());
    EXPECT_EQ(now(), 100.0);
  });
  SUCCEED();
}

TEST(Timeout, RescheduleIntoThePastExpiresInTheNextIteration) {
  run_virtual([]() -> Coro<void> {
    auto t = asyncio::timeout(10);
    EXPECT_THROW(co_await t.run([&t]() -> Coro<void> {
      co_await asyncio::sleep(1);
      t.reschedule(0.5);
      co_await asyncio::sleep(100);
    }),
                 TimeoutError);
    EXPECT_EQ(now(), 1.0);
  });
  SUCCEED();
}

TEST(Timeout, RescheduleFromAnotherTaskMovesTheDeadlineOfTheRunningBody) {
  run_virtual([]() -> Coro<void> {
    const double deadline1 = now() + 10;
    const double deadline2 = deadline1 + 20;
    Timeout t = asyncio::timeout_at(deadline1);
    Task<void> task = asyncio::create_task([&t]() -> Coro<void> { co_await t.run([] { return nap(50); }); });
    co_await asyncio::sleep(0);
    EXPECT_EQ(t.when(), deadline1);
    t.reschedule(deadline2);
    EXPECT_EQ(t.when(), deadline2);
    t.reschedule(std::nullopt);
    EXPECT_FALSE(t.when().has_value());
    task.cancel();
    EXPECT_THROW(co_await task, CancelledError);
    EXPECT_FALSE(t.expired());
  });
  SUCCEED();
}

TEST(Timeout, RescheduleBeforeRunIsRuntimeError) {
  run_virtual([]() -> Coro<void> {
    auto t = asyncio::timeout(0.01);
    try {
      t.reschedule(0.02);
      ADD_FAILURE() << "no exception";
    } catch (const RuntimeError& e) {
      EXPECT_NE(std::string(e.what()).find("has not been entered"), std::string::npos) << e.what();
    }
    co_return;
  });
  SUCCEED();
}

TEST(Timeout, RescheduleAfterRunFinishedIsRuntimeError) {
  run_virtual([]() -> Coro<void> {
    auto t = asyncio::timeout(0.01);
    co_await t.run([] { return nap(0); });
    try {
      t.reschedule(0.02);
      ADD_FAILURE() << "no exception";
    } catch (const RuntimeError& e) {
      EXPECT_NE(std::string(e.what()).find("finished"), std::string::npos) << e.what();
    }
  });
  SUCCEED();
}

TEST(Timeout, RescheduleOnceExpiredIsRuntimeError) {
  run_virtual([]() -> Coro<void> {
    auto t = asyncio::timeout(0.01);
    std::string message;
    const int v = co_await t.run([&]() -> Coro<int> {
      try {
        co_await asyncio::sleep(1);
      } catch (const CancelledError&) {
      }
      try {
        t.reschedule(5);
      } catch (const RuntimeError& e) {
        message = e.what();
      }
      co_return 1;
    });
    EXPECT_EQ(v, 1);
    EXPECT_EQ(message, "Cannot change state of expiring Timeout");
  });
  SUCCEED();
}

// --- misuse -------------------------------------------------------------------------------------

TEST(Timeout, RunningATimeoutASecondTimeIsRuntimeError) {
  run_virtual([]() -> Coro<void> {
    auto t = asyncio::timeout(0.01);
    co_await t.run([] { return nap(0); });
    try {
      co_await t.run([] { return nap(0); });
      ADD_FAILURE() << "no exception";
    } catch (const RuntimeError& e) {
      EXPECT_STREQ(e.what(), "Timeout has already been entered");
    }
  });
  SUCCEED();
}

TEST(Timeout, RunningATimeoutInsideItsOwnRunIsRuntimeError) {
  run_virtual([]() -> Coro<void> {
    auto t = asyncio::timeout(0.01);
    std::string message;
    co_await t.run([&]() -> Coro<void> {
      try {
        co_await t.run([] { return nap(0); });
      } catch (const RuntimeError& e) {
        message = e.what();
      }
    });
    EXPECT_EQ(message, "Timeout has already been entered");
  });
  SUCCEED();
}

TEST(Timeout, RunOutsideATaskIsRuntimeErrorAndLeavesTheTimeoutUnentered) {
  EventLoop loop(virtual_clock());
  std::string error;
  std::string reschedule_error;
  loop.call_soon([&] {
    Timeout t = asyncio::timeout(0.01);
    await_without_task(t.run([] { return nap(0); }), &error);
    try {
      t.reschedule(0.02);
    } catch (const RuntimeError& e) {
      reschedule_error = e.what();
    }
    loop.stop();
  });
  loop.run_forever();
  EXPECT_EQ(error, "Timeout should be used inside a task");
  EXPECT_EQ(reschedule_error, "Timeout has not been entered");
}

TEST(Timeout, TimeoutWithoutARunningLoopIsRuntimeError) { EXPECT_THROW((void)asyncio::timeout(1), RuntimeError); }

TEST(Timeout, TimeoutOfNanIsValueError) {
  run_virtual([]() -> Coro<void> {
    EXPECT_THROW((void)asyncio::timeout(std::nan("")), asyncio::ValueError);
    co_return;
  });
  SUCCEED();
}

// --- repr -----------------------------------------------------------------------------------------

TEST(Timeout, ReprShowsTheStateAndTheDeadlineWhileActive) {
  run_virtual([]() -> Coro<void> {
    co_await asyncio::sleep(2);
    auto t = asyncio::timeout(10.5);
    EXPECT_EQ(t.repr(), "<Timeout [created]>");
    co_await t.run([&t]() -> Coro<void> {
      EXPECT_EQ(t.repr(), "<Timeout [active] when=12.500>");
      co_return;
    });
    EXPECT_EQ(t.repr(), "<Timeout [finished]>");
    auto none = asyncio::timeout(std::nullopt);
    co_await none.run([&none]() -> Coro<void> {
      EXPECT_EQ(none.repr(), "<Timeout [active] when=None>");
      co_return;
    });
    auto expiring = asyncio::timeout(0.01);
    EXPECT_THROW(co_await expiring.run([] { return nap(10); }), TimeoutError);
    EXPECT_EQ(expiring.repr(), "<Timeout [expired]>");
  });
  SUCCEED();
}

// --- lifetime -------------------------------------------------------------------------------------

TEST(Timeout, LoopDestroyedWhileABodyRunsUnderATimeoutDisarmsItAndLeaksNothing) {
  {
    EventLoop loop(virtual_clock());
    HandlerCapture handler(loop);
    Task<void> task =
        loop.create_task([]() -> Coro<void> { co_await asyncio::timeout(100).run([] { return nap(1000); }); });
    loop.call_later(1.0, [&loop] { loop.stop(); });
    loop.run_forever();
    EXPECT_FALSE(task.done());
  }  // the task is abandoned: its frames (and the Timeout in them) are unwound
  SUCCEED();
}

}  // namespace
