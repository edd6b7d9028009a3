// Task factories and eager tasks: loop.set_task_factory / get_task_factory, eager_task_factory and
// create_eager_task_factory, ported from CPython's Lib/test/test_asyncio/test_eager_task_factory.py
// (EagerTaskFactoryLoopTests, the task-counting tests), with the C++ factory's own rules.

#include <gtest/gtest.h>

#include <asyncio/asyncio.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/test_support.hpp"

namespace {

using asyncio::AnyTask;
using asyncio::CancelledError;
using asyncio::Context;
using asyncio::ContextVar;
using asyncio::Coro;
using asyncio::EventLoop;
using asyncio::Future;
using asyncio::RuntimeError;
using asyncio::Task;
using asyncio::TaskFactory;
using asyncio::TaskOptions;
using asyncio::TaskRequest;
using asyncio::TypeError;
using asyncio::testing::virtual_clock;

using FactoryFunction = AnyTask (*)(EventLoop&, TaskRequest&);

Coro<std::string> hello() { co_return "hello"; }

Coro<int> forty_two() { co_return 42; }

Coro<std::string> sleep_then(double seconds, std::string result) {
  co_await asyncio::sleep(seconds);
  co_return result;
}

/// Runs `body` as the main task of a loop (virtual clock) whose task factory is `factory`, set
/// before the loop runs, as CPython's tests set it in setUp.
template <class F>
auto run_with_factory(TaskFactory factory, F body) {
  EventLoop loop(virtual_clock());
  loop.set_task_factory(std::move(factory));
  return loop.run_until_complete(std::move(body));
}

/// A factory that counts the tasks made without eager_start (CPython's AsyncTaskCounter).
TaskFactory counting_lazy_tasks(int& count) {
  return [&count](EventLoop&, TaskRequest& request) {
    if (!request.options().eager_start.value_or(false)) ++count;
    return request.create();
  };
}

Coro<int> awaitable_chain(int depth) {
  if (depth == 0) co_return 0;
  const int below = co_await awaitable_chain(depth - 1);
  co_return 1 + below;
}

Coro<void> recursive_taskgroups(int width, int depth) {
  if (depth == 0) co_return;
  asyncio::TaskGroup group;
  auto body = [width, depth](asyncio::TaskGroup& g) -> Coro<void> {
    for (int i = 0; i < width; ++i) g.create_task(recursive_taskgroups(width, depth - 1));
    co_return;
  };
  co_await group.run(body);
}

Coro<void> recursive_gather(int width, int depth) {
  if (depth == 0) co_return;
  std::vector<Coro<void>> children;
  for (int i = 0; i < width; ++i) children.push_back(recursive_gather(width, depth - 1));
  co_await asyncio::gather(std::move(children));
}

// --- eager_task_factory: test_eager_task_factory.py -------------------------------------------

TEST(EagerTaskFactory, GetTaskFactoryReturnsTheFactorySetAndItsTasksAreTasks) {
  run_with_factory(asyncio::eager_task_factory, []() -> Coro<void> {
    EventLoop& loop = asyncio::get_running_loop();
    const TaskFactory factory = loop.get_task_factory();
    const FactoryFunction* target = factory.target<FactoryFunction>();
    EXPECT_TRUE(target != nullptr && *target == &asyncio::eager_task_factory);
    Task<int> t = loop.create_task(forty_two());
    EXPECT_EQ(co_await t, 42);
  });
}

TEST(EagerTaskFactory, ATaskThatSetsAFutureWithoutSuspendingIsDoneWhenCreateTaskReturns) {
  const std::string got = run_with_factory(asyncio::eager_task_factory, []() -> Coro<std::string> {
    Future<std::string> fut = asyncio::get_running_loop().create_future<std::string>();
    auto set_result = [fut]() mutable -> Coro<void> {
      fut.set_result("my message");
      co_return;
    };
    Task<void> t = asyncio::create_task(std::move(set_result));
    EXPECT_TRUE(t.done());
    co_return co_await fut;
  });
  EXPECT_EQ(got, "my message");
}

TEST(EagerTaskFactory, ACoroutineThatNeverSuspendsGivesATaskAlreadyDone) {
  const std::string got = run_with_factory(asyncio::eager_task_factory, []() -> Coro<std::string> {
    Task<std::string> t = asyncio::create_task(hello());
    EXPECT_TRUE(t.done());
    co_return co_await t;
  });
  EXPECT_EQ(got, "hello");
}

TEST(EagerTaskFactory, ATaskThatFinishesInItsEagerStepIsNeverScheduled) {
  EventLoop loop(virtual_clock());
  loop.set_task_factory(asyncio::eager_task_factory);
  Task<int> t;
  bool marker_ran = false;
  loop.call_soon([&] {
    t = asyncio::create_task(loop, forty_two());
    loop.call_soon([&] { marker_ran = true; });
  });
  loop.run_once();
  ASSERT_TRUE(t.done());
  const std::uint64_t before = loop.stats().callbacks;
  loop.run_once();
  EXPECT_TRUE(marker_ran);
  EXPECT_EQ(loop.stats().callbacks - before, 1u);  // the marker only: no step of the task
  EXPECT_EQ(t.result(), 42);
}

TEST(EagerTaskFactory, ATaskThatSuspendsInItsEagerStepContinuesFromTheLoop) {
  const std::string got = run_with_factory(asyncio::eager_task_factory, []() -> Coro<std::string> {
    Task<std::string> t = asyncio::create_task(sleep_then(0.1, "finished after blocking"));
    EXPECT_FALSE(t.done());
    std::string result = co_await t;
    EXPECT_TRUE(t.done());
    co_return result;
  });
  EXPECT_EQ(got, "finished after blocking");
}

TEST(EagerTaskFactory, CancellingATaskThatFinishedEagerlyLeavesItsResult) {
  const std::string got = run_with_factory(asyncio::eager_task_factory, []() -> Coro<std::string> {
    Task<std::string> t = asyncio::create_task(hello());
    EXPECT_FALSE(t.cancel());
    std::string result = co_await t;
    EXPECT_FALSE(t.cancelled());
    co_return result;
  });
  EXPECT_EQ(got, "hello");
}

TEST(EagerTaskFactory, CancellingATaskBlockedAfterItsEagerStepRaisesCancelledErrorWithTheMessage) {
  try {
    run_with_factory(asyncio::eager_task_factory, []() -> Coro<void> {
      Task<std::string> t = asyncio::create_task(sleep_then(0.1, "finished after blocking"));
      t.cancel("cancellation message");
      EXPECT_GT(t.cancelling(), 0);
      (void)co_await t;
    });
    FAIL() << "no CancelledError";
  } catch (const CancelledError& e) {
    EXPECT_STREQ(e.what(), "cancellation message");
  }
}

TEST(EagerTaskFactory, ATaskThatCancelsItselfInItsEagerStepIsCancelledAtItsFirstSuspension) {
  run_with_factory(asyncio::eager_task_factory, []() -> Coro<void> {
    bool after_sleep = false;
    auto self_cancelling = [&after_sleep]() -> Coro<void> {
      asyncio::current_task().cancel("from inside");
      co_await asyncio::sleep(1);
      after_sleep = true;
    };
    Task<void> t = asyncio::create_task(self_cancelling);
    EXPECT_FALSE(t.done());  // the cancellation lands at the co_await, from the loop
    try {
      co_await t;
      ADD_FAILURE() << "no CancelledError";
    } catch (const CancelledError& e) {
      EXPECT_STREQ(e.what(), "from inside");
    }
    EXPECT_TRUE(t.cancelled());
    EXPECT_FALSE(after_sleep);
  });
}

TEST(EagerTaskFactory, AnExceptionInTheEagerStepFinishesTheTaskAndCreateTaskDoesNotThrow) {
  run_with_factory(asyncio::eager_task_factory, []() -> Coro<void> {
    auto failing = []() -> Coro<int> {
      throw std::runtime_error("eager failure");
      co_return 0;
    };
    Task<int> t = asyncio::create_task(failing);
    EXPECT_TRUE(t.done());
    EXPECT_FALSE(t.cancelled());
    try {
      (void)co_await t;
      ADD_FAILURE() << "no exception";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "eager failure");
    }
  });
}

