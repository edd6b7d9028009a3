/// The core workloads (b)-(g) of the side-by-side benchmarks (issue 5) in Asio's C++20 coroutines:
/// Debian's standalone Asio (libasio-dev), one io_context run by one thread. The same command line
/// and output as bench/core_workloads.cpp (asyncio-cpp) and bench/peers/python/core.py; see
/// bench/peers/core_common.hpp.
///
/// How each asyncio concept is spelled in Asio here:
///   (a) generator        none: Asio has no synchronous generator, so this program prints no (a)
///                        rows. (asio::experimental::coro can co_yield, but it is resumed as an
///                        asynchronous operation, which is not what (a) measures.)
///   (b) await coroutine  co_await of an asio::awaitable<int> that co_returns at once
///   (c) task             co_await co_spawn(executor, coroutine, use_awaitable)
///   (d) sleep(0)         co_await asio::post(executor, use_awaitable)
///   (e) sleep(d)         a steady_timer per task, co_await timer.async_wait(use_awaitable)
///   (f) Event            one steady_timer that never expires, every task waiting on it;
///                        cancel() is set()
///   gather               co_spawn each child with a handler that stores its result and counts
///                        down; the last one wakes the gathering coroutine (a timer it waits on)
///   Queue(maxsize=1)     asio::experimental::channel<void(error_code, int)> with capacity 1
///
/// io_context's concurrency hint is 1 (one thread runs it), which is what an Asio program with one
/// loop per thread would say.

#include <asio.hpp>
#include <asio/experimental/channel.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <vector>

#include "core_common.hpp"
#include "factories.hpp"

namespace {

using asio::awaitable;
using asio::use_awaitable;
using core_bench::check;
using core_bench::Clock;
using core_bench::ns_between;

volatile std::int64_t g_sink;

/// Runs `make()` (a callable returning awaitable<double>) as the main coroutine of a fresh
/// io_context and returns its result; an exception in it leaves run() and ends the program.
template <class F>
double run_main(F make) {
  asio::io_context ctx{1};
  double result = -1;
  asio::co_spawn(ctx, make(), [&result](std::exception_ptr e, double r) {
    if (e) std::rethrow_exception(e);
    result = r;
  });
  ctx.run();
  return result;
}

/// The end of a gather: `count` children each call done(); the last one wakes the coroutine in
/// wait(). (A timer that never expires is Asio's usual way to park a coroutine until cancel().)
class Countdown {
 public:
  Countdown(asio::any_io_executor ex, std::int64_t count)
      : timer_(ex, asio::steady_timer::time_point::max()), left_(count) {}

  void done() {
    if (--left_ == 0) timer_.cancel();
  }

  awaitable<void> wait() {
    if (left_ == 0) co_return;
    asio::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(use_awaitable, ec));
  }

 private:
  asio::steady_timer timer_;
  std::int64_t left_;
};

// --- (b) co_await of a coroutine that returns at once ------------------------------------------------

double await_ready(std::int64_t n) {
  return run_main([n]() -> awaitable<double> {
    std::int64_t sum = 0;
    const auto t0 = Clock::now();
    for (std::int64_t i = 0; i < n; ++i) sum += co_await asio_peer::ready_value(static_cast<int>(i & 0xff));
    const auto t1 = Clock::now();
    g_sink = sum;
    co_return ns_between(t0, t1) / static_cast<double>(n);
  });
}

// --- (c) co_spawn + run + await, one after the other -------------------------------------------------

double task_create_await(std::int64_t n) {
  return run_main([n]() -> awaitable<double> {
    auto ex = co_await asio::this_coro::executor;
    std::int64_t sum = 0;
    const auto t0 = Clock::now();
    for (std::int64_t i = 0; i < n; ++i) sum += co_await asio::co_spawn(ex, asio_peer::ready_value(1), use_awaitable);
    const auto t1 = Clock::now();
    check(sum == n, "every task ran");
    co_return ns_between(t0, t1) / static_cast<double>(n);
  });
}

// --- (d) two coroutines alternating by post --------------------------------------------------------

awaitable<void> post_loop(std::int64_t rounds, std::int64_t& done) {
  auto ex = co_await asio::this_coro::executor;
  for (std::int64_t i = 0; i < rounds; ++i) {
    co_await asio::post(ex, use_awaitable);
    ++done;
  }
}

