#pragma once
// What the signal tests check about the process: the calling thread's mask and a signal's
// disposition, and a guard that puts both back, so that no test leaves the process changed.

#include <signal.h>

namespace asyncio::testing {

inline bool blocked_here(int sig) {
  sigset_t mask;
  pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  return sigismember(&mask, sig) == 1;
}

inline bool has_default_disposition(int sig) {
  struct sigaction current {};
  sigaction(sig, nullptr, &current);
  return (current.sa_flags & SA_SIGINFO) == 0 && current.sa_handler == SIG_DFL;
}

inline bool is_ignored(int sig) {
  struct sigaction current {};
  sigaction(sig, nullptr, &current);
  return (current.sa_flags & SA_SIGINFO) == 0 && current.sa_handler == SIG_IGN;
}

/// Restores `sig`'s disposition and this thread's mask as they were at construction.
class SignalStateGuard {
 public:
  explicit SignalStateGuard(int sig) : sig_(sig) {
    sigaction(sig_, nullptr, &action_);
    pthread_sigmask(SIG_BLOCK, nullptr, &mask_);
  }
  ~SignalStateGuard() {
    sigaction(sig_, &action_, nullptr);
    pthread_sigmask(SIG_SETMASK, &mask_, nullptr);
  }
  SignalStateGuard(const SignalStateGuard&) = delete;
  SignalStateGuard& operator=(const SignalStateGuard&) = delete;

 private:
  int sig_;
  struct sigaction action_ {};
  sigset_t mask_{};
};

}  // namespace asyncio::testing
