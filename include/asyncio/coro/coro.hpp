#pragma once
/// Coro<T>: what an `async def` returns. Lazy: calling the coroutine function builds the frame and
/// runs nothing; `co_await coro` runs it inline in the awaiting coroutine (Python's `await coro()`),
/// and its result or exception comes back there. A Coro is never scheduled by itself: to run one
/// concurrently, wrap it in a Task (create_task).
///
///   Coro<int> small_step() { co_return 123; }
///   Coro<int> big_step() { int r = co_await small_step(); co_return r * 1000; }
///
/// Inside a Task, frames are entered by the Task's Driver (coro/driver.hpp) with bounded nesting, so
/// any number of synchronously completing awaits uses constant stack. Awaited from a coroutine of
/// another kind, a Coro is resumed by its awaiter, and hands back by symmetric transfer if it waits.
///
/// A Coro may await only awaitables of this library (Coro, Future, Task, sleep, ...): they know how
/// to park a Task. Any other awaitable is refused at compile time, since resuming a Task's frame
/// from outside its Driver would silently stall it. To make your own event awaitable, complete
/// a Future from it (`auto f = loop.create_future<T>(); ... f.set_result(v);` on the loop's thread,
/// or through loop.call_soon_threadsafe from another) and `co_await f`. The marker the library's
/// awaiters carry (`static constexpr bool asyncio_awaiter = true;`) promises that the awaiter parks
/// a Task through its detail::Driver; declare it only on an awaiter that keeps that promise.

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <type_traits>
#include <utility>

#include "asyncio/coro/driver.hpp"
#include "asyncio/detail/frame_pool.hpp"
#include "asyncio/exceptions.hpp"

namespace asyncio {

template <class T = void>
class Coro;

namespace detail {

/// Where a coroutine function is defined: its name and line, captured when the frame is built, for
/// task names, debug reports and async stack traces.
struct CoroOrigin {
  struct Tag {};
  const char* function;
  std::uint32_t line;
  // The tag keeps a coroutine parameter from ever converting to a CoroOrigin; the default arguments
  // are evaluated in the coroutine function, so they name it.
  constexpr CoroOrigin(Tag = {}, const char* fn = __builtin_FUNCTION(), std::uint32_t ln = __builtin_LINE()) noexcept
      : function(fn), line(ln) {}
};

/// Called when a Coro that never ran is destroyed (Python's "coroutine ... was never awaited").
/// The loop layer installs a reporter that is active in debug mode.
inline std::atomic<void (*)(const CoroOrigin&)> coro_never_awaited_hook{nullptr};

/// True for awaiters of this library: they park a Task through its Driver, or work without one.
template <class A>
concept LoopAwaiter = requires {
  std::remove_cvref_t<A>::asyncio_awaiter;
};

template <class A>
concept HasMemberCoAwait = requires(A&& a) {
  static_cast<A&&>(a).operator co_await();
};

template <class A>
consteval bool is_loop_awaitable() {
  if constexpr (HasMemberCoAwait<A>) {
    return LoopAwaiter<decltype(std::declval<A>().operator co_await())>;
  } else {
    return LoopAwaiter<A>;
  }
}

class CoroPromiseBase {
 public:
  explicit CoroPromiseBase(CoroOrigin origin = CoroOrigin()) noexcept
      : function_(origin.function), line_(origin.line) {}

  static void* operator new(std::size_t size) { return frame_allocate(size); }
  static void operator delete(void* p, std::size_t size) noexcept { frame_deallocate(p, size); }

  /// Empty on purpose: g++ 12 keeps two copies of the initial awaiter in every frame, so an awaiter
  /// holding `this` cost 16 bytes per frame. started_ is set by whoever takes the frame over
  /// (CoroAwaiter, Task) instead of on the first resumption.
  std::suspend_always initial_suspend() noexcept { return {}; }

