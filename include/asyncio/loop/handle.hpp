#pragma once
/// Handle and TimerHandle: what call_soon, call_later and call_at return, to cancel the callback.
///
/// A handle shares a small node with the loop (a reference count, not atomic: handles belong to the
/// loop's thread, like everything of a loop but call_soon_threadsafe). Cancelling releases the
/// callback at once, so what it captured is freed without waiting for the loop, as in asyncio.

#include <cstdint>
#include <utility>

#include "asyncio/detail/callback.hpp"
#include "asyncio/detail/frame_pool.hpp"
#include "asyncio/loop/detail/context_state.hpp"
#include "asyncio/loop/timer_heap.hpp"

namespace asyncio {

class EventLoop;

namespace detail {

extern const TimerOps callback_timer_ops;

/// A user callback on its way through the loop: in the ready queue, in the timer heap, or both.
struct CallbackNode final : TimerNode, PoolAllocated {
  /// Builds the callable in place (one move of the user's closure, not two). `ctx` is the context
  /// the callback runs in (empty by default: the runtime's own callbacks need none).
  template <class F>
  CallbackNode(EventLoop* l, F&& fn, bool timer, ContextRef ctx = {})
      : TimerNode(&callback_timer_ops),
        loop(l),
        context(std::move(ctx)),
        callback(std::forward<F>(fn)),
        is_timer(timer) {}

  EventLoop* loop;
  ContextRef context;  // in what would be padding before the callback's aligned buffer
  Callback callback;
  std::int64_t when = 0;   // timers: the deadline in loop time (ns)
  std::uint32_t refs = 1;  // the loop's reference (queue or heap) plus one per handle
  bool cancelled = false;
  bool running = false;  // the callback is executing: cancel() must not destroy it under itself
  bool is_timer;
};

/// Runs the node's callback once, in the node's context; an exception (or a context already
/// entered) goes to its loop's exception handler with the context Python's Handle._run gives
/// ("Exception in callback"). Loop thread only.
void run_handle_callback(CallbackNode& node) noexcept;

inline void retain(CallbackNode* n) noexcept { ++n->refs; }
inline void release(CallbackNode* n) noexcept {
  if (--n->refs == 0) delete n;
}

}  // namespace detail

/// Python's asyncio.Handle: a callback scheduled by call_soon. Copies refer to the same callback.
class Handle {
 public:
  /// An empty handle: cancel() does nothing.
  Handle() noexcept = default;
  Handle(const Handle& other) noexcept : node_(other.node_) {
    if (node_) detail::retain(node_);
  }
  Handle(Handle&& other) noexcept : node_(std::exchange(other.node_, nullptr)) {}
  Handle& operator=(Handle other) noexcept {
    std::swap(node_, other.node_);
    return *this;
  }
  ~Handle() {
    if (node_) detail::release(node_);
  }

  /// Prevents the callback from running, if it has not run yet, and releases it now. Idempotent.
  void cancel() noexcept;

  /// True once cancel() was called (even if the callback had already run), as in asyncio.
  [[nodiscard]] bool cancelled() const noexcept { return node_ && node_->cancelled; }

  /// True unless empty.
  [[nodiscard]] explicit operator bool() const noexcept { return node_ != nullptr; }

 protected:
  friend class EventLoop;
  explicit Handle(detail::CallbackNode* adopted) noexcept : node_(adopted) {}
  detail::CallbackNode* node_ = nullptr;
};

/// Python's asyncio.TimerHandle: a callback scheduled by call_later or call_at.
class TimerHandle : public Handle {
 public:
  TimerHandle() noexcept = default;

  /// The deadline, in the loop's time() (seconds).
  [[nodiscard]] double when() const noexcept;

 private:
  friend class EventLoop;
  explicit TimerHandle(detail::CallbackNode* adopted) noexcept : Handle(adopted) {}
};

}  // namespace asyncio
