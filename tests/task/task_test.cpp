// Task<T>: Python's asyncio.Task (CPython 3.13 Lib/asyncio/tasks.py is the reference).

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/test_support.hpp"

namespace {

using asyncio::AnyTask;
using asyncio::CancelledError;
using asyncio::Coro;
using asyncio::EventLoop;
using asyncio::Future;
using asyncio::Task;
using asyncio::TaskOptions;
using asyncio::testing::HandlerCapture;
using asyncio::testing::run_virtual;
using asyncio::testing::virtual_clock;

Coro<int> forty_two() { co_return 42; }

Coro<int> add_one(int x) { co_return x + 1; }

Coro<int> recurse(int depth) {
  if (depth == 0) co_return 0;
  const int below = co_await recurse(depth - 1);
  co_return below + 1;
}

Coro<void> fail_with(std::string message) {
  co_await asyncio::sleep(1);
  throw std::runtime_error(message);
}

/// The number N of a default task name "Task-N" (-1 if the name has another form).
long task_number(const std::string& name) {
  const std::string prefix = "Task-";
  if (name.rfind(prefix, 0) != 0 || name.size() == prefix.size()) return -1;
  const std::string digits = name.substr(prefix.size());
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) return -1;
  return std::stol(digits);
}

TEST(Task, CreateTaskFromACoroRunsItAndAwaitingGivesItsResult) {
  const int got = run_virtual([]() -> Coro<int> {
    Task<int> t = asyncio::create_task(forty_two());
    const int v = co_await t;
    EXPECT_TRUE(t.done());
    co_return v;
  });
  EXPECT_EQ(got, 42);
}

TEST(Task, CreateTaskSchedulesTheTaskWithoutRunningIt) {
  run_virtual([]() -> Coro<void> {
    bool ran = false;
    Task<void> t = asyncio::create_task([&ran]() -> Coro<void> {
      ran = true;
      co_return;
    });
    EXPECT_FALSE(ran);
    EXPECT_FALSE(t.done());
    co_await t;
    EXPECT_TRUE(ran);
  });
  SUCCEED();
}

TEST(Task, LambdaCapturesLiveAsLongAsTheTask) {
  const std::string got = run_virtual([]() -> Coro<std::string> {
    auto shared = std::make_shared<int>(7);
    std::weak_ptr<int> weak = shared;
    Task<std::string> t =
        asyncio::create_task([text = std::string("a string long enough to live on the heap, not in SSO"),
                              p = std::move(shared)]() -> Coro<std::string> {
          co_await asyncio::sleep(1);
          co_return text + " " + std::to_string(*p);
        });
    EXPECT_FALSE(weak.expired());
    co_return co_await t;
  });
  EXPECT_EQ(got, "a string long enough to live on the heap, not in SSO 7");
}

TEST(Task, LambdaCapturesAreReleasedOnceTheTaskIsDoneAndUnreferenced) {
  const bool expired = run_virtual([]() -> Coro<bool> {
    auto shared = std::make_shared<int>(1);
    std::weak_ptr<int> weak = shared;
    Task<int> t = asyncio::create_task([p = std::move(shared)]() -> Coro<int> {
      co_await asyncio::sleep(1);
      co_return *p;
    });
    EXPECT_EQ(co_await t, 1);
    t = Task<int>();
    co_return weak.expired();
  });
  EXPECT_TRUE(expired);
}

TEST(Task, DefaultNamesAreTaskNumberedInCreationOrder) {
  run_virtual([]() -> Coro<void> {
    Task<int> a = asyncio::create_task(forty_two());
    Task<int> b = asyncio::create_task(forty_two());
    const long na = task_number(a.get_name());
    const long nb = task_number(b.get_name());
    EXPECT_GT(na, 0) << a.get_name();
    EXPECT_EQ(nb, na + 1) << b.get_name();
    co_await a;
    co_await b;
  });
  SUCCEED();
}

TEST(Task, TaskOptionsNameGivesTheTaskItsName) {
  const std::string name = run_virtual([]() -> Coro<std::string> {
    Task<int> t = asyncio::create_task(forty_two(), TaskOptions{.name = "worker", .eager_start = false});
    co_await t;
    co_return t.get_name();
  });
  EXPECT_EQ(name, "worker");
}

