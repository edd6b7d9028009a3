// Tests of asyncio::AsyncGenerator (coro/async_generator.hpp), ported from CPython's
// test_asyncgen.py where it has the case: iteration, asend/athrow/aclose, the rules a generator
// body must keep, and the loop's finalizer and shutdown_asyncgens().

#include <gtest/gtest.h>

#include <asyncio/asyncio.hpp>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/test_support.hpp"

namespace {

using asyncio::AsyncGenerator;
using asyncio::Coro;
using asyncio::GeneratorExit;
using asyncio::GeneratorState;
using asyncio::RuntimeError;
using asyncio::testing::HandlerCapture;
using asyncio::testing::run_virtual;

AsyncGenerator<int> count_to(int n) {
  for (int i = 0; i < n; ++i) co_yield i;
}

AsyncGenerator<int> ticking(int n, std::vector<double>* times) {
  for (int i = 0; i < n; ++i) {
    co_await asyncio::sleep(1);
    times->push_back(asyncio::get_running_loop().time());
    co_yield i;
  }
}

struct alignas(4) FourBytes {
  char c[4];
};

TEST(AsyncGenerator, AnOptionalMadeInOneStoreEqualsOneMadeByParts) {
  // next() builds an engaged optional of a 4-byte value from one word; this checks the layout it
  // assumes (the value, then the engaged flag) on this standard library.
  static_assert(asyncio::detail::kPackedOptional<int>);
  const std::optional<int> packed = asyncio::detail::packed_optional(-123456);
  ASSERT_TRUE(packed.has_value());
  EXPECT_EQ(*packed, -123456);
  EXPECT_EQ(asyncio::detail::packed_optional(0.5f), std::optional<float>(0.5f));
  const std::optional<FourBytes> bytes = asyncio::detail::packed_optional(FourBytes{{'a', 'b', 'c', 'd'}});
  ASSERT_TRUE(bytes.has_value());
  EXPECT_EQ(std::string(bytes->c, 4), "abcd");
}

TEST(AsyncGenerator, NextGivesEachYieldedValueThenAnEmptyOptional) {
  auto main = []() -> Coro<std::vector<int>> {
    std::vector<int> got;
    auto gen = count_to(3);
    while (std::optional<int> v = co_await gen.next()) got.push_back(*v);
    EXPECT_FALSE(co_await gen.next());  // and again: still ended
    co_return got;
  };
  EXPECT_EQ(run_virtual(main), (std::vector<int>{0, 1, 2}));
}

TEST(AsyncGenerator, TheBodyAwaitsBetweenItsYields) {
  auto main = []() -> Coro<void> {
    std::vector<double> times;
    const double start = asyncio::get_running_loop().time();
    auto gen = ticking(3, &times);
    int expected = 0;
    while (std::optional<int> v = co_await gen.next()) EXPECT_EQ(*v, expected++);
    EXPECT_EQ(expected, 3);
    EXPECT_EQ(times, (std::vector<double>{start + 1, start + 2, start + 3}));
  };
  run_virtual(main);
}

TEST(AsyncGenerator, AnextRaisesStopAsyncIterationAtTheEnd) {
  auto main = []() -> Coro<void> {
    auto gen = count_to(1);
    EXPECT_EQ(co_await gen.anext(), 0);
    EXPECT_THROW(co_await gen.anext(), asyncio::StopAsyncIteration);
  };
  run_virtual(main);
}

AsyncGenerator<std::string, std::string> echo() {
  std::string got = co_yield "ready";
  while (got != "stop") got = co_yield "echo:" + got;
}

TEST(AsyncGenerator, AsendDeliversTheValueToThePausedYield) {
  auto main = []() -> Coro<void> {
    auto gen = echo();
    EXPECT_EQ(co_await gen.next(), "ready");
    EXPECT_EQ(co_await gen.asend("a"), "echo:a");
    EXPECT_EQ(co_await gen.asend("b"), "echo:b");
    EXPECT_EQ(co_await gen.asend("stop"), std::nullopt);
  };
  run_virtual(main);
}

TEST(AsyncGenerator, NextOnAGeneratorWithASendTypeSendsADefaultValue) {
  auto main = []() -> Coro<void> {
    auto gen = echo();
    EXPECT_EQ(co_await gen.next(), "ready");
    EXPECT_EQ(co_await gen.next(), "echo:");
  };
  run_virtual(main);
}

TEST(AsyncGenerator, AsendToAJustStartedGeneratorIsATypeError) {
  auto main = []() -> Coro<void> {
    auto gen = echo();
    EXPECT_THROW(co_await gen.asend("early"), asyncio::TypeError);
    EXPECT_EQ(gen.state(), GeneratorState::created);
  };
  run_virtual(main);
}

AsyncGenerator<int> catches_value_errors(std::vector<std::string>* log) {
  for (int i = 0;; ++i) {
    try {
      co_yield i;
    } catch (const asyncio::ValueError& e) {
      log->push_back(e.what());
    }
  }
}

TEST(AsyncGenerator, AthrowRaisesAtThePausedYieldAndGivesTheNextValue) {
  auto main = []() -> Coro<void> {
    std::vector<std::string> log;
    auto gen = catches_value_errors(&log);
    EXPECT_EQ(co_await gen.next(), 0);
    EXPECT_EQ(co_await gen.athrow(asyncio::ValueError("boom")), 1);
    EXPECT_EQ(log, std::vector<std::string>{"boom"});
  };
  run_virtual(main);
}

TEST(AsyncGenerator, AnExceptionTheBodyDoesNotCatchComesOutOfAthrowAndEndsIt) {
  auto main = []() -> Coro<void> {
    auto gen = count_to(5);
    EXPECT_EQ(co_await gen.next(), 0);
    EXPECT_THROW(co_await gen.athrow(std::runtime_error("out")), std::runtime_error);
    EXPECT_EQ(gen.state(), GeneratorState::closed);
    EXPECT_EQ(co_await gen.next(), std::nullopt);
  };
  run_virtual(main);
}

TEST(AsyncGenerator, AthrowIntoAJustStartedGeneratorRaisesAtOnceWithoutRunningTheBody) {
  auto main = []() -> Coro<void> {
    std::vector<double> times;
    auto gen = ticking(3, &times);
    EXPECT_THROW(co_await gen.athrow(std::runtime_error("fresh")), std::runtime_error);
    EXPECT_EQ(gen.state(), GeneratorState::closed);
    EXPECT_EQ(co_await gen.next(), std::nullopt);
    EXPECT_TRUE(times.empty());
  };
  run_virtual(main);
}

TEST(AsyncGenerator, AthrowIntoAnEndedGeneratorGivesNothing) {
  auto main = []() -> Coro<void> {
    auto gen = count_to(0);
    EXPECT_EQ(co_await gen.next(), std::nullopt);
    EXPECT_EQ(co_await gen.athrow(std::runtime_error("late")), std::nullopt);
  };
  run_virtual(main);
}

AsyncGenerator<int> cleans_up_slowly(std::vector<std::string>* log) {
  std::exception_ptr exit;
  try {
    co_yield 1;
    co_yield 2;
  } catch (const GeneratorExit&) {
    log->push_back("exit");
    exit = std::current_exception();  // C++ allows no co_await in a handler: the cleanup follows it
  }
  if (exit) {
    co_await asyncio::sleep(5);  // the cleanup may await, as in Python's `finally: await ...`
    log->push_back("cleaned up at " + std::to_string(asyncio::get_running_loop().time()));
    std::rethrow_exception(exit);
  }
}

TEST(AsyncGenerator, AcloseRaisesGeneratorExitAtTheYieldAndAwaitsTheCleanup) {
  auto main = []() -> Coro<void> {
    std::vector<std::string> log;
    auto gen = cleans_up_slowly(&log);
    EXPECT_EQ(co_await gen.next(), 1);
    co_await gen.aclose();
    EXPECT_EQ(log, (std::vector<std::string>{"exit", "cleaned up at 5.000000"}));
    EXPECT_EQ(gen.state(), GeneratorState::closed);
    EXPECT_EQ(co_await gen.next(), std::nullopt);
  };
  run_virtual(main);
}

TEST(AsyncGenerator, AcloseOfAJustStartedGeneratorClosesItWithoutRunningTheBody) {
  auto main = []() -> Coro<void> {
    std::vector<std::string> log;
    auto gen = cleans_up_slowly(&log);
    co_await gen.aclose();
    EXPECT_EQ(gen.state(), GeneratorState::closed);
    EXPECT_EQ(co_await gen.next(), std::nullopt);
    EXPECT_TRUE(log.empty());
  };
  run_virtual(main);
}

AsyncGenerator<int> ignores_exit() {
  try {
    co_yield 1;
  } catch (const GeneratorExit&) {
  }
  co_yield 2;
}

TEST(AsyncGenerator, AGeneratorThatYieldsAfterGeneratorExitMakesAcloseRaiseRuntimeError) {
  auto main = []() -> Coro<void> {
    auto gen = ignores_exit();
    EXPECT_EQ(co_await gen.next(), 1);
    std::string error;
    try {
      co_await gen.aclose();
    } catch (const RuntimeError& e) {
      error = e.what();
    }
    EXPECT_EQ(error, "async generator ignored GeneratorExit");
  };
  run_virtual(main);
}

AsyncGenerator<int> fails_after(int n) {
  for (int i = 0; i < n; ++i) co_yield i;
  throw std::runtime_error("body failed");
}

TEST(AsyncGenerator, AnExceptionFromTheBodyComesOutOfNextAndEndsTheGenerator) {
  auto main = []() -> Coro<void> {
    auto gen = fails_after(1);
    EXPECT_EQ(co_await gen.next(), 0);
    EXPECT_THROW(co_await gen.next(), std::runtime_error);
    EXPECT_EQ(gen.state(), GeneratorState::closed);
    EXPECT_EQ(co_await gen.next(), std::nullopt);
  };
  run_virtual(main);
}

AsyncGenerator<int> raises_stop_async_iteration() {
  co_yield 1;
  throw asyncio::StopAsyncIteration();
}

TEST(AsyncGenerator, AStopAsyncIterationLeavingTheBodyBecomesRuntimeError) {
  auto main = []() -> Coro<void> {
    auto gen = raises_stop_async_iteration();
    EXPECT_EQ(co_await gen.next(), 1);
    std::string error;
    try {
      co_await gen.next();
    } catch (const RuntimeError& e) {
      error = e.what();
    }
    EXPECT_EQ(error, "async generator raised StopAsyncIteration");
  };
  run_virtual(main);
}

TEST(AsyncGenerator, AnOperationWhileTheBodyAwaitsIsRefusedAsAlreadyRunning) {
  auto main = []() -> Coro<void> {
    std::vector<double> times;
    auto gen = ticking(2, &times);
    auto first = asyncio::create_task([&gen]() -> Coro<std::optional<int>> { co_return co_await gen.next(); });
    co_await asyncio::sleep(0.5);  // the first next() now waits in the body's sleep(1)
    EXPECT_EQ(gen.state(), GeneratorState::running);
    std::string error;
    try {
      co_await gen.next();
    } catch (const RuntimeError& e) {
      error = e.what();
    }
    EXPECT_EQ(error, "anext(): asynchronous generator is already running");
    EXPECT_EQ(co_await first, 0);
  };
  run_virtual(main);
}

TEST(AsyncGenerator, TheStateFollowsCreatedSuspendedRunningAndClosed) {
  auto main = []() -> Coro<void> {
    std::vector<double> times;
    auto gen = ticking(1, &times);
    EXPECT_EQ(gen.state(), GeneratorState::created);
    EXPECT_EQ(co_await gen.next(), 0);
    EXPECT_EQ(gen.state(), GeneratorState::suspended);
    EXPECT_EQ(co_await gen.next(), std::nullopt);
    EXPECT_EQ(gen.state(), GeneratorState::closed);
    EXPECT_EQ(AsyncGenerator<int>().state(), GeneratorState::closed);
  };
  run_virtual(main);
}

TEST(AsyncGenerator, CancellingTheConsumerRaisesCancelledErrorInTheAwaitingBody) {
  auto main = []() -> Coro<void> {
    std::vector<std::string> log;
    auto body = [](std::vector<std::string>* log) -> AsyncGenerator<int> {
      try {
        co_await asyncio::sleep(10);
        co_yield 1;
      } catch (const asyncio::CancelledError&) {
        log->push_back("cancelled in the body");
        throw;
      }
    };
    auto gen = body(&log);
    auto consumer = asyncio::create_task([&gen]() -> Coro<void> { co_await gen.next(); });
    co_await asyncio::sleep(1);
    consumer.cancel();
    EXPECT_THROW(co_await consumer, asyncio::CancelledError);
    EXPECT_EQ(log, std::vector<std::string>{"cancelled in the body"});
    EXPECT_EQ(gen.state(), GeneratorState::closed);
  };
  run_virtual(main);
}

TEST(AsyncGenerator, AMillionValuesYieldedWithoutWaitingUseConstantStack) {
  auto main = []() -> Coro<long> {
    auto gen = count_to(1000000);
    long sum = 0;
    while (std::optional<int> v = co_await gen.next()) sum += *v;
    co_return sum;
  };
  EXPECT_EQ(run_virtual(main), 499999500000L);
}

AsyncGenerator<std::unique_ptr<int>> boxes() {
  co_yield std::make_unique<int>(7);
  auto kept = std::make_unique<int>(8);
  co_yield std::move(kept);
}

TEST(AsyncGenerator, MoveOnlyValuesAreMovedOutToTheConsumer) {
  auto main = []() -> Coro<void> {
    auto gen = boxes();
    std::optional<std::unique_ptr<int>> a = co_await gen.next();
    std::optional<std::unique_ptr<int>> b = co_await gen.next();
    EXPECT_EQ(**a, 7);
    EXPECT_EQ(**b, 8);
  };
  run_virtual(main);
}

AsyncGenerator<std::string> yields_a_local(std::string* after) {
  std::string local = "kept";
  co_yield local;
  *after = local;
}

TEST(AsyncGenerator, YieldingAnLvalueGivesTheConsumerACopy) {
  auto main = []() -> Coro<void> {
    std::string after;
    auto gen = yields_a_local(&after);
    std::optional<std::string> v = co_await gen.next();
    std::string taken = std::move(*v);
    EXPECT_EQ(co_await gen.next(), std::nullopt);
    EXPECT_EQ(taken, "kept");
    EXPECT_EQ(after, "kept");
  };
  run_virtual(main);
}

TEST(AsyncGenerator, DifferentTasksMayTakeTurnsIteratingOneGenerator) {
  auto main = []() -> Coro<void> {
    std::vector<double> times;
    auto gen = ticking(4, &times);
    std::vector<int> got;
    for (int i = 0; i < 4; ++i) {
      auto task = asyncio::create_task([&gen, &got]() -> Coro<void> { got.push_back(*co_await gen.next()); });
      co_await task;
    }
    EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3}));
  };
  run_virtual(main);
}

