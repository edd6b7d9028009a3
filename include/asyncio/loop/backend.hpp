#pragma once
/// Backend: the one seam between the loop and the operating system (DESIGN section 1). The loop
/// asks it to wait and to be woken; nothing above loop/ knows which backend runs (epoll today).
///
/// Why so small: Asio's scheduler_task has two methods (run, interrupt), and that is what a loop
/// needs for timers and cross-thread wake-ups; descriptor readiness adds one method (watch) and a
/// function through which poll() reports it. The loop keeps the callbacks (add_reader and friends);
/// the backend only knows descriptors and interest bits, so a completion backend (io_uring) can
/// sit behind the same seam.

#include <cstddef>
#include <memory>

#include "asyncio/loop/clock.hpp"

namespace asyncio::detail {

/// Interest and readiness bits of a descriptor.
enum IoEvents : unsigned {
  io_readable = 1u,
  io_writable = 2u,
};

/// How poll() reports a ready descriptor: `events` holds io_readable and/or io_writable (an error
/// or hang-up reports both, as selectors do, so that the callback's next call sees the error).
using IoReadyFn = void (*)(void* context, int fd, unsigned events);

class Backend {
 public:
  virtual ~Backend() = default;

  /// Waits until woken, until a watched descriptor is ready, or until `timeout` passes: a negative
  /// timeout waits without limit, zero only checks. Reports each ready descriptor through
  /// `on_ready(context, fd, events)` before it returns, and returns how many it reported.
  /// Spurious early returns are allowed; the loop re-evaluates after each one.
  virtual std::size_t poll(Duration timeout, IoReadyFn on_ready, void* context) = 0;

  /// Changes what `fd` is watched for from `old_interest` to `new_interest` (io_readable |
  /// io_writable; 0 stops watching). Readiness is level-triggered: a descriptor stays reported
  /// while it is ready. Throws OSError if the system refuses (PermissionError for a regular file,
  /// OSError EBADF for a closed descriptor).
  virtual void watch(int fd, unsigned old_interest, unsigned new_interest) = 0;

  /// Makes a poll() that is running, or the next one, return soon. Any thread may call it.
  virtual void wake() noexcept = 0;

  /// Whether a poll that does not wait could report anything (a descriptor is watched). The loop
  /// skips such polls when this is false: a syscall per iteration is most of the cost of a task
  /// switch. Cross-thread wake-ups do not count: they reach the loop through its inbox, and the
  /// eventfd is written only while the loop waits in poll().
  [[nodiscard]] virtual bool has_sources() const noexcept = 0;

  /// A name for debug reports ("epoll").
  [[nodiscard]] virtual const char* name() const noexcept = 0;
};

/// The backend this machine supports best.
std::unique_ptr<Backend> make_default_backend();

}  // namespace asyncio::detail
