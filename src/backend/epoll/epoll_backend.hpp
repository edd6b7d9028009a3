#pragma once
/// The epoll backend: epoll_pwait2 for nanosecond timeouts, an eventfd for cross-thread wake-ups,
/// level-triggered interest per descriptor (what add_reader/add_writer promise, as selectors do).

#include <cstddef>

#include "asyncio/loop/backend.hpp"

namespace asyncio::detail {

class EpollBackend final : public Backend {
 public:
  EpollBackend();
  ~EpollBackend() override;
  EpollBackend(const EpollBackend&) = delete;
  EpollBackend& operator=(const EpollBackend&) = delete;

  std::size_t poll(Duration timeout, IoReadyFn on_ready, void* context) override;
  void watch(int fd, unsigned old_interest, unsigned new_interest) override;
  void wake() noexcept override;
  [[nodiscard]] const char* name() const noexcept override { return "epoll"; }
  /// True while a descriptor other than the wake-up eventfd is registered.
  [[nodiscard]] bool has_sources() const noexcept override { return watched_ != 0; }

 private:
  void drain_wakeups() noexcept;

  std::size_t watched_ = 0;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  bool have_pwait2_ = true;
};

}  // namespace asyncio::detail
