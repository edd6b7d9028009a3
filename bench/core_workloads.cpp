/// The core workloads (a)-(g) of the side-by-side benchmarks (issue 5), in asyncio-cpp. The same
/// workloads, command line and output as bench/peers/python/core.py (asyncio, uvloop) and
/// bench/peers/asio/core.cpp (Asio); bench/peers/core_common.hpp has the contract.
///
///   build/release/bench/asyncio_bench_core --workload all --repeat 5 [--quick]
///
/// Only the public API is used (asyncio.hpp). The generators and the ready Coro the loops drive are
/// the Google Benchmark suite's factories (bench/factories.cpp, a library built without LTO, every
/// factory noinline): the optimiser cannot see into the coroutine it resumes, so each value and each
/// await is real work (DESIGN section 4). Every loop checks its result afterwards. The clock
/// (steady_clock) is read around the measured region only.

#include <asyncio/asyncio.hpp>

#include <cstdint>
#include <vector>

#include "factories.hpp"
#include "peers/core_common.hpp"

namespace {

using asyncio::Coro;
using asyncio::Task;
using core_bench::check;
using core_bench::Clock;
using core_bench::ns_between;

asyncio::LoopOptions loop_options() {
  return asyncio::LoopOptions{.clock = asyncio::ClockKind::monotonic, .debug = false};
}

/// The volatile store keeps a value the optimiser would otherwise drop (the checks below read most
/// results anyway).
volatile std::int64_t g_sink;

// --- (a) generators -----------------------------------------------------------------------------

// Range-for over count_from(0): Python's `for v in gen`.
double generator_next(std::int64_t n) {
  auto gen = bench::count_from(0);
  std::int64_t sum = 0, seen = 0;
  const auto t0 = Clock::now();
  for (int v : gen) {
    sum += v;
    if (++seen == n) break;
  }
  const auto t1 = Clock::now();
  check(sum == n * (n - 1) / 2, "generator values");
  g_sink = sum;
  return ns_between(t0, t1) / static_cast<double>(n);
}

// send(1) to running_sum: the generator receives each value at its co_yield and yields the new sum.
double generator_send(std::int64_t n) {
  auto gen = bench::running_sum(0);
  check(gen.next() == 0, "generator primed");  // Python's send(None)
  int last = 0;
  const auto t0 = Clock::now();
  for (std::int64_t i = 0; i < n; ++i) last = *gen.send(1);
  const auto t1 = Clock::now();
  check(last == static_cast<int>(n), "running sum");
  return ns_between(t0, t1) / static_cast<double>(n);
}

// --- (b) co_await of a Coro that returns at once ----------------------------------------------------

double await_ready(std::int64_t n) {
  return asyncio::run(
      [n]() -> Coro<double> {
        std::int64_t sum = 0;
        const auto t0 = Clock::now();
        for (std::int64_t i = 0; i < n; ++i) sum += co_await bench::ready_value(static_cast<int>(i & 0xff));
        const auto t1 = Clock::now();
        g_sink = sum;
        co_return ns_between(t0, t1) / static_cast<double>(n);
      },
      loop_options());
}

// --- (c) create + run + await of a task, one after the other ----------------------------------------

double task_create_await(std::int64_t n) {
  return asyncio::run(
      [n]() -> Coro<double> {
        std::int64_t sum = 0;
        const auto t0 = Clock::now();
        for (std::int64_t i = 0; i < n; ++i) {
          Task<int> task = asyncio::create_task(bench::ready_value(1));
          sum += co_await task;
        }
        const auto t1 = Clock::now();
        check(sum == n, "every task ran");
        co_return ns_between(t0, t1) / static_cast<double>(n);
      },
      loop_options());
}

// --- (d) two tasks alternating by sleep(0) ------------------------------------------------------------

[[gnu::noinline]] Coro<void> sleep0_loop(std::int64_t rounds, std::int64_t& done) {
  for (std::int64_t i = 0; i < rounds; ++i) {
    co_await asyncio::sleep(0);
    ++done;
  }
}

// `switches` sleep(0)s in all, half in each task: per switch.
double sleep0_pingpong(std::int64_t switches) {
  return asyncio::run(
      [switches]() -> Coro<double> {
        std::int64_t done_a = 0, done_b = 0;
        const auto t0 = Clock::now();
        Task<void> a = asyncio::create_task(sleep0_loop(switches / 2, done_a));
        Task<void> b = asyncio::create_task(sleep0_loop(switches / 2, done_b));
        co_await a;
        co_await b;
        const auto t1 = Clock::now();
        check(done_a + done_b == switches / 2 * 2, "every sleep(0) returned");
        co_return ns_between(t0, t1) / static_cast<double>(switches / 2 * 2);
      },
      loop_options());
}

// --- (e) a million sleeping tasks, gathered ------------------------------------------------------------

[[gnu::noinline]] Coro<void> sleeper(std::int64_t delay_ns) {
  co_await asyncio::sleep(std::chrono::nanoseconds(delay_ns));
}

// Wall seconds from the first create_task to the end of the gather.
double sleeping_tasks(std::int64_t n) {
  const std::vector<std::int64_t> delays = core_bench::sleep_delays_ns(n);
  return asyncio::run(
      [&delays]() -> Coro<double> {
        const auto t0 = Clock::now();
        std::vector<Task<void>> tasks;
        tasks.reserve(delays.size());
        for (std::int64_t d : delays) tasks.push_back(asyncio::create_task(sleeper(d)));
        auto results = co_await asyncio::gather(tasks);
        const auto t1 = Clock::now();
        check(results.size() == delays.size(), "gathered every task");
        co_return ns_between(t0, t1) / 1e9;
      },
      loop_options());
}

// --- (f) idle tasks on one Event ----------------------------------------------------------------------

[[gnu::noinline]] Coro<void> wait_event(asyncio::Event& event) { co_await event.wait(); }

// Parks n tasks on one Event, reads the peak RSS, then releases them.
double idle_tasks_peak_rss_kib(std::int64_t n) {
  return asyncio::run(
      [n]() -> Coro<double> {
        asyncio::Event event;
        std::vector<Task<void>> tasks;
        tasks.reserve(static_cast<std::size_t>(n));
        for (std::int64_t i = 0; i < n; ++i) tasks.push_back(asyncio::create_task(wait_event(event)));
        co_await asyncio::sleep(0);  // every task has run its first step and waits now
        check(event.waiter_count() == static_cast<std::size_t>(n), "every task waits");
        const double kib = core_bench::peak_rss_kib();
        event.set();
        co_await asyncio::gather(tasks);
        co_return kib;
      },
      loop_options());
}

// --- (g) gather and Queue ------------------------------------------------------------------------------

// Create n tasks and gather them; per task.
double gather(std::int64_t n) {
  return asyncio::run(
      [n]() -> Coro<double> {
        const auto t0 = Clock::now();
        std::vector<Task<int>> tasks;
        tasks.reserve(static_cast<std::size_t>(n));
        for (std::int64_t i = 0; i < n; ++i) tasks.push_back(asyncio::create_task(bench::ready_value(1)));
        std::vector<int> results = co_await asyncio::gather(tasks);
        const auto t1 = Clock::now();
        std::int64_t sum = 0;
        for (int r : results) sum += r;
        check(sum == n, "every result gathered");
        co_return ns_between(t0, t1) / static_cast<double>(n);
      },
      loop_options());
}

[[gnu::noinline]] Coro<void> producer(asyncio::Queue<int>& q, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) co_await q.put(1);
}

// A producer task puts n items into a Queue(maxsize=1), the main task gets them; per item.
double queue(std::int64_t n) {
  return asyncio::run(
      [n]() -> Coro<double> {
        asyncio::Queue<int> q(1);
        std::int64_t sum = 0;
        const auto t0 = Clock::now();
        Task<void> p = asyncio::create_task(producer(q, n));
        for (std::int64_t i = 0; i < n; ++i) sum += co_await q.get();
        co_await p;
        const auto t1 = Clock::now();
        check(sum == n, "every item got");
        co_return ns_between(t0, t1) / static_cast<double>(n);
      },
      loop_options());
}

}  // namespace

int main(int argc, char** argv) {
  core_bench::Workloads w;
  w.system = "asyncio-cpp";
  w.generator_next = generator_next;
  w.generator_send = generator_send;
  w.await_ready = await_ready;
  w.task_create_await = task_create_await;
  w.sleep0_pingpong = sleep0_pingpong;
  w.sleeping_tasks = sleeping_tasks;
  w.idle_tasks_peak_rss_kib = idle_tasks_peak_rss_kib;
  w.gather = gather;
  w.queue = queue;
  return core_bench::main(argc, argv, w);
}
