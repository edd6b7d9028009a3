// asyncio::Barrier (CPython 3.13 Lib/asyncio/locks.py Barrier and test_locks.py BarrierTests are
// the reference), on the virtual clock.

#include <gtest/gtest.h>
#include <asyncio/sync/barrier.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "support/test_support.hpp"

namespace {

using asyncio::Barrier;
using asyncio::BarrierState;
using asyncio::BrokenBarrierError;
using asyncio::CancelledError;
using asyncio::Coro;
using asyncio::create_task;
using asyncio::RuntimeError;
using asyncio::sleep;
using asyncio::Task;
using asyncio::ValueError;

using asyncio::testing::run_virtual_watched;

constexpr int kN = 5;  // CPython's self.N

// Starts `n` tasks running `body` (CPython's make_tasks).
template <class T>
std::vector<Task<T>> make_tasks(int n, std::function<Coro<T>()> body) {
  std::vector<Task<T>> tasks;
  for (int i = 0; i < n; ++i) tasks.push_back(create_task(body));
  return tasks;
}

// Awaits every task in order and collects the results (CPython's gather, without return_exceptions).
template <class T>
Coro<std::vector<T>> gather(std::vector<Task<T>> tasks) {
  std::vector<T> results;
  for (auto& t : tasks) results.push_back(co_await t);
  co_return results;
}
Coro<void> gather(std::vector<Task<void>> tasks) {
  for (auto& t : tasks) co_await t;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(Barrier, FewerThanOnePartyRaisesValueError) {
  // CPython's test_barrier_parties.
  EXPECT_THROW(Barrier(0), ValueError);
  EXPECT_THROW(Barrier(-4), ValueError);
  Barrier b(kN);
  EXPECT_EQ(b.parties(), kN);
}

TEST(Barrier, BrokenBarrierErrorIsARuntimeError) {
  static_assert(std::is_base_of_v<RuntimeError, BrokenBarrierError>);
  try {
    throw BrokenBarrierError("x");
  } catch (const RuntimeError& e) {
    EXPECT_STREQ(e.what(), "x");
  }
}

TEST(Barrier, ANewBarrierIsFillingAndEmpty) {
  Barrier b(kN);
  EXPECT_EQ(b.state(), BarrierState::filling);
  EXPECT_EQ(b.n_waiting(), 0);
  EXPECT_FALSE(b.broken());
  EXPECT_TRUE(contains(b.repr(), "[filling, waiters:0/5]>")) << b.repr();
}

TEST(Barrier, WaitReturnsTheArrivalIndexOnceAllPartiesArrived) {
  const std::vector<std::int64_t> indices = run_virtual_watched([]() -> Coro<std::vector<std::int64_t>> {
    Barrier barrier(kN);
    std::vector<Task<std::int64_t>> tasks;
    for (int i = 0; i < kN; ++i) {
      tasks.push_back(create_task([&barrier, i]() -> Coro<std::int64_t> {
        co_await sleep(i);  // arrive in order 0, 1, 2, ...
        co_return co_await barrier.wait();
      }));
    }
    co_await sleep(kN - 1.5);
    EXPECT_EQ(barrier.n_waiting(), kN - 1);
    EXPECT_FALSE(tasks[0].done());
    auto indices = co_await gather(std::move(tasks));
    EXPECT_EQ(asyncio::get_running_loop().time(), kN - 1.0);  // everyone left when the last arrived
    EXPECT_EQ(barrier.n_waiting(), 0);
    EXPECT_FALSE(barrier.broken());
    co_return indices;
  });
  EXPECT_EQ(indices, (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
}

TEST(Barrier, AOnePartyBarrierLetsEachTaskThroughAlone) {
  // CPython's test_filling_one_task and test_filling_one_task_twice.
  run_virtual_watched([]() -> Coro<void> {
    Barrier barrier(1);
    EXPECT_EQ(co_await barrier.wait(), 0);
    auto t1 = create_task([&barrier]() -> Coro<std::int64_t> { co_return co_await barrier.wait(); });
    co_await sleep(0);
    auto t2 = create_task([&barrier]() -> Coro<std::int64_t> { co_return co_await barrier.wait(); });
    co_await sleep(0);
    EXPECT_EQ(co_await t1, 0);
    EXPECT_EQ(co_await t2, 0);
    EXPECT_EQ(barrier.n_waiting(), 0);
    EXPECT_FALSE(barrier.broken());
  });
}

TEST(Barrier, NWaitingCountsTheTasksThatArrived) {
  // CPython's test_filling_task_by_task.
  run_virtual_watched([]() -> Coro<void> {
    Barrier barrier(3);
    auto t1 = create_task([&barrier]() -> Coro<std::int64_t> { co_return co_await barrier.wait(); });
    co_await sleep(0);
    EXPECT_EQ(barrier.n_waiting(), 1);
    EXPECT_TRUE(contains(barrier.repr(), "filling")) << barrier.repr();
    auto t2 = create_task([&barrier]() -> Coro<std::int64_t> { co_return co_await barrier.wait(); });
    co_await sleep(0);
    EXPECT_EQ(barrier.n_waiting(), 2);
    auto t3 = create_task([&barrier]() -> Coro<std::int64_t> { co_return co_await barrier.wait(); });
    co_await sleep(0);
    EXPECT_EQ(barrier.n_waiting(), 0);  // draining
    co_await t1;
    co_await t2;
    co_await t3;
    EXPECT_EQ(barrier.n_waiting(), 0);
    EXPECT_EQ(barrier.state(), BarrierState::filling);
  });
}

TEST(Barrier, ABarrierIsReusableRoundAfterRound) {
  // CPython's test_filling_tasks_wait_twice and test_filling_tasks_check_return_value.
  run_virtual_watched([]() -> Coro<void> {
    Barrier barrier(kN);
    int first = 0;
    int second = 0;
    auto indices = co_await gather(make_tasks<std::int64_t>(kN, [&]() -> Coro<std::int64_t> {
      co_await barrier.wait();
      ++first;
      const std::int64_t i = co_await barrier.wait();
      ++second;
      co_return i;
    }));
    EXPECT_EQ(first, kN);
    EXPECT_EQ(second, kN);
    std::sort(indices.begin(), indices.end());
    EXPECT_EQ(indices, (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
    EXPECT_EQ(barrier.n_waiting(), 0);
    EXPECT_FALSE(barrier.broken());
  });
}

TEST(Barrier, TheBarrierDrainsUntilTheLastReleasedTaskHasLeft) {
  // CPython's test_draining_state.
  run_virtual_watched([]() -> Coro<void> {
    Barrier barrier(kN);
    std::vector<bool> draining;
    co_await gather(make_tasks<void>(kN, [&]() -> Coro<void> {
      co_await barrier.wait();
      draining.push_back(barrier.state() == BarrierState::draining);
    }));
    std::vector<bool> expected(kN, true);
    expected.back() = false;  // the last one out ended the draining
    EXPECT_EQ(draining, expected);
  });
}

TEST(Barrier, TasksArrivingWhileItDrainsWaitForTheNextRound) {
  // CPython's test_blocking_tasks_while_draining.
  run_virtual_watched([]() -> Coro<void> {
    constexpr int rewait = 2;
    Barrier barrier(kN);
    Barrier barrier_nowaiting(kN - rewait);
    int rewait_n = rewait;
    co_await gather(make_tasks<void>(kN, [&]() -> Coro<void> {
      co_await barrier.wait();
      if (rewait_n > 0) {
        --rewait_n;
        co_await barrier.wait();  // blocked while the first round drains
      } else {
        co_await barrier_nowaiting.wait();
        co_await barrier.wait();
      }
    }));
    EXPECT_EQ(barrier.n_waiting(), 0);
    EXPECT_EQ(barrier_nowaiting.n_waiting(), 0);
  });
}

TEST(Barrier, AWaiterCancelledWhileFillingNoLongerCounts) {
  // CPython's test_filling_tasks_cancel_one.
  run_virtual_watched([]() -> Coro<void> {
    Barrier barrier(3);
    int passed = 0;
    auto body = [&]() -> Coro<void> {
      co_await barrier.wait();
      ++passed;
    };
    auto t1 = create_task(body);
    co_await sleep(0);
    EXPECT_EQ(barrier.n_waiting(), 1);
    auto t2 = create_task(body);
    co_await sleep(0);
    EXPECT_EQ(barrier.n_waiting(), 2);

    t1.cancel();
    co_await sleep(0);
    EXPECT_EQ(barrier.n_waiting(), 1);
    EXPECT_THROW(co_await t1, CancelledError);
    EXPECT_TRUE(t1.cancelled());

    auto t3 = create_task(body);
    co_await sleep(0);
    EXPECT_EQ(barrier.n_waiting(), 2);
    auto t4 = create_task(body);
    co_await t2;
    co_await t3;
    co_await t4;
    EXPECT_EQ(passed, 3);
    EXPECT_EQ(barrier.n_waiting(), 0);
    EXPECT_FALSE(barrier.broken());
  });
}

TEST(Barrier, ResetOfAnEmptyBarrierKeepsItFilling) {
  // CPython's test_reset_barrier.
  run_virtual_watched([]() -> Coro<void> {
    Barrier barrier(1);
    create_task([&barrier]() -> Coro<void> { co_await barrier.reset(); });
    co_await sleep(0);
    EXPECT_EQ(barrier.n_waiting(), 0);
    EXPECT_FALSE(barrier.broken());
    EXPECT_EQ(barrier.state(), BarrierState::filling);
  });
}

TEST(Barrier, ResetBreaksTheWaitingTasksWithBrokenBarrierError) {
  // CPython's test_reset_barrier_while_tasks_waiting.
  run_virtual_watched([]() -> Coro<void> {
    Barrier barrier(kN);
    int broken = 0;
    auto tasks = make_tasks<void>(kN - 1, [&]() -> Coro<void> {
      try {
        co_await barrier.wait();
      } catch (const BrokenBarrierError& e) {
        EXPECT_STREQ(e.what(), "Abort or reset of barrier");
        ++broken;
      }
    });
    co_await sleep(0);
    create_task([&barrier]() -> Coro<void> { co_await barrier.reset(); });
    co_await gather(std::move(tasks));
    EXPECT_EQ(broken, kN - 1);
    EXPECT_EQ(barrier.n_waiting(), 0);
    EXPECT_EQ(barrier.state(), BarrierState::filling);  // the last one out ended the resetting
    EXPECT_FALSE(barrier.broken());
  });
}

TEST(Barrier, TasksBrokenByAResetCanWaitAgainAndPass) {
  // CPython's test_reset_barrier_while_tasks_waiting_and_waiting_again.
  run_virtual_watched([]() -> Coro<void> {
    Barrier barrier(kN);
    int broken = 0;
    int passed = 0;
    auto tasks = make_tasks<void>(kN - 1, [&]() -> Coro<void> {
      try {
        co_await barrier.wait();
      } catch (const BrokenBarrierError&) {
        ++broken;
      }
      co_await barrier.wait();
      ++passed;
    });
    create_task([&barrier]() -> Coro<void> { co_await barrier.reset(); });
    co_await sleep(0);
    tasks.push_back(create_task([&]() -> Coro<void> {
      co_await barrier.wait();
      ++passed;
    }));
    co_await gather(std::move(tasks));
    EXPECT_FALSE(barrier.broken());
    EXPECT_EQ(broken, kN - 1);
    EXPECT_EQ(passed, kN);
    EXPECT_EQ(barrier.n_waiting(), 0);
  });
}

TEST(Barrier, ResetWhileReleasedTasksAreStillLeavingBreaksThoseNotOutYet) {
  // CPython's test_reset_barrier_when_tasks_half_draining: the third task out resets while two
  // released tasks have not left yet; those two raise BrokenBarrierError.
  run_virtual_watched([]() -> Coro<void> {
    Barrier barrier(kN);
    constexpr int rest_of_tasks = kN / 2;
    int broken = 0;
    int left = 0;
    co_await gather(make_tasks<void>(kN, [&]() -> Coro<void> {
      try {
        co_await barrier.wait();
      } catch (const BrokenBarrierError&) {
        ++broken;
        co_return;
      }
      if (kN - ++left == rest_of_tasks) co_await barrier.reset();  // CPython: rest == barrier._count
    }));
    EXPECT_EQ(broken, rest_of_tasks);
    EXPECT_EQ(barrier.n_waiting(), 0);
    EXPECT_FALSE(contains(barrier.repr(), "resetting")) << barrier.repr();
    EXPECT_FALSE(barrier.broken());
  });
}

TEST(Barrier, ResetWhileTasksDrainAndOthersBlockBreaksTheBlockedOnes) {
  // CPython's test_reset_barrier_when_tasks_half_draining_half_blocking.
  run_virtual_watched([]() -> Coro<void> {
    Barrier barrier(kN);
    constexpr int blocking_tasks = kN / 2;
    int count = 0;
    int results1 = 0;
    int results2 = 0;
    co_await gather(make_tasks<void>(kN, [&]() -> Coro<void> {
      bool broken = false;
      try {
        co_await barrier.wait();
      } catch (const BrokenBarrierError&) {
        broken = true;
      }
      if (broken) {
        ++results1;
        co_await barrier.wait();
        co_return;
      }
      ++count;
      if (count > blocking_tasks) {
        co_await barrier.reset();
        co_await barrier.wait();
      } else {
        try {
          co_await barrier.wait();
        } catch (const BrokenBarrierError&) {
          ++results2;
        }
      }
    }));
    EXPECT_EQ(results1, blocking_tasks);
    EXPECT_EQ(results2, 0);
    EXPECT_EQ(barrier.n_waiting(), 0);
    EXPECT_FALSE(barrier.broken());
  });
}

TEST(Barrier, ResetAfterTheLastTaskLeftLetsTheNextRoundsPass) {
  // CPython's test_reset_barrier_while_tasks_draining.
  run_virtual_watched([]() -> Coro<void> {
    Barrier barrier(kN);
    int count = 0;
    int results1 = 0;
    int results2 = 0;
    int results3 = 0;
    co_await gather(make_tasks<void>(kN, [&]() -> Coro<void> {
      co_await barrier.wait();
      if (++count == kN) {
        co_await barrier.reset();
        co_await barrier.wait();
      } else {
        try {
          co_await barrier.wait();
          ++results1;
        } catch (const std::exception&) {
          ++results2;
        }
      }
      co_await barrier.wait();
      ++results3;
    }));
    EXPECT_FALSE(barrier.broken());
    EXPECT_EQ(results1, kN - 1);
    EXPECT_EQ(results2, 0);
    EXPECT_EQ(results3, kN);
    EXPECT_EQ(barrier.n_waiting(), 0);
  });
}

TEST(Barrier, AbortBreaksTheBarrier) {
  // CPython's test_abort_barrier.
  run_virtual_watched([]() -> Coro<void> {
    Barrier barrier(1);
    create_task([&barrier]() -> Coro<void> { co_await barrier.abort(); });
    co_await sleep(0);
    EXPECT_EQ(barrier.n_waiting(), 0);
    EXPECT_TRUE(barrier.broken());
    EXPECT_TRUE(contains(barrier.repr(), "[broken]>")) << barrier.repr();
    try {
      co_await barrier.wait();
      ADD_FAILURE() << "wait() on a broken barrier did not throw";
    } catch (const BrokenBarrierError& e) {
      EXPECT_STREQ(e.what(), "Barrier aborted");
    }
  });
}

TEST(Barrier, AbortBreaksTheWaitingTasksAndLaterWaits) {
  // CPython's test_abort_barrier_when_tasks_half_draining_half_blocking.
  run_virtual_watched([]() -> Coro<void> {
    Barrier barrier(kN);
    constexpr int blocking_tasks = kN / 2;
    int count = 0;
    int results1 = 0;
    int results2 = 0;
    co_await gather(make_tasks<void>(kN, [&]() -> Coro<void> {
      try {
        co_await barrier.wait();
      } catch (const BrokenBarrierError&) {
        ++results1;  // released, but the abort came before it was out
        co_return;
      }
      ++count;
      if (count > blocking_tasks) {
        co_await barrier.abort();
      } else {
        try {
          co_await barrier.wait();
        } catch (const BrokenBarrierError&) {
          ++results2;  // drained, then blocked in the second round
        }
      }
    }));
    EXPECT_TRUE(barrier.broken());
    EXPECT_EQ(results1, blocking_tasks);
    EXPECT_EQ(results2, kN - blocking_tasks - 1);
    EXPECT_EQ(barrier.n_waiting(), 0);
  });
}

TEST(Barrier, AbortAfterAnExceptionBreaksEveryOtherTask) {
  // CPython's test_abort_barrier_when_exception.
  run_virtual_watched([]() -> Coro<void> {
    Barrier barrier(kN);
    int results1 = 0;
    int results2 = 0;
    co_await gather(make_tasks<void>(kN, [&]() -> Coro<void> {
      bool failed = false;
      try {
        const std::int64_t i = co_await barrier.wait();
        if (i == kN / 2) throw RuntimeError("boom");
        co_await barrier.wait();
        ++results1;
      } catch (const BrokenBarrierError&) {
        ++results2;
      } catch (const RuntimeError&) {
        failed = true;
      }
      if (failed) co_await barrier.abort();
    }));
    EXPECT_TRUE(barrier.broken());
    EXPECT_EQ(results1, 0);
    EXPECT_EQ(results2, kN - 1);
    EXPECT_EQ(barrier.n_waiting(), 0);
  });
}

TEST(Barrier, ResetRepairsABrokenBarrier) {
  // CPython's test_abort_barrier_when_exception_then_resetting.
  run_virtual_watched([]() -> Coro<void> {
    Barrier barrier1(kN);
    Barrier barrier2(kN);
    int results1 = 0;
    int results2 = 0;
    int results3 = 0;
    co_await gather(make_tasks<void>(kN, [&]() -> Coro<void> {
      bool failed = false;
      try {
        const std::int64_t i = co_await barrier1.wait();
        if (i == kN / 2) throw RuntimeError("boom");
        co_await barrier1.wait();
        ++results1;
      } catch (const BrokenBarrierError&) {
        ++results2;
      } catch (const RuntimeError&) {
        failed = true;
      }
      if (failed) co_await barrier1.abort();
      // Synchronise, reset, synchronise again: nobody is inside barrier1 while it resets.
      if (co_await barrier2.wait() == kN / 2) co_await barrier1.reset();
      co_await barrier2.wait();
      co_await barrier1.wait();
      ++results3;
    }));
    EXPECT_FALSE(barrier1.broken());
    EXPECT_EQ(results1, 0);
    EXPECT_EQ(results2, kN - 1);
    EXPECT_EQ(results3, kN);
    EXPECT_EQ(barrier1.n_waiting(), 0);
  });
}

TEST(Barrier, ReprShowsTheStateAndTheWaiters) {
  // CPython's test_repr.
  run_virtual_watched([]() -> Coro<void> {
    Barrier barrier(kN);
    std::vector<Task<void>> waiters;
    auto wait = [&barrier]() -> Coro<void> { co_await barrier.wait(); };
    for (int i = 0; i < 2; ++i) waiters.push_back(create_task(wait));
    co_await sleep(0);
    EXPECT_TRUE(contains(barrier.repr(), "[filling, waiters:2/5]>")) << barrier.repr();

    for (int i = 0; i < kN - 2; ++i) waiters.push_back(create_task(wait));
    co_await sleep(0);
    EXPECT_TRUE(contains(barrier.repr(), "draining")) << barrier.repr();

    for (int i = 0; i < 2; ++i) waiters.push_back(create_task(wait));
    co_await sleep(0);
    co_await barrier.reset();
    EXPECT_TRUE(contains(barrier.repr(), "resetting")) << barrier.repr();

    for (int i = 0; i < 2; ++i) waiters.push_back(create_task(wait));
    co_await sleep(0);
    co_await barrier.abort();
    EXPECT_TRUE(contains(barrier.repr(), "broken")) << barrier.repr();
    EXPECT_TRUE(barrier.broken());

    for (auto& t : waiters) {
      try {
        co_await t;
      } catch (const BrokenBarrierError&) {
      }
    }
  });
}

}  // namespace
