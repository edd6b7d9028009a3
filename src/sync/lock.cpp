#include "asyncio/sync/lock.hpp"

namespace asyncio {

std::string Lock::repr() const {
  return detail::sync_repr("Lock", this, locked_ ? "locked" : "unlocked", waiters_.size());
}

}  // namespace asyncio
