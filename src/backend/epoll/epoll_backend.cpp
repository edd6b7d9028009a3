#include "epoll_backend.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <string>
#include <system_error>

namespace asyncio::detail {

namespace {
[[noreturn]] void throw_errno(const char* what) { throw std::system_error(errno, std::generic_category(), what); }
}  // namespace

EpollBackend::EpollBackend() {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw_errno("epoll_create1");
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    const int saved = errno;
    ::close(epoll_fd_);
    errno = saved;
    throw_errno("eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd_;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) < 0) {
    const int saved = errno;
    ::close(wake_fd_);
    ::close(epoll_fd_);
    errno = saved;
    throw_errno("epoll_ctl(eventfd)");
  }
}

EpollBackend::~EpollBackend() {
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

void EpollBackend::poll(Duration timeout) {
  epoll_event events[64];
  int n;
  const std::int64_t ns = timeout.count();
  if (have_pwait2_) {
    timespec ts{};
    if (ns >= 0) {
      ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
      ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    }
    n = ::epoll_pwait2(epoll_fd_, events, 64, ns < 0 ? nullptr : &ts, nullptr);
    if (n < 0 && errno == ENOSYS) {
      have_pwait2_ = false;
      return poll(timeout);
    }
  } else {
    // Round up: waking a little late costs nothing, waking early makes the loop spin.
    int ms = -1;
    if (ns >= 0) ms = static_cast<int>(std::min<std::int64_t>((ns + 999'999) / 1'000'000, 1 << 30));
    n = ::epoll_wait(epoll_fd_, events, 64, ms);
  }
  if (n < 0) {
    if (errno == EINTR) return;
    throw_errno("epoll_wait");
  }
  for (int i = 0; i < n; ++i) {
    if (events[i].data.fd == wake_fd_) drain_wakeups();
  }
}

void EpollBackend::drain_wakeups() noexcept {
  std::uint64_t count;
  while (::read(wake_fd_, &count, sizeof count) > 0) {
  }
}

void EpollBackend::wake() noexcept {
  const std::uint64_t one = 1;
  // EAGAIN means the counter is already non-zero: the loop will wake anyway.
  [[maybe_unused]] ssize_t r = ::write(wake_fd_, &one, sizeof one);
}

std::unique_ptr<Backend> make_default_backend() { return std::make_unique<EpollBackend>(); }

}  // namespace asyncio::detail
