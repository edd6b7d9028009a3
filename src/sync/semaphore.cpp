#include "asyncio/sync/semaphore.hpp"

namespace asyncio {

namespace {
std::string semaphore_repr(const char* class_name, const Semaphore& s) {
  const std::string state = s.locked() ? "locked" : "unlocked, value:" + std::to_string(s.value());
  return detail::sync_repr(class_name, &s, state, s.waiter_count());
}
}  // namespace

std::string Semaphore::repr() const { return semaphore_repr(bounded_ ? "BoundedSemaphore" : "Semaphore", *this); }

std::string BoundedSemaphore::repr() const { return semaphore_repr("BoundedSemaphore", *this); }

}  // namespace asyncio
