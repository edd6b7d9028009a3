/// The task layer: create_task + await, and the switch between two tasks that sleep(0).

#include <cstdint>

#include "bench_common.hpp"
#include "factories.hpp"

namespace {

// create_task(ready_value(x)) and co_await it, inside one task: per task. A lazy (default) task
// runs its first step from the loop, so each task costs two loop iterations: one runs the new task
// to completion, which schedules the awaiting task's wake-up; the next resumes the awaiting task.
void BM_TaskCreateRunAwait(benchmark::State& state) {
  asyncio::run(
      [&state]() -> asyncio::Coro<void> {
        int x = bench::opaque(1);
        for (auto _ : state) {
          auto task = asyncio::create_task(bench::ready_value(x));
          int v = co_await task;
          benchmark::DoNotOptimize(v);
        }
      },
      bench::loop_options());
}
BENCHMARK(BM_TaskCreateRunAwait);

// The same with eager_start (Python 3.12's eager tasks): the task runs its first step inside
// create_task, finishes there, and co_await does not suspend. No loop iteration per task.
void BM_TaskCreateRunAwait_Eager(benchmark::State& state) {
  asyncio::run(
      [&state]() -> asyncio::Coro<void> {
        int x = bench::opaque(1);
        asyncio::TaskOptions options;
        options.eager_start = true;
        for (auto _ : state) {
          auto task = asyncio::create_task(bench::ready_value(x), options);
          int v = co_await task;
          benchmark::DoNotOptimize(v);
        }
      },
      bench::loop_options());
}
BENCHMARK(BM_TaskCreateRunAwait_Eager);

// Two tasks that each loop on `co_await sleep(0)`. Each loop iteration runs both tasks' steps, so one
// benchmark iteration (one sleep(0) of the timed task) is two switches; time_per_op is per switch.
void BM_Sleep0Switch_TwoTasks(benchmark::State& state) {
  std::uint64_t other_steps = 0;
  asyncio::run(
      [&state, &other_steps]() -> asyncio::Coro<void> {
        bool stop = false;
        auto other = asyncio::create_task([&stop, &other_steps]() -> asyncio::Coro<void> {
          while (!stop) {
            co_await asyncio::sleep(0);
            ++other_steps;
          }
        });
        co_await asyncio::sleep(0);  // the other task is running now
        for (auto _ : state) {
          co_await asyncio::sleep(0);
        }
        stop = true;
        co_await other;
      },
      bench::loop_options());
  benchmark::DoNotOptimize(other_steps);
  if (other_steps + 2 < static_cast<std::uint64_t>(state.iterations()))
    state.SkipWithError("the tasks did not alternate");
  bench::report_per_op(state, 2);
}
BENCHMARK(BM_Sleep0Switch_TwoTasks);

}  // namespace
