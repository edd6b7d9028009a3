// ReadPipe / WritePipe: pipe ends read and written without blocking the loop. Each wait is a
// Future completed by a one-shot reader (or writer) callback, the pattern of CPython's
// selector_events.py sock_recv / sock_sendall; the byte handling is os.read / os.write's.

#include "asyncio/process/pipe.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "asyncio/exceptions.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/net/sigpipe.hpp"
#include "asyncio/os_error.hpp"
#include "asyncio/task/future.hpp"

namespace asyncio {

namespace detail {

/// One pipe end. Invariants: `fd` is open (or -1 once closed); `watching` is set exactly while an
/// operation waits on `loop` for readiness of `fd`, with `ready` the future that wait completes.
struct PipeFd {
  explicit PipeFd(int descriptor) noexcept : fd(descriptor) {}
  PipeFd(const PipeFd&) = delete;
  PipeFd& operator=(const PipeFd&) = delete;
  ~PipeFd() { close(); }

  /// Stops watching `fd` (no-op when not watching).
  void unwatch() noexcept {
    if (!watching) return;
    watching = false;
    try {
      if (for_write) {
        loop->remove_writer(fd);
      } else {
        loop->remove_reader(fd);
      }
    } catch (...) {  // only debug mode's wrong-thread check throws; nothing is left to undo
    }
    ready = Future<void>();
  }

  void close() noexcept {
    if (fd < 0) return;
    const bool was_waiting = watching;
    Future<void> waiting = was_waiting ? ready : Future<void>();
    unwatch();
    ::close(fd);
    fd = -1;
    if (was_waiting && !waiting.done()) {
      try {
        waiting.set_exception(
            OSError(EBADF, for_write ? "write(pipe): closed while waiting" : "read(pipe): closed while waiting"));
      } catch (...) {  // the loop is closed: nobody can be woken
      }
    }
  }

  int fd;
  EventLoop* loop = nullptr;
  Future<void> ready;
  bool watching = false;
  bool for_write = false;
  bool busy = false;  // an operation is in progress (one at a time per end)
};

}  // namespace detail

namespace {

using detail::PipeFd;

/// Marks a pipe end busy for one operation.
class Busy {
 public:
  Busy(PipeFd* pipe, const char* what) : pipe_(pipe) {
    if (pipe_ == nullptr || pipe_->fd < 0) throw_os_error(EBADF, std::string(what) + "(closed pipe)");
    if (pipe_->busy) {
      throw RuntimeError(std::string(what) + "() called while another coroutine is already using this pipe");
    }
    pipe_->busy = true;
  }
  Busy(const Busy&) = delete;
  Busy& operator=(const Busy&) = delete;
  ~Busy() { pipe_->busy = false; }

