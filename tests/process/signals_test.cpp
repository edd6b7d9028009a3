// loop.add_signal_handler / remove_signal_handler on a signalfd.
// Reference: CPython 3.13 Lib/asyncio/unix_events.py and Lib/test/test_asyncio/test_unix_events.py
// (SelectorEventLoopSignalTests). Signals are sent to this process (kill, raise) before the loop
// looks, so no test waits for time; every test leaves masks and dispositions as it found them.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "process/signal_test_support.hpp"
#include "support/test_support.hpp"

namespace {

using asyncio::Coro;
using asyncio::EventLoop;
using asyncio::testing::blocked_here;
using asyncio::testing::HandlerCapture;
using asyncio::testing::has_default_disposition;
using asyncio::testing::is_ignored;
using asyncio::testing::SignalStateGuard;

TEST(Signals, AHandlerRunsWhenTheProcessReceivesTheSignal) {
  SignalStateGuard guard(SIGUSR1);
  int calls = 0;
  asyncio::run([&]() -> Coro<void> {
    EventLoop& loop = asyncio::get_running_loop();
    auto got = loop.create_future<void>();
    loop.add_signal_handler(SIGUSR1, [&] {
      ++calls;
      got.set_result();
    });
    ::kill(::getpid(), SIGUSR1);
    co_await got;
    EXPECT_TRUE(loop.remove_signal_handler(SIGUSR1));
  });
  EXPECT_EQ(calls, 1);
}

TEST(Signals, TheHandlerRunsAsALoopCallbackNotInsideTheSignal) {
  SignalStateGuard guard(SIGUSR1);
  EventLoop loop;
  bool ran = false;
  bool loop_was_running = false;
  loop.add_signal_handler(SIGUSR1, [&] {
    ran = true;
    loop_was_running = asyncio::detail::running_loop() == &loop;
    loop.stop();
  });
  ::raise(SIGUSR1);
  EXPECT_FALSE(ran);  // blocked: nothing ran inside raise()
  loop.run_forever();
  EXPECT_TRUE(ran);
  EXPECT_TRUE(loop_was_running);
  loop.close();
}

TEST(Signals, AHandlerSetDoesNotMakeEveryBusyIterationPollTheBackend) {
  // The signalfd is a passive descriptor: with callbacks ready, it is polled every
  // kPassivePollInterval-th iteration only (a poll is a system call per task switch otherwise).
  SignalStateGuard guard(SIGUSR1);
  EventLoop loop;
  loop.add_signal_handler(SIGUSR1, [] {});
  int left = 640;
  std::function<void()> spin = [&] {
    if (--left > 0) loop.call_soon(spin);
  };
  loop.call_soon(spin);
  const asyncio::LoopStats before = loop.stats();
  while (left > 0) loop.run_once();
  const asyncio::LoopStats after = loop.stats();
  EXPECT_EQ(after.iterations - before.iterations, 640u);
  EXPECT_LE(after.polls - before.polls, 640u / 64 + 1);
  EXPECT_TRUE(loop.remove_signal_handler(SIGUSR1));
  loop.close();
}

TEST(Signals, ASignalReachesItsHandlerWhileCallbacksKeepTheLoopBusy) {
  SignalStateGuard guard(SIGUSR1);
  EventLoop loop;
  bool handled = false;
  loop.add_signal_handler(SIGUSR1, [&] { handled = true; });
  std::function<void()> spin = [&] {
    if (!handled) loop.call_soon(spin);
  };
  loop.call_soon(spin);
  ::raise(SIGUSR1);
  int iterations = 0;
  while (!handled && iterations < 1000) {
    loop.run_once();
    ++iterations;
  }
  EXPECT_TRUE(handled);
  EXPECT_LE(iterations, 64 + 2);  // polled within kPassivePollInterval busy iterations
  loop.close();
}

TEST(Signals, AnActiveDescriptorIsStillPolledOnEveryBusyIteration) {
  SignalStateGuard guard(SIGUSR1);
  EventLoop loop;
  loop.add_signal_handler(SIGUSR1, [] {});
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  loop.add_reader(fds[0], [] {});
  int left = 100;
  std::function<void()> spin = [&] {
    if (--left > 0) loop.call_soon(spin);
  };
  loop.call_soon(spin);
  const asyncio::LoopStats before = loop.stats();
  while (left > 0) loop.run_once();
  EXPECT_EQ(loop.stats().polls - before.polls, loop.stats().iterations - before.iterations);
  EXPECT_TRUE(loop.remove_reader(fds[0]));
  ::close(fds[0]);
  ::close(fds[1]);
  loop.close();
}

TEST(Signals, AHandlerGetsItsArguments) {
  SignalStateGuard guard(SIGUSR1);
  EventLoop loop;
  std::vector<std::string> seen;
  loop.add_signal_handler(
      SIGUSR1,
      [&](int n, const std::string& s) {
        seen = {std::to_string(n), s};
        loop.stop();
      },
      42, std::string("usr1"));
  ::raise(SIGUSR1);
  loop.run_forever();
  EXPECT_EQ(seen, (std::vector<std::string>{"42", "usr1"}));
  loop.close();
}

TEST(Signals, EachSignalOfTwoHandledOnesReachesItsOwnHandler) {
  SignalStateGuard g1(SIGUSR1);
  SignalStateGuard g2(SIGUSR2);
  EventLoop loop;
  std::vector<int> seen;
  loop.add_signal_handler(SIGUSR1, [&] { seen.push_back(SIGUSR1); });
  loop.add_signal_handler(SIGUSR2, [&] {
    seen.push_back(SIGUSR2);
    loop.stop();
  });
  ::raise(SIGUSR1);
  ::raise(SIGUSR2);
  loop.run_forever();
  EXPECT_EQ(seen, (std::vector<int>{SIGUSR1, SIGUSR2}));  // signalfd gives the lower number first
  loop.close();
}

TEST(Signals, RemoveSignalHandlerReturnsTrueOnceThenFalse) {
  SignalStateGuard guard(SIGUSR1);
  EventLoop loop;
  EXPECT_FALSE(loop.remove_signal_handler(SIGUSR1));  // never set
  loop.add_signal_handler(SIGUSR1, [] {});
  EXPECT_TRUE(loop.remove_signal_handler(SIGUSR1));
  EXPECT_FALSE(loop.remove_signal_handler(SIGUSR1));
  EXPECT_FALSE(loop.remove_signal_handler(SIGKILL));  // valid number, never handled (as CPython)
  loop.close();
}

TEST(Signals, RemovingOneHandlerLeavesTheOtherWorking) {
  SignalStateGuard g1(SIGUSR1);
  SignalStateGuard g2(SIGUSR2);
  EventLoop loop;
  int usr2 = 0;
  loop.add_signal_handler(SIGUSR1, [] {});
  loop.add_signal_handler(SIGUSR2, [&] {
    ++usr2;
    loop.stop();
  });
  EXPECT_TRUE(loop.remove_signal_handler(SIGUSR1));
  EXPECT_FALSE(blocked_here(SIGUSR1));
  ::raise(SIGUSR2);
  loop.run_forever();
  EXPECT_EQ(usr2, 1);
  loop.close();
}

TEST(Signals, AddingAHandlerAgainReplacesItAndReleasesTheOldOne) {
  SignalStateGuard guard(SIGUSR1);
  EventLoop loop;
  auto token = std::make_shared<int>(0);
  int first = 0;
  int second = 0;
  loop.add_signal_handler(SIGUSR1, [&first, token] { ++first; });
  EXPECT_EQ(token.use_count(), 2);
  loop.add_signal_handler(SIGUSR1, [&] {
    ++second;
    loop.stop();
  });
  EXPECT_EQ(token.use_count(), 1);
  ::raise(SIGUSR1);
  loop.run_forever();
  EXPECT_EQ(first, 0);
  EXPECT_EQ(second, 1);
  EXPECT_TRUE(blocked_here(SIGUSR1));  // still handled
  loop.close();
}

TEST(Signals, InvalidSignalNumbersRaiseValueError) {
  EventLoop loop;
  for (int sig : {0, -1, NSIG, 1000, 32, 33}) {  // 32 and 33: glibc's own real-time signals
    EXPECT_THROW(loop.add_signal_handler(sig, [] {}), asyncio::ValueError) << sig;
    EXPECT_THROW(loop.remove_signal_handler(sig), asyncio::ValueError) << sig;
  }
  loop.close();
}

TEST(Signals, SigkillAndSigstopCannotBeCaughtAndRaiseRuntimeError) {
  EventLoop loop;
  try {
    loop.add_signal_handler(SIGKILL, [] {});
    ADD_FAILURE() << "no exception";
  } catch (const asyncio::RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()), "sig 9 cannot be caught");
  }
  EXPECT_THROW(loop.add_signal_handler(SIGSTOP, [] {}), asyncio::RuntimeError);
  loop.close();
}

