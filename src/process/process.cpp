// Subprocesses: posix_spawn, a pidfd watched with add_reader, waitid(P_PIDFD). See
// process/process.hpp for the choices. Reference: CPython 3.13 Lib/asyncio/subprocess.py (Process,
// communicate), base_subprocess.py (returncode, send_signal, close), unix_events.py
// (PidfdChildWatcher) and Lib/subprocess.py (Popen: PIPE / DEVNULL / STDOUT, close_fds,
// restore_signals, returncode -N for a signal).

#include "asyncio/process/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <tuple>
#include <utility>

#include "asyncio/exceptions.hpp"
#include "asyncio/flow/gather.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/loop/logger.hpp"
#include "asyncio/loop/signal_watch.hpp"
#include "asyncio/os_error.hpp"
#include "asyncio/task/future.hpp"

namespace asyncio {

namespace {
// Through syscall(): glibc 2.36's <sys/pidfd.h> declares its wrappers without extern "C", so C++
// cannot link them (fixed in glibc 2.37).
int pidfd_open(pid_t pid) noexcept { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0u)); }
int pidfd_send_signal(int pidfd, int sig) noexcept {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0u));
}
}  // namespace

namespace detail {

/// One child. Invariants: `pidfd` is open exactly until the child is reaped, and then `returncode`
/// is set; while it is open, the loop watches it with a reader whose closure holds this state (so
/// the child is reaped even when no Process handle is left) and a ChildGuard.
struct ProcessState {
  ProcessState() = default;
  ProcessState(const ProcessState&) = delete;
  ProcessState& operator=(const ProcessState&) = delete;
  ~ProcessState() { kill_and_reap(); }

  static Process handle(std::shared_ptr<ProcessState> state) noexcept { return Process(std::move(state)); }

  static int status_of(const siginfo_t& info) noexcept {
    return info.si_code == CLD_EXITED ? info.si_status : -info.si_status;  // Python: -N for signal N
  }

  /// The pidfd is readable: the child has exited (or readiness was spurious).
  void on_exit_readable() {
    siginfo_t info{};
    if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED | WNOHANG) != 0) {
      const int error = errno;
      if (error == EINTR) return;  // level-triggered: it comes back
      // ECHILD: reaped behind the loop's back (SIGCHLD set to SIG_IGN, a waitpid(-1) elsewhere).
      // CPython's child watchers report 255 then, with the same warning.
      log(LogLevel::warning, "Unknown child process pid " + std::to_string(pid) + ", will report returncode 255");
      finish(255);
      if (error != ECHILD) throw_os_error(error, "waitid(pidfd of pid " + std::to_string(pid) + ")");
      return;
    }
    if (info.si_pid == 0) return;  // still running
    finish(status_of(info));
  }

  /// Records the exit, stops watching, wakes wait().
  void finish(int code) noexcept {
    returncode = code;
    const int fd = std::exchange(pidfd, -1);
    try {
      loop->remove_reader(fd);  // the closure (and this state's reference) goes when it returns
    } catch (...) {             // only debug mode's wrong-thread check throws
    }
    ::close(fd);
    wake_waiters();
  }

  /// The loop dropped the watch before the child exited (it was closed): kill and reap at once,
  /// so that no zombie and no running orphan is left behind.
  void kill_and_reap() noexcept {
    if (pidfd < 0) return;
    pidfd_send_signal(pidfd, SIGKILL);
    siginfo_t info{};
    int r;
    do {
      r = ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED);
    } while (r != 0 && errno == EINTR);
    returncode = r == 0 ? status_of(info) : 255;
    ::close(std::exchange(pidfd, -1));
    wake_waiters();
  }

  void wake_waiters() noexcept {
    for (Future<void>& waiter : std::exchange(waiters, {})) {
      try {
        if (!waiter.done()) waiter.set_result();
      } catch (...) {  // the loop is closed: its tasks are being destroyed, nobody is left to wake
      }
    }
  }

  EventLoop* loop = nullptr;
  pid_t pid = -1;
  int pidfd = -1;
  std::optional<int> returncode;
  std::vector<Future<void>> waiters;  // one per wait() in progress (a cancelled one is skipped)
  std::optional<WritePipe> stdin_pipe;
  std::optional<ReadPipe> stdout_pipe;
  std::optional<ReadPipe> stderr_pipe;
};

}  // namespace detail

namespace {

using detail::ProcessState;

/// Lives in the pidfd reader's closure with the state: if the loop drops the reader while the
/// child runs (close()), or add_reader fails, the child is killed and reaped.
class ChildGuard {
 public:
  explicit ChildGuard(std::shared_ptr<ProcessState> state) noexcept : state_(std::move(state)) {}
  ChildGuard(ChildGuard&&) noexcept = default;
  ChildGuard& operator=(ChildGuard&&) = delete;
  ~ChildGuard() {
    if (state_) state_->kill_and_reap();
  }
  [[nodiscard]] ProcessState& state() const noexcept { return *state_; }