 private:
  PipeFd* pipe_;
};

std::string describe(const char* what, int fd) { return std::string(what) + "(pipe fd " + std::to_string(fd) + ")"; }

void check_open(const PipeFd& pipe, const char* what) {
  if (pipe.fd < 0) throw_os_error(EBADF, std::string(what) + "(closed pipe)");
}

/// Waits until the pipe is readable (or writable). The callback stops watching at once, as
/// CPython's _sock_recv does; cancellation stops watching through the guard.
Coro<void> wait_ready(std::shared_ptr<PipeFd> pipe, bool for_write) {
  EventLoop& loop = get_running_loop();
  Future<void> ready = loop.create_future<void>();
  PipeFd* raw = pipe.get();
  auto on_ready = [raw, ready]() mutable {
    raw->unwatch();
    if (!ready.done()) ready.set_result();
  };
  if (for_write) {
    loop.add_writer(pipe->fd, std::move(on_ready));
  } else {
    loop.add_reader(pipe->fd, std::move(on_ready));
  }
  pipe->loop = &loop;
  pipe->for_write = for_write;
  pipe->ready = ready;
  pipe->watching = true;
  struct Unwatch {
    PipeFd& p;
    ~Unwatch() { p.unwatch(); }
  } unwatch{*pipe};
  co_await ready;
}

Coro<std::string> read_some(std::shared_ptr<PipeFd> pipe, std::size_t n) {
  Busy busy(pipe.get(), "read");
  std::string buffer(n, '\0');
  for (;;) {
    check_open(*pipe, "read");
    const ssize_t got = ::read(pipe->fd, buffer.data(), n);
    if (got >= 0) {
      buffer.resize(static_cast<std::size_t>(got));
      co_return buffer;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) throw_last_os_error(describe("read", pipe->fd));
    co_await wait_ready(pipe, false);
  }
}

Coro<std::string> read_to_eof(std::shared_ptr<PipeFd> pipe) {
  Busy busy(pipe.get(), "read_all");
  constexpr std::size_t chunk = 65536;
  std::string data;
  for (;;) {
    check_open(*pipe, "read_all");
    const std::size_t used = data.size();
    data.resize(used + chunk);
    const ssize_t got = ::read(pipe->fd, data.data() + used, chunk);
    data.resize(used + (got > 0 ? static_cast<std::size_t>(got) : 0));
    if (got == 0) co_return data;
    if (got > 0) continue;
    if (errno == EINTR) continue;
    if (errno != EAGAIN) throw_last_os_error(describe("read", pipe->fd));
    co_await wait_ready(pipe, false);
  }
}

Coro<void> write_everything(std::shared_ptr<PipeFd> pipe, std::string data) {
  Busy busy(pipe.get(), "write_all");
  std::size_t done = 0;
  while (done < data.size()) {
    check_open(*pipe, "write_all");
    const ssize_t put = ::write(pipe->fd, data.data() + done, data.size() - done);
    if (put >= 0) {
      done += static_cast<std::size_t>(put);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) throw_last_os_error(describe("write", pipe->fd));  // EPIPE: BrokenPipeError
    co_await wait_ready(pipe, true);
  }
}

/// Makes `fd` non-blocking and close-on-exec; closes it and throws if it is not an open descriptor.
std::shared_ptr<PipeFd> adopt(int fd, const char* what) {
  std::shared_ptr<PipeFd> owner;
  try {
    owner = std::make_shared<PipeFd>(fd);  // from here on, closes fd if anything below throws
  } catch (...) {
    if (fd >= 0) ::close(fd);
    throw;
  }
  const int status = ::fcntl(fd, F_GETFL);
  if (status < 0 || ::fcntl(fd, F_SETFL, status | O_NONBLOCK) < 0 || ::fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
    const int error = errno;
    if (error == EBADF) owner->fd = -1;  // nothing to close
    throw_os_error(error, std::string(what) + "(" + std::to_string(fd) + ")");
  }
  return owner;
}

int detach_fd(const std::shared_ptr<PipeFd>& pipe) {
  if (!pipe || pipe->fd < 0) return -1;
  if (pipe->busy) throw RuntimeError("detach() while an operation on the pipe is in progress");
  return std::exchange(pipe->fd, -1);
}

}  // namespace

ReadPipe::ReadPipe(int fd) : fd_(adopt(fd, "ReadPipe")) {}

Coro<std::string> ReadPipe::read(std::size_t n) { return read_some(fd_, n); }
Coro<std::string> ReadPipe::read_all() { return read_to_eof(fd_); }

void ReadPipe::close() noexcept {
  if (fd_) fd_->close();
}
int ReadPipe::fileno() const noexcept { return fd_ ? fd_->fd : -1; }
int ReadPipe::detach() { return detach_fd(fd_); }

WritePipe::WritePipe(int fd) : fd_(adopt(fd, "WritePipe")) { detail::ignore_sigpipe_once(); }

Coro<void> WritePipe::write_all(std::string data) { return write_everything(fd_, std::move(data)); }

void WritePipe::close() noexcept {
  if (fd_) fd_->close();
}
int WritePipe::fileno() const noexcept { return fd_ ? fd_->fd : -1; }
int WritePipe::detach() { return detach_fd(fd_); }

std::pair<ReadPipe, WritePipe> open_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) throw_last_os_error("pipe2()");
  ReadPipe reader;
  try {
    reader = ReadPipe(fds[0]);
  } catch (...) {
    ::close(fds[1]);
    throw;
  }
  WritePipe writer(fds[1]);  // if this throws, it has closed fds[1] and `reader` closes fds[0]
  return {std::move(reader), std::move(writer)};
}

}  // namespace asyncio