  struct FinalAwaiter {
    bool await_ready() const noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> self) const noexcept {
      CoroPromiseBase& p = self.promise();
      if (p.driver_) {
        p.driver_->current = p.continuation_;
        return std::noop_coroutine();  // back to whoever resumed this frame: the awaiter or the driver
      }
      // Outside a task: an awaiter that resumed this frame directly is still waiting for it to
      // return; otherwise this frame was woken by a callback, and hands over to its awaiter.
      if (p.resumed_inline_ || !p.continuation_) return std::noop_coroutine();
      return p.continuation_;
    }
    void await_resume() const noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }

  template <class A>
  A&& await_transform(A&& awaitable) noexcept {
    static_assert(is_loop_awaitable<A>(),
                  "asyncio::Coro can co_await only awaitables of asyncio (Coro, Future, Task, sleep, ...); "
                  "a foreign awaitable would resume the task outside its loop");
    return static_cast<A&&>(awaitable);
  }

  [[nodiscard]] Driver* driver() const noexcept { return driver_; }
  [[nodiscard]] CoroOrigin origin() const noexcept { return CoroOrigin(CoroOrigin::Tag{}, function_, line_); }
  /// True once the frame was handed to an awaiter or a Task (it then runs, or ran): a Coro can be
  /// awaited once.
  [[nodiscard]] bool started() const noexcept { return started_; }

  Driver* driver_ = nullptr;              // the Task running this chain; null outside a Task
  std::coroutine_handle<> continuation_;  // the frame awaiting this one; null for a Task's root
  const char* function_;                  // the origin, unpacked: line_ and the flags share a word
  std::uint32_t line_;
  bool started_ = false;
  bool resumed_inline_ = false;  // outside a task: the awaiter is resuming this frame directly
  // CoroPromise<T>: what its result slot holds (here, in what would be padding).
  static constexpr std::uint8_t kEmpty = 0, kValue = 1, kError = 2;
  std::uint8_t result_state_ = kEmpty;
};

template <class T>
class CoroPromise final : public CoroPromiseBase {
 public:
  explicit CoroPromise(CoroOrigin origin = CoroOrigin()) noexcept : CoroPromiseBase(origin) {}
  CoroPromise(const CoroPromise&) = delete;
  CoroPromise& operator=(const CoroPromise&) = delete;
  ~CoroPromise() {
    if (result_state_ == kValue) {
      value_.~T();
    } else if (result_state_ == kError) {
      error_.~exception_ptr();
    }
  }
  Coro<T> get_return_object() noexcept;

  template <class U>
  requires std::convertible_to<U, T>
  void return_value(U&& value) {
    ::new (static_cast<void*>(std::addressof(value_))) T(std::forward<U>(value));
    result_state_ = kValue;
  }
  void unhandled_exception() noexcept {
    ::new (static_cast<void*>(std::addressof(error_))) std::exception_ptr(std::current_exception());
    result_state_ = kError;
  }

  /// The result, moved out, or the exception, rethrown.
  T take_result() {
    if (result_state_ == kError) [[unlikely]]
      std::rethrow_exception(error_);
    return std::move(value_);
  }
  [[nodiscard]] std::exception_ptr exception() const noexcept { return result_state_ == kError ? error_ : nullptr; }

 private:
  // A union and the state byte in the base's padding: a std::variant costs index checks and a
  // destroy-before-emplace on every co_return.
  union {
    T value_;
    std::exception_ptr error_;
  };
};

template <>
class CoroPromise<void> final : public CoroPromiseBase {
 public:
  explicit CoroPromise(CoroOrigin origin = CoroOrigin()) noexcept : CoroPromiseBase(origin) {}
  Coro<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void unhandled_exception() noexcept { error_ = std::current_exception(); }
  void take_result() {
    if (error_) [[unlikely]]
      std::rethrow_exception(error_);
  }
  [[nodiscard]] std::exception_ptr exception() const noexcept { return error_; }

 private:
  std::exception_ptr error_;
};

/// The awaiter of `co_await coro`: starts the child frame in place of the awaiting one.
template <class T>
class CoroAwaiter {
 public:
  static constexpr bool asyncio_awaiter = true;
  using handle_type = std::coroutine_handle<CoroPromise<T>>;

  explicit CoroAwaiter(handle_type h) noexcept : h_(h) {}

