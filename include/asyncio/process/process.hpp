#pragma once
/// Subprocesses: Python's asyncio.create_subprocess_exec / create_subprocess_shell and
/// asyncio.subprocess.Process.
///
///   Process p = co_await asyncio::create_subprocess_exec(
///       "grep", "-c", "x", asyncio::ProcessOptions{.in = Stdio::pipe(), .out = Stdio::pipe()});
///   auto [out, err] = co_await p.communicate("x\ny\nx\n");   // *out == "2\n"; err: nullopt
///   int code = co_await p.wait();                           // 0; -9 if it was killed by SIGKILL
///
///   Process q = co_await asyncio::create_subprocess_exec("seq", "3", ProcessOptions{.out = Stdio::pipe()});
///   for (std::string line; !(line = co_await q.out()->readline()).empty();) { ... }  // "1\n", ...
///
/// The pipes: for Stdio::pipe() the parent's end of the child's stdin is a StreamWriter (in()), of
/// its stdout and stderr a StreamReader (out(), err()), as Python's proc.stdin / proc.stdout /
/// proc.stderr, each over a pipe transport (net/pipe_transport.hpp) made before
/// create_subprocess_* returns. The read transports read on their own into the readers, up to
/// 2 * limit bytes unread (then they pause until the program reads); the stdin writer's drain()
/// waits while more than 64 KiB are unwritten and raises BrokenPipeError once the child closed its
/// stdin (or died) with data still unwritten.
///
/// How a child is made: posix_spawn (glibc runs it as clone(CLONE_VM | CLONE_VFORK) with a stack
/// of its own, so it costs no copy of the page tables even in a large parent, is safe in a
/// multithreaded process, where fork() is not, and reports a failed exec as its return value).
/// The child gets its standard streams through dup2 file actions, every other descriptor closed
/// (close_fds, by default; every descriptor this library opens is close-on-exec anyway), SIGPIPE's
/// default disposition back (CPython's restore_signals; this library ignores SIGPIPE, see
/// process/pipe.hpp) and a signal mask without the signals event loops block for their handlers.
/// The program is looked up in PATH when it has no slash, as Python's Popen does.
///
/// How a child is watched: a pidfd (pidfd_open) watched with add_reader; when it becomes readable
/// the child is reaped at once with waitid(P_PIDFD, ...), so returncode() is set as soon as the
/// child has exited, whether or not anyone waits, and no zombie is left. Signals go through the
/// pidfd (pidfd_send_signal), which cannot reach another process that reused the pid. Closing the
/// loop while a child still runs kills it (SIGKILL) and reaps it, as closing CPython's subprocess
/// transport kills a child still running.
///
/// Loop-thread-only, like the rest of the library.

#include <sys/types.h>

#include <concepts>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "asyncio/coro/coro.hpp"
#include "asyncio/net/stream_reader.hpp"
#include "asyncio/net/stream_writer.hpp"
#include "asyncio/process/pipe.hpp"

namespace asyncio {

/// Where one of a child's standard streams goes: the values of Python's stdin=, stdout= and stderr=
/// arguments. Trivially destructible (see ProcessOptions).
class Stdio {
 public:
  enum class Kind : unsigned char {
    inherit,    ///< the parent's own stream (Python's None), the default
    pipe,       ///< a new pipe, reached through Process::in() / out() / err()
    devnull,    ///< /dev/null
    to_stdout,  ///< for stderr only: wherever stdout goes
    fd,         ///< a descriptor of the caller's, duplicated into the child (the caller keeps it)
  };

  /// inherit.
  constexpr Stdio() noexcept = default;
  /// Python's None: the parent's own stream.
  static constexpr Stdio inherit() noexcept { return Stdio(Kind::inherit, -1); }
  /// Python's asyncio.subprocess.PIPE.
  static constexpr Stdio pipe() noexcept { return Stdio(Kind::pipe, -1); }
  /// Python's asyncio.subprocess.DEVNULL.
  static constexpr Stdio devnull() noexcept { return Stdio(Kind::devnull, -1); }
  /// Python's asyncio.subprocess.STDOUT: stderr goes wherever stdout goes (stderr only).
  static constexpr Stdio to_stdout() noexcept { return Stdio(Kind::to_stdout, -1); }
  /// Python's stdout=<a file descriptor>: the child gets a duplicate of `descriptor`.
  static constexpr Stdio fd(int descriptor) noexcept { return Stdio(Kind::fd, descriptor); }

