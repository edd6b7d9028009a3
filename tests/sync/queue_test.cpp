// Queue, PriorityQueue, LifoQueue (CPython 3.13 Lib/asyncio/queues.py and
// Lib/test/test_asyncio/test_queues.py are the reference), on the virtual clock.
//
// Every queue a task uses is declared outside the loop's run, so that it outlives the tasks that
// asyncio::run cancels at the end.

#include <gtest/gtest.h>

#include <asyncio/sync/queue.hpp>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "support/test_support.hpp"

namespace {

using asyncio::CancelledError;
using asyncio::Coro;
using asyncio::EventLoop;
using asyncio::LifoQueue;
using asyncio::PriorityQueue;
using asyncio::Queue;
using asyncio::QueueEmpty;
using asyncio::QueueFull;
using asyncio::QueueShutDown;
using asyncio::Task;
using asyncio::testing::run_virtual;
using asyncio::testing::virtual_clock;

double now() { return asyncio::get_running_loop().time(); }

/// Lets every task that is ready run (a few loop iterations).
Coro<void> settle() {
  for (int i = 0; i < 4; ++i) co_await asyncio::sleep(0);
}

/// Awaits `task` and reports whether it ended with a CancelledError.
template <class T>
Coro<bool> ended_cancelled(Task<T> task) {
  try {
    co_await task;
  } catch (const CancelledError&) {
    co_return true;
  }
  co_return false;
}

/// Awaits `task` and reports whether it ended with QueueShutDown.
template <class T>
Coro<bool> ended_shut_down(Task<T> task) {
  try {
    co_await task;
  } catch (const QueueShutDown&) {
    co_return true;
  }
  co_return false;
}

// ---------------------------------------------------------------------------------------------
// Size and state

TEST(Queue, ANewQueueIsEmptyAndNotFull) {
  Queue<int> q;
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.full());
  EXPECT_EQ(q.qsize(), 0u);
}

TEST(Queue, MaxsizeIsTheBoundGivenAtConstruction) {
  Queue<int> bounded(2);
  Queue<int> unbounded;
  EXPECT_EQ(bounded.maxsize(), 2u);
  EXPECT_EQ(unbounded.maxsize(), 0u);
}

TEST(Queue, AQueueIsFullWhenItHoldsMaxsizeItems) {
  Queue<int> q(2);
  q.put_nowait(1);
  EXPECT_FALSE(q.full());
  q.put_nowait(2);
  EXPECT_TRUE(q.full());
  EXPECT_EQ(q.qsize(), 2u);
}

TEST(Queue, AnUnboundedQueueIsNeverFull) {
  Queue<int> q;
  for (int i = 0; i < 10000; ++i) q.put_nowait(i);
  EXPECT_FALSE(q.full());
  EXPECT_EQ(q.qsize(), 10000u);
}

TEST(Queue, ItemsComeOutInTheOrderTheyWentIn) {
  Queue<int> q;
  for (int i : {1, 3, 2}) q.put_nowait(i);
  std::vector<int> got;
  while (!q.empty()) got.push_back(q.get_nowait());
  EXPECT_EQ(got, (std::vector<int>{1, 3, 2}));
}

TEST(Queue, GetNowaitOnAnEmptyQueueRaisesQueueEmpty) {
  Queue<int> q;
  EXPECT_THROW(q.get_nowait(), QueueEmpty);
}

TEST(Queue, PutNowaitOnAFullQueueRaisesQueueFull) {
  Queue<int> q(1);
  q.put_nowait(1);
  EXPECT_THROW(q.put_nowait(2), QueueFull);
  EXPECT_EQ(q.qsize(), 1u);
}

TEST(Queue, QueueExceptionsAreStdRuntimeErrorsWithAMessage) {
  Queue<int> q(1);
  try {
    q.get_nowait();
    ADD_FAILURE() << "no QueueEmpty";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("empty"), std::string::npos) << e.what();
  }
  q.put_nowait(1);
  try {
    q.put_nowait(2);
    ADD_FAILURE() << "no QueueFull";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("full"), std::string::npos) << e.what();
  }
  q.shutdown();
  try {
    q.put_nowait(2);
    ADD_FAILURE() << "no QueueShutDown";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("shut down"), std::string::npos) << e.what();
  }
}

TEST(Queue, NowaitMethodsWorkWithoutARunningLoop) {
  Queue<int> q(1);
  q.put_nowait(7);
  EXPECT_EQ(q.get_nowait(), 7);
}

// ---------------------------------------------------------------------------------------------
// put

TEST(Queue, PutWithRoomDoesNotSuspend) {
  Queue<int> q;
  run_virtual([&]() -> Coro<void> {
    bool other_ran = false;
    auto other = asyncio::create_task([&]() -> Coro<void> {
      other_ran = true;
      co_return;
    });
    co_await q.put(1);
    EXPECT_FALSE(other_ran);
    co_await other;
  });
  EXPECT_EQ(q.qsize(), 1u);
}

