#pragma once
/// Helpers shared by the tests: capture what the library logs and what reaches a loop's exception
/// handler, and run coroutines on the virtual clock.

#include <gtest/gtest.h>
#include <asyncio/asyncio.hpp>

#include <coroutine>
#include <exception>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace asyncio::testing {

/// A coroutine of another kind (no task): runs eagerly, is resumed by whoever completes what it
/// awaits; it must not let an exception escape. For the paths where asyncio's awaiters run outside
/// any task.
struct Detached {
  struct promise_type {
    Detached get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
};

/// Captures the library's log lines for its lifetime (restores the previous handler after).
class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  /// Every line logged so far, with its level.
  [[nodiscard]] std::vector<std::pair<LogLevel, std::string>> lines() const;
  /// How many lines contain `text`.
  [[nodiscard]] std::size_t count(std::string_view text) const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<LogLevel, std::string>> lines_;
  LogHandler previous_;
};

/// Records every context that reaches `loop`'s exception handler.
class HandlerCapture {
 public:
  explicit HandlerCapture(EventLoop& loop);
  [[nodiscard]] const std::vector<ExceptionContext>& contexts() const noexcept { return *contexts_; }
  /// The describe_exception() text of each context's exception ("" when none).
  [[nodiscard]] std::vector<std::string> exceptions() const;

 private:
  std::shared_ptr<std::vector<ExceptionContext>> contexts_;
};

/// Loop options for tests of time: the virtual clock (autojump).
inline LoopOptions virtual_clock() { return LoopOptions{.clock = ClockKind::virtual_time, .debug = false}; }

/// asyncio::run on the virtual clock.
template <class A>
auto run_virtual(A&& coro) {
  return asyncio::run(std::forward<A>(coro), virtual_clock());
}

/// run_virtual of `body` (a callable returning a Coro) with a watchdog: if every task waits
/// forever (a lost wake-up), virtual time jumps to the watchdog, which fails the test instead of
/// letting it hang.
template <class F>
auto run_virtual_watched(F body) {
  using C = std::invoke_result_t<F&>;
  return run_virtual([body = std::move(body)]() mutable -> C {
    auto watchdog = asyncio::create_task([]() -> Coro<void> {
      co_await asyncio::sleep(1e6);
      ADD_FAILURE() << "deadlock: every task waits forever";
      asyncio::get_running_loop().stop();
    });
    struct CancelOnExit {
      asyncio::Task<void>& task;
      ~CancelOnExit() { task.cancel(); }
    } cancel_on_exit{watchdog};
    co_return co_await body();
  });
}

}  // namespace asyncio::testing