TEST(Signals, AddSignalHandlerOnAClosedLoopRaisesRuntimeError) {
  EventLoop loop;
  loop.close();
  EXPECT_THROW(loop.add_signal_handler(SIGUSR1, [] {}), asyncio::RuntimeError);
  EXPECT_FALSE(loop.remove_signal_handler(SIGUSR1));
  EXPECT_TRUE(has_default_disposition(SIGUSR1));
}

TEST(Signals, TheSignalIsBlockedWhileAHandlerIsSetAndUnblockedAfterRemove) {
  SignalStateGuard guard(SIGUSR1);
  EventLoop loop;
  ASSERT_FALSE(blocked_here(SIGUSR1));
  ASSERT_TRUE(has_default_disposition(SIGUSR1));
  loop.add_signal_handler(SIGUSR1, [] {});
  EXPECT_TRUE(blocked_here(SIGUSR1));
  EXPECT_FALSE(has_default_disposition(SIGUSR1));  // the forwarder (see loop/signal_watch.hpp)
  loop.remove_signal_handler(SIGUSR1);
  EXPECT_FALSE(blocked_here(SIGUSR1));
  EXPECT_TRUE(has_default_disposition(SIGUSR1));
  loop.close();
}

TEST(Signals, ClosingTheLoopRemovesTheHandlersAndRestoresMaskAndDisposition) {
  SignalStateGuard g1(SIGUSR1);
  SignalStateGuard g2(SIGUSR2);
  auto token = std::make_shared<int>(0);
  EventLoop loop;
  loop.add_signal_handler(SIGUSR1, [token] {});
  loop.add_signal_handler(SIGUSR2, [token] {});
  loop.close();
  EXPECT_EQ(token.use_count(), 1);
  EXPECT_FALSE(blocked_here(SIGUSR1));
  EXPECT_FALSE(blocked_here(SIGUSR2));
  EXPECT_TRUE(has_default_disposition(SIGUSR1));
  EXPECT_TRUE(has_default_disposition(SIGUSR2));
  EXPECT_FALSE(loop.remove_signal_handler(SIGUSR1));
}

