// asyncio::Semaphore and asyncio::BoundedSemaphore (CPython 3.13 Lib/asyncio/locks.py and
// test_locks.py SemaphoreTests are the reference), on the virtual clock.

#include <gtest/gtest.h>
#include <asyncio/flow/gather.hpp>
#include <asyncio/sync/semaphore.hpp>

#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "support/test_support.hpp"

namespace {

using asyncio::BoundedSemaphore;
using asyncio::CancelledError;
using asyncio::Coro;
using asyncio::create_task;
using asyncio::EventLoop;
using asyncio::RuntimeError;
using asyncio::Semaphore;
using asyncio::sleep;
using asyncio::Task;
using asyncio::ValueError;

using asyncio::testing::run_virtual_watched;

// A task that acquires `sem` and records `id` (CPython's c1, c2, ...).
Task<bool> acquirer(Semaphore& sem, std::vector<int>& result, int id) {
  return create_task([&sem, &result, id]() -> Coro<bool> {
    co_await sem.acquire();
    result.push_back(id);
    co_return true;
  });
}

// Awaits a task that may end cancelled; true if it did.
Coro<bool> ended_cancelled(Task<bool> t) {
  try {
    co_await t;
  } catch (const CancelledError&) {
    co_return true;
  }
  co_return false;
}

TEST(Semaphore, ANegativeInitialValueRaisesValueError) {
  try {
    Semaphore sem(-1);
    FAIL() << "Semaphore(-1) did not throw";
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "Semaphore initial value must be >= 0");
  }
}

TEST(Semaphore, TheDefaultValueIsOne) {
  Semaphore sem;
  EXPECT_EQ(sem.value(), 1);
  EXPECT_FALSE(sem.locked());
}

TEST(Semaphore, AnInitialValueOfZeroIsLocked) {
  // CPython's test_initial_value_zero.
  Semaphore sem(0);
  EXPECT_TRUE(sem.locked());
}

TEST(Semaphore, AcquireTakesAPermitAndTheLastPermitLocksIt) {
  run_virtual_watched([]() -> Coro<void> {
    Semaphore sem(2);
    EXPECT_TRUE(co_await sem.acquire());
    EXPECT_EQ(sem.value(), 1);
    EXPECT_FALSE(sem.locked());
    EXPECT_TRUE(co_await sem.acquire());
    EXPECT_EQ(sem.value(), 0);
    EXPECT_TRUE(sem.locked());
  });
}

TEST(Semaphore, ReleaseWithoutWaitersGivesThePermitBack) {
  // CPython's test_release_no_waiters.
  run_virtual_watched([]() -> Coro<void> {
    Semaphore sem;
    co_await sem.acquire();
    EXPECT_TRUE(sem.locked());
    sem.release();
    EXPECT_FALSE(sem.locked());
    EXPECT_EQ(sem.value(), 1);
  });
}

TEST(Semaphore, ReleaseHandsThePermitToTheFirstWaiter) {
  // CPython's test_acquire.
  run_virtual_watched([]() -> Coro<void> {
    Semaphore sem(3);
    std::vector<int> result;
    EXPECT_TRUE(co_await sem.acquire());
    EXPECT_TRUE(co_await sem.acquire());
    EXPECT_FALSE(sem.locked());

    Task<bool> t1 = acquirer(sem, result, 1);
    Task<bool> t2 = acquirer(sem, result, 2);
    Task<bool> t3 = acquirer(sem, result, 3);
    co_await sleep(0);
    EXPECT_EQ(result, (std::vector<int>{1}));
    EXPECT_TRUE(sem.locked());
    EXPECT_EQ(sem.waiter_count(), 2u);
    EXPECT_EQ(sem.value(), 0);

    Task<bool> t4 = acquirer(sem, result, 4);
    sem.release();
    sem.release();
    EXPECT_EQ(sem.value(), 0);  // both permits are promised to t2 and t3

    co_await sleep(0);
    EXPECT_EQ(sem.value(), 0);
    EXPECT_EQ(result, (std::vector<int>{1, 2, 3}));  // FIFO: t2 and t3, t4 queued behind them
    EXPECT_TRUE(sem.locked());
    EXPECT_EQ(sem.waiter_count(), 1u);
    EXPECT_TRUE(t1.done() && t2.done() && t3.done());
    EXPECT_FALSE(t4.done());

    sem.release();
    EXPECT_TRUE(co_await t4);
    EXPECT_EQ(result, (std::vector<int>{1, 2, 3, 4}));
  });
}