double sleep0_pingpong(std::int64_t switches) {
  return run_main([switches]() -> awaitable<double> {
    auto ex = co_await asio::this_coro::executor;
    std::int64_t done_a = 0, done_b = 0;
    const auto t0 = Clock::now();
    Countdown both(ex, 2);
    asio::co_spawn(ex, post_loop(switches / 2, done_a), [&both](std::exception_ptr) { both.done(); });
    asio::co_spawn(ex, post_loop(switches / 2, done_b), [&both](std::exception_ptr) { both.done(); });
    co_await both.wait();
    const auto t1 = Clock::now();
    check(done_a + done_b == switches / 2 * 2, "every post returned");
    co_return ns_between(t0, t1) / static_cast<double>(switches / 2 * 2);
  });
}

// --- (e) a million sleeping coroutines ------------------------------------------------------------------

awaitable<void> sleeper(std::int64_t delay_ns) {
  asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::nanoseconds(delay_ns));
  co_await timer.async_wait(use_awaitable);
}

double sleeping_tasks(std::int64_t n) {
  const std::vector<std::int64_t> delays = core_bench::sleep_delays_ns(n);
  return run_main([&delays]() -> awaitable<double> {
    auto ex = co_await asio::this_coro::executor;
    const auto t0 = Clock::now();
    Countdown all(ex, static_cast<std::int64_t>(delays.size()));
    for (std::int64_t d : delays) {
      asio::co_spawn(ex, sleeper(d), [&all](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
        all.done();
      });
    }
    co_await all.wait();
    const auto t1 = Clock::now();
    co_return ns_between(t0, t1) / 1e9;
  });
}

// --- (f) idle coroutines on one "event" -------------------------------------------------------------------

awaitable<void> wait_event(asio::steady_timer& event, std::int64_t& parked) {
  ++parked;
  asio::error_code ec;
  co_await event.async_wait(asio::redirect_error(use_awaitable, ec));
}

double idle_tasks_peak_rss_kib(std::int64_t n) {
  return run_main([n]() -> awaitable<double> {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer event(ex, asio::steady_timer::time_point::max());
    std::int64_t parked = 0;
    for (std::int64_t i = 0; i < n; ++i) asio::co_spawn(ex, wait_event(event, parked), asio::detached);
    co_await asio::post(ex, use_awaitable);  // queued after every start: all wait now
    check(parked == n, "every coroutine waits");
    const double kib = core_bench::peak_rss_kib();
    event.cancel();
    co_await asio::post(ex, use_awaitable);  // let them finish before `event` goes
    co_await asio::post(ex, use_awaitable);
    co_return kib;
  });
}

// --- (g) gather and a channel -------------------------------------------------------------------------------

double gather(std::int64_t n) {
  return run_main([n]() -> awaitable<double> {
    auto ex = co_await asio::this_coro::executor;
    const auto t0 = Clock::now();
    std::vector<int> results(static_cast<std::size_t>(n));
    Countdown all(ex, n);
    for (std::int64_t i = 0; i < n; ++i) {
      asio::co_spawn(ex, asio_peer::ready_value(1), [&all, &results, i](std::exception_ptr e, int v) {
        if (e) std::rethrow_exception(e);
        results[static_cast<std::size_t>(i)] = v;
        all.done();
      });
    }
    co_await all.wait();
    const auto t1 = Clock::now();
    std::int64_t sum = 0;
    for (int r : results) sum += r;
    check(sum == n, "every result gathered");
    co_return ns_between(t0, t1) / static_cast<double>(n);
  });
}

using Channel = asio::experimental::channel<void(asio::error_code, int)>;

awaitable<void> producer(Channel& ch, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) co_await ch.async_send(asio::error_code{}, 1, use_awaitable);
}

double queue(std::int64_t n) {
  return run_main([n]() -> awaitable<double> {
    auto ex = co_await asio::this_coro::executor;
    Channel ch(ex, 1);
    std::int64_t sum = 0;
    const auto t0 = Clock::now();
    Countdown produced(ex, 1);
    asio::co_spawn(ex, producer(ch, n), [&produced](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
      produced.done();
    });
    for (std::int64_t i = 0; i < n; ++i) sum += co_await ch.async_receive(use_awaitable);
    co_await produced.wait();
    const auto t1 = Clock::now();
    check(sum == n, "every item received");
    co_return ns_between(t0, t1) / static_cast<double>(n);
  });
}

}  // namespace

int main(int argc, char** argv) {
  core_bench::Workloads w;
  w.system = "asio";
  // No generator_next / generator_send: see the top of this file.
  w.await_ready = await_ready;
  w.task_create_await = task_create_await;
  w.sleep0_pingpong = sleep0_pingpong;
  w.sleeping_tasks = sleeping_tasks;
  w.idle_tasks_peak_rss_kib = idle_tasks_peak_rss_kib;
  w.gather = gather;
  w.queue = queue;
  return core_bench::main(argc, argv, w);
}
