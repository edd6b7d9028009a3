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

#include <algorithm>
#include <cerrno>
#include <limits>
#include <string>
#include <tuple>
#include <utility>

#include "asyncio/exceptions.hpp"
#include "asyncio/flow/gather.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/loop/logger.hpp"
#include "asyncio/loop/signal_watch.hpp"
#include "asyncio/net/flow_control.hpp"
#include "asyncio/net/pipe_transport.hpp"
#include "asyncio/net/stream_protocol.hpp"
#include "asyncio/net/transport_table.hpp"
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
/// the child is reaped even when no Process handle is left) and a ChildGuard. `parent_fds[i]` is
/// the parent's end of pipe i until its transport takes it; `open_pipes` counts the pipes whose
/// transport has not called connection_lost yet (from the spawn on). wait() finishes once
/// `returncode` is set and `open_pipes` is 0 (CPython 3.12+'s _try_finish), or once the loop is
/// closed or gone (its transports are then abandoned without connection_lost).
///
/// A child with pipes is also linked in the loop's table of pipe transports from its spawn until it
/// is reaped (`table`): closing the loop then kills it before the table closes its pipes, the
/// order CPython's transport close follows, so it dies by SIGKILL and not of the EOF on its stdin.
struct ProcessState final : private TableEntry {
  ProcessState() = default;
  ProcessState(const ProcessState&) = delete;
  ProcessState& operator=(const ProcessState&) = delete;
  ~ProcessState() override {
    kill_and_reap();
    for (int& fd : parent_fds) {
      if (fd >= 0) ::close(std::exchange(fd, -1));
    }
  }

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

  /// Records the exit, stops watching, wakes wait() if the pipes are closed too.
  void finish(int code) noexcept {
    unlink_table();
    returncode = code;
    const int fd = std::exchange(pidfd, -1);
    try {
      loop->remove_reader(fd);  // the closure (and this state's reference) goes when it returns
    } catch (...) {             // only debug mode's wrong-thread check throws
    }
    ::close(fd);
    if (open_pipes == 0) wake_waiters();
  }

  /// A pipe transport called connection_lost (Python's _pipe_connection_lost + _try_finish).
  void pipe_lost() noexcept {
    if (open_pipes > 0) --open_pipes;
    if (open_pipes == 0 && returncode) wake_waiters();
  }

  /// wait() has nothing to wait for.
  [[nodiscard]] bool finished() const noexcept {
    if (!returncode) return false;
    if (open_pipes == 0) return true;
    const EventLoop* alive = anchor.get_loop_ptr();
    return alive == nullptr || alive->is_closed();
  }

  /// The loop dropped the watch before the child exited (it was closed): kill and reap at once,
  /// so that no zombie and no running orphan is left behind.
  void kill_and_reap() noexcept {
    unlink_table();
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

  /// Links the child in the loop's table (its pipe transports are made after it: newer).
  void link_table(TransportTable& t) noexcept {
    table = &t;
    table->link(*this);
  }
  void unlink_table() noexcept {
    if (table != nullptr) std::exchange(table, nullptr)->unlink(*this);
  }

  EventLoop* loop = nullptr;
  TransportTable* table = nullptr;
  /// Never completed: its get_loop_ptr() tells whether `loop` still exists.
  Future<void> anchor;
  pid_t pid = -1;
  int pidfd = -1;
  std::optional<int> returncode;
  std::vector<Future<void>> waiters;  // one per wait() in progress (a cancelled one is skipped)
  int parent_fds[3] = {-1, -1, -1};
  int open_pipes = 0;
  std::ptrdiff_t limit = static_cast<std::ptrdiff_t>(stream_default_limit);
  StreamWriter stdin_writer;  // empty unless stdin is a pipe
  std::shared_ptr<StreamReader> stdout_reader;
  std::shared_ptr<StreamReader> stderr_reader;
  std::shared_ptr<BaseTransport> transports[3];  // of the pipes, to close them (communicate)

 private:
  /// The loop is closing with the child still linked: kill and reap it now, before the table
  /// abandons (and closes) its pipes.
  void abandon() noexcept override { kill_and_reap(); }
};

/// The protocol of the stdin pipe: the FlowControlMixin of the stdin StreamWriter (Python's
/// SubprocessStreamProtocol plays that part for stdin), which also tells the state when the pipe
/// is gone.
class ChildStdinProtocol final : public FlowControlMixin {
 public:
  explicit ChildStdinProtocol(std::weak_ptr<ProcessState> state) : state_(std::move(state)) {}
  void connection_lost(std::exception_ptr error) override {
    FlowControlMixin::connection_lost(error);
    if (std::shared_ptr<ProcessState> state = state_.lock()) state->pipe_lost();
  }

