#pragma once
/// Driver: what runs a chain of Coro frames (a Task is one). The coro layer's only notion of a runner.
///
/// Why not symmetric transfer: g++ 12 does not turn symmetric transfer into a tail call below -O2 or under
/// sanitizers, so a million synchronously completing `co_await`s by symmetric transfer overflow the
/// stack (DESIGN section 4). Inside a driver, frames are entered in two ways, both of bounded depth:
///
///   awaiting a Coro, with inline budget left:  the awaiter resumes the child directly; if the child
///       finishes at once the awaiting frame continues without suspending (the common case, and the
///       cheap one); the stack grows with nesting depth only, never with the number of awaits;
///   awaiting a Coro, budget spent:             current = child, and the driver's loop resumes it;
///   a Coro finishing:                          current = its awaiter (null for the outermost: done);
///   parking on a Future / a timer:             current = the parking frame, parked = true; the loop
///                                              stops until a wake-up resumes `current`.

#include <coroutine>
#include <cstdint>
#include <exception>
#include <utility>

namespace asyncio::detail {

struct Driver {
  /// How many Coro frames may be entered by direct resumption on top of one another.
  static constexpr std::uint8_t kInlineDepth = 32;

  /// The innermost frame of the chain: the one to resume next.
  std::coroutine_handle<> current;
  /// Raised by the parked awaiter when `current` next resumes (a cancellation thrown into the task).
  std::exception_ptr pending;
  /// Direct resumptions still allowed on the current stack.
  std::uint8_t inline_budget = kInlineDepth;
  /// Set by whatever parks the chain; the loop below stops when it sees it.
  bool parked = false;

  /// Parks the chain at `frame` (called by awaiters as they suspend).
  void park(std::coroutine_handle<> frame) noexcept {
    current = frame;
    parked = true;
  }

  /// Resumes `current` until the chain parks or ends (current == null).
  void run() {
    parked = false;
    std::coroutine_handle<> h = current;
    for (;;) {
      h.resume();
      if (parked || !current) return;
      h = current;
    }
  }

  /// Takes the pending exception, if any, and throws it: called by every awaiter that parks a chain,
  /// on resumption.
  void raise_pending() {
    if (pending) std::rethrow_exception(std::exchange(pending, nullptr));
  }
};

}  // namespace asyncio::detail
