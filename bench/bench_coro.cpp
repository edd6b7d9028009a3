/// The coro layer: generators (next, send, delegation) and `co_await` of a Coro that completes at
/// once. One benchmark iteration is one operation: the Time column is the time per value / await.

#include <optional>

#include "bench_common.hpp"
#include "factories.hpp"

namespace {

// The value, not the optional, goes through DoNotOptimize: DoNotOptimize of a std::optional<int>
// marks its 8 bytes read and written in memory right after next() stored the value and the
// engaged flag with two narrower stores, a store-forwarding stall (~4 ns here) that belongs to the
// harness. Every value still goes through DoNotOptimize, and the generators are infinite, so *next()
// is always engaged.

// next() per value, no delegation.
void BM_GeneratorNext_Depth0(benchmark::State& state) {
  auto gen = bench::count_from(bench::opaque(0));
  int v = -1;
  for (auto _ : state) {
    v = *gen.next();
    benchmark::DoNotOptimize(v);
  }
  if (v != static_cast<int>(state.iterations() - 1)) state.SkipWithError("wrong values");
}
BENCHMARK(BM_GeneratorNext_Depth0);

// next() per value through 10 nested `co_yield yield_from(...)`; the innermost produces the values.
void BM_GeneratorNext_Depth10(benchmark::State& state) {
  auto gen = bench::delegate(bench::opaque(10), bench::opaque(0));
  int v = -1;
  for (auto _ : state) {
    v = *gen.next();
    benchmark::DoNotOptimize(v);
  }
  if (v != static_cast<int>(state.iterations() - 1)) state.SkipWithError("wrong values");
}
BENCHMARK(BM_GeneratorNext_Depth10);

// send() per value: the generator receives the argument at its co_yield and yields a new value.
void BM_GeneratorSend(benchmark::State& state) {
  auto gen = bench::running_sum(bench::opaque(0));
  benchmark::DoNotOptimize(gen.next());  // prime it, as Python's send(None)
  int x = bench::opaque(1);
  for (auto _ : state) {
    int v = *gen.send(x);
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_GeneratorSend);

// `co_await gen.next()` per value of an async generator that yields without awaiting, inside one
// task: the operation resumes the generator's frame inline and its co_yield hands back (Python's
// `async for` step, ~100 ns in CPython 3.13).
void BM_AsyncGeneratorNext(benchmark::State& state) {
  asyncio::run(
      [&state]() -> asyncio::Coro<void> {
        auto gen = bench::async_count_from(bench::opaque(0));
        for (auto _ : state) {
          std::optional<int> v = co_await gen.next();
          benchmark::DoNotOptimize(*v);
        }
      },
      bench::loop_options());
}
BENCHMARK(BM_AsyncGeneratorNext);

// `co_await ready_value(x)` in a loop inside one task: per await (frame from the pool, the Task's
// trampoline enters the child and comes back, result moved out, frame back to the pool).
void BM_CoroAwaitReady(benchmark::State& state) {
  asyncio::run(
      [&state]() -> asyncio::Coro<void> {
        int x = bench::opaque(1);
        for (auto _ : state) {
          int v = co_await bench::ready_value(x);
          benchmark::DoNotOptimize(v);
        }
      },
      bench::loop_options());
}
BENCHMARK(BM_CoroAwaitReady);

// For reference only: the same await with the child defined in this file, so the compiler may
// inline it and elide its frame (clang does; g++ 12 does not). Not the figure the target is for.
asyncio::Coro<int> visible_ready_value(int x) { co_return x; }

void BM_CoroAwaitReady_VisibleChild(benchmark::State& state) {
  asyncio::run(
      [&state]() -> asyncio::Coro<void> {
        int x = bench::opaque(1);
        for (auto _ : state) {
          benchmark::DoNotOptimize(x);
          int v = co_await visible_ready_value(x);
          benchmark::DoNotOptimize(v);
        }
      },
      bench::loop_options());
}
BENCHMARK(BM_CoroAwaitReady_VisibleChild);

}  // namespace
