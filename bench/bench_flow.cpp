/// flow/: gather, wait and as_completed over many tasks. time_per_op is per task, and includes
/// creating the task and running it (compare BM_AwaitEach_Tasks, the same tasks awaited one by one).

#include <asyncio/flow/as_completed.hpp>
#include <asyncio/flow/gather.hpp>
#include <asyncio/flow/wait.hpp>

#include <cstdint>
#include <vector>

#include "bench_common.hpp"
#include "factories.hpp"

namespace {

using asyncio::Coro;
using asyncio::Task;

std::vector<Task<int>> make_tasks(std::int64_t n, int x) {
  std::vector<Task<int>> tasks;
  tasks.reserve(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) tasks.push_back(asyncio::create_task(bench::ready_value(x)));
  return tasks;
}

// The brief's workload: create n tasks from a trivial Coro, gather the range, per task.
void BM_Gather_RangeOfTasks(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  bool ok = true;
  asyncio::run(
      [&]() -> Coro<void> {
        const int x = bench::opaque(1);
        for (auto _ : state) {
          std::vector<Task<int>> tasks = make_tasks(n, x);
          std::vector<int> results = co_await asyncio::gather(tasks);
          benchmark::DoNotOptimize(results.data());
          ok = ok && static_cast<std::int64_t>(results.size()) == n && results.back() == x;
        }
      },
      bench::loop_options());
  if (!ok) state.SkipWithError("wrong results");
  bench::report_per_op(state, static_cast<double>(n));
}
BENCHMARK(BM_Gather_RangeOfTasks)->Arg(100000)->Unit(benchmark::kMillisecond);

// gather makes the tasks itself from a range of Coros (their values are moved out).
void BM_Gather_RangeOfCoros(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  bool ok = true;
  asyncio::run(
      [&]() -> Coro<void> {
        const int x = bench::opaque(1);
        for (auto _ : state) {
          std::vector<Coro<int>> coros;
          coros.reserve(static_cast<std::size_t>(n));
          for (std::int64_t i = 0; i < n; ++i) coros.push_back(bench::ready_value(x));
          std::vector<int> results = co_await asyncio::gather(coros);
          benchmark::DoNotOptimize(results.data());
          ok = ok && static_cast<std::int64_t>(results.size()) == n && results.back() == x;
        }
      },
      bench::loop_options());
  if (!ok) state.SkipWithError("wrong results");
  bench::report_per_op(state, static_cast<double>(n));
}
BENCHMARK(BM_Gather_RangeOfCoros)->Arg(100000)->Unit(benchmark::kMillisecond);

// The baseline: the same tasks, awaited one after the other (no gather).
void BM_AwaitEach_Tasks(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  bool ok = true;
  asyncio::run(
      [&]() -> Coro<void> {
        const int x = bench::opaque(1);
        for (auto _ : state) {
          std::vector<Task<int>> tasks = make_tasks(n, x);
          std::int64_t sum = 0;
          for (Task<int>& t : tasks) sum += co_await t;
          benchmark::DoNotOptimize(sum);
          ok = ok && sum == n * x;
        }
      },
      bench::loop_options());
  if (!ok) state.SkipWithError("wrong results");
  bench::report_per_op(state, static_cast<double>(n));
}
BENCHMARK(BM_AwaitEach_Tasks)->Arg(100000)->Unit(benchmark::kMillisecond);

// wait(tasks) (all_completed) over the same workload.
void BM_Wait_AllCompleted(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  bool ok = true;
  asyncio::run(
      [&]() -> Coro<void> {
        const int x = bench::opaque(1);
        for (auto _ : state) {
          std::vector<Task<int>> tasks = make_tasks(n, x);
          auto r = co_await asyncio::wait(tasks);
          benchmark::DoNotOptimize(r.done.data());
          ok = ok && static_cast<std::int64_t>(r.done.size()) == n;
        }
      },
      bench::loop_options());
  if (!ok) state.SkipWithError("wrong results");
  bench::report_per_op(state, static_cast<double>(n));
}
BENCHMARK(BM_Wait_AllCompleted)->Arg(100000)->Unit(benchmark::kMillisecond);

// as_completed over the same workload, taking every task.
void BM_AsCompleted_All(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  bool ok = true;
  asyncio::run(
      [&]() -> Coro<void> {
        const int x = bench::opaque(1);
        for (auto _ : state) {
          std::vector<Task<int>> tasks = make_tasks(n, x);
          auto ac = asyncio::as_completed(tasks);
          std::int64_t sum = 0;
          while (!ac.done()) sum += (co_await ac.next()).result();
          benchmark::DoNotOptimize(sum);
          ok = ok && sum == n * x;
        }
      },
      bench::loop_options());
  if (!ok) state.SkipWithError("wrong results");
  bench::report_per_op(state, static_cast<double>(n));
}
BENCHMARK(BM_AsCompleted_All)->Arg(100000)->Unit(benchmark::kMillisecond);

// A small variadic gather, the everyday form: three Coros, per gather.
void BM_Gather_ThreeCoros(benchmark::State& state) {
  bool ok = true;
  asyncio::run(
      [&]() -> Coro<void> {
        const int x = bench::opaque(1);
        for (auto _ : state) {
          auto [a, b, c] =
              co_await asyncio::gather(bench::ready_value(x), bench::ready_value(x), bench::ready_value(x));
          benchmark::DoNotOptimize(a);
          ok = ok && a + b + c == 3 * x;
        }
      },
      bench::loop_options());
  if (!ok) state.SkipWithError("wrong results");
}
BENCHMARK(BM_Gather_ThreeCoros);

}  // namespace