TEST(Semaphore, ACancelledWaiterLeavesTheQueue) {
  // CPython's test_acquire_cancel.
  run_virtual_watched([]() -> Coro<void> {
    Semaphore sem;
    co_await sem.acquire();
    auto acquire = create_task([&sem]() -> Coro<bool> { co_return co_await sem.acquire(); });
    asyncio::get_running_loop().call_soon([acquire]() mutable { acquire.cancel(); });
    EXPECT_THROW(co_await acquire, CancelledError);
    EXPECT_EQ(sem.waiter_count(), 0u);
    EXPECT_EQ(sem.value(), 0);
  });
}

TEST(Semaphore, WaitersCancelledBeforeTheReleaseDoNotTakeThePermit) {
  // CPython's test_acquire_cancel_before_awoken.
  run_virtual_watched([]() -> Coro<void> {
    Semaphore sem(0);
    std::vector<int> result;
    Task<bool> t1 = acquirer(sem, result, 1);
    Task<bool> t2 = acquirer(sem, result, 2);
    Task<bool> t3 = acquirer(sem, result, 3);
    Task<bool> t4 = acquirer(sem, result, 4);
    co_await sleep(0);

    t1.cancel();
    t2.cancel();
    sem.release();
    co_await sleep(0);
    co_await sleep(0);
    EXPECT_TRUE(t3.done());
    EXPECT_FALSE(t4.done());
    EXPECT_EQ(result, (std::vector<int>{3}));
    EXPECT_TRUE(co_await ended_cancelled(t1));
    EXPECT_TRUE(co_await ended_cancelled(t2));
    t4.cancel();
    EXPECT_TRUE(co_await ended_cancelled(t4));
    EXPECT_EQ(sem.value(), 0);
  });
}

TEST(Semaphore, ReleaseAfterTheFirstWaiterIsCancelledGoesToTheSecond) {
  // CPython's test_acquire_hang.
  run_virtual_watched([]() -> Coro<void> {
    Semaphore sem(0);
    std::vector<int> result;
    Task<bool> t1 = acquirer(sem, result, 1);
    Task<bool> t2 = acquirer(sem, result, 2);
    co_await sleep(0);
    t1.cancel();
    sem.release();
    co_await sleep(0);
    co_await sleep(0);
    EXPECT_TRUE(sem.locked());
    EXPECT_TRUE(t2.done());
    EXPECT_TRUE(co_await ended_cancelled(t1));
  });
}

TEST(Semaphore, ASemaphoreReleasedWhileItsWaiterIsBeingCancelledKeepsThePermit) {
  // release() promises the permit to the waiter; the waiter is then cancelled before it runs: it
  // must give the permit back rather than lose it.
  run_virtual_watched([]() -> Coro<void> {
    Semaphore sem(0);
    std::vector<int> result;
    Task<bool> t1 = acquirer(sem, result, 1);
    co_await sleep(0);
    sem.release();
    EXPECT_EQ(sem.value(), 0);  // promised to t1
    t1.cancel();
    EXPECT_TRUE(co_await ended_cancelled(t1));
    EXPECT_EQ(sem.value(), 1);  // back
    EXPECT_FALSE(sem.locked());
    EXPECT_TRUE(result.empty());
  });
}

TEST(Semaphore, APermitGivenBackByACancelledWaiterGoesToTheNextWaiter) {
  run_virtual_watched([]() -> Coro<void> {
    Semaphore sem(0);
    std::vector<int> result;
    Task<bool> t1 = acquirer(sem, result, 1);
    Task<bool> t2 = acquirer(sem, result, 2);
    Task<bool> t3 = acquirer(sem, result, 3);
    co_await sleep(0);
    sem.release();  // promised to t1
    t1.cancel();    // t1 will hand it to t2
    EXPECT_TRUE(co_await ended_cancelled(t1));
    EXPECT_TRUE(co_await t2);
    EXPECT_EQ(result, (std::vector<int>{2}));
    EXPECT_EQ(sem.value(), 0);
    EXPECT_FALSE(t3.done());
    t3.cancel();
    EXPECT_TRUE(co_await ended_cancelled(t3));
    EXPECT_EQ(sem.value(), 0);
  });
}

