// Context variables in tasks, done-callbacks, TaskGroup, Runner and the thread pool, ported from
// the contextvar tests of CPython's Lib/test/test_asyncio (test_tasks.py test_context_1..6,
// test_runners.py, test_threads.py, test_taskgroups.py): every task runs in a copy of the context
// current at create_task, unless a context is given; done-callbacks in a copy of the context current
// when they were added; to_thread in a copy of the caller's; run_in_executor in the worker's own.

#include <gtest/gtest.h>

#include <asyncio/asyncio.hpp>

#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/test_support.hpp"

namespace {

using asyncio::Context;
using asyncio::ContextVar;
using asyncio::Coro;
using asyncio::EventLoop;
using asyncio::Future;
using asyncio::TaskOptions;
using asyncio::testing::run_virtual;
using asyncio::testing::virtual_clock;

template <class F>
decltype(auto) isolated(F&& body) {
  return Context().run(std::forward<F>(body));
}

TEST(TaskContext, ATaskSeesTheValuesItsCreatorHadAtCreateTask) {
  isolated([] {
    const ContextVar<std::string> cvar("cvar", "nope");
    auto sub = [&]() -> Coro<void> {
      co_await asyncio::sleep(0.01);
      EXPECT_EQ(cvar.get(), "nope");
      (void)cvar.set("something else");
    };
    auto main = [&]() -> Coro<void> {
      EXPECT_EQ(cvar.get(), "nope");
      auto subtask = asyncio::create_task(sub);
      (void)cvar.set("yes");
      EXPECT_EQ(cvar.get(), "yes");
      co_await subtask;
      EXPECT_EQ(cvar.get(), "yes");
    };
    run_virtual(main);
  });
}

TEST(TaskContext, ASetInATaskIsSeenNeitherByItsCreatorNorByItsSiblings) {
  isolated([] {
    const ContextVar<int> var("var", 0);
    std::vector<int> seen;
    auto child = [&](int value) -> Coro<void> {
      seen.push_back(var.get());
      (void)var.set(value);
      co_await asyncio::sleep(0);
      seen.push_back(var.get());
    };
    auto main = [&]() -> Coro<void> {
      (void)var.set(1);
      auto a = asyncio::create_task(child(10));
      auto b = asyncio::create_task(child(20));
      co_await a;
      co_await b;
      EXPECT_EQ(var.get(), 1);
    };
    run_virtual(main);
    EXPECT_EQ(seen, (std::vector<int>{1, 1, 10, 20}));
  });
}

Coro<void> keep_own_value(const ContextVar<int>& var, int num, std::vector<double> delays, int* mismatches) {
  for (int i = 0; i < 10; ++i) {
    (void)var.set(num + i);
    co_await asyncio::sleep(delays[static_cast<std::size_t>(i)]);
    if (var.get() != num + i) ++*mismatches;
  }
}

TEST(TaskContext, AHundredTasksEachKeepTheirOwnValueAcrossTheirSleeps) {
  isolated([] {
    const ContextVar<int> var("cvar", -1);
    std::mt19937 rng(20261207);
    std::uniform_real_distribution<double> delay(0.001, 0.05);
    std::uniform_int_distribution<int> start(0, 10);
    int mismatches = 0;
    auto main = [&]() -> Coro<void> {
      std::vector<asyncio::Task<void>> tasks;
      for (int t = 0; t < 100; ++t) {
        std::vector<double> delays;
        for (int i = 0; i < 10; ++i) delays.push_back(delay(rng));
        tasks.push_back(asyncio::create_task(keep_own_value(var, start(rng), std::move(delays), &mismatches)));
      }
      for (auto& t : tasks) co_await t;
    };
    run_virtual(main);
    EXPECT_EQ(mismatches, 0);
    EXPECT_EQ(var.get(), -1);
  });
}

TEST(TaskContext, ATaskGivenAContextRunsInThatContextItself) {
  isolated([] {
    const ContextVar<int> cvar("cvar");
    auto coro = [&](int value) -> Coro<void> {
      co_await asyncio::sleep(0);
      (void)cvar.set(value);
    };
    auto main = [&]() -> Coro<std::vector<std::optional<int>>> {
      std::vector<std::optional<int>> ret;
      const Context ctx = asyncio::copy_context();
      ret.push_back(ctx.get(cvar));
      auto t1 = asyncio::create_task(coro(1), TaskOptions{.context = &ctx});
      co_await t1;
      ret.push_back(ctx.get(cvar));
      auto t2 = asyncio::get_running_loop().create_task(coro(2), TaskOptions{.context = &ctx});
      co_await t2;
      ret.push_back(ctx.get(cvar));
      EXPECT_THROW((void)cvar.get(), asyncio::LookupError);
      co_return ret;
    };
    EXPECT_EQ(run_virtual(main), (std::vector<std::optional<int>>{std::nullopt, 1, 2}));
  });
}

TEST(TaskContext, ATaskKeepsTheContextItWasGivenWhenNoHandleToItIsLeft) {
  isolated([] {
    const ContextVar<int> var("var", 0);
    std::vector<int> seen;
    auto child = [&]() -> Coro<void> {
      seen.push_back(var.get());
      co_await asyncio::sleep(1);
      seen.push_back(var.get());
    };
    auto main = [&]() -> Coro<void> {
      std::optional<asyncio::Task<void>> task;
      {
        const Context given;
        given.run([&] { (void)var.set(9); });
        task.emplace(asyncio::create_task(child, TaskOptions{.context = &given}));
      }
      co_await *task;
    };
    run_virtual(main);
    EXPECT_EQ(seen, (std::vector<int>{9, 9}));
  });
}

TEST(TaskContext, ATaskKeepsWhatItSetsAcrossItsStepsAndCanResetItLater) {
  isolated([] {
    const ContextVar<int> var("var", 0);
    auto main = [&]() -> Coro<void> {
      auto token = var.set(5);
      co_await asyncio::sleep(1);
      EXPECT_EQ(var.get(), 5);
      auto inner = var.set(6);
      co_await asyncio::sleep(0);
      var.reset(inner);
      EXPECT_EQ(var.get(), 5);
      var.reset(token);
      EXPECT_EQ(var.get(), 0);
    };
    run_virtual(main);
  });
}

TEST(TaskContext, ATokenMadeInOneTaskCannotResetTheVariableInAnother) {
  isolated([] {
    const ContextVar<int> var("var", 0);
    std::optional<asyncio::Token<int>> token;
    auto maker = [&]() -> Coro<void> {
      token.emplace(var.set(1));
      co_return;
    };
    auto main = [&]() -> Coro<void> {
      auto made = asyncio::create_task(maker);
      co_await made;
      EXPECT_THROW(var.reset(*token), asyncio::ValueError);
      EXPECT_FALSE(token->used());
    };
    run_virtual(main);
  });
}

TEST(TaskContext, DoneCallbacksRunInACopyOfTheContextCurrentWhenTheyWereAdded) {
  isolated([] {
    const ContextVar<std::string> cvar("cvar", "nope");
    auto main = [&]() -> Coro<void> {
      EventLoop& loop = asyncio::get_running_loop();
      EXPECT_EQ(cvar.get(), "nope");
      for (int j = 0; j < 2; ++j) {
        Future<void> fut = loop.create_future<void>();
        std::string seen_by_callback;
        fut.add_done_callback([&](Future<void>&) {
          seen_by_callback = cvar.get();
          (void)cvar.set("something else");  // must not reach main's context
        });
        (void)cvar.set("yes" + std::to_string(j));
        loop.call_soon([fut]() mutable { fut.set_result(); });
        co_await fut;
        EXPECT_EQ(cvar.get(), "yes" + std::to_string(j));
        EXPECT_EQ(seen_by_callback, j == 0 ? "nope" : "yes2-0");
        for (int i = 0; i < 3; ++i) {
          (void)cvar.set("yes" + std::to_string(i) + "-" + std::to_string(j));
          co_await asyncio::sleep(0.001);
          EXPECT_EQ(cvar.get(), "yes" + std::to_string(i) + "-" + std::to_string(j));
        }
      }
    };
    run_virtual(main);
    EXPECT_EQ(cvar.get(), "nope");
  });
}

TEST(TaskContext, AddDoneCallbackWithAContextRunsTheCallbackInThatContext) {
  isolated([] {
    const ContextVar<int> var("var", 0);
    const Context given;
    given.run([&] { (void)var.set(3); });
    int seen = -1;
    auto main = [&]() -> Coro<void> {
      auto fut = asyncio::get_running_loop().create_future<int>();
      fut.add_done_callback(
          [&](Future<int>& f) {
            seen = var.get() + f.result();
            (void)var.set(4);
          },
          given);
      fut.set_result(10);
      co_await fut;
      co_await asyncio::sleep(0);
    };
    run_virtual(main);
    EXPECT_EQ(seen, 13);
    EXPECT_EQ(given[var], 4);
  });
}

TEST(TaskContext, TaskGroupChildrenRunInCopiesOfTheBodysContextOrInTheOneGiven) {
  isolated([] {
    const ContextVar<std::string> var("var", "none");
    const Context given;
    std::vector<std::string> seen;
    auto child = [&](std::string value) -> Coro<void> {
      seen.push_back(var.get());
      (void)var.set(std::move(value));
      co_await asyncio::sleep(0);
    };
    auto main = [&]() -> Coro<void> {
      (void)var.set("body");
      asyncio::TaskGroup tg;
      auto body = [&](asyncio::TaskGroup& g) -> Coro<void> {
        g.create_task(child("first"));
        g.create_task(child("second"), TaskOptions{.context = &given});
        co_return;
      };
      co_await tg.run(body);
      EXPECT_EQ(var.get(), "body");
    };
    run_virtual(main);
    EXPECT_EQ(seen, (std::vector<std::string>{"body", "none"}));
    EXPECT_EQ(given[var], "second");
  });
}

TEST(TaskContext, AnEagerTaskRunsInACopyOfItsCreatorsContext) {
  isolated([] {
    const ContextVar<int> var("var", 0);
    auto eager = [&]() -> Coro<int> {
      const int before = var.get();
      (void)var.set(before + 100);
      co_return var.get();
    };
    auto main = [&]() -> Coro<void> {
      (void)var.set(1);
      auto t = asyncio::create_task(eager, TaskOptions{.eager_start = true});
      EXPECT_TRUE(t.done());
      EXPECT_EQ(t.result(), 101);
      EXPECT_EQ(var.get(), 1);
      co_await t;
    };
    run_virtual(main);
  });
}

TEST(TaskContext, CallSoonFromATaskRunsInTheTasksContextAsItWasThen) {
  isolated([] {
    const ContextVar<int> var("var", 0);
    int seen = -1;
    auto main = [&]() -> Coro<void> {
      (void)var.set(1);
      asyncio::get_running_loop().call_soon([&] { seen = var.get(); });
      (void)var.set(2);
      co_await asyncio::sleep(0);
      EXPECT_EQ(var.get(), 2);
    };
    run_virtual(main);
    EXPECT_EQ(seen, 1);
  });
}

TEST(TaskContext, RunStartsFromACopyOfTheCallersContext) {
  isolated([] {
    const ContextVar<std::string> var("var", "none");
    (void)var.set("caller");
    auto main = [&]() -> Coro<std::string> {
      std::string seen = var.get();
      (void)var.set("main");
      co_return seen;
    };
    EXPECT_EQ(run_virtual(main), "caller");
    EXPECT_EQ(var.get(), "caller");
  });
}

TEST(TaskContext, ARunnerKeepsItsContextFromOneRunToTheNext) {
  isolated([] {
    const ContextVar<int> cvar("cvar", -1);
    auto f = [&](int value) -> Coro<int> {
      const int old = cvar.get();
      co_await asyncio::sleep(0);
      (void)cvar.set(value);
      co_return old;
    };
    auto get_context = []() -> Coro<Context> { co_return asyncio::copy_context(); };
    asyncio::Runner runner(virtual_clock());
    EXPECT_EQ(runner.run(f(1)), -1);
    EXPECT_EQ(runner.run(f(2)), 1);
    EXPECT_EQ(runner.run(get_context).get(cvar), std::optional<int>(2));
    EXPECT_EQ(cvar.get(), -1);
  });
}

TEST(TaskContext, TheRunsOfARunnerShareOneContextSoATokenOfOneRunResetsInTheNext) {
  isolated([] {
    const ContextVar<int> cvar("cvar", -1);
    std::optional<asyncio::Token<int>> token;
    auto first = [&]() -> Coro<void> {
      (void)cvar.set(1);
      token.emplace(cvar.set(2));
      co_return;
    };
    auto second = [&]() -> Coro<int> {
      cvar.reset(*token);
      co_return cvar.get();
    };
    asyncio::Runner runner(virtual_clock());
    runner.run(first);
    EXPECT_EQ(runner.run(second), 1);
  });
}

TEST(TaskContext, RunnerRunWithAContextRunsTheMainTaskInThatContext) {
  isolated([] {
    const ContextVar<int> cvar("cvar", -1);
    const Context ctx;
    auto main = [&]() -> Coro<void> {
      EXPECT_EQ(cvar.get(), -1);
      (void)cvar.set(8);
      co_return;
    };
    asyncio::Runner runner(virtual_clock());
    runner.run(main, ctx);
    EXPECT_EQ(ctx[cvar], 8);
    auto other = [&]() -> Coro<int> { co_return cvar.get(); };
    EXPECT_EQ(runner.run(other), -1);  // the runner's own context was not touched
  });
}

TEST(TaskContext, ToThreadSeesTheCallersValuesInTheWorkerThread) {
  isolated([] {
    const ContextVar<std::string> test_ctx("test_ctx");
    auto main = [&]() -> Coro<void> {
      (void)test_ctx.set("parrot");
      const std::thread::id loop_thread = std::this_thread::get_id();
      auto get_ctx = [&] {
        EXPECT_NE(std::this_thread::get_id(), loop_thread);
        return test_ctx.get();
      };
      std::string result = co_await asyncio::to_thread(get_ctx);
      EXPECT_EQ(result, "parrot");
    };
    run_virtual(main);
  });
}

TEST(TaskContext, WhatToThreadSetsStaysInItsCopy) {
  isolated([] {
    const ContextVar<int> var("var", 0);
    auto main = [&]() -> Coro<void> {
      (void)var.set(1);
      auto bump = [&](int by) {
        (void)var.set(var.get() + by);
        return var.get();
      };
      EXPECT_EQ(co_await asyncio::to_thread(bump, 41), 42);
      EXPECT_EQ(var.get(), 1);
    };
    run_virtual(main);
  });
}

TEST(TaskContext, RunInExecutorRunsInTheWorkersOwnContextNotTheCallers) {
  isolated([] {
    const ContextVar<std::string> var("var", "worker default");
    auto main = [&]() -> Coro<void> {
      (void)var.set("caller");
      auto read = [&] { return var.get(); };
      EXPECT_EQ(co_await asyncio::get_running_loop().run_in_executor(nullptr, read), "worker default");
      const Context ctx = asyncio::copy_context();
      auto read_in_copy = [&] { return ctx.run(read); };
      EXPECT_EQ(co_await asyncio::get_running_loop().run_in_executor(nullptr, read_in_copy), "caller");
    };
    run_virtual(main);
  });
}

TEST(TaskContext, RunCoroutineThreadsafeRunsTheCoroutineInACopyOfTheCallingThreadsContext) {
  isolated([] {
    const ContextVar<std::string> var("var", "none");
    std::string seen;
    auto read = [&]() -> Coro<std::string> { co_return var.get(); };
    auto main = [&]() -> Coro<void> {
      EventLoop& loop = asyncio::get_running_loop();
      (void)var.set("loop");
      Future<void> finished = loop.create_future<void>();
      std::thread other([&] {
        (void)var.set("caller thread");
        seen = asyncio::run_coroutine_threadsafe(read(), loop).result();
        loop.call_soon_threadsafe([&finished] { finished.set_result(); });
      });
      struct Join {
        std::thread& t;
        ~Join() { t.join(); }
      } join{other};
      co_await finished;
      EXPECT_EQ(var.get(), "loop");
    };
    run_virtual(main);
    EXPECT_EQ(seen, "caller thread");
  });
}

TEST(TaskContext, ATaskWhoseContextIsEnteredElsewhereWhenItStepsEndsWithRuntimeError) {
  isolated([] {
    EventLoop loop(virtual_clock());
    const Context ctx;
    bool ran = false;
    auto body = [&]() -> Coro<void> {
      ran = true;
      co_return;
    };
    ctx.run([&] {
      auto task = asyncio::create_task(loop, body, TaskOptions{.context = &ctx});
      try {
        loop.run_until_complete(task);
        ADD_FAILURE() << "no RuntimeError";
      } catch (const asyncio::RuntimeError& e) {
        EXPECT_NE(std::string(e.what()).find("is already entered"), std::string::npos) << e.what();
      }
    });
    EXPECT_FALSE(ran);
  });
}

TEST(TaskContext, ValuesGoOnceTheTasksAndCallbacksHoldingThemAreGone) {
  std::weak_ptr<int> watch;
  isolated([&] {
    const ContextVar<std::shared_ptr<int>> var("var");
    auto idle = []() -> Coro<void> { co_await asyncio::sleep(100); };
    auto main = [&]() -> Coro<void> {
      auto value = std::make_shared<int>(1);
      watch = value;
      (void)var.set(std::move(value));
      auto never_started = asyncio::create_task(idle);
      never_started.cancel();
      auto sleeping = asyncio::create_task(idle);
      asyncio::get_running_loop().call_later(1000, [] {});
      co_await asyncio::sleep(0);
      EXPECT_FALSE(watch.expired());
    };
    run_virtual(main);
  });
  EXPECT_TRUE(watch.expired());
}

}  // namespace
