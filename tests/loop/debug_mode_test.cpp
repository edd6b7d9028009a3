// Debug mode: how it is turned on (set_debug, LoopOptions::debug, ASYNCIO_DEBUG) and the reports
// of slow callbacks. The check of calls from another thread is in threadsafe_test.cpp.
// Reference: CPython 3.13 BaseEventLoop.set_debug, slow_callback_duration, PYTHONASYNCIODEBUG.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>

#include "support/test_support.hpp"

using asyncio::ClockKind;
using asyncio::EventLoop;
using asyncio::LogLevel;
using asyncio::LoopOptions;
using asyncio::ValueError;
using asyncio::testing::LogCapture;

namespace {

// Sets (or unsets, with nullptr) an environment variable for its lifetime.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = std::string(old);
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

LoopOptions debug_virtual_clock() { return LoopOptions{.clock = ClockKind::virtual_time, .debug = true}; }

std::size_t count_at(const LogCapture& log, LogLevel level, const std::string& text) {
  std::size_t n = 0;
  for (const auto& [l, line] : log.lines()) {
    if (l == level && line.find(text) != std::string::npos) ++n;
  }
  return n;
}

}  // namespace

TEST(DebugMode, SlowCallbackDurationZeroReportsEveryCallbackAsSlow) {
  LogCapture log;
  EventLoop loop(debug_virtual_clock());
  loop.set_slow_callback_duration(0);
  loop.call_soon([] {});
  loop.call_soon([] {});
  loop.run_once();
  loop.call_later(1.0, [] {});
  loop.run_once();
  EXPECT_EQ(loop.stats().callbacks, 3u);
  EXPECT_EQ(count_at(log, LogLevel::warning, "Executing"), 3u);
  EXPECT_EQ(log.count(" took "), 3u);
}

TEST(DebugMode, ASlowCallbackReportNamesTheHandle) {
  LogCapture log;
  EventLoop loop(debug_virtual_clock());
  loop.set_slow_callback_duration(0);
  loop.call_soon([] {});
  loop.run_once();
  EXPECT_EQ(log.count("Executing <Handle"), 1u);
  EXPECT_EQ(log.count("seconds"), 1u);
}

TEST(DebugMode, NothingIsReportedWhenDebugIsOff) {
  LogCapture log;
  EventLoop loop(LoopOptions{.clock = ClockKind::virtual_time, .debug = false});
  loop.set_slow_callback_duration(0);
  loop.call_soon([] {});
  loop.call_later(1.0, [] {});
  loop.run_once();
  loop.run_once();
  EXPECT_EQ(loop.stats().callbacks, 2u);
  EXPECT_EQ(log.count("Executing"), 0u);
  EXPECT_TRUE(log.lines().empty());
}

TEST(DebugMode, AFastCallbackIsNotReportedWithTheDefaultThreshold) {
  LogCapture log;
  EventLoop loop(debug_virtual_clock());
  EXPECT_DOUBLE_EQ(loop.slow_callback_duration(), 0.1);
  loop.call_soon([] {});
  loop.run_once();
  EXPECT_EQ(log.count("Executing"), 0u);
}

TEST(DebugMode, AnExceptionInACallbackIsStillReportedInDebugMode) {
  EventLoop loop(debug_virtual_clock());
  asyncio::testing::HandlerCapture handler(loop);
  bool next_ran = false;
  loop.call_soon([] { throw std::runtime_error("boom"); });
  loop.call_soon([&] { next_ran = true; });
  loop.run_once();
  ASSERT_EQ(handler.contexts().size(), 1u);
  EXPECT_EQ(handler.contexts()[0].message, "Exception in callback");
  EXPECT_TRUE(next_ran);
}

TEST(DebugMode, SetSlowCallbackDurationRefusesANegativeValue) {
  EventLoop loop(debug_virtual_clock());
  EXPECT_THROW(loop.set_slow_callback_duration(-0.5), ValueError);
  EXPECT_DOUBLE_EQ(loop.slow_callback_duration(), 0.1);
}

TEST(DebugMode, SetSlowCallbackDurationRefusesNan) {
  EventLoop loop(debug_virtual_clock());
  EXPECT_THROW(loop.set_slow_callback_duration(std::nan("")), ValueError);
}

TEST(DebugMode, SetDebugTurnsDebugModeOnAndOff) {
  EventLoop loop(LoopOptions{.clock = ClockKind::virtual_time, .debug = false});
  EXPECT_FALSE(loop.get_debug());
  loop.set_debug(true);
  EXPECT_TRUE(loop.get_debug());
  loop.set_debug(false);
  EXPECT_FALSE(loop.get_debug());
}

TEST(DebugMode, AsyncioDebugOneInTheEnvironmentTurnsDebugOnByDefault) {
  ScopedEnv env("ASYNCIO_DEBUG", "1");
  EventLoop loop;
  EXPECT_TRUE(loop.get_debug());
}

TEST(DebugMode, DebugIsOffByDefaultWithoutAsyncioDebug) {
  ScopedEnv env("ASYNCIO_DEBUG", nullptr);
  EventLoop loop;
  EXPECT_FALSE(loop.get_debug());
}

TEST(DebugMode, AsyncioDebugZeroLeavesDebugOff) {
  ScopedEnv env("ASYNCIO_DEBUG", "0");
  EventLoop loop;
  EXPECT_FALSE(loop.get_debug());
}

TEST(DebugMode, AsyncioDebugAppliesToLoopOptionsWithoutADebugValue) {
  ScopedEnv env("ASYNCIO_DEBUG", "1");
  EventLoop loop(LoopOptions{.clock = ClockKind::virtual_time, .debug = std::nullopt});
  EXPECT_TRUE(loop.get_debug());
}

TEST(DebugMode, LoopOptionsDebugFalseOverridesAsyncioDebug) {
  ScopedEnv env("ASYNCIO_DEBUG", "1");
  EventLoop loop(LoopOptions{.debug = false});
  EXPECT_FALSE(loop.get_debug());
}

TEST(DebugMode, LoopOptionsDebugTrueOverridesAnUnsetAsyncioDebug) {
  ScopedEnv env("ASYNCIO_DEBUG", nullptr);
  EventLoop loop(LoopOptions{.debug = true});
  EXPECT_TRUE(loop.get_debug());
}

TEST(DebugMode, TheEnvironmentIsReadWhenTheLoopIsCreated) {
  std::optional<EventLoop> loop;
  {
    ScopedEnv env("ASYNCIO_DEBUG", "1");
    loop.emplace();
  }
  EXPECT_TRUE(loop->get_debug());
}
