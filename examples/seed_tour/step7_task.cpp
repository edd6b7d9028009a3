// Step 7: when every level yields, the top is a generator too, and a Task drives it one step at a
// time. Then the same chain with real coroutines: Coro and co_await instead of Generator and
// yield_from, first under the seed's own Task, then under asyncio's.

#include <asyncio/asyncio.hpp>

#include <coroutine>
#include <cstdio>
#include <optional>
#include <utility>

#include "tour.hpp"

namespace {

using tour::Request;
namespace sim = tour::sim;

// --- 7a: generator-based coroutines and the seed's Task -------------------------------------------

// The seed's YieldFromAble: lets the bottom of the chain say `yield from` like every level above it.
asyncio::Generator<Request> yield_from_able(Request request) { co_yield request; }

asyncio::Generator<Request, void, int> small_step() {
  std::printf("      模拟阻塞 (small_step asks for sleep, 2)\n");
  const double t1 = sim::time();
  co_yield asyncio::yield_from(yield_from_able(Request{"sleep", sim::sleep, 2}));
  if (sim::time() - t1 < 2) throw tour::AssertionError("睡眠时间不足 (slept too little)");
  std::printf("      努力工作中 (working hard)\n");
  co_return 123;
}

asyncio::Generator<Request, void, int> big_step() {
  std::printf("    begin small_step\n");
  const int small_result = co_yield asyncio::yield_from(small_step());
  std::printf("    end small_step with %d\n", small_result);
  co_return small_result * 1000;
}

asyncio::Generator<Request, void, int> one_task() {
  std::printf("begin task\n");
  std::printf("  begin big_step\n");
  const int big_result = co_yield asyncio::yield_from(big_step());
  std::printf("  end big_step with %d\n", big_result);
  std::printf("end task\n");
  co_return big_result;
}

// The seed's Task, second version: each run() takes one step and returns, so the caller gets control
// back between steps. It still does the waiting itself, inside run(): the event loop (step 8) will
// take that over.
class GeneratorTask {
 public:
  explicit GeneratorTask(asyncio::Generator<Request, void, int> coro) : coro_(std::move(coro)) {}

  void run() {
    std::printf("------------ run()\n");
    if (!done_) {
      if (std::optional<Request> x = coro_.next()) {
        x->func(x->arg);
      } else {
        result_ = coro_.return_value();
        done_ = true;
      }
    } else {
      std::printf("task is done (result %d)\n", result_);
    }
    std::printf("------------\n");
  }

 private:
  asyncio::Generator<Request, void, int> coro_;
  bool done_ = false;
  int result_ = 0;
};

// --- 7b: Coro, co_await, and the seed's Awaitable --------------------------------------------------

class Awaitable;

// Where `yield self` puts the Awaitable for the Task to find once the coroutine has suspended, with
// the frame to resume. (Python's next send() re-enters the chain from the top, each `await` passing
// it down; a C++ chain is resumed at its innermost frame directly.)
struct Yielded {
  static inline Awaitable* value = nullptr;
  static inline std::coroutine_handle<> frame;
};

// The seed's Awaitable: `yield self` hands the awaitable itself up to the Task, which decides what to
// do with it. asyncio::Coro refuses awaitables that do not declare, with asyncio_awaiter, that they
// know how to suspend it: this one suspends the chain for CoroTask below, and would stall a real
// asyncio::Task, which never learns it is waiting.
class Awaitable {
 public:
  static constexpr bool asyncio_awaiter = true;

  explicit Awaitable(Request value) : value(value) {}

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> awaiting) noexcept {
    Yielded::value = this;
    Yielded::frame = awaiting;
  }
  void await_resume() const noexcept {}

  Request value;
};

asyncio::Coro<int> small_step_coro() {
  std::printf("      模拟阻塞 (small_step awaits Awaitable((sleep, 2)))\n");
  const double t1 = sim::time();
  co_await Awaitable(Request{"sleep", sim::sleep, 2});
  if (sim::time() - t1 < 2) throw tour::AssertionError("睡眠时间不足 (slept too little)");
  std::printf("      努力工作中 (working hard)\n");
  co_return 123;
}

