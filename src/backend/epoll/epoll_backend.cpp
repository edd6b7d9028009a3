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

#include "asyncio/os_error.hpp"

namespace asyncio::detail {

EpollBackend::EpollBackend() {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw_last_os_error("epoll_create1");
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    const int saved = errno;
    ::close(epoll_fd_);
    errno = saved;
    throw_last_os_error("eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd_;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) < 0) {
    const int saved = errno;
    ::close(wake_fd_);
    ::close(epoll_fd_);
    errno = saved;
    throw_last_os_error("epoll_ctl(eventfd)");
  }
}

EpollBackend::~EpollBackend() {
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

std::size_t EpollBackend::poll(Duration timeout, IoReadyFn on_ready, void* context) {
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
      return poll(timeout, on_ready, context);
    }
  } else {
    // Round up: waking a little late costs nothing, waking early makes the loop spin.
    int ms = -1;
    if (ns >= 0) ms = static_cast<int>(std::min<std::int64_t>((ns + 999'999) / 1'000'000, 1 << 30));
    n = ::epoll_wait(epoll_fd_, events, 64, ms);
  }
  if (n < 0) {
    if (errno == EINTR) return 0;
    throw_last_os_error("epoll_wait");
  }
  std::size_t reported = 0;
  for (int i = 0; i < n; ++i) {
    const int fd = events[i].data.fd;
    if (fd == wake_fd_) {
      drain_wakeups();
      continue;
    }
    const std::uint32_t e = events[i].events;
    unsigned ready = 0;
    if (e & (EPOLLIN | EPOLLPRI | EPOLLRDHUP)) ready |= io_readable;
    if (e & EPOLLOUT) ready |= io_writable;
    if (e & (EPOLLERR | EPOLLHUP)) ready |= io_readable | io_writable;
    on_ready(context, fd, ready);
    ++reported;
  }
  return reported;
}

void EpollBackend::watch(int fd, unsigned old_interest, unsigned new_interest) {
  // Equal interests still reach the kernel (a replaced reader): the descriptor may have been
  // closed and its number reused behind the loop's back, and MOD then ADD re-registers it.
  if (old_interest == 0 && new_interest == 0) return;
  epoll_event ev{};
  ev.events = ((new_interest & io_readable) ? EPOLLIN : 0u) | ((new_interest & io_writable) ? EPOLLOUT : 0u);
  ev.data.fd = fd;
  if (new_interest == 0) {
    // A descriptor closed without remove_reader() has already left the epoll set: nothing to undo.
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, &ev) < 0 && errno != ENOENT && errno != EBADF) {
      throw_last_os_error("epoll_ctl(DEL, fd " + std::to_string(fd) + ")");
    }
    --watched_;
    return;
  }
  int op = old_interest == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  int r = ::epoll_ctl(epoll_fd_, op, fd, &ev);
  // The loop's record and the kernel's can disagree when a watched descriptor was closed (the
  // kernel forgot it) and its number reused, or when the same file is watched again: try the
  // other operation once.
  if (r < 0 && op == EPOLL_CTL_MOD && errno == ENOENT) {
    op = EPOLL_CTL_ADD;
    r = ::epoll_ctl(epoll_fd_, op, fd, &ev);
  } else if (r < 0 && op == EPOLL_CTL_ADD && errno == EEXIST) {
    op = EPOLL_CTL_MOD;
    r = ::epoll_ctl(epoll_fd_, op, fd, &ev);
  }
  if (r < 0) {
    throw_last_os_error(std::string(op == EPOLL_CTL_ADD ? "epoll_ctl(ADD" : "epoll_ctl(MOD") + ", fd " +
                        std::to_string(fd) + ")");
  }
  if (old_interest == 0) ++watched_;
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
