// asyncio::run, Runner and loop.run_until_complete (CPython 3.13 Lib/asyncio/runners.py and
// base_events.py are the reference).

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "support/test_support.hpp"

namespace {

using asyncio::CancelledError;
using asyncio::Coro;
using asyncio::EventLoop;
using asyncio::Future;
using asyncio::Runner;
using asyncio::RuntimeError;
using asyncio::Task;
using asyncio::testing::HandlerCapture;
using asyncio::testing::run_virtual;
using asyncio::testing::virtual_clock;

Coro<int> answer() { co_return 42; }

Coro<int> answer_later() {
  co_await asyncio::sleep(5);
  co_return 42;
}

Coro<int> fails() {
  co_await asyncio::sleep(1);
  throw std::runtime_error("main failed");
}

Coro<double> loop_time() { co_return asyncio::get_running_loop().time(); }

TEST(Run, RunReturnsTheResultOfTheCoroutine) { EXPECT_EQ(run_virtual(answer_later()), 42); }

TEST(Run, RunAcceptsACallableReturningACoro) {
  const std::string text = "captured";
  EXPECT_EQ(run_virtual([text]() -> Coro<std::string> {
              co_await asyncio::sleep(1);
              co_return text;
            }),
            "captured");
}

TEST(Run, RunOfAVoidCoroutineReturnsOnceItIsDone) {
  bool done = false;
  run_virtual([&done]() -> Coro<void> {
    co_await asyncio::sleep(1);
    done = true;
  });
  EXPECT_TRUE(done);
}

TEST(Run, RunRethrowsTheExceptionOfTheCoroutine) {
  try {
    run_virtual(fails());
    FAIL() << "run() did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "main failed");
  }
}

TEST(Run, RunCancelsTasksLeftPendingAndWaitsForThem) {
  auto saw_cancel = std::make_shared<bool>(false);
  auto cleaned_up = std::make_shared<bool>(false);
  run_virtual([saw_cancel, cleaned_up]() -> Coro<void> {
    (void)asyncio::create_task([saw_cancel, cleaned_up]() -> Coro<void> {
      try {
        co_await asyncio::sleep(3600);
      } catch (const CancelledError&) {
        *saw_cancel = true;
      }
      co_await asyncio::sleep(0);  // cleanup after the cancellation still gets to run
      *cleaned_up = true;
    });
    co_await asyncio::sleep(0);
  });
  EXPECT_TRUE(*saw_cancel);
  EXPECT_TRUE(*cleaned_up);
}

TEST(Run, ExceptionFromALeftoverTaskDuringShutdownIsReportedToTheHandler) {
  Runner runner(virtual_clock());
  HandlerCapture handler(runner.get_loop());
  runner.run([]() -> Coro<void> {
    (void)asyncio::create_task([]() -> Coro<void> {
      try {
        co_await asyncio::sleep(3600);
      } catch (const CancelledError&) {
      }
      throw std::runtime_error("failed while cancelled");
    });
    co_await asyncio::sleep(0);
  });
  runner.close();
  ASSERT_EQ(handler.contexts().size(), 1u);
  EXPECT_EQ(handler.contexts()[0].message, "unhandled exception during asyncio::run() shutdown");
  EXPECT_NE(handler.exceptions()[0].find("failed while cancelled"), std::string::npos);
}

TEST(Run, RunInsideARunningLoopIsRuntimeError) {
  const bool raised = run_virtual([]() -> Coro<bool> {
    try {
      asyncio::run(answer());
    } catch (const RuntimeError&) {
      co_return true;
    }
    co_return false;
  });
  EXPECT_TRUE(raised);
}

TEST(Run, RunDestroysItsLoopWhenItReturns) {
  Future<int> kept;
  run_virtual([&kept]() -> Coro<void> {
    kept = asyncio::get_running_loop().create_future<int>();
    EXPECT_NE(kept.get_loop_ptr(), nullptr);
    co_return;
  });
  EXPECT_EQ(kept.get_loop_ptr(), nullptr);
}

TEST(Run, RunUsesAFreshLoopEachTime) {
  EXPECT_EQ(run_virtual([]() -> Coro<double> {
              co_await asyncio::sleep(100);
              co_return asyncio::get_running_loop().time();
            }),
            100.0);
  EXPECT_EQ(run_virtual(loop_time()), 0.0);
}

TEST(Run, RunLeavesNoRunningLoopBehind) {
  run_virtual(answer());
  EXPECT_THROW(asyncio::get_running_loop(), RuntimeError);
}

TEST(Runner, RunnerRunsTwoCoroutinesOnTheSameLoop) {
  Runner runner(virtual_clock());
  const EventLoop* first = nullptr;
  const EventLoop* second = nullptr;
  runner.run([&first]() -> Coro<void> {
    first = &asyncio::get_running_loop();
    co_await asyncio::sleep(10);
  });
  const double t = runner.run([&second]() -> Coro<double> {
    second = &asyncio::get_running_loop();
    co_return asyncio::get_running_loop().time();
  });
  EXPECT_EQ(first, second);
  EXPECT_EQ(first, &runner.get_loop());
  EXPECT_EQ(t, 10.0);  // the same clock carried on
}

TEST(Runner, TaskLeftByOneRunKeepsRunningInTheNext) {
  Runner runner(virtual_clock());
  auto ticks = std::make_shared<int>(0);
  runner.run([ticks]() -> Coro<void> {
    (void)asyncio::create_task([ticks]() -> Coro<void> {
      for (;;) {
        co_await asyncio::sleep(1);
        ++*ticks;
      }
    });
    co_return;
  });
  runner.run([]() -> Coro<void> { co_await asyncio::sleep(3.5); });
  EXPECT_EQ(*ticks, 3);
}

TEST(Runner, CloseCancelsTasksStillPending) {
  auto saw_cancel = std::make_shared<bool>(false);
  Runner runner(virtual_clock());
  runner.run([saw_cancel]() -> Coro<void> {
    (void)asyncio::create_task([saw_cancel]() -> Coro<void> {
      try {
        co_await asyncio::sleep(3600);
      } catch (const CancelledError&) {
        *saw_cancel = true;
        throw;
      }
    });
    co_return;
  });
  EXPECT_FALSE(*saw_cancel);
  runner.close();
  EXPECT_TRUE(*saw_cancel);
}

TEST(Runner, GetLoopAfterCloseIsRuntimeError) {
  Runner runner(virtual_clock());
  runner.run(answer());
  runner.close();
  EXPECT_THROW(runner.get_loop(), RuntimeError);
}

TEST(Runner, RunAfterCloseIsRuntimeError) {
  Runner runner(virtual_clock());
  runner.close();
  EXPECT_THROW(runner.run(answer()), RuntimeError);
}

TEST(Runner, CloseIsIdempotent) {
  Runner runner(virtual_clock());
  runner.run(answer());
  runner.close();
  EXPECT_NO_THROW(runner.close());
  EXPECT_THROW(runner.get_loop(), RuntimeError);
}

TEST(Runner, RunnerRunInsideARunningLoopIsRuntimeError) {
  const bool raised = run_virtual([]() -> Coro<bool> {
    Runner inner(virtual_clock());
    try {
      inner.run(answer());
    } catch (const RuntimeError&) {
      co_return true;
    }
    co_return false;
  });
  EXPECT_TRUE(raised);
}

TEST(RunUntilComplete, RunUntilCompleteOfAFutureReturnsItsResult) {
  EventLoop loop(virtual_clock());
  Future<int> fut = loop.create_future<int>();
  loop.call_later(3, [fut]() mutable { fut.set_result(8); });
  EXPECT_EQ(loop.run_until_complete(fut), 8);
  EXPECT_EQ(loop.time(), 3.0);
}

TEST(RunUntilComplete, RunUntilCompleteOfAFutureRethrowsItsException) {
  EventLoop loop(virtual_clock());
  Future<int> fut = loop.create_future<int>();
  loop.call_soon([fut]() mutable { fut.set_exception(std::runtime_error("fut failed")); });
  EXPECT_THROW(loop.run_until_complete(fut), std::runtime_error);
}

TEST(RunUntilComplete, RunUntilCompleteOfACoroWrapsItInATask) {
  EventLoop loop(virtual_clock());
  bool in_task = false;
  const int v = loop.run_until_complete([&in_task]() -> Coro<int> {
    in_task = static_cast<bool>(asyncio::current_task());
    co_return co_await answer_later();
  });
  EXPECT_EQ(v, 42);
  EXPECT_TRUE(in_task);
  EXPECT_EQ(loop.time(), 5.0);
}

TEST(RunUntilComplete, RunUntilCompleteOfATaskReturnsItsResult) {
  EventLoop loop(virtual_clock());
  Task<int> t = asyncio::create_task(loop, answer_later());
  EXPECT_EQ(loop.run_until_complete(t), 42);
}

TEST(RunUntilComplete, LoopStoppedBeforeTheFutureCompletesIsRuntimeError) {
  EventLoop loop(virtual_clock());
  Future<int> fut = loop.create_future<int>();
  loop.call_soon([&loop] { loop.stop(); });
  try {
    loop.run_until_complete(fut);
    FAIL() << "run_until_complete did not throw";
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "Event loop stopped before Future completed.");
  }
  EXPECT_FALSE(fut.done());
}