TEST(Task, SetNameRenamesTheTask) {
  const std::string name = run_virtual([]() -> Coro<std::string> {
    Task<int> t = asyncio::create_task(forty_two());
    t.set_name("renamed");
    co_await t;
    co_return t.get_name();
  });
  EXPECT_EQ(name, "renamed");
}

TEST(Task, CoroNameIsTheNameOfTheCoroutineFunction) {
  const std::string name = run_virtual([]() -> Coro<std::string> {
    Task<int> t = asyncio::create_task(forty_two());
    co_await t;
    co_return t.coro_name();
  });
  EXPECT_EQ(name, "forty_two");
}

TEST(Task, TaskBlockedOnAFutureAndCancelledSeesCancelledErrorWithTheMessage) {
  run_virtual([]() -> Coro<void> {
    Future<int> fut = asyncio::get_running_loop().create_future<int>();
    std::string seen = "<not cancelled>";
    Task<void> t = asyncio::create_task([&]() -> Coro<void> {
      try {
        co_await fut;
      } catch (const CancelledError& e) {
        seen = e.what();
        throw;
      }
    });
    co_await asyncio::sleep(0);  // t parks on fut
    EXPECT_TRUE(t.cancel("shutting down"));
    std::string outer = "<not cancelled>";
    try {
      co_await t;
    } catch (const CancelledError& e) {
      outer = e.what();
    }
    EXPECT_EQ(seen, "shutting down");
    EXPECT_EQ(outer, "shutting down");
    EXPECT_TRUE(t.cancelled());
    EXPECT_TRUE(fut.cancelled());  // cancelling the task cancels the future it waits on
  });
  SUCCEED();
}

TEST(Task, TaskCancelledBeforeItsFirstStepNeverRunsItsBody) {
  EventLoop loop(virtual_clock());
  bool ran = false;
  Task<void> t = asyncio::create_task(loop, [&ran]() -> Coro<void> {
    ran = true;
    co_return;
  });
  EXPECT_TRUE(t.cancel("early"));
  loop.run_once();
  EXPECT_FALSE(ran);
  ASSERT_TRUE(t.done());
  EXPECT_TRUE(t.cancelled());
  try {
    t.result();
    FAIL() << "result() did not throw";
  } catch (const CancelledError& e) {
    EXPECT_STREQ(e.what(), "early");
  }
}

TEST(Task, CancelReturnsFalseForADoneTask) {
  EventLoop loop(virtual_clock());
  Task<int> t = asyncio::create_task(loop, forty_two());
  loop.run_once();
  ASSERT_TRUE(t.done());
  EXPECT_FALSE(t.cancel());
  EXPECT_FALSE(t.cancelled());
  EXPECT_EQ(t.result(), 42);
  EXPECT_EQ(t.cancelling(), 0);
}

TEST(Task, CancellingCountsCancelCallsAndUncancelDecrements) {
  EventLoop loop(virtual_clock());
  Task<int> t = asyncio::create_task(loop, forty_two());
  EXPECT_EQ(t.cancelling(), 0);
  t.cancel();
  EXPECT_EQ(t.cancelling(), 1);
  t.cancel();
  EXPECT_EQ(t.cancelling(), 2);
  EXPECT_EQ(t.uncancel(), 1);
  EXPECT_EQ(t.cancelling(), 1);
  EXPECT_EQ(t.uncancel(), 0);
  EXPECT_EQ(t.uncancel(), 0);  // never below zero
  EXPECT_EQ(t.cancelling(), 0);
  loop.run_once();
}

TEST(Task, UncancelDownToZeroBeforeTheFirstStepLetsTheBodyRun) {
  // Python 3.13: uncancel() reaching 0 clears the pending cancellation (_must_cancel).
  EventLoop loop(virtual_clock());
  Task<int> t = asyncio::create_task(loop, forty_two());
  t.cancel();
  t.uncancel();
  loop.run_once();
  ASSERT_TRUE(t.done());
  EXPECT_FALSE(t.cancelled());
  EXPECT_EQ(t.result(), 42);
}