TEST(Queue, PutBlocksWhileTheQueueIsFullAndResumesWhenAnItemIsTaken) {
  Queue<int> q(2);
  std::vector<int> have_been_put;
  run_virtual([&]() -> Coro<void> {
    auto putter = asyncio::create_task([&]() -> Coro<void> {
      for (int i = 0; i < 3; ++i) {
        co_await q.put(i);
        have_been_put.push_back(i);
      }
    });
    co_await settle();
    EXPECT_EQ(have_been_put, (std::vector<int>{0, 1}));
    EXPECT_FALSE(putter.done());
    EXPECT_EQ(q.get_nowait(), 0);
    co_await settle();
    EXPECT_EQ(have_been_put, (std::vector<int>{0, 1, 2}));
    EXPECT_TRUE(putter.done());
  });
  EXPECT_EQ(q.qsize(), 2u);
}

TEST(Queue, BlockedPuttersResumeInTheOrderTheyBlocked) {
  Queue<int> q(1);
  std::vector<int> order;
  run_virtual([&]() -> Coro<void> {
    q.put_nowait(0);
    std::vector<Task<void>> putters;
    for (int i = 1; i <= 4; ++i) {
      putters.push_back(asyncio::create_task([&q, &order, i]() -> Coro<void> {
        co_await q.put(i);
        order.push_back(i);
      }));
    }
    co_await settle();
    EXPECT_TRUE(order.empty());
    std::vector<int> got;
    for (int i = 0; i < 4; ++i) {
      got.push_back(co_await q.get());
      co_await settle();
    }
    got.push_back(q.get_nowait());
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4}));
    EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4}));
  });
}

TEST(Queue, APutterWokenByGetNowaitPutsItsItem) {
  Queue<int> q(1);
  run_virtual([&]() -> Coro<void> {
    q.put_nowait(1);
    auto putter = asyncio::create_task(q.put(2));
    co_await settle();
    EXPECT_EQ(q.repr(), "<Queue maxsize=1 _queue=[1] _putters[1] tasks=1>");
    EXPECT_EQ(q.get_nowait(), 1);
    co_await putter;
    EXPECT_EQ(q.get_nowait(), 2);
  });
  EXPECT_TRUE(q.empty());
}

// ---------------------------------------------------------------------------------------------
// get

TEST(Queue, GetWithAnItemThereDoesNotSuspend) {
  Queue<int> q;
  q.put_nowait(5);
  run_virtual([&]() -> Coro<void> {
    bool other_ran = false;
    auto other = asyncio::create_task([&]() -> Coro<void> {
      other_ran = true;
      co_return;
    });
    EXPECT_EQ(co_await q.get(), 5);
    EXPECT_FALSE(other_ran);
    co_await other;
  });
}

TEST(Queue, GetBlocksWhileTheQueueIsEmptyAndResumesWhenAnItemIsPut) {
  Queue<int> q;
  const double t = run_virtual([&]() -> Coro<double> {
    asyncio::get_running_loop().call_later(0.01, [&q] { q.put_nowait(1); });
    const int v = co_await q.get();
    EXPECT_EQ(v, 1);
    co_return now();
  });
  EXPECT_EQ(t, 0.01);
}

TEST(Queue, BlockedGettersAreServedInTheOrderTheyBlocked) {
  Queue<int> q;
  std::vector<std::pair<int, int>> served;  // (getter, item)
  run_virtual([&]() -> Coro<void> {
    std::vector<Task<void>> getters;
    for (int g = 0; g < 4; ++g) {
      getters.push_back(asyncio::create_task([&q, &served, g]() -> Coro<void> {
        const int item = co_await q.get();
        served.emplace_back(g, item);
      }));
    }
    co_await settle();
    EXPECT_EQ(q.repr(), "<Queue maxsize=0 _getters[4]>");
    for (int i = 10; i < 14; ++i) q.put_nowait(i);
    for (auto& t : getters) co_await t;
  });
  EXPECT_EQ(served, (std::vector<std::pair<int, int>>{{0, 10}, {1, 11}, {2, 12}, {3, 13}}));
}

TEST(Queue, GetWithWaitingPuttersGivesTheItemsInTheOrderTheyWerePut) {
  Queue<std::string> q(1);
  run_virtual([&]() -> Coro<void> {
    auto a = asyncio::create_task(q.put("a"));
    auto b = asyncio::create_task(q.put("b"));
    EXPECT_EQ(co_await q.get(), "a");
    EXPECT_EQ(co_await q.get(), "b");
    co_await a;
    co_await b;
  });
  EXPECT_TRUE(q.empty());
}

TEST(Queue, AProducerAndAConsumerExchangeEveryItemThroughASizeOneQueue) {
  Queue<int> q(1);
  std::vector<int> got;
  run_virtual([&]() -> Coro<void> {
    auto producer = asyncio::create_task([&]() -> Coro<void> {
      for (int i = 0; i < 100; ++i) co_await q.put(i);
    });
    for (int i = 0; i < 100; ++i) got.push_back(co_await q.get());
    co_await producer;
  });
  ASSERT_EQ(got.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(got[i], i);
}

TEST(Queue, EveryPutterWaitingOnAFullQueueGetsItsItemIn) {
  Queue<int> q(2);
  std::vector<int> got;
  run_virtual([&]() -> Coro<void> {
    std::vector<Task<void>> putters;
    for (int i = 0; i < 4; ++i) putters.push_back(asyncio::create_task(q.put(i)));
    co_await asyncio::sleep(0);
    while (!q.empty()) got.push_back(q.get_nowait());
    for (auto& t : putters) co_await t;
    while (!q.empty()) got.push_back(q.get_nowait());
  });
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3}));
}

