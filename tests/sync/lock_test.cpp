// asyncio::Lock (CPython 3.13 Lib/asyncio/locks.py Lock and test_locks.py LockTests are the
// reference), on the virtual clock. `co_await sleep(0)` is CPython's run_briefly: one loop
// iteration.

#include <gtest/gtest.h>
#include <asyncio/flow/wait_for.hpp>
#include <asyncio/sync/lock.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "support/test_support.hpp"

namespace {

using asyncio::CancelledError;
using asyncio::Coro;
using asyncio::create_task;
using asyncio::EventLoop;
using asyncio::Held;
using asyncio::Lock;
using asyncio::RuntimeError;
using asyncio::sleep;
using asyncio::Task;

using asyncio::testing::run_virtual_watched;

TEST(Lock, ANewLockIsUnlocked) {
  Lock lock;
  EXPECT_FALSE(lock.locked());
  EXPECT_EQ(lock.waiter_count(), 0u);
}

TEST(Lock, AcquireOfAFreeLockReturnsTrueAndLocksIt) {
  Lock lock;
  const bool r = run_virtual_watched([&]() -> Coro<bool> { co_return co_await lock.acquire(); });
  EXPECT_TRUE(r);
  EXPECT_TRUE(lock.locked());
}

TEST(Lock, ReleaseOfAnUnlockedLockRaisesRuntimeError) {
  Lock lock;
  try {
    lock.release();
    FAIL() << "release() of an unlocked lock did not throw";
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "Lock is not acquired.");
  }
  EXPECT_FALSE(lock.locked());
}

TEST(Lock, ReleaseWithoutWaitersUnlocks) {
  Lock lock;
  run_virtual_watched([&]() -> Coro<void> {
    co_await lock.acquire();
    EXPECT_TRUE(lock.locked());
    lock.release();
  });
  EXPECT_FALSE(lock.locked());
}

TEST(Lock, WaitersAcquireInFifoOrderOneReleaseAtATime) {
  // CPython's test_acquire.
  const std::vector<int> result = run_virtual_watched([]() -> Coro<std::vector<int>> {
    Lock lock;
    std::vector<int> result;
    EXPECT_TRUE(co_await lock.acquire());
    auto c = [&](int id) {
      return create_task([&lock, &result, id]() -> Coro<bool> {
        if (co_await lock.acquire()) result.push_back(id);
        co_return true;
      });
    };
    Task<bool> t1 = c(1);
    Task<bool> t2 = c(2);
    co_await sleep(0);
    EXPECT_TRUE(result.empty());

    lock.release();
    co_await sleep(0);
    EXPECT_EQ(result, (std::vector<int>{1}));
    co_await sleep(0);
    EXPECT_EQ(result, (std::vector<int>{1}));

    Task<bool> t3 = c(3);
    lock.release();
    co_await sleep(0);
    EXPECT_EQ(result, (std::vector<int>{1, 2}));

    lock.release();
    co_await sleep(0);
    EXPECT_TRUE(t1.done() && t2.done() && t3.done());
    EXPECT_TRUE(t1.result() && t2.result() && t3.result());
    co_return result;
  });
  EXPECT_EQ(result, (std::vector<int>{1, 2, 3}));
}

TEST(Lock, AWaiterCancelledInTheMiddleOfTheQueueDoesNotBreakFifoOrder) {
  const std::vector<int> order = run_virtual_watched([]() -> Coro<std::vector<int>> {
    Lock lock;
    std::vector<int> order;
    co_await lock.acquire();
    std::vector<Task<void>> tasks;
    for (int id = 0; id < 5; ++id) {
      tasks.push_back(create_task([&lock, &order, id]() -> Coro<void> {
        co_await lock.acquire();
        order.push_back(id);
        co_await sleep(1);
        lock.release();
      }));
    }
    co_await sleep(0);
    EXPECT_EQ(lock.waiter_count(), 5u);
    tasks[2].cancel();
    co_await sleep(0);
    EXPECT_EQ(lock.waiter_count(), 4u);  // the cancelled waiter left the queue
    lock.release();
    for (auto& t : tasks) {
      try {
        co_await t;
      } catch (const CancelledError&) {
      }
    }
    EXPECT_TRUE(tasks[2].cancelled());
    co_return order;
  });
  EXPECT_EQ(order, (std::vector<int>{0, 1, 3, 4}));
}

