// ThreadPoolExecutor: Python's concurrent.futures.ThreadPoolExecutor as the loop's default executor.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <latch>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support/test_support.hpp"

namespace {

using asyncio::ThreadPoolExecutor;

TEST(ThreadPoolExecutor, DefaultMaxWorkersIsMin32AndCpuCountPlus4) {
  const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
  EXPECT_EQ(ThreadPoolExecutor::default_max_workers(), std::min<std::size_t>(32, cores + 4));
}

TEST(ThreadPoolExecutor, DefaultConstructedExecutorHasTheDefaultMaxWorkers) {
  ThreadPoolExecutor pool;
  EXPECT_EQ(pool.max_workers(), ThreadPoolExecutor::default_max_workers());
}

TEST(ThreadPoolExecutor, MaxWorkersZeroIsValueError) { EXPECT_THROW(ThreadPoolExecutor(0), asyncio::ValueError); }

TEST(ThreadPoolExecutor, NoThreadStartsBeforeTheFirstJob) {
  ThreadPoolExecutor pool(4);
  EXPECT_EQ(pool.thread_count(), 0u);
}

TEST(ThreadPoolExecutor, SubmitAfterShutdownIsRuntimeError) {
  ThreadPoolExecutor pool(2);
  pool.shutdown(true);
  EXPECT_THROW(pool.submit([] {}), asyncio::RuntimeError);
}

TEST(ThreadPoolExecutor, EveryJobSubmittedBeforeShutdownRuns) {
  ThreadPoolExecutor pool(2);
  std::atomic<int> ran{0};
  for (int i = 0; i < 200; ++i) pool.submit([&ran] { ran.fetch_add(1, std::memory_order_relaxed); });
  pool.shutdown(true);
  EXPECT_EQ(ran.load(), 200);
}

TEST(ThreadPoolExecutor, ShutdownWithoutWaitingStillRunsEveryAcceptedJob) {
  std::atomic<int> ran{0};
  {
    ThreadPoolExecutor pool(2);
    for (int i = 0; i < 50; ++i) pool.submit([&ran] { ran.fetch_add(1, std::memory_order_relaxed); });
    pool.shutdown(false);
    EXPECT_THROW(pool.submit([] {}), asyncio::RuntimeError);
  }  // the destructor joins
  EXPECT_EQ(ran.load(), 50);
}

TEST(ThreadPoolExecutor, ThreadsStartOnDemandUpToMaxWorkers) {
  ThreadPoolExecutor pool(3);
  std::latch release(1);
  std::atomic<int> ran{0};
  for (int i = 0; i < 10; ++i) {
    pool.submit([&] {
      release.wait();
      ran.fetch_add(1, std::memory_order_relaxed);
    });
  }
  EXPECT_EQ(pool.thread_count(), 3u);  // every job blocks, so no worker was idle to reuse
  release.count_down();
  pool.shutdown(true);
  EXPECT_EQ(ran.load(), 10);
}

TEST(ThreadPoolExecutor, OneWorkerRunsJobsInTheOrderSubmitted) {
  ThreadPoolExecutor pool(1);
  std::mutex mutex;
  std::vector<int> order;
  for (int i = 0; i < 20; ++i) {
    pool.submit([&, i] {
      std::lock_guard lock(mutex);
      order.push_back(i);
    });
  }
  pool.shutdown(true);
  std::vector<int> expected(20);
  for (int i = 0; i < 20; ++i) expected[static_cast<std::size_t>(i)] = i;
  EXPECT_EQ(order, expected);
}

TEST(ThreadPoolExecutor, JobsRunOnWorkerThreads) {
  ThreadPoolExecutor pool(1);
  std::thread::id worker;
  pool.submit([&worker] { worker = std::this_thread::get_id(); });
  pool.shutdown(true);
  EXPECT_NE(worker, std::thread::id());
  EXPECT_NE(worker, std::this_thread::get_id());
}

TEST(ThreadPoolExecutor, AnExceptionEscapingAJobIsLoggedAndTheWorkerCarriesOn) {
  asyncio::testing::LogCapture log;
  ThreadPoolExecutor pool(1);
  std::atomic<bool> second_ran{false};
  pool.submit([] { throw std::runtime_error("job blew up"); });
  pool.submit([&second_ran] { second_ran = true; });
  pool.shutdown(true);
  EXPECT_TRUE(second_ran.load());
  EXPECT_EQ(log.count("Exception in executor job"), 1u);
  EXPECT_EQ(log.count("job blew up"), 1u);
}

TEST(ThreadPoolExecutor, ShutdownTwiceIsHarmless) {
  ThreadPoolExecutor pool(2);
  std::atomic<int> ran{0};
  pool.submit([&ran] { ++ran; });
  pool.shutdown(true);
  pool.shutdown(true);
  EXPECT_EQ(ran.load(), 1);
}

}  // namespace
