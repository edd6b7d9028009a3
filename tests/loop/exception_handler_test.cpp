// Exceptions thrown by callbacks, the exception handler and the default handler.
// Reference: CPython 3.13 BaseEventLoop.call_exception_handler / default_exception_handler.

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/test_support.hpp"

using asyncio::EventLoop;
using asyncio::ExceptionContext;
using asyncio::LogLevel;
using asyncio::testing::HandlerCapture;
using asyncio::testing::LogCapture;
using asyncio::testing::virtual_clock;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The lines logged at `level` that contain `text`.
std::vector<std::string> lines_with(const LogCapture& log, LogLevel level, const std::string& text) {
  std::vector<std::string> out;
  for (const auto& [l, line] : log.lines()) {
    if (l == level && contains(line, text)) out.push_back(line);
  }
  return out;
}

}  // namespace

TEST(ExceptionHandler, AnExceptionFromACallbackReachesTheHandlerAsExceptionInCallback) {
  EventLoop loop(virtual_clock());
  HandlerCapture handler(loop);
  loop.call_soon([] { throw std::runtime_error("boom"); });
  loop.run_once();
  ASSERT_EQ(handler.contexts().size(), 1u);
  EXPECT_EQ(handler.contexts()[0].message, "Exception in callback");
  ASSERT_TRUE(handler.contexts()[0].exception);
  EXPECT_TRUE(contains(handler.exceptions()[0], "boom")) << handler.exceptions()[0];
}

TEST(ExceptionHandler, TheContextOfAFailedCallbackNamesItsHandle) {
  EventLoop loop(virtual_clock());
  HandlerCapture handler(loop);
  loop.call_soon([] { throw std::runtime_error("boom"); });
  loop.run_once();
  ASSERT_EQ(handler.contexts().size(), 1u);
  EXPECT_TRUE(contains(handler.contexts()[0].handle, "Handle")) << handler.contexts()[0].handle;
}

TEST(ExceptionHandler, TheLoopKeepsRunningTheNextCallbacksAfterAnException) {
  EventLoop loop(virtual_clock());
  HandlerCapture handler(loop);
  std::vector<std::string> order;
  loop.call_soon([&] {
    order.push_back("thrower");
    loop.call_soon([&] {
      order.push_back("next iteration");
      loop.stop();
    });
    throw std::runtime_error("boom");
  });
  loop.call_soon([&] { order.push_back("same iteration"); });
  loop.run_forever();
  EXPECT_EQ(order, (std::vector<std::string>{"thrower", "same iteration", "next iteration"}));
  EXPECT_EQ(handler.contexts().size(), 1u);
}

TEST(ExceptionHandler, AnExceptionFromATimerCallbackReachesTheHandler) {
  EventLoop loop(virtual_clock());
  HandlerCapture handler(loop);
  loop.call_later(1.0, [] { throw std::logic_error("late boom"); });
  loop.run_once();
  ASSERT_EQ(handler.contexts().size(), 1u);
  EXPECT_EQ(handler.contexts()[0].message, "Exception in callback");
  EXPECT_TRUE(contains(handler.exceptions()[0], "late boom"));
  EXPECT_TRUE(contains(handler.contexts()[0].handle, "TimerHandle")) << handler.contexts()[0].handle;
}

TEST(ExceptionHandler, AnExceptionThatIsNotAStdExceptionReachesTheHandler) {
  EventLoop loop(virtual_clock());
  HandlerCapture handler(loop);
  loop.call_soon([] { throw 42; });
  loop.run_once();
  ASSERT_EQ(handler.contexts().size(), 1u);
  EXPECT_EQ(handler.contexts()[0].message, "Exception in callback");
  EXPECT_TRUE(contains(handler.exceptions()[0], "int")) << handler.exceptions()[0];
}

TEST(ExceptionHandler, TheHandlerReceivesTheLoop) {
  EventLoop loop(virtual_clock());
  EventLoop* seen = nullptr;
  loop.set_exception_handler([&](EventLoop& l, const ExceptionContext&) { seen = &l; });
  loop.call_soon([] { throw std::runtime_error("boom"); });
  loop.run_once();
  EXPECT_EQ(seen, &loop);
}

