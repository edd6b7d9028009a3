#pragma once
/// ConcurrentFuture<T>: Python's concurrent.futures.Future, what run_coroutine_threadsafe returns.
/// Unlike asyncio's Future it is thread-safe, and result() blocks the calling thread until done.

#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "asyncio/exceptions.hpp"

namespace asyncio {

template <class T>
class ConcurrentFuture;

namespace detail {

template <class T>
struct ConcurrentValue {
  std::optional<T> value;
};
template <>
struct ConcurrentValue<void> {};

/// The shared state: everything under `mutex`.
template <class T>
struct ConcurrentState : ConcurrentValue<T> {
  enum class Status { pending, running, cancelled, finished };

  std::mutex mutex;
  std::condition_variable changed;
  Status status = Status::pending;
  std::exception_ptr error;
  std::vector<std::function<void(ConcurrentFuture<T>&)>> callbacks;
  /// Asks the loop to cancel the task behind this future (set while the task runs).
  std::function<void()> cancel_hook;

  /// Settles the future under the lock and runs the callbacks outside it.
  template <class Fill>
  bool settle(Status to, Fill&& fill, const std::shared_ptr<ConcurrentState>& self) {
    std::vector<std::function<void(ConcurrentFuture<T>&)>> run;
    {
      std::lock_guard lock(mutex);
      if (status == Status::cancelled || status == Status::finished) return false;
      fill();
      status = to;
      cancel_hook = nullptr;
      run.swap(callbacks);
    }
    changed.notify_all();
    ConcurrentFuture<T> handle(self);
    for (auto& cb : run) cb(handle);
    return true;
  }
};

}  // namespace detail

template <class T = void>
class ConcurrentFuture {
 public:
  using State = detail::ConcurrentState<T>;
  using Status = typename State::Status;

  /// An empty handle (no future).
  ConcurrentFuture() = default;
  explicit ConcurrentFuture(std::shared_ptr<State> s) noexcept : s_(std::move(s)) {}

  /// A new pending future (Python's concurrent.futures.Future()), for code that completes it itself
  /// with set_running_or_notify_cancel / set_result / set_exception: an executor of its own, a
  /// thread that computes a value for a loop (see wrap_future).
  static ConcurrentFuture create() { return ConcurrentFuture(std::make_shared<State>()); }

  /// Blocks until done; returns the result or rethrows (CancelledError if cancelled).
  T result() {
    std::unique_lock lock(state().mutex);
    state().changed.wait(lock, [&] { return settled(); });
    return take(lock);
  }

  /// As result(), giving up after `timeout` with TimeoutError.
  template <class Rep, class Period>
  T result(std::chrono::duration<Rep, Period> timeout) {
    std::unique_lock lock(state().mutex);
    if (!state().changed.wait_for(lock, timeout, [&] { return settled(); }))
      throw TimeoutError("ConcurrentFuture::result timed out");
    return take(lock);
  }

  /// Blocks until done without reading the result.
  void wait() {
    std::unique_lock lock(state().mutex);
    state().changed.wait(lock, [&] { return settled(); });
  }

  [[nodiscard]] bool done() const {
    return with_lock([&] { return settled(); });
  }
  [[nodiscard]] bool cancelled() const {
    return with_lock([&] { return s_->status == Status::cancelled; });
  }
  [[nodiscard]] bool running() const {
    return with_lock([&] { return s_->status == Status::running; });
  }

  /// Blocks until done; the exception, or null for a result. CancelledError if cancelled.
  std::exception_ptr exception() {
    std::unique_lock lock(state().mutex);
    state().changed.wait(lock, [&] { return settled(); });
    if (s_->status == Status::cancelled) throw CancelledError();
    return s_->error;
  }