// PEP 789's hazard (a generator yielding while a timeout or TaskGroup it opened is active, so that
// the scope's cancellation lands in the consumer) cannot be written here: those scopes run their
// body as a Coro of its own (`co_await t.run(body)`), and a Coro has no co_yield.
template <class P>
concept CanYield = requires(P& promise, int value) {
  promise.yield_value(value);
};
static_assert(!CanYield<Coro<void>::promise_type>, "a scope's body (a Coro) cannot co_yield");
static_assert(CanYield<AsyncGenerator<int>::promise_type>);

// --- the loop's side: finalizer and shutdown_asyncgens -------------------------------------------

TEST(AsyncGenerator, OneAbandonedAtAYieldIsClosedOnItsLoopAndItsCleanupMayAwait) {
  std::vector<std::string> log;
  auto main = [&log]() -> Coro<void> {
    {
      auto gen = cleans_up_slowly(&log);
      EXPECT_EQ(co_await gen.next(), 1);
    }                          // abandoned here, as by a `break` out of `async for`
    EXPECT_TRUE(log.empty());  // the close runs in a task of its own, not inside the destructor
    co_await asyncio::sleep(10);
    EXPECT_EQ(log, (std::vector<std::string>{"exit", "cleaned up at 5.000000"}));
  };
  run_virtual(main);
}