TEST(Semaphore, AReleaseAndACancelInTheSameStepDoNotHangTheSemaphore) {
  // CPython's test_acquire_no_hang.
  run_virtual_watched([]() -> Coro<void> {
    Semaphore sem(1);
    Task<void> t2;
    auto t1 = create_task([&]() -> Coro<void> {
      {
        auto held = co_await sem.hold();
        co_await sleep(0);
      }
      t2.cancel();
    });
    t2 = create_task([&]() -> Coro<void> {
      auto held = co_await sem.hold();
      ADD_FAILURE() << "t2 should have been cancelled";
    });
    co_await t1;
    bool cancelled = false;
    try {
      co_await t2;
    } catch (const CancelledError&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
    EXPECT_FALSE(sem.locked());
    EXPECT_EQ(sem.value(), 1);
    co_await sem.acquire();  // does not hang
  });
}

TEST(Semaphore, TasksReacquiringInALoopAlternateInFifoOrder) {
  // CPython's test_acquire_fifo_order.
  const std::vector<std::string> result = run_virtual_watched([]() -> Coro<std::vector<std::string>> {
    Semaphore sem(1);
    std::vector<std::string> result;
    std::vector<Task<void>> tasks;
    for (const char* tag : {"c1", "c2", "c3"}) {
      tasks.push_back(create_task([&sem, &result, tag]() -> Coro<void> {
        for (const char* round : {"_1", "_2"}) {
          co_await sem.acquire();
          result.push_back(std::string(tag) + round);
          co_await sleep(0.01);
          sem.release();
        }
      }));
    }
    for (auto& t : tasks) co_await t;
    co_return result;
  });
  EXPECT_EQ(result, (std::vector<std::string>{"c1_1", "c2_1", "c3_1", "c1_2", "c2_2", "c3_2"}));
}

TEST(Semaphore, ATaskReleasingAndReacquiringQueuesBehindTheWaiters) {
  // CPython's test_acquire_fifo_order_2.
  run_virtual_watched([]() -> Coro<void> {
    Semaphore sem(1);
    std::vector<int> result;
    auto t1 = acquirer(sem, result, 1);
    auto t2 = create_task([&]() -> Coro<bool> {
      co_await sem.acquire();
      result.push_back(2);
      sem.release();
      co_await sem.acquire();
      result.push_back(4);
      co_return true;
    });
    auto t3 = acquirer(sem, result, 3);
    co_await sleep(0);
    sem.release();
    sem.release();
    co_await t1;
    co_await t2;
    co_await t3;
    EXPECT_EQ(result, (std::vector<int>{1, 2, 3, 4}));
  });
}

TEST(Semaphore, AWaiterCancelledInTheMiddleOfTheQueueDoesNotBreakFifoOrder) {
  // CPython's test_acquire_fifo_order_3, with the cancelled waiter in the middle.
  run_virtual_watched([]() -> Coro<void> {
    Semaphore sem(0);
    std::vector<int> result;
    std::vector<Task<bool>> tasks;
    for (int id = 1; id <= 4; ++id) tasks.push_back(acquirer(sem, result, id));
    co_await sleep(0);
    tasks[1].cancel();
    co_await sleep(0);
    sem.release();
    sem.release();
    sem.release();
    EXPECT_TRUE(co_await ended_cancelled(tasks[1]));
    for (int i : {0, 2, 3}) co_await tasks[static_cast<std::size_t>(i)];
    EXPECT_EQ(result, (std::vector<int>{1, 3, 4}));
    EXPECT_EQ(sem.value(), 0);
  });
}

TEST(Semaphore, ANewcomerQueuesBehindAWokenWaiterEvenWithAPermitFree) {
  run_virtual_watched([]() -> Coro<void> {
    Semaphore sem(0);
    std::vector<int> result;
    auto t1 = acquirer(sem, result, 1);
    co_await sleep(0);
    sem.release();  // promised to t1
    sem.release();  // free: value 1, but t1 has not run yet
    EXPECT_EQ(sem.value(), 1);
    EXPECT_TRUE(sem.locked());  // a waiter not cancelled is queued
    auto t2 = acquirer(sem, result, 2);
    co_await t1;
    co_await t2;
    EXPECT_EQ(result, (std::vector<int>{1, 2}));
    EXPECT_EQ(sem.value(), 0);
  });
}

TEST(Semaphore, HoldGuardReleasesOnScopeExitAndOnException) {
  Semaphore sem(1);
  run_virtual_watched([&]() -> Coro<void> {
    {
      auto held = co_await sem.hold();
      EXPECT_EQ(sem.value(), 0);
    }
    EXPECT_EQ(sem.value(), 1);
    try {
      auto held = co_await sem.hold();
      throw std::runtime_error("boom");
    } catch (const std::runtime_error&) {
    }
    EXPECT_EQ(sem.value(), 1);
  });
  EXPECT_EQ(sem.value(), 1);
}

TEST(Semaphore, WaitingOnASemaphoreBoundToAnotherLoopRaisesRuntimeError) {
  EventLoop loop1(asyncio::testing::virtual_clock());
  EventLoop loop2(asyncio::testing::virtual_clock());
  Semaphore sem(0);
  loop1.run_until_complete([&]() -> Coro<void> {
    auto t = create_task([&sem]() -> Coro<void> { co_await sem.acquire(); });  // binds loop1
    co_await sleep(0);
    sem.release();
    co_await t;
  });
  EXPECT_THROW(loop2.run_until_complete([&]() -> Coro<void> { co_await sem.acquire(); }), RuntimeError);
  EXPECT_EQ(sem.value(), 0);
  EXPECT_EQ(sem.waiter_count(), 0u);
}

TEST(Semaphore, ReprShowsTheValueOrLockedAndTheWaiters) {
  // CPython's test_repr.
  run_virtual_watched([]() -> Coro<void> {
    Semaphore sem;
    EXPECT_NE(sem.repr().find("[unlocked, value:1]>"), std::string::npos) << sem.repr();
    co_await sem.acquire();
    EXPECT_NE(sem.repr().find("[locked]>"), std::string::npos) << sem.repr();
    auto t = create_task([&sem]() -> Coro<void> { co_await sem.acquire(); });
    co_await sleep(0);
    EXPECT_NE(sem.repr().find("[locked, waiters:1]>"), std::string::npos) << sem.repr();
    sem.release();
    co_await t;
  });
}

TEST(BoundedSemaphore, ReleaseBeyondTheInitialValueRaisesValueError) {
  // CPython's test_release_not_acquired.
  BoundedSemaphore sem;
  try {
    sem.release();
    FAIL() << "release() beyond the initial value did not throw";
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "BoundedSemaphore released too many times");
  }
  EXPECT_EQ(sem.value(), 1);
}

