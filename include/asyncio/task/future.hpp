#pragma once
/// Future<T>: Python's asyncio.Future. A handle to a shared state: copies refer to the same future.
///
///   auto fut = loop.create_future<int>();
///   fut.add_done_callback([](Future<int>& f) { std::cout << f.result(); });
///   fut.set_result(42);                 // the callback runs later, from the loop, never inline
///   int v = co_await fut;               // inside a task: parks the task until fut is done
///
/// AnyFuture is the same handle without the result type: what current_task(), all_tasks() and
/// exception reports hand out, since they cannot know T.
///
/// A future belongs to its loop's thread: its reference count is not atomic, so copying, destroying
/// or completing a handle in another thread is a data race. From another thread, complete it
/// through loop.call_soon_threadsafe (as run_in_executor does).
///
/// Awaiting a future that is already done does not suspend. Awaiting `fut` (an lvalue) gives a
/// reference to its result; awaiting `std::move(fut)` or a temporary moves the result out.

#include <coroutine>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>

#include "asyncio/coro/coro.hpp"
#include "asyncio/loop/context.hpp"
#include "asyncio/task/future_state.hpp"
#include "asyncio/task/task_state.hpp"

namespace asyncio {

/// Identifies a done-callback for remove_done_callback (C++ callables cannot be compared, so the
/// id stands in for Python's "remove this function").
using CallbackId = std::uint64_t;

namespace detail {

/// The result slot of a future or task state holding a T.
template <class T>
T& value_of(FutureBase* s) noexcept {
  if (s->is_task()) return static_cast<TaskState<T>*>(s)->value();
  return static_cast<FutureState<T>*>(s)->value();
}

/// Parks the awaiting coroutine on `f`: through its task when it runs in one, else by a done-
/// callback that resumes it. Returns false if it must not suspend (the task then raises why).
template <class P>
bool park_on_future(FutureBase& f, std::coroutine_handle<P> awaiting, Driver*& driver) {
  if constexpr (std::is_base_of_v<CoroPromiseBase, P>) {
    if (Driver* d = awaiting.promise().driver()) {
      driver = d;
      return static_cast<TaskBase*>(d)->park_on(f, awaiting);
    }
  }
  auto* waiter = new ResumeWaiter(awaiting);
  try {
    f.add_waiter(*waiter, WaiterKind::resume);
  } catch (...) {
    delete waiter;
    throw;
  }
  return true;
}

/// The awaiter of a future; it holds a reference, so even a temporary future outlives the wait.
/// `Move` (awaiting an rvalue handle) moves the result out instead of returning a reference.
template <class T, bool Move>
class FutureAwaiter {
 public:
  static constexpr bool asyncio_awaiter = true;

  explicit FutureAwaiter(FutureBase* s) : s_(s) {
    if (s_ == nullptr) throw InvalidStateError("co_await of an empty Future");
    s_->retain();
  }
  FutureAwaiter(const FutureAwaiter&) = delete;
  FutureAwaiter& operator=(const FutureAwaiter&) = delete;
  ~FutureAwaiter() { s_->release(); }

  bool await_ready() const noexcept { return s_->done(); }

  template <class P>
  bool await_suspend(std::coroutine_handle<P> awaiting) {
    return park_on_future(*s_, awaiting, driver_);
  }

  decltype(auto) await_resume() {
    if (driver_) driver_->raise_pending();
    s_->check_result();
    if constexpr (std::is_void_v<T>) {
      return;
    } else if constexpr (Move) {
      return std::move(value_of<T>(s_));
    } else {
      return static_cast<T&>(value_of<T>(s_));
    }
  }