 private:
  std::shared_ptr<ProcessState> state_;
};

/// A descriptor owned while a child is being made.
class Fd {
 public:
  Fd() noexcept = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~Fd() { reset(); }
  [[nodiscard]] int get() const noexcept { return fd_; }
  void reset() noexcept {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  }

 private:
  int fd_ = -1;
};

/// A copy of `fd` numbered 3 or above: the child's dup2 onto 0, 1 and 2 cannot then overwrite a
/// source that a later dup2 still needs (a pipe end may get number 0 when the parent closed its
/// stdin).
Fd above_stdio(int fd, const std::string& call) {
  const int high = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (high < 0) throw_last_os_error(call + ": fcntl(" + std::to_string(fd) + ", F_DUPFD_CLOEXEC)");
  return Fd(high);
}

struct FileActions {
  posix_spawn_file_actions_t actions;
  FileActions() { posix_spawn_file_actions_init(&actions); }
  ~FileActions() { posix_spawn_file_actions_destroy(&actions); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;
};

struct SpawnAttributes {
  posix_spawnattr_t attributes;
  SpawnAttributes() { posix_spawnattr_init(&attributes); }
  ~SpawnAttributes() { posix_spawnattr_destroy(&attributes); }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
};

void check(int error, const std::string& what) {
  if (error != 0) throw_os_error(error, what);
}

Process spawn(EventLoop& loop, const char* api, const std::string& program, std::vector<std::string> argv,
              ProcessOptions options) {
  const std::string call = std::string(api) + "(" + program + ")";
  if (options.in.kind() == Stdio::Kind::to_stdout || options.out.kind() == Stdio::Kind::to_stdout) {
    throw ValueError(call + ": Stdio::to_stdout() can only be used for stderr");
  }
  auto state = std::make_shared<ProcessState>();  // before the child exists: nothing can fail after
  state->loop = &loop;

  // What the child gets as 0, 1 and 2 (-1: the parent's own), each a descriptor numbered >= 3.
  const Stdio streams[3] = {options.in, options.out, options.err};
  int sources[3] = {-1, -1, -1};
  Fd owned[3];
  Fd devnull;
  for (int i = 0; i < 3; ++i) {
    const Stdio s = streams[i];
    switch (s.kind()) {
      case Stdio::Kind::inherit:
      case Stdio::Kind::to_stdout:
        break;
      case Stdio::Kind::devnull:
        if (devnull.get() < 0) {
          Fd opened(::open("/dev/null", O_RDWR | O_CLOEXEC));
          if (opened.get() < 0) throw_last_os_error(call + ": open(/dev/null)");
          devnull = opened.get() > 2 ? std::move(opened) : above_stdio(opened.get(), call);
        }
        sources[i] = devnull.get();
        break;
      case Stdio::Kind::pipe: {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) throw_last_os_error(call + ": pipe2()");
        // The child's end stays blocking (programs expect blocking stdio); the parent's end is
        // made non-blocking by its pipe object.
        Fd child_end(i == 0 ? fds[0] : fds[1]);
        const int parent_end = i == 0 ? fds[1] : fds[0];
        if (i == 0) {
          state->stdin_pipe.emplace(parent_end);
        } else if (i == 1) {
          state->stdout_pipe.emplace(parent_end);
        } else {
          state->stderr_pipe.emplace(parent_end);
        }
        owned[i] = child_end.get() > 2 ? std::move(child_end) : above_stdio(child_end.get(), call);
        sources[i] = owned[i].get();
        break;
      }
      case Stdio::Kind::fd: {
        const int n = s.descriptor();
        if (n < 0) throw ValueError(call + ": invalid file descriptor " + std::to_string(n));
        if (::fcntl(n, F_GETFD) < 0) throw_last_os_error(call + ": Stdio::fd(" + std::to_string(n) + ")");
        if (n > 2) {
          sources[i] = n;
        } else {
          owned[i] = above_stdio(n, call);
          sources[i] = owned[i].get();
        }
        break;
      }
    }
  }

  FileActions fa;
  for (int i = 0; i < 3; ++i) {
    if (sources[i] >= 0) check(posix_spawn_file_actions_adddup2(&fa.actions, sources[i], i), call);
  }
  if (options.err.kind() == Stdio::Kind::to_stdout) check(posix_spawn_file_actions_adddup2(&fa.actions, 1, 2), call);
  if (options.close_fds) check(posix_spawn_file_actions_addclosefrom_np(&fa.actions, 3), call);