TEST(BoundedSemaphore, ReleaseWithinTheBoundWorksAndTheNextOneRaises) {
  run_virtual_watched([]() -> Coro<void> {
    BoundedSemaphore sem(2);
    co_await sem.acquire();
    co_await sem.acquire();
    sem.release();
    sem.release();
    EXPECT_EQ(sem.value(), 2);
    EXPECT_THROW(sem.release(), ValueError);
    EXPECT_EQ(sem.value(), 2);
  });
}

TEST(BoundedSemaphore, TheBoundHoldsThroughASemaphoreReference) {
  BoundedSemaphore bounded(1);
  Semaphore& sem = bounded;
  EXPECT_THROW(sem.release(), ValueError);
}

TEST(BoundedSemaphore, ANegativeInitialValueRaisesValueError) { EXPECT_THROW(BoundedSemaphore(-1), ValueError); }

TEST(BoundedSemaphore, HoldGuardReleasesWithinTheBound) {
  run_virtual_watched([]() -> Coro<void> {
    BoundedSemaphore sem(1);
    {
      auto held = co_await sem.hold();
      EXPECT_TRUE(sem.locked());
    }
    EXPECT_EQ(sem.value(), 1);
    EXPECT_NE(sem.repr().find("<asyncio::BoundedSemaphore object at"), std::string::npos) << sem.repr();
  });
}

}  // namespace

namespace {

TEST(Semaphore, GatherOfAcquiresTakesOnePermitEach) {
  run_virtual_watched([]() -> Coro<void> {
    Semaphore sem(2);
    auto [a, b] = co_await asyncio::gather(sem.acquire(), sem.acquire());
    EXPECT_TRUE(a);
    EXPECT_TRUE(b);
    EXPECT_TRUE(sem.locked());
    sem.release();
    sem.release();
  });
}

}  // namespace
