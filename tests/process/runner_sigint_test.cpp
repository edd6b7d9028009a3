// asyncio::run / Runner and SIGINT, as CPython 3.11+'s asyncio.Runner.
// Reference: CPython 3.13 Lib/asyncio/runners.py (Runner.run, _on_sigint) and
// Lib/test/test_asyncio/test_runners.py (test_signal_install_not_supported_ok,
// test_interrupt_call_soon, test_interrupt_cancelled_task, test_interrupt_wait).
// SIGINT is raised in this process from the loop; every test checks that SIGINT's disposition and
// the mask are as before once run() has returned.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include "process/signal_test_support.hpp"
#include "support/test_support.hpp"

namespace {

using asyncio::CancelledError;
using asyncio::Coro;
using asyncio::KeyboardInterrupt;
using asyncio::testing::blocked_here;
using asyncio::testing::has_default_disposition;
using asyncio::testing::SignalStateGuard;

/// A main coroutine that raises SIGINT from a loop callback and then waits forever.
Coro<int> interrupted_main(bool* saw_cancel) {
  auto& loop = asyncio::get_running_loop();
  auto forever = loop.create_future<void>();
  loop.call_soon([] { ::raise(SIGINT); });
  try {
    co_await forever;
  } catch (const CancelledError&) {
    *saw_cancel = true;
    throw;
  }
  co_return 0;
}

TEST(RunnerSigint, ASigintCancelsTheMainTaskAndRunRaisesKeyboardInterrupt) {
  SignalStateGuard guard(SIGINT);
  ASSERT_TRUE(has_default_disposition(SIGINT));
  bool saw_cancel = false;
  EXPECT_THROW(asyncio::run(interrupted_main(&saw_cancel)), KeyboardInterrupt);
  EXPECT_TRUE(saw_cancel);
  EXPECT_TRUE(has_default_disposition(SIGINT));
  EXPECT_FALSE(blocked_here(SIGINT));
}

TEST(RunnerSigint, KeyboardInterruptIsABaseExceptionNotAStdException) {
  SignalStateGuard guard(SIGINT);
  bool saw_cancel = false;
  try {
    asyncio::run(interrupted_main(&saw_cancel));
    ADD_FAILURE() << "no exception";
  } catch (const std::exception&) {
    ADD_FAILURE() << "caught as std::exception";
  } catch (const asyncio::BaseException& e) {
    EXPECT_STREQ(e.name(), "KeyboardInterrupt");
  }
}

TEST(RunnerSigint, WhileTheMainTaskRunsSigintIsTheLoopsAndAfterTheFirstOneTheDefaultIsBack) {
  SignalStateGuard guard(SIGINT);
  bool handled_while_running = false;
  bool default_after_first = false;
  auto main = [&]() -> Coro<void> {
    handled_while_running = blocked_here(SIGINT) && !has_default_disposition(SIGINT);
    auto& loop = asyncio::get_running_loop();
    auto forever = loop.create_future<void>();
    loop.call_soon([] { ::raise(SIGINT); });
    try {
      co_await forever;
    } catch (const CancelledError&) {
      // A second SIGINT now would take the default action: terminate the process.
      default_after_first = !blocked_here(SIGINT) && has_default_disposition(SIGINT);
      throw;
    }
  };
  EXPECT_THROW(asyncio::run(main), KeyboardInterrupt);
  EXPECT_TRUE(handled_while_running);
  EXPECT_TRUE(default_after_first);
}

TEST(RunnerSigint, AMainTaskThatSwallowsTheCancellationReturnsItsResult) {
  SignalStateGuard guard(SIGINT);
  auto main = []() -> Coro<int> {
    auto& loop = asyncio::get_running_loop();
    auto forever = loop.create_future<void>();
    loop.call_soon([] { ::raise(SIGINT); });
    try {
      co_await forever;
    } catch (const CancelledError&) {
      co_return 7;
    }
    co_return 0;
  };
  EXPECT_EQ(asyncio::run(main), 7);
  EXPECT_TRUE(has_default_disposition(SIGINT));
  EXPECT_FALSE(blocked_here(SIGINT));
}

TEST(RunnerSigint, ACancellationNotCausedBySigintStaysACancelledError) {
  SignalStateGuard guard(SIGINT);
  auto main = []() -> Coro<void> {
    asyncio::current_task().cancel();
    co_await asyncio::sleep(0);
  };
  EXPECT_THROW(asyncio::run(main), CancelledError);
  EXPECT_TRUE(has_default_disposition(SIGINT));
}

TEST(RunnerSigint, ARunnerCanRunAgainAfterAKeyboardInterrupt) {
  SignalStateGuard guard(SIGINT);
  asyncio::Runner runner;
  bool saw_cancel = false;
  EXPECT_THROW(runner.run(interrupted_main(&saw_cancel)), KeyboardInterrupt);
  saw_cancel = false;
  EXPECT_THROW(runner.run(interrupted_main(&saw_cancel)), KeyboardInterrupt);  // handled again
  EXPECT_TRUE(saw_cancel);
  EXPECT_EQ(runner.run([]() -> Coro<int> { co_return 5; }), 5);
  runner.close();
  EXPECT_TRUE(has_default_disposition(SIGINT));
  EXPECT_FALSE(blocked_here(SIGINT));
}

volatile sig_atomic_t user_handler_calls = 0;
void count_sigint(int) { user_handler_calls = user_handler_calls + 1; }

TEST(RunnerSigint, WithAUserSigintHandlerRunLeavesSigintAlone) {
  SignalStateGuard guard(SIGINT);
  ::signal(SIGINT, &count_sigint);
  user_handler_calls = 0;
  auto main = []() -> Coro<int> {
    ::raise(SIGINT);  // runs the user's handler at once: SIGINT is not blocked
    co_await asyncio::sleep(0);
    co_return 3;
  };
  EXPECT_EQ(asyncio::run(main), 3);
  EXPECT_EQ(user_handler_calls, 1);
}

TEST(RunnerSigint, WithSigintBlockedByTheProgramRunLeavesSigintAlone) {
  SignalStateGuard guard(SIGINT);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, SIGINT);
  pthread_sigmask(SIG_BLOCK, &one, nullptr);
  bool untouched = false;
  auto main = [&]() -> Coro<void> {
    untouched = has_default_disposition(SIGINT);
    co_return;
  };
  asyncio::run(main);
  EXPECT_TRUE(untouched);
  EXPECT_TRUE(blocked_here(SIGINT));
}