 private:
  FutureBase* s_;
  Driver* driver_ = nullptr;
};

template <class Handle, class F>
struct UserCallback final : UserCallbackNode {
  template <class G>
  explicit UserCallback(G&& g) : fn(std::forward<G>(g)) {
    invoke = [](UserCallbackNode* self) {
      auto* me = static_cast<UserCallback*>(self);
      Handle h = Handle::from_state(me->future);
      std::invoke(me->fn, h);
    };
    destroy = [](UserCallbackNode* self) noexcept { delete static_cast<UserCallback*>(self); };
  }
  F fn;
};

/// add_done_callback's body for every handle type: the callback runs in `context` if given, else
/// in a copy of the current context.
template <class Handle, class F>
CallbackId add_done_callback(FutureBase& future, F&& fn, const Context* context) {
  auto* node = new UserCallback<Handle, std::decay_t<F>>(std::forward<F>(fn));
  if (context != nullptr) node->context = hold_context(*context);
  return future.add_user_callback(node);
}

}  // namespace detail

class AnyFuture {
 public:
  /// An empty handle (no future).
  AnyFuture() noexcept = default;
  AnyFuture(const AnyFuture& other) noexcept : s_(other.s_) {
    if (s_) s_->retain();
  }
  AnyFuture(AnyFuture&& other) noexcept : s_(std::exchange(other.s_, nullptr)) {}
  AnyFuture& operator=(AnyFuture other) noexcept {
    std::swap(s_, other.s_);
    return *this;
  }
  ~AnyFuture() {
    if (s_) s_->release();
  }

  /// True once finished with a result or exception, or cancelled.
  [[nodiscard]] bool done() const { return state().done(); }
  [[nodiscard]] bool cancelled() const { return state().cancelled(); }

  /// Python's cancel(msg): if pending, cancels and schedules the callbacks; returns whether it did.
  bool cancel(std::string message = {}) { return state().cancel(std::move(message)); }

  /// Python's exception(): the exception, or null if the future has a result. Throws CancelledError
  /// if cancelled, InvalidStateError if pending.
  std::exception_ptr exception() { return state().exception(); }

  /// Python's result() without the value: returns if finished with a result; otherwise throws
  /// CancelledError, InvalidStateError, or the future's exception.
  void check_result() { state().check_result(); }

  /// The loop the future belongs to (RuntimeError if it was destroyed).
  [[nodiscard]] EventLoop& get_loop() const { return state().loop(); }
  /// The loop, or null once it was destroyed.
  [[nodiscard]] EventLoop* get_loop_ptr() const { return state().loop_or_null(); }

  /// Python's add_done_callback(fn): fn(AnyFuture&) runs from the loop once the future is done (at
  /// once, scheduled, if it already is), in a copy of the context current now. Returns an id for
  /// remove_done_callback.
  template <class F>
  requires std::is_invocable_v < std::decay_t<F>
  &, AnyFuture& > CallbackId add_done_callback(F&& fn) {
    return detail::add_done_callback<AnyFuture>(state(), std::forward<F>(fn), nullptr);
  }

  /// Python's add_done_callback(fn, context=ctx): fn runs in `context` itself.
  template <class F>
  requires std::is_invocable_v < std::decay_t<F>
  &, AnyFuture& > CallbackId add_done_callback(F&& fn, const Context& context) {
    return detail::add_done_callback<AnyFuture>(state(), std::forward<F>(fn), &context);
  }

  /// Removes the callback added with this id, if it has not been scheduled yet; returns how many.
  std::size_t remove_done_callback(CallbackId id) { return state().remove_callback(id); }

  /// "<Future pending>", "<Future finished exception=RuntimeError: boom>", ...
  [[nodiscard]] std::string repr() const { return s_ ? s_->repr() : std::string("<Future empty>"); }

  /// True unless empty.
  [[nodiscard]] explicit operator bool() const noexcept { return s_ != nullptr; }
  /// Same future (not same value).
  friend bool operator==(const AnyFuture& a, const AnyFuture& b) noexcept { return a.s_ == b.s_; }

  /// Waits for the future; rethrows its exception or CancelledError; gives no value.
  detail::FutureAwaiter<void, false> operator co_await() const { return detail::FutureAwaiter<void, false>(s_); }

