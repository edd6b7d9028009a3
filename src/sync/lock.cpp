#include "asyncio/sync/lock.hpp"

#include <cstdio>

#include "asyncio/detail/describe.hpp"
#include "asyncio/loop/logger.hpp"

namespace asyncio {

namespace detail {

std::string sync_repr(const char* class_name, const void* self, const std::string& state, std::size_t waiters) {
  char address[32];
  std::snprintf(address, sizeof address, "%p", self);
  std::string text = std::string("<asyncio::") + class_name + " object at " + address + " [" + state;
  if (waiters != 0) text += ", waiters:" + std::to_string(waiters);
  return text + "]>";
}

void report_guard_release_error(std::exception_ptr error, const std::string& owner) noexcept {
  try {
    ExceptionContext context;
    context.message = "Exception releasing " + (owner.empty() ? std::string("a primitive") : owner) +
                      " from its guard (Held) destructor";
    context.exception = error;
    if (EventLoop* loop = running_loop()) {
      loop->call_exception_handler(context);
    } else {
      log(LogLevel::error, context.message + "\nexception: " + describe_exception(error));
    }
  } catch (...) {
    log(LogLevel::error, "Exception releasing a primitive from its guard (Held) destructor");
  }
}

}  // namespace detail

std::string Lock::repr() const {
  return detail::sync_repr("Lock", this, locked_ ? "locked" : "unlocked", waiters_.size());
}

}  // namespace asyncio
