// EventLoop::add_signal_handler / remove_signal_handler on a signalfd; see loop/signal_watch.hpp for
// the mechanism and why a forwarding sigaction handler is installed.
// Reference: CPython 3.13 Lib/asyncio/unix_events.py (add_signal_handler, _handle_signal,
// remove_signal_handler, _check_signal, close).

#include "asyncio/loop/signal_watch.hpp"

#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>

#include "asyncio/os_error.hpp"

namespace asyncio {

namespace detail {

namespace {

/// Who owns a signal in this process, and what to put back when it is released.
struct Registration {
  SignalWatch* owner = nullptr;
  struct sigaction previous {};
  bool unblock = false;  // add_signal_handler blocked it: remove unblocks it
};

std::mutex registry_mutex;
std::array<Registration, NSIG> registry;  // guarded by registry_mutex
/// The thread each signal is forwarded to (0: none). Read in signal context: lock-free atomics only.
std::array<std::atomic<pid_t>, NSIG> forward_to{};
static_assert(std::atomic<pid_t>::is_always_lock_free);
/// Bit n: signal n is blocked by a loop for its handler.
std::atomic<std::uint64_t> blocked_bits{0};
static_assert(NSIG <= 65, "signals_blocked_by_loops() keeps one bit per signal in 64 bits");

std::uint64_t bit(int sig) noexcept { return std::uint64_t{1} << (sig - 1); }

// The process-wide disposition while a loop handles the signal. It runs in whichever thread the
// kernel chose for a process-directed signal; it sends the signal on to the loop's thread, where it
// is blocked, so it stays pending there and the loop's signalfd reads it. Async-signal-safe: two
// system calls and a lock-free load; errno is preserved for the interrupted code.
extern "C" void forward_signal(int sig) {
  const int saved_errno = errno;
  const pid_t target = forward_to[static_cast<std::size_t>(sig)].load(std::memory_order_relaxed);
  // Never to itself: the loop's thread blocks the signal, so it runs this handler only if the
  // signal was unblocked behind the library's back, and re-sending would repeat forever.
  if (target > 0 && target != static_cast<pid_t>(::syscall(SYS_gettid))) {
    ::syscall(SYS_tgkill, ::getpid(), target, sig);
  }
  errno = saved_errno;
}

sigset_t only(int sig) noexcept {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  return set;
}

}  // namespace

bool is_valid_signal(int sig) noexcept {
  if (sig < 1 || sig >= NSIG) return false;
  sigset_t all;
  sigfillset(&all);  // glibc leaves out the real-time signals it reserves for threads
  return sigismember(&all, sig) == 1;
}

sigset_t signals_blocked_by_loops() noexcept {
  const std::uint64_t bits = blocked_bits.load(std::memory_order_acquire);
  sigset_t set;
  sigemptyset(&set);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (bits & bit(sig)) sigaddset(&set, sig);
  }
  return set;
}

class SignalWatch::CloseGuard {
 public:
  explicit CloseGuard(SignalWatch* watch) noexcept : watch_(watch) {}
  CloseGuard(CloseGuard&& other) noexcept : watch_(std::exchange(other.watch_, nullptr)) {}
  CloseGuard& operator=(CloseGuard&&) = delete;
  ~CloseGuard() {
    if (watch_ != nullptr) watch_->release_all();
  }
  [[nodiscard]] SignalWatch* watch() const noexcept { return watch_; }

