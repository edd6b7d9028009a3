// Step 8: the event loop. The seed's EventLoop has a ready queue (call_soon), a heap of timers
// (call_later), stop() and run_forever(); its Task, instead of waiting, asks the loop to call run()
// again once the wait is over. asyncio::EventLoop is that loop, create_task that Task, and
// asyncio::sleep the wait.

#include <asyncio/asyncio.hpp>

#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tour.hpp"

namespace {

// Seeded, so that every run of the tour tells the same story.
std::mt19937 rng(20220814);

std::string task_name() { return asyncio::current_task().get_name(); }

asyncio::Coro<double> small_step() {
  asyncio::EventLoop& loop = asyncio::get_running_loop();
  const double sleep_time = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  std::printf("  t=%.3f %s: small_step sleeps %.3f s\n", loop.time(), task_name().c_str(), sleep_time);
  const double t1 = loop.time();
  co_await asyncio::sleep(sleep_time);
  // The loop counts whole nanoseconds, so the delay was rounded to the nearest one.
  if (loop.time() - t1 < sleep_time - 1e-9) throw tour::AssertionError("睡眠时间不足 (slept too little)");
  co_return sleep_time;
}

asyncio::Coro<double> big_step() { co_return co_await small_step(); }

asyncio::Coro<double> one_task() {
  const double big_result = co_await big_step();
  std::printf("  t=%.3f %s: done, slept %.3f s\n", asyncio::get_running_loop().time(), task_name().c_str(), big_result);
  co_return big_result;
}

}  // namespace

namespace tour {

void step8_event_loop() {
  heading(8, "Introducing the event loop", "引入事件循环");
  std::printf(
      "10 tasks sleep 0-1 s each; loop.call_later(0.8, stop) ends the loop. The loop runs on a virtual\n"
      "clock (LoopOptions{.clock = ClockKind::virtual_time}): it jumps to the next timer instead of\n"
      "waiting, so the story is exactly that of a real clock, told in no time.\n");

  // .debug is named only because g++ -Wextra wants every field of a designated initializer.
  asyncio::EventLoop loop(asyncio::LoopOptions{.clock = asyncio::ClockKind::virtual_time, .debug = std::nullopt});
  std::vector<asyncio::Task<double>> tasks;
  for (int i = 1; i <= 10; ++i) {
    tasks.push_back(asyncio::create_task(loop, one_task(), {.name = "task-" + std::to_string(i)}));
  }
  loop.call_later(0.8, [&loop] {
    std::printf("  t=%.3f call_later(0.8, stop) fires: loop.stop()\n", loop.time());
    loop.stop();
  });
  loop.run_forever();

  std::printf("finished before the stop:");
  for (asyncio::Task<double>& t : tasks) {
    if (t.done()) std::printf(" %s", t.get_name().c_str());
  }
  std::printf("\nstill asleep at the stop:");
  for (asyncio::Task<double>& t : tasks) {
    if (!t.done()) std::printf(" %s", t.get_name().c_str());
  }
  std::printf("\n");

  // The seed's loop just stops and forgets the sleepers. Here the loop owns pending tasks, so they
  // are cancelled and run to their end (CancelledError at their co_await), as asyncio.run() does.
  asyncio::cancel_all_tasks(loop);
  loop.close();
  int cancelled = 0;
  for (asyncio::Task<double>& t : tasks) cancelled += t.cancelled() ? 1 : 0;
  std::printf("the sleepers were then cancelled and unwound: %d task(s) cancelled\n", cancelled);
}

}  // namespace tour
