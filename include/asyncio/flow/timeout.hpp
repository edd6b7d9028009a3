#pragma once
/// timeout(delay), timeout_at(when) and Timeout: Python's asyncio.timeout / asyncio.timeout_at
/// (CPython 3.13 Lib/asyncio/timeouts.py is the reference).
///
///   auto t = asyncio::timeout(2.5);                    // deadline: loop.time() + 2.5
///   try {
///     int n = co_await t.run([&]() -> Coro<int> { co_return co_await fetch(url); });
///   } catch (const asyncio::TimeoutError&) {
///     // t.expired() is true; fetch() saw CancelledError at its co_await and was unwound
///   }
///
/// Python's `async with asyncio.timeout(d) as t: <body>` has no C++ spelling (a destructor cannot
/// co_await), so the scope runs the body: `co_await t.run(body)`, where `body` is a callable
/// returning a Coro<T> (or a Future<T> / Task<T>); the callable lives in run()'s frame for the
/// whole run, and run() returns the body's T. The Timeout object must outlive the co_await (a
/// local, or a temporary in the same full-expression: `co_await asyncio::timeout(1).run(body)`).
///
/// Semantics are 3.13's, built on Task.cancel()/cancelling()/uncancel():
///  - at the deadline the task running the body is cancelled (a plain cancel(), no message);
///  - when the body ends, a CancelledError that this timeout caused becomes TimeoutError (the
///    CancelledError is attached as its nested exception: std::rethrow_if_nested). "Caused by this
///    timeout" is counted, as __aexit__ does: the timeout expired, and after its own uncancel() the
///    task has no more cancel requests than it had on entry;
///  - any other cancellation (from outside, or from an enclosing timeout) propagates as
///    CancelledError; nested timeouts each convert only their own.
///
/// Where C++ differs from Python:
///  - the TimeoutError's what() is "timeout expired" (Python's is empty); its cause is reachable
///    with std::rethrow_if_nested rather than __cause__;
///  - when an expired timeout's body ends with another exception, Python 3.13 splices a
///    TimeoutError into that exception's __context__ chain; C++ exceptions have no such chain, so
///    the exception propagates unchanged;
///  - a Timeout is neither copyable nor movable (a pending deadline points at it); `auto t =
///    timeout(1.5);` still works (guaranteed copy elision).

#include <chrono>
#include <concepts>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "asyncio/coro/coro.hpp"
#include "asyncio/exceptions.hpp"
#include "asyncio/loop/clock.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/loop/handle.hpp"
#include "asyncio/task/future.hpp"
#include "asyncio/task/task.hpp"
#include "asyncio/task/task_state.hpp"

namespace asyncio {

namespace detail {

/// A relative delay as the timeout functions take it: seconds (a double or an integer, as in
/// Python), a std::chrono duration, or none (std::nullopt, Python's None: no deadline). Converts
/// implicitly, so `timeout(1.5)`, `timeout(2)`, `timeout(250ms)` and `timeout(std::nullopt)` all
/// read as in Python. NaN is a ValueError.
class Delay {
 public:
  Delay(std::nullopt_t) noexcept {}  // NOLINT: implicit on purpose (Python's None)
  Delay(double seconds) : ns_(seconds_to_ns(seconds, "timeout")), seconds_(seconds) {}  // NOLINT
  template <std::integral I>
  Delay(I seconds) : Delay(static_cast<double>(seconds)) {}  // NOLINT
  template <class Rep, class Period>
  Delay(std::chrono::duration<Rep, Period> d)  // NOLINT
      : ns_(duration_to_ns(d)), seconds_(std::chrono::duration<double>(d).count()) {}
  Delay(std::optional<double> seconds) {  // NOLINT
    if (seconds) *this = Delay(*seconds);
  }

  /// False for "no deadline".
  [[nodiscard]] bool has_value() const noexcept { return ns_.has_value(); }
  /// The delay in the loop's nanoseconds (rounded up, saturating). Precondition: has_value().
  [[nodiscard]] std::int64_t ns() const noexcept { return *ns_; }
  /// The delay in seconds as given (for Python's float arithmetic in when()).
  [[nodiscard]] double seconds() const noexcept { return seconds_; }