// ---------------------------------------------------------------------------------------------
// cancellation

TEST(Queue, ACancelledGetterLeavesTheWaiters) {
  Queue<int> q(5);
  run_virtual([&]() -> Coro<void> {
    auto getter = asyncio::create_task(q.get());
    co_await settle();
    EXPECT_EQ(q.repr(), "<Queue maxsize=5 _getters[1]>");
    getter.cancel();
    EXPECT_TRUE(co_await ended_cancelled(getter));
    EXPECT_EQ(q.repr(), "<Queue maxsize=5>");
  });
}

TEST(Queue, ACancelledPutterLeavesTheWaiters) {
  Queue<int> q(1);
  q.put_nowait(1);
  run_virtual([&]() -> Coro<void> {
    auto putter = asyncio::create_task(q.put(2));
    co_await settle();
    EXPECT_EQ(q.repr(), "<Queue maxsize=1 _queue=[1] _putters[1] tasks=1>");
    putter.cancel();
    EXPECT_TRUE(co_await ended_cancelled(putter));
    EXPECT_EQ(q.repr(), "<Queue maxsize=1 _queue=[1] tasks=1>");
  });
  EXPECT_EQ(q.qsize(), 1u);
}

TEST(Queue, AGetterCancelledWhileWaitingTakesNoItemFromTheNextGetter) {
  Queue<std::string> q;
  run_virtual([&]() -> Coro<void> {
    auto t1 = asyncio::create_task(q.get());
    auto t2 = asyncio::create_task(q.get());
    co_await asyncio::sleep(0);
    t1.cancel();
    co_await asyncio::sleep(0);
    EXPECT_TRUE(t1.done());
    q.put_nowait("a");
    EXPECT_EQ(co_await t2, "a");
    EXPECT_TRUE(t1.cancelled());
  });
}

TEST(Queue, AGetterCancelledJustAfterAnItemWasHandedToItPassesTheItemToTheNextGetter) {
  Queue<int> q;
  run_virtual([&]() -> Coro<void> {
    auto first = asyncio::create_task(q.get());
    auto second = asyncio::create_task(q.get());
    co_await asyncio::sleep(0);  // both wait
    q.put_nowait(1);             // wakes `first` ...
    first.cancel();              // ... which is cancelled before it could take the item
    EXPECT_TRUE(co_await ended_cancelled(first));
    co_await settle();
    EXPECT_TRUE(second.done()) << "the wake-up was lost";
    if (second.done()) {
      EXPECT_EQ(second.result(), 1);
    }
  });
  EXPECT_TRUE(q.empty());
}

TEST(Queue, AGetterCancelledAfterItsWakeUpLeavesTheItemForTheNextGet) {
  Queue<int> q;
  run_virtual([&]() -> Coro<void> {
    auto reader = asyncio::create_task(q.get());
    co_await asyncio::sleep(0);
    q.put_nowait(1);
    q.put_nowait(2);
    reader.cancel();
    EXPECT_TRUE(co_await ended_cancelled(reader));
    auto again = asyncio::create_task(q.get());
    EXPECT_EQ(co_await again, 1);  // 2 would mean 1 was dropped
  });
  EXPECT_EQ(q.qsize(), 1u);
}

TEST(Queue, ManyGettersOneCancelledAfterItsWakeUpStillReceiveEveryItem) {
  Queue<int> q;
  run_virtual([&]() -> Coro<void> {
    auto r1 = asyncio::create_task(q.get());
    auto r2 = asyncio::create_task(q.get());
    auto r3 = asyncio::create_task(q.get());
    co_await asyncio::sleep(0);
    q.put_nowait(1);
    q.put_nowait(2);
    r1.cancel();
    EXPECT_TRUE(co_await ended_cancelled(r1));
    co_await settle();
    EXPECT_TRUE(r2.done() && r3.done()) << "a wake-up was lost";
    if (r2.done() && r3.done()) {
      EXPECT_EQ(r2.result() + r3.result(), 3);
      EXPECT_NE(r2.result(), r3.result());
    }
  });
}

TEST(Queue, APutterCancelledWhileWaitingDoesNotTakeTheSlot) {
  Queue<char> q(1);
  run_virtual([&]() -> Coro<void> {
    auto put_a = asyncio::create_task(q.put('a'));
    auto put_b = asyncio::create_task(q.put('b'));
    auto put_x = asyncio::create_task(q.put('X'));
    co_await asyncio::sleep(0);
    EXPECT_TRUE(put_a.done());
    EXPECT_FALSE(put_b.done());
    put_x.cancel();
    co_await asyncio::sleep(0);
    EXPECT_TRUE(put_x.cancelled());
    EXPECT_EQ(q.get_nowait(), 'a');
    co_await asyncio::sleep(0);
    EXPECT_EQ(q.get_nowait(), 'b');
    co_await put_b;
  });
  EXPECT_TRUE(q.empty());
}