 private:
  std::weak_ptr<ProcessState> state_;
};

/// The protocol of a stdout or stderr pipe: feeds its StreamReader, and tells the state when the
/// pipe is gone.
class ChildOutputProtocol final : public StreamReaderProtocol {
 public:
  ChildOutputProtocol(std::shared_ptr<StreamReader> reader, std::weak_ptr<ProcessState> state)
      : StreamReaderProtocol(std::move(reader)), state_(std::move(state)) {}
  void connection_lost(std::exception_ptr error) override {
    StreamReaderProtocol::connection_lost(error);
    if (std::shared_ptr<ProcessState> state = state_.lock()) state->pipe_lost();
  }

 private:
  std::weak_ptr<ProcessState> state_;
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

std::shared_ptr<ProcessState> spawn(EventLoop& loop, const char* api, const std::string& program,
                                    std::vector<std::string> argv, ProcessOptions options) {
  const std::string call = std::string(api) + "(" + program + ")";
  if (options.in.kind() == Stdio::Kind::to_stdout || options.out.kind() == Stdio::Kind::to_stdout) {
    throw ValueError(call + ": Stdio::to_stdout() can only be used for stderr");
  }
  if (options.limit == 0 || options.limit > static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max())) {
    throw ValueError(call + ": Limit cannot be <= 0");
  }
  auto state = std::make_shared<ProcessState>();  // before the child exists: nothing can fail after
  state->loop = &loop;
  state->anchor = loop.create_future<void>();
  state->limit = static_cast<std::ptrdiff_t>(options.limit);

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
        // made non-blocking by its pipe transport.
        Fd child_end(i == 0 ? fds[0] : fds[1]);
        state->parent_fds[i] = i == 0 ? fds[1] : fds[0];  // closed with the state until connected
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

  // The table the pipe transports will use, made before the child exists (it can fail: EMFILE).
  detail::TransportTable* table = nullptr;
  if (state->parent_fds[0] >= 0 || state->parent_fds[1] >= 0 || state->parent_fds[2] >= 0) {
    table = &detail::TransportTable::of(loop);
  }

