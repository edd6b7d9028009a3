#pragma once
/// Driver: what runs a chain of Coro frames (a Task is one). The coro layer's only notion of a runner.
///
/// Why a trampoline: g++ 12 does not turn symmetric transfer into a tail call below -O2 or under
/// sanitizers, so a million synchronously completing `co_await`s by symmetric transfer overflow the
/// stack (DESIGN section 4). Inside a driver, a frame never resumes another frame: it records the
/// next frame in `current` and returns to the driver's loop, which resumes it:
///
///   awaiting a Coro:       current = child          (then return to the loop)
///   a Coro finishing:      current = its awaiter    (null for the outermost: the driver is done)
///   parking on a Future:   current unchanged        (the loop stops; a wake-up resumes `current`)

#include <coroutine>
#include <exception>

namespace asyncio::detail {

struct Driver {
  /// The innermost frame of the chain: the one to resume next.
  std::coroutine_handle<> current;
  /// Raised by the parked awaiter when `current` next resumes (a cancellation thrown into the task).
  std::exception_ptr pending;

  /// Resumes `current` until the chain parks (returns with `current` unchanged) or ends (null).
  void run() {
    std::coroutine_handle<> h = current;
    for (;;) {
      h.resume();
      std::coroutine_handle<> next = current;
      if (next == h || !next) return;
      h = next;
    }
  }

  /// Takes the pending exception, if any, and throws it: called by every awaiter that parks a chain,
  /// on resumption.
  void raise_pending() {
    if (pending) std::rethrow_exception(std::exchange(pending, nullptr));
  }
};

}  // namespace asyncio::detail