TEST(Queue, APutterCancelledJustAfterASlotFreedPassesTheSlotToTheNextPutter) {
  Queue<int> q(1);
  run_virtual([&]() -> Coro<void> {
    q.put_nowait(0);
    auto first = asyncio::create_task(q.put(1));
    auto second = asyncio::create_task(q.put(2));
    co_await asyncio::sleep(0);    // both wait
    EXPECT_EQ(q.get_nowait(), 0);  // wakes `first` ...
    first.cancel();                // ... which is cancelled before it could put
    EXPECT_TRUE(co_await ended_cancelled(first));
    co_await settle();
    EXPECT_TRUE(second.done()) << "the free slot was lost";
    EXPECT_EQ(q.get_nowait(), 2);
  });
  EXPECT_TRUE(q.empty());
}

TEST(Queue, APutterCancelledAfterItsWakeUpDoesNotPutItsItem) {
  Queue<int> q(1);
  run_virtual([&]() -> Coro<void> {
    q.put_nowait(1);
    auto writer = asyncio::create_task(q.put(2));
    co_await asyncio::sleep(0);
    EXPECT_EQ(q.get_nowait(), 1);
    writer.cancel();
    EXPECT_TRUE(co_await ended_cancelled(writer));
    EXPECT_TRUE(q.empty());
    co_await q.put(3);
    EXPECT_EQ(q.get_nowait(), 3);
  });
  EXPECT_EQ(q.qsize(), 0u);
}

TEST(Queue, APutterCancelledAfterGetNowaitAlreadyRemovedItsWaiterRaisesCancelledError) {
  Queue<int> q(1);
  run_virtual([&]() -> Coro<void> {
    q.put_nowait(1);
    auto put_task = asyncio::create_task(q.put(1));
    co_await asyncio::sleep(0);
    q.get_nowait();  // pops put_task's waiter
    put_task.cancel();
    EXPECT_TRUE(co_await ended_cancelled(put_task));
    EXPECT_EQ(q.repr(), "<Queue maxsize=1 tasks=1>");
  });
}

// ---------------------------------------------------------------------------------------------
// what put() and get() return

TEST(QueueAwaitable, PutDoesNothingUntilAwaited) {
  Queue<int> q;
  run_virtual([&]() -> Coro<void> {
    auto put = q.put(1);
    EXPECT_TRUE(q.empty());
    co_await put;
    EXPECT_EQ(q.qsize(), 1u);
  });
}

TEST(QueueAwaitable, GetDoesNothingUntilAwaited) {
  Queue<int> q;
  q.put_nowait(1);
  run_virtual([&]() -> Coro<void> {
    auto get = q.get();
    EXPECT_EQ(q.qsize(), 1u);
    EXPECT_EQ(co_await get, 1);
  });
  EXPECT_TRUE(q.empty());
}

TEST(QueueAwaitable, AwaitingTheSameGetTwiceRaisesRuntimeError) {
  Queue<int> q;
  q.put_nowait(1);
  q.put_nowait(2);
  run_virtual([&]() -> Coro<void> {
    auto get = q.get();
    EXPECT_EQ(co_await get, 1);
    EXPECT_THROW(co_await get, asyncio::RuntimeError);
  });
  EXPECT_EQ(q.qsize(), 1u);
}

TEST(QueueAwaitable, PutAndGetConvertToCoros) {
  Queue<std::unique_ptr<int>> q;
  run_virtual([&]() -> Coro<void> {
    Coro<void> put = q.put(std::make_unique<int>(3));
    Coro<std::unique_ptr<int>> get = q.get();
    co_await put;
    EXPECT_EQ(*co_await get, 3);
  });
  EXPECT_TRUE(q.empty());
}

TEST(QueueAwaitable, CreateTaskTakesAPutOrAGetAsItsCoroutine) {
  Queue<int> q(1);
  run_virtual([&]() -> Coro<void> {
    Task<int> getter = asyncio::create_task(q.get());
    Task<void> putter = asyncio::create_task(q.put(9));
    EXPECT_EQ(co_await getter, 9);
    co_await putter;
  });
  EXPECT_TRUE(q.empty());
}

TEST(QueueAwaitable, PutOnAFullShutDownQueueRaisesQueueShutDownWithoutWaiting) {
  Queue<int> q(1);
  q.put_nowait(1);
  q.shutdown();
  run_virtual([&]() -> Coro<void> {
    EXPECT_THROW(co_await q.put(2), QueueShutDown);
    EXPECT_EQ(now(), 0.0);
  });
  EXPECT_EQ(q.qsize(), 1u);
}

// ---------------------------------------------------------------------------------------------
// move-only items

TEST(Queue, MoveOnlyItemsAreMovedInAndOut) {
  Queue<std::unique_ptr<int>> q(1);
  run_virtual([&]() -> Coro<void> {
    co_await q.put(std::make_unique<int>(1));
    auto putter = asyncio::create_task(q.put(std::make_unique<int>(2)));  // waits: the queue is full
    co_await asyncio::sleep(0);
    std::unique_ptr<int> a = co_await q.get();
    co_await putter;
    std::unique_ptr<int> b = q.get_nowait();
    EXPECT_EQ(*a, 1);
    EXPECT_EQ(*b, 2);
  });
  EXPECT_TRUE(q.empty());
}

