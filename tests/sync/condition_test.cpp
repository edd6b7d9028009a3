// asyncio::Condition (CPython 3.13 Lib/asyncio/locks.py Condition and test_locks.py ConditionTests
// are the reference), on the virtual clock.

#include <gtest/gtest.h>
#include <asyncio/sync/condition.hpp>

#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "support/test_support.hpp"

namespace {

using asyncio::CancelledError;
using asyncio::Condition;
using asyncio::Coro;
using asyncio::create_task;
using asyncio::EventLoop;
using asyncio::Lock;
using asyncio::RuntimeError;
using asyncio::sleep;
using asyncio::Task;

using asyncio::testing::run_virtual_watched;

// A task that takes the lock, waits once and records `id` when wait() returns true (CPython's c1,
// c2, c3); with `release`, it lets go of the lock afterwards.
Task<bool> waiter(Condition& cond, std::vector<int>& result, int id, bool release) {
  return create_task([&cond, &result, id, release]() -> Coro<bool> {
    co_await cond.acquire();
    if (co_await cond.wait()) {
      result.push_back(id);
      if (release) cond.release();
    }
    co_return true;
  });
}

TEST(Condition, WaitWithoutTheLockRaisesRuntimeError) {
  run_virtual_watched([]() -> Coro<void> {
    Condition cond;
    try {
      co_await cond.wait();
      ADD_FAILURE() << "wait() without the lock did not throw";
    } catch (const RuntimeError& e) {
      EXPECT_STREQ(e.what(), "cannot wait on un-acquired lock");
    }
    EXPECT_FALSE(cond.locked());
  });
}

TEST(Condition, NotifyWithoutTheLockRaisesRuntimeError) {
  Condition cond;
  try {
    cond.notify();
    FAIL() << "notify() without the lock did not throw";
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "cannot notify on un-acquired lock");
  }
}

TEST(Condition, NotifyAllWithoutTheLockRaisesRuntimeError) {
  Condition cond;
  EXPECT_THROW(cond.notify_all(), RuntimeError);
}

TEST(Condition, WaitReleasesTheLockAndReturnsTrueOnceNotifiedAndTheLockIsBack) {
  // CPython's test_wait.
  run_virtual_watched([]() -> Coro<void> {
    Condition cond;
    std::vector<int> result;
    Task<bool> t1 = waiter(cond, result, 1, false);
    Task<bool> t2 = waiter(cond, result, 2, false);
    Task<bool> t3 = waiter(cond, result, 3, false);
    co_await sleep(0);
    EXPECT_TRUE(result.empty());
    EXPECT_FALSE(cond.locked());

    EXPECT_TRUE(co_await cond.acquire());
    cond.notify();
    co_await sleep(0);
    EXPECT_TRUE(result.empty());  // notified, but the lock is still ours
    EXPECT_TRUE(cond.locked());

    cond.release();
    co_await sleep(0);
    EXPECT_EQ(result, (std::vector<int>{1}));
    EXPECT_TRUE(cond.locked());  // t1 holds it

    cond.notify(2);
    co_await sleep(0);
    EXPECT_EQ(result, (std::vector<int>{1}));
    EXPECT_TRUE(cond.locked());

    cond.release();
    co_await sleep(0);
    EXPECT_EQ(result, (std::vector<int>{1, 2}));
    EXPECT_TRUE(cond.locked());

    cond.release();
    co_await sleep(0);
    EXPECT_EQ(result, (std::vector<int>{1, 2, 3}));
    EXPECT_TRUE(cond.locked());
    EXPECT_TRUE(t1.done() && t2.done() && t3.done());
    EXPECT_TRUE(t1.result() && t2.result() && t3.result());
  });
}

