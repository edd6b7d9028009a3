// wrap_future: the wrap_future tests of CPython's Lib/test/test_asyncio/test_futures.py
// (test_wrap_future, _future, _without_loop, _use_running_loop, _cancel, _cancel2), and what
// _chain_future does across threads and around a loop that closes first.

#include <gtest/gtest.h>

#include <asyncio/asyncio.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/test_support.hpp"

namespace {

using asyncio::CancelledError;
using asyncio::ConcurrentFuture;
using asyncio::Coro;
using asyncio::EventLoop;
using asyncio::Future;
using asyncio::InvalidStateError;
using asyncio::RuntimeError;
using asyncio::Task;
using asyncio::testing::run_virtual;
using asyncio::testing::virtual_clock;

/// Runs one iteration with whatever is ready (CPython's test_utils.run_briefly).
void run_briefly(EventLoop& loop) {
  loop.run_until_complete([]() -> Coro<void> { co_await asyncio::sleep(0); });
}

TEST(WrapFuture, AResultSetInAnotherThreadReachesTheFuture) {
  EventLoop loop(virtual_clock());
  ConcurrentFuture<std::thread::id> source = ConcurrentFuture<std::thread::id>::create();
  Future<std::thread::id> wrapped = asyncio::wrap_future(source, loop);
  std::thread worker([source]() mutable {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    source.set_result(std::this_thread::get_id());
  });
  const std::thread::id ran_in = loop.run_until_complete(wrapped);
  worker.join();
  EXPECT_NE(ran_in, std::this_thread::get_id());
  EXPECT_TRUE(wrapped.get_loop_ptr() == &loop);
}

TEST(WrapFuture, AnAsyncioFutureIsReturnedAsItIs) {
  EventLoop loop(virtual_clock());
  Future<int> f = loop.create_future<int>();
  EXPECT_TRUE(asyncio::wrap_future(f) == f);
}

TEST(WrapFuture, WithoutALoopOutsideARunningLoopIsRuntimeError) {
  ConcurrentFuture<int> source = ConcurrentFuture<int>::create();
  try {
    (void)asyncio::wrap_future(source);
    FAIL() << "no RuntimeError";
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("no running event loop"), std::string::npos) << e.what();
  }
}

TEST(WrapFuture, WithoutALoopInsideATaskTheRunningLoopIsUsed) {
  run_virtual([]() -> Coro<void> {
    ConcurrentFuture<int> source = ConcurrentFuture<int>::create();
    Future<int> wrapped = asyncio::wrap_future(source);
    EXPECT_TRUE(wrapped.get_loop_ptr() == &asyncio::get_running_loop());
    source.set_result(3);
    EXPECT_EQ(co_await wrapped, 3);
  });
}

TEST(WrapFuture, CancellingTheFutureCancelsAPendingConcurrentFuture) {
  EventLoop loop(virtual_clock());
  ConcurrentFuture<int> source = ConcurrentFuture<int>::create();
  Future<int> wrapped = asyncio::wrap_future(source, loop);
  wrapped.cancel();
  run_briefly(loop);
  EXPECT_TRUE(source.cancelled());
  EXPECT_TRUE(wrapped.cancelled());
}

TEST(WrapFuture, CancellingTheFutureLeavesAConcurrentFutureThatFinishedMeanwhile) {
  EventLoop loop(virtual_clock());
  ConcurrentFuture<int> source = ConcurrentFuture<int>::create();
  Future<int> wrapped = asyncio::wrap_future(source, loop);
  source.set_result(42);
  wrapped.cancel();
  run_briefly(loop);
  EXPECT_FALSE(source.cancelled());
  EXPECT_EQ(source.result(), 42);
  EXPECT_TRUE(wrapped.cancelled());
}

TEST(WrapFuture, ACancelledConcurrentFutureCancelsTheFuture) {
  EventLoop loop(virtual_clock());
  ConcurrentFuture<int> source = ConcurrentFuture<int>::create();
  Future<int> wrapped = asyncio::wrap_future(source, loop);
  std::thread canceller([source]() mutable { source.cancel(); });
  canceller.join();
  EXPECT_THROW(loop.run_until_complete(wrapped), CancelledError);
  EXPECT_TRUE(wrapped.cancelled());
}

