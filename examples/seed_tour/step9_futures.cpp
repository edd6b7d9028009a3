// Step 9: a Future stands for an event: whoever completes it (here another thread, done reading)
// wakes whoever awaits it. Then the same with the library's thread pool: run_in_executor, to_thread.

#include <asyncio/asyncio.hpp>

#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tour.hpp"

namespace {

std::mt19937 rng(42);

// Real threads and real time here: each read takes 20-120 ms, all of them at once.
double pick_read_time() { return std::uniform_real_distribution<double>(0.02, 0.12)(rng); }

// The seed starts its threads and forgets them; they are kept here so that they are joined before
// the program ends.
std::vector<std::thread> io_threads;

// Initialised before main() starts, so on the thread that runs main() and every loop of this step.
const std::thread::id loop_thread = std::this_thread::get_id();

// The seed's fake_io_read: another thread "reads" for a while, then delivers the result.
void fake_io_read(asyncio::EventLoop& loop, asyncio::Future<double> future, double seconds) {
  io_threads.emplace_back([&loop, future = std::move(future), seconds]() mutable {
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    // Not future.set_result() here, as the seed does: a Future belongs to its loop's thread. Its
    // state is not locked, and set_result schedules the awaiting task with call_soon, which only the
    // loop's thread may call. call_soon_threadsafe is the one door into the loop from another thread:
    // it queues the call and wakes the loop, which then sets the result on its own thread.
    // The handle travels by move: copying or destroying it would touch its reference count, which
    // is not atomic either, so the worker leaves only an empty handle behind.
    loop.call_soon_threadsafe([future = std::move(future), seconds]() mutable {
      std::printf("  loop thread%s: set_result(%.3f)\n", std::this_thread::get_id() == loop_thread ? "" : " (NOT!)",
                  seconds);
      future.set_result(seconds);
    });
  });
}

// The seed's small_step: bind the blocking read to a future, then await the future.
asyncio::Coro<double> small_step() {
  asyncio::EventLoop& loop = asyncio::get_running_loop();
  asyncio::Future<double> fut = loop.create_future<double>();
  fake_io_read(loop, fut, pick_read_time());
  const double result = co_await fut;
  co_return result;
}

asyncio::Coro<double> big_step() { co_return co_await small_step(); }

asyncio::Coro<double> one_task() { co_return co_await big_step(); }

// The seed's until_all_done: checks at every loop iteration and stops the loop once every task is
// done. (Polling keeps the loop busy; a done-callback on each task would not.)
void until_all_done(asyncio::EventLoop& loop, std::vector<asyncio::Task<double>> tasks) {
  std::erase_if(tasks, [](const asyncio::Task<double>& t) { return t.done(); });
  if (!tasks.empty()) {
    loop.call_soon(until_all_done, std::ref(loop), std::move(tasks));
  } else {
    std::printf("  until_all_done: every task is done, loop.stop()\n");
    loop.stop();
  }
}

// --- with the library's thread pool ---

double blocking_read(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  return seconds;
}

asyncio::Coro<double> read_with_executor(double seconds) {
  co_return co_await asyncio::get_running_loop().run_in_executor(nullptr, blocking_read, seconds);
}

asyncio::Coro<double> read_with_to_thread(double seconds) {
  co_return co_await asyncio::to_thread(blocking_read, seconds);
}

asyncio::Coro<void> read_all() {
  std::vector<asyncio::Task<double>> tasks;
  for (int i = 1; i <= 5; ++i) {
    const double seconds = pick_read_time();
    asyncio::Coro<double> read = i % 2 ? read_with_executor(seconds) : read_with_to_thread(seconds);
    tasks.push_back(asyncio::create_task(std::move(read), {.name = "reader-" + std::to_string(i)}));
  }
  for (asyncio::Task<double>& t : tasks) {
    const double result = co_await t;
    std::printf("  %s (%s) read for %.3f s\n", t.get_name().c_str(), t.coro_name(), result);
  }
}

}  // namespace

namespace tour {

void step9_futures() {
  heading(9, "Introducing Future objects, to capture events", "引入Future对象，捕获事件");

  subheading("9a. threads doing fake I/O complete futures through call_soon_threadsafe (real time)");
  const auto start = std::chrono::steady_clock::now();
  asyncio::EventLoop loop;
  std::vector<asyncio::Task<double>> all_tasks;
  for (int i = 1; i <= 5; ++i) {
    all_tasks.push_back(asyncio::create_task(loop, one_task(), {.name = "task-" + std::to_string(i)}));
  }
  loop.call_later(0.01, until_all_done, std::ref(loop), all_tasks);
  loop.run_forever();
  for (std::thread& t : io_threads) t.join();
  io_threads.clear();
  for (asyncio::Task<double>& t : all_tasks) std::printf("  %s: result %.3f\n", t.get_name().c_str(), t.result());
  loop.close();
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  std::printf("  five reads, in parallel on five threads, took %.2f s together\n", took.count());

  subheading("9b. the same with loop.run_in_executor and asyncio::to_thread (real time)");
  asyncio::run(read_all());
}

}  // namespace tour
