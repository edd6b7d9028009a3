#include "asyncio/sync/waiter_queue.hpp"

#include <cstdio>

namespace asyncio::detail {

namespace {
void run_sync_resume(void* frame) { std::coroutine_handle<>::from_address(frame).resume(); }
void discard_sync_resume(void*) noexcept {}  // the frame belongs to whoever owns the coroutine
std::string describe_sync_resume(void*) { return "<resume a coroutine woken by a sync primitive>"; }
}  // namespace

const ReadyOps sync_resume_ops{&run_sync_resume, &discard_sync_resume, &describe_sync_resume};

std::string sync_repr(const char* class_name, const void* self, const std::string& state, std::size_t waiters) {
  char address[32];
  std::snprintf(address, sizeof address, "%p", self);
  std::string text = std::string("<asyncio::") + class_name + " object at " + address + " [" + state;
  if (waiters != 0) text += ", waiters:" + std::to_string(waiters);
  return text + "]>";
}

}  // namespace asyncio::detail