TEST(Condition, NotifyNWakesNWaitersInFifoOrder) {
  // CPython's test_notify.
  run_virtual_watched([]() -> Coro<void> {
    Condition cond;
    std::vector<int> result;
    std::vector<Task<bool>> tasks;
    for (int id = 1; id <= 5; ++id) tasks.push_back(waiter(cond, result, id, true));
    co_await sleep(0);
    EXPECT_EQ(cond.waiter_count(), 5u);

    co_await cond.acquire();
    cond.notify(1);
    cond.release();
    co_await sleep(0);
    EXPECT_EQ(result, (std::vector<int>{1}));

    co_await cond.acquire();
    cond.notify(3);
    cond.release();
    co_await sleep(0);
    EXPECT_EQ(result, (std::vector<int>{1, 2, 3, 4}));
    EXPECT_EQ(cond.waiter_count(), 1u);

    co_await cond.acquire();
    cond.notify(2048);  // more than are waiting: all of them
    cond.release();
    for (auto& t : tasks) EXPECT_TRUE(co_await t);
    EXPECT_EQ(result, (std::vector<int>{1, 2, 3, 4, 5}));
  });
}

TEST(Condition, NotifyAllWakesEveryWaiter) {
  // CPython's test_notify_all.
  run_virtual_watched([]() -> Coro<void> {
    Condition cond;
    std::vector<int> result;
    Task<bool> t1 = waiter(cond, result, 1, true);
    Task<bool> t2 = waiter(cond, result, 2, true);
    co_await sleep(0);
    co_await cond.acquire();
    cond.notify_all();
    cond.release();
    co_await sleep(0);
    EXPECT_EQ(result, (std::vector<int>{1, 2}));
    EXPECT_TRUE(t1.done() && t2.done());
  });
}

TEST(Condition, NotifySkipsAWaiterAlreadyNotified) {
  run_virtual_watched([]() -> Coro<void> {
    Condition cond;
    std::vector<int> result;
    Task<bool> t1 = waiter(cond, result, 1, true);
    Task<bool> t2 = waiter(cond, result, 2, true);
    co_await sleep(0);
    co_await cond.acquire();
    cond.notify(1);
    cond.notify(1);  // t1 is notified already: this one goes to t2
    cond.release();
    co_await t1;
    co_await t2;
    EXPECT_EQ(result, (std::vector<int>{1, 2}));
  });
}

TEST(Condition, WaitReacquiresTheLockWhenCancelledAndRaisesCancelledError) {
  // CPython's test_wait_cancel.
  run_virtual_watched([]() -> Coro<void> {
    Condition cond;
    co_await cond.acquire();
    auto wait = create_task([&cond]() -> Coro<bool> { co_return co_await cond.wait(); });
    asyncio::get_running_loop().call_soon([wait]() mutable { wait.cancel(); });
    EXPECT_THROW(co_await wait, CancelledError);
    EXPECT_EQ(cond.waiter_count(), 0u);
    EXPECT_TRUE(cond.locked());  // wait() took the lock back before raising
  });
}

TEST(Condition, WaitCancelledWhileTheLockIsContendedStillEndsHoldingTheLock) {
  // CPython's test_wait_cancel_contested.
  run_virtual_watched([]() -> Coro<void> {
    Condition cond;
    co_await cond.acquire();
    auto wait_task = create_task([&cond]() -> Coro<bool> { co_return co_await cond.wait(); });
    co_await sleep(0);
    EXPECT_FALSE(cond.locked());

    co_await cond.acquire();
    cond.notify();
    asyncio::get_running_loop().call_soon([wait_task]() mutable { wait_task.cancel(); });
    asyncio::get_running_loop().call_soon([&cond]() { cond.release(); });
    bool cancelled = false;
    try {
      co_await wait_task;
    } catch (const CancelledError&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);  // the re-acquire was cancelled, and the cancellation re-raised
    EXPECT_TRUE(cond.locked());
  });
}

