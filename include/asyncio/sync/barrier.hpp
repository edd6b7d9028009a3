#pragma once
/// Barrier: Python's asyncio.Barrier, a meeting point for a fixed number of tasks.
///
///   asyncio::Barrier barrier(3);
///   ... in each of 3 tasks:
///   std::int64_t i = co_await barrier.wait();   // returns once all 3 have arrived; i is 0, 1 or 2
///
/// A barrier is reusable: once all parties have arrived it drains (the released tasks leave), and
/// tasks arriving meanwhile wait for the next round. reset() sends the barrier back to its empty
/// state: tasks waiting in it get BrokenBarrierError. abort() breaks it: waiting tasks and every
/// later wait() get BrokenBarrierError until reset(). Built on a Condition, as CPython's.

#include <cstdint>
#include <string>

#include "asyncio/coro/coro.hpp"
#include "asyncio/exceptions.hpp"
#include "asyncio/sync/condition.hpp"

namespace asyncio {

/// asyncio.BrokenBarrierError: raised by Barrier::wait() when the barrier is reset or aborted (or
/// already broken). A RuntimeError, as in Python.
class BrokenBarrierError : public RuntimeError {
 public:
  using RuntimeError::RuntimeError;
};

/// The states of CPython's _BarrierState.
enum class BarrierState : std::uint8_t {
  filling,    ///< tasks arrive and wait for the last party
  draining,   ///< the last party arrived: the released tasks are leaving; newcomers wait
  resetting,  ///< reset() while tasks were inside: they leave with BrokenBarrierError
  broken,     ///< abort(): every wait() raises BrokenBarrierError until reset()
};

/// Python's asyncio.Barrier.
///
/// Invariants (CPython 3.13 locks.py): `count_` is the number of tasks inside wait() past the
/// entry check (arrived and not yet left); a round starts filling only when the previous one has
/// fully drained (count_ back to 0); every state change is followed by notify_all() under the
/// condition's lock, and every waiter re-checks its predicate.
class Barrier {
 public:
  /// Python's Barrier(parties): ValueError("parties must be >= 1") if parties < 1.
  explicit Barrier(std::int64_t parties) : parties_(parties) {
    if (parties < 1) throw ValueError("parties must be >= 1");
  }
  /// Shared by address: neither copyable nor movable.
  Barrier(const Barrier&) = delete;
  Barrier& operator=(const Barrier&) = delete;
  /// Destroyed while tasks are inside wait(): they stay blocked until cancelled, then raise
  /// without touching it (one already released raises RuntimeError); debug mode reports it.
  ~Barrier() {
    if (!watchers_.empty()) [[unlikely]]
      detail::report_destroyed_while_waited("Barrier", this, watchers_.size());
  }

  /// Python's `await barrier.wait()`: waits until `parties()` tasks are waiting, then releases them
  /// all. Returns this task's arrival index in the round, 0 to parties()-1. Raises
  /// BrokenBarrierError if the barrier is broken, or reset or aborted while this task waits;
  /// CancelledError if cancelled (the task then no longer counts as arrived).
  Coro<std::int64_t> wait();

  /// Python's `await barrier.reset()`: back to the empty, filling state; tasks waiting in the
  /// barrier raise BrokenBarrierError. Also repairs a broken barrier.
  Coro<void> reset();

  /// Python's `await barrier.abort()`: breaks the barrier; waiting tasks and every later wait()
  /// raise BrokenBarrierError until reset().
  Coro<void> abort();

  /// Python's parties: the number of tasks needed to pass the barrier.
  [[nodiscard]] std::int64_t parties() const noexcept { return parties_; }
  /// Python's n_waiting: tasks waiting in the filling barrier (0 while draining, resetting or
  /// broken).
  [[nodiscard]] std::int64_t n_waiting() const noexcept { return state_ == BarrierState::filling ? count_ : 0; }
  /// Python's broken: true once abort() was called (until reset()).
  [[nodiscard]] bool broken() const noexcept { return state_ == BarrierState::broken; }
  /// The state (Python shows it only in repr()).
  [[nodiscard]] BarrierState state() const noexcept { return state_; }

  /// "<asyncio::Barrier object at 0x... [filling, waiters:2/3]>" or "[broken]", as Python's repr.
  [[nodiscard]] std::string repr() const;

 private:
  Coro<void> block();
  Coro<void> wait_until_released();
  void release_round();
  void exit();

  Condition cond_;
  detail::OwnerWatchList watchers_;  // the frames inside wait()
  std::int64_t parties_;
  std::int64_t count_ = 0;
  BarrierState state_ = BarrierState::filling;
};

}  // namespace asyncio
