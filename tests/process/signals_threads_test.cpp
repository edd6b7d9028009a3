// add_signal_handler with other threads in the process: a signal that another thread receives
// (it does not block it) is forwarded to the loop's thread and read by the loop's signalfd.

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "process/signal_test_support.hpp"
#include "support/test_support.hpp"

namespace {

/// A thread that waits, with SIGUSR1 unblocked, until released. It waits in pthread_cond_wait:
/// ThreadSanitizer runs a signal handler only when the thread is in a call it knows to block
/// (libstdc++'s std::future waits on a raw futex, where the handler would be deferred forever).
class IdleThread {
 public:
  IdleThread() {
    thread_ = std::thread([this] {
      std::unique_lock lock(mutex_);
      started_ = true;
      sigusr1_unblocked_ = !asyncio::testing::blocked_here(SIGUSR1);
      changed_.notify_all();
      changed_.wait(lock, [this] { return released_; });
    });
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return started_; });
  }
  ~IdleThread() {
    {
      std::lock_guard lock(mutex_);
      released_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }
  IdleThread(const IdleThread&) = delete;
  IdleThread& operator=(const IdleThread&) = delete;

  [[nodiscard]] bool sigusr1_unblocked() {
    std::lock_guard lock(mutex_);
    return sigusr1_unblocked_;
  }
  pthread_t native_handle() { return thread_.native_handle(); }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool started_ = false;
  bool released_ = false;
  bool sigusr1_unblocked_ = false;
  std::thread thread_;
};

using asyncio::Coro;
using asyncio::EventLoop;
using asyncio::testing::blocked_here;
using asyncio::testing::has_default_disposition;
using asyncio::testing::SignalStateGuard;

TEST(SignalThreads, ASignalDirectedAtAThreadThatDoesNotBlockItReachesTheLoop) {
  SignalStateGuard guard(SIGUSR1);
  IdleThread other;  // started before the handler is set: it does not inherit the blocked mask
  ASSERT_TRUE(other.sigusr1_unblocked());

  EventLoop loop;
  int calls = 0;
  loop.add_signal_handler(SIGUSR1, [&] {
    ++calls;
    loop.stop();
  });
  ASSERT_EQ(::pthread_kill(other.native_handle(), SIGUSR1), 0);  // delivered there, not here
  loop.run_forever();
  EXPECT_EQ(calls, 1);
  loop.close();
  EXPECT_TRUE(has_default_disposition(SIGUSR1));
}

TEST(SignalThreads, AProcessDirectedSignalReachesTheLoopWhileAnotherThreadRuns) {
  SignalStateGuard guard(SIGUSR1);
  IdleThread other;

  EventLoop loop;
  int calls = 0;
  loop.add_signal_handler(SIGUSR1, [&] {
    ++calls;
    loop.stop();
  });
  ::kill(::getpid(), SIGUSR1);  // the kernel picks a thread that does not block it: the other one
  loop.run_forever();
  EXPECT_EQ(calls, 1);
  loop.close();
}

TEST(SignalThreads, ALoopInAnotherThreadCanHandleSignals) {
  int calls = 0;
  bool restored = false;
  std::thread runner([&] {
    SignalStateGuard guard(SIGUSR2);
    EventLoop loop;
    loop.add_signal_handler(SIGUSR2, [&] {
      ++calls;
      loop.stop();
    });
    ::raise(SIGUSR2);  // this thread
    loop.run_forever();
    loop.close();
    restored = !blocked_here(SIGUSR2) && has_default_disposition(SIGUSR2);
  });
  runner.join();
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(restored);
}

TEST(SignalThreads, AsyncioRunOffTheMainThreadLeavesSigintAlone) {
  bool untouched = false;
  std::thread other([&] {
    asyncio::run([&]() -> Coro<void> {
      untouched = has_default_disposition(SIGINT) && !blocked_here(SIGINT);
      co_return;
    });
  });
  other.join();
  EXPECT_TRUE(untouched);
}

}  // namespace