TEST(Lock, ACancelledWaiterLeavesTheQueueAndRaisesCancelledError) {
  // CPython's test_acquire_cancel.
  run_virtual_watched([]() -> Coro<void> {
    Lock lock;
    EXPECT_TRUE(co_await lock.acquire());
    auto task = create_task([&lock]() -> Coro<bool> { co_return co_await lock.acquire(); });
    asyncio::get_running_loop().call_soon([task]() mutable { task.cancel(); });
    EXPECT_THROW(co_await task, CancelledError);
    EXPECT_EQ(lock.waiter_count(), 0u);
    EXPECT_TRUE(lock.locked());
  });
}

TEST(Lock, ALockReleasedWhileItsNextWaiterIsBeingCancelledGoesToTheFollowingWaiter) {
  // CPython's test_cancel_race: B is cancelled, then A releases, in the same loop iteration.
  run_virtual_watched([]() -> Coro<void> {
    Lock lock;
    auto fa = asyncio::get_running_loop().create_future<void>();
    auto lockit = [&lock](asyncio::Future<void> blocker) -> Task<void> {
      return create_task([&lock, blocker]() mutable -> Coro<void> {
        auto held = co_await lock.hold();  // Python's try/finally around the blocker
        if (blocker) co_await blocker;
      });
    };
    Task<void> ta = lockit(fa);
    co_await sleep(0);
    EXPECT_TRUE(lock.locked());
    Task<void> tb = lockit({});
    co_await sleep(0);
    EXPECT_EQ(lock.waiter_count(), 1u);
    Task<void> tc = lockit({});
    co_await sleep(0);
    EXPECT_EQ(lock.waiter_count(), 2u);

    fa.set_result();
    tb.cancel();
    co_await sleep(0);
    EXPECT_FALSE(lock.locked());
    EXPECT_TRUE(ta.done());
    EXPECT_TRUE(tb.cancelled());
    co_await tc;  // C got the lock, and released it
    EXPECT_FALSE(lock.locked());
  });
}

TEST(Lock, AWaiterCancelledAfterReleaseChoseItPassesTheLockToTheFollowingWaiter) {
  // The reverse order: release() completes B's future, then B is cancelled before it runs.
  run_virtual_watched([]() -> Coro<void> {
    Lock lock;
    std::vector<char> acquired;
    co_await lock.acquire();
    auto waiter = [&](char name) {
      return create_task([&lock, &acquired, name]() -> Coro<void> {
        co_await lock.acquire();
        acquired.push_back(name);
      });
    };
    Task<void> tb = waiter('B');
    Task<void> tc = waiter('C');
    co_await sleep(0);
    lock.release();
    tb.cancel();
    EXPECT_THROW(co_await tb, CancelledError);
    co_await tc;
    EXPECT_EQ(acquired, (std::vector<char>{'C'}));
    EXPECT_TRUE(lock.locked());  // C holds it
    EXPECT_EQ(lock.waiter_count(), 0u);
  });
}

TEST(Lock, CancelAndReleaseInOneCallbackHandOverTheLockOnlyOnce) {
  // CPython's test_cancel_release_race (bpo-32734).
  run_virtual_watched([]() -> Coro<void> {
    Lock lock;
    int lock_count = 0;
    int call_count = 0;
    auto lockit = [&]() {
      return create_task([&]() -> Coro<void> {
        ++call_count;
        co_await lock.acquire();
        ++lock_count;
      });
    };
    co_await lock.acquire();
    Task<void> t1 = lockit();
    Task<void> t2 = lockit();
    Task<void> t3 = lockit();
    co_await sleep(0);
    asyncio::get_running_loop().call_soon([&]() {
      t1.cancel();
      lock.release();
    });
    EXPECT_THROW(co_await t1, CancelledError);
    EXPECT_EQ(lock_count, 1);
    EXPECT_EQ(call_count, 3);
    EXPECT_TRUE(t1.cancelled() && t2.done());
    t3.cancel();
    co_await sleep(0);
    EXPECT_TRUE(t3.cancelled());
  });
}

TEST(Lock, AWokenWaiterCancelledBeforeANewcomerQueuesStillLetsTheNewcomerIn) {
  // CPython's test_finished_waiter_cancelled.
  run_virtual_watched([]() -> Coro<void> {
    Lock lock;
    co_await lock.acquire();
    auto tb = create_task([&lock]() -> Coro<bool> { co_return co_await lock.acquire(); });
    co_await sleep(0);
    EXPECT_EQ(lock.waiter_count(), 1u);
    auto tc = create_task([&lock]() -> Coro<bool> { co_return co_await lock.acquire(); });
    tb.cancel();
    lock.release();
    co_await sleep(0);
    EXPECT_TRUE(lock.locked());
    EXPECT_TRUE(tb.cancelled());
    EXPECT_TRUE(co_await tc);
  });
}