TEST(RunnerSigint, AUserLoopHandlerForSigintReplacesTheRunnersAndIsNotRemovedByIt) {
  SignalStateGuard guard(SIGINT);
  int user_calls = 0;
  asyncio::Runner runner;
  auto main = [&]() -> Coro<int> {
    auto& loop = asyncio::get_running_loop();
    auto got = loop.create_future<void>();
    loop.add_signal_handler(SIGINT, [&] {
      ++user_calls;
      got.set_result();
    });
    ::raise(SIGINT);
    co_await got;
    co_return 1;
  };
  EXPECT_EQ(runner.run(main), 1);
  EXPECT_EQ(user_calls, 1);
  EXPECT_TRUE(blocked_here(SIGINT));  // the user's handler is still set on the runner's loop
  runner.close();                     // closing the loop removes it
  EXPECT_FALSE(blocked_here(SIGINT));
  EXPECT_TRUE(has_default_disposition(SIGINT));
}

using RunnerSigintDeathTest = ::testing::Test;

TEST(RunnerSigintDeathTest, ASecondSigintTerminatesTheProcess) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto twice = []() -> Coro<void> {
    auto& loop = asyncio::get_running_loop();
    auto forever = loop.create_future<void>();
    loop.call_soon([] { ::raise(SIGINT); });
    try {
      co_await forever;
    } catch (const CancelledError&) {
      ::raise(SIGINT);  // the default action now: the process ends here
    }
  };
  EXPECT_EXIT(asyncio::run(twice), ::testing::KilledBySignal(SIGINT), "");
}

}  // namespace