TEST(RunUntilComplete, RunUntilCompleteOfAFutureOfAnotherLoopIsValueError) {
  // Python: "The future belongs to a different loop than the one specified as the loop argument".
  EventLoop loop(virtual_clock());
  EventLoop other(virtual_clock());
  Future<int> foreign = other.create_future<int>();
  loop.call_later(1, [&loop] { loop.stop(); });  // a guard: without the check the loop would wait forever
  EXPECT_THROW(loop.run_until_complete(foreign), asyncio::ValueError);
}

TEST(RunUntilComplete, RunUntilCompleteOnAClosedLoopIsRuntimeError) {
  EventLoop loop(virtual_clock());
  loop.close();
  EXPECT_THROW(loop.run_until_complete(loop_time()), RuntimeError);
}

TEST(RunUntilComplete, RunUntilCompleteInsideTheRunningLoopIsRuntimeError) {
  EventLoop loop(virtual_clock());
  const bool raised = loop.run_until_complete([&loop]() -> Coro<bool> {
    Future<int> other = loop.create_future<int>();
    other.set_result(1);
    try {
      loop.run_until_complete(other);
    } catch (const RuntimeError&) {
      co_return true;
    }
    co_return false;
  });
  EXPECT_TRUE(raised);
}

}  // namespace
