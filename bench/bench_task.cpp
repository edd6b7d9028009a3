/// The task layer: create_task + await, and the switch between two tasks that sleep(0); context
/// variables: get, set, and create_task in a context holding values.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

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

// BM_TaskCreateRunAwait in a context holding 10 variables: each task runs in a copy of it (CPython's
// copy_context() in Task.__init__), so each task holds the creator's context and enters it for its
// step. The difference from BM_TaskCreateRunAwait is what context variables cost a task.
void BM_TaskCreateRunAwait_Context10Vars(benchmark::State& state) {
  static const auto vars = [] {
    std::vector<std::unique_ptr<asyncio::ContextVar<int>>> v;
    for (int i = 0; i < 10; ++i) v.push_back(std::make_unique<asyncio::ContextVar<int>>("v" + std::to_string(i)));
    return v;
  }();
  const asyncio::Context context;
  context.run([&] {
    for (int i = 0; i < 10; ++i) (void)vars[static_cast<std::size_t>(i)]->set(bench::opaque(i));
    asyncio::run(
        [&state]() -> asyncio::Coro<void> {
          int x = bench::opaque(1);
          for (auto _ : state) {
            auto task = asyncio::create_task(bench::ready_value(x));
            int v = co_await task;
            benchmark::DoNotOptimize(v);
          }
          if (vars[3]->get() != 3) state.SkipWithError("the task did not run in the context");
        },
        bench::loop_options());
  });
}
BENCHMARK(BM_TaskCreateRunAwait_Context10Vars);

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

// The same through loop.set_task_factory(eager_task_factory): the task is made, handed to the
// factory as a TaskRequest, and started eagerly by it. The difference from
// BM_TaskCreateRunAwait_Eager is what going through a factory costs.
void BM_TaskCreateRunAwait_EagerFactory(benchmark::State& state) {
  asyncio::run(
      [&state]() -> asyncio::Coro<void> {
        asyncio::get_running_loop().set_task_factory(asyncio::eager_task_factory);
        int x = bench::opaque(1);
        for (auto _ : state) {
          auto task = asyncio::create_task(bench::ready_value(x));
          int v = co_await task;
          benchmark::DoNotOptimize(v);
        }
      },
      bench::loop_options());
}
BENCHMARK(BM_TaskCreateRunAwait_EagerFactory);

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

// ContextVar::get() of a variable set in the current context (one of 10), read again and again:
// the per-thread cache answers (CPython caches the same way).
void BM_ContextVarGet(benchmark::State& state) {
  static const asyncio::ContextVar<int> others[] = {
      asyncio::ContextVar<int>("a"), asyncio::ContextVar<int>("b"), asyncio::ContextVar<int>("c"),
      asyncio::ContextVar<int>("d"), asyncio::ContextVar<int>("e"), asyncio::ContextVar<int>("f"),
      asyncio::ContextVar<int>("g"), asyncio::ContextVar<int>("h"), asyncio::ContextVar<int>("i")};
  static const asyncio::ContextVar<int> var("bench_get");
  const asyncio::Context context;
  context.run([&] {
    for (const auto& other : others) (void)other.set(bench::opaque(1));
    (void)var.set(bench::opaque(7));
    for (auto _ : state) {
      int v = var.get();
      benchmark::DoNotOptimize(v);
    }
  });
}
BENCHMARK(BM_ContextVarGet);

// ContextVar::set() in a context holding 10 variables, the token dropped at once: a box for the
// value, the map changed in place (nothing else holds it), the old value freed.
void BM_ContextVarSet(benchmark::State& state) {
  static const asyncio::ContextVar<int> others[] = {
      asyncio::ContextVar<int>("a"), asyncio::ContextVar<int>("b"), asyncio::ContextVar<int>("c"),
      asyncio::ContextVar<int>("d"), asyncio::ContextVar<int>("e"), asyncio::ContextVar<int>("f"),
      asyncio::ContextVar<int>("g"), asyncio::ContextVar<int>("h"), asyncio::ContextVar<int>("i")};
  static const asyncio::ContextVar<int> var("bench_set");
  const asyncio::Context context;
  context.run([&] {
    for (const auto& other : others) (void)other.set(bench::opaque(1));
    int i = bench::opaque(0);
    for (auto _ : state) {
      auto token = var.set(i++);
      benchmark::DoNotOptimize(token);
    }
    if (var.get() != i - 1) state.SkipWithError("set() did not set");
  });
}
BENCHMARK(BM_ContextVarSet);

}  // namespace
