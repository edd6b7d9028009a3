// detail::ExternalWait: a task parked without a Future (what a StreamReader's line read uses),
// woken by its wait site, and leaving it when cancelled or abandoned.

#include <gtest/gtest.h>

#include <coroutine>
#include <utility>

#include "support/test_support.hpp"

using asyncio::CancelledError;
using asyncio::Coro;
using asyncio::EventLoop;
using asyncio::detail::Driver;
using asyncio::detail::ExternalWait;
using asyncio::detail::TaskBase;
using asyncio::testing::run_virtual;
using asyncio::testing::virtual_clock;

namespace {

/// A wait site holding at most one task.
struct Gate final : ExternalWait {
  TaskBase* task = nullptr;
  int forgotten = 0;
  void forget_task() noexcept override {
    task = nullptr;
    ++forgotten;
  }
  void open() { std::exchange(task, nullptr)->wake_external(); }
};

/// `co_await GateAwaiter{gate}` parks the running task at `gate`.
struct GateAwaiter {
  static constexpr bool asyncio_awaiter = true;
  Gate& gate;
  Driver* driver = nullptr;
  bool await_ready() const noexcept { return false; }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> awaiting) {
    driver = awaiting.promise().driver();
    auto* task = static_cast<TaskBase*>(driver);
    gate.task = task;
    task->park_external(gate, awaiting);
    return true;
  }
  void await_resume() { driver->raise_pending(); }
};

Coro<int> pass(Gate& gate, int& stage) {
  stage = 1;
  co_await GateAwaiter{gate};
  stage = 2;
  co_return 42;
}

}  // namespace

TEST(ExternalWait, AParkedTaskRunsOnWhenItsWaitSiteWakesIt) {
  run_virtual([]() -> Coro<void> {
    Gate gate;
    int stage = 0;
    auto task = asyncio::create_task(pass(gate, stage));
    co_await asyncio::sleep(0);
    EXPECT_EQ(stage, 1);
    EXPECT_NE(gate.task, nullptr);
    gate.open();
    EXPECT_EQ(co_await task, 42);
    EXPECT_EQ(stage, 2);
    EXPECT_EQ(gate.forgotten, 0);
  });
}

TEST(ExternalWait, CancellingAParkedTaskMakesTheSiteForgetItAndRaisesCancelledError) {
  run_virtual([]() -> Coro<void> {
    Gate gate;
    int stage = 0;
    auto task = asyncio::create_task(pass(gate, stage));
    co_await asyncio::sleep(0);
    EXPECT_TRUE(task.cancel());
    EXPECT_EQ(gate.task, nullptr);  // forgotten at once: the site cannot wake it any more
    EXPECT_EQ(gate.forgotten, 1);
    EXPECT_THROW(co_await task, CancelledError);
    EXPECT_EQ(stage, 1);
  });
}

TEST(ExternalWait, ATaskCancelledInTheStepThatParksItLeavesTheSiteAndRaisesCancelledError) {
  run_virtual([]() -> Coro<void> {
    Gate gate;
    int stage = 0;
    auto body = [&]() -> Coro<int> {  // named: the coroutine reads its captures from the closure
      asyncio::current_task().cancel();
      co_return co_await pass(gate, stage);
    };
    auto task = asyncio::create_task(body());
    EXPECT_THROW(co_await task, CancelledError);
    EXPECT_EQ(gate.forgotten, 1);
    EXPECT_EQ(stage, 1);
  });
}

TEST(ExternalWait, ALoopDestroyedWithATaskParkedMakesTheSiteForgetIt) {
  Gate gate;
  int stage = 0;
  {
    EventLoop loop(virtual_clock());
    auto task = loop.create_task(pass(gate, stage));
    loop.run_until_complete([]() -> Coro<void> { co_await asyncio::sleep(0); });
    EXPECT_NE(gate.task, nullptr);
  }  // "Task was destroyed but it is pending!": abandoned, its frame unwound
  EXPECT_EQ(gate.task, nullptr);
  EXPECT_EQ(gate.forgotten, 1);
  EXPECT_EQ(stage, 1);
}