  [[nodiscard]] constexpr Kind kind() const noexcept { return kind_; }
  /// The descriptor of Stdio::fd(n); -1 for the other kinds.
  [[nodiscard]] constexpr int descriptor() const noexcept { return fd_; }

 private:
  constexpr Stdio(Kind kind, int descriptor) noexcept : kind_(kind), fd_(descriptor) {}
  Kind kind_ = Kind::inherit;
  int fd_ = -1;
};

/// The keyword arguments of create_subprocess_exec / create_subprocess_shell. The streams are named
/// `in`, `out` and `err`: `stdin`, `stdout` and `stderr` are macros of the C library.
///
/// Trivially destructible on purpose: g++ 12 destroys an aggregate temporary with a non-trivial
/// destructor twice inside a co_await expression, and options are usually written right there.
struct ProcessOptions {
  Stdio in{};   ///< stdin=
  Stdio out{};  ///< stdout=
  Stdio err{};  ///< stderr= (may be Stdio::to_stdout())
  /// Python's close_fds=True: the child gets no descriptor but 0, 1 and 2 (and pass_fds).
  bool close_fds = true;
  /// Python's limit=: the line-length limit of the out() and err() StreamReaders (ValueError if 0).
  std::size_t limit = stream_default_limit;
  /// Python's cwd=: the child's working directory (empty: the parent's). A FileNotFoundError
  /// names it if it does not exist. Viewed, not copied: it must live until the call returns.
  std::string_view cwd{};
  /// Python's env=: the child's whole environment, instead of the parent's (nullptr: the
  /// parent's, as Python's None; an empty map: none at all). Must live until the call returns.
  const std::map<std::string, std::string>* env = nullptr;
  /// Python's start_new_session=True: the child runs setsid(), in a session of its own.
  bool start_new_session = false;
  /// Python's process_group=: the child runs setpgid(0, group); 0 makes a new group led by the
  /// child. nullopt: the parent's group.
  std::optional<pid_t> process_group{};
  /// Python's pass_fds=: descriptors the child keeps under their own numbers, inheritable there,
  /// even with close_fds (ValueError for one that is not open). Must live until the call returns.
  std::span<const int> pass_fds{};
};
static_assert(std::is_trivially_destructible_v<ProcessOptions>, "see ProcessOptions");

/// What Process::communicate() returns: Python's (stdout_data, stderr_data) tuple; a stream that
/// is not a pipe gives nullopt (Python's None).
struct CommunicateResult {
  std::optional<std::string> stdout_data;
  std::optional<std::string> stderr_data;
};

namespace detail {
struct ProcessState;
}  // namespace detail

/// Python's asyncio.subprocess.Process. A handle: copies refer to the same child. The child is
/// watched and reaped by the loop whether or not a handle is left.
class Process {
 public:
  /// An empty handle (every method but the constructors raises InvalidStateError).
  Process() noexcept = default;

  /// The child's process id.
  [[nodiscard]] pid_t pid() const;
  /// The exit status once the child has exited and was reaped: its exit code, or -N if signal N
  /// killed it (as Python). nullopt while it runs.
  [[nodiscard]] std::optional<int> returncode() const;

  /// Python's await proc.wait() (CPython 3.12+): waits until the child has exited and its pipe
  /// transports are closed (the stdout/stderr readers saw EOF, the stdin writer was closed or
  /// found the child gone), then returns returncode(). So once wait() returns, out() and err()
  /// hold everything the child wrote and no descriptor of the child's pipes is left open.
  /// The deadlock Python's documentation warns of: the readers stop reading once 2 * limit bytes
  /// are unread, so a child that writes more to a pipe nobody reads blocks, and so does wait() -
  /// also after kill(), since the output still waits to be read (use communicate(), or read
  /// out()/err() while waiting). A grandchild that inherited a pipe delays it until it closes that
  /// pipe too. Once the process's loop is closed (which kills a child still running and abandons
  /// its pipes) it returns returncode() at once.
  Coro<int> wait();

