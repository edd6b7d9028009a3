#include "asyncio/sync/waiter_queue.hpp"

#include <cstdio>
#include <string>

#include "asyncio/loop/exception_context.hpp"

namespace asyncio::detail {

namespace {
void run_sync_resume(void* frame) { std::coroutine_handle<>::from_address(frame).resume(); }
void discard_sync_resume(void*) noexcept {}  // the frame belongs to whoever owns the coroutine
std::string describe_sync_resume(void*) { return "<resume a coroutine woken by a sync primitive>"; }
}  // namespace

const ReadyOps sync_resume_ops{&run_sync_resume, &discard_sync_resume, &describe_sync_resume};

void throw_destroyed_while_waited(const char* what) {
  throw RuntimeError(std::string(what) +
                     " was destroyed while this task waited in it: a primitive must outlive every task "
                     "that waits on it (await or cancel those tasks before it goes, or share it with "
                     "std::shared_ptr)");
}

void leave_destroyed(std::exception_ptr error, const char* what) {
  if (error) std::rethrow_exception(error);
  throw_destroyed_while_waited(what);
}

void SyncWaiter::finish_orphaned(const char* what) {
  finish();
  throw_destroyed_while_waited(what);
}

namespace {

void report_destroyed(const char* what, const void* self, const std::string& while_) noexcept {
  EventLoop* loop = running_loop();
  if (loop == nullptr || !loop->get_debug()) return;
  try {
    char address[32];
    std::snprintf(address, sizeof address, "%p", self);
    ExceptionContext context;
    context.message = std::string("asyncio::") + what + " at " + address + " destroyed while " + while_ +
                      ". A primitive must outlive every task that uses it (await or cancel those tasks "
                      "before it goes, or share it with std::shared_ptr)";
    loop->call_exception_handler(context);
  } catch (...) {
    // Out of memory for the text: nothing to report with.
  }
}

}  // namespace

void report_destroyed_while_waited(const char* what, const void* self, std::size_t waiters) noexcept {
  try {
    report_destroyed(what, self,
                     std::to_string(waiters) + (waiters == 1 ? " coroutine waits" : " coroutines wait") +
                         " in it: they stay blocked until cancelled, then leave without touching it");
  } catch (...) {
  }
}

void report_destroyed_while_held(const char* what, const void* self) noexcept {
  report_destroyed(what, self, "held: the guard holding it will release nothing");
}

std::string sync_repr(const char* class_name, const void* self, const std::string& state, std::size_t waiters) {
  char address[32];
  std::snprintf(address, sizeof address, "%p", self);
  std::string text = std::string("<asyncio::") + class_name + " object at " + address + " [" + state;
  if (waiters != 0) text += ", waiters:" + std::to_string(waiters);
  return text + "]>";
}

}  // namespace asyncio::detail
