#pragma once
/// Backend: the one seam between the loop and the operating system (DESIGN section 1). The loop
/// asks it to wait and to be woken; nothing above loop/ knows which backend runs (epoll today).
///
/// Why so small: Asio's scheduler_task has two methods (run, interrupt), and that is what a loop
/// needs for timers and cross-thread wake-ups. File descriptor readiness (watch/unwatch) joins this
/// interface with the socket layer, so that it is added together with its first user.

#include <memory>

#include "asyncio/loop/clock.hpp"

namespace asyncio::detail {

class Backend {
 public:
  virtual ~Backend() = default;

  /// Waits until woken or until `timeout` passes: a negative timeout waits without limit, zero
  /// only checks. Spurious early returns are allowed; the loop re-evaluates after each one.
  virtual void poll(Duration timeout) = 0;

  /// Makes a poll() that is running, or the next one, return soon. Any thread may call it.
  virtual void wake() noexcept = 0;

  /// Whether a poll that does not wait could report anything. The loop skips such polls when this
  /// is false: a syscall per iteration is most of the cost of a task switch. Cross-thread wake-ups
  /// do not count: they reach the loop through its inbox, and the eventfd is written only while
  /// the loop waits in poll().
  [[nodiscard]] virtual bool has_sources() const noexcept = 0;

  /// A name for debug reports ("epoll").
  [[nodiscard]] virtual const char* name() const noexcept = 0;
};

/// The backend this machine supports best.
std::unique_ptr<Backend> make_default_backend();

}  // namespace asyncio::detail
