#pragma once
/// The loop's clock: real monotonic time, or virtual time for tests.
///
/// Python's loop.time() is a float of seconds from time.monotonic(); asyncio-cpp keeps that spelling
/// (EventLoop::time() returns double seconds) and counts internally in integer nanoseconds, so timer
/// order never depends on float rounding.
///
/// The virtual clock starts at 0 and moves only when the loop has nothing to run: it then jumps to
/// the next timer's deadline ("autojump"), so `co_await sleep(3600)` finishes in microseconds and a
/// test of timeouts is exact and repeatable. Work handed to other threads (run_in_executor) holds
/// the jump, so a timeout does not fire while a thread is still computing the answer.

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>

#include "asyncio/exceptions.hpp"

namespace asyncio {

/// Which clock an EventLoop reads.
enum class ClockKind {
  monotonic,     ///< real time: std::chrono::steady_clock (Python's time.monotonic)
  virtual_time,  ///< starts at 0; jumps to the next timer when the loop would otherwise wait
};

/// Durations in the loop's resolution.
using Duration = std::chrono::nanoseconds;

namespace detail {

inline constexpr std::int64_t kNsPerSecond = 1'000'000'000;

/// Seconds (Python's float delays) to nanoseconds, saturating; NaN is a caller error. Rounds up, so
/// that a sleep or timer of `seconds` never ends before `seconds` have passed on the loop's clock.
inline std::int64_t seconds_to_ns(double seconds, const char* what) {
  if (std::isnan(seconds)) throw ValueError(std::string(what) + ": the time is NaN");
  const double ns = seconds * static_cast<double>(kNsPerSecond);
  if (ns >= 9.2e18) return std::numeric_limits<std::int64_t>::max() / 2;
  if (ns <= -9.2e18) return std::numeric_limits<std::int64_t>::min() / 2;
  return static_cast<std::int64_t>(std::ceil(ns));
}

inline double ns_to_seconds(std::int64_t ns) noexcept {
  return static_cast<double>(ns) / static_cast<double>(kNsPerSecond);
}

/// A std::chrono duration in nanoseconds, rounded up and saturating (hours::max() must not wrap
/// into the past).
template <class Rep, class Period>
std::int64_t duration_to_ns(std::chrono::duration<Rep, Period> d) {
  const long double ns = std::chrono::duration<long double, std::nano>(d).count();
  if (std::isnan(ns)) throw ValueError("the duration is NaN");
  if (ns >= 4.6e18L) return std::numeric_limits<std::int64_t>::max() / 2;
  if (ns <= -4.6e18L) return std::numeric_limits<std::int64_t>::min() / 2;
  return static_cast<std::int64_t>(std::ceil(ns));
}

/// Saturating a + b, for deadlines far in the future.
inline std::int64_t add_saturating(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t r;
  if (__builtin_add_overflow(a, b, &r))
    return b > 0 ? std::numeric_limits<std::int64_t>::max() / 2 : std::numeric_limits<std::int64_t>::min() / 2;
  return r;
}

}  // namespace detail
}  // namespace asyncio