  /// The state (for the runtime).
  [[nodiscard]] detail::FutureBase* state_ptr() const noexcept { return s_; }
  /// A new handle to `s` (adds a reference).
  static AnyFuture from_state(detail::FutureBase* s) noexcept { return AnyFuture(s, Retain{}); }

 protected:
  struct Adopt {};
  struct Retain {};
  AnyFuture(detail::FutureBase* s, Adopt) noexcept : s_(s) {}
  AnyFuture(detail::FutureBase* s, Retain) noexcept : s_(s) {
    if (s_) s_->retain();
  }

  detail::FutureBase& state() const {
    if (s_ == nullptr) throw InvalidStateError("empty Future handle");
    return *s_;
  }

  detail::FutureBase* s_ = nullptr;
};

template <class T = void>
class Future : public AnyFuture {
 public:
  using value_type = T;

  /// An empty handle. (Python's Future() binds to the current loop; here use
  /// loop.create_future<T>() or Future<T>(loop).)
  Future() noexcept = default;
  /// A new pending future on `loop`.
  explicit Future(EventLoop& loop) : AnyFuture(new detail::FutureState<T>(&loop), Adopt{}) {}

  /// Python's result(): the value (a reference into the shared state) if finished; throws
  /// CancelledError if cancelled, InvalidStateError if pending, or the future's exception.
  std::add_lvalue_reference_t<T> result() {
    state().check_result();
    if constexpr (!std::is_void_v<T>) return detail::value_of<T>(s_);
  }

  /// Python's set_result(value): finishes the future and schedules its callbacks. Throws
  /// InvalidStateError if it is already done, RuntimeError on a Task's future.
  template <class... Args>
  requires(std::is_void_v<T> ? sizeof...(Args) == 0
                             : std::is_constructible_v<T, Args...>) void set_result(Args&&... args) {
    plain_state("set_result").set_result(std::forward<Args>(args)...);
  }

  /// Python's set_exception(exc).
  void set_exception(std::exception_ptr exception) { plain_state("set_exception").set_exception(std::move(exception)); }
  template <class E>
  requires(!std::is_same_v<std::remove_cvref_t<E>, std::exception_ptr>) void set_exception(E&& exception) {
    set_exception(std::make_exception_ptr(std::forward<E>(exception)));
  }

  /// add_done_callback with the typed handle: fn(Future<T>&).
  template <class F>
  requires std::is_invocable_v < std::decay_t<F>
  &, Future<T>& > CallbackId add_done_callback(F&& fn) {
    return detail::add_done_callback<Future<T>>(state(), std::forward<F>(fn), nullptr);
  }

  /// add_done_callback with the typed handle, run in `context` itself.
  template <class F>
  requires std::is_invocable_v < std::decay_t<F>
  &, Future<T>& > CallbackId add_done_callback(F&& fn, const Context& context) {
    return detail::add_done_callback<Future<T>>(state(), std::forward<F>(fn), &context);
  }

  detail::FutureAwaiter<T, false> operator co_await() const& { return detail::FutureAwaiter<T, false>(s_); }
  detail::FutureAwaiter<T, true> operator co_await() && { return detail::FutureAwaiter<T, true>(s_); }

  static Future from_state(detail::FutureBase* s) noexcept { return Future(s, Retain{}); }
  /// Takes over the reference of a new state (a FutureState<T> or a class derived from it).
  static Future adopt(detail::FutureBase* s) noexcept { return Future(s, Adopt{}); }

 protected:
  using AnyFuture::AnyFuture;
  Future(detail::FutureBase* s, Retain r) noexcept : AnyFuture(s, r) {}
  Future(detail::FutureBase* s, Adopt a) noexcept : AnyFuture(s, a) {}

 private:
  detail::FutureState<T>& plain_state(const char* what) {
    detail::FutureBase& s = state();
    if (s.is_task()) throw RuntimeError(std::string("Task does not support ") + what + "() operation");
    return static_cast<detail::FutureState<T>&>(s);
  }
};

template <class T>
Future<T> EventLoop::create_future() {
  return Future<T>(*this);
}

}  // namespace asyncio
