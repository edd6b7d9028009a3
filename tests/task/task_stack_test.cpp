// Task::get_stack and print_stack (CPython's Lib/test/test_asyncio/test_tasks.py get_stack tests):
// a task not done shows its coroutine's frame, a task done shows none.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "support/test_support.hpp"

namespace {

using asyncio::Coro;
using asyncio::StackFrame;
using asyncio::Task;
using asyncio::testing::run_virtual;

constexpr std::uint32_t kSleeperLine = __LINE__ + 1;
Coro<void> sleeper() { co_await asyncio::sleep(10); }

TEST(TaskStack, ASuspendedTaskShowsItsCoroutinesFrame) {
  const std::vector<StackFrame> frames = run_virtual([]() -> Coro<std::vector<StackFrame>> {
    Task<void> task = asyncio::create_task(sleeper());
    co_await asyncio::sleep(0);  // the task now waits in sleep(10)
    std::vector<StackFrame> stack = task.get_stack();
    task.cancel();
    co_return stack;
  });
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_NE(frames[0].function.find("sleeper"), std::string::npos) << frames[0].function;
  EXPECT_EQ(frames[0].line, kSleeperLine);
}

TEST(TaskStack, ATaskThatHasNotStartedShowsItsCoroutinesFrame) {
  const std::size_t n = run_virtual([]() -> Coro<std::size_t> {
    Task<void> task = asyncio::create_task(sleeper());
    const std::size_t size = task.get_stack().size();
    task.cancel();
    co_return size;
  });
  EXPECT_EQ(n, 1u);
}

TEST(TaskStack, ATaskThatIsDoneShowsNoFrame) {
  const std::size_t n = run_virtual([]() -> Coro<std::size_t> {
    Task<void> task = asyncio::create_task(sleeper());
    co_await task;
    co_return task.get_stack().size();
  });
  EXPECT_EQ(n, 0u);
}

TEST(TaskStack, ALimitOfZeroShowsNoFrame) {
  const std::size_t n = run_virtual([]() -> Coro<std::size_t> {
    Task<void> task = asyncio::create_task(sleeper());
    const std::size_t size = task.get_stack(0).size();
    task.cancel();
    co_return size;
  });
  EXPECT_EQ(n, 0u);
}

TEST(TaskStack, PrintStackNamesTheTaskThenEachFrame) {
  const std::string text = run_virtual([]() -> Coro<std::string> {
    Task<void> task = asyncio::create_task(sleeper(), asyncio::TaskOptions{.name = "napper"});
    co_await asyncio::sleep(0);
    std::ostringstream out;
    task.print_stack(std::nullopt, out);
    task.cancel();
    co_return out.str();
  });
  EXPECT_EQ(text.rfind("Stack for <Task pending name='napper'", 0), 0u) << text;
  EXPECT_NE(text.find("(most recent call last):\n  line " + std::to_string(kSleeperLine) + ", in "), std::string::npos)
      << text;
  EXPECT_NE(text.find("sleeper"), std::string::npos) << text;
}

TEST(TaskStack, PrintStackOfADoneTaskSaysItHasNoStack) {
  const std::string text = run_virtual([]() -> Coro<std::string> {
    Task<void> task = asyncio::create_task(sleeper(), asyncio::TaskOptions{.name = "napper"});
    co_await task;
    std::ostringstream out;
    asyncio::AnyTask any = task;
    any.print_stack(std::nullopt, out);
    co_return out.str();
  });
  EXPECT_EQ(text.rfind("No stack for <Task finished name='napper'", 0), 0u) << text;
}

}  // namespace