TEST(Task, TaskThatCatchesCancelledErrorAndReturnsAValueEndsWithThatValue) {
  run_virtual([]() -> Coro<void> {
    Future<int> fut = asyncio::get_running_loop().create_future<int>();
    Task<int> t = asyncio::create_task([&fut]() -> Coro<int> {
      bool cancelled = false;
      try {
        co_await fut;
      } catch (const CancelledError&) {
        cancelled = true;
      }
      co_return cancelled ? 99 : 0;
    });
    co_await asyncio::sleep(0);
    t.cancel();
    const int v = co_await t;
    EXPECT_EQ(v, 99);
    EXPECT_FALSE(t.cancelled());
    EXPECT_EQ(t.cancelling(), 1);  // nobody called uncancel()
  });
  SUCCEED();
}

TEST(Task, TaskCancelledJustAfterTheFutureItAwaitsCompletesStillEndsCancelled) {
  run_virtual([]() -> Coro<void> {
    Future<int> fut = asyncio::get_running_loop().create_future<int>();
    bool resumed_normally = false;
    Task<void> t = asyncio::create_task([&]() -> Coro<void> {
      co_await fut;
      resumed_normally = true;
    });
    co_await asyncio::sleep(0);  // t parks on fut
    fut.set_result(5);
    EXPECT_TRUE(t.cancel("late"));  // same iteration: t's wake-up is queued, not yet run
    bool raised = false;
    try {
      co_await t;
    } catch (const CancelledError& e) {
      raised = true;
      EXPECT_STREQ(e.what(), "late");
    }
    EXPECT_TRUE(raised);
    EXPECT_TRUE(t.cancelled());
    EXPECT_FALSE(resumed_normally);
    EXPECT_FALSE(fut.cancelled());
    EXPECT_EQ(fut.result(), 5);
  });
  SUCCEED();
}

TEST(Task, TaskCancelledWhileAwaitingAnotherTaskCancelsThatTaskToo) {
  run_virtual([]() -> Coro<void> {
    Future<int> fut = asyncio::get_running_loop().create_future<int>();
    Task<int> inner = asyncio::create_task([&fut]() -> Coro<int> { co_return co_await fut; });
    Task<int> outer = asyncio::create_task([&inner]() -> Coro<int> { co_return co_await inner; });
    co_await asyncio::sleep(0);
    co_await asyncio::sleep(0);
    outer.cancel("stop");
    EXPECT_THROW(co_await outer, CancelledError);
    EXPECT_TRUE(outer.cancelled());
    EXPECT_TRUE(inner.cancelled());
    EXPECT_TRUE(fut.cancelled());
  });
  SUCCEED();
}

TEST(Task, TaskThatCancelsItselfEndsCancelledAtItsNextSuspension) {
  run_virtual([]() -> Coro<void> {
    bool after_sleep = false;
    Task<void> t = asyncio::create_task([&after_sleep]() -> Coro<void> {
      asyncio::current_task().cancel("self");
      co_await asyncio::sleep(10);
      after_sleep = true;
    });
    EXPECT_THROW(co_await t, CancelledError);
    EXPECT_TRUE(t.cancelled());
    EXPECT_FALSE(after_sleep);
    EXPECT_EQ(asyncio::get_running_loop().time(), 0.0);
  });
  SUCCEED();
}

TEST(Task, TaskThatCancelsItselfAndReturnsWithoutSuspendingEndsCancelled) {
  EventLoop loop(virtual_clock());
  Task<int> t = asyncio::create_task(loop, []() -> Coro<int> {
    asyncio::current_task(&asyncio::get_running_loop()).cancel("bye");
    co_return 1;
  });
  loop.run_until_complete([&t]() -> Coro<void> {
    try {
      co_await t;
    } catch (const CancelledError&) {
    }
  });
  EXPECT_TRUE(t.cancelled());
}

TEST(Task, ExceptionInATaskPropagatesToTheAwaiter) {
  const std::string what = run_virtual([]() -> Coro<std::string> {
    Task<void> t = asyncio::create_task(fail_with("task failed"));
    try {
      co_await t;
    } catch (const std::runtime_error& e) {
      co_return e.what();
    }
    co_return "no exception";
  });
  EXPECT_EQ(what, "task failed");
}