  /// Python's await proc.communicate(input): writes `input` to stdin (if it is a pipe) and closes
  /// it, while reading stdout and stderr (the pipes among them) to EOF, all concurrently; then
  /// wait(). BrokenPipeError and ConnectionResetError from stdin's drain are ignored, as in Python
  /// (the child may exit without reading). The read transports are closed once read. `input` is
  /// ignored when stdin is not a pipe. What the program already read from out()/err() is not in
  /// the result (as in Python).
  Coro<CommunicateResult> communicate(std::optional<std::string> input = std::nullopt);

  /// Python's send_signal(sig): sends `sig` to the child. ProcessLookupError once it has exited
  /// (as asyncio's), OSError (EINVAL) for an invalid signal number.
  void send_signal(int sig);
  /// SIGTERM.
  void terminate();
  /// SIGKILL.
  void kill();

  /// Python's proc.stdin: the StreamWriter on the child's stdin when it is Stdio::pipe(), else
  /// null. Owned by the process state: valid as long as a handle to this process exists (and the
  /// loop neither closed nor gone). close() it to give the child EOF. Named in/out/err because
  /// stdin/stdout/stderr are macros of the C library.
  [[nodiscard]] StreamWriter* in() const;
  /// Python's proc.stdout: the StreamReader of the child's stdout when it is Stdio::pipe(), else
  /// null.
  [[nodiscard]] std::shared_ptr<StreamReader> out() const;
  /// Python's proc.stderr: the StreamReader of the child's stderr when it is Stdio::pipe(), else
  /// null (also for Stdio::to_stdout(): that goes to out()).
  [[nodiscard]] std::shared_ptr<StreamReader> err() const;

 private:
  friend struct detail::ProcessState;
  explicit Process(std::shared_ptr<detail::ProcessState> state) noexcept : state_(std::move(state)) {}
  detail::ProcessState& state() const;

  std::shared_ptr<detail::ProcessState> state_;
};

/// Python's asyncio.create_subprocess_exec(program, *args, stdin=..., ...), with the arguments as a
/// vector: runs `program` (looked up in PATH if it has no slash) with argv = {program, args...}.
/// FileNotFoundError naming the program if there is no such program, PermissionError if it is not
/// executable, ValueError for Stdio::to_stdout() as stdin or stdout, a negative Stdio::fd or a
/// limit of 0, OSError EBADF for a Stdio::fd that is not open, RuntimeError outside a running loop.
/// Returns once the pipe transports are connected (Python's _connect_pipes); if that fails (or is
/// cancelled) the child is killed and the error raised.
Coro<Process> create_subprocess_exec(std::string program, std::vector<std::string> args, ProcessOptions options = {});

namespace detail {
template <class A>
concept SubprocessArgument =
    std::convertible_to<A, std::string_view> || std::same_as<std::remove_cvref_t<A>, ProcessOptions>;
}  // namespace detail

/// Python's create_subprocess_exec(program, *args, **options): the arguments are strings, and a
/// ProcessOptions among them (conventionally last) gives the options.
///   co_await create_subprocess_exec("ls", "-l", dir, ProcessOptions{.out = Stdio::pipe()});
template <class... Args>
requires(detail::SubprocessArgument<Args>&&...) Coro<Process> create_subprocess_exec(std::string_view program,
                                                                                     Args&&... args) {
  std::vector<std::string> argv;
  argv.reserve(sizeof...(Args));
  ProcessOptions options;
  [[maybe_unused]] auto take = [&](auto&& arg) {
    if constexpr (std::same_as<std::remove_cvref_t<decltype(arg)>, ProcessOptions>) {
      options = arg;
    } else {
      argv.emplace_back(std::string_view(arg));
    }
  };
  (take(std::forward<Args>(args)), ...);
  return create_subprocess_exec(std::string(program), std::move(argv), options);
}

/// Python's asyncio.create_subprocess_shell(cmd, ...): runs `cmd` with /bin/sh -c.
Coro<Process> create_subprocess_shell(std::string cmd, ProcessOptions options = {});

}  // namespace asyncio
