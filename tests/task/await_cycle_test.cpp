// Tasks that await each other in a cycle: a deadlock. cancel() of one of them must not recurse
// round the cycle until the stack overflows (CPython raises RecursionError there): it raises
// RuntimeError naming the tasks, and debug mode reports the cycle when it forms.

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "support/test_support.hpp"

namespace {

using asyncio::Coro;
using asyncio::EventLoop;
using asyncio::RuntimeError;
using asyncio::Task;
using asyncio::testing::HandlerCapture;
using asyncio::testing::virtual_clock;

// Two tasks, "a" awaiting "b" and "b" awaiting "a", parked on the loop given.
struct TwoTaskCycle {
  std::optional<Task<void>> a;
  std::optional<Task<void>> b;

  explicit TwoTaskCycle(EventLoop& loop) {
    a.emplace(loop.create_task([this]() -> Coro<void> { co_await *b; }, asyncio::TaskOptions{.name = "a"}));
    b.emplace(loop.create_task([this]() -> Coro<void> { co_await *a; }, asyncio::TaskOptions{.name = "b"}));
    loop.run_until_complete([]() -> Coro<void> { co_await asyncio::sleep(0); });
  }
};

std::string cancel_error(Task<void>& t) {
  try {
    t.cancel();
  } catch (const RuntimeError& e) {
    return e.what();
  }
  return "no error";
}

TEST(AwaitCycle, CancelOfATaskInATwoTaskCycleIsARuntimeErrorNamingBothTasks) {
  EventLoop loop(virtual_clock());
  HandlerCapture handler(loop);
  TwoTaskCycle cycle(loop);
  const std::string message = cancel_error(*cycle.a);
  EXPECT_NE(message.find("Task 'a' -> Task 'b' -> Task 'a'"), std::string::npos) << message;
  EXPECT_NE(message.find("cycle"), std::string::npos) << message;
}

TEST(AwaitCycle, ACancelThatFoundACycleLeavesEveryTasksCancellingCountAsItWas) {
  EventLoop loop(virtual_clock());
  HandlerCapture handler(loop);
  TwoTaskCycle cycle(loop);
  (void)cancel_error(*cycle.b);
  EXPECT_EQ(cycle.a->cancelling(), 0);
  EXPECT_EQ(cycle.b->cancelling(), 0);
  EXPECT_FALSE(cycle.a->done());
  EXPECT_FALSE(cycle.b->done());
}

TEST(AwaitCycle, CancelOfATaskInACycleThroughGatherIsARuntimeError) {
  EventLoop loop(virtual_clock());
  HandlerCapture handler(loop);
  std::optional<Task<void>> a;
  std::optional<Task<void>> b;
  a.emplace(loop.create_task(
      [&b]() -> Coro<void> {
        Task<void> other = asyncio::create_task([]() -> Coro<void> { co_await asyncio::sleep(100); });
        co_await asyncio::gather(other, *b);
      },
      asyncio::TaskOptions{.name = "a"}));
  b.emplace(loop.create_task([&a]() -> Coro<void> { co_await *a; }, asyncio::TaskOptions{.name = "b"}));
  loop.run_until_complete([]() -> Coro<void> { co_await asyncio::sleep(0); });
  const std::string message = cancel_error(*a);
  EXPECT_NE(message.find("Task 'a' -> Task 'b' -> Task 'a'"), std::string::npos) << message;
}

TEST(AwaitCycle, CancelOfATaskAwaitingACycleIsARuntimeErrorThatNamesTheCycle) {
  EventLoop loop(virtual_clock());
  HandlerCapture handler(loop);
  TwoTaskCycle cycle(loop);
  Task<void> outside = loop.create_task([&cycle]() -> Coro<void> { co_await *cycle.a; });
  loop.run_until_complete([]() -> Coro<void> { co_await asyncio::sleep(0); });
  const std::string message = cancel_error(outside);
  EXPECT_NE(message.find("Task 'a' -> Task 'b' -> Task 'a'"), std::string::npos) << message;
  EXPECT_EQ(outside.cancelling(), 0);
}

TEST(AwaitCycle, ACycleOfAThousandTasksIsFoundWithoutExhaustingTheStack) {
  constexpr int kTasks = 1000;
  EventLoop loop(virtual_clock());
  HandlerCapture handler(loop);
  std::vector<std::optional<Task<void>>> tasks(kTasks);
  for (int i = 0; i < kTasks; ++i) {
    tasks[i].emplace(loop.create_task([&tasks, i]() -> Coro<void> { co_await *tasks[(i + 1) % kTasks]; }));
  }
  loop.run_until_complete([]() -> Coro<void> { co_await asyncio::sleep(0); });
  EXPECT_THROW(tasks[0]->cancel(), RuntimeError);
  EXPECT_EQ(tasks[500]->cancelling(), 0);
}

TEST(AwaitCycle, DebugModeReportsACycleWhenItFormsNamingItsTasks) {
  asyncio::LoopOptions options = virtual_clock();
  options.debug = true;
  EventLoop loop(options);
  HandlerCapture handler(loop);
  TwoTaskCycle cycle(loop);
  ASSERT_EQ(handler.contexts().size(), 1u);
  EXPECT_NE(handler.contexts()[0].message.find("Task 'b' -> Task 'a' -> Task 'b'"), std::string::npos)
      << handler.contexts()[0].message;
}

TEST(AwaitCycle, DebugModeReportsNothingForAChainOfTasksWithoutACycle) {
  asyncio::LoopOptions options = virtual_clock();
  options.debug = true;
  EventLoop loop(options);
  HandlerCapture handler(loop);
  Task<int> last = loop.create_task([]() -> Coro<int> {
    co_await asyncio::sleep(1);
    co_return 1;
  });
  Task<int> middle = loop.create_task([&last]() -> Coro<int> { co_return co_await last; });
  Task<int> first = loop.create_task([&middle]() -> Coro<int> { co_return co_await middle; });
  EXPECT_EQ(loop.run_until_complete(first), 1);
  EXPECT_TRUE(handler.contexts().empty());
}

TEST(AwaitCycle, RunCancellingTheRemainingTasksReportsACycleInsteadOfHangingOrThrowing) {
  asyncio::Runner runner(virtual_clock());
  HandlerCapture handler(runner.get_loop());
  runner.run([]() -> Coro<void> {
    static std::optional<Task<void>> a;
    static std::optional<Task<void>> b;
    a.emplace(asyncio::create_task([]() -> Coro<void> { co_await *b; }));
    b.emplace(asyncio::create_task([]() -> Coro<void> { co_await *a; }));
    co_await asyncio::sleep(0);
    a.reset();
    b.reset();
  });
  EXPECT_NO_THROW(runner.close());
  bool reported = false;
  for (const auto& context : handler.contexts()) {
    if (context.message.find("could not be cancelled") != std::string::npos) reported = true;
  }
  EXPECT_TRUE(reported);
}

}  // namespace