TEST(EagerTaskFactory, CurrentTaskInTheEagerStepIsTheNewTaskBeforeAndAfterItSuspends) {
  run_with_factory(asyncio::eager_task_factory, []() -> Coro<void> {
    AnyTask captured;
    bool same_after_sleep = false;
    auto body = [&captured, &same_after_sleep]() -> Coro<void> {
      captured = asyncio::current_task();
      co_await asyncio::sleep(0.1);
      same_after_sleep = asyncio::current_task() == captured;
    };
    const AnyTask creator = asyncio::current_task();
    Task<void> t = asyncio::create_task(body);
    EXPECT_TRUE(captured == AnyTask(t));
    EXPECT_TRUE(asyncio::current_task() == creator);
    co_await t;
    EXPECT_TRUE(same_after_sleep);
  });
}

bool contains(const std::vector<AnyTask>& tasks, const AnyTask& task) {
  for (const AnyTask& t : tasks) {
    if (t == task) return true;
  }
  return false;
}

TEST(EagerTaskFactory, AllTasksHasAnEagerTaskDuringItsEagerStepButNotOnceItFinished) {
  run_with_factory(asyncio::eager_task_factory, []() -> Coro<void> {
    std::vector<AnyTask> during;
    auto body = [&during]() -> Coro<void> {
      during = asyncio::all_tasks();
      co_return;
    };
    Task<void> t = asyncio::create_task(body);
    EXPECT_TRUE(contains(during, t));
    EXPECT_FALSE(contains(asyncio::all_tasks(), t));
    co_return;
  });
}

