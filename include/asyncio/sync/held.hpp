#pragma once
/// Held<L>: Python's `async with lock:` as an RAII guard, made by `co_await x.hold()` on a Lock,
/// Semaphore, BoundedSemaphore or Condition.

#include <coroutine>
#include <exception>
#include <string>
#include <utility>

#include "asyncio/sync/detail/owner_watch.hpp"

namespace asyncio {

namespace detail {

/// Reports an exception from a guard's release in its destructor (a destructor cannot throw):
/// to the running loop's exception handler, else to the log.
void report_guard_release_error(std::exception_ptr error, const std::string& owner) noexcept;

template <class L, class Acquire>
class HoldAwaiter;

}  // namespace detail

/// Python's `async with lock:` in C++: holds a Lock, Semaphore or BoundedSemaphore (a Condition
/// gives its lock's guard) and releases it when destroyed, on scope exit, on an exception and on
/// cancellation alike. Move-only; `release()` releases early. Made by `co_await x.hold()`.
template <class L>
class [[nodiscard]] Held {
 public:
  /// A guard that holds nothing.
  Held() noexcept = default;
  Held(Held&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)), watch_(std::move(other.watch_)) {
    if (owner_ != nullptr && !watch_.owner_gone()) owner_->move_holder(other.watch_, watch_);
  }
  Held& operator=(Held&& other) noexcept {
    if (this != &other) {
      release_noexcept();
      owner_ = std::exchange(other.owner_, nullptr);
      watch_ = std::move(other.watch_);
      if (owner_ != nullptr && !watch_.owner_gone()) owner_->move_holder(other.watch_, watch_);
    }
    return *this;
  }
  Held(const Held&) = delete;
  Held& operator=(const Held&) = delete;

  /// Releases what it holds. An exception from that release (a BoundedSemaphore released too many
  /// times by hand meanwhile, a lock released by hand) cannot leave a destructor: it goes to the
  /// running loop's exception handler.
  ~Held() { release_noexcept(); }

  /// Releases now (Python's `release()` inside the `async with` body, done once): the destructor
  /// then does nothing. Exceptions from the primitive's release() propagate. A primitive destroyed
  /// meanwhile is not touched (see docs/design.md, "Lifetimes").
  void release() {
    L* owner = std::exchange(owner_, nullptr);
    if (owner == nullptr || watch_.owner_gone()) return;
    owner->detach_holder(watch_);
    owner->release();
  }

  /// True while it still holds its primitive.
  [[nodiscard]] bool owns() const noexcept { return owner_ != nullptr && !watch_.owner_gone(); }
  [[nodiscard]] explicit operator bool() const noexcept { return owns(); }

 private:
  template <class, class>
  friend class detail::HoldAwaiter;
  explicit Held(L& owner) noexcept : owner_(&owner) { owner.attach_holder(watch_); }

  void release_noexcept() noexcept {
    L* owner = std::exchange(owner_, nullptr);
    if (owner == nullptr || watch_.owner_gone()) return;
    owner->detach_holder(watch_);
    try {
      owner->release();
    } catch (...) {
      std::string what;
      try {
        what = owner->repr();
      } catch (...) {
      }
      detail::report_guard_release_error(std::current_exception(), what);
    }
  }

  L* owner_ = nullptr;
  // C++ can destroy the primitive under a task that holds it (a Lock local to a coroutine that
  // returned while a task it made still holds it): the guard then releases nothing.
  typename L::HolderWatch watch_;
};

namespace detail {

/// The awaiter of `co_await x.hold()`: x's acquire awaiter, whose result becomes a Held<L>.
template <class L, class Acquire>
class HoldAwaiter {
 public:
  static constexpr bool asyncio_awaiter = true;

  explicit HoldAwaiter(L& owner) noexcept : owner_(&owner), acquire_(owner) {}
  HoldAwaiter(HoldAwaiter&& other) noexcept : owner_(other.owner_), acquire_(std::move(other.acquire_)) {}
  HoldAwaiter& operator=(const HoldAwaiter&) = delete;

  bool await_ready() { return acquire_.await_ready(); }
  template <class P>
  decltype(auto) await_suspend(std::coroutine_handle<P> awaiting) {
    return acquire_.await_suspend(awaiting);
  }
  Held<L> await_resume() {
    acquire_.await_resume();
    return Held<L>(*owner_);
  }

 private:
  L* owner_;
  Acquire acquire_;
};

/// What x.hold() returns: one pointer, which `co_await` turns into the HoldAwaiter. Why not the
/// awaiter itself: g++ 12 keeps two copies of an awaitable that passes through await_transform in
/// the frame, so the object returned by the call is kept small and the awaiter (with its waiter
/// node) is made by operator co_await, once.
template <class L>
class [[nodiscard]] Hold {
 public:
  explicit Hold(L& owner) noexcept : owner_(&owner) {}
  HoldAwaiter<L, typename L::AcquireAwaiter> operator co_await() const noexcept {
    return HoldAwaiter<L, typename L::AcquireAwaiter>(*owner_);
  }

 private:
  L* owner_;
};

}  // namespace detail

}  // namespace asyncio
