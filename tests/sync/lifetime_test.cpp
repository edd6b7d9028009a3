// A primitive destroyed while tasks still wait in it or hold it: what Python cannot do (a task
// keeps what it refers to alive) and C++ does as soon as the coroutine owning a local primitive
// returns. The tasks asyncio::run() cancels afterwards must leave without touching it (these tests
// are meant for the AddressSanitizer build, which would see any such touch), and debug mode says
// what happened.
#include <gtest/gtest.h>

#include <asyncio/flow/sleep.hpp>
#include <asyncio/sync/barrier.hpp>
#include <asyncio/sync/condition.hpp>
#include <asyncio/sync/event.hpp>
#include <asyncio/sync/lock.hpp>
#include <asyncio/sync/queue.hpp>
#include <asyncio/sync/semaphore.hpp>
#include <asyncio/task/runner.hpp>
#include <asyncio/task/task.hpp>
#include <memory>
#include <string>

#include "support/test_support.hpp"

namespace {

using asyncio::Barrier;
using asyncio::CancelledError;
using asyncio::Condition;
using asyncio::Coro;
using asyncio::create_task;
using asyncio::Event;
using asyncio::Lock;
using asyncio::Queue;
using asyncio::Runner;
using asyncio::RuntimeError;
using asyncio::Semaphore;
using asyncio::sleep;
using asyncio::testing::HandlerCapture;
using asyncio::testing::run_virtual;
using asyncio::testing::virtual_clock;

/// What a leftover task saw: "done", "cancelled", or a RuntimeError's text.
using Outcome = std::shared_ptr<std::string>;

Outcome outcome() { return std::make_shared<std::string>("still waiting"); }

/// Runs `wait` and records how it ended.
template <class Wait>
Coro<void> record(Outcome out, Wait wait) {
  try {
    co_await wait();
    *out = "done";
  } catch (const CancelledError&) {
    *out = "cancelled";
    throw;
  } catch (const RuntimeError& e) {
    *out = e.what();
    throw;
  }
}

Coro<void> acquire_lock(Lock& lock, Outcome out) {
  co_await record(std::move(out), [&lock]() -> Coro<void> { co_await lock.acquire(); });
}

TEST(PrimitiveLifetime, ATaskWaitingForALockItsCreatorDestroyedLeavesCancelledWhenRunEnds) {
  Outcome out = outcome();
  run_virtual([out]() -> Coro<void> {
    Lock lock;
    co_await lock.acquire();
    (void)create_task(acquire_lock(lock, out));
    co_await sleep(0);  // the task parks in the lock's queue
  });                   // the lock goes with main's frame, before run() cancels the task
  EXPECT_EQ(*out, "cancelled");
}

TEST(PrimitiveLifetime, ATaskWaitingOnAnEventItsCreatorDestroyedLeavesCancelledWhenRunEnds) {
  Outcome out = outcome();
  run_virtual([out]() -> Coro<void> {
    Event event;
    (void)create_task(record(out, [&event]() -> Coro<void> { co_await event.wait(); }));
    co_await sleep(0);
  });
  EXPECT_EQ(*out, "cancelled");
}

TEST(PrimitiveLifetime, ATaskWaitingForASemaphoreItsCreatorDestroyedLeavesCancelledWhenRunEnds) {
  Outcome out = outcome();
  run_virtual([out]() -> Coro<void> {
    Semaphore sem(0);
    (void)create_task(record(out, [&sem]() -> Coro<void> { co_await sem.acquire(); }));
    co_await sleep(0);
  });
  EXPECT_EQ(*out, "cancelled");
}

TEST(PrimitiveLifetime, ATaskInsideConditionWaitWhenTheConditionGoesLeavesWithoutReleasingItsLock) {
  Outcome out = outcome();
  run_virtual([out]() -> Coro<void> {
    Condition cond;
    (void)create_task(record(out, [&cond]() -> Coro<void> {
      auto held = co_await cond.hold();  // its guard must not release the condition's dead lock
      co_await cond.wait();
    }));
    co_await sleep(0);
  });
  EXPECT_EQ(*out, "cancelled");
}

TEST(PrimitiveLifetime, AWorkerWaitingInQueueGetWhenTheQueueGoesLeavesCancelledWhenRunEnds) {
  Outcome out = outcome();
  run_virtual([out]() -> Coro<void> {
    Queue<int> queue;
    (void)create_task(record(out, [&queue]() -> Coro<void> { (void)co_await queue.get(); }));
    co_await sleep(0);
  });
  EXPECT_EQ(*out, "cancelled");
}

TEST(PrimitiveLifetime, ATaskWaitingInQueuePutWhenTheQueueGoesLeavesCancelledWhenRunEnds) {
  Outcome out = outcome();
  run_virtual([out]() -> Coro<void> {
    Queue<int> queue(1);
    queue.put_nowait(1);
    (void)create_task(record(out, [&queue]() -> Coro<void> { co_await queue.put(2); }));
    co_await sleep(0);
  });
  EXPECT_EQ(*out, "cancelled");
}

TEST(PrimitiveLifetime, ATaskWaitingInQueueJoinWhenTheQueueGoesLeavesCancelledWhenRunEnds) {
  Outcome out = outcome();
  run_virtual([out]() -> Coro<void> {
    Queue<int> queue;
    queue.put_nowait(1);
    (void)create_task(record(out, [&queue]() -> Coro<void> { co_await queue.join(); }));
    co_await sleep(0);
  });
  EXPECT_EQ(*out, "cancelled");
}

TEST(PrimitiveLifetime, ATaskWaitingAtABarrierWhenTheBarrierGoesLeavesCancelledWhenRunEnds) {
  Outcome out = outcome();
  run_virtual([out]() -> Coro<void> {
    Barrier barrier(2);
    (void)create_task(record(out, [&barrier]() -> Coro<void> { (void)co_await barrier.wait(); }));
    co_await sleep(0);
  });
  EXPECT_EQ(*out, "cancelled");
}

TEST(PrimitiveLifetime, AGuardHoldingALockThatWasDestroyedReleasesNothing) {
  Outcome out = outcome();
  run_virtual([out]() -> Coro<void> {
    Lock lock;
    (void)create_task(record(out, [&lock]() -> Coro<void> {
      auto held = co_await lock.hold();
      co_await sleep(100);  // cancelled here, long after the lock went
    }));
    co_await sleep(0);
  });
  EXPECT_EQ(*out, "cancelled");
}

TEST(PrimitiveLifetime, AGuardOfADestroyedLockNoLongerOwnsIt) {
  auto owned_after = std::make_shared<bool>(true);
  run_virtual([owned_after]() -> Coro<void> {
    asyncio::Held<Lock> held;
    {
      Lock lock;
      held = co_await lock.hold();
    }
    *owned_after = held.owns();
    held.release();  // nothing to release: it must not touch the lock
  });
  EXPECT_FALSE(*owned_after);
}

TEST(PrimitiveLifetime, AMovedGuardOfADestroyedLockNoLongerOwnsIt) {
  auto owned_after = std::make_shared<bool>(true);
  run_virtual([owned_after]() -> Coro<void> {
    asyncio::Held<Lock> moved;
    {
      Lock lock;
      asyncio::Held<Lock> first = co_await lock.hold();
      moved = std::move(first);  // the lock now knows the guard at its new place
    }
    *owned_after = moved.owns();
  });
  EXPECT_FALSE(*owned_after);
}

TEST(PrimitiveLifetime, GuardsOfADestroyedSemaphoreNoLongerOwnIt) {
  auto owned_after = std::make_shared<int>(-1);
  run_virtual([owned_after]() -> Coro<void> {
    asyncio::Held<Semaphore> a;
    asyncio::Held<Semaphore> b;
    {
      Semaphore sem(2);
      a = co_await sem.hold();
      b = co_await sem.hold();
    }
    *owned_after = int{a.owns()} + int{b.owns()};
  });
  EXPECT_EQ(*owned_after, 0);
}

/// Owns a lock, lets `out`'s task queue for it, hands it over with release() and returns: the
/// lock is destroyed after the waiter was chosen, before it runs.
Coro<void> hand_over_and_go(Outcome out) {
  Lock lock;
  co_await lock.acquire();
  (void)create_task(acquire_lock(lock, std::move(out)));
  co_await sleep(0);
  lock.release();
}

TEST(PrimitiveLifetime, AWaiterChosenByALockDestroyedBeforeItRanRaisesRuntimeErrorNamingTheLock) {
  Outcome out = outcome();
  asyncio::testing::LogCapture log;  // the task's exception is never retrieved
  run_virtual([out]() -> Coro<void> {
    co_await hand_over_and_go(out);
    co_await sleep(0);  // the waiter runs now
  });
  EXPECT_NE(out->find("Lock was destroyed while this task waited in it"), std::string::npos) << *out;
}

/// Owns a queue, lets `out`'s task wait in get(), puts an item (waking it) and returns.
Coro<void> put_and_go(Outcome out) {
  Queue<int> queue;
  (void)create_task(record(std::move(out), [&queue]() -> Coro<void> { (void)co_await queue.get(); }));
  co_await sleep(0);
  queue.put_nowait(1);
}

TEST(PrimitiveLifetime, AGetterWokenByAQueueDestroyedBeforeItRanRaisesRuntimeErrorNamingTheQueue) {
  Outcome out = outcome();
  asyncio::testing::LogCapture log;
  run_virtual([out]() -> Coro<void> {
    co_await put_and_go(out);
    co_await sleep(0);
  });
  EXPECT_NE(out->find("Queue was destroyed while this task waited in it"), std::string::npos) << *out;
}

/// Runs `main` on a virtual-clock loop (debug mode or not) and returns every handler message.
template <class Main>
std::vector<std::string> handler_messages(bool debug, Main main) {
  Runner runner(asyncio::LoopOptions{.clock = asyncio::ClockKind::virtual_time, .debug = debug});
  HandlerCapture handler(runner.get_loop());
  runner.run(std::move(main));
  runner.close();
  std::vector<std::string> messages;
  for (const auto& context : handler.contexts()) messages.push_back(context.message);
  return messages;
}

Coro<void> leave_a_getter_behind() {
  Queue<int> queue;
  (void)create_task([](Queue<int>& q) -> Coro<void> { (void)co_await q.get(); }(queue));
  co_await sleep(0);
}

TEST(PrimitiveLifetime, DebugModeReportsAQueueDestroyedWhileATaskWaitsInIt) {
  const std::vector<std::string> messages = handler_messages(true, [] { return leave_a_getter_behind(); });
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_NE(messages[0].find("asyncio::Queue at 0x"), std::string::npos) << messages[0];
  EXPECT_NE(messages[0].find("destroyed while 1 coroutine waits in it"), std::string::npos) << messages[0];
}

TEST(PrimitiveLifetime, WithoutDebugModeADestroyedQueueWithWaitersIsNotReported) {
  EXPECT_TRUE(handler_messages(false, [] { return leave_a_getter_behind(); }).empty());
}

Coro<void> leave_a_holder_behind() {
  Lock lock;
  (void)create_task([](Lock& l) -> Coro<void> {
    auto held = co_await l.hold();
    co_await sleep(100);
  }(lock));
  co_await sleep(0);
}

TEST(PrimitiveLifetime, DebugModeReportsALockDestroyedWhileAGuardHoldsIt) {
  const std::vector<std::string> messages = handler_messages(true, [] { return leave_a_holder_behind(); });
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_NE(messages[0].find("asyncio::Lock at 0x"), std::string::npos) << messages[0];
  EXPECT_NE(messages[0].find("destroyed while held"), std::string::npos) << messages[0];
}

}  // namespace