  /// Cancels: a future not yet running is cancelled at once (its callbacks run in this thread);
  /// for one whose coroutine runs (run_coroutine_threadsafe), the task on the loop is asked to
  /// cancel, and this future follows the task's outcome. Returns true if it is cancelled or asked
  /// to be; false if it finished, or runs without a task to cancel (set_running_or_notify_cancel),
  /// as Python's.
  bool cancel() {
    std::function<void()> hook;
    {
      std::lock_guard lock(state().mutex);
      if (s_->status == Status::cancelled) return true;
      if (s_->status == Status::finished) return false;
      if (s_->status == Status::running) {
        if (!s_->cancel_hook) return false;
        hook = s_->cancel_hook;
      }
    }
    if (hook) {
      hook();
      return true;
    }
    // Cancelled by another thread in between: still cancelled.
    return s_->settle(
               Status::cancelled, [] {}, s_) ||
           cancelled();
  }

  /// Python's set_running_or_notify_cancel(), for whoever runs the work: false if the future was
  /// cancelled (the work must not run); else marks it running (cancel() then returns false) and
  /// returns true. RuntimeError if it is running or finished already.
  bool set_running_or_notify_cancel() {
    std::lock_guard lock(state().mutex);
    if (s_->status == Status::cancelled) return false;
    if (s_->status != Status::pending) {
      throw RuntimeError("set_running_or_notify_cancel(): the future is already running or finished");
    }
    s_->status = Status::running;
    return true;
  }

  /// Python's set_result(value): finishes the future; its callbacks run in this thread, and
  /// threads blocked in result() wake. InvalidStateError if it is cancelled or finished already.
  template <class... Args>
  requires(std::is_void_v<T> ? sizeof...(Args) == 0
                             : std::is_constructible_v<T, Args...>) void set_result(Args&&... args) {
    const bool settled_now = state().settle(
        Status::finished,
        [&] {
          if constexpr (!std::is_void_v<T>) s_->value.emplace(std::forward<Args>(args)...);
        },
        s_);
    if (!settled_now) throw InvalidStateError("ConcurrentFuture::set_result: the future is already done");
  }

  /// Python's set_exception(exc): finishes the future with `exception`. InvalidStateError if it is
  /// done already; TypeError for a null exception_ptr.
  void set_exception(std::exception_ptr exception) {
    if (!exception) throw TypeError("ConcurrentFuture::set_exception: the exception_ptr is null");
    const bool settled_now = state().settle(
        Status::finished, [&] { s_->error = std::move(exception); }, s_);
    if (!settled_now) throw InvalidStateError("ConcurrentFuture::set_exception: the future is already done");
  }

  /// fn(ConcurrentFuture&) runs once done: in the thread that completes the future (the loop's),
  /// or at once in this thread if it already is.
  template <class F>
  void add_done_callback(F&& fn) {
    {
      std::lock_guard lock(state().mutex);
      if (!settled()) {
        s_->callbacks.emplace_back(std::forward<F>(fn));
        return;
      }
    }
    ConcurrentFuture self(s_);
    fn(self);
  }

  [[nodiscard]] explicit operator bool() const noexcept { return s_ != nullptr; }
  [[nodiscard]] const std::shared_ptr<State>& state_ptr() const noexcept { return s_; }

 private:
  State& state() const {
    if (!s_) throw InvalidStateError("empty ConcurrentFuture");
    return *s_;
  }
  bool settled() const { return s_->status == Status::cancelled || s_->status == Status::finished; }
  template <class F>
  auto with_lock(F&& f) const {
    std::lock_guard lock(state().mutex);
    return f();
  }
  T take(std::unique_lock<std::mutex>&) {
    if (s_->status == Status::cancelled) throw CancelledError();
    if (s_->error) std::rethrow_exception(s_->error);
    if constexpr (std::is_void_v<T>) {
      return;
    } else if constexpr (std::is_copy_constructible_v<T>) {
      return *s_->value;
    } else {
      return std::move(*s_->value);  // a move-only result can be taken once
    }
  }

  std::shared_ptr<State> s_;
};

}  // namespace asyncio
