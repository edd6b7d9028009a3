#pragma once
/// SignalWatch: the machinery behind EventLoop::add_signal_handler / remove_signal_handler
/// (Python's unix_events.py), on a signalfd. Users call the loop's methods; this header is for the
/// runtime (process/ asks which signals loops block, so that children do not inherit the block).
///
/// How a signal reaches the loop:
///   - While a handler is set for `sig`, `sig` is blocked (pthread_sigmask) in the thread that set
///     it, which must be the loop's thread, and is part of the mask of one signalfd per loop. The
///     signalfd is watched with add_reader; each signal read from it schedules its handler with
///     call_soon, so handlers run as ordinary loop callbacks, never in signal context.
///   - A signalfd reports only signals pending for the whole process or for the reading thread. A
///     process-directed signal (kill(pid), Ctrl-C) goes to *some* thread that does not block it; if
///     another thread has it unblocked, that thread would take it (and be killed, or ignore it) and
///     the signalfd would never see it. Blocking the signal in every thread before any is started
///     is the classic fix, but a library cannot reach threads that already exist. So
///     add_signal_handler also installs a process-wide sigaction handler that forwards the signal to
///     the loop's thread (tgkill), where it is blocked and therefore pending, and read by the
///     signalfd. This plays the part of CPython's `signal.signal(sig, _sighandler_noop)`: the
///     signal's disposition is this library's while a handler is set, and the previous disposition
///     comes back when the handler is removed. Threads started from the loop's thread while a
///     handler is set inherit the blocked mask and keep it after the handler is removed (a
///     process-directed signal then simply goes to another thread); programs they start by other
///     means than process/ inherit it too (create_subprocess_* gives children a mask without the
///     signals loops block). Block or unblock signals in such threads yourself if it matters.
///   - One loop per signal in a process (the disposition is process-wide): a second loop asking for
///     the same signal gets RuntimeError. CPython allows handlers only in the main thread; here any
///     thread may run a loop with handlers.
///   - remove_signal_handler and close() restore the previous disposition, discard an instance of
///     the signal still pending (it arrived while the handler was set, and the handler is gone, as
///     CPython's _handle_signal drops a signal whose handler is gone), then unblock the signal if
///     add_signal_handler had blocked it.
///   - Closing the loop removes every handler. EventLoop::close() knows nothing of signals: it
///     drops the signalfd's reader callback like any other, and the reader's closure carries a
///     guard whose destructor restores the dispositions and masks.

#include <signal.h>

#include <sys/types.h>
#include <array>
#include <memory>

#include "asyncio/detail/callback.hpp"
#include "asyncio/loop/event_loop.hpp"

namespace asyncio::detail {

/// The signal handlers of one loop. Invariants: `fd_` is a signalfd whose mask is exactly the
/// signals with an entry in `handlers_`, watched with add_reader, and -1 when there is none; each
/// such signal is registered to this watch process-wide (disposition = the forwarder, forwarded to
/// `tid_`) and blocked in thread `tid_`.
class SignalWatch {
 public:
  explicit SignalWatch(EventLoop& loop) noexcept : loop_(loop) {}
  SignalWatch(const SignalWatch&) = delete;
  SignalWatch& operator=(const SignalWatch&) = delete;
  /// Removes whatever handler is left (restores dispositions and masks).
  ~SignalWatch();

  /// Sets (or replaces) the handler of `sig`; `sig` has been validated.
  void add(int sig, Callback callback);
  /// Removes the handler of `sig`; false if there was none.
  bool remove(int sig) noexcept;

 private:
  /// One handler. Shared with the call_soon closures a signal scheduled, so that a handler removed
  /// while one of those is pending (or running) is neither run nor destroyed mid-call.
  struct Handler {
    Callback fn;
    bool removed = false;
    bool running = false;
  };
  /// Lives in the signalfd reader's closure: the loop destroys it when it drops its callbacks on
  /// close(), and that removes every handler.
  class CloseGuard;

  static void run_handler(const std::shared_ptr<Handler>& handler);
  void on_readable();
  void release(int sig) noexcept;
  void release_all() noexcept;
  void close_fd() noexcept;

  EventLoop& loop_;
  int fd_ = -1;
  pid_t tid_ = 0;
  sigset_t mask_{};
  std::array<std::shared_ptr<Handler>, NSIG> handlers_{};
  int count_ = 0;
};

/// Python's valid_signals(): true for a number this process can send and receive as a signal
/// (1..NSIG-1 without the C library's reserved real-time signals).
bool is_valid_signal(int sig) noexcept;

/// The signals event loops of this process block for their handlers (in their own threads). A child
/// process must not inherit them blocked: process/ removes them from a spawned child's mask.
sigset_t signals_blocked_by_loops() noexcept;

}  // namespace asyncio::detail