TEST(ExceptionHandler, TheDefaultHandlerLogsTheMessageAndExceptionAtError) {
  LogCapture log;
  EventLoop loop(virtual_clock());
  loop.call_soon([] { throw std::runtime_error("boom"); });
  loop.run_once();
  const auto lines = lines_with(log, LogLevel::error, "Exception in callback");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(contains(lines[0], "boom")) << lines[0];
  EXPECT_TRUE(contains(lines[0], "runtime_error")) << lines[0];
}

TEST(ExceptionHandler, CallExceptionHandlerWithoutAHandlerUsesTheDefault) {
  LogCapture log;
  EventLoop loop(virtual_clock());
  ExceptionContext context;
  context.message = "something odd";
  context.future = "<Future pending>";
  loop.call_exception_handler(context);
  const auto lines = lines_with(log, LogLevel::error, "something odd");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(contains(lines[0], "<Future pending>")) << lines[0];
}

TEST(ExceptionHandler, AHandlerThatThrowsIsReportedByTheDefaultHandler) {
  LogCapture log;
  EventLoop loop(virtual_clock());
  loop.set_exception_handler([](EventLoop&, const ExceptionContext&) { throw std::runtime_error("handler broke"); });
  loop.call_soon([] { throw std::runtime_error("boom"); });
  loop.run_once();
  const auto lines = lines_with(log, LogLevel::error, "Unhandled error in exception handler");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(contains(lines[0], "handler broke")) << lines[0];
  EXPECT_TRUE(contains(lines[0], "Exception in callback")) << lines[0];
}

TEST(ExceptionHandler, TheLoopKeepsRunningAfterAHandlerThatThrows) {
  LogCapture log;
  EventLoop loop(virtual_clock());
  loop.set_exception_handler([](EventLoop&, const ExceptionContext&) { throw std::runtime_error("handler broke"); });
  bool next_ran = false;
  loop.call_soon([] { throw std::runtime_error("boom"); });
  loop.call_soon([&] {
    next_ran = true;
    loop.stop();
  });
  loop.run_forever();
  EXPECT_TRUE(next_ran);
  EXPECT_EQ(log.count("Unhandled error in exception handler"), 1u);
}

TEST(ExceptionHandler, SetExceptionHandlerWithAnEmptyHandlerRestoresTheDefault) {
  LogCapture log;
  EventLoop loop(virtual_clock());
  int custom_calls = 0;
  loop.set_exception_handler([&](EventLoop&, const ExceptionContext&) { ++custom_calls; });
  EXPECT_TRUE(static_cast<bool>(loop.get_exception_handler()));
  loop.set_exception_handler({});
  EXPECT_FALSE(static_cast<bool>(loop.get_exception_handler()));
  loop.call_soon([] { throw std::runtime_error("boom"); });
  loop.run_once();
  EXPECT_EQ(custom_calls, 0);
  EXPECT_EQ(lines_with(log, LogLevel::error, "Exception in callback").size(), 1u);
}

TEST(ExceptionHandler, ACustomHandlerReplacesTheDefaultLog) {
  LogCapture log;
  EventLoop loop(virtual_clock());
  HandlerCapture handler(loop);
  loop.call_soon([] { throw std::runtime_error("boom"); });
  loop.run_once();
  EXPECT_EQ(handler.contexts().size(), 1u);
  EXPECT_EQ(log.count("Exception in callback"), 0u);
}

TEST(ExceptionHandler, ACallbackThatThrowsReleasesItsCaptures) {
  EventLoop loop(virtual_clock());
  HandlerCapture handler(loop);
  auto token = std::make_shared<int>(0);
  asyncio::Handle h = loop.call_soon([token] { throw std::runtime_error("boom"); });
  loop.run_once();
  EXPECT_EQ(handler.contexts().size(), 1u);
  EXPECT_EQ(token.use_count(), 1);
}