TEST(Task, ExceptionOfAFinishedTaskIsItsException) {
  EventLoop loop(virtual_clock());
  Task<int> t = asyncio::create_task(loop, []() -> Coro<int> {
    throw std::logic_error("wrong");
    co_return 0;
  });
  loop.run_once();
  ASSERT_TRUE(t.done());
  EXPECT_FALSE(t.cancelled());
  EXPECT_THROW(t.result(), std::logic_error);
  EXPECT_NE(t.exception(), nullptr);
}

TEST(Task, SetResultThroughTheFutureBaseIsRuntimeError) {
  EventLoop loop(virtual_clock());
  Task<int> t = asyncio::create_task(loop, forty_two());
  Future<int>& as_future = t;
  EXPECT_THROW(as_future.set_result(1), asyncio::RuntimeError);
  EXPECT_THROW(as_future.set_exception(std::runtime_error("x")), asyncio::RuntimeError);
  loop.run_once();
  EXPECT_EQ(t.result(), 42);
}

TEST(Task, CurrentTaskInsideATaskIsThatTask) {
  run_virtual([]() -> Coro<void> {
    AnyTask seen;
    Task<void> t = asyncio::create_task([&seen]() -> Coro<void> {
      seen = asyncio::current_task();
      co_return;
    });
    co_await t;
    EXPECT_TRUE(seen == AnyTask(t));
  });
  SUCCEED();
}

TEST(Task, CurrentTaskInACallbackOutsideAnyTaskIsEmpty) {
  EventLoop loop(virtual_clock());
  bool empty = false;
  loop.call_soon([&] {
    empty = !asyncio::current_task(&loop);
    loop.stop();
  });
  loop.run_forever();
  EXPECT_TRUE(empty);
}

TEST(Task, CurrentTaskOfALoopThatIsNotRunningIsEmpty) {
  EventLoop loop(virtual_clock());
  EXPECT_FALSE(static_cast<bool>(asyncio::current_task(&loop)));
}

TEST(Task, CurrentTaskWithoutARunningLoopIsRuntimeError) {
  EXPECT_THROW(asyncio::current_task(), asyncio::RuntimeError);
}

TEST(Task, AllTasksListsPendingTasksOnly) {
  run_virtual([]() -> Coro<void> {
    Task<void> sleeper = asyncio::create_task([]() -> Coro<void> { co_await asyncio::sleep(10); });
    Task<int> quick = asyncio::create_task(forty_two());
    co_await quick;
    std::vector<AnyTask> tasks = asyncio::all_tasks();
    EXPECT_EQ(tasks.size(), 2u);  // this task and the sleeper
    auto has = [&](const AnyTask& t) { return std::find(tasks.begin(), tasks.end(), t) != tasks.end(); };
    EXPECT_TRUE(has(asyncio::current_task()));
    EXPECT_TRUE(has(sleeper));
    EXPECT_FALSE(has(quick));
    co_await sleeper;
  });
  SUCCEED();
}

TEST(Task, FireAndForgetTaskNobodyHoldsStillRunsToCompletion) {
  const int steps = run_virtual([]() -> Coro<int> {
    auto steps = std::make_shared<int>(0);
    (void)asyncio::create_task([steps]() -> Coro<void> {
      for (int i = 0; i < 3; ++i) {
        co_await asyncio::sleep(1);
        ++*steps;
      }
    });
    co_await asyncio::sleep(10);
    co_return *steps;
  });
  EXPECT_EQ(steps, 3);
}

TEST(Task, EagerStartRunsTheFirstStepInsideCreateTask) {
  run_virtual([]() -> Coro<void> {
    bool ran = false;
    Task<int> t = asyncio::create_task(
        [&ran]() -> Coro<int> {
          ran = true;
          co_return 5;
        },
        TaskOptions{.name = {}, .eager_start = true});
    EXPECT_TRUE(ran);
    EXPECT_TRUE(t.done());
    EXPECT_EQ(t.result(), 5);
    co_return;
  });
  SUCCEED();
}