TEST(WrapFuture, TheConcurrentFuturesExceptionIsTheFuturesException) {
  EventLoop loop(virtual_clock());
  ConcurrentFuture<int> source = ConcurrentFuture<int>::create();
  Future<int> wrapped = asyncio::wrap_future(source, loop);
  std::thread worker([source]() mutable {
    source.set_exception(std::make_exception_ptr(std::runtime_error("failed in the worker")));
  });
  worker.join();
  try {
    loop.run_until_complete(wrapped);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "failed in the worker");
  }
}

TEST(WrapFuture, AConcurrentFutureAlreadyDoneCompletesTheFutureInTheNextIteration) {
  EventLoop loop(virtual_clock());
  ConcurrentFuture<std::string> source = ConcurrentFuture<std::string>::create();
  source.set_result("early");
  Future<std::string> wrapped = asyncio::wrap_future(source, loop);
  EXPECT_FALSE(wrapped.done());  // never inline: through the loop, as call_soon_threadsafe
  run_briefly(loop);
  ASSERT_TRUE(wrapped.done());
  EXPECT_EQ(wrapped.result(), "early");
  EXPECT_EQ(source.result(), "early");  // copied, not taken
}

TEST(WrapFuture, AMoveOnlyResultIsMovedIntoTheFuture) {
  EventLoop loop(virtual_clock());
  auto source = ConcurrentFuture<std::unique_ptr<int>>::create();
  Future<std::unique_ptr<int>> wrapped = asyncio::wrap_future(source, loop);
  std::thread worker([source]() mutable { source.set_result(std::make_unique<int>(7)); });
  worker.join();
  std::unique_ptr<int> got = loop.run_until_complete(std::move(wrapped));
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(*got, 7);
}

TEST(WrapFuture, ARunningConcurrentFutureRefusesTheCancelAndItsResultIsDropped) {
  EventLoop loop(virtual_clock());
  ConcurrentFuture<int> source = ConcurrentFuture<int>::create();
  ASSERT_TRUE(source.set_running_or_notify_cancel());
  Future<int> wrapped = asyncio::wrap_future(source, loop);
  wrapped.cancel();
  run_briefly(loop);
  EXPECT_FALSE(source.cancelled());
  EXPECT_TRUE(source.running());
  source.set_result(1);
  run_briefly(loop);
  EXPECT_TRUE(wrapped.cancelled());
}

TEST(WrapFuture, ACompletionAfterTheLoopClosedIsDropped) {
  ConcurrentFuture<int> source = ConcurrentFuture<int>::create();
  Future<int> wrapped;
  {
    EventLoop loop(virtual_clock());
    wrapped = asyncio::wrap_future(source, loop);
    loop.close();
    std::thread worker([source]() mutable { source.set_result(5); });
    worker.join();
    EXPECT_FALSE(wrapped.done());
  }
  EXPECT_EQ(source.result(), 5);
}

TEST(WrapFuture, ACompletionAfterTheLoopWasDestroyedIsDropped) {
  ConcurrentFuture<int> source = ConcurrentFuture<int>::create();
  {
    EventLoop loop(virtual_clock());
    (void)asyncio::wrap_future(source, loop);
  }
  std::thread worker([source]() mutable { source.set_result(5); });
  worker.join();
  EXPECT_EQ(source.result(), 5);
}

TEST(WrapFuture, ACompletionRacingTheLoopsCloseIsDeliveredOrDropped) {
  for (int round = 0; round < 50; ++round) {
    ConcurrentFuture<int> source = ConcurrentFuture<int>::create();
    std::atomic<bool> go{false};
    std::thread worker;
    {
      EventLoop loop(virtual_clock());
      Future<int> wrapped = asyncio::wrap_future(source, loop);
      worker = std::thread([source, &go, round]() mutable {
        while (!go.load()) std::this_thread::yield();
        source.set_result(round);
      });
      go.store(true);
      loop.close();
    }
    worker.join();
  }
  SUCCEED();
}

TEST(WrapFuture, OnAClosedLoopIsRuntimeError) {
  EventLoop loop(virtual_clock());
  loop.close();
  EXPECT_THROW((void)asyncio::wrap_future(ConcurrentFuture<int>::create(), loop), RuntimeError);
}

TEST(WrapFuture, AnEmptyConcurrentFutureIsInvalidStateError) {
  EventLoop loop(virtual_clock());
  try {
    (void)asyncio::wrap_future(ConcurrentFuture<int>(), loop);
    FAIL() << "no InvalidStateError";
  } catch (const InvalidStateError& e) {
    EXPECT_NE(std::string(e.what()).find("empty"), std::string::npos) << e.what();
  }
}

