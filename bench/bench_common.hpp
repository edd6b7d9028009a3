#pragma once
/// Shared helpers of the benchmarks.

#include <benchmark/benchmark.h>

#include <asyncio/asyncio.hpp>

namespace bench {

/// Loop options for every benchmark: debug mode off whatever ASYNCIO_DEBUG says.
inline asyncio::LoopOptions loop_options(asyncio::ClockKind clock = asyncio::ClockKind::monotonic) {
  return asyncio::LoopOptions{.clock = clock, .debug = false};
}

/// A value the optimiser cannot predict (a DoNotOptimize'd copy of `x`).
inline int opaque(int x) {
  benchmark::DoNotOptimize(x);
  return x;
}

/// Reports time per operation when one benchmark iteration does `ops_per_iteration` operations:
/// the counter `time_per_op` is CPU time / (iterations * ops_per_iteration), printed in seconds with
/// an SI prefix ("7.5ns" is 7.5 nanoseconds).
/// (Google Benchmark divides rate counters by the CPU time; these benchmarks never block, so CPU
/// and real time agree, which docs/benchmarks.md checks.)
inline void report_per_op(benchmark::State& state, double ops_per_iteration) {
  state.SetItemsProcessed(static_cast<std::int64_t>(static_cast<double>(state.iterations()) * ops_per_iteration));
  state.counters["time_per_op"] = benchmark::Counter(
      ops_per_iteration, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

}  // namespace bench