TEST(AsyncGenerator, AnErrorWhileClosingAnAbandonedOneGoesToTheExceptionHandler) {
  auto main = []() -> Coro<void> {
    HandlerCapture handler(asyncio::get_running_loop());
    {
      auto gen = ignores_exit();
      EXPECT_EQ(co_await gen.next(), 1);
    }
    co_await asyncio::sleep(0);
    co_await asyncio::sleep(0);
    EXPECT_EQ(handler.contexts().size(), 1U);
    if (handler.contexts().size() == 1) {
      EXPECT_EQ(handler.contexts()[0].message,
                "an error occurred during closing of asynchronous generator 'ignores_exit'");
      EXPECT_NE(handler.exceptions()[0].find("async generator ignored GeneratorExit"), std::string::npos)
          << handler.exceptions()[0];
    }
  };
  run_virtual(main);
}

TEST(AsyncGenerator, RunClosesEveryGeneratorStillPausedWhenTheMainCoroutineEnds) {
  // The generator outlives the main coroutine: run() closes it before the loop goes.
  std::vector<std::string> log;
  auto gen = std::make_unique<AsyncGenerator<int>>();
  auto main = [&log, &gen]() -> Coro<void> {
    *gen = cleans_up_slowly(&log);
    EXPECT_EQ(co_await gen->next(), 1);
  };
  run_virtual(main);
  EXPECT_EQ(log, (std::vector<std::string>{"exit", "cleaned up at 5.000000"}));
  EXPECT_EQ(gen->state(), GeneratorState::closed);
}

