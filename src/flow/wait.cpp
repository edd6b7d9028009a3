#include "asyncio/flow/wait.hpp"

#include <bit>
#include <cstdint>
#include <string>

namespace asyncio::detail {

std::vector<std::size_t> duplicate_positions(const std::vector<FutureBase*>& states) {
  std::vector<std::size_t> repeated;
  const std::size_t n = states.size();
  if (n <= 16) {
    for (std::size_t i = 1; i < n; ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (states[j] == states[i]) {
          repeated.push_back(i);
          break;
        }
      }
    }
    return repeated;
  }
  // An open-addressing set of the futures seen (Python's set(fs)): a few nanoseconds per future,
  // where sorting them cost tens.
  const std::size_t capacity = std::bit_ceil(2 * n);
  const std::size_t mask = capacity - 1;
  const int shift = 64 - std::countr_zero(capacity);  // Fibonacci hashing: the product's top bits
  std::vector<FutureBase*> table(capacity, nullptr);
  for (std::size_t i = 0; i < n; ++i) {
    FutureBase* f = states[i];
    std::size_t slot = static_cast<std::size_t>(
        (static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(f)) * 0x9E3779B97F4A7C15ull) >> shift);
    while (table[slot] != nullptr && table[slot] != f) slot = (slot + 1) & mask;
    if (table[slot] == f) {
      repeated.push_back(i);
    } else {
      table[slot] = f;
    }
  }
  return repeated;
}

void check_return_when(ReturnWhen when) {
  switch (when) {
    case ReturnWhen::first_completed:
    case ReturnWhen::first_exception:
    case ReturnWhen::all_completed:
      return;
  }
  throw ValueError("Invalid return_when value: " + std::to_string(static_cast<int>(when)));
}

WaitWaiter::WaitWaiter(EventLoop& loop, ReturnWhen when, std::vector<FutureBase*> futures)
    : FutureState<void>(&loop), nodes_(futures.size()), counter_(futures.size()), when_(when) {
  for (std::size_t i = 0; i < futures.size(); ++i) {
    Node& n = nodes_[i];
    n.owner = this;
    n.child = futures[i];
    n.invoke = &WaitWaiter::invoke;
    n.destroy = &WaitWaiter::destroy;
  }
}

void WaitWaiter::arm(std::optional<double> timeout) {
  try {
    if (timeout) {
      // CPython's _release_waiter: the timer only wakes the waiting task; nothing is cancelled.
      timeout_ = live_loop().call_later(*timeout, [w = Future<void>::from_state(this)]() mutable {
        if (!w.done()) w.set_result();
      });
    }
    for (Node& n : nodes_) {
      retain();                        // the node's reference, dropped by destroy()
      n.child->add_user_callback(&n);  // a future already done schedules it at once
    }
  } catch (...) {
    disarm();
    throw;
  }
}

void WaitWaiter::disarm() noexcept {
  timeout_.cancel();
  for (Node& n : nodes_) {
    // A pending future still has the node in its waiters; a done one has scheduled it (or ran it),
    // and then it runs later and finds the waiter done.
    if (!n.child->done() && n.child->remove_waiter(n)) destroy(&n);
  }
}

void WaitWaiter::unlink(std::size_t i) noexcept {
  Node& n = nodes_[i];
  if (n.child->remove_waiter(n)) destroy(&n);
}

void WaitWaiter::invoke(UserCallbackNode* node) {
  auto* n = static_cast<Node*>(node);
  n->owner->on_completion(*n->child);
}

void WaitWaiter::destroy(UserCallbackNode* node) noexcept { static_cast<Node*>(node)->owner->release(); }

void WaitWaiter::on_completion(FutureBase& f) {
  --counter_;
  // The order of the tests is CPython's: exception() (which marks the exception retrieved) is asked
  // only with first_exception, and only while other futures are still pending.
  if (counter_ == 0 || when_ == ReturnWhen::first_completed ||
      (when_ == ReturnWhen::first_exception && !f.cancelled() && f.exception() != nullptr)) {
    timeout_.cancel();
    if (!done()) set_result();
  }
}

}  // namespace asyncio::detail