TEST(WrapFuture, TheVirtualClockDoesNotJumpWhileAnotherThreadMayStillAnswer) {
  const int got = run_virtual([]() -> Coro<int> {
    ConcurrentFuture<int> source = ConcurrentFuture<int>::create();
    std::thread worker([source]() mutable {
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      source.set_result(11);
    });
    struct Join {
      std::thread& t;
      ~Join() { t.join(); }
    } join{worker};
    co_return co_await asyncio::wait_for(asyncio::wrap_future(source), 5.0);
  });
  EXPECT_EQ(got, 11);
}

TEST(WrapFuture, ACoroutineOfAnotherLoopRunsToItsResult) {
  EventLoop other(virtual_clock());
  std::atomic<bool> other_ready{false};
  Future<void> stop_other;
  std::thread other_thread([&] {
    other.run_until_complete([&]() -> Coro<void> {
      stop_other = other.create_future<void>();
      other_ready.store(true);
      co_await stop_other;
    });
  });
  while (!other_ready.load()) std::this_thread::yield();
  const int got = run_virtual([&other]() -> Coro<int> {
    auto remote = []() -> Coro<int> {
      co_await asyncio::sleep(1);
      co_return 21;
    };
    co_return 2 * co_await asyncio::wrap_future(asyncio::run_coroutine_threadsafe(remote(), other));
  });
  other.call_soon_threadsafe([&] { stop_other.set_result(); });
  other_thread.join();
  EXPECT_EQ(got, 42);
}

/// Sleeps an hour; records in `cancelled` (which outlives it) whether it was cancelled. A function,
/// not a lambda: its task outlives the scope that starts it.
Coro<int> sleep_an_hour(std::atomic<bool>* cancelled) {
  try {
    co_await asyncio::sleep(3600);
  } catch (const CancelledError&) {
    cancelled->store(true);
    throw;
  }
  co_return 0;
}

TEST(WrapFuture, CancellingTheFutureOfAnotherLoopsCoroutineCancelsItsTask) {
  EventLoop other;  // real time: the remote coroutine's hour-long sleep must not jump to its end
  std::atomic<bool> other_ready{false};
  std::atomic<bool> remote_cancelled{false};
  Future<void> stop_other;
  std::thread other_thread([&] {
    other.run_until_complete([&]() -> Coro<void> {
      stop_other = other.create_future<void>();
      other_ready.store(true);
      co_await stop_other;
    });
  });
  while (!other_ready.load()) std::this_thread::yield();
  ConcurrentFuture<int> source;
  run_virtual([&]() -> Coro<void> {
    source = asyncio::run_coroutine_threadsafe(sleep_an_hour(&remote_cancelled), other);
    while (!source.running() && !source.done()) co_await asyncio::sleep(0);
    Future<int> wrapped = asyncio::wrap_future(source);
    wrapped.cancel();
    try {
      (void)co_await wrapped;
    } catch (const CancelledError&) {
    }
  });
  EXPECT_THROW(source.result(), CancelledError);
  EXPECT_TRUE(remote_cancelled.load());
  other.call_soon_threadsafe([&] { stop_other.set_result(); });
  other_thread.join();
}

TEST(WrapFuture, ManyFuturesCompletedByThreadsWhileTheLoopRunsAllArrive) {
  constexpr int kFutures = 200;
  constexpr int kThreads = 4;
  const long total = run_virtual([]() -> Coro<long> {
    std::vector<ConcurrentFuture<int>> sources;
    std::vector<Future<int>> wrapped;
    for (int i = 0; i < kFutures; ++i) {
      sources.push_back(ConcurrentFuture<int>::create());
      wrapped.push_back(asyncio::wrap_future(sources.back()));
    }
    std::vector<std::thread> workers;
    for (int t = 0; t < kThreads; ++t) {
      workers.emplace_back([&sources, t] {
        for (int i = t; i < kFutures; i += kThreads) sources[static_cast<std::size_t>(i)].set_result(i);
      });
    }
    struct JoinAll {
      std::vector<std::thread>& threads;
      ~JoinAll() {
        for (auto& th : threads) th.join();
      }
    } join{workers};
    long sum = 0;
    for (auto& f : wrapped) sum += co_await f;
    co_return sum;
  });
  EXPECT_EQ(total, static_cast<long>(kFutures) * (kFutures - 1) / 2);
}

}  // namespace