TEST(EagerTaskFactory, AllTasksHasAnEagerTaskBlockedAfterItsEagerStepUntilItFinishes) {
  run_with_factory(asyncio::eager_task_factory, []() -> Coro<void> {
    EventLoop& loop = asyncio::get_running_loop();
    Future<void> fut1 = loop.create_future<void>();
    Future<void> fut2 = loop.create_future<void>();
    std::vector<AnyTask> during;
    auto body = [&during, fut1, fut2]() mutable -> Coro<void> {
      during = asyncio::all_tasks();
      co_await fut1;
      fut2.set_result();
    };
    Task<void> t = asyncio::create_task(std::move(body));
    EXPECT_TRUE(contains(during, t));
    EXPECT_TRUE(contains(asyncio::all_tasks(), t));
    fut1.set_result();
    co_await fut2;
    EXPECT_FALSE(contains(asyncio::all_tasks(), t));
  });
}

TEST(EagerTaskFactory, TheEagerStepRunsInACopyOfTheCreatorsContextWhichIsRestoredAfter) {
  Context().run([] {
    const ContextVar<int> cv("cv", 0);
    bool first_step_ran = false;
    bool second_step_ran = false;
    auto coro = [&]() -> Coro<void> {
      EXPECT_EQ(cv.get(), 1);
      (void)cv.set(2);
      first_step_ran = true;
      co_await asyncio::sleep(0.1);
      EXPECT_EQ(cv.get(), 2);
      (void)cv.set(3);
      second_step_ran = true;
    };
    run_with_factory(asyncio::eager_task_factory, [&]() -> Coro<void> {
      (void)cv.set(1);
      Task<void> t = asyncio::create_task(coro);
      EXPECT_TRUE(first_step_ran);
      EXPECT_FALSE(second_step_ran);
      EXPECT_EQ(cv.get(), 1);
      co_await t;
      EXPECT_TRUE(second_step_ran);
      EXPECT_EQ(cv.get(), 1);
    });
  });
}

