#include "asyncio/sync/condition.hpp"

namespace asyncio {

Coro<bool> Condition::wait() {
  if (!locked()) throw RuntimeError("cannot wait on un-acquired lock");
  get_loop();  // binds the condition, or raises RuntimeError before releasing the lock
  detail::OwnerWatch watch(watchers_);
  release();

  // Python's try/finally blocks, unrolled: C++ cannot co_await inside a handler, so each failure is
  // kept as an exception_ptr and raised once the lock is held again.
  std::exception_ptr error;
  try {
    co_await detail::QueueWait(waiters_);  // queued at the back, out of the queue once resumed
  } catch (...) {
    error = std::current_exception();
  }
  if (watch.owner_gone()) [[unlikely]]
    detail::leave_destroyed(error, "Condition");  // its own lock went with it

  // Must re-acquire the lock even if the wait was cancelled. Only CancelledError is retried (a
  // later one replaces the earlier, as Python re-raises the most recent); anything else ends it.
  try {
    for (;;) {
      try {
        co_await lock_->acquire();
        break;
      } catch (const CancelledError&) {
        error = std::current_exception();
      }
      if (watch.owner_gone()) break;
    }
  } catch (...) {
    error = std::current_exception();
  }
  if (watch.owner_gone()) [[unlikely]]
    detail::leave_destroyed(error, "Condition");

  if (error) {
    // This task may have been notified before it failed: pass the wake-up on (a spurious wake-up
    // at worst, which the condition-variable protocol allows).
    notify_unchecked(1);
    std::rethrow_exception(error);
  }
  co_return true;
}

std::string Condition::repr() const {
  return detail::sync_repr("Condition", this, locked() ? "locked" : "unlocked", waiters_.size());
}

}  // namespace asyncio