  bool await_ready() const {
    if (!h_) throw RuntimeError("co_await of an empty Coro (moved from, or handed to a Task)");
    if (h_.promise().started()) throw RuntimeError("cannot reuse already awaited coroutine");
    return false;
  }

  /// Starts the child. It is resumed right here (bounded by the driver's inline budget), so a
  /// child that finishes without waiting returns its result without suspending the awaiting frame.
  template <class P>
  bool await_suspend(std::coroutine_handle<P> awaiting) const noexcept {
    CoroPromise<T>& child = h_.promise();
    child.started_ = true;
    child.continuation_ = awaiting;
    Driver* d = nullptr;
    if constexpr (std::is_base_of_v<CoroPromiseBase, P>) d = awaiting.promise().driver_;
    if (d != nullptr) {
      child.driver_ = d;
      if (d->inline_budget == 0) {  // deep: the driver's loop starts the child
        d->current = h_;
        return true;
      }
      // The child's handle is not published: whatever parks sets `current` to the parking frame,
      // which keeps the handle local (clang can then elide a visible child's frame).
      --d->inline_budget;
      h_.resume();
      ++d->inline_budget;
      return !h_.done();  // done: the child's final suspend already made this frame current again
    }
    // Not in a task (awaited from another library's coroutine, or a chain under one): run the child
    // here; if it waits, its final suspend resumes this frame later.
    child.resumed_inline_ = true;
    h_.resume();
    if (h_.done()) return false;
    child.resumed_inline_ = false;
    return true;
  }

  T await_resume() const { return h_.promise().take_result(); }

 private:
  handle_type h_;
};

}  // namespace detail

template <class T>
class [[nodiscard]] Coro {
 public:
  using promise_type = detail::CoroPromise<T>;
  using handle_type = std::coroutine_handle<promise_type>;
  using value_type = T;

  /// An empty Coro; awaiting it throws RuntimeError.
  Coro() noexcept = default;
  Coro(Coro&& other) noexcept : h_(std::exchange(other.h_, nullptr)) {}
  Coro& operator=(Coro&& other) noexcept {
    if (this != &other) {
      destroy();
      h_ = std::exchange(other.h_, nullptr);
    }
    return *this;
  }
  Coro(const Coro&) = delete;
  Coro& operator=(const Coro&) = delete;

  /// Destroys the frame. A Coro that never ran is reported in debug mode ("was never awaited").
  ~Coro() { destroy(); }

  /// Runs the coroutine inline; the expression's value is its result. A Coro can be awaited once.
  detail::CoroAwaiter<T> operator co_await() const& noexcept { return detail::CoroAwaiter<T>{h_}; }
  detail::CoroAwaiter<T> operator co_await() const&& noexcept { return detail::CoroAwaiter<T>{h_}; }

  /// True unless empty.
  [[nodiscard]] explicit operator bool() const noexcept { return static_cast<bool>(h_); }

  /// The name of the coroutine function (its unqualified name; "operator()" for a lambda).
  [[nodiscard]] const char* name() const noexcept { return h_ ? h_.promise().origin().function : ""; }

  /// Gives up ownership of the frame (a Task adopts it this way).
  [[nodiscard]] handle_type release() noexcept { return std::exchange(h_, nullptr); }

 private:
  friend promise_type;
  explicit Coro(handle_type h) noexcept : h_(h) {}

  void destroy() noexcept {
    if (!h_) return;
    if (!h_.promise().started()) {
      if (auto hook = detail::coro_never_awaited_hook.load(std::memory_order_relaxed)) hook(h_.promise().origin());
    }
    h_.destroy();
    h_ = nullptr;
  }

  handle_type h_;
};

namespace detail {
template <class T>
Coro<T> CoroPromise<T>::get_return_object() noexcept {
  return Coro<T>{std::coroutine_handle<CoroPromise<T>>::from_promise(*this)};
}
inline Coro<void> CoroPromise<void>::get_return_object() noexcept {
  return Coro<void>{std::coroutine_handle<CoroPromise<void>>::from_promise(*this)};
}
}  // namespace detail

}  // namespace asyncio
