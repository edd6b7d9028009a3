/// The queues: what an item costs through asyncio::Queue, alone and between tasks.

#include <asyncio/sync/queue.hpp>

#include <cstdint>
#include <vector>

#include "bench_common.hpp"

namespace {

// put_nowait + get_nowait on an unbounded Queue<int>, outside any loop: the data structure alone
// (nobody waits, so no Future is made). Per item.
void BM_QueuePutGetNowait(benchmark::State& state) {
  asyncio::Queue<int> q;
  const int x = bench::opaque(1);
  std::int64_t sum = 0;
  for (auto _ : state) {
    q.put_nowait(x);
    int v = q.get_nowait();
    benchmark::DoNotOptimize(v);
    sum += v;
  }
  if (sum != state.iterations()) state.SkipWithError("lost items");
  bench::report_per_op(state, 1);
}
BENCHMARK(BM_QueuePutGetNowait);

// co_await put + co_await get in one task, on a queue with room: neither suspends, so this is the
// two Coro frames on top of the data structure. Per item.
void BM_QueuePutGetAwait_NoWait(benchmark::State& state) {
  std::int64_t sum = 0;
  asyncio::run(
      [&]() -> asyncio::Coro<void> {
        asyncio::Queue<int> q(64);
        const int x = bench::opaque(1);
        for (auto _ : state) {
          co_await q.put(x);
          int v = co_await q.get();
          benchmark::DoNotOptimize(v);
          sum += v;
        }
      },
      bench::loop_options());
  if (sum != state.iterations()) state.SkipWithError("lost items");
  bench::report_per_op(state, 1);
}
BENCHMARK(BM_QueuePutGetAwait_NoWait);

// range(0) producer tasks, each `co_await q.put(1)` in a loop, and one consumer (the main task)
// doing `co_await q.get()`, through a Queue<int>(range(1)). With maxsize 1 every item costs a wait
// on each side (the handoff case); with 64 the consumer drains what the producers batched. One benchmark iteration is
// one item got, so time_per_op is the cost per item of the whole pipeline: puts, gets, and the task switches and
// Futures of whichever side waits. The producers stop with QueueShutDown at the end.
void BM_QueueProducerConsumer(benchmark::State& state) {
  const auto producers = state.range(0);
  std::int64_t sum = 0;
  std::int64_t leftover = 0;
  asyncio::run(
      [&]() -> asyncio::Coro<void> {
        asyncio::Queue<int> q(static_cast<std::size_t>(state.range(1)));
        std::vector<asyncio::Task<void>> tasks;
        for (std::int64_t p = 0; p < producers; ++p) {
          tasks.push_back(asyncio::create_task([&q]() -> asyncio::Coro<void> {
            const int x = bench::opaque(1);
            try {
              for (;;) co_await q.put(x);
            } catch (const asyncio::QueueShutDown&) {
            }
          }));
        }
        for (auto _ : state) {
          int v = co_await q.get();
          benchmark::DoNotOptimize(v);
          sum += v;
        }
        leftover = static_cast<std::int64_t>(q.qsize());
        q.shutdown(true);
        for (auto& t : tasks) co_await t;
      },
      bench::loop_options());
  if (sum != state.iterations()) state.SkipWithError("lost items");
  benchmark::DoNotOptimize(leftover);
  bench::report_per_op(state, 1);
}
BENCHMARK(BM_QueueProducerConsumer)->ArgNames({"producers", "maxsize"})->ArgsProduct({{1, 4}, {1, 64}});

}  // namespace