 private:
  std::optional<std::int64_t> ns_;
  double seconds_ = 0;
};

/// What awaiting something gave, without throwing: its exception, or else its value. Scopes
/// (Timeout, wait_for) look at a body's outcome before passing it on; catching and rethrowing
/// instead would cost a throw per scope, and a throw is the dominant cost of a cancellation.
template <class T>
struct AwaitOutcome {
  std::exception_ptr error;
  std::optional<T> value;

  static AwaitOutcome failure(std::exception_ptr e) noexcept {
    AwaitOutcome o;
    o.error = std::move(e);
    return o;
  }
  template <class U>
  static AwaitOutcome success(U&& v) {
    AwaitOutcome o;
    o.value.emplace(std::forward<U>(v));
    return o;
  }

  /// Takes what an awaiter gave (a move, never an assignment of T).
  void take(AwaitOutcome&& other) {
    error = std::move(other.error);
    if (!error) value.emplace(std::move(*other.value));
  }
  /// The value. Precondition: no error.
  T get() { return std::move(*value); }
};
template <>
struct AwaitOutcome<void> {
  std::exception_ptr error;

  static AwaitOutcome failure(std::exception_ptr e) noexcept {
    AwaitOutcome o;
    o.error = std::move(e);
    return o;
  }
  void take(AwaitOutcome&& other) noexcept { error = std::move(other.error); }
  void get() noexcept {}
};

/// Awaits a Coro<T> (which it owns from here) like `co_await coro`, but gives back an AwaitOutcome
/// instead of rethrowing the Coro's exception.
template <class T>
class CoroOutcomeAwaiter {
 public:
  static constexpr bool asyncio_awaiter = true;

  explicit CoroOutcomeAwaiter(Coro<T>&& coro) noexcept : h_(coro.release()) {}
  // (g++ moves an awaiter returned by a function into the frame; nothing else moves it)
  CoroOutcomeAwaiter(CoroOutcomeAwaiter&& other) noexcept : h_(std::exchange(other.h_, nullptr)) {}
  CoroOutcomeAwaiter& operator=(CoroOutcomeAwaiter&&) = delete;
  ~CoroOutcomeAwaiter() {
    if (h_) h_.destroy();
  }

  bool await_ready() const { return CoroAwaiter<T>(h_).await_ready(); }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> awaiting) const noexcept {
    return CoroAwaiter<T>(h_).await_suspend(awaiting);
  }
  AwaitOutcome<T> await_resume() {
    CoroPromise<T>& p = h_.promise();
    if (std::exception_ptr e = p.exception()) return AwaitOutcome<T>::failure(std::move(e));
    if constexpr (std::is_void_v<T>) {
      return AwaitOutcome<T>{};
    } else {
      return AwaitOutcome<T>::success(p.take_result());
    }
  }

 private:
  typename Coro<T>::handle_type h_;
};

/// Awaits a future or task like FutureAwaiter (parking the task the same way), but gives back an
/// AwaitOutcome instead of raising. `Move` moves the value out, as awaiting an rvalue handle does.
template <class T, bool Move>
class FutureOutcomeAwaiter {
 public:
  static constexpr bool asyncio_awaiter = true;

  explicit FutureOutcomeAwaiter(FutureBase* s) : s_(s) {
    if (s_ == nullptr) throw InvalidStateError("co_await of an empty Future");
    s_->retain();
  }
  FutureOutcomeAwaiter(FutureOutcomeAwaiter&& other) noexcept
      : s_(std::exchange(other.s_, nullptr)), driver_(other.driver_) {}
  FutureOutcomeAwaiter& operator=(FutureOutcomeAwaiter&&) = delete;
  ~FutureOutcomeAwaiter() {
    if (s_ != nullptr) s_->release();
  }