// ---------------------------------------------------------------------------------------------
// task_done and join

template <class Q>
class QueueJoin : public ::testing::Test {};
template <class Q>
class QueueShutdown : public ::testing::Test {};

using QueueKinds = ::testing::Types<Queue<int>, LifoQueue<int>, PriorityQueue<int>>;
class QueueKindNames {
 public:
  template <class Q>
  static std::string GetName(int) {
    if (std::is_same_v<Q, Queue<int>>) return "Queue";
    if (std::is_same_v<Q, LifoQueue<int>>) return "LifoQueue";
    return "PriorityQueue";
  }
};
TYPED_TEST_SUITE(QueueJoin, QueueKinds, QueueKindNames);
TYPED_TEST_SUITE(QueueShutdown, QueueKinds, QueueKindNames);

TYPED_TEST(QueueJoin, TaskDoneWithNothingPutRaisesValueError) {
  TypeParam q;
  try {
    q.task_done();
    ADD_FAILURE() << "no ValueError";
  } catch (const asyncio::ValueError& e) {
    EXPECT_STREQ(e.what(), "task_done() called too many times");
  }
}

TYPED_TEST(QueueJoin, TaskDoneCalledMoreOftenThanItemsWerePutRaisesValueError) {
  TypeParam q;
  q.put_nowait(1);
  q.put_nowait(2);
  q.get_nowait();
  q.get_nowait();
  q.task_done();
  q.task_done();
  EXPECT_THROW(q.task_done(), asyncio::ValueError);
}

TYPED_TEST(QueueJoin, JoinWithNothingOutstandingReturnsAtOnce) {
  TypeParam q;
  run_virtual([&]() -> Coro<void> {
    co_await q.join();
    co_await q.join();
    EXPECT_EQ(now(), 0.0);
  });
  EXPECT_TRUE(q.empty());
}

TYPED_TEST(QueueJoin, JoinReturnsWhenEveryItemIsDone) {
  TypeParam q;
  int accumulator = 0;
  run_virtual([&]() -> Coro<void> {
    for (int i = 0; i < 100; ++i) q.put_nowait(i);
    bool running = true;
    std::vector<Task<void>> workers;
    for (int w = 0; w < 2; ++w) {
      workers.push_back(asyncio::create_task([&]() -> Coro<void> {
        while (running) {
          const int item = co_await q.get();
          co_await asyncio::sleep(0.001);
          accumulator += item;
          q.task_done();
        }
      }));
    }
    co_await q.join();
    EXPECT_EQ(accumulator, 4950);
    running = false;
    for (std::size_t i = 0; i < workers.size(); ++i) q.put_nowait(0);
    for (auto& w : workers) co_await w;
  });
  EXPECT_EQ(accumulator, 4950);
}

TYPED_TEST(QueueJoin, JoinWaitsWhileAnItemTakenIsNotYetDone) {
  TypeParam q;
  run_virtual([&]() -> Coro<void> {
    q.put_nowait(1);
    q.get_nowait();
    auto joiner = asyncio::create_task(q.join());
    co_await settle();
    EXPECT_FALSE(joiner.done());
    q.task_done();
    co_await settle();
    EXPECT_TRUE(joiner.done());
  });
  EXPECT_TRUE(q.empty());
}

TYPED_TEST(QueueJoin, EveryJoinerWakesWhenTheLastItemIsDone) {
  TypeParam q;
  run_virtual([&]() -> Coro<void> {
    q.put_nowait(1);
    std::vector<Task<void>> joiners;
    for (int i = 0; i < 3; ++i) joiners.push_back(asyncio::create_task(q.join()));
    asyncio::get_running_loop().call_later(5, [&q] {
      q.get_nowait();
      q.task_done();
    });
    for (auto& j : joiners) co_await j;
    EXPECT_EQ(now(), 5.0);
  });
  EXPECT_TRUE(q.empty());
}

TYPED_TEST(QueueJoin, ACancelledJoinLeavesTheOtherJoinersWaiting) {
  TypeParam q;
  run_virtual([&]() -> Coro<void> {
    q.put_nowait(1);
    auto cancelled = asyncio::create_task(q.join());
    auto kept = asyncio::create_task(q.join());
    co_await settle();
    cancelled.cancel();
    EXPECT_TRUE(co_await ended_cancelled(cancelled));
    co_await settle();
    EXPECT_FALSE(kept.done());
    q.get_nowait();
    q.task_done();
    co_await kept;
  });
  EXPECT_TRUE(q.empty());
}

// ---------------------------------------------------------------------------------------------
// shutdown

TYPED_TEST(QueueShutdown, PutAndPutNowaitAfterShutdownRaiseQueueShutDown) {
  TypeParam q;
  q.shutdown();
  EXPECT_THROW(q.put_nowait(1), QueueShutDown);
  EXPECT_THROW(run_virtual(q.put(1)), QueueShutDown);
  EXPECT_TRUE(q.empty());
}

