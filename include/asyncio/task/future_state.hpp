#pragma once
/// The shared state behind Future and Task handles (what a Python Future object is).
///
/// Invariants:
///  - state_ goes pending -> finished | cancelled, once; result or exception are set with it;
///  - done-callbacks are never run inline: completing a future puts each on the loop's ready queue,
///    in the order they were added;
///  - waiters are linked through themselves (a task waits on one future at a time, and a user's
///    callback is a node anyway), so waiting costs no allocation however many wait: CPython's C
///    Future keeps its first callback inline for the same reason;
///  - the reference count is not atomic: a future belongs to its loop's thread.

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <utility>

#include "asyncio/detail/frame_pool.hpp"
#include "asyncio/exceptions.hpp"
#include "asyncio/loop/detail/context_state.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/loop/ready_queue.hpp"

namespace asyncio::detail {

enum class FutureStatus : std::uint8_t { pending, cancelled, finished };

/// What waits for a future, and what its completion puts on the ready queue.
enum class WaiterKind : std::uintptr_t {
  task = 0,    ///< a TaskBase: a step of the task
  user = 1,    ///< a UserCallbackNode: the user's done-callback
  resume = 2,  ///< a ResumeWaiter: resumes a coroutine that is not in a task
  ops = 3,     ///< an OpsWaiter: the runtime's own done-callback (gather's slots)
};

/// The link a waiter carries. The list holds tagged pointers: the kind of the next waiter sits in
/// the two low bits of the pointer to it (waiters are at least 8-byte aligned).
struct WaiterLink {
  std::uintptr_t next_ = 0;
};

class FutureBase;

/// A done-callback of the runtime itself, queued as the ready-queue entry {ops, this} when the
/// future completes and handed to `ops->discard` if it never runs. Why not a UserCallbackNode: it
/// needs no id, no type-erased callable and no reference to the future (its owner holds one), so a
/// gather of 100,000 children keeps 24 bytes less per child.
struct OpsWaiter : WaiterLink {
  const ReadyOps* ops = nullptr;
};

/// A user's done-callback: the callable, the context it runs in, and (once scheduled) the future
/// it receives.
struct UserCallbackNode : WaiterLink, PoolAllocated {
  void (*invoke)(UserCallbackNode* self) = nullptr;  // calls the callable with the future's handle
  void (*destroy)(UserCallbackNode* self) noexcept = nullptr;
  FutureBase* future = nullptr;  // retained while scheduled
  std::uint64_t id = 0;          // what add_done_callback returned, for remove_done_callback
  ContextRef context;            // given, else captured by add_user_callback
};

extern const ReadyOps user_callback_ops;

/// A coroutine of another kind waiting for a future (no task to park): resumed by the loop.
struct ResumeWaiter final : WaiterLink, PoolAllocated {
  explicit ResumeWaiter(std::coroutine_handle<> h) noexcept : handle(h) {}
  std::coroutine_handle<> handle;
};

class FutureBase : public PoolAllocated {
 public:
  explicit FutureBase(EventLoop* loop) noexcept : anchor_(LoopAccess::retain_anchor(*loop)) {}
  FutureBase(const FutureBase&) = delete;
  FutureBase& operator=(const FutureBase&) = delete;

  /// Reports an exception nobody retrieved ("Future exception was never retrieved").
  virtual ~FutureBase();

  void retain() noexcept { ++refs_; }
  void release() noexcept {
    if (--refs_ == 0) delete this;
  }
  [[nodiscard]] std::uint32_t refs() const noexcept { return refs_; }

  [[nodiscard]] bool done() const noexcept { return status_ != FutureStatus::pending; }
  [[nodiscard]] bool cancelled() const noexcept { return status_ == FutureStatus::cancelled; }
  [[nodiscard]] FutureStatus status() const noexcept { return status_; }
  [[nodiscard]] EventLoop& loop() const;
  /// The loop, or null once it was destroyed.
  [[nodiscard]] EventLoop* loop_or_null() const noexcept { return anchor_->loop; }
  [[nodiscard]] bool is_task() const noexcept { return is_task_; }

  /// Python's Future.cancel(msg); Task overrides it.
  virtual bool cancel(std::string message);

  /// Calls `visit(future, context)` for each future whose completion this one waits for: a task,
  /// the future it is parked on; a gather, its children not yet done; a plain future, none. For
  /// walks of the await graph (a cycle of tasks awaiting each other is a deadlock).
  virtual void for_each_awaited(void (*visit)(FutureBase&, void*), void* context) const;

  /// Python's set_exception. Throws InvalidStateError unless pending, TypeError for a null pointer.
  void set_exception(std::exception_ptr exception);

  /// Python's exception(): null if finished with a result; throws CancelledError if cancelled,
  /// InvalidStateError if pending. Marks the exception retrieved.
  std::exception_ptr exception();

