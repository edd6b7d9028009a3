// Tests of context variables (loop/context.hpp, loop/context_var.hpp), ported from CPython's
// Lib/test/test_context.py where it has the case: ContextVar get/set/reset and tokens, Context.run,
// copies and their isolation, threads; and of the loop's callbacks (call_soon, call_later, call_at,
// call_soon_threadsafe), which run in the context current when they were scheduled, or in the one
// given.
//
// Each test runs in a new empty context (CPython's isolated_context), so that what one sets at the
// top level does not leak into the next when the binary runs them all in one process.

#include <gtest/gtest.h>

#include <unistd.h>
#include <asyncio/asyncio.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/test_support.hpp"

namespace {

using asyncio::Context;
using asyncio::ContextVar;
using asyncio::EventLoop;
using asyncio::Token;
using asyncio::testing::HandlerCapture;

template <class F>
void isolated(F&& body) {
  Context().run(std::forward<F>(body));
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// --- ContextVar ------------------------------------------------------------------------------

TEST(ContextVar, NameIsTheOneGiven) {
  const ContextVar<int> var("aaa");
  EXPECT_EQ(var.name(), "aaa");
  EXPECT_EQ(var.repr(), "<ContextVar name='aaa'>");
}

TEST(ContextVar, GetRaisesLookupErrorNamingTheVariableWhenItHasNoValueAndNoDefault) {
  isolated([] {
    const ContextVar<int> var("request_id");
    try {
      (void)var.get();
      ADD_FAILURE() << "no LookupError";
    } catch (const asyncio::LookupError& e) {
      EXPECT_EQ(std::string(e.what()), "<ContextVar name='request_id'>");
    }
  });
}

TEST(ContextVar, GetGivesTheVariablesDefaultWhenItHasNoValue) {
  isolated([] {
    const ContextVar<int> var("a", 123);
    EXPECT_EQ(var.get(), 123);
  });
}

TEST(ContextVar, GetWithADefaultPrefersThatDefaultToTheVariablesOwn) {
  isolated([] {
    const ContextVar<int> var("a", 123);
    EXPECT_EQ(var.get(7), 7);
    (void)var.set(1);
    EXPECT_EQ(var.get(7), 1);
  });
}

TEST(ContextVar, SetChangesWhatGetGivesAndReturnsATokenWithoutAnOldValue) {
  isolated([] {
    const ContextVar<int> var("c");
    Token<int> t0 = var.set(42);
    EXPECT_EQ(var.get(), 42);
    EXPECT_EQ(var.get(0), 42);
    EXPECT_EQ(t0.old_value(), Token<int>::MISSING);
    EXPECT_EQ(&t0.var(), &var);
    EXPECT_FALSE(t0.used());
  });
}

TEST(ContextVar, ASecondSetGivesATokenHoldingTheFirstValue) {
  isolated([] {
    const ContextVar<std::string> var("c");
    auto t0 = var.set("spam");
    auto t1 = var.set("ham");
    EXPECT_EQ(var.get(), "ham");
    EXPECT_EQ(t1.old_value(), std::optional<std::string>("spam"));
  });
}

TEST(ContextVar, ResetRestoresTheValueBeforeTheSet) {
  isolated([] {
    const ContextVar<int> var("c");
    auto t0 = var.set(42);
    auto t1 = var.set(43);
    var.reset(t1);
    EXPECT_EQ(var.get(), 42);
    EXPECT_TRUE(t1.used());
    EXPECT_EQ(t1.repr(), "<Token used var=<ContextVar name='c'>>");
  });
}

TEST(ContextVar, ResetOfATokenWithoutAnOldValueRemovesTheValue) {
  isolated([] {
    const ContextVar<int> var("c");
    auto t0 = var.set(42);
    var.reset(t0);
    EXPECT_EQ(var.get(-1), -1);
    EXPECT_THROW((void)var.get(), asyncio::LookupError);
    EXPECT_EQ(asyncio::copy_context().size(), 0u);
  });
}

TEST(ContextVar, ResetTwiceWithOneTokenRaisesRuntimeErrorAndChangesNothing) {
  isolated([] {
    const ContextVar<std::string> var("c");
    auto t0 = var.set("a");
    auto t1 = var.set("b");
    var.reset(t1);
    (void)var.set("spam2");
    try {
      var.reset(t1);
      ADD_FAILURE() << "no RuntimeError";
    } catch (const asyncio::RuntimeError& e) {
      EXPECT_TRUE(contains(e.what(), "has already been used once")) << e.what();
    }
    EXPECT_EQ(var.get(), "spam2");
  });
}

TEST(ContextVar, ResetWithATokenOfAnotherVariableRaisesValueError) {
  isolated([] {
    const ContextVar<int> v1("v1");
    const ContextVar<int> v2("v2");
    auto t1 = v1.set(42);
    try {
      v2.reset(t1);
      ADD_FAILURE() << "no ValueError";
    } catch (const asyncio::ValueError& e) {
      EXPECT_TRUE(contains(e.what(), "was created by a different ContextVar")) << e.what();
    }
    EXPECT_FALSE(t1.used());
  });
}

TEST(ContextVar, ResetWithATokenMadeInAnotherContextRaisesValueError) {
  isolated([] {
    const ContextVar<int> var("c", 42);
    Context ctx;
    Token<int> token = ctx.run([&] { return var.set(1); });
    try {
      var.reset(token);
      ADD_FAILURE() << "no ValueError";
    } catch (const asyncio::ValueError& e) {
      EXPECT_TRUE(contains(e.what(), "was created in a different Context")) << e.what();
    }
    // In its own context it works.
    ctx.run([&] { var.reset(token); });
    EXPECT_FALSE(ctx.contains(var));
  });
}

TEST(ContextVar, ATokensOldValueStaysReadableAfterReset) {
  isolated([] {
    const ContextVar<int> var("c");
    (void)var.set(1);
    auto token = var.set(2);
    var.reset(token);
    EXPECT_EQ(token.old_value(), std::optional<int>(1));
  });
}

TEST(ContextVar, AMovedFromTokenCountsAsUsed) {
  isolated([] {
    const ContextVar<int> var("c");
    auto token = var.set(1);
    Token<int> moved = std::move(token);
    EXPECT_TRUE(token.used());  // NOLINT(bugprone-use-after-move): what a moved-from token says
    EXPECT_THROW(var.reset(token), asyncio::RuntimeError);
    var.reset(moved);
    EXPECT_THROW((void)var.get(), asyncio::LookupError);
  });
}

TEST(ContextVar, ThousandsOfVariablesKeepTheirOwnValuesInEveryCopy) {
  isolated([] {
    constexpr int kVars = 3000;
    std::vector<std::unique_ptr<ContextVar<int>>> vars;
    for (int i = 0; i < kVars; ++i) vars.push_back(std::make_unique<ContextVar<int>>("v" + std::to_string(i)));
    std::vector<Context> snapshots;
    for (int i = 0; i < kVars; ++i) {
      (void)vars[i]->set(i);
      if (i % 500 == 0) snapshots.push_back(asyncio::copy_context());
    }
    for (int i = 0; i < kVars; ++i) (void)vars[i]->set(vars[i]->get() * 2);
    for (int i = 0; i < kVars; ++i) ASSERT_EQ(vars[i]->get(), 2 * i);
    EXPECT_EQ(asyncio::copy_context().size(), static_cast<std::size_t>(kVars));
    for (std::size_t s = 0; s < snapshots.size(); ++s) {
      const int upto = static_cast<int>(s) * 500;
      EXPECT_EQ(snapshots[s].size(), static_cast<std::size_t>(upto + 1));
      for (int i = 0; i < kVars; ++i) {
        if (i <= upto) {
          ASSERT_EQ(snapshots[s].get(*vars[i]), std::optional<int>(i));
        } else {
          ASSERT_FALSE(snapshots[s].contains(*vars[i]));
        }
      }
    }
  });
}

TEST(ContextVar, ResetRemovesValuesFromAMapOfManyVariablesWithoutTouchingItsCopies) {
  isolated([] {
    constexpr int kVars = 200;
    std::vector<std::unique_ptr<ContextVar<int>>> vars;
    std::vector<Token<int>> tokens;
    for (int i = 0; i < kVars; ++i) {
      vars.push_back(std::make_unique<ContextVar<int>>("v" + std::to_string(i)));
      tokens.push_back(vars[i]->set(i));
    }
    const Context before = asyncio::copy_context();
    for (int i = kVars; i-- > 0;) {
      if (i % 3 != 0) vars[i]->reset(tokens[i]);
    }
    for (int i = 0; i < kVars; ++i) ASSERT_EQ(vars[i]->get(-1), i % 3 == 0 ? i : -1);
    EXPECT_EQ(asyncio::copy_context().size(), static_cast<std::size_t>((kVars + 2) / 3));
    EXPECT_EQ(before.size(), static_cast<std::size_t>(kVars));
    for (int i = 0; i < kVars; ++i) ASSERT_EQ(before.get(*vars[i]), std::optional<int>(i));
  });
}

TEST(ContextVar, RandomSetsResetsAndCopiesAgreeWithAPlainMapModel) {
  isolated([] {
    // Variables whose ids share 5, 10 and more low bits exercise the deeper levels of the map.
    std::vector<std::unique_ptr<ContextVar<int>>> all;
    for (int i = 0; i < 4200; ++i) all.push_back(std::make_unique<ContextVar<int>>("v" + std::to_string(i)));
    std::vector<const ContextVar<int>*> vars;
    for (std::size_t i = 0; i < all.size(); i += 1024) vars.push_back(all[i].get());
    for (std::size_t i = 1; i < all.size(); i += 32) vars.push_back(all[i].get());
    for (std::size_t i = 2; i < 60; ++i) {
      if (i % 32 != 1) vars.push_back(all[i].get());
    }
    std::mt19937 rng(567);
    auto pick = [&] { return std::uniform_int_distribution<std::size_t>(0, vars.size() - 1)(rng); };
    struct Copy {
      Context context;
      std::map<std::size_t, int> model;
    };
    std::map<std::size_t, int> model;  // the current context
    std::vector<Copy> copies;
    std::vector<std::pair<std::size_t, Token<int>>> tokens;
    auto check = [&](const Context& context, const std::map<std::size_t, int>& expected) {
      ASSERT_EQ(context.size(), expected.size());
      for (std::size_t v = 0; v < vars.size(); ++v) {
        const auto it = expected.find(v);
        ASSERT_EQ(context.get(*vars[v]), it == expected.end() ? std::nullopt : std::optional<int>(it->second));
      }
    };
    for (int step = 0; step < 20000; ++step) {
      const unsigned op = rng() % 12;
      if (op < 5) {
        const std::size_t v = pick();
        const int value = static_cast<int>(rng() % 1000);
        tokens.emplace_back(v, vars[v]->set(value));
        model[v] = value;
        if (tokens.size() > 64) tokens.erase(tokens.begin() + static_cast<std::ptrdiff_t>(rng() % tokens.size()));
      } else if (op < 7 && !tokens.empty()) {
        const std::size_t i = rng() % tokens.size();
        auto& [v, token] = tokens[i];
        const std::optional<int> old = token.old_value();
        if (!old && !model.contains(v)) {
          // Its value was removed by another reset: CPython raises LookupError too.
          EXPECT_THROW(vars[v]->reset(token), asyncio::LookupError);
        } else {
          vars[v]->reset(token);
          if (old) {
            model[v] = *old;
          } else {
            model.erase(v);
          }
        }
        tokens.erase(tokens.begin() + static_cast<std::ptrdiff_t>(i));
      } else if (op == 7) {
        if (copies.size() < 16) {
          copies.push_back(Copy{asyncio::copy_context(), model});
        } else {
          copies[rng() % copies.size()] = Copy{asyncio::copy_context(), model};
        }
      } else if (op == 8 && !copies.empty()) {
        Copy& copy = copies[rng() % copies.size()];
        const std::size_t v = pick();
        const int value = static_cast<int>(rng() % 1000);
        copy.context.run([&] { (void)vars[v]->set(value); });
        copy.model[v] = value;
      } else if (op == 9 && !copies.empty()) {
        const Copy& copy = copies[rng() % copies.size()];
        check(copy.context, copy.model);
      } else if (op == 10) {
        check(asyncio::copy_context(), model);
      } else {
        const std::size_t v = pick();
        const auto it = model.find(v);
        ASSERT_EQ(vars[v]->get(-1), it == model.end() ? -1 : it->second);
      }
    }
    check(asyncio::copy_context(), model);
    for (const Copy& copy : copies) check(copy.context, copy.model);
  });
}

TEST(ContextVar, AValueIsDestroyedOnceNoContextOrTokenHoldsIt) {
  auto value = std::make_shared<int>(5);
  std::weak_ptr<int> watch = value;
  {
    const ContextVar<std::shared_ptr<int>> var("p");
    Context ctx;
    ctx.run([&] { (void)var.set(std::move(value)); });
    const Context copy = ctx.copy();
    ctx.run([&] { (void)var.set(nullptr); });
    EXPECT_FALSE(watch.expired());  // the copy still holds it
  }
  EXPECT_TRUE(watch.expired());
}

// --- Context -----------------------------------------------------------------------------------

TEST(Context, ANewContextIsEmpty) {
  const ContextVar<int> var("a", 1);
  const Context ctx;
  EXPECT_EQ(ctx.size(), 0u);
  EXPECT_TRUE(ctx.empty());
  EXPECT_FALSE(ctx.contains(var));
  EXPECT_EQ(ctx.get(var), std::nullopt);
}

TEST(Context, RunCallsTheFunctionWithItsArgumentsAndReturnsItsResult) {
  const Context ctx;
  EXPECT_EQ(ctx.run([](int a, const std::string& b) { return b + std::to_string(a); }, 11, std::string("x")), "x11");
  int target = 0;
  int& got = ctx.run([&]() -> int& { return target; });
  EXPECT_EQ(&got, &target);
}

TEST(Context, RunLetsAnExceptionOutAndLeavesTheContext) {
  isolated([] {
    const ContextVar<int> var("var");
    const Context ctx;
    EXPECT_THROW(ctx.run([&] {
      (void)var.set(1);
      throw std::out_of_range("boom");
    }),
                 std::out_of_range);
    EXPECT_EQ(var.get(-1), -1);
    EXPECT_EQ(ctx.get(var), std::optional<int>(1));
  });
}

TEST(Context, WhatRunSetsStaysInTheContextAndNowhereElse) {
  isolated([] {
    const ContextVar<int> c("a", 0);
    const Context ctx;
    ctx.run([&] {
      EXPECT_EQ(c.get(), 0);
      EXPECT_EQ(ctx.get(c), std::nullopt);
      (void)c.set(42);
      EXPECT_EQ(c.get(), 42);
      EXPECT_EQ(ctx.get(c), std::optional<int>(42));
    });
    EXPECT_EQ(c.get(), 0);
    EXPECT_EQ(ctx[c], 42);
  });
}

TEST(Context, RunOfAContextAlreadyEnteredRaisesRuntimeError) {
  const Context ctx;
  ctx.run([&] {
    try {
      ctx.run([] {});
      ADD_FAILURE() << "no RuntimeError";
    } catch (const asyncio::RuntimeError& e) {
      EXPECT_TRUE(contains(e.what(), "cannot enter context: <Context object at 0x")) << e.what();
      EXPECT_TRUE(contains(e.what(), "is already entered")) << e.what();
    }
  });
  ctx.run([] {});  // left: can be entered again
}

TEST(Context, NestedRunsEachSeeTheirOwnContext) {
  isolated([] {
    const ContextVar<std::string> var("var");
    const Context ctx1;
    const Context ctx2;
    const Context returned = ctx1.run([&] {
      EXPECT_EQ(var.get("none"), "none");
      (void)var.set("spam");
      ctx2.run([&] { EXPECT_EQ(var.get("none"), "none"); });
      EXPECT_EQ(var.get("none"), "spam");
      Context cur = asyncio::copy_context();
      EXPECT_EQ(cur.size(), 1u);
      EXPECT_EQ(cur[var], "spam");
      return cur;
    });
    EXPECT_EQ(returned[var], "spam");
    EXPECT_TRUE(returned.contains(var));
    EXPECT_FALSE(ctx2.contains(var));
  });
}

TEST(Context, CopyContextTakesTheCurrentValuesAndKeepsThem) {
  isolated([] {
    const ContextVar<std::string> c("c");
    (void)c.set("spam2");
    const Context ctx1 = asyncio::copy_context();
    EXPECT_TRUE(ctx1.contains(c));
    (void)c.set("other");
    EXPECT_EQ(ctx1[c], "spam2");
    EXPECT_EQ(ctx1.get(c, std::string("aa")), "spam2");
    EXPECT_EQ(ctx1.size(), 1u);
  });
}

TEST(Context, OperatorBracketRaisesKeyErrorForAVariableWithoutAValue) {
  const ContextVar<int> c("c", 42);
  const Context ctx;
  EXPECT_THROW((void)ctx[c], asyncio::KeyError);
  EXPECT_THROW((void)ctx[c], asyncio::LookupError);  // a KeyError is a LookupError, as in Python
  EXPECT_EQ(ctx.get(c, 5), 5);
}

TEST(Context, ACopyIsIndependentOfItsOriginal) {
  const ContextVar<int> c("c", 42);
  const Context ctx1;
  ctx1.run([&] {
    (void)c.set(10);
    const Context ctx2 = ctx1.copy();
    EXPECT_EQ(ctx2[c], 10);
    (void)c.set(20);
    EXPECT_EQ(ctx1[c], 20);
    EXPECT_EQ(ctx2[c], 10);
    ctx2.run([&] {
      EXPECT_EQ(c.get(), 10);
      (void)c.set(30);
      EXPECT_EQ(c.get(), 30);
    });
    EXPECT_EQ(ctx1[c], 20);
    EXPECT_EQ(ctx2[c], 30);
  });
}

TEST(Context, ASetInARunOfACopyLeavesTheCurrentContextAlone) {
  isolated([] {
    const ContextVar<std::vector<int>> c("c");
    (void)c.set({});
    asyncio::copy_context().run([&] {
      (void)c.set({42});
      EXPECT_EQ(c.get(), std::vector<int>{42});
    });
    EXPECT_EQ(c.get(), std::vector<int>{});
  });
}

TEST(Context, CopiesOfAHandleAreTheSameContext) {
  const ContextVar<int> c("c");
  const Context a;
  const Context b = a;  // NOLINT(performance-unnecessary-copy-initialization): the point of the test
  a.run([&] { (void)c.set(1); });
  EXPECT_EQ(b[c], 1);
  EXPECT_THROW(a.run([&] { b.run([] {}); }), asyncio::RuntimeError);
}

TEST(Context, EachThreadSetsAndGetsItsOwnValues) {
  const ContextVar<int> var("cvar");
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int num = 0; num < 8; ++num) {
    threads.emplace_back([&var, &mismatches, num] {
      for (int i = 0; i < 2000; ++i) {
        (void)var.set(num * 10000 + i);
        std::this_thread::yield();
        if (var.get() != num * 10000 + i) ++mismatches;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
  isolated([&] { EXPECT_EQ(var.get(-1), -1); });
}

TEST(Context, AContextRunsInAnotherThreadWithTheValuesItWasCopiedWith) {
  isolated([] {
    const ContextVar<std::string> var("var");
    (void)var.set("parrot");
    const Context ctx = asyncio::copy_context();
    std::string seen;
    std::thread worker([&] {
      seen = ctx.run([&] {
        (void)var.set("changed in the worker");
        return var.get("none") + "/" + "seen";
      });
      EXPECT_EQ(var.get("none"), "none");  // the worker's own context has nothing
    });
    worker.join();
    EXPECT_EQ(seen, "changed in the worker/seen");
    EXPECT_EQ(var.get(), "parrot");
    EXPECT_EQ(ctx[var], "changed in the worker");
  });
}

// --- loop callbacks ------------------------------------------------------------------------------

TEST(ContextCallbacks, CallSoonRunsInTheContextCurrentWhenItWasScheduled) {
  isolated([] {
    const ContextVar<int> var("var", 0);
    EventLoop loop(asyncio::testing::virtual_clock());
    std::vector<int> seen;
    (void)var.set(1);
    loop.call_soon([&] { seen.push_back(var.get()); });
    (void)var.set(2);
    loop.call_soon([&] { seen.push_back(var.get()); });
    (void)var.set(3);
    loop.run_once();
    EXPECT_EQ(seen, (std::vector<int>{1, 2}));
  });
}

TEST(ContextCallbacks, ASetInACallbackIsSeenNeitherByItsSchedulerNorByTheNextCallback) {
  isolated([] {
    const ContextVar<int> var("var", 0);
    EventLoop loop(asyncio::testing::virtual_clock());
    int second = -1;
    (void)var.set(1);
    loop.call_soon([&] { (void)var.set(99); });
    loop.call_soon([&] { second = var.get(); });
    loop.run_once();
    EXPECT_EQ(second, 1);
    EXPECT_EQ(var.get(), 1);
  });
}

TEST(ContextCallbacks, ACallbackScheduledWhereNothingWasSetRunsInAnEmptyContext) {
  const ContextVar<int> var("var", 0);
  EventLoop loop(asyncio::testing::virtual_clock());
  int seen = -1;
  Context().run([&] { loop.call_soon([&] { seen = var.get(); }); });
  // The loop runs inside a context that has a value: the callback still sees its own (empty) one.
  const Context outer;
  outer.run([&] {
    (void)var.set(5);
    loop.run_once();
  });
  EXPECT_EQ(seen, 0);
}

TEST(ContextCallbacks, CallSoonWithAContextRunsInThatContextAndKeepsWhatItSets) {
  const ContextVar<int> var("var", 0);
  EventLoop loop(asyncio::testing::virtual_clock());
  const Context ctx;
  int seen = -1;
  loop.call_soon(ctx, [&] {
    seen = var.get();
    (void)var.set(7);
  });
  loop.call_soon(
      ctx, [&](int add) { seen += var.get() + add; }, 100);
  loop.run_once();
  EXPECT_EQ(seen, 107);
  EXPECT_EQ(ctx[var], 7);
}

TEST(ContextCallbacks, CallLaterAndCallAtRunInTheContextOfTheirScheduling) {
  isolated([] {
    const ContextVar<std::string> var("var", "none");
    std::vector<std::string> seen;
    auto main = [&]() -> asyncio::Coro<void> {
      EventLoop& loop = asyncio::get_running_loop();
      const Context given;
      given.run([&] { (void)var.set("given"); });
      (void)var.set("later");
      loop.call_later(2, [&] { seen.push_back("2:" + var.get()); });
      loop.call_later(std::chrono::seconds(3), given, [&] { seen.push_back("3:" + var.get()); });
      (void)var.set("at");
      loop.call_at(loop.time() + 1, [&] { seen.push_back("1:" + var.get()); });
      loop.call_at(loop.time() + 4, given, [&] { seen.push_back("4:" + var.get()); });
      loop.call_later(5.0, given, [&] { seen.push_back("5:" + var.get()); });
      co_await asyncio::sleep(10);
    };
    asyncio::testing::run_virtual(main);
    EXPECT_EQ(seen, (std::vector<std::string>{"1:at", "2:later", "3:given", "4:given", "5:given"}));
  });
}

TEST(ContextCallbacks, CallSoonThreadsafeRunsInACopyOfTheCallingThreadsContext) {
  const ContextVar<std::string> var("var", "none");
  EventLoop loop;
  std::vector<std::string> seen;
  const Context given;
  given.run([&] { (void)var.set("given"); });
  std::thread other([&] {
    (void)var.set("other thread");
    loop.call_soon_threadsafe([&] {
      seen.push_back(var.get());
      (void)var.set("changed by the callback");
    });
    loop.call_soon_threadsafe(given, [&] { seen.push_back(var.get()); });
    loop.call_soon_threadsafe([&] {
      seen.push_back(var.get());
      loop.stop();
    });
  });
  other.join();
  loop.run_forever();
  EXPECT_EQ(seen, (std::vector<std::string>{"other thread", "given", "other thread"}));
  EXPECT_EQ(var.get(), "none");
}

TEST(ContextCallbacks, ACallbackWhoseContextIsAlreadyEnteredGoesToTheExceptionHandler) {
  EventLoop loop(asyncio::testing::virtual_clock());
  HandlerCapture handler(loop);
  const Context ctx;
  bool ran = false;
  loop.call_soon(ctx, [&] { ran = true; });
  ctx.run([&] { loop.run_once(); });
  EXPECT_FALSE(ran);
  ASSERT_EQ(handler.contexts().size(), 1u);
  EXPECT_EQ(handler.contexts()[0].message, "Exception in callback");
  ASSERT_EQ(handler.exceptions().size(), 1u);
  EXPECT_TRUE(contains(handler.exceptions()[0], "is already entered")) << handler.exceptions()[0];
}

TEST(ContextCallbacks, AReaderKeepsWhatItSetsFromOneCallToTheNext) {
  isolated([] {
    const ContextVar<int> calls("calls", 0);
    EventLoop loop(asyncio::testing::virtual_clock());
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    ASSERT_EQ(::write(fds[1], "x", 1), 1);
    std::vector<int> seen;
    (void)calls.set(10);
    loop.add_reader(fds[0], [&] {
      seen.push_back(calls.get());
      (void)calls.set(calls.get() + 1);
    });
    loop.run_once();
    loop.run_once();
    loop.remove_reader(fds[0]);
    ::close(fds[0]);
    ::close(fds[1]);
    EXPECT_EQ(seen, (std::vector<int>{10, 11}));
    EXPECT_EQ(calls.get(), 10);
  });
}

}  // namespace