TEST(Task, EagerTaskIsTheCurrentTaskDuringItsFirstStep) {
  run_virtual([]() -> Coro<void> {
    AnyTask seen;
    AnyTask outer = asyncio::current_task();
    Task<void> t = asyncio::create_task(
        [&seen]() -> Coro<void> {
          seen = asyncio::current_task();
          co_return;
        },
        TaskOptions{.name = {}, .eager_start = true});
    EXPECT_TRUE(seen == AnyTask(t));
    EXPECT_TRUE(asyncio::current_task() == outer);  // restored after the eager step
    co_return;
  });
  SUCCEED();
}

TEST(Task, EagerTaskThatSuspendsContinuesFromTheLoop) {
  const int got = run_virtual([]() -> Coro<int> {
    std::vector<int> order;
    Task<int> t = asyncio::create_task(
        [&order]() -> Coro<int> {
          order.push_back(1);
          co_await asyncio::sleep(1);
          order.push_back(3);
          co_return 7;
        },
        TaskOptions{.name = {}, .eager_start = true});
    order.push_back(2);
    EXPECT_FALSE(t.done());
    const int v = co_await t;
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
    co_return v;
  });
  EXPECT_EQ(got, 7);
}

TEST(Task, EagerStartOnALoopThatIsNotRunningSchedulesTheTask) {
  EventLoop loop(virtual_clock());
  bool ran = false;
  Task<void> t = asyncio::create_task(
      loop,
      [&ran]() -> Coro<void> {
        ran = true;
        co_return;
      },
      TaskOptions{.name = {}, .eager_start = true});
  EXPECT_FALSE(ran);
  loop.run_once();
  EXPECT_TRUE(ran);
  EXPECT_TRUE(t.done());
}

TEST(Task, TaskAwaitingItselfGetsRuntimeError) {
  const std::string what = run_virtual([]() -> Coro<std::string> {
    try {
      co_await asyncio::current_task();
    } catch (const asyncio::RuntimeError& e) {
      co_return e.what();
    }
    co_return "no exception";
  });
  EXPECT_NE(what.find("cannot await on itself"), std::string::npos) << what;
}

TEST(Task, TaskAwaitingAFutureOfAnotherLoopGetsRuntimeError) {
  EventLoop other(virtual_clock());
  Future<int> foreign = other.create_future<int>();
  const std::string what = run_virtual([&foreign]() -> Coro<std::string> {
    try {
      co_await foreign;
    } catch (const asyncio::RuntimeError& e) {
      co_return e.what();
    }
    co_return "no exception";
  });
  EXPECT_NE(what.find("attached to a different loop"), std::string::npos) << what;
}

TEST(Task, TaskExceptionNeverRetrievedIsReported) {
  EventLoop loop(virtual_clock());
  HandlerCapture handler(loop);
  (void)asyncio::create_task(loop, []() -> Coro<void> {
    throw std::runtime_error("nobody looked");
    co_return;
  });
  loop.run_once();
  ASSERT_EQ(handler.contexts().size(), 1u);
  EXPECT_EQ(handler.contexts()[0].message, "Task exception was never retrieved");
  EXPECT_NE(handler.exceptions()[0].find("nobody looked"), std::string::npos);
  EXPECT_NE(handler.contexts()[0].future.find("<Task finished"), std::string::npos) << handler.contexts()[0].future;
}

TEST(Task, TaskExceptionRetrievedByAnAwaiterIsNotReported) {
  auto loop = std::make_unique<EventLoop>(virtual_clock());
  HandlerCapture handler(*loop);
  const bool caught = loop->run_until_complete([]() -> Coro<bool> {
    Task<void> inner = asyncio::create_task(fail_with("seen"));
    try {
      co_await inner;
    } catch (const std::runtime_error&) {
      co_return true;
    }
    co_return false;
  });
  loop.reset();  // every task state is gone now
  EXPECT_TRUE(caught);
  EXPECT_TRUE(handler.contexts().empty());
}