TEST(EagerTaskFactory, EagerStartFalseKeepsTheFactoryFromStartingTheTask) {
  run_with_factory(asyncio::eager_task_factory, []() -> Coro<void> {
    bool ran = false;
    auto body = [&ran]() -> Coro<void> {
      ran = true;
      co_return;
    };
    TaskOptions options;
    options.eager_start = false;
    Task<void> t = asyncio::create_task(body, options);
    EXPECT_FALSE(ran);
    EXPECT_FALSE(t.done());
    co_await t;
    EXPECT_TRUE(ran);
  });
}

TEST(EagerTaskFactory, ATaskMadeBeforeTheLoopRunsIsScheduled) {
  EventLoop loop(virtual_clock());
  loop.set_task_factory(asyncio::eager_task_factory);
  bool ran = false;
  auto body = [&ran]() -> Coro<void> {
    ran = true;
    co_return;
  };
  Task<void> t = asyncio::create_task(loop, body);
  EXPECT_FALSE(ran);
  loop.run_until_complete(t);
  EXPECT_TRUE(ran);
}

TEST(EagerTaskFactory, TaskGroupChildrenGoThroughTheFactoryAndStartEagerly) {
  run_with_factory(asyncio::eager_task_factory, []() -> Coro<void> {
    std::vector<int> order;
    asyncio::TaskGroup group;
    auto body = [&order](asyncio::TaskGroup& g) -> Coro<void> {
      auto child = [&order]() -> Coro<void> {
        order.push_back(1);
        co_await asyncio::sleep(1);
        order.push_back(3);
      };
      g.create_task(child);
      order.push_back(2);
      co_return;
    };
    co_await group.run(body);
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  });
}

// --- the task-counting tests of test_eager_task_factory.py ------------------------------------

TEST(TaskFactoryCounting, AChainOfAwaitsMakesOneTaskAndNoneLazyWithTheEagerFactory) {
  int lazy = 0;
  EXPECT_EQ(run_with_factory(counting_lazy_tasks(lazy), awaitable_chain(100)), 100);
  EXPECT_EQ(lazy, 1);
  int eager_lazy = 0;
  EXPECT_EQ(run_with_factory(asyncio::create_eager_task_factory(counting_lazy_tasks(eager_lazy)), awaitable_chain(100)),
            100);
  EXPECT_EQ(eager_lazy, 0);
}

TEST(TaskFactoryCounting, RecursiveTaskGroupsMakeEveryChildThroughTheFactory) {
  int lazy = 0;
  run_with_factory(counting_lazy_tasks(lazy), recursive_taskgroups(5, 4));
  EXPECT_EQ(lazy, 781);  // 1 + 5 + 5^2 + 5^3 + 5^4
  int eager_lazy = 0;
  run_with_factory(asyncio::create_eager_task_factory(counting_lazy_tasks(eager_lazy)), recursive_taskgroups(5, 4));
  EXPECT_EQ(eager_lazy, 0);
}

TEST(TaskFactoryCounting, RecursiveGatherMakesEveryChildThroughTheFactory) {
  int lazy = 0;
  run_with_factory(counting_lazy_tasks(lazy), recursive_gather(5, 4));
  EXPECT_EQ(lazy, 781);
  int eager_lazy = 0;
  run_with_factory(asyncio::create_eager_task_factory(counting_lazy_tasks(eager_lazy)), recursive_gather(5, 4));
  EXPECT_EQ(eager_lazy, 0);
}

// --- create_eager_task_factory ----------------------------------------------------------------