TEST(Signals, DestroyingTheLoopRestoresMaskAndDisposition) {
  SignalStateGuard guard(SIGUSR1);
  {
    EventLoop loop;
    loop.add_signal_handler(SIGUSR1, [] {});
  }
  EXPECT_FALSE(blocked_here(SIGUSR1));
  EXPECT_TRUE(has_default_disposition(SIGUSR1));
}

TEST(Signals, AsyncioRunRestoresMaskAndDispositionOfAHandlerLeftSet) {
  SignalStateGuard guard(SIGUSR1);
  asyncio::run([]() -> Coro<void> {
    asyncio::get_running_loop().add_signal_handler(SIGUSR1, [] {});
    co_return;
  });
  EXPECT_FALSE(blocked_here(SIGUSR1));
  EXPECT_TRUE(has_default_disposition(SIGUSR1));
}

TEST(Signals, ASignalTheProgramHadBlockedStaysBlockedAfterRemove) {
  SignalStateGuard guard(SIGUSR1);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &one, nullptr);
  EventLoop loop;
  loop.add_signal_handler(SIGUSR1, [] {});
  loop.remove_signal_handler(SIGUSR1);
  EXPECT_TRUE(blocked_here(SIGUSR1));
  loop.close();
}

TEST(Signals, RemoveRestoresThePreviousDisposition) {
  SignalStateGuard guard(SIGUSR1);
  ::signal(SIGUSR1, SIG_IGN);
  EventLoop loop;
  loop.add_signal_handler(SIGUSR1, [] {});
  EXPECT_FALSE(is_ignored(SIGUSR1));
  loop.remove_signal_handler(SIGUSR1);
  EXPECT_TRUE(is_ignored(SIGUSR1));
  loop.close();
}

