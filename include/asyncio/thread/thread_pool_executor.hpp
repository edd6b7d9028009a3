#pragma once
/// ThreadPoolExecutor: Python's concurrent.futures.ThreadPoolExecutor, the loop's default executor.
/// Threads start on demand, up to max_workers (default min(32, cores + 4), as in Python); jobs run
/// in the order they were submitted.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "asyncio/loop/executor.hpp"

namespace asyncio {

class ThreadPoolExecutor final : public Executor {
 public:
  /// min(32, hardware threads + 4).
  static std::size_t default_max_workers() noexcept;

  /// Throws ValueError if max_workers is 0.
  explicit ThreadPoolExecutor(std::size_t max_workers = default_max_workers());
  ThreadPoolExecutor(const ThreadPoolExecutor&) = delete;
  ThreadPoolExecutor& operator=(const ThreadPoolExecutor&) = delete;
  /// shutdown(true). Must not run on one of the pool's own threads (a job cannot destroy its pool).
  ~ThreadPoolExecutor() override;

  void submit(detail::Callback job) override;
  void shutdown(bool wait) noexcept override;

  [[nodiscard]] std::size_t max_workers() const noexcept { return max_workers_; }
  /// Threads started so far.
  [[nodiscard]] std::size_t thread_count() const;

 private:
  void work();

  const std::size_t max_workers_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<detail::Callback> jobs_;
  std::vector<std::thread> threads_;
  std::size_t idle_ = 0;
  bool shutdown_ = false;
};

}  // namespace asyncio