asyncio::Coro<int> big_step_coro() {
  std::printf("    begin small_step\n");
  const int small_result = co_await small_step_coro();
  std::printf("    end small_step with %d\n", small_result);
  co_return small_result * 1000;
}

asyncio::Coro<int> one_task_coro() {
  std::printf("begin task\n");
  std::printf("  begin big_step\n");
  const int big_result = co_await big_step_coro();
  std::printf("  end big_step with %d\n", big_result);
  std::printf("end task\n");
  co_return big_result;
}

// The seed's last Task before the event loop: run() steps the coroutine and no longer waits at all;
// it only sees what the coroutine waits for. The time in between is the caller's.
class CoroTask {
 public:
  explicit CoroTask(asyncio::Coro<int> coro) : root_(coro.release()) {}
  CoroTask(const CoroTask&) = delete;
  CoroTask& operator=(const CoroTask&) = delete;
  ~CoroTask() {
    if (root_) root_.destroy();
  }

  void run() {
    std::printf("------------ run()\n");
    if (!done_) {
      std::coroutine_handle<> next = resume_at_ ? resume_at_ : std::coroutine_handle<>(root_);
      Yielded::value = nullptr;
      next.resume();
      if (root_.done()) {
        result_ = root_.promise().take_result();
        done_ = true;
        std::printf("the coroutine returned %d\n", result_);
      } else {
        resume_at_ = std::exchange(Yielded::frame, nullptr);
        const Request& request = Yielded::value->value;
        std::printf("the coroutine yielded Awaitable((%s, %g)); run() returns without waiting\n", request.name,
                    request.arg);
      }
    } else {
      std::printf("task is done\n");
    }
    std::printf("------------\n");
  }

 private:
  asyncio::Coro<int>::handle_type root_;
  std::coroutine_handle<> resume_at_;
  bool done_ = false;
  int result_ = 0;
};

// --- 7c: the same chain under asyncio ----------------------------------------------------------------

// asyncio::sleep is the library's Awaitable: it parks the Task on a timer of the loop.
asyncio::Coro<int> small_step_asyncio() {
  asyncio::EventLoop& loop = asyncio::get_running_loop();
  std::printf("      模拟阻塞 (small_step: co_await asyncio::sleep(2) at loop time %g)\n", loop.time());
  const double t1 = loop.time();
  co_await asyncio::sleep(2);
  if (loop.time() - t1 < 2) throw tour::AssertionError("睡眠时间不足 (slept too little)");
  std::printf("      努力工作中 (working hard, loop time %g)\n", loop.time());
  co_return 123;
}

asyncio::Coro<int> big_step_asyncio() {
  std::printf("    begin small_step\n");
  const int small_result = co_await small_step_asyncio();
  std::printf("    end small_step with %d\n", small_result);
  co_return small_result * 1000;
}

asyncio::Coro<int> one_task_asyncio() {
  std::printf("begin task\n");
  std::printf("  begin big_step\n");
  const int big_result = co_await big_step_asyncio();
  std::printf("  end big_step with %d\n", big_result);
  std::printf("end task\n");
  co_return big_result;
}

}  // namespace

namespace tour {

void step7_task() {
  heading(7, "Upgrading generator-based coroutines: Task", "基于生成器的协程的升级");

  subheading("7a. Task(one_task()), a generator chain; every level uses yield_from");
  GeneratorTask t(one_task());
  t.run();
  t.run();
  t.run();

  subheading("7b. the same chain as Coro with co_await, and the seed's Awaitable");
  CoroTask c(one_task_coro());
  c.run();
  std::printf("between two steps the caller does its own work, 10 x 0.2 s (simulated):");
  for (int i = 0; i < 10; ++i) {
    sim::other_work(0.2);
    std::printf(" 1");
  }
  std::printf("\n");
  c.run();
  c.run();

  subheading("7c. asyncio::run(one_task()): asyncio's Task, loop and sleep (virtual clock)");
  // .debug is named only because g++ -Wextra wants every field of a designated initializer.
  const asyncio::LoopOptions virtual_clock{.clock = asyncio::ClockKind::virtual_time, .debug = std::nullopt};
  const int result = asyncio::run(one_task_asyncio(), virtual_clock);
  std::printf("asyncio::run returned %d; the 2 s passed on the loop's virtual clock, in no real time\n", result);
}

}  // namespace tour
