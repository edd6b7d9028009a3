#pragma once
/// sleep(delay): Python's asyncio.sleep. Suspends the calling task for `delay` on the loop's clock.
///
///   co_await asyncio::sleep(0.5);                    // seconds, as in Python
///   co_await asyncio::sleep(std::chrono::milliseconds(500));
///   int v = co_await asyncio::sleep(1.0, 42);        // Python's sleep(delay, result)
///   co_await asyncio::sleep(0);                      // let every other ready callback run first
///
/// A task asleep costs no allocation: it arms its own timer node in the loop's heap. Cancelling the
/// task wakes it at once with CancelledError. A delay <= 0 is sleep(0); NaN is a ValueError.

#include <chrono>
#include <concepts>
#include <coroutine>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "asyncio/coro/coro.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/task/task_state.hpp"

namespace asyncio {

namespace detail {

template <class T>
struct SleepResult {
  T value;
  T take() { return std::move(value); }
};
template <>
struct SleepResult<void> {
  void take() {}
};

template <class T>
class SleepAwaiter {
 public:
  static constexpr bool asyncio_awaiter = true;

  SleepAwaiter(std::int64_t delay_ns, SleepResult<T>&& result) : delay_ns_(delay_ns), result_(std::move(result)) {}
  SleepAwaiter(SleepAwaiter&& other) noexcept(std::is_nothrow_move_constructible_v<SleepResult<T>>)
      : delay_ns_(other.delay_ns_), result_(std::move(other.result_)) {}
  SleepAwaiter& operator=(const SleepAwaiter&) = delete;

  bool await_ready() const noexcept { return false; }

  template <class P>
  void await_suspend(std::coroutine_handle<P> awaiting) {
    const std::int64_t delay_ns = delay_ns_;
    driver_ = nullptr;  // the word now holds the task (see the members)
    if constexpr (std::is_base_of_v<CoroPromiseBase, P>) {
      if (Driver* d = awaiting.promise().driver()) {
        auto* task = static_cast<TaskBase*>(d);
        if (delay_ns <= 0) {
          task->park_yield(awaiting);
        } else {
          task->park_until(add_saturating(LoopAccess::now_ns(task->loop()), delay_ns), awaiting);
        }
        driver_ = d;
        return;
      }
    }
    // Not in a task: a plain callback resumes the coroutine.
    EventLoop& loop = get_running_loop();
    if (delay_ns <= 0) {
      loop.call_soon([awaiting] { awaiting.resume(); });
    } else {
      loop.call_later(Duration(delay_ns), [awaiting] { awaiting.resume(); });
    }
  }

  T await_resume() {
    if (driver_) driver_->raise_pending();
    return result_.take();
  }

 private:
  // One word: the delay until await_suspend reads it, then the task parked (null outside a task),
  // whose pending cancellation await_resume raises. A million sleeping tasks keep a million
  // frames, and this keeps each 8 bytes smaller.
  union {
    std::int64_t delay_ns_;
    Driver* driver_;
  };
  [[no_unique_address]] SleepResult<T> result_;
};

/// What sleep() returns: the delay (and the result to give back), which `co_await` turns into the
/// SleepAwaiter. Why not the awaiter itself: g++ 12 keeps two copies of an awaitable that passes
/// through await_transform in the frame; this object is one word for sleep(delay), and the awaiter
/// is made once. A million sleeping tasks keep a million frames.
template <class T>
class [[nodiscard]] Sleep {
 public:
  Sleep(std::int64_t delay_ns, SleepResult<T> result) : delay_ns_(delay_ns), result_(std::move(result)) {}
  SleepAwaiter<T> operator co_await() && { return SleepAwaiter<T>(delay_ns_, std::move(result_)); }
  SleepAwaiter<T> operator co_await() const& requires std::is_void_v<T> || std::is_copy_constructible_v<T> {
    return SleepAwaiter<T>(delay_ns_, SleepResult<T>(result_));
  }

 private:
  std::int64_t delay_ns_;
  [[no_unique_address]] SleepResult<T> result_;
};

}  // namespace detail

/// Suspends the calling task for `seconds` (<= 0: one loop iteration).
inline detail::Sleep<void> sleep(double seconds) { return {detail::seconds_to_ns(seconds, "sleep"), {}}; }

/// Whole seconds (an exact match, so `sleep(1)` never picks POSIX ::sleep under `using namespace`).
template <std::integral I>
detail::Sleep<void> sleep(I seconds) {
  return sleep(static_cast<double>(seconds));
}

/// Suspends the calling task for `delay`.
template <class Rep, class Period>
detail::Sleep<void> sleep(std::chrono::duration<Rep, Period> delay) {
  return {detail::duration_to_ns(delay), {}};
}

/// Python's sleep(delay, result): suspends, then gives back `result`.
template <class T>
detail::Sleep<std::decay_t<T>> sleep(double seconds, T&& result) {
  return {detail::seconds_to_ns(seconds, "sleep"), {std::forward<T>(result)}};
}

}  // namespace asyncio