TEST(Condition, AWaiterCancelledWhileReacquiringTheLockEndsCancelled) {
  // CPython's test_wait_cancel_after_notify (bpo-32841).
  run_virtual_watched([]() -> Coro<void> {
    Condition cond;
    bool waited = false;
    auto waiter_task = create_task([&]() -> Coro<void> {
      auto held = co_await cond.hold();
      waited = true;
      co_await cond.wait();
    });
    co_await sleep(0);  // start waiting

    co_await cond.acquire();
    cond.notify();
    co_await sleep(0);  // the waiter now waits for the lock
    waiter_task.cancel();
    co_await sleep(0);  // the cancellation reaches it
    cond.release();
    co_await sleep(0);  // it re-acquires, raises, and its guard releases
    EXPECT_TRUE(waiter_task.cancelled());
    EXPECT_TRUE(waited);
    EXPECT_FALSE(cond.locked());
  });
}

TEST(Condition, ANotifiedWaiterThatIsCancelledPassesTheNotificationOn) {
  // Python 3.13's Condition.wait: `except BaseException: self._notify(1)`.
  run_virtual_watched([]() -> Coro<void> {
    Condition cond;
    std::vector<int> result;
    auto a = create_task([&]() -> Coro<void> {
      auto held = co_await cond.hold();
      co_await cond.wait();
      result.push_back(1);
    });
    auto b = create_task([&]() -> Coro<void> {
      auto held = co_await cond.hold();
      co_await cond.wait();
      result.push_back(2);
    });
    co_await sleep(0);
    co_await cond.acquire();
    cond.notify(1);  // a is chosen
    a.cancel();      // ... and cancelled before it runs
    cond.release();
    EXPECT_THROW(co_await a, CancelledError);
    co_await b;  // b got a's wake-up
    EXPECT_EQ(result, (std::vector<int>{2}));
    EXPECT_FALSE(cond.locked());
  });
}

TEST(Condition, WaitForReturnsAtOnceWithoutTheLockWhenThePredicateHolds) {
  // CPython's test_wait_for_unacquired.
  run_virtual_watched([]() -> Coro<void> {
    Condition cond;
    // Python returns the predicate's value itself ([1, 2, 3] there; any bool-testable value here).
    const std::optional<int> res = co_await cond.wait_for([] { return std::optional<int>(123); });
    EXPECT_EQ(res, std::optional<int>(123));
    const int value = co_await cond.wait_for([] { return 7; });
    EXPECT_EQ(value, 7);
    EXPECT_THROW(co_await cond.wait_for([] { return false; }), RuntimeError);
  });
}

TEST(Condition, WaitForWaitsUntilThePredicateHoldsAfterANotification) {
  // CPython's test_wait_for.
  run_virtual_watched([]() -> Coro<void> {
    Condition cond;
    bool presult = false;
    std::vector<int> result;
    int calls = 0;
    auto t = create_task([&]() -> Coro<bool> {
      co_await cond.acquire();
      if (co_await cond.wait_for([&] {
            ++calls;
            return presult;
          })) {
        result.push_back(1);
        cond.release();
      }
      co_return true;
    });
    co_await sleep(0);
    EXPECT_TRUE(result.empty());
    EXPECT_EQ(calls, 1);

    co_await cond.acquire();
    cond.notify();
    cond.release();
    co_await sleep(0);
    EXPECT_TRUE(result.empty());  // woken, predicate still false: waits again
    EXPECT_EQ(calls, 2);

    presult = true;
    co_await cond.acquire();
    cond.notify();
    cond.release();
    co_await sleep(0);
    EXPECT_EQ(result, (std::vector<int>{1}));
    EXPECT_TRUE(t.done() && t.result());
  });
}

TEST(Condition, WaitForReturnsThePredicatesLastValue) {
  run_virtual_watched([]() -> Coro<void> {
    Condition cond;
    int counter = 0;
    auto t = create_task([&]() -> Coro<int> {
      auto held = co_await cond.hold();
      co_return co_await cond.wait_for([&] { return counter >= 3 ? counter * 10 : 0; });
    });
    for (int i = 0; i < 3; ++i) {
      co_await sleep(0);
      auto held = co_await cond.hold();
      ++counter;
      cond.notify();
    }
    EXPECT_EQ(co_await t, 30);
  });
}

