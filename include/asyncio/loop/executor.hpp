#pragma once
/// Executor: where the loop sends blocking work (Python's concurrent.futures.Executor, seen from the
/// loop). The loop only owns its default executor and shuts it down on close; the thread layer
/// (thread/thread_pool_executor.hpp) provides the thread pool.

#include "asyncio/detail/callback.hpp"

namespace asyncio {

class Executor {
 public:
  virtual ~Executor() = default;

  /// Runs `job` on one of the executor's threads, some time later. Throws RuntimeError after
  /// shutdown(). Every accepted job runs exactly once, even during shutdown.
  virtual void submit(detail::Callback job) = 0;

  /// Refuses new jobs; with `wait`, returns only after every accepted job ran and the threads ended.
  virtual void shutdown(bool wait) noexcept = 0;
};

}  // namespace asyncio