TYPED_TEST(QueueShutdown, GetAndGetNowaitOnAnEmptyShutDownQueueRaiseQueueShutDown) {
  TypeParam q;
  q.shutdown();
  EXPECT_THROW(q.get_nowait(), QueueShutDown);
  EXPECT_THROW(run_virtual(q.get()), QueueShutDown);
}

TYPED_TEST(QueueShutdown, ShutdownWakesABlockedGetterOnAnEmptyQueueWithQueueShutDown) {
  TypeParam q;
  run_virtual([&]() -> Coro<void> {
    auto getter = asyncio::create_task(q.get());
    co_await asyncio::sleep(0);
    q.shutdown(false);
    EXPECT_EQ(q.qsize(), 0u);
    co_await q.join();
    co_await asyncio::sleep(0);
    EXPECT_TRUE(getter.done());
    EXPECT_TRUE(co_await ended_shut_down(getter));
  });
}

TYPED_TEST(QueueShutdown, ShutdownWakesABlockedPutterWithQueueShutDownAndKeepsTheItems) {
  TypeParam q(1);
  run_virtual([&]() -> Coro<void> {
    q.put_nowait(1);
    auto putter = asyncio::create_task(q.put(2));
    co_await asyncio::sleep(0);
    EXPECT_FALSE(putter.done());
    q.shutdown(false);
    EXPECT_EQ(q.qsize(), 1u);
    co_await asyncio::sleep(0);
    EXPECT_TRUE(putter.done());
    EXPECT_TRUE(co_await ended_shut_down(putter));
  });
  EXPECT_EQ(q.qsize(), 1u);
}

TYPED_TEST(QueueShutdown, ShutdownLetsGettersDrainTheRemainingItemsThenRaises) {
  TypeParam q;
  std::vector<int> got;
  run_virtual([&]() -> Coro<void> {
    q.put_nowait(1);
    q.put_nowait(2);
    q.shutdown(false);
    got.push_back(co_await q.get());
    got.push_back(q.get_nowait());
    try {
      co_await q.get();
      ADD_FAILURE() << "no QueueShutDown";
    } catch (const QueueShutDown&) {
    }
  });
  EXPECT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0] + got[1], 3);
}

TYPED_TEST(QueueShutdown, ShutdownDoesNotEndJoinWhileItemsAreOutstanding) {
  TypeParam q(1);
  run_virtual([&]() -> Coro<void> {
    q.put_nowait(1);
    auto joiner = asyncio::create_task(q.join());
    q.shutdown(false);
    EXPECT_EQ(co_await q.get(), 1);
    co_await settle();
    EXPECT_FALSE(joiner.done());
    q.task_done();
    co_await joiner;
    EXPECT_THROW(q.task_done(), asyncio::ValueError);
  });
}

TYPED_TEST(QueueShutdown, ShutdownImmediateDropsTheItemsAndEndsJoin) {
  TypeParam q;
  run_virtual([&]() -> Coro<void> {
    q.put_nowait(1);
    auto joiner = asyncio::create_task(q.join());
    q.shutdown(true);
    EXPECT_EQ(q.qsize(), 0u);
    co_await asyncio::sleep(0);
    EXPECT_TRUE(joiner.done());
    co_await joiner;
    EXPECT_THROW(co_await q.get(), QueueShutDown);
    EXPECT_THROW(q.task_done(), asyncio::ValueError);
  });
}

TYPED_TEST(QueueShutdown, ShutdownImmediateKeepsJoinWaitingForAnItemStillBeingProcessed) {
  TypeParam q;
  run_virtual([&]() -> Coro<void> {
    q.put_nowait(1);
    q.put_nowait(1);
    auto joiner = asyncio::create_task(q.join());
    EXPECT_EQ(co_await q.get(), 1);
    q.shutdown(true);  // unfinished: 2 -> 1
    EXPECT_EQ(q.qsize(), 0u);
    co_await settle();
    EXPECT_FALSE(joiner.done());
    q.task_done();
    EXPECT_THROW(q.task_done(), asyncio::ValueError);
    co_await asyncio::sleep(0);
    EXPECT_TRUE(joiner.done());
  });
}

TYPED_TEST(QueueShutdown, ShutdownImmediateWakesEveryBlockedGetterWithQueueShutDown) {
  TypeParam q;
  run_virtual([&]() -> Coro<void> {
    std::vector<Task<int>> getters;
    for (int i = 0; i < 5; ++i) getters.push_back(asyncio::create_task(q.get()));
    co_await asyncio::sleep(0);
    q.shutdown(true);
    for (auto& g : getters) EXPECT_TRUE(co_await ended_shut_down(g));
  });
  EXPECT_EQ(q.repr().find("_getters"), std::string::npos);
}

TYPED_TEST(QueueShutdown, ShutdownImmediateWakesEveryBlockedPutterWithQueueShutDown) {
  TypeParam q(2);
  run_virtual([&]() -> Coro<void> {
    q.put_nowait(0);
    q.put_nowait(0);
    std::vector<Task<void>> putters;
    for (int i = 1; i <= 5; ++i) putters.push_back(asyncio::create_task(q.put(i)));
    co_await asyncio::sleep(0);
    q.shutdown(true);
    for (auto& p : putters) EXPECT_TRUE(co_await ended_shut_down(p));
    EXPECT_TRUE(q.empty());
  });
  EXPECT_EQ(q.repr().find("_putters"), std::string::npos);
}