TEST(CreateEagerTaskFactory, TheCustomFactoryGetsTheRequestWithEagerStartSet) {
  std::vector<std::string> seen;
  TaskFactory custom = [&seen](EventLoop&, TaskRequest& request) {
    seen.push_back(std::string(request.coro_name()) + (request.options().eager_start.value_or(false) ? ":eager" : ""));
    return request.create();
  };
  run_with_factory(asyncio::create_eager_task_factory(std::move(custom)), []() -> Coro<void> {
    Task<int> t = asyncio::create_task(forty_two());
    EXPECT_TRUE(t.done());
    co_return;
  });
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_NE(seen[1].find("forty_two"), std::string::npos);
  EXPECT_NE(seen[1].find(":eager"), std::string::npos);
}

TEST(CreateEagerTaskFactory, AnEmptyCustomFactoryIsTypeError) {
  try {
    (void)asyncio::create_eager_task_factory(TaskFactory());
    FAIL() << "no TypeError";
  } catch (const TypeError& e) {
    EXPECT_NE(std::string(e.what()).find("empty"), std::string::npos);
  }
}

// --- set_task_factory: what a factory sees and may do ------------------------------------------

TEST(TaskFactory, TheFactorySeesCreateTaskOptionsAndMayChangeTheName) {
  std::vector<std::string> names;
  TaskFactory naming = [&names](EventLoop&, TaskRequest& request) {
    names.push_back(std::string(request.options().name));
    const std::string name = "factory:" + std::string(request.coro_name());
    if (request.options().name.empty()) request.options().name = name;
    return request.create();
  };
  run_with_factory(std::move(naming), []() -> Coro<void> {
    Task<int> given = asyncio::create_task(forty_two(), TaskOptions{.name = "given"});
    Task<int> unnamed = asyncio::create_task(forty_two());
    EXPECT_EQ(given.get_name(), "given");
    EXPECT_NE(unnamed.get_name().find("factory:"), std::string::npos);
    EXPECT_NE(unnamed.get_name().find("forty_two"), std::string::npos);
    co_await given;
    co_await unnamed;
  });
  ASSERT_EQ(names.size(), 3u);  // the main task, then the two
  EXPECT_EQ(names[1], "given");
  EXPECT_EQ(names[2], "");
}

TEST(TaskFactory, TheContextGivenToCreateTaskReachesTheFactoryAndTheTask) {
  Context().run([] {
    const ContextVar<int> cv("cv", 0);
    const Context given = Context().copy();
    given.run([&] { (void)cv.set(7); });
    const Context* seen = nullptr;
    TaskFactory factory = [&seen](EventLoop&, TaskRequest& request) {
      seen = request.options().context;
      return request.create();
    };
    run_with_factory(std::move(factory), [&]() -> Coro<void> {
      auto read = [&cv]() -> Coro<int> { co_return cv.get(); };
      Task<int> t = asyncio::create_task(read, TaskOptions{.context = &given});
      EXPECT_EQ(seen, &given);
      EXPECT_EQ(co_await t, 7);
    });
  });
}

TEST(TaskFactory, SetTaskFactoryWithNullptrRestoresTheDefault) {
  int made = 0;
  run_with_factory(counting_lazy_tasks(made), [&made]() -> Coro<void> {
    EventLoop& loop = asyncio::get_running_loop();
    EXPECT_EQ(made, 1);
    loop.set_task_factory(nullptr);
    EXPECT_FALSE(loop.get_task_factory());
    co_await asyncio::create_task(forty_two());
    EXPECT_EQ(made, 1);
  });
}

TEST(TaskFactory, AFactoryThatDoesNotCallCreateIsTypeErrorAndTheCoroutineNeverRuns) {
  EventLoop loop(virtual_clock());
  loop.set_task_factory([](EventLoop&, TaskRequest&) { return AnyTask(); });
  bool ran = false;
  auto body = [&ran]() -> Coro<void> {
    ran = true;
    co_return;
  };
  try {
    (void)asyncio::create_task(loop, body);
    FAIL() << "no TypeError";
  } catch (const TypeError& e) {
    EXPECT_NE(std::string(e.what()).find("without calling TaskRequest::create()"), std::string::npos) << e.what();
  }
  loop.set_task_factory(nullptr);
  loop.run_until_complete([]() -> Coro<void> { co_await asyncio::sleep(0); });
  EXPECT_FALSE(ran);
}