TEST(Lock, ANewcomerDoesNotTakeTheLockFromAWokenWaiter) {
  run_virtual_watched([]() -> Coro<void> {
    Lock lock;
    std::vector<char> order;
    co_await lock.acquire();
    auto tb = create_task([&]() -> Coro<void> {
      co_await lock.acquire();
      order.push_back('B');
      lock.release();
    });
    co_await sleep(0);
    lock.release();  // B's turn, but B has not run yet
    EXPECT_FALSE(lock.locked());
    auto tc = create_task([&]() -> Coro<void> {
      co_await lock.acquire();
      order.push_back('C');
      lock.release();
    });
    co_await tb;
    co_await tc;
    EXPECT_EQ(order, (std::vector<char>{'B', 'C'}));
  });
}

TEST(Lock, ANewcomerTakesAFreeLockAtOnceWhenEveryWaiterIsCancelled) {
  run_virtual_watched([]() -> Coro<void> {
    Lock lock;
    co_await lock.acquire();
    auto tb = create_task([&lock]() -> Coro<bool> { co_return co_await lock.acquire(); });
    co_await sleep(0);
    tb.cancel();     // B's future is cancelled; B has not resumed yet
    lock.release();  // nobody to wake
    EXPECT_EQ(lock.waiter_count(), 1u);
    co_await lock.acquire();  // fast path: the only waiter is cancelled
    EXPECT_TRUE(lock.locked());
    EXPECT_THROW(co_await tb, CancelledError);
    EXPECT_TRUE(lock.locked());
    lock.release();
  });
}

TEST(Lock, HoldReturnsAGuardThatReleasesOnScopeExit) {
  Lock lock;
  run_virtual_watched([&]() -> Coro<void> {
    {
      auto held = co_await lock.hold();
      EXPECT_TRUE(held.owns());
      EXPECT_TRUE(lock.locked());
    }
    EXPECT_FALSE(lock.locked());
  });
  EXPECT_FALSE(lock.locked());
}

TEST(Lock, HoldGuardReleasesWhenAnExceptionLeavesTheScope) {
  Lock lock;
  EXPECT_THROW(run_virtual_watched([&]() -> Coro<void> {
                 auto held = co_await lock.hold();
                 EXPECT_TRUE(lock.locked());
                 throw std::logic_error("boom");
               }),
               std::logic_error);
  EXPECT_FALSE(lock.locked());
}

TEST(Lock, HoldGuardReleasesWhenTheHoldingTaskIsCancelled) {
  run_virtual_watched([]() -> Coro<void> {
    Lock lock;
    auto t = create_task([&lock]() -> Coro<void> {
      auto held = co_await lock.hold();
      co_await sleep(10);
    });
    co_await sleep(1);
    EXPECT_TRUE(lock.locked());
    t.cancel();
    EXPECT_THROW(co_await t, CancelledError);
    EXPECT_FALSE(lock.locked());
  });
}

TEST(Lock, HoldGuardReleasedEarlyDoesNotReleaseAgain) {
  Lock lock;
  run_virtual_watched([&]() -> Coro<void> {
    auto held = co_await lock.hold();
    held.release();
    EXPECT_FALSE(held.owns());
    EXPECT_FALSE(lock.locked());
    co_await lock.acquire();  // someone else's hold now: the guard must not release it
  });
  EXPECT_TRUE(lock.locked());
}

TEST(Lock, HoldGuardMovedReleasesOnceFromItsNewOwner) {
  Lock lock;
  run_virtual_watched([&]() -> Coro<void> {
    Held<Lock> outer;
    {
      auto held = co_await lock.hold();
      outer = std::move(held);
      EXPECT_FALSE(held.owns());  // NOLINT(bugprone-use-after-move): moved-from is empty
    }
    EXPECT_TRUE(lock.locked());
    EXPECT_TRUE(outer.owns());
  });
  EXPECT_FALSE(lock.locked());
}

TEST(Lock, HoldGuardWhoseLockWasReleasedByHandReportsToTheExceptionHandler) {
  // Python's `async with lock:` around a body that releases the lock itself raises RuntimeError at
  // __aexit__; a destructor cannot throw, so the guard reports it.
  run_virtual_watched([]() -> Coro<void> {
    Lock lock;
    asyncio::testing::HandlerCapture capture(asyncio::get_running_loop());
    {
      auto held = co_await lock.hold();
      lock.release();
    }
    EXPECT_EQ(capture.contexts().size(), 1u);
    if (capture.contexts().size() == 1) {
      EXPECT_NE(capture.contexts()[0].message.find("Held"), std::string::npos);
      EXPECT_NE(capture.exceptions()[0].find("Lock is not acquired."), std::string::npos);
    }
  });
}

