// loop.run_in_executor and asyncio::to_thread (CPython 3.13 base_events.run_in_executor and
// threads.to_thread are the reference).

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "support/test_support.hpp"

namespace {

using asyncio::Coro;
using asyncio::EventLoop;
using asyncio::Future;
using asyncio::Runner;
using asyncio::testing::HandlerCapture;
using asyncio::testing::run_virtual;
using asyncio::testing::virtual_clock;

int add(int a, int b) { return a + b; }

/// An executor that holds its jobs until the test runs them (on the test's thread).
class ManualExecutor final : public asyncio::Executor {
 public:
  void submit(asyncio::detail::Callback job) override { jobs_.push_back(std::move(job)); }
  void shutdown(bool) noexcept override {}
  [[nodiscard]] std::size_t pending() const { return jobs_.size(); }
  void run_all() {
    std::vector<asyncio::detail::Callback> jobs = std::move(jobs_);
    jobs_.clear();
    for (asyncio::detail::Callback& job : jobs) job();
  }

 private:
  std::vector<asyncio::detail::Callback> jobs_;
};

TEST(RunInExecutor, RunInExecutorGivesTheFunctionsResultAsAFuture) {
  const int got = run_virtual([]() -> Coro<int> {
    auto fut = asyncio::get_running_loop().run_in_executor(nullptr, add, 2, 3);
    static_assert(std::is_same_v<decltype(fut), Future<int>>);
    co_return co_await fut;
  });
  EXPECT_EQ(got, 5);
}

TEST(RunInExecutor, TheFunctionRunsOnAnotherThread) {
  const bool other_thread = run_virtual([]() -> Coro<bool> {
    const std::thread::id loop_thread = std::this_thread::get_id();
    const std::thread::id job_thread =
        co_await asyncio::get_running_loop().run_in_executor(nullptr, [] { return std::this_thread::get_id(); });
    co_return job_thread != loop_thread;
  });
  EXPECT_TRUE(other_thread);
}

TEST(RunInExecutor, AnExceptionInTheFunctionBecomesTheFuturesException) {
  const std::string what = run_virtual([]() -> Coro<std::string> {
    Future<int> fut =
        asyncio::get_running_loop().run_in_executor(nullptr, []() -> int { throw std::runtime_error("in the pool"); });
    try {
      co_await fut;
    } catch (const std::runtime_error& e) {
      co_return e.what();
    }
    co_return "no exception";
  });
  EXPECT_EQ(what, "in the pool");
}

TEST(RunInExecutor, AVoidFunctionGivesAVoidFuture) {
  const int seen = run_virtual([]() -> Coro<int> {
    auto side_effect = std::make_shared<std::atomic<int>>(0);
    auto fut = asyncio::get_running_loop().run_in_executor(nullptr, [side_effect] { side_effect->store(9); });
    static_assert(std::is_same_v<decltype(fut), Future<void>>);
    co_await fut;
    co_return side_effect->load();
  });
  EXPECT_EQ(seen, 9);
}

TEST(RunInExecutor, AMoveOnlyResultComesBackThroughTheFuture) {
  const int got = run_virtual([]() -> Coro<int> {
    auto fut = asyncio::get_running_loop().run_in_executor(nullptr, [] { return std::make_unique<int>(31); });
    std::unique_ptr<int> p = co_await std::move(fut);
    co_return p ? *p : -1;
  });
  EXPECT_EQ(got, 31);
}

TEST(RunInExecutor, ArgumentsAreCopiedWhenSubmitted) {
  const std::string got = run_virtual([]() -> Coro<std::string> {
    std::string text = "original";
    auto fut = asyncio::get_running_loop().run_in_executor(
        nullptr, [](const std::string& s) { return s; }, text);
    text = "changed after submit";
    co_return co_await fut;
  });
  EXPECT_EQ(got, "original");
}

TEST(RunInExecutor, NullExecutorCreatesTheDefaultExecutor) {
  const bool made = run_virtual([]() -> Coro<bool> {
    EventLoop& loop = asyncio::get_running_loop();
    EXPECT_EQ(loop.default_executor(), nullptr);
    co_await loop.run_in_executor(nullptr, [] {});
    co_return loop.default_executor() != nullptr;
  });
  EXPECT_TRUE(made);
}

TEST(RunInExecutor, AGivenExecutorIsUsedInsteadOfTheDefault) {
  asyncio::ThreadPoolExecutor pool(1);
  const bool default_made = run_virtual([&pool]() -> Coro<bool> {
    EventLoop& loop = asyncio::get_running_loop();
    EXPECT_EQ(co_await loop.run_in_executor(&pool, add, 20, 1), 21);
    co_return loop.default_executor() != nullptr;
  });
  EXPECT_FALSE(default_made);
  EXPECT_EQ(pool.thread_count(), 1u);
}

TEST(RunInExecutor, RunInExecutorOnAShutDownExecutorIsRuntimeErrorAndKeepsTheClockFree) {
  asyncio::ThreadPoolExecutor pool(1);
  pool.shutdown(true);
  const double t = run_virtual([&pool]() -> Coro<double> {
    EXPECT_THROW((void)asyncio::get_running_loop().run_in_executor(&pool, add, 1, 2), asyncio::RuntimeError);
    co_await asyncio::sleep(5);  // would wait forever if the refused job still held the clock
    co_return asyncio::get_running_loop().time();
  });
  EXPECT_EQ(t, 5.0);
}

TEST(RunInExecutor, ToThreadRunsTheFunctionWithItsArguments) {
  const int got = run_virtual([]() -> Coro<int> { co_return co_await asyncio::to_thread(add, 40, 2); });
  EXPECT_EQ(got, 42);
}

TEST(RunInExecutor, ToThreadMadeOutsideALoopRunsOnTheLoopThatAwaitsIt) {
  Coro<int> call = asyncio::to_thread(add, 1, 2);  // a coroutine: making it needs no loop
  const int got = run_virtual([&call]() -> Coro<int> { co_return co_await std::move(call); });
  EXPECT_EQ(got, 3);
}

TEST(RunInExecutor, ToThreadRunsNothingUntilAwaited) {
  auto ran = std::make_shared<std::atomic<int>>(0);
  const int seen = run_virtual([ran]() -> Coro<int> {
    Coro<int> call = asyncio::to_thread([ran] { return ++*ran; });
    co_await asyncio::sleep(1);  // a whole loop iteration (and a second of loop time) passes
    const int before = ran->load();
    EXPECT_EQ(co_await std::move(call), 1);
    co_return before;
  });
  EXPECT_EQ(seen, 0);
}

TEST(RunInExecutor, ToThreadNeverAwaitedRunsNothing) {
  auto ran = std::make_shared<std::atomic<bool>>(false);
  run_virtual([ran]() -> Coro<void> {
    {
      Coro<void> dropped = asyncio::to_thread([ran] { ran->store(true); });
    }
    co_return;
  });  // run() joins the default executor: a submitted job would have run by now
  EXPECT_FALSE(ran->load());
}

TEST(RunInExecutor, ToThreadWrappedInATaskRunsWithoutBeingAwaited) {
  auto ran = std::make_shared<std::atomic<bool>>(false);
  run_virtual([ran]() -> Coro<void> {
    asyncio::Task<void> task = asyncio::create_task(asyncio::to_thread([ran] { ran->store(true); }));
    co_await asyncio::sleep(0);  // the task's first step submits the job
    co_return;
  });
  EXPECT_TRUE(ran->load());
}

TEST(RunInExecutor, VirtualClockDoesNotJumpWhileAJobIsOutstanding) {
  run_virtual([]() -> Coro<void> {
    EventLoop& loop = asyncio::get_running_loop();
    Future<double> timer = loop.create_future<double>();
    loop.call_later(10, [&loop, timer]() mutable { timer.set_result(loop.time()); });
    auto gate = std::make_shared<std::latch>(1);
    Future<int> job = loop.run_in_executor(nullptr, [gate] {
      gate->wait();
      return 1;
    });
    gate->count_down();  // the job finishes while this task waits on it and the loop is idle
    EXPECT_EQ(co_await job, 1);
    EXPECT_EQ(loop.time(), 0.0);  // the result arrived before the clock moved
    EXPECT_FALSE(timer.done());
    EXPECT_EQ(co_await timer, 10.0);  // and once the job answered, the clock jumps again
  });
  SUCCEED();
}

TEST(RunInExecutor, VirtualClockHoldsItsJumpUntilTheJobResultIsDelivered) {
  // Stepped by hand: an iteration with a cross-thread callback waiting but no ready callback is
  // where an unheld virtual clock would jump to the next timer.
  EventLoop loop(virtual_clock());
  ManualExecutor executor;
  bool fired = false;
  loop.call_later(10, [&fired] { fired = true; });
  Future<int> fut = loop.run_in_executor(&executor, [] { return 3; });
  ASSERT_EQ(executor.pending(), 1u);

  loop.call_soon_threadsafe([] {});
  loop.run_once();
  EXPECT_EQ(loop.time(), 0.0);
  EXPECT_FALSE(fired);
  EXPECT_FALSE(fut.done());

  executor.run_all();  // the job runs and posts its result
  loop.run_once();
  ASSERT_TRUE(fut.done());
  EXPECT_EQ(fut.result(), 3);
  EXPECT_EQ(loop.time(), 0.0);
  EXPECT_FALSE(fired);

  loop.run_once();  // nothing holds the clock now: it jumps to the timer
  EXPECT_TRUE(fired);
  EXPECT_EQ(loop.time(), 10.0);
}

TEST(RunInExecutor, AResultArrivingForACancelledFutureIsDropped) {
  auto ran = std::make_shared<std::atomic<bool>>(false);
  Runner runner(virtual_clock());
  HandlerCapture handler(runner.get_loop());
  runner.run([ran]() -> Coro<void> {
    auto gate = std::make_shared<std::latch>(1);
    Future<int> fut = asyncio::get_running_loop().run_in_executor(nullptr, [gate, ran]() -> int {
      gate->wait();
      ran->store(true);
      throw std::runtime_error("nobody will see this");
    });
    EXPECT_TRUE(fut.cancel());
    gate->count_down();
    co_return;
  });
  runner.close();  // joins the default executor; the late result reaches the loop first
  EXPECT_TRUE(ran->load());
  EXPECT_TRUE(handler.contexts().empty());
}

TEST(RunInExecutor, RunWaitsForTheDefaultExecutorsJobsBeforeReturning) {
  auto finished = std::make_shared<std::atomic<bool>>(false);
  run_virtual([finished]() -> Coro<void> {
    auto gate = std::make_shared<std::latch>(1);
    (void)asyncio::get_running_loop().run_in_executor(nullptr, [gate, finished] {
      gate->wait();
      finished->store(true);
    });
    gate->count_down();
    co_return;  // the job may still be running
  });
  EXPECT_TRUE(finished->load());
}

TEST(RunInExecutor, AJobThatCallsBackIntoTheLoopDuringShutdownCompletes) {
  auto seen = std::make_shared<std::atomic<int>>(0);
  auto gate = std::make_shared<std::latch>(1);
  Runner runner(virtual_clock());
  runner.run([seen, gate]() -> Coro<void> {
    EventLoop* loop = &asyncio::get_running_loop();
    (void)loop->run_in_executor(nullptr, [loop, seen, gate] {
      gate->wait();
      auto answer = []() -> Coro<int> { co_return 17; };
      seen->store(asyncio::run_coroutine_threadsafe(answer(), *loop).result());
    });
    co_return;
  });
  gate->count_down();  // the job calls back into the loop only once the runner is closing
  runner.close();      // joins the executor off the loop, so the loop can serve the job meanwhile
  EXPECT_EQ(seen->load(), 17);
}

}  // namespace
