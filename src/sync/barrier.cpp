#include "asyncio/sync/barrier.hpp"

#include <exception>

namespace asyncio {

Coro<std::int64_t> Barrier::wait() {
  detail::OwnerWatch watch(watchers_);
  auto held = co_await cond_.hold();
  std::exception_ptr error;
  std::int64_t index = -1;
  try {
    co_await block();  // wait while the barrier drains or resets
    index = count_++;
    if (index + 1 == parties_) {
      release_round();
    } else {
      co_await wait_until_released();
    }
  } catch (...) {
    error = std::current_exception();
  }
  // Destroyed meanwhile (C++ allows it, Python does not): leave without touching it.
  if (watch.owner_gone()) [[unlikely]]
    detail::leave_destroyed(error, "Barrier");
  if (index >= 0) {
    // Python's try/finally: the count is given back whatever happens.
    --count_;
    exit();
  }
  if (error) std::rethrow_exception(error);
  co_return index;
}

Coro<void> Barrier::block() {
  co_await cond_.wait_for([this] { return state_ != BarrierState::draining && state_ != BarrierState::resetting; });
  if (state_ == BarrierState::broken) throw BrokenBarrierError("Barrier aborted");
}

void Barrier::release_round() {
  state_ = BarrierState::draining;
  cond_.notify_all();
}

Coro<void> Barrier::wait_until_released() {
  co_await cond_.wait_for([this] { return state_ != BarrierState::filling; });
  if (state_ == BarrierState::broken || state_ == BarrierState::resetting) {
    throw BrokenBarrierError("Abort or reset of barrier");
  }
}

void Barrier::exit() {
  // The last task to leave ends the draining (or resetting) and lets the next round in.
  if (count_ == 0) {
    if (state_ == BarrierState::resetting || state_ == BarrierState::draining) state_ = BarrierState::filling;
    cond_.notify_all();
  }
}

Coro<void> Barrier::reset() {
  auto held = co_await cond_.hold();
  if (count_ > 0) {
    state_ = BarrierState::resetting;  // the tasks inside leave with BrokenBarrierError
  } else {
    state_ = BarrierState::filling;
  }
  cond_.notify_all();
}

Coro<void> Barrier::abort() {
  auto held = co_await cond_.hold();
  state_ = BarrierState::broken;
  cond_.notify_all();
}

std::string Barrier::repr() const {
  static constexpr const char* names[] = {"filling", "draining", "resetting", "broken"};
  std::string state = names[static_cast<int>(state_)];
  if (!broken()) state += ", waiters:" + std::to_string(n_waiting()) + "/" + std::to_string(parties_);
  return detail::sync_repr("Barrier", this, state, 0);
}

}  // namespace asyncio