TEST(TaskFactory, AFactoryReturningAnotherTaskIsTypeErrorAndTheTaskItCreatedRunsOn) {
  EventLoop loop(virtual_clock());
  bool created_ran = false;
  loop.run_until_complete([&created_ran]() -> Coro<void> {
    EventLoop& running = asyncio::get_running_loop();
    AnyTask other = asyncio::create_task(forty_two());
    running.set_task_factory([other](EventLoop&, TaskRequest& request) {
      (void)request.create();
      return other;
    });
    auto body = [&created_ran]() -> Coro<void> {
      created_ran = true;
      co_return;
    };
    try {
      (void)asyncio::create_task(body);
      ADD_FAILURE() << "no TypeError";
    } catch (const TypeError& e) {
      EXPECT_NE(std::string(e.what()).find("instead of the task TaskRequest::create() made"), std::string::npos)
          << e.what();
    }
    running.set_task_factory(nullptr);
    co_await asyncio::sleep(0);
    co_await other;
  });
  EXPECT_TRUE(created_ran);
}

TEST(TaskFactory, CallingCreateTwiceIsRuntimeError) {
  std::string error;
  run_with_factory(
      [&error](EventLoop&, TaskRequest& request) {
        AnyTask t = request.create();
        try {
          (void)request.create();
        } catch (const RuntimeError& e) {
          error = e.what();
        }
        return t;
      },
      []() -> Coro<void> { co_return; });
  EXPECT_NE(error.find("already created"), std::string::npos) << error;
}

TEST(TaskFactory, AnExceptionFromTheFactoryPropagatesOutOfCreateTask) {
  EventLoop loop(virtual_clock());
  loop.set_task_factory([](EventLoop&, TaskRequest&) -> AnyTask { throw std::runtime_error("factory refused"); });
  try {
    (void)asyncio::create_task(loop, forty_two());
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "factory refused");
  }
}

TEST(TaskFactory, CreateTaskOnAClosedLoopIsRuntimeErrorBeforeTheFactoryRuns) {
  EventLoop loop(virtual_clock());
  int calls = 0;
  loop.set_task_factory(counting_lazy_tasks(calls));
  loop.close();
  EXPECT_THROW((void)asyncio::create_task(loop, forty_two()), RuntimeError);
  EXPECT_EQ(calls, 0);
}

TEST(TaskFactory, AFactoryReplacedByTheTaskItStartsEagerlyFinishesItsCall) {
  auto calls = std::make_shared<int>(0);
  TaskFactory factory = [calls](EventLoop& loop, TaskRequest& request) {
    ++*calls;
    request.options().eager_start = true;
    AnyTask t = request.create();  // the eager step below replaces this factory
    (void)loop;
    return t;
  };
  run_with_factory(std::move(factory), [calls]() -> Coro<void> {
    auto replacing = []() -> Coro<void> {
      asyncio::get_running_loop().set_task_factory(nullptr);
      co_return;
    };
    Task<void> t = asyncio::create_task(replacing);
    EXPECT_TRUE(t.done());
    EXPECT_EQ(*calls, 2);
    co_return;
  });
}

TEST(TaskFactory, RunnersMainTaskGoesThroughTheFactoryAndKeepsTheRunnersContext) {
  const ContextVar<int> cv("cv", 0);
  int made = 0;
  asyncio::Runner runner(virtual_clock());
  runner.run([&cv]() -> Coro<void> {
    (void)cv.set(5);
    co_return;
  });
  runner.get_loop().set_task_factory(counting_lazy_tasks(made));
  const int seen = runner.run([&cv]() -> Coro<int> { co_return cv.get(); });
  EXPECT_EQ(made, 1);
  EXPECT_EQ(seen, 5);
}

}  // namespace