  /// Throws what result() would throw: CancelledError, InvalidStateError, or the exception.
  void check_result();

  /// "<Future pending>", "<Task finished name='Task-1' coro=<main() line 3> exception=...>"...
  [[nodiscard]] virtual std::string repr() const;

  // --- waiters ---
  /// Links a waiter; if the future is already done, schedules it at once instead.
  void add_waiter(WaiterLink& waiter, WaiterKind kind);
  /// Unlinks a waiter that stops waiting without the future completing; false if it was not linked.
  bool remove_waiter(const WaiterLink& waiter) noexcept;
  /// Removes the user callbacks with this id; returns how many.
  std::size_t remove_callback(std::uint64_t id) noexcept;
  /// Registers a user callback node (the future owns it from here); returns its id. A node without
  /// a context gets a copy of the current one.
  std::uint64_t add_user_callback(UserCallbackNode* node);

  /// The CancelledError that result() raises for a cancelled future.
  [[nodiscard]] std::exception_ptr make_cancelled_error() const;
  [[nodiscard]] const std::string& cancel_message() const noexcept;

 protected:
  /// Marks finished (the caller stored the value) and schedules the callbacks.
  void mark_finished();
  /// Marks cancelled with `message` and schedules the callbacks. Precondition: pending.
  void mark_cancelled(std::string message);
  /// Throws InvalidStateError unless pending; RuntimeError if callbacks wait and the loop is closed.
  void check_settable(const char* what) const;
  /// Throws RuntimeError if callbacks wait and the loop is closed or destroyed.
  void check_can_schedule() const;
  void schedule_callbacks();
  /// Puts one waiter on the ready queue.
  void schedule_waiter(EventLoop& loop, WaiterLink& waiter, WaiterKind kind);
  /// Drops the waiters without running them (the loop is gone, or the future is).
  void drop_callbacks() noexcept;
  [[nodiscard]] bool has_waiters() const noexcept { return waiters_head_ != 0; }
  void report_unretrieved(const char* what) noexcept;
  std::string status_repr() const;

  struct Extras {
    std::string cancel_message;
    std::string name;  // tasks: a name given by the user
  };
  Extras& extras();

  /// The loop, for paths where it is known to be alive (a pending task's steps).
  EventLoop& live_loop() const noexcept { return *anchor_->loop; }

  LoopAnchor* anchor_;
  std::exception_ptr exception_;
  std::uintptr_t waiters_head_ = 0;  // tagged pointer to the first waiter (see WaiterLink)
  WaiterLink* waiters_tail_ = nullptr;
  std::unique_ptr<Extras> extras_;
  std::uint32_t refs_ = 1;
  FutureStatus status_ = FutureStatus::pending;
  bool log_traceback_ : 1 = false;  // an exception is set and nobody retrieved it yet
  bool is_task_ : 1 = false;
  // Task state lives here, in what would be padding: every byte of an idle task counts.
  bool must_cancel_ : 1 = false;
  bool task_started_ : 1 = false;
  bool has_value_ : 1 = false;     // ValueHolder: its value is constructed (here, not there: see TaskBase)
  bool in_cancel_ : 1 = false;     // a task's cancel() is passing the request on to what it awaits
  std::uint8_t task_wait_ = 0;     // TaskWait
  std::int32_t task_cancels_ = 0;  // cancel() requests not withdrawn by uncancel()
  std::uint32_t task_id_ = 0;
};

/// Value storage on top of a future or task state: constructed when the result is set.
template <class T, class Base>
class ValueHolder : public Base {
 public:
  using Base::Base;
  ~ValueHolder() override {
    if (this->has_value_) value().~T();
  }

  T& value() noexcept { return *std::launder(reinterpret_cast<T*>(&storage_)); }

  template <class... Args>
  void emplace_value(Args&&... args) {
    ::new (static_cast<void*>(&storage_)) T(std::forward<Args>(args)...);
    this->has_value_ = true;
  }

 private:
  alignas(T) unsigned char storage_[sizeof(T)];
};

template <class Base>
class ValueHolder<void, Base> : public Base {
 public:
  using Base::Base;
};

/// The state of a plain Future<T> (loop.create_future<T>()). Not final: a future with its own
/// cancel() (gather's, shield's) derives from it and overrides FutureBase::cancel.
template <class T>
class FutureState : public ValueHolder<T, FutureBase> {
 public:
  explicit FutureState(EventLoop* loop) noexcept : ValueHolder<T, FutureBase>(loop) {}

  template <class... Args>
  void set_result(Args&&... args) {
    this->check_settable("set_result");
    if constexpr (!std::is_void_v<T>) this->emplace_value(std::forward<Args>(args)...);
    this->mark_finished();
  }
};

}  // namespace asyncio::detail