TEST(Condition, AConditionWithAGivenLockSharesIt) {
  // CPython's test_explicit_lock.
  run_virtual_watched([]() -> Coro<void> {
    Lock lock;
    Condition cond(&lock);
    EXPECT_FALSE(lock.locked());
    EXPECT_FALSE(cond.locked());
    {
      auto held = co_await cond.hold();
      EXPECT_TRUE(lock.locked());
      EXPECT_TRUE(cond.locked());
    }
    EXPECT_FALSE(lock.locked());
    {
      auto held = co_await lock.hold();
      EXPECT_TRUE(cond.locked());
    }
    EXPECT_FALSE(cond.locked());
  });
}

TEST(Condition, TwoConditionsOnOneLockNotifyTheirOwnWaiters) {
  run_virtual_watched([]() -> Coro<void> {
    Lock lock;
    Condition c1(&lock);
    Condition c2(&lock);
    std::vector<int> result;
    Task<bool> t1 = waiter(c1, result, 1, true);
    Task<bool> t2 = waiter(c2, result, 2, true);
    co_await sleep(0);
    co_await lock.acquire();
    c2.notify();
    lock.release();
    co_await t2;
    EXPECT_EQ(result, (std::vector<int>{2}));
    EXPECT_FALSE(t1.done());
    co_await lock.acquire();
    c1.notify();
    lock.release();
    co_await t1;
    EXPECT_EQ(result, (std::vector<int>{2, 1}));
  });
}

TEST(Condition, HoldGuardReleasesTheLockOnScopeExit) {
  // CPython's test_context_manager.
  run_virtual_watched([]() -> Coro<void> {
    Condition cond;
    {
      auto held = co_await cond.hold();
      EXPECT_TRUE(cond.locked());
    }
    EXPECT_FALSE(cond.locked());
  });
}

TEST(Condition, WaitOnAConditionBoundToAnotherLoopRaisesRuntimeErrorAndKeepsTheLock) {
  EventLoop loop1(asyncio::testing::virtual_clock());
  EventLoop loop2(asyncio::testing::virtual_clock());
  Condition cond;
  loop1.run_until_complete([&]() -> Coro<void> {
    auto t = create_task([&cond]() -> Coro<void> {
      auto held = co_await cond.hold();
      co_await cond.wait();  // binds loop1
    });
    co_await sleep(0);
    auto held = co_await cond.hold();
    cond.notify();
    held.release();
    co_await t;
  });
  const bool still_locked = loop2.run_until_complete([&]() -> Coro<bool> {
    auto held = co_await cond.hold();
    try {
      co_await cond.wait();
    } catch (const RuntimeError& e) {
      EXPECT_NE(std::string(e.what()).find("is bound to a different event loop"), std::string::npos) << e.what();
      co_return cond.locked();
    }
    co_return false;
  });
  EXPECT_TRUE(still_locked);  // as in CPython, the loop is checked before the lock is released
  EXPECT_FALSE(cond.locked());
}

TEST(Condition, ReprShowsTheLockStateAndTheNumberOfWaiters) {
  // CPython's test_repr.
  run_virtual_watched([]() -> Coro<void> {
    Condition cond;
    EXPECT_NE(cond.repr().find("[unlocked]>"), std::string::npos) << cond.repr();
    auto t = create_task([&cond]() -> Coro<void> {
      auto held = co_await cond.hold();
      co_await cond.wait();
    });
    co_await sleep(0);
    co_await cond.acquire();
    EXPECT_NE(cond.repr().find("[locked, waiters:1]>"), std::string::npos) << cond.repr();
    cond.notify();
    cond.release();
    co_await t;
  });
}

}  // namespace
