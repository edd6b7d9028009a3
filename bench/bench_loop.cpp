/// The loop layer: call_soon, and a million timers on the virtual clock.

#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench_common.hpp"

namespace {

// call_soon per callback: a batch of range(0) callbacks (a lambda capturing one pointer), then one
// run_once() that runs them all. time_per_op is per callback (scheduling + running + freeing).
void BM_CallSoon(benchmark::State& state) {
  const auto batch = state.range(0);
  asyncio::EventLoop loop(bench::loop_options());
  std::uint64_t ran = 0;
  for (auto _ : state) {
    for (std::int64_t i = 0; i < batch; ++i) {
      auto handle = loop.call_soon([&ran] { ++ran; });
      benchmark::DoNotOptimize(handle);
    }
    loop.run_once();
  }
  benchmark::DoNotOptimize(ran);
  if (ran != static_cast<std::uint64_t>(state.iterations() * batch)) state.SkipWithError("callbacks did not all run");
  bench::report_per_op(state, static_cast<double>(batch));
}
BENCHMARK(BM_CallSoon)->Arg(1)->Arg(1024);

// The delays of the timer benchmarks, fixed seed. `granularity_ns` 0: any nanosecond (a million
// distinct deadlines, one loop iteration each); else rounded down to a multiple of it.
std::vector<double> random_delays(std::size_t n, double max_seconds, double granularity_seconds) {
  std::mt19937_64 rng(20261123);
  std::uniform_real_distribution<double> dist(0.0, max_seconds);
  std::vector<double> delays(n);
  for (double& d : delays) {
    d = dist(rng);
    if (granularity_seconds > 0)
      d = static_cast<double>(static_cast<std::int64_t>(d / granularity_seconds)) * granularity_seconds;
  }
  return delays;
}

// range(0) call_later timers with random delays in [0, 10) s, added then all fired on the virtual
// clock; the time is the whole run (making the loop, adding, firing, closing). range(1) is the
// deadline granularity in microseconds: 0 = every timer its own deadline (one loop iteration per
// timer); 1000 = millisecond delays (10,000 distinct deadlines, ~100 timers per loop iteration at
// a million timers). The target is for timers:1000000/granularity_us:0. The smaller counts show
// how the cost per timer scales.
//
// A run that has not finished adding its timers after kBudget is abandoned with an error, so that a
// superlinear timer heap fails this benchmark instead of running for hours.
void BM_Timers_AddAndFire(benchmark::State& state) {
  constexpr auto kBudget = std::chrono::seconds(30);
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::vector<double> delays = random_delays(n, 10.0, static_cast<double>(state.range(1)) * 1e-6);
  double teardown_ms = 0;
  for (auto _ : state) {
    const auto give_up = std::chrono::steady_clock::now() + kBudget;
    auto loop = std::make_unique<asyncio::EventLoop>(bench::loop_options(asyncio::ClockKind::virtual_time));
    std::size_t fired = 0;
    std::size_t added = 0;
    asyncio::EventLoop* l = loop.get();
    for (double d : delays) {
      auto handle = l->call_later(d, [&fired, l, n] {
        if (++fired == n) l->stop();
      });
      benchmark::DoNotOptimize(handle);
      if ((++added & 0x3fff) == 0 && std::chrono::steady_clock::now() > give_up) break;
    }
    if (added != n) {
      state.SkipWithError(("gave up: adding took over 30 s (" + std::to_string(added) + " of " + std::to_string(n) +
                           " timers added); call_later is superlinear")
                              .c_str());
      break;
    }
    l->run_forever();
    benchmark::DoNotOptimize(fired);
    if (fired != n) {
      state.SkipWithError("not every timer fired");
      break;
    }
    state.counters["loop_iterations"] = static_cast<double>(l->stats().iterations);
    // Destroying the loop frees the heap's array, and glibc then consolidates the freed nodes: a
    // cost of the million frees, paid late. Timed apart so both figures are visible.
    state.PauseTiming();
    const auto t0 = std::chrono::steady_clock::now();
    loop.reset();
    teardown_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    state.ResumeTiming();
  }
  state.counters["teardown_ms"] = teardown_ms / static_cast<double>(state.iterations());
  bench::report_per_op(state, static_cast<double>(n));
}
BENCHMARK(BM_Timers_AddAndFire)
    ->ArgNames({"timers", "granularity_us"})
    ->Args({1'000, 0})
    ->Args({10'000, 0})
    ->Args({100'000, 0})
    ->Args({1'000'000, 0})
    ->Args({1'000'000, 1000})
    ->Unit(benchmark::kMillisecond);

}  // namespace