  bool await_ready() const noexcept { return s_->done(); }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> awaiting) {
    return park_on_future(*s_, awaiting, driver_);
  }
  AwaitOutcome<T> await_resume() {
    // What FutureAwaiter would raise, in the same order: the task's own pending cancellation (or
    // why it could not wait) first, then the future's cancellation or exception.
    if (driver_ != nullptr && driver_->pending)
      return AwaitOutcome<T>::failure(std::exchange(driver_->pending, nullptr));
    if (s_->cancelled()) return AwaitOutcome<T>::failure(s_->make_cancelled_error());
    if (std::exception_ptr e = s_->exception()) return AwaitOutcome<T>::failure(std::move(e));
    if constexpr (std::is_void_v<T>) {
      return AwaitOutcome<T>{};
    } else if constexpr (Move) {
      return AwaitOutcome<T>::success(std::move(value_of<T>(s_)));
    } else {
      return AwaitOutcome<T>::success(value_of<T>(s_));
    }
  }

 private:
  FutureBase* s_;
  Driver* driver_ = nullptr;
};

template <class T>
struct is_future_or_task_handle : std::false_type {};
template <class T>
struct is_future_or_task_handle<Future<T>> : std::true_type {};
template <class T>
struct is_future_or_task_handle<Task<T>> : std::true_type {};

/// The AwaitOutcome awaiter of a future/task handle H (an rvalue handle's value is moved out, an
/// lvalue's copied).
template <class H>
using future_outcome_awaiter_t =
    FutureOutcomeAwaiter<typename std::remove_cvref_t<H>::value_type, !std::is_lvalue_reference_v<H>>;

/// The AwaitOutcome awaiter of a Coro (taken over), or of a future/task handle.
template <class T>
CoroOutcomeAwaiter<T> outcome_of(Coro<T>&& coro) noexcept {
  return CoroOutcomeAwaiter<T>(std::move(coro));
}
template <class H>
requires is_future_or_task_handle<std::remove_cvref_t<H>>::value auto outcome_of(H&& f) {
  return future_outcome_awaiter_t<H>(f.state_ptr());
}

/// A callable a scope can run: calling it gives a Coro<T> (by value), or a Future<T> / Task<T>
/// (by value or by reference).
template <class F>
concept ScopeBody = std::invocable<F&> && requires(F& f) {
  outcome_of(std::invoke(f));
};

/// The T a scope's body produces.
template <class F>
using scope_value_t = typename std::remove_cvref_t<std::invoke_result_t<F&>>::value_type;

/// Throws TimeoutError with `cause` (a CancelledError) as its nested exception, as Python's
/// `raise TimeoutError from exc`. Shared by Timeout and wait_for.
[[noreturn]] void raise_timeout_error(std::exception_ptr cause);

}  // namespace detail

class Timeout;
Timeout timeout(detail::Delay delay);
Timeout timeout_at(std::optional<double> when);
namespace detail {
struct TimeoutScope;
}  // namespace detail

/// Python's asyncio.Timeout: a deadline for the code run() runs, in the task that awaits run().
/// Made by timeout() or timeout_at(); usable once; still readable (when(), expired()) after run().
///
/// Invariants (as timeouts.py, adapted):
///  - state_ goes created -> entered -> exited, or created -> entered -> expiring -> expired, once;
///    a failed entry (outside a task) leaves it created;
///  - handler_ is armed only while entered: on_timeout() drops it, and leaving cancels it. It is
///    armed for armed_ns_, which may be earlier than deadline_ns_: a reschedule() to a later
///    deadline only records it, and on_timeout() re-arms when it finds the deadline not yet come
///    (a server that pushes a connection's deadline on at every request updates no timer);
///  - task_ is the task running run(), set exactly while entered or expiring (that task is alive:
///    it is running the body); the Timeout holds no reference to it, so a Timeout kept in the task's
///    own frame makes no cycle;
///  - cancelling_ is the task's cancelling() on entry. On leaving an expired timeout, exactly one
///    uncancel() withdraws the cancel() the timeout made; the CancelledError becomes TimeoutError
///    only if the count is then back at cancelling_ (no one else asked to cancel meanwhile).
class Timeout {
 public:
  /// Python's Timeout(when): `when` in loop time (seconds), or no deadline. Prefer timeout() and
  /// timeout_at(). A deadline already past at entry fires in the next loop iteration.
  explicit Timeout(std::optional<double> when);
  Timeout(const Timeout&) = delete;
  Timeout& operator=(const Timeout&) = delete;
  /// Disarms the deadline if it is still armed (a Timeout destroyed mid-run is a bug, but must not
  /// leave a callback pointing at it).
  ~Timeout();