 private:
  SignalWatch* watch_;
};

SignalWatch::~SignalWatch() {
  // The loop's close() has normally released everything through the CloseGuard; whatever is left
  // is restored without touching the loop, which is being destroyed.
  for (int sig = 1; sig < NSIG; ++sig) {
    if (handlers_[static_cast<std::size_t>(sig)]) release(sig);
  }
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

void SignalWatch::add(int sig, Callback callback) {
  auto handler = std::make_shared<Handler>();
  handler->fn = std::move(callback);
  std::shared_ptr<Handler>& slot = handlers_[static_cast<std::size_t>(sig)];
  if (slot) {  // a replacement: the system's side stays as it is
    slot->removed = true;
    if (!slot->running) slot->fn.reset();
    slot = std::move(handler);
    return;
  }
  const auto self = static_cast<pid_t>(::syscall(SYS_gettid));
  if (count_ > 0 && self != tid_) {
    throw RuntimeError("add_signal_handler: the loop's other signal handlers were added from another thread");
  }

  std::lock_guard lock(registry_mutex);
  Registration& reg = registry[static_cast<std::size_t>(sig)];
  if (reg.owner != nullptr) {
    throw RuntimeError("add_signal_handler: signal " + std::to_string(sig) + " is handled by another event loop");
  }
  sigset_t next = mask_;
  sigaddset(&next, sig);
  const bool made_fd = fd_ < 0;
  if (made_fd) {
    const int fd = ::signalfd(-1, &next, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) throw_last_os_error("signalfd()");
    try {
      loop_.add_reader(fd, [guard = CloseGuard(this)] { guard.watch()->on_readable(); });
      // Signals are rare and need no answer within the iteration: see make_reader_passive.
      LoopAccess::make_reader_passive(loop_, fd);
    } catch (...) {
      ::close(fd);
      throw;
    }
    fd_ = fd;
    tid_ = self;
  } else if (::signalfd(fd_, &next, 0) < 0) {
    throw_last_os_error("signalfd(" + std::to_string(fd_) + ")");
  }

  // Block before the disposition changes, so that this thread never runs the forwarder.
  const sigset_t one = only(sig);
  sigset_t before;
  pthread_sigmask(SIG_BLOCK, &one, &before);
  forward_to[static_cast<std::size_t>(sig)].store(self, std::memory_order_relaxed);
  struct sigaction action {};
  action.sa_handler = &forward_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART | SA_ONSTACK;  // as CPython's siginterrupt(sig, False): fewer EINTRs
  if (::sigaction(sig, &action, &reg.previous) != 0) {
    const int error = errno;
    forward_to[static_cast<std::size_t>(sig)].store(0, std::memory_order_relaxed);
    if (!sigismember(&before, sig)) pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
    if (made_fd) {
      close_fd();
    } else {
      ::signalfd(fd_, &mask_, 0);
    }
    throw_os_error(error, "sigaction(" + std::to_string(sig) + ")");
  }
  reg.owner = this;
  reg.unblock = !sigismember(&before, sig);
  if (reg.unblock) blocked_bits.fetch_or(bit(sig), std::memory_order_acq_rel);
  mask_ = next;
  ++count_;
  slot = std::move(handler);
}

bool SignalWatch::remove(int sig) noexcept {
  if (!handlers_[static_cast<std::size_t>(sig)]) return false;
  release(sig);
  if (count_ == 0) close_fd();
  return true;
}

void SignalWatch::close_fd() noexcept {
  if (fd_ < 0) return;
  // fd_ first: the reader's CloseGuard runs when remove_reader drops it, and must find nothing.
  const int fd = std::exchange(fd_, -1);
  try {
    loop_.remove_reader(fd);  // false once the loop is closed
  } catch (...) {             // only debug mode's wrong-thread check throws; the fd goes anyway
  }
  ::close(fd);
}

void SignalWatch::release(int sig) noexcept {
  std::shared_ptr<Handler> handler = std::exchange(handlers_[static_cast<std::size_t>(sig)], nullptr);
  handler->removed = true;
  if (!handler->running) handler->fn.reset();  // what it captured goes now, unless it is running
  --count_;
  sigdelset(&mask_, sig);
  if (fd_ >= 0) ::signalfd(fd_, &mask_, 0);

  std::lock_guard lock(registry_mutex);
  Registration& reg = registry[static_cast<std::size_t>(sig)];
  ::sigaction(sig, &reg.previous, nullptr);
  forward_to[static_cast<std::size_t>(sig)].store(0, std::memory_order_relaxed);
  // An instance that arrived while the handler was set is dropped rather than delivered with the
  // disposition just restored (for most signals: death of the process).
  const sigset_t one = only(sig);
  const timespec no_wait{0, 0};
  while (::sigtimedwait(&one, nullptr, &no_wait) == sig) {
  }
  if (reg.unblock) {
    blocked_bits.fetch_and(~bit(sig), std::memory_order_acq_rel);
    pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
  }
  reg = Registration{};
}

void SignalWatch::release_all() noexcept {
  for (int sig = 1; sig < NSIG; ++sig) {
    if (handlers_[static_cast<std::size_t>(sig)]) release(sig);
  }
  close_fd();
}

void SignalWatch::run_handler(const std::shared_ptr<Handler>& handler) {
  if (handler->removed) return;
  handler->running = true;
  struct Done {
    Handler& h;
    ~Done() {
      h.running = false;
      if (h.removed) h.fn.reset();  // removed while it ran
    }
  } done{*handler};
  handler->fn();
}

void SignalWatch::on_readable() {
  signalfd_siginfo infos[8];
  for (;;) {
    const ssize_t n = ::read(fd_, infos, sizeof infos);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      throw_last_os_error("read(signalfd " + std::to_string(fd_) + ")");
    }
    const auto count = static_cast<std::size_t>(n) / sizeof(signalfd_siginfo);
    for (std::size_t i = 0; i < count; ++i) {
      const auto sig = static_cast<std::size_t>(infos[i].ssi_signo);
      if (sig < handlers_.size() && handlers_[sig]) {
        loop_.call_soon([handler = handlers_[sig]] { run_handler(handler); });
      }
    }
    if (count < std::size(infos)) return;
  }
}

void add_signal_handler(EventLoop& loop, std::shared_ptr<SignalWatch>& watch, int sig, Callback callback) {
  if (!is_valid_signal(sig)) throw ValueError("invalid signal number " + std::to_string(sig));
  if (sig == SIGKILL || sig == SIGSTOP) throw RuntimeError("sig " + std::to_string(sig) + " cannot be caught");
  if (!watch) watch = std::make_shared<SignalWatch>(loop);
  watch->add(sig, std::move(callback));
}

}  // namespace detail

bool EventLoop::remove_signal_handler(int sig) {
  if (!detail::is_valid_signal(sig)) throw ValueError("invalid signal number " + std::to_string(sig));
  if (!signals_) return false;
  return signals_->remove(sig);
}

}  // namespace asyncio