TEST(AsyncGenerator, ShutdownAsyncgensLeavesAloneOnesThatEndedOrNeverStarted) {
  auto main = []() -> Coro<void> {
    std::vector<std::string> log;
    auto ended = count_to(0);
    EXPECT_EQ(co_await ended.next(), std::nullopt);
    auto unstarted = cleans_up_slowly(&log);
    co_await asyncio::get_running_loop().shutdown_asyncgens();
    EXPECT_EQ(unstarted.state(), GeneratorState::created);
    EXPECT_TRUE(log.empty());
  };
  run_virtual(main);
}

TEST(AsyncGenerator, OneDestroyedAfterItsLoopClosedHasItsFrameDestroyed) {
  // No loop left to close it in: its locals are destroyed, no more of its body runs.
  auto alive = std::make_shared<int>(0);
  std::weak_ptr<int> watch = alive;
  auto holds = [](std::shared_ptr<int> p) -> AsyncGenerator<int> {
    co_yield *p;
    co_yield *p;
  };
  AsyncGenerator<int> gen;
  {
    asyncio::EventLoop loop(asyncio::testing::virtual_clock());
    gen = holds(std::move(alive));
    loop.run_until_complete([&gen]() -> Coro<void> { EXPECT_EQ(co_await gen.next(), 0); }());
    loop.close();
  }
  EXPECT_FALSE(watch.expired());
  gen = AsyncGenerator<int>();
  EXPECT_TRUE(watch.expired());
}

}  // namespace