  FileActions fa;
  for (int i = 0; i < 3; ++i) {
    if (sources[i] >= 0) check(posix_spawn_file_actions_adddup2(&fa.actions, sources[i], i), call);
  }
  if (options.err.kind() == Stdio::Kind::to_stdout) check(posix_spawn_file_actions_adddup2(&fa.actions, 1, 2), call);
  // pass_fds: a dup2 of a descriptor onto itself clears its close-on-exec flag in the child (glibc
  // 2.29+), and closing stops below the lowest one, the others in between closed one by one.
  std::vector<int> passed(options.pass_fds.begin(), options.pass_fds.end());
  std::sort(passed.begin(), passed.end());
  passed.erase(std::unique(passed.begin(), passed.end()), passed.end());
  for (const int fd : passed) {
    if (fd < 3 || ::fcntl(fd, F_GETFD) < 0) {
      throw ValueError(call + ": pass_fds: " + std::to_string(fd) + " is not an open descriptor above 2");
    }
    check(posix_spawn_file_actions_adddup2(&fa.actions, fd, fd), call);
  }
  if (options.close_fds) {
    int next = 3;
    for (const int fd : passed) {
      for (int gap = next; gap < fd; ++gap) {
        if (::fcntl(gap, F_GETFD) >= 0) check(posix_spawn_file_actions_addclose(&fa.actions, gap), call);
      }
      next = fd + 1;
    }
    check(posix_spawn_file_actions_addclosefrom_np(&fa.actions, next), call);
  }
  const std::string cwd(options.cwd);
  if (!cwd.empty()) {
    // Checked here too, so that the error names the directory rather than the program.
    if (::access(cwd.c_str(), X_OK) != 0) throw_last_os_error(call + ": cwd " + cwd);
    check(posix_spawn_file_actions_addchdir_np(&fa.actions, cwd.c_str()), call);
  }

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
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (options.start_new_session) flags |= POSIX_SPAWN_SETSID;
  if (options.process_group) {
    if (*options.process_group < 0) {
      throw ValueError(call + ": process_group must be >= 0, got " + std::to_string(*options.process_group));
    }
    flags |= POSIX_SPAWN_SETPGROUP;
    check(posix_spawnattr_setpgroup(&attr.attributes, *options.process_group), call);
  }
  check(posix_spawnattr_setflags(&attr.attributes, flags), call);

  std::vector<std::string> env_entries;
  std::vector<char*> envp;
  if (options.env != nullptr) {
    for (const auto& [name, value] : *options.env) {
      if (name.empty() || name.find('=') != std::string::npos || name.find('\0') != std::string::npos ||
          value.find('\0') != std::string::npos) {
        throw ValueError(call + ": env: illegal environment variable name or value: " + name);
      }
      env_entries.push_back(name + "=" + value);
    }
    for (std::string& e : env_entries) envp.push_back(e.data());
    envp.push_back(nullptr);
  }

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);

  pid_t pid = -1;
  // posix_spawnp searches PATH only for a name without a slash, as execvp and Python's Popen do.
  check(posix_spawnp(&pid, program.c_str(), &fa.actions, &attr.attributes, args.data(),
                     options.env != nullptr ? envp.data() : environ),
        call);

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
  for (const int fd : state->parent_fds) state->open_pipes += fd >= 0 ? 1 : 0;
  if (table != nullptr) state->link_table(*table);
  // If add_reader throws, the closure's guard kills and reaps the child.
  loop.add_reader(pidfd, [guard = ChildGuard(state)] { guard.state().on_exit_readable(); });
  return state;
}

/// Python's BaseSubprocessTransport._connect_pipes: a transport on each parent end, with the
/// streams of SubprocessStreamProtocol.connection_made. Each start returns after connection_made.
Coro<void> connect_pipes(std::shared_ptr<ProcessState> state) {
  const std::weak_ptr<ProcessState> weak = state;
  if (state->parent_fds[0] >= 0) {
    auto protocol = std::make_shared<detail::ChildStdinProtocol>(weak);
    std::shared_ptr<WriteTransport> transport =
        co_await detail::start_write_pipe(std::exchange(state->parent_fds[0], -1), true, protocol);
    state->stdin_writer = StreamWriter(*transport, protocol);
    state->transports[0] = std::move(transport);
  }
  for (int i = 1; i < 3; ++i) {
    if (state->parent_fds[i] < 0) continue;
    auto reader = std::make_shared<StreamReader>(state->limit);
    auto protocol = std::make_shared<detail::ChildOutputProtocol>(reader, weak);
    std::shared_ptr<ReadTransport> transport =
        co_await detail::start_read_pipe(std::exchange(state->parent_fds[i], -1), true, protocol);
    (i == 1 ? state->stdout_reader : state->stderr_reader) = std::move(reader);
    state->transports[i] = std::move(transport);
  }
}

