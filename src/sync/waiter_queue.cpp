#include "asyncio/sync/waiter_queue.hpp"

#include <cstdio>

namespace asyncio::detail {

std::string sync_repr(const char* class_name, const void* self, const std::string& state, std::size_t waiters) {
  char address[32];
  std::snprintf(address, sizeof address, "%p", self);
  std::string text = std::string("<asyncio::") + class_name + " object at " + address + " [" + state;
  if (waiters != 0) text += ", waiters:" + std::to_string(waiters);
  return text + "]>";
}

}  // namespace asyncio::detail