TEST(Lock, WaitingOnALockBoundToAnotherLoopRaisesRuntimeError) {
  EventLoop loop1(asyncio::testing::virtual_clock());
  EventLoop loop2(asyncio::testing::virtual_clock());
  Lock lock;
  loop1.run_until_complete([&]() -> Coro<void> {
    co_await lock.acquire();
    auto t = create_task([&lock]() -> Coro<void> { co_await lock.acquire(); });  // waits: binds loop1
    co_await sleep(0);
    lock.release();
    co_await t;  // t holds the lock now
  });
  ASSERT_TRUE(lock.locked());
  try {
    loop2.run_until_complete([&]() -> Coro<void> { co_await lock.acquire(); });
    FAIL() << "acquire() from a second loop did not throw";
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("is bound to a different event loop"), std::string::npos) << e.what();
  }
  EXPECT_EQ(lock.waiter_count(), 0u);
}

TEST(Lock, AnUncontendedLockDoesNotCheckItsLoopAsInCPython) {
  // The fast paths of acquire() and release() never look at the loop (CPython's
  // test_ambiguous_loops relies on it).
  EventLoop loop1(asyncio::testing::virtual_clock());
  EventLoop loop2(asyncio::testing::virtual_clock());
  Lock lock;
  loop1.run_until_complete([&]() -> Coro<void> {
    co_await lock.acquire();
    auto t = create_task([&lock]() -> Coro<void> {
      co_await lock.acquire();
      lock.release();
    });
    co_await sleep(0);
    lock.release();
    co_await t;
  });
  const bool r = loop2.run_until_complete([&]() -> Coro<bool> {
    const bool got = co_await lock.acquire();
    lock.release();
    co_return got;
  });
  EXPECT_TRUE(r);
}

TEST(Lock, ReprShowsTheStateAndTheNumberOfWaiters) {
  run_virtual_watched([]() -> Coro<void> {
    Lock lock;
    EXPECT_NE(lock.repr().find("[unlocked]>"), std::string::npos) << lock.repr();
    EXPECT_EQ(lock.repr().rfind("<asyncio::Lock object at 0x", 0), 0u) << lock.repr();
    co_await lock.acquire();
    EXPECT_NE(lock.repr().find("[locked]>"), std::string::npos) << lock.repr();
    auto t = create_task([&lock]() -> Coro<void> { co_await lock.acquire(); });
    co_await sleep(0);
    EXPECT_NE(lock.repr().find("[locked, waiters:1]>"), std::string::npos) << lock.repr();
    lock.release();
    co_await t;
  });
}

TEST(Lock, ALockDestroyedBeforeItsLoopLetsTheLoopDestroyThePendingWaiter) {
  // The loop is destroyed with a task still waiting on a lock that is already gone: the waiter was
  // detached from the queue by the lock's destructor, so unwinding its frame touches nothing.
  asyncio::testing::LogCapture logs;
  auto loop = std::make_unique<EventLoop>(asyncio::testing::virtual_clock());
  {
    Lock lock;
    loop->run_until_complete([&]() -> Coro<void> {
      co_await lock.acquire();
      create_task([&lock]() -> Coro<void> { co_await lock.acquire(); });
      co_await sleep(0);
      EXPECT_EQ(lock.waiter_count(), 1u);
    });
  }
  loop.reset();
  EXPECT_EQ(logs.count("Task was destroyed but it is pending!"), 1u);
}

}  // namespace

namespace {

TEST(Lock, WaitForOnAcquireTakesTheLockWhenItIsReleasedInTime) {
  // Python's `await asyncio.wait_for(lock.acquire(), 1.0)`.
  run_virtual_watched([]() -> Coro<void> {
    Lock lock;
    co_await lock.acquire();
    asyncio::get_running_loop().call_later(0.5, [&lock] { lock.release(); });
    EXPECT_TRUE(co_await asyncio::wait_for(lock.acquire(), 1.0));
    EXPECT_TRUE(lock.locked());
    lock.release();
  });
}

TEST(Lock, WaitForOnAcquireThatTimesOutLeavesTheLockToTheNextWaiter) {
  run_virtual_watched([]() -> Coro<void> {
    Lock lock;
    co_await lock.acquire();
    EXPECT_THROW(co_await asyncio::wait_for(lock.acquire(), 1.0), asyncio::TimeoutError);
    EXPECT_EQ(lock.waiter_count(), 0u);
    lock.release();
    EXPECT_FALSE(lock.locked());
    EXPECT_TRUE(co_await lock.acquire());
    lock.release();
  });
}

}  // namespace
