// run_coroutine_threadsafe and ConcurrentFuture (CPython 3.13 tasks.run_coroutine_threadsafe and
// concurrent.futures.Future are the reference).

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/test_support.hpp"

namespace {

using asyncio::CancelledError;
using asyncio::ConcurrentFuture;
using asyncio::Coro;
using asyncio::EventLoop;
using asyncio::Future;
using asyncio::testing::run_virtual;
using asyncio::testing::virtual_clock;

/// Runs a loop on the virtual clock in this thread and `body(loop)` in another thread meanwhile;
/// returns once the body is done.
template <class F>
void with_foreign_thread(F body) {
  run_virtual([&body]() -> Coro<void> {
    EventLoop& loop = asyncio::get_running_loop();
    Future<void> finished = loop.create_future<void>();
    std::thread other([&] {
      body(loop);
      loop.call_soon_threadsafe([&finished] { finished.set_result(); });
    });
    struct Join {
      std::thread& t;
      ~Join() { t.join(); }
    } join{other};
    co_await finished;
  });
}

Coro<int> compute(int x) {
  co_await asyncio::sleep(5);
  co_return x * 2;
}

Coro<int> fail_later() {
  co_await asyncio::sleep(1);
  throw std::runtime_error("failed on the loop");
}

Coro<int> immediate(int x) { co_return x; }

/// Signals `started`, then waits for a future nobody completes; records a cancellation.
Coro<int> wait_forever(std::promise<void>* started, std::atomic<bool>* saw_cancel) {
  Future<int> never = asyncio::get_running_loop().create_future<int>();
  started->set_value();
  try {
    co_return co_await never;
  } catch (const CancelledError&) {
    saw_cancel->store(true);
    throw;
  }
}

/// Publishes a future nobody else completes, waits for it and returns twice its value.
Coro<int> double_of_gate(std::promise<Future<int>*>* ready) {
  Future<int> gate = asyncio::get_running_loop().create_future<int>();
  ready->set_value(&gate);
  const int v = co_await gate;
  co_return v * 2;
}

TEST(RunCoroutineThreadsafe, ResultFromAnotherThreadIsTheCoroutinesResult) {
  int got = 0;
  with_foreign_thread([&got](EventLoop& loop) { got = asyncio::run_coroutine_threadsafe(compute(21), loop).result(); });
  EXPECT_EQ(got, 42);
}

TEST(RunCoroutineThreadsafe, TheCoroutineRunsInATaskOnTheLoopsThread) {
  std::thread::id caller_thread;
  std::thread::id coro_thread;
  bool in_task = false;
  with_foreign_thread([&](EventLoop& loop) {
    auto probe = [&]() -> Coro<void> {
      coro_thread = std::this_thread::get_id();
      in_task = static_cast<bool>(asyncio::current_task());
      co_return;
    };
    asyncio::run_coroutine_threadsafe(probe(), loop).result();
    caller_thread = std::this_thread::get_id();
  });
  EXPECT_EQ(coro_thread, std::this_thread::get_id());
  EXPECT_NE(caller_thread, coro_thread);
  EXPECT_TRUE(in_task);
}

TEST(RunCoroutineThreadsafe, TheCoroutinesExceptionIsRethrownByResult) {
  std::string what;
  with_foreign_thread([&what](EventLoop& loop) {
    auto fut = asyncio::run_coroutine_threadsafe(fail_later(), loop);
    try {
      fut.result();
    } catch (const std::runtime_error& e) {
      what = e.what();
    }
  });
  EXPECT_EQ(what, "failed on the loop");
}

TEST(RunCoroutineThreadsafe, ExceptionReturnsTheCoroutinesException) {
  std::exception_ptr error;
  with_foreign_thread(
      [&error](EventLoop& loop) { error = asyncio::run_coroutine_threadsafe(fail_later(), loop).exception(); });
  ASSERT_NE(error, nullptr);
  EXPECT_THROW(std::rethrow_exception(error), std::runtime_error);
}

TEST(RunCoroutineThreadsafe, CancellingTheConcurrentFutureCancelsTheTaskOnTheLoop) {
  std::atomic<bool> saw_cancel{false};
  bool result_raised = false;
  bool cancelled = false;
  with_foreign_thread([&](EventLoop& loop) {
    std::promise<void> started;
    auto fut = asyncio::run_coroutine_threadsafe(wait_forever(&started, &saw_cancel), loop);
    started.get_future().wait();
    EXPECT_TRUE(fut.cancel());
    try {
      fut.result();
    } catch (const CancelledError&) {
      result_raised = true;
    }
    cancelled = fut.cancelled();
  });
  EXPECT_TRUE(saw_cancel.load());
  EXPECT_TRUE(result_raised);
  EXPECT_TRUE(cancelled);
}

/// Records its start, then waits for a future nobody completes; records a cancellation.
Coro<int> wait_until_cancelled(std::atomic<bool>* started, std::atomic<bool>* saw_cancel) {
  started->store(true);
  Future<int> never = asyncio::get_running_loop().create_future<int>();
  try {
    co_return co_await never;
  } catch (const CancelledError&) {
    saw_cancel->store(true);
    throw;
  }
}

/// The CPUs this thread may run on.
std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (pthread_getaffinity_np(pthread_self(), sizeof set, &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

/// Pins the calling thread to `cpu` (none: -1); restores the previous affinity when destroyed.
class PinToCpu {
 public:
  explicit PinToCpu(int cpu) {
    if (cpu < 0 || pthread_getaffinity_np(pthread_self(), sizeof previous_, &previous_) != 0) return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    pinned_ = pthread_setaffinity_np(pthread_self(), sizeof one, &one) == 0;
  }
  ~PinToCpu() {
    if (pinned_) pthread_setaffinity_np(pthread_self(), sizeof previous_, &previous_);
  }
  PinToCpu(const PinToCpu&) = delete;
  PinToCpu& operator=(const PinToCpu&) = delete;

 private:
  cpu_set_t previous_{};
  bool pinned_ = false;
};

TEST(RunCoroutineThreadsafe, CancelAsSoonAsTheFutureIsRunningStillCancelsTheTask) {
  // cancel() may come at any moment once running() is true, including while the loop thread is
  // still creating the task: the task must be cancelled every time. The two threads are kept on
  // two different CPUs (when there are two), where the cancel lands in that moment most often.
  constexpr int kAttempts = 200;
  const std::vector<int> cpus = allowed_cpus();
  const int other_cpu = cpus.size() >= 2 ? cpus[1] : -1;
  PinToCpu loop_cpu(cpus.size() >= 2 ? cpus[0] : -1);
  std::vector<std::unique_ptr<std::atomic<bool>>> saw_cancel;  // outlive the loop
  for (int i = 0; i < kAttempts; ++i) saw_cancel.push_back(std::make_unique<std::atomic<bool>>(false));
  std::atomic<bool> started{false};
  const int missed = run_virtual([&saw_cancel, &started, other_cpu]() -> Coro<int> {
    EventLoop& loop = asyncio::get_running_loop();
    Future<void> finished = loop.create_future<void>();
    std::thread other([&] {
      PinToCpu pin(other_cpu);
      for (auto& flag : saw_cancel) {
        started = false;
        auto fut = asyncio::run_coroutine_threadsafe(wait_until_cancelled(&started, flag.get()), loop);
        while (!fut.running() && !started.load()) {  // cancel as soon as the loop took the job up
        }
        fut.cancel();
        try {
          fut.result();
        } catch (const CancelledError&) {
        }
      }
      loop.call_soon_threadsafe([&finished] { finished.set_result(); });
    });
    struct Join {
      std::thread& t;
      ~Join() { t.join(); }
    } join{other};
    co_await finished;
    for (int i = 0; i < 3; ++i) co_await asyncio::sleep(0);  // cancellations still on their way land
    int missed = 0;
    for (auto& flag : saw_cancel) missed += flag->load() ? 0 : 1;
    co_return missed;
  });
  EXPECT_EQ(missed, 0) << "of " << kAttempts << " cancelled ConcurrentFutures";
}

TEST(RunCoroutineThreadsafe, CancelBeforeTheLoopStartsTheTaskNeverRunsTheCoroutine) {
  EventLoop loop(virtual_clock());
  bool ran = false;
  auto body = [&ran]() -> Coro<int> {
    ran = true;
    co_return 1;
  };
  ConcurrentFuture<int> fut = asyncio::run_coroutine_threadsafe(body(), loop);
  EXPECT_TRUE(fut.cancel());
  EXPECT_TRUE(fut.cancelled());
  loop.run_once();  // runs the posted start, which sees the cancellation
  loop.call_soon([] {});
  loop.run_once();  // (one more iteration, for a step the start may have scheduled)
  EXPECT_FALSE(ran);
  EXPECT_THROW(fut.result(), CancelledError);
}

TEST(RunCoroutineThreadsafe, ConcurrentFutureIsNotDoneUntilTheTaskFinishes) {
  EventLoop loop(virtual_clock());
  ConcurrentFuture<int> fut = asyncio::run_coroutine_threadsafe(immediate(4), loop);
  EXPECT_FALSE(fut.done());
  loop.run_once();  // the posted callback creates the task
  EXPECT_FALSE(fut.done());
  loop.run_once();  // the task's step
  loop.run_once();  // its done-callback settles the ConcurrentFuture
  EXPECT_TRUE(fut.done());
  EXPECT_FALSE(fut.running());
  EXPECT_EQ(fut.result(), 4);
}

TEST(RunCoroutineThreadsafe, CancelOfADoneConcurrentFutureReturnsFalse) {
  EventLoop loop(virtual_clock());
  ConcurrentFuture<int> fut = asyncio::run_coroutine_threadsafe(immediate(4), loop);
  for (int i = 0; i < 3; ++i) loop.run_once();
  ASSERT_TRUE(fut.done());
  EXPECT_FALSE(fut.cancel());
  EXPECT_EQ(fut.result(), 4);
}

TEST(RunCoroutineThreadsafe, ResultWithATimeoutRaisesTimeoutErrorWhenNotDone) {
  EventLoop loop(virtual_clock());  // never run: the coroutine cannot complete
  ConcurrentFuture<int> fut = asyncio::run_coroutine_threadsafe(immediate(1), loop);
  EXPECT_THROW(fut.result(std::chrono::milliseconds(1)), asyncio::TimeoutError);
  EXPECT_FALSE(fut.done());
}

TEST(RunCoroutineThreadsafe, ResultWithATimeoutReturnsTheResultOfADoneFuture) {
  EventLoop loop(virtual_clock());
  ConcurrentFuture<int> fut = asyncio::run_coroutine_threadsafe(immediate(6), loop);
  for (int i = 0; i < 3; ++i) loop.run_once();
  EXPECT_EQ(fut.result(std::chrono::milliseconds(0)), 6);
}

TEST(RunCoroutineThreadsafe, AddDoneCallbackRunsOnceWhenTheFutureIsDone) {
  std::atomic<int> calls{0};
  int value = 0;
  std::thread::id callback_thread;
  with_foreign_thread([&](EventLoop& loop) {
    std::promise<void> called;
    std::promise<Future<int>*> ready;
    auto fut = asyncio::run_coroutine_threadsafe(double_of_gate(&ready), loop);
    Future<int>* gate = ready.get_future().get();
    fut.add_done_callback([&](ConcurrentFuture<int>& f) {
      value = f.result();
      callback_thread = std::this_thread::get_id();
      if (calls.fetch_add(1) == 0) called.set_value();
    });
    EXPECT_FALSE(fut.done());
    loop.call_soon_threadsafe([gate] { gate->set_result(3); });
    called.get_future().wait();
    EXPECT_TRUE(fut.done());
  });
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(value, 6);
  EXPECT_EQ(callback_thread, std::this_thread::get_id());  // the loop's thread completed it
}

TEST(RunCoroutineThreadsafe, AddDoneCallbackOnADoneFutureRunsAtOnceInTheCallingThread) {
  EventLoop loop(virtual_clock());
  ConcurrentFuture<int> fut = asyncio::run_coroutine_threadsafe(immediate(2), loop);
  for (int i = 0; i < 3; ++i) loop.run_once();
  ASSERT_TRUE(fut.done());
  int seen = 0;
  fut.add_done_callback([&seen](ConcurrentFuture<int>& f) { seen = f.result(); });
  EXPECT_EQ(seen, 2);
}

TEST(RunCoroutineThreadsafe, RunCoroutineThreadsafeOnAClosedLoopIsRuntimeError) {
  EventLoop loop(virtual_clock());
  loop.close();
  EXPECT_THROW((void)asyncio::run_coroutine_threadsafe(immediate(1), loop), asyncio::RuntimeError);
}

TEST(RunCoroutineThreadsafe, ManyThreadsCanSubmitToOneLoop) {
  constexpr int kThreads = 4;
  constexpr int kEach = 25;
  std::atomic<int> sum{0};
  run_virtual([&sum]() -> Coro<void> {
    EventLoop& loop = asyncio::get_running_loop();
    std::atomic<int> remaining{kThreads};
    Future<void> all_done = loop.create_future<void>();
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        for (int i = 1; i <= kEach; ++i) sum += asyncio::run_coroutine_threadsafe(immediate(i), loop).result();
        if (remaining.fetch_sub(1) == 1) loop.call_soon_threadsafe([&all_done] { all_done.set_result(); });
      });
    }
    struct JoinAll {
      std::vector<std::thread>& ts;
      ~JoinAll() {
        for (std::thread& t : ts) t.join();
      }
    } join{threads};
    co_await all_done;
  });
  EXPECT_EQ(sum.load(), kThreads * kEach * (kEach + 1) / 2);
}

}  // namespace
