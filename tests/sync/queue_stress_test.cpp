// Stress tests of the queues: thousands of producers and consumers cancelled at random (fixed
// seeds), on the virtual clock. What they check is what CPython's wake-up loops promise: a cancelled
// getter never loses an item, a cancelled putter never loses a slot for the others, and the waiters
// that are not cancelled are served first come, first served. The items are move-only in the
// shutdown test, so that LeakSanitizer (the ASan build) sees any item the queue loses.

#include <gtest/gtest.h>

#include <asyncio/sync/queue.hpp>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "support/test_support.hpp"

namespace {

using asyncio::CancelledError;
using asyncio::Coro;
using asyncio::LifoQueue;
using asyncio::PriorityQueue;
using asyncio::Queue;
using asyncio::QueueShutDown;
using asyncio::Task;
using asyncio::testing::run_virtual;

/// How a task of the stress tests ended.
enum class End { pending, done, cancelled, shut_down, other };

template <class T>
Coro<End> outcome(Task<T> task) {
  try {
    co_await task;
  } catch (const CancelledError&) {
    co_return End::cancelled;
  } catch (const QueueShutDown&) {
    co_return End::shut_down;
  } catch (...) {
    co_return End::other;
  }
  co_return End::done;
}

TEST(QueueStress, TenThousandProducersAndConsumersCancelledAtRandomLoseOrDuplicateNoItemAndServeGettersInOrder) {
  constexpr int kRounds = 200;
  constexpr int kPerRound = 50;  // consumers and producers each, per round: 10,000 of each in all
  constexpr int kTotal = kRounds * kPerRound;

  Queue<int> q(8);
  std::mt19937 rng(20240613);
  std::vector<int> put_order;       // items in the order put() accepted them
  std::vector<int> got_order;       // items in the order get() returned them
  std::vector<int> served_tickets;  // consumers, by the order they started waiting, as served
  std::vector<char> consumer_got(kTotal, 0);
  std::vector<char> producer_put(kTotal, 0);
  std::vector<Task<void>> consumers;
  std::vector<Task<void>> producers;

  run_virtual([&]() -> Coro<void> {
    for (int round = 0; round < kRounds; ++round) {
      // Consumers first: each takes a leftover item or waits, in creation order (its ticket).
      for (int k = 0; k < kPerRound; ++k) {
        const int id = static_cast<int>(consumers.size());
        consumers.push_back(asyncio::create_task([&, id]() -> Coro<void> {
          const int item = co_await q.get();
          got_order.push_back(item);
          served_tickets.push_back(id);
          consumer_got[id] = 1;
          q.task_done();
        }));
      }
      co_await asyncio::sleep(0);
      // Then producers, each after 0 to 3 loop iterations, into a queue of 8: many wait.
      for (int k = 0; k < kPerRound; ++k) {
        const int item = static_cast<int>(producers.size());
        const int delay = static_cast<int>(rng() % 4);
        producers.push_back(asyncio::create_task([&, item, delay]() -> Coro<void> {
          for (int i = 0; i < delay; ++i) co_await asyncio::sleep(0);
          co_await q.put(item);
          put_order.push_back(item);
          producer_put[item] = 1;
        }));
      }
      // Cancels land on tasks in every state: not started, waiting, woken but not yet run, done.
      for (int step = 0; step < 6; ++step) {
        const int cancels = static_cast<int>(rng() % 6);
        for (int c = 0; c < cancels; ++c) {
          auto& tasks = (rng() % 2 == 0) ? consumers : producers;
          const std::size_t window = std::min<std::size_t>(tasks.size(), 2 * kPerRound);
          tasks[tasks.size() - 1 - rng() % window].cancel();
        }
        co_await asyncio::sleep(0);
      }
      co_await asyncio::sleep(1);  // every task is parked or done
    }
    for (auto& t : consumers) t.cancel();
    for (auto& t : producers) t.cancel();
    for (auto& t : consumers) EXPECT_NE(co_await outcome(t), End::other);
    for (auto& t : producers) EXPECT_NE(co_await outcome(t), End::other);
    while (!q.empty()) {
      got_order.push_back(q.get_nowait());
      q.task_done();
    }
    co_await q.join();  // every item was marked done: returns at once
  });

  // Every item accepted was got exactly once (or drained at the end), in the order it was put.
  EXPECT_EQ(got_order, put_order);
  // Getters not cancelled were served in the order they started waiting.
  EXPECT_TRUE(std::is_sorted(served_tickets.begin(), served_tickets.end()));
  EXPECT_EQ(std::adjacent_find(served_tickets.begin(), served_tickets.end()), served_tickets.end());
  // A task either did its operation or was cancelled, never both, never neither.
  int consumers_cancelled = 0;
  int producers_cancelled = 0;
  for (int i = 0; i < kTotal; ++i) {
    EXPECT_NE(consumer_got[i] != 0, consumers[i].cancelled()) << "consumer " << i;
    EXPECT_NE(producer_put[i] != 0, producers[i].cancelled()) << "producer " << i;
    consumers_cancelled += consumers[i].cancelled() ? 1 : 0;
    producers_cancelled += producers[i].cancelled() ? 1 : 0;
  }
  // The random cancels did hit (besides the final sweep).
  EXPECT_GT(consumers_cancelled, 300);
  EXPECT_GT(producers_cancelled, 300);
  EXPECT_GT(got_order.size(), static_cast<std::size_t>(kTotal / 2));
}

/// A move-only item: LeakSanitizer reports any the queue loses.
struct Item {
  std::unique_ptr<int> id;
  friend bool operator<(const Item& a, const Item& b) { return *a.id < *b.id; }
};

/// Producers and consumers of move-only items with random cancels, then shutdown(immediate) while
/// some still wait: every item put is got or dropped, exactly once, and every waiter is released.
template <class Q>
void stress_with_shutdown(unsigned seed) {
  constexpr int kRounds = 40;
  constexpr int kPerRound = 25;

  Q q(4);
  std::mt19937 rng(seed);
  std::vector<int> put_ids;
  std::multiset<int> got_ids;
  std::size_t dropped = 0;
  std::vector<Task<void>> tasks;
  std::vector<End> ends;

  run_virtual([&]() -> Coro<void> {
    for (int round = 0; round < kRounds; ++round) {
      for (int k = 0; k < kPerRound; ++k) {
        const int consumer_delay = static_cast<int>(rng() % 3);
        tasks.push_back(asyncio::create_task([&, consumer_delay]() -> Coro<void> {
          for (int i = 0; i < consumer_delay; ++i) co_await asyncio::sleep(0);
          Item item = co_await q.get();
          got_ids.insert(*item.id);
          q.task_done();
        }));
        const int id = round * kPerRound + k;
        const int producer_delay = static_cast<int>(rng() % 3);
        tasks.push_back(asyncio::create_task([&, id, producer_delay]() -> Coro<void> {
          for (int i = 0; i < producer_delay; ++i) co_await asyncio::sleep(0);
          // Built outside the co_await: g++ 12 destroys an aggregate temporary of a co_await
          // expression twice.
          Item item{std::make_unique<int>(id)};
          co_await q.put(std::move(item));
          put_ids.push_back(id);
        }));
      }
      for (int step = 0; step < 4; ++step) {
        const int cancels = static_cast<int>(rng() % 4);
        for (int c = 0; c < cancels; ++c)
          tasks[tasks.size() - 1 - rng() % std::min<std::size_t>(tasks.size(), 100)].cancel();
        co_await asyncio::sleep(0);
      }
      // Every other round ends without settling, so the shutdown can find tasks in any state.
      if (round % 2 == 0) co_await asyncio::sleep(1);
    }
    // More producers than the queue holds, so that some wait when the shutdown comes.
    for (int k = 0; k < 10; ++k) {
      const int id = kRounds * kPerRound + k;
      tasks.push_back(asyncio::create_task([&, id]() -> Coro<void> {
        Item item{std::make_unique<int>(id)};
        co_await q.put(std::move(item));
        put_ids.push_back(id);
      }));
    }
    co_await asyncio::sleep(0);
    dropped = q.qsize();
    q.shutdown(true);
    for (auto& t : tasks) ends.push_back(co_await outcome(t));
    co_await q.join();  // the dropped items count as done
  });

  ASSERT_EQ(ends.size(), tasks.size());
  int shut_down = 0;
  for (End e : ends) {
    EXPECT_TRUE(e == End::done || e == End::cancelled || e == End::shut_down);
    shut_down += e == End::shut_down ? 1 : 0;
  }
  EXPECT_GT(shut_down, 0);
  EXPECT_EQ(std::set<int>(got_ids.begin(), got_ids.end()).size(), got_ids.size()) << "an item was got twice";
  for (int id : got_ids) EXPECT_NE(std::find(put_ids.begin(), put_ids.end(), id), put_ids.end());
  EXPECT_EQ(put_ids.size(), got_ids.size() + dropped);
  EXPECT_TRUE(q.empty());
}

TEST(QueueStress, FifoQueueWithRandomCancelsAndAnImmediateShutdownAccountsForEveryItem) {
  stress_with_shutdown<Queue<Item>>(1);
}

TEST(QueueStress, LifoQueueWithRandomCancelsAndAnImmediateShutdownAccountsForEveryItem) {
  stress_with_shutdown<LifoQueue<Item>>(2);
}

TEST(QueueStress, PriorityQueueWithRandomCancelsAndAnImmediateShutdownAccountsForEveryItem) {
  stress_with_shutdown<PriorityQueue<Item>>(3);
}

}  // namespace
