// Stress tests of Lock and Semaphore: 10,000 tasks queue at once, more arrive later, holders hold
// for random times, and random waiters and holders are cancelled, often in the same loop iteration
// as a release. Fixed seeds; on the virtual clock. Checked: the permits are conserved (the counter
// at the end, and never more than `value` holders at once), FIFO order among the waiters that were
// not cancelled, and (in the ASan build) no leak.

#include <gtest/gtest.h>
#include <asyncio/sync/lock.hpp>
#include <asyncio/sync/semaphore.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <type_traits>
#include <utility>
#include <vector>

#include "support/test_support.hpp"

namespace {

using asyncio::CancelledError;
using asyncio::Coro;
using asyncio::create_task;
using asyncio::Held;
using asyncio::Lock;
using asyncio::Semaphore;
using asyncio::sleep;
using asyncio::Task;

using asyncio::testing::run_virtual_watched;

constexpr int kInitialWaiters = 10'000;
constexpr int kLateArrivals = 1'000;
constexpr int kTotal = kInitialWaiters + kLateArrivals;
constexpr double kTick = 0.5;  // the driver's period; holders hold for 0 (one iteration), 0.5 or 1

enum class Phase : std::uint8_t { created, waiting, holding, done };

struct Record {
  std::vector<int> arrivals;            // ids in the order they called acquire
  std::vector<int> acquired;            // ids in the order acquire returned
  std::vector<bool> cancelled_waiting;  // acquire raised CancelledError
  std::vector<Phase> phase;
  int holders = 0;
  int max_holders = 0;
  int finished = 0;
  int cancels = 0;
  int holder_cancels = 0;
  std::size_t max_waiters = 0;
  bool invariant_broken = false;

