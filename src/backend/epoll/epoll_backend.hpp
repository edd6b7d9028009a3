#pragma once
/// The epoll backend: epoll_pwait2 for nanosecond timeouts, an eventfd for cross-thread wake-ups.

#include "asyncio/loop/backend.hpp"

namespace asyncio::detail {

class EpollBackend final : public Backend {
 public:
  EpollBackend();
  ~EpollBackend() override;
  EpollBackend(const EpollBackend&) = delete;
  EpollBackend& operator=(const EpollBackend&) = delete;

  void poll(Duration timeout) override;
  void wake() noexcept override;
  [[nodiscard]] const char* name() const noexcept override { return "epoll"; }
  /// Only the wake-up eventfd is registered so far: nothing for a non-waiting poll to find.
  [[nodiscard]] bool has_sources() const noexcept override { return false; }

 private:
  void drain_wakeups() noexcept;

  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  bool have_pwait2_ = true;
};

}  // namespace asyncio::detail
