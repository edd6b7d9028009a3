/// The sync layer: Lock acquire/release without contention, the Lock handed between two tasks, and
/// an Event waking 100,000 waiters.

#include <asyncio/sync/event.hpp>
#include <asyncio/sync/lock.hpp>
#include <asyncio/sync/semaphore.hpp>

#include <cstdint>
#include <vector>

#include "bench_common.hpp"

namespace {

// `co_await lock.acquire(); lock.release();` in one task, the lock always free: per pair. The fast
// path takes the lock in await_ready (no suspension, no allocation); the lock is kept in memory
// (DoNotOptimize) so that the pair cannot be folded away.
void BM_LockAcquireRelease_Uncontended(benchmark::State& state) {
  std::int64_t acquired = 0;
  asyncio::run(
      [&state, &acquired]() -> asyncio::Coro<void> {
        asyncio::Lock lock;
        for (auto _ : state) {
          benchmark::DoNotOptimize(lock);
          const bool got = co_await lock.acquire();
          acquired += got ? 1 : 0;
          lock.release();
        }
        if (lock.locked()) state.SkipWithError("the lock is still held");
      },
      bench::loop_options());
  if (acquired != static_cast<std::int64_t>(state.iterations())) state.SkipWithError("acquire() did not succeed");
  bench::report_per_op(state, 1);
}
BENCHMARK(BM_LockAcquireRelease_Uncontended);

// The same through the guard: `{ auto held = co_await lock.hold(); }` per pair.
void BM_LockHold_Uncontended(benchmark::State& state) {
  std::int64_t held_count = 0;
  asyncio::run(
      [&state, &held_count]() -> asyncio::Coro<void> {
        asyncio::Lock lock;
        for (auto _ : state) {
          benchmark::DoNotOptimize(lock);
          auto held = co_await lock.hold();
          held_count += held.owns() ? 1 : 0;
        }
        if (lock.locked()) state.SkipWithError("the lock is still held");
      },
      bench::loop_options());
  if (held_count != static_cast<std::int64_t>(state.iterations())) state.SkipWithError("hold() did not succeed");
  bench::report_per_op(state, 1);
}
BENCHMARK(BM_LockHold_Uncontended);

// A Semaphore(1) acquired and released in one task, always free: per pair.
void BM_SemaphoreAcquireRelease_Uncontended(benchmark::State& state) {
  asyncio::run(
      [&state]() -> asyncio::Coro<void> {
        asyncio::Semaphore sem(1);
        for (auto _ : state) {
          benchmark::DoNotOptimize(sem);
          co_await sem.acquire();
          sem.release();
        }
        if (sem.value() != 1) state.SkipWithError("a permit was lost");
      },
      bench::loop_options());
  bench::report_per_op(state, 1);
}
BENCHMARK(BM_SemaphoreAcquireRelease_Uncontended);

// Two tasks loop on `acquire(); release();` on one Lock. FIFO makes them alternate: a release wakes
// the other task, whose future is then done, so the releasing task's next acquire() queues behind
// it. Every acquire waits, and every wait is one handoff: a future made and queued, the task parked,
// set_result, one task step. One benchmark iteration is two handoffs; time_per_op is per handoff.
void BM_LockHandoff_TwoTasks(benchmark::State& state) {
  std::int64_t other_acquired = 0;
  asyncio::run(
      [&state, &other_acquired]() -> asyncio::Coro<void> {
        asyncio::Lock lock;
        bool stop = false;
        co_await lock.acquire();
        auto other = asyncio::create_task([&lock, &stop, &other_acquired]() -> asyncio::Coro<void> {
          while (!stop) {
            co_await lock.acquire();
            ++other_acquired;
            lock.release();
          }
        });
        co_await asyncio::sleep(0);  // the other task waits for the lock now
        lock.release();
        for (auto _ : state) {
          co_await lock.acquire();
          lock.release();
        }
        stop = true;
        co_await other;
        if (lock.locked()) state.SkipWithError("the lock is still held");
      },
      bench::loop_options());
  benchmark::DoNotOptimize(other_acquired);
  if (other_acquired < static_cast<std::int64_t>(state.iterations()))
    state.SkipWithError("the tasks did not alternate");
  bench::report_per_op(state, 2);
}
BENCHMARK(BM_LockHandoff_TwoTasks);

// 100,000 tasks wait on one Event; timed from set() until the last of them has resumed (and
// completed the future the benchmark waits for). Making the tasks and letting them park is not
// timed, nor is freeing them. time_per_op is per waiter.
void BM_EventSet_Wakes100kWaiters(benchmark::State& state) {
  constexpr int kWaiters = 100'000;
  std::int64_t total_resumed = 0;
  asyncio::run(
      [&state, &total_resumed]() -> asyncio::Coro<void> {
        std::vector<asyncio::Task<void>> tasks;
        tasks.reserve(kWaiters);
        for (auto _ : state) {
          state.PauseTiming();
          asyncio::Event event;
          int resumed = 0;
          auto all_resumed = asyncio::get_running_loop().create_future<void>();
          for (int i = 0; i < kWaiters; ++i) {
            tasks.push_back(asyncio::create_task([&event, &resumed, all_resumed]() mutable -> asyncio::Coro<void> {
              co_await event.wait();
              if (++resumed == kWaiters) all_resumed.set_result();
            }));
          }
          co_await asyncio::sleep(0);  // every task is waiting now
          if (event.waiter_count() != static_cast<std::size_t>(kWaiters)) state.SkipWithError("not all waiting");
          state.ResumeTiming();

          event.set();
          co_await all_resumed;

          state.PauseTiming();
          total_resumed += resumed;
          tasks.clear();
          state.ResumeTiming();
        }
      },
      bench::loop_options());
  if (total_resumed != static_cast<std::int64_t>(state.iterations()) * kWaiters) {
    state.SkipWithError("not every waiter resumed");
  }
  bench::report_per_op(state, kWaiters);
}
BENCHMARK(BM_EventSet_Wakes100kWaiters)->Unit(benchmark::kMillisecond);

}  // namespace
