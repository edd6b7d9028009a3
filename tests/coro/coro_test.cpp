// Tests of asyncio::Coro<T> (coro/coro.hpp) and the Task trampoline that runs it (coro/driver.hpp).
// A Coro runs only inside a Task, so every test drives it with asyncio::run.

#include <gtest/gtest.h>

#include <asyncio/asyncio.hpp>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "support/test_support.hpp"

namespace {

using asyncio::Coro;
using asyncio::LoopOptions;
using asyncio::RuntimeError;
using asyncio::testing::LogCapture;
using asyncio::testing::run_virtual;

Coro<int> forty_two() { co_return 42; }

Coro<void> set_flag(bool* flag) {
  *flag = true;
  co_return;
}

Coro<std::unique_ptr<int>> make_box(int value) { co_return std::make_unique<int>(value); }

Coro<int> fail_if(bool fail, std::string message) {
  if (fail) throw std::runtime_error(message);
  co_return 0;
}

TEST(Coro, IsLazyItsBodyDoesNotRunUntilAwaited) {
  auto main = []() -> Coro<std::pair<bool, bool>> {
    bool ran = false;
    Coro<void> c = set_flag(&ran);
    const bool before = ran;
    co_await c;
    co_return std::pair{before, ran};
  };
  const auto [before, after] = run_virtual(main);
  EXPECT_FALSE(before);
  EXPECT_TRUE(after);
}

TEST(Coro, CoAwaitReturnsTheCoroutinesValue) {
  auto main = []() -> Coro<int> { co_return co_await forty_two() + 1; };
  EXPECT_EQ(run_virtual(main), 43);
}

TEST(Coro, CoAwaitOfANamedCoroReturnsItsValue) {
  auto main = []() -> Coro<int> {
    Coro<int> c = forty_two();
    co_return co_await c;
  };
  EXPECT_EQ(run_virtual(main), 42);
}

TEST(Coro, CoAwaitOfAVoidCoroRunsItsBody) {
  auto main = []() -> Coro<bool> {
    bool ran = false;
    co_await set_flag(&ran);
    co_return ran;
  };
  EXPECT_TRUE(run_virtual(main));
}

TEST(Coro, AMoveOnlyResultIsMovedToTheAwaiter) {
  auto main = []() -> Coro<std::unique_ptr<int>> {
    std::unique_ptr<int> box = co_await make_box(7);
    co_return box;
  };
  std::unique_ptr<int> box = run_virtual(main);
  ASSERT_NE(box, nullptr);
  EXPECT_EQ(*box, 7);
}

TEST(Coro, AnExceptionPropagatesToTheAwaiter) {
  auto main = []() -> Coro<std::string> {
    try {
      co_await fail_if(true, "inner failure");
    } catch (const std::runtime_error& e) {
      co_return e.what();
    }
    co_return "nothing caught";
  };
  EXPECT_EQ(run_virtual(main), "inner failure");
}

TEST(Coro, AnExceptionOfAVoidCoroPropagatesToTheAwaiter) {
  auto main = []() -> Coro<bool> {
    auto thrower = []() -> Coro<void> {
      throw std::length_error("void failure");
      co_return;
    };
    try {
      co_await thrower();
    } catch (const std::length_error&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(run_virtual(main));
}

TEST(Coro, AnExceptionNobodyCatchesPropagatesOutOfRun) {
  auto main = []() -> Coro<int> { co_return co_await fail_if(true, "uncaught"); };
  EXPECT_THROW(run_virtual(main), std::runtime_error);
}

TEST(Coro, AwaitingTheSameCoroTwiceIsARuntimeError) {
  auto main = []() -> Coro<std::string> {
    Coro<int> c = forty_two();
    (void)co_await c;
    try {
      (void)co_await c;
    } catch (const RuntimeError& e) {
      co_return e.what();
    }
    co_return "awaited twice";
  };
  EXPECT_EQ(run_virtual(main), "cannot reuse already awaited coroutine");
}

TEST(Coro, AwaitingAnEmptyCoroIsARuntimeError) {
  auto main = []() -> Coro<bool> {
    Coro<int> empty;
    try {
      (void)co_await empty;
    } catch (const RuntimeError&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(run_virtual(main));
}

Coro<void> never_awaited_coroutine() { co_return; }

TEST(Coro, ACoroDestroyedBeforeItRanIsReportedInDebugMode) {
  LogCapture logs;
  asyncio::run(
      []() -> Coro<void> {
        { Coro<void> forgotten = never_awaited_coroutine(); }
        co_return;
      },
      LoopOptions{.debug = true});
  EXPECT_EQ(logs.count("was never awaited"), 1u);
  EXPECT_EQ(logs.count("never_awaited_coroutine"), 1u);
}

TEST(Coro, ACoroDestroyedBeforeItRanIsNotReportedWhenDebugIsOff) {
  LogCapture logs;
  asyncio::run(
      []() -> Coro<void> {
        { Coro<void> forgotten = never_awaited_coroutine(); }
        co_return;
      },
      LoopOptions{.debug = false});
  EXPECT_EQ(logs.count("was never awaited"), 0u);
}

TEST(Coro, AnAwaitedCoroIsNotReportedInDebugMode) {
  LogCapture logs;
  asyncio::run(
      []() -> Coro<void> {
        Coro<void> awaited = never_awaited_coroutine();
        co_await awaited;
      },
      LoopOptions{.debug = true});
  EXPECT_EQ(logs.count("was never awaited"), 0u);
}

TEST(Coro, NameIsTheCoroutineFunctionsName) {
  auto main = []() -> Coro<std::string> {
    Coro<int> c = forty_two();
    std::string name = c.name();
    (void)co_await c;
    co_return name;
  };
  EXPECT_EQ(run_virtual(main), "forty_two");
}

struct Widget {
  Coro<int> method_coroutine(int x) const { co_return x + base; }
  int base = 1;
};

TEST(Coro, NameOfAMemberFunctionCoroutineIsTheMethodsName) {
  auto main = []() -> Coro<std::string> {
    Widget w;
    Coro<int> c = w.method_coroutine(1);
    std::string name = c.name();
    (void)co_await c;
    co_return name;
  };
  EXPECT_EQ(run_virtual(main), "method_coroutine");
}

TEST(Coro, NameOfALambdaCoroutineIsOperatorCall) {
  auto main = []() -> Coro<std::string> {
    auto lambda = []() -> Coro<int> { co_return 1; };
    Coro<int> c = lambda();
    std::string name = c.name();
    (void)co_await c;
    co_return name;
  };
  EXPECT_EQ(run_virtual(main), "operator()");
}

TEST(Coro, NameOfAnEmptyCoroIsEmpty) {
  Coro<int> empty;
  EXPECT_STREQ(empty.name(), "");
}

Coro<int> leaf(int i) { co_return i & 1; }

Coro<std::int64_t> sum_of_leaves(int count) {
  std::int64_t sum = 0;
  for (int i = 0; i < count; ++i) sum += co_await leaf(i);
  co_return sum;
}

TEST(Coro, TenMillionSynchronouslyCompletingAwaitsInOneTaskRunInConstantStack) {
  // DESIGN section 4: g++ below -O2 or under sanitizers does not make symmetric transfer a tail
  // call; a task must resume frames from a trampoline, or this overflows the stack in Debug+ASan.
  constexpr int kAwaits = 10'000'000;
  EXPECT_EQ(asyncio::run(sum_of_leaves(kAwaits)), kAwaits / 2);
}

Coro<int> recurse(int depth) {
  if (depth == 0) co_return 0;
  co_return 1 + co_await recurse(depth - 1);
}

TEST(Coro, ATenThousandDeepRecursionOfCorosWorks) {
  constexpr int kDepth = 10'000;
  EXPECT_EQ(run_virtual(recurse(kDepth)), kDepth);
}

Coro<int> recurse_then_fail(int depth) {
  if (depth == 0) throw std::out_of_range("bottom");
  co_return 1 + co_await recurse_then_fail(depth - 1);
}

TEST(Coro, AnExceptionFromTheBottomOfATenThousandDeepRecursionReachesTheTop) {
  auto main = []() -> Coro<std::string> {
    try {
      (void)co_await recurse_then_fail(10'000);
    } catch (const std::out_of_range& e) {
      co_return e.what();
    }
    co_return "nothing caught";
  };
  EXPECT_EQ(run_virtual(main), "bottom");
}

}  // namespace