  Record() : cancelled_waiting(kTotal, false), phase(kTotal, Phase::created) {}
};

// The body of one task: acquire through hold(), hold for `hold` seconds (0: one iteration), release
// through the guard (also when cancelled while holding).
template <class P>
Task<void> spawn(P& prim, Record& r, int id, double hold) {
  return create_task([&prim, &r, id, hold]() -> Coro<void> {
    struct Finish {
      Record& r;
      int id;
      ~Finish() {
        r.phase[static_cast<std::size_t>(id)] = Phase::done;
        ++r.finished;
      }
    } finish{r, id};
    r.phase[static_cast<std::size_t>(id)] = Phase::waiting;
    r.arrivals.push_back(id);
    Held<P> held;
    try {
      held = co_await prim.hold();
    } catch (const CancelledError&) {
      r.cancelled_waiting[static_cast<std::size_t>(id)] = true;
      throw;
    }
    r.phase[static_cast<std::size_t>(id)] = Phase::holding;
    r.acquired.push_back(id);
    r.max_holders = std::max(r.max_holders, ++r.holders);
    struct Leave {
      Record& r;
      ~Leave() { --r.holders; }  // runs before `held` releases
    } leave{r};
    co_await sleep(hold);
  });
}

// Runs the scenario on `prim` (a Lock or a Semaphore); `check` is called at every tick to verify
// the primitive's invariant against the number of holders.
template <class P, class Check>
void run_stress(P& prim, std::uint32_t seed, Record& r, Check check) {
  run_virtual_watched([&]() -> Coro<void> {
    std::mt19937 rng(seed);
    auto pick_hold = [&rng]() {
      const auto x = rng() % 4;
      return x < 2 ? 0.0 : (x == 2 ? kTick : 2 * kTick);
    };
    std::vector<Task<void>> tasks;
    tasks.reserve(kTotal);
    for (int id = 0; id < kInitialWaiters; ++id) tasks.push_back(spawn(prim, r, id, pick_hold()));
    int next_id = kInitialWaiters;
    int lowest_live = 0;  // every id below is done

    while (r.finished < kTotal) {
      co_await sleep(kTick);
      r.max_waiters = std::max(r.max_waiters, prim.waiter_count());
      if (!check(prim, r.holders)) r.invariant_broken = true;

      // Late arrivals, in small bursts.
      for (int n = static_cast<int>(rng() % 4); n > 0 && next_id < kTotal; --n, ++next_id) {
        tasks.push_back(spawn(prim, r, next_id, pick_hold()));
      }

      // Cancels, in the same iteration as the holders whose time is up release.
      while (lowest_live < next_id && r.phase[static_cast<std::size_t>(lowest_live)] == Phase::done) ++lowest_live;
      const int span = next_id - lowest_live;
      if (span == 0) continue;
      for (int n = static_cast<int>(rng() % 5) - 2; n > 0; --n) {
        int target = -1;
        if (rng() % 3 == 0) {
          // The first waiter: the one a release is about to choose, or has just chosen.
          for (int id = lowest_live; id < next_id; ++id) {
            if (r.phase[static_cast<std::size_t>(id)] == Phase::waiting) {
              target = id;
              break;
            }
          }
        } else {
          // Anyone alive near the head of the queue (waiting or holding).
          target = lowest_live + static_cast<int>(rng() % static_cast<unsigned>(std::min(span, 64)));
        }
        if (target < 0) continue;
        const Phase p = r.phase[static_cast<std::size_t>(target)];
        if (p == Phase::done || p == Phase::created) continue;
        if (tasks[static_cast<std::size_t>(target)].cancel()) {
          ++r.cancels;
          if (p == Phase::holding) ++r.holder_cancels;
        }
      }
    }
    for (auto& t : tasks) EXPECT_TRUE(t.done());
  });
}

// The FIFO check: the order of acquisitions is the order of arrivals, minus the waiters that were
// cancelled before they acquired.
void expect_fifo(const Record& r) {
  std::vector<int> expected;
  for (int id : r.arrivals) {
    if (!r.cancelled_waiting[static_cast<std::size_t>(id)]) expected.push_back(id);
  }
  ASSERT_EQ(r.acquired.size(), expected.size());
  const auto mismatch = std::mismatch(r.acquired.begin(), r.acquired.end(), expected.begin());
  EXPECT_TRUE(mismatch.first == r.acquired.end())
      << "first out of order at position " << (mismatch.first - r.acquired.begin()) << ": acquired " << *mismatch.first
      << ", expected " << *mismatch.second;
}

void expect_a_real_workout(const Record& r) {
  EXPECT_EQ(r.arrivals.size(), static_cast<std::size_t>(kTotal));
  EXPECT_GE(r.max_waiters, static_cast<std::size_t>(kInitialWaiters - 10));
  EXPECT_GT(r.cancels, 500);
  EXPECT_GT(r.holder_cancels, 10);
  const auto cancelled = std::count(r.cancelled_waiting.begin(), r.cancelled_waiting.end(), true);
  EXPECT_GT(cancelled, 300);
  EXPECT_GT(r.acquired.size(), static_cast<std::size_t>(kTotal / 2));
}

TEST(SyncStress, TenThousandWaitersOnALockWithRandomCancelsKeepItExclusiveAndFifo) {
  for (std::uint32_t seed : {1u, 20240613u}) {
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    Lock lock;
    Record r;
    run_stress(lock, seed, r, [](const Lock& l, int holders) { return l.locked() == (holders == 1); });
    EXPECT_FALSE(r.invariant_broken);
    EXPECT_EQ(r.max_holders, 1);
    EXPECT_EQ(r.finished, kTotal);
    EXPECT_FALSE(lock.locked());
    EXPECT_EQ(lock.waiter_count(), 0u);
    expect_fifo(r);
    expect_a_real_workout(r);
  }
}

TEST(SyncStress, TenThousandWaitersOnASemaphoreWithRandomCancelsConservePermitsAndFifo) {
  constexpr std::int64_t kValue = 3;
  for (std::uint32_t seed : {7u, 424242u}) {
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    Semaphore sem(kValue);
    Record r;
    // Free permits plus holders never exceed the value (the rest are promised to woken waiters).
    run_stress(sem, seed, r,
               [](const Semaphore& s, int holders) { return s.value() >= 0 && s.value() + holders <= kValue; });
    EXPECT_FALSE(r.invariant_broken);
    EXPECT_LE(r.max_holders, kValue);
    EXPECT_EQ(r.max_holders, kValue);  // and the permits were used
    EXPECT_EQ(r.finished, kTotal);
    EXPECT_EQ(sem.value(), kValue);
    EXPECT_FALSE(sem.locked());
    EXPECT_EQ(sem.waiter_count(), 0u);
    expect_fifo(r);
    expect_a_real_workout(r);
  }
}

}  // namespace