TYPED_TEST(QueueShutdown, AGetterWokenByShutdownOfANonEmptyQueueTakesAnItem) {
  // Getters wait only on an empty queue; one woken by a put but not yet run when shutdown(false)
  // comes still finds the item.
  TypeParam q;
  run_virtual([&]() -> Coro<void> {
    auto getter = asyncio::create_task(q.get());
    co_await asyncio::sleep(0);
    q.put_nowait(4);
    q.shutdown(false);
    EXPECT_EQ(co_await getter, 4);
  });
}

TYPED_TEST(QueueShutdown, ShutdownTwiceIsHarmless) {
  TypeParam q;
  q.put_nowait(1);
  q.shutdown();
  q.shutdown();
  EXPECT_EQ(q.get_nowait(), 1);
  q.shutdown(true);
  q.shutdown(true);
  EXPECT_THROW(q.get_nowait(), QueueShutDown);
}

TYPED_TEST(QueueShutdown, ReprSaysShutdown) {
  TypeParam q;
  q.shutdown();
  EXPECT_NE(q.repr().find("maxsize=0 shutdown>"), std::string::npos) << q.repr();
}

// ---------------------------------------------------------------------------------------------
// PriorityQueue and LifoQueue

TEST(PriorityQueue, TheSmallestItemComesOutFirst) {
  PriorityQueue<int> q;
  for (int i : {1, 3, 2}) q.put_nowait(i);
  std::vector<int> got;
  while (!q.empty()) got.push_back(q.get_nowait());
  EXPECT_EQ(got, (std::vector<int>{1, 2, 3}));
}

TEST(PriorityQueue, ACustomCompareGivesItsOrder) {
  PriorityQueue<int, std::greater<int>> q;
  for (int i : {1, 3, 2, 5, 4}) q.put_nowait(i);
  std::vector<int> got;
  while (!q.empty()) got.push_back(q.get_nowait());
  EXPECT_EQ(got, (std::vector<int>{5, 4, 3, 2, 1}));
}

TEST(PriorityQueue, ACompareWithStateIsUsed) {
  // Orders by distance from a point given at run time.
  auto by_distance = [origin = 10](int a, int b) { return std::abs(a - origin) < std::abs(b - origin); };
  PriorityQueue<int, decltype(by_distance)> q(0, by_distance);
  for (int i : {0, 25, 9, 14, 10}) q.put_nowait(i);
  std::vector<int> got;
  while (!q.empty()) got.push_back(q.get_nowait());
  EXPECT_EQ(got, (std::vector<int>{10, 9, 14, 0, 25}));
}

TEST(PriorityQueue, PriorityDataPairsComeOutByPriority) {
  PriorityQueue<std::pair<int, std::string>> q;
  q.put_nowait({2, "two"});
  q.put_nowait({0, "zero"});
  q.put_nowait({1, "one"});
  EXPECT_EQ(q.get_nowait().second, "zero");
  EXPECT_EQ(q.get_nowait().second, "one");
  EXPECT_EQ(q.get_nowait().second, "two");
}

struct Entry {
  int priority;
  int seq;
};
struct ByPriority {
  bool operator()(const Entry& a, const Entry& b) const { return a.priority < b.priority; }
};

TEST(PriorityQueue, ItemsThatCompareEqualComeOutInTheOrderPythonsHeapqGives) {
  // Expected: Python's heapq.heappush/heappop with __lt__ comparing the priority only.
  PriorityQueue<Entry, ByPriority> q;
  const std::vector<int> priorities = {3, 1, 3, 2, 1, 3, 1, 2, 3, 1, 2, 2};
  for (int i = 0; i < static_cast<int>(priorities.size()); ++i) q.put_nowait(Entry{priorities[i], i});
  std::vector<std::pair<int, int>> got;
  while (!q.empty()) {
    Entry e = q.get_nowait();
    got.emplace_back(e.priority, e.seq);
  }
  const std::vector<std::pair<int, int>> python = {{1, 1},  {1, 6}, {1, 4}, {1, 9}, {2, 11}, {2, 3},
                                                   {2, 10}, {2, 7}, {3, 2}, {3, 5}, {3, 0},  {3, 8}};
  EXPECT_EQ(got, python);
}

TEST(PriorityQueue, InterleavedPutsAndGetsFollowPythonsHeapqOrder) {
  PriorityQueue<Entry, ByPriority> q;
  const std::vector<int> priorities = {3, 1, 3, 2, 1, 3, 1, 2, 3, 1, 2, 2};
  std::vector<std::pair<int, int>> got;
  for (int i = 0; i < static_cast<int>(priorities.size()); ++i) {
    q.put_nowait(Entry{priorities[i], i});
    if (i % 3 == 2) {
      Entry e = q.get_nowait();
      got.emplace_back(e.priority, e.seq);
    }
  }
  while (!q.empty()) {
    Entry e = q.get_nowait();
    got.emplace_back(e.priority, e.seq);
  }
  const std::vector<std::pair<int, int>> python = {{1, 1}, {1, 4},  {1, 6}, {1, 9}, {2, 7}, {2, 11},
                                                   {2, 3}, {2, 10}, {3, 0}, {3, 8}, {3, 2}, {3, 5}};
  EXPECT_EQ(got, python);
}