  SpawnAttributes attr;
  sigset_t mask;
  pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  const sigset_t loops = detail::signals_blocked_by_loops();
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sigismember(&loops, sig) == 1) sigdelset(&mask, sig);
  }
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  check(posix_spawnattr_setsigmask(&attr.attributes, &mask), call);
  check(posix_spawnattr_setsigdefault(&attr.attributes, &defaults), call);
  check(posix_spawnattr_setflags(&attr.attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF), call);

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);

  pid_t pid = -1;
  // posix_spawnp searches PATH only for a name without a slash, as execvp and Python's Popen do.
  check(posix_spawnp(&pid, program.c_str(), &fa.actions, &attr.attributes, args.data(), environ), call);

  // The child exists: from here on it is reaped whatever happens.
  const int pidfd = pidfd_open(pid);
  if (pidfd < 0) {
    const int error = errno;
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    throw_os_error(error, call + ": pidfd_open(" + std::to_string(pid) + ")");
  }
  state->pid = pid;
  state->pidfd = pidfd;
  // If add_reader throws, the closure's guard kills and reaps the child.
  loop.add_reader(pidfd, [guard = ChildGuard(state)] { guard.state().on_exit_readable(); });
  return ProcessState::handle(std::move(state));
}

Coro<int> wait_for_exit(std::shared_ptr<ProcessState> state) {
  // Once the loop is closed the child was reaped (ChildGuard), so `loop` is used only while alive.
  if (state->returncode) co_return *state->returncode;
  Future<void> exited = state->loop->create_future<void>();
  std::erase_if(state->waiters, [](const Future<void>& f) { return f.done(); });
  state->waiters.push_back(exited);
  co_await exited;
  co_return *state->returncode;
}

Coro<void> feed_stdin(std::optional<WritePipe> pipe, std::optional<std::string> input) {
  if (!pipe) co_return;
  try {
    if (input) co_await pipe->write_all(std::move(*input));
  } catch (const BrokenPipeError&) {  // the child exited without reading: not communicate's error
  } catch (const ConnectionResetError&) {
  }
  pipe->close();
}

Coro<std::optional<std::string>> read_stream(std::optional<ReadPipe> pipe) {
  if (!pipe) co_return std::nullopt;
  std::string data = co_await pipe->read_all();
  pipe->close();
  co_return data;
}

Coro<CommunicateResult> communicate_with(std::shared_ptr<ProcessState> state, std::optional<std::string> input) {
  auto feeding = feed_stdin(state->stdin_pipe, std::move(input));
  auto reading_out = read_stream(state->stdout_pipe);
  auto reading_err = read_stream(state->stderr_pipe);
  auto results = co_await gather(std::move(feeding), std::move(reading_out), std::move(reading_err));
  co_await wait_for_exit(state);
  CommunicateResult result;
  result.stdout_data = std::move(std::get<1>(results));
  result.stderr_data = std::move(std::get<2>(results));
  co_return result;
}

}  // namespace

detail::ProcessState& Process::state() const {
  if (!state_) throw InvalidStateError("empty Process handle");
  return *state_;
}

pid_t Process::pid() const { return state().pid; }
std::optional<int> Process::returncode() const { return state().returncode; }

Coro<int> Process::wait() {
  state();
  return wait_for_exit(state_);
}

Coro<CommunicateResult> Process::communicate(std::optional<std::string> input) {
  state();
  return communicate_with(state_, std::move(input));
}

void Process::send_signal(int sig) {
  ProcessState& s = state();
  if (s.returncode || s.pidfd < 0) return;  // finished: as Popen.send_signal, nothing to do
  if (pidfd_send_signal(s.pidfd, sig) != 0) {
    if (errno == ESRCH) return;  // exited and not yet reaped by the loop
    throw_last_os_error("send_signal(pid " + std::to_string(s.pid) + ", " + std::to_string(sig) + ")");
  }
}

void Process::terminate() { send_signal(SIGTERM); }
void Process::kill() { send_signal(SIGKILL); }

WritePipe* Process::stdin_pipe() const {
  auto& pipe = state().stdin_pipe;
  return pipe ? &*pipe : nullptr;
}
ReadPipe* Process::stdout_pipe() const {
  auto& pipe = state().stdout_pipe;
  return pipe ? &*pipe : nullptr;
}
ReadPipe* Process::stderr_pipe() const {
  auto& pipe = state().stderr_pipe;
  return pipe ? &*pipe : nullptr;
}

Coro<Process> create_subprocess_exec(std::string program, std::vector<std::string> args, ProcessOptions options) {
  std::vector<std::string> argv;
  argv.reserve(args.size() + 1);
  argv.push_back(program);
  for (std::string& a : args) argv.push_back(std::move(a));
  co_return spawn(get_running_loop(), "create_subprocess_exec", program, std::move(argv), options);
}

Coro<Process> create_subprocess_shell(std::string cmd, ProcessOptions options) {
  std::vector<std::string> argv{"/bin/sh", "-c", std::move(cmd)};
  co_return spawn(get_running_loop(), "create_subprocess_shell", "/bin/sh", std::move(argv), options);
}

}  // namespace asyncio