Coro<Process> start_process(std::shared_ptr<ProcessState> state) {
  try {
    co_await connect_pipes(state);
  } catch (...) {
    // Python: the transport is closed (killing the child) and the error raised. The watch reaps
    // it; the pipes connected so far close.
    if (state->pidfd >= 0) pidfd_send_signal(state->pidfd, SIGKILL);
    for (const std::shared_ptr<BaseTransport>& transport : state->transports) {
      if (transport && !transport->is_closing()) transport->close();
    }
    for (int& fd : state->parent_fds) {
      if (fd >= 0) ::close(std::exchange(fd, -1));
    }
    throw;
  }
  co_return ProcessState::handle(std::move(state));
}

Coro<int> wait_for_exit(std::shared_ptr<ProcessState> state) {
  // Once the loop is closed the child was reaped (ChildGuard) and finished() holds, so `loop` is
  // used only while alive.
  if (state->finished()) co_return *state->returncode;
  Future<void> exited = state->loop->create_future<void>();
  std::erase_if(state->waiters, [](const Future<void>& f) { return f.done(); });
  state->waiters.push_back(exited);
  co_await exited;
  co_return *state->returncode;
}

/// Python's Process._feed_stdin.
Coro<void> feed_stdin(std::shared_ptr<ProcessState> state, std::optional<std::string> input) {
  StreamWriter& writer = state->stdin_writer;
  if (writer.is_empty()) co_return;
  if (input && !writer.is_closing()) writer.write(*input);  // closed by the program: nothing to feed
  try {
    co_await writer.drain();
  } catch (const BrokenPipeError&) {  // the child exited without reading: not communicate's error
  } catch (const ConnectionResetError&) {
  }
  writer.close();
}

/// Python's Process._read_stream.
Coro<std::optional<std::string>> read_stream(std::shared_ptr<StreamReader> reader,
                                             std::shared_ptr<BaseTransport> transport) {
  if (!reader) co_return std::nullopt;
  std::string data = co_await reader->read();
  transport->close();
  co_return data;
}

Coro<CommunicateResult> communicate_with(std::shared_ptr<ProcessState> state, std::optional<std::string> input) {
  auto feeding = feed_stdin(state, std::move(input));
  auto reading_out = read_stream(state->stdout_reader, state->transports[1]);
  auto reading_err = read_stream(state->stderr_reader, state->transports[2]);
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
  const std::string what = "send_signal(pid " + std::to_string(s.pid) + ", " + std::to_string(sig) + ")";
  // As asyncio's transport (its _check_proc): a child that has exited cannot be signalled, whether
  // or not the loop has reaped it yet (ESRCH).
  if (s.returncode || s.pidfd < 0) throw ProcessLookupError(ESRCH, what + ": the process has exited");
  if (pidfd_send_signal(s.pidfd, sig) != 0) throw_last_os_error(what);
}

void Process::terminate() { send_signal(SIGTERM); }
void Process::kill() { send_signal(SIGKILL); }

StreamWriter* Process::in() const {
  StreamWriter& writer = state().stdin_writer;
  return writer.is_empty() ? nullptr : &writer;
}
std::shared_ptr<StreamReader> Process::out() const { return state().stdout_reader; }
std::shared_ptr<StreamReader> Process::err() const { return state().stderr_reader; }

Coro<Process> create_subprocess_exec(std::string program, std::vector<std::string> args, ProcessOptions options) {
  std::vector<std::string> argv;
  argv.reserve(args.size() + 1);
  argv.push_back(program);
  for (std::string& a : args) argv.push_back(std::move(a));
  std::shared_ptr<ProcessState> state =
      spawn(get_running_loop(), "create_subprocess_exec", program, std::move(argv), options);
  co_return co_await start_process(std::move(state));
}

Coro<Process> create_subprocess_shell(std::string cmd, ProcessOptions options) {
  std::vector<std::string> argv{"/bin/sh", "-c", std::move(cmd)};
  std::shared_ptr<ProcessState> state =
      spawn(get_running_loop(), "create_subprocess_shell", "/bin/sh", std::move(argv), options);
  co_return co_await start_process(std::move(state));
}

}  // namespace asyncio
