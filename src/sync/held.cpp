#include "asyncio/sync/held.hpp"

#include "asyncio/detail/describe.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/loop/logger.hpp"

namespace asyncio::detail {

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

}  // namespace asyncio::detail
