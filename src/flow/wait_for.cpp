#include "asyncio/flow/wait_for.hpp"

namespace asyncio::detail {

Coro<void> cancel_and_wait(AnyFuture fut) {
  Future<void> waiter = get_running_loop().create_future<void>();
  const CallbackId id = fut.add_done_callback([waiter](AnyFuture&) mutable {
    if (!waiter.done()) waiter.set_result();
  });
  std::exception_ptr error;
  try {
    fut.cancel();
    co_await waiter;
  } catch (...) {
    error = std::current_exception();
  }
  fut.remove_done_callback(id);
  if (error) std::rethrow_exception(std::move(error));
}

}  // namespace asyncio::detail