TEST(PriorityQueue, ManyRandomItemsComeOutSorted) {
  PriorityQueue<unsigned> q;
  unsigned x = 12345;
  std::vector<unsigned> put;
  for (int i = 0; i < 5000; ++i) {
    x = x * 1103515245u + 12345u;
    put.push_back(x >> 8);
    q.put_nowait(x >> 8);
  }
  std::sort(put.begin(), put.end());
  std::vector<unsigned> got;
  while (!q.empty()) got.push_back(q.get_nowait());
  EXPECT_EQ(got, put);
}

TEST(PriorityQueue, MoveOnlyItemsAreMovedInAndOut) {
  auto by_value = [](const std::unique_ptr<int>& a, const std::unique_ptr<int>& b) { return *a < *b; };
  PriorityQueue<std::unique_ptr<int>, decltype(by_value)> q(0, by_value);
  run_virtual([&]() -> Coro<void> {
    for (int i : {4, 1, 3, 2}) co_await q.put(std::make_unique<int>(i));
    for (int i = 1; i <= 4; ++i) EXPECT_EQ(*(co_await q.get()), i);
  });
  EXPECT_TRUE(q.empty());
}

TEST(PriorityQueue, ReprNamesThePriorityQueueAndShowsTheHeap) {
  PriorityQueue<int> q(3);
  for (int i : {3, 1, 2}) q.put_nowait(i);
  EXPECT_EQ(q.repr(), "<PriorityQueue maxsize=3 _queue=[1, 3, 2] tasks=3>");
}

TEST(LifoQueue, TheLastItemPutComesOutFirst) {
  LifoQueue<int> q;
  for (int i : {1, 3, 2}) q.put_nowait(i);
  std::vector<int> got;
  while (!q.empty()) got.push_back(q.get_nowait());
  EXPECT_EQ(got, (std::vector<int>{2, 3, 1}));
}

TEST(LifoQueue, ABlockedPutGoesOnTopOnceThereIsRoom) {
  LifoQueue<int> q(2);
  std::vector<int> got;
  run_virtual([&]() -> Coro<void> {
    q.put_nowait(1);
    q.put_nowait(2);
    auto putter = asyncio::create_task(q.put(3));
    co_await asyncio::sleep(0);
    got.push_back(co_await q.get());  // 2
    co_await putter;
    got.push_back(co_await q.get());  // 3
    got.push_back(co_await q.get());  // 1
  });
  EXPECT_EQ(got, (std::vector<int>{2, 3, 1}));
}

TEST(LifoQueue, MoveOnlyItemsAreMovedInAndOut) {
  LifoQueue<std::unique_ptr<std::string>> q;
  q.put_nowait(std::make_unique<std::string>("a"));
  q.put_nowait(std::make_unique<std::string>("b"));
  EXPECT_EQ(*q.get_nowait(), "b");
  EXPECT_EQ(*q.get_nowait(), "a");
}

// ---------------------------------------------------------------------------------------------
// loops

TEST(QueueLoop, AQueueThatWaitedOnOneLoopRaisesRuntimeErrorWhenItMustWaitOnAnother) {
  Queue<int> q;
  EventLoop first(virtual_clock());
  EventLoop second(virtual_clock());
  first.run_until_complete([&]() -> Coro<void> {
    auto getter = asyncio::create_task(q.get());  // waits: binds q to `first`
    co_await asyncio::sleep(0);
    q.put_nowait(1);
    EXPECT_EQ(co_await getter, 1);
  });
  try {
    second.run_until_complete(q.get());
    ADD_FAILURE() << "no RuntimeError";
  } catch (const asyncio::RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("is bound to a different event loop"), std::string::npos) << e.what();
  }
}

TEST(QueueLoop, AQueueBoundToALoopThatIsGoneRaisesRuntimeErrorOnANewLoop) {
  Queue<int> q;
  run_virtual([&]() -> Coro<void> {
    auto getter = asyncio::create_task(q.get());
    co_await asyncio::sleep(0);
    q.put_nowait(1);
    co_await getter;
  });
  EXPECT_THROW(run_virtual(q.join()), asyncio::RuntimeError);  // one item is not done: join waits
}

TEST(QueueLoop, OperationsThatDoNotWaitWorkFromAnyLoop) {
  Queue<int> q(1);
  run_virtual([&]() -> Coro<void> {
    auto getter = asyncio::create_task(q.get());
    co_await asyncio::sleep(0);
    q.put_nowait(1);
    co_await getter;
  });
  run_virtual([&]() -> Coro<void> {
    co_await q.put(2);  // no wait: q is bound, but not consulted (as in asyncio)
    EXPECT_EQ(co_await q.get(), 2);
  });
  EXPECT_TRUE(q.empty());
}

}  // namespace