TEST(Signals, ASignalPendingWhenTheHandlerIsRemovedIsDiscarded) {
  // SIGUSR1's default action would end the test process if the pending instance were delivered.
  SignalStateGuard guard(SIGUSR1);
  EventLoop loop;
  int calls = 0;
  loop.add_signal_handler(SIGUSR1, [&] { ++calls; });
  ::raise(SIGUSR1);
  EXPECT_TRUE(loop.remove_signal_handler(SIGUSR1));
  sigset_t pending;
  sigpending(&pending);
  EXPECT_EQ(sigismember(&pending, SIGUSR1), 0);
  loop.call_soon([] {});
  loop.run_once();
  EXPECT_EQ(calls, 0);
  loop.close();
}

TEST(Signals, AHandlerRemovedAfterTheSignalWasReadButBeforeItsCallRanDoesNotRun) {
  SignalStateGuard guard(SIGUSR1);
  EventLoop loop;
  int calls = 0;
  loop.add_signal_handler(SIGUSR1, [&] { ++calls; });
  ::raise(SIGUSR1);
  loop.run_once();  // the signalfd is read; the handler's call is scheduled for the next iteration
  EXPECT_EQ(calls, 0);
  loop.remove_signal_handler(SIGUSR1);
  loop.call_soon([] {});
  loop.run_once();
  EXPECT_EQ(calls, 0);
  loop.close();
}

TEST(Signals, AHandlerThatRemovesItselfKeepsItsCapturesUntilItReturns) {
  SignalStateGuard guard(SIGUSR1);
  EventLoop loop;
  auto token = std::make_shared<int>(7);
  int seen = 0;
  loop.add_signal_handler(SIGUSR1, [&loop, &seen, token] {
    loop.remove_signal_handler(SIGUSR1);
    seen = *token;  // the closure is still alive
    loop.stop();
  });
  ::raise(SIGUSR1);
  loop.run_forever();
  EXPECT_EQ(seen, 7);
  EXPECT_EQ(token.use_count(), 1);
  EXPECT_FALSE(blocked_here(SIGUSR1));
  loop.close();
}

TEST(Signals, AHandlerThatThrowsGoesToTheExceptionHandlerAndStaysSet) {
  SignalStateGuard guard(SIGUSR1);
  EventLoop loop;
  HandlerCapture capture(loop);
  int calls = 0;
  loop.add_signal_handler(SIGUSR1, [&] {
    ++calls;
    loop.stop();
    throw std::runtime_error("handler failed");
  });
  ::raise(SIGUSR1);
  loop.run_forever();
  ::raise(SIGUSR1);
  loop.run_forever();
  EXPECT_EQ(calls, 2);
  ASSERT_EQ(capture.contexts().size(), 2u);
  EXPECT_EQ(capture.contexts()[0].message, "Exception in callback");
  loop.close();
}

TEST(Signals, ASignalHandledByOneLoopCannotBeTakenByAnother) {
  SignalStateGuard guard(SIGUSR1);
  EventLoop first;
  EventLoop second;
  first.add_signal_handler(SIGUSR1, [] {});
  EXPECT_THROW(second.add_signal_handler(SIGUSR1, [] {}), asyncio::RuntimeError);
  first.remove_signal_handler(SIGUSR1);
  second.add_signal_handler(SIGUSR1, [] {});
  EXPECT_TRUE(second.remove_signal_handler(SIGUSR1));
  first.close();
  second.close();
}

}  // namespace