TEST(Task, DestroyingALoopWithAPendingTaskReportsItAndUnwindsItsFrames) {
  auto loop = std::make_unique<EventLoop>(virtual_clock());
  HandlerCapture handler(*loop);
  auto unwound = std::make_shared<bool>(false);
  struct Guard {
    std::shared_ptr<bool> flag;
    ~Guard() { *flag = true; }
  };
  (void)asyncio::create_task(*loop, [unwound]() -> Coro<void> {
    Guard guard{unwound};
    co_await asyncio::sleep(3600);
  });
  loop->run_once();  // the task starts and parks on its timer
  EXPECT_FALSE(*unwound);
  loop.reset();
  EXPECT_TRUE(*unwound);
  ASSERT_EQ(handler.contexts().size(), 1u);
  EXPECT_EQ(handler.contexts()[0].message, "Task was destroyed but it is pending!");
  EXPECT_NE(handler.contexts()[0].future.find("<Task pending"), std::string::npos) << handler.contexts()[0].future;
}

TEST(Task, DoneCallbackOfATaskReceivesTheTask) {
  EventLoop loop(virtual_clock());
  Task<int> t = asyncio::create_task(loop, forty_two());
  int seen = 0;
  bool same = false;
  t.add_done_callback([&](Task<int>& done) {
    seen = done.result();
    same = done == t;
  });
  loop.run_once();  // the task's step
  EXPECT_EQ(seen, 0);
  loop.run_once();  // its done-callback
  EXPECT_EQ(seen, 42);
  EXPECT_TRUE(same);
}

TEST(Task, AwaitingATaskTwiceGivesTheSameResult) {
  const int got = run_virtual([]() -> Coro<int> {
    Task<int> t = asyncio::create_task(add_one(1));
    const int a = co_await t;
    const int b = co_await t;
    co_return a * 10 + b;
  });
  EXPECT_EQ(got, 22);
}

TEST(Task, CreateTaskCanBeAwaitedInTheSameExpression) {
  // `co_await create_task(coro)` in one expression: with g++ 12 the TaskOptions{} default argument
  // (an aggregate holding a std::string) is destroyed twice in a co_await full-expression.
  const int got = run_virtual([]() -> Coro<int> { co_return co_await asyncio::create_task(forty_two()); });
  EXPECT_EQ(got, 42);
}

TEST(Task, CreateTaskWithoutARunningLoopIsRuntimeError) {
  EXPECT_THROW((void)asyncio::create_task(forty_two()), asyncio::RuntimeError);
}

TEST(Task, CreateTaskFromAnEmptyCoroIsTypeError) {
  EventLoop loop(virtual_clock());
  EXPECT_THROW((void)asyncio::create_task(loop, Coro<int>()), asyncio::TypeError);
}

TEST(Task, AMillionSynchronousAwaitsInATaskUseConstantStack) {
  const long total = run_virtual([]() -> Coro<long> {
    long sum = 0;
    for (int i = 0; i < 1'000'000; ++i) sum += co_await add_one(0);
    co_return sum;
  });
  EXPECT_EQ(total, 1'000'000);
}

TEST(Task, ADeepChainOfNestedAwaitsInATaskUsesConstantStack) {
  const int depth = run_virtual([]() -> Coro<int> { co_return co_await recurse(100'000); });
  EXPECT_EQ(depth, 100'000);
}

TEST(Task, ATaskWokenByAFailedFutureWhileCancelledStillRetrievesTheFuturesException) {
  // CPython's Task.__wakeup calls future.result() before throwing the cancellation in.
  EventLoop loop(virtual_clock());
  HandlerCapture handler(loop);
  loop.run_until_complete([]() -> Coro<void> {
    Task<void> child = asyncio::create_task([]() -> Coro<void> {
      co_await asyncio::sleep(0);
      throw std::runtime_error("boom");
    });
    Task<void> parent = asyncio::create_task([child]() -> Coro<void> { co_await asyncio::gather(child); });
    Task<void> killer = asyncio::create_task([parent]() mutable -> Coro<void> {
      co_await asyncio::sleep(0);    // the same iteration as the child's failure, before gather hears of it
      EXPECT_TRUE(parent.cancel());  // gather has no child left to cancel: the parent's cancel is pending
    });
    co_await killer;
    EXPECT_THROW(co_await parent, CancelledError);
  });
  EXPECT_TRUE(handler.contexts().empty());
}

}  // namespace
