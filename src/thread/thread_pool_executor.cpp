#include "asyncio/thread/thread_pool_executor.hpp"

#include <algorithm>

#include "asyncio/detail/describe.hpp"
#include "asyncio/exceptions.hpp"
#include "asyncio/loop/logger.hpp"

namespace asyncio {

std::size_t ThreadPoolExecutor::default_max_workers() noexcept {
  const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
  return std::min<std::size_t>(32, cores + 4);
}

ThreadPoolExecutor::ThreadPoolExecutor(std::size_t max_workers) : max_workers_(max_workers) {
  if (max_workers == 0) throw ValueError("max_workers must be greater than 0");
}

ThreadPoolExecutor::~ThreadPoolExecutor() { shutdown(true); }

std::size_t ThreadPoolExecutor::thread_count() const {
  std::lock_guard lock(mutex_);
  return threads_.size();
}

void ThreadPoolExecutor::submit(detail::Callback job) {
  std::unique_lock lock(mutex_);
  if (shutdown_) throw RuntimeError("cannot schedule new futures after shutdown");
  jobs_.push_back(std::move(job));
  if (idle_ == 0 && threads_.size() < max_workers_) {
    threads_.emplace_back([this] { work(); });
  } else {
    lock.unlock();
    wake_.notify_one();
  }
}

void ThreadPoolExecutor::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    while (jobs_.empty() && !shutdown_) {
      ++idle_;
      wake_.wait(lock);
      --idle_;
    }
    if (jobs_.empty()) return;  // shut down and drained
    detail::Callback job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    try {
      job();
    } catch (...) {
      log(LogLevel::error, "Exception in executor job: " + detail::describe_exception(std::current_exception()));
    }
    job.reset();
    lock.lock();
  }
}

void ThreadPoolExecutor::shutdown(bool wait) noexcept {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    shutdown_ = true;
    if (wait) threads.swap(threads_);
  }
  wake_.notify_all();
  for (std::thread& t : threads) {
    if (t.get_id() == std::this_thread::get_id()) {
      // A job shutting its own pool down cannot join its own thread: it stays for the destructor
      // (which must then run on another thread, as Python's join would insist).
      std::lock_guard lock(mutex_);
      threads_.push_back(std::move(t));
    } else {
      t.join();
    }
  }
}

}  // namespace asyncio