  /// The current deadline in loop time (seconds), or nullopt for none.
  [[nodiscard]] std::optional<double> when() const noexcept { return when_; }

  /// Python's reschedule(when): moves the deadline (nullopt: none). A deadline already past fires in
  /// the next iteration (call_soon). RuntimeError unless the body is running and the timeout has
  /// not expired ("Timeout has not been entered", "Cannot change state of expiring Timeout" ...),
  /// or when called with a deadline outside the timeout's loop.
  void reschedule(std::optional<double> when);

  /// True once the deadline passed during run() (the task was cancelled by this timeout), even if
  /// the body swallowed the cancellation.
  [[nodiscard]] bool expired() const noexcept { return state_ == State::expiring || state_ == State::expired; }

  /// "<Timeout [active] when=12.5>", "<Timeout [expired]>", ... as Python's repr.
  [[nodiscard]] std::string repr() const;

  /// Python's `async with self: return await body()`: runs `body()` in the calling task under this
  /// deadline and returns its result. RuntimeError("Timeout has already been entered") on a second
  /// run, RuntimeError("Timeout should be used inside a task") outside a task. See the top of the
  /// file for how cancellations become TimeoutError.
  template <class F>
  requires detail::ScopeBody<F> Coro<detail::scope_value_t<F>> run(F body) {
    enter();
    RunGuard guard{this};
    detail::AwaitOutcome<detail::scope_value_t<F>> outcome;
    try {
      outcome.take(co_await detail::outcome_of(std::invoke(body)));
    } catch (...) {
      outcome.error = std::current_exception();  // the callable itself threw, before giving an awaitable
    }
    leave(std::move(outcome.error));
    co_return outcome.get();
  }

 private:
  friend struct detail::TimeoutScope;
  friend Timeout timeout(detail::Delay delay);
  friend Timeout timeout_at(std::optional<double> when);

  enum class State : std::uint8_t { created, entered, expiring, expired, exited };

  /// If run()'s frame is destroyed without leaving (its task was abandoned with the loop): disarm.
  struct RunGuard {
    Timeout* self;
    ~RunGuard() { self->abandon_run(); }
  };

  Timeout(std::optional<double> when, std::int64_t deadline_ns, EventLoop* loop) noexcept
      : when_(when), deadline_ns_(deadline_ns), loop_(loop) {}

  void enter();
  /// Python's __aexit__ with the body's outcome: rethrows `error`, or throws TimeoutError instead.
  void leave(std::exception_ptr error);
  void abandon_run() noexcept;
  void arm();
  void disarm() noexcept;
  void on_timeout();

  std::optional<double> when_;    // what when() reports, exactly as given (Python's float)
  std::int64_t deadline_ns_ = 0;  // the same deadline on the loop's clock; meaningful if when_
  std::int64_t armed_ns_ = 0;     // when handler_ fires, while it is set (<= deadline_ns_)
  EventLoop* loop_ = nullptr;     // bound by timeout() or on entry
  detail::TaskBase* task_ = nullptr;
  Handle handler_;
  int cancelling_ = 0;
  State state_ = State::created;
};

namespace detail {
/// Entering and leaving a Timeout without run()'s own frame: wait_for keeps its timeout in its
/// own frame (one coroutine frame, and one rethrow fewer, per call).
struct TimeoutScope {
  static void enter(Timeout& t) { t.enter(); }
  static void leave(Timeout& t, std::exception_ptr error) { t.leave(std::move(error)); }
};
}  // namespace detail

/// Python's asyncio.timeout(delay): a Timeout whose deadline is the running loop's time() plus
/// `delay` (seconds as a double or integer, a std::chrono duration, or std::nullopt for none). The
/// deadline is fixed now, not when run() starts. RuntimeError without a running loop.
Timeout timeout(detail::Delay delay);

/// Python's asyncio.timeout_at(when): a Timeout with the absolute deadline `when` in loop time
/// (seconds; nullopt: none). A deadline in the past expires in the first iteration of run().
Timeout timeout_at(std::optional<double> when);

}  // namespace asyncio
