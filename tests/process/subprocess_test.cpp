// create_subprocess_exec / create_subprocess_shell and Process.
// Reference: CPython 3.13 Lib/asyncio/subprocess.py, base_subprocess.py and
// Lib/test/test_asyncio/test_subprocess.py. The children are /bin/sh, cat, grep, true and false;
// a child that must still be running blocks reading its stdin until the test closes it or kills
// it. Loops run on the monotonic clock (the children are other processes).

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <asyncio/os_error.hpp>
#include <asyncio/process/process.hpp>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "process/signal_test_support.hpp"
#include "support/test_support.hpp"

namespace {

using asyncio::CommunicateResult;
using asyncio::Coro;
using asyncio::Process;
using asyncio::ProcessOptions;
using asyncio::Stdio;

/// True when this process has no child at all, zombie or running.
bool no_children() {
  siginfo_t info{};
  return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == -1 && errno == ECHILD;
}

int open_descriptors() {
  int n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

/// Open descriptors of this process that are pipes.
int open_pipe_descriptors() {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code error;
    const std::string target = std::filesystem::read_symlink(entry.path(), error).string();
    n += target.rfind("pipe:", 0) == 0 ? 1 : 0;
  }
  return n;
}

constexpr ProcessOptions stdin_pipe{.in = Stdio::pipe()};
constexpr ProcessOptions all_pipes{.in = Stdio::pipe(), .out = Stdio::pipe(), .err = Stdio::pipe()};

TEST(Subprocess, TheChildsExitCodeIsItsReturncode) {
  const int code = asyncio::run([]() -> Coro<int> {
    Process p = co_await asyncio::create_subprocess_exec("/bin/sh", "-c", "exit 3");
    const int waited = co_await p.wait();
    EXPECT_EQ(p.returncode(), 3);
    co_return waited;
  });
  EXPECT_EQ(code, 3);
}

TEST(Subprocess, TrueGivesZeroAndFalseGivesOne) {
  asyncio::run([]() -> Coro<void> {
    Process t = co_await asyncio::create_subprocess_exec("true");
    Process f = co_await asyncio::create_subprocess_exec("false");
    EXPECT_EQ(co_await t.wait(), 0);
    EXPECT_EQ(co_await f.wait(), 1);
  });
  EXPECT_TRUE(no_children());
}

TEST(Subprocess, TheVectorFormPassesTheArguments) {
  const std::string out = asyncio::run([]() -> Coro<std::string> {
    std::vector<std::string> args{"-c", "echo \"$0|$1\"", "zero", "one two"};
    Process p = co_await asyncio::create_subprocess_exec("sh", std::move(args), ProcessOptions{.out = Stdio::pipe()});
    CommunicateResult r = co_await p.communicate();
    co_return *r.stdout_data;
  });
  EXPECT_EQ(out, "zero|one two\n");
}

TEST(Subprocess, PidIsTheChildsProcessId) {
  asyncio::run([]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("sh", "-c", "echo $$", ProcessOptions{.out = Stdio::pipe()});
    CommunicateResult r = co_await p.communicate();
    EXPECT_EQ(*r.stdout_data, std::to_string(p.pid()) + "\n");
  });
}

TEST(Subprocess, AChildKilledBySigkillHasReturncodeMinusNine) {
  asyncio::run([]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("cat", stdin_pipe);  // blocks reading stdin
    EXPECT_EQ(p.returncode(), std::nullopt);
    p.kill();
    EXPECT_EQ(co_await p.wait(), -SIGKILL);
    EXPECT_EQ(p.returncode(), -SIGKILL);
  });
}

TEST(Subprocess, TerminateSendsSigterm) {
  asyncio::run([]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("cat", stdin_pipe);
    p.terminate();
    EXPECT_EQ(co_await p.wait(), -SIGTERM);
  });
}

TEST(Subprocess, SendSignalDeliversThatSignal) {
  asyncio::run([]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("cat", stdin_pipe);
    p.send_signal(SIGUSR1);
    EXPECT_EQ(co_await p.wait(), -SIGUSR1);
  });
}

TEST(Subprocess, SignalsSentAfterTheChildExitedRaiseProcessLookupError) {
  // As asyncio's subprocess transport (CPython's test_subprocess: test_kill_issue43884 and the
  // send_signal-after-exit cases).
  asyncio::run([]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("true");
    co_await p.wait();
    EXPECT_THROW(p.kill(), asyncio::ProcessLookupError);
    EXPECT_THROW(p.terminate(), asyncio::ProcessLookupError);
    EXPECT_THROW(p.send_signal(SIGUSR1), asyncio::ProcessLookupError);
    EXPECT_EQ(p.returncode(), 0);
  });
}

TEST(Subprocess, ReturncodeIsEmptyWhileTheChildRuns) {
  asyncio::run([]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("cat", stdin_pipe);
    co_await asyncio::sleep(0);
    EXPECT_EQ(p.returncode(), std::nullopt);
    p.in()->close();  // EOF: cat exits
    EXPECT_EQ(co_await p.wait(), 0);
  });
}

TEST(Subprocess, WaitingTwiceAndFromTwoTasksGivesTheSameCode) {
  asyncio::run([]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("sh", "-c", "read x; exit 4", stdin_pipe);
    auto waiter = [](Process proc) -> Coro<int> { co_return co_await proc.wait(); };
    auto first = asyncio::create_task(waiter(p));
    auto second = asyncio::create_task(waiter(p));
    co_await asyncio::sleep(0);
    p.in()->close();
    EXPECT_EQ(co_await first, 4);
    EXPECT_EQ(co_await second, 4);
    EXPECT_EQ(co_await p.wait(), 4);  // already known: no waiting
  });
}

TEST(Subprocess, ACancelledWaitLeavesOtherWaitersAndTheChildAlone) {
  asyncio::run([]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("cat", stdin_pipe);
    auto waiter = [](Process proc) -> Coro<int> { co_return co_await proc.wait(); };
    auto cancelled = asyncio::create_task(waiter(p));
    auto other = asyncio::create_task(waiter(p));
    co_await asyncio::sleep(0);
    cancelled.cancel();
    co_await asyncio::sleep(0);
    EXPECT_TRUE(cancelled.cancelled());
    p.in()->close();
    EXPECT_EQ(co_await other, 0);
  });
}

TEST(Subprocess, CommunicateWritesTheInputAndCollectsStdoutAndStderr) {
  asyncio::run([]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("sh", "-c", "cat; echo oops >&2; exit 2", all_pipes);
    CommunicateResult r = co_await p.communicate("hello\n");
    EXPECT_EQ(r.stdout_data, "hello\n");
    EXPECT_EQ(r.stderr_data, "oops\n");
    EXPECT_EQ(p.returncode(), 2);
  });
}

TEST(Subprocess, CommunicateMovesMoreThanAPipeHoldsBothWaysAtOnce) {
  // cat writes while it reads: feeding stdin first and reading after would deadlock.
  const std::size_t size = std::size_t{4} << 20;
  asyncio::run([&]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("cat", all_pipes);
    CommunicateResult r = co_await p.communicate(std::string(size, 'z'));
    EXPECT_EQ(r.stdout_data->size(), size);
    EXPECT_EQ(r.stdout_data->find_first_not_of('z'), std::string::npos);
    EXPECT_EQ(r.stderr_data, "");
  });
}

TEST(Subprocess, CommunicateWithoutPipesGivesNoOutput) {
  asyncio::run([]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("true");
    CommunicateResult r = co_await p.communicate("ignored");
    EXPECT_EQ(r.stdout_data, std::nullopt);
    EXPECT_EQ(r.stderr_data, std::nullopt);
    EXPECT_EQ(p.returncode(), 0);
  });
}

TEST(Subprocess, CommunicateIgnoresAChildThatExitsWithoutReadingItsInput) {
  asyncio::run([]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("true", stdin_pipe);
    CommunicateResult r = co_await p.communicate(std::string(1 << 20, 'x'));  // BrokenPipeError inside
    EXPECT_EQ(r.stdout_data, std::nullopt);
    EXPECT_EQ(p.returncode(), 0);
  });
}

TEST(Subprocess, CommunicateClosesThePipes) {
  const int before = open_pipe_descriptors();
  asyncio::run([&]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("cat", all_pipes);
    EXPECT_EQ(open_pipe_descriptors(), before + 3);
    co_await p.communicate("x");
    EXPECT_TRUE(p.in()->is_closing());
    EXPECT_TRUE(p.out()->at_eof());
    EXPECT_TRUE(p.err()->at_eof());
    EXPECT_EQ(open_pipe_descriptors(), before);
  });
}

TEST(Subprocess, ThePipesCanBeUsedOneStepAtATime) {
  asyncio::run([]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("sh", "-c", "echo one; read x; echo \"two $x\"",
                                                         ProcessOptions{.in = Stdio::pipe(), .out = Stdio::pipe()});
    EXPECT_EQ(p.err(), nullptr);
    EXPECT_EQ(co_await p.out()->readline(), "one\n");  // the child waits for us now
    p.in()->write("2\n");
    co_await p.in()->drain();
    EXPECT_EQ(co_await p.out()->read(), "two 2\n");
    EXPECT_EQ(co_await p.wait(), 0);
  });
}

TEST(Subprocess, DevnullAsStdinGivesTheChildAnImmediateEof) {
  asyncio::run([]() -> Coro<void> {
    Process p =
        co_await asyncio::create_subprocess_exec("cat", ProcessOptions{.in = Stdio::devnull(), .out = Stdio::pipe()});
    EXPECT_EQ(p.in(), nullptr);
    CommunicateResult r = co_await p.communicate();
    EXPECT_EQ(r.stdout_data, "");
    EXPECT_EQ(p.returncode(), 0);
  });
}

TEST(Subprocess, DevnullAsStdoutDiscardsTheOutput) {
  asyncio::run([]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("sh", "-c", "echo out; echo err >&2",
                                                         ProcessOptions{.out = Stdio::devnull(), .err = Stdio::pipe()});
    CommunicateResult r = co_await p.communicate();
    EXPECT_EQ(r.stdout_data, std::nullopt);
    EXPECT_EQ(r.stderr_data, "err\n");
  });
}

TEST(Subprocess, StderrToStdoutMergesBothStreamsIntoTheStdoutPipe) {
  asyncio::run([]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec(
        "sh", "-c", "echo a; echo b >&2; echo c", ProcessOptions{.out = Stdio::pipe(), .err = Stdio::to_stdout()});
    EXPECT_EQ(p.err(), nullptr);
    CommunicateResult r = co_await p.communicate();
    EXPECT_EQ(r.stdout_data, "a\nb\nc\n");
    EXPECT_EQ(r.stderr_data, std::nullopt);
  });
}

TEST(Subprocess, StderrToStdoutWithAnInheritedStdoutGoesWhereStdoutGoes) {
  asyncio::run([]() -> Coro<void> {
    auto [r, w] = asyncio::open_pipe();
    Process p = co_await asyncio::create_subprocess_exec(
        "sh", "-c", "echo err >&2", ProcessOptions{.out = Stdio::fd(w.fileno()), .err = Stdio::to_stdout()});
    co_await p.wait();
    w.close();
    EXPECT_EQ(co_await r.read_all(), "err\n");
  });
}

TEST(Subprocess, AnFdStdioGivesTheChildThatDescriptorAndTheCallerKeepsIt) {
  asyncio::run([]() -> Coro<void> {
    auto [r, w] = asyncio::open_pipe();
    Process p = co_await asyncio::create_subprocess_exec("echo", "hi", ProcessOptions{.out = Stdio::fd(w.fileno())});
    co_await p.wait();
    EXPECT_FALSE(w.is_closed());
    w.close();
    EXPECT_EQ(co_await r.read_all(), "hi\n");
  });
}

TEST(Subprocess, AnFdStdioNumberedZeroToTwoIsDuplicatedBeforeTheStreamsAreSet) {
  // stdout = the parent's fd 2 while stderr is a pipe: dup2 onto 2 must not clobber the source.
  asyncio::run([]() -> Coro<void> {
    auto [r, w] = asyncio::open_pipe();
    const int saved_stderr = ::dup(2);
    ::dup2(w.fileno(), 2);  // this process's stderr is now the pipe
    auto spawned = asyncio::create_subprocess_exec("sh", "-c", "echo to-out; echo to-err >&2",
                                                   ProcessOptions{.out = Stdio::fd(2), .err = Stdio::pipe()});
    Process p = co_await std::move(spawned);
    ::dup2(saved_stderr, 2);
    ::close(saved_stderr);
    CommunicateResult result = co_await p.communicate();
    w.close();
    EXPECT_EQ(result.stderr_data, "to-err\n");
    EXPECT_EQ(co_await r.read_all(), "to-out\n");
  });
}

TEST(Subprocess, TheShellFormRunsTheCommandThroughBinSh) {
  asyncio::run([]() -> Coro<void> {
    Process p =
        co_await asyncio::create_subprocess_shell("echo $((6 * 7)); exit 5", ProcessOptions{.out = Stdio::pipe()});
    CommunicateResult r = co_await p.communicate();
    EXPECT_EQ(r.stdout_data, "42\n");
    EXPECT_EQ(p.returncode(), 5);
  });
}

TEST(Subprocess, AMissingProgramRaisesFileNotFoundErrorNamingIt) {
  const int before = open_descriptors();
  std::string message;
  int error = 0;
  asyncio::run([&]() -> Coro<void> {
    try {
      co_await asyncio::create_subprocess_exec("no-such-program-for-asyncio-tests", all_pipes);
    } catch (const asyncio::FileNotFoundError& e) {
      message = e.what();
      error = e.errno_value();
    }
  });
  EXPECT_EQ(error, ENOENT);
  EXPECT_NE(message.find("no-such-program-for-asyncio-tests"), std::string::npos) << message;
  EXPECT_EQ(open_descriptors(), before);  // the pipes made for it were closed
  EXPECT_TRUE(no_children());
}

TEST(Subprocess, AMissingProgramGivenByPathRaisesFileNotFoundError) {
  asyncio::run([]() -> Coro<void> {
    EXPECT_THROW(co_await asyncio::create_subprocess_exec("/nonexistent/dir/prog"), asyncio::FileNotFoundError);
  });
}

TEST(Subprocess, AFileThatIsNotExecutableRaisesPermissionError) {
  char path[] = "/tmp/asyncio-not-executable-XXXXXX";
  const int fd = ::mkstemp(path);  // mode 0600: no execute bit, which even root needs
  ASSERT_GE(fd, 0);
  ::close(fd);
  const std::string program = path;
  asyncio::run([&]() -> Coro<void> {
    EXPECT_THROW(co_await asyncio::create_subprocess_exec(program), asyncio::PermissionError);
  });
  ::unlink(path);
}

TEST(Subprocess, ToStdoutForStdinOrStdoutRaisesValueError) {
  asyncio::run([]() -> Coro<void> {
    EXPECT_THROW(co_await asyncio::create_subprocess_exec("true", ProcessOptions{.in = Stdio::to_stdout()}),
                 asyncio::ValueError);
    EXPECT_THROW(co_await asyncio::create_subprocess_exec("true", ProcessOptions{.out = Stdio::to_stdout()}),
                 asyncio::ValueError);
  });
  EXPECT_TRUE(no_children());
}

TEST(Subprocess, ANegativeFdRaisesValueErrorAndAClosedOneOSErrorEbadf) {
  asyncio::run([]() -> Coro<void> {
    EXPECT_THROW(co_await asyncio::create_subprocess_exec("true", ProcessOptions{.out = Stdio::fd(-3)}),
                 asyncio::ValueError);
    int error = 0;
    try {
      co_await asyncio::create_subprocess_exec("true", ProcessOptions{.out = Stdio::fd(1000000)});
    } catch (const asyncio::OSError& e) {
      error = e.errno_value();
    }
    EXPECT_EQ(error, EBADF);
  });
}

TEST(Subprocess, KillingAChildWhileWritingToItsStdinMakesDrainRaiseBrokenPipeError) {
  bool broken = false;
  asyncio::run([&]() -> Coro<void> {
    // sleep never reads its stdin: once the pipe is full the rest waits in the transport, and
    // drain() waits for it to be written.
    Process p = co_await asyncio::create_subprocess_exec("sleep", "100", stdin_pipe);
    asyncio::StreamWriter& in = *p.in();
    in.write(std::string(8 << 20, 'w'));
    auto draining = asyncio::create_task(in.drain()());
    co_await asyncio::sleep(0);
    EXPECT_FALSE(draining.done());
    p.kill();
    try {
      co_await draining;
    } catch (const asyncio::BrokenPipeError&) {
      broken = true;
    }
    EXPECT_TRUE(in.is_closing());
    EXPECT_EQ(co_await p.wait(), -SIGKILL);
  });
  EXPECT_TRUE(broken);  // and SIGPIPE did not end this process
  EXPECT_TRUE(no_children());
}

// --- cwd, env, sessions, groups, pass_fds (CPython's test_subprocess counterparts) -----------------

/// Field `n` (1-based) of /proc/<pid>/stat of the child, as the child itself prints it.
std::string stat_field_command(int n) { return "cut -d' ' -f" + std::to_string(n) + " /proc/$$/stat"; }

TEST(Subprocess, CwdRunsTheChildInThatDirectory) {
  asyncio::run([]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("sh", "-c", "pwd",
                                                         ProcessOptions{.out = Stdio::pipe(), .cwd = "/proc"});
    EXPECT_EQ((co_await p.communicate()).stdout_data, "/proc\n");
  });
}

TEST(Subprocess, AMissingCwdRaisesFileNotFoundErrorNamingTheDirectory) {
  asyncio::run([]() -> Coro<void> {
    std::string error;
    try {
      co_await asyncio::create_subprocess_exec("true", ProcessOptions{.cwd = "/no/such/directory"});
    } catch (const asyncio::FileNotFoundError& e) {
      error = e.what();
    }
    EXPECT_NE(error.find("/no/such/directory"), std::string::npos) << error;
  });
}

TEST(Subprocess, EnvReplacesTheWholeEnvironmentOfTheChild) {
  const std::map<std::string, std::string> env{{"ONLY", "this one"}};
  asyncio::run([&env]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("env", ProcessOptions{.out = Stdio::pipe(), .env = &env});
    EXPECT_EQ((co_await p.communicate()).stdout_data, "ONLY=this one\n");
  });
}

TEST(Subprocess, AnEnvNameWithAnEqualsSignRaisesValueError) {
  const std::map<std::string, std::string> env{{"A=B", "x"}};
  asyncio::run([&env]() -> Coro<void> {
    EXPECT_THROW(co_await asyncio::create_subprocess_exec("true", ProcessOptions{.env = &env}), asyncio::ValueError);
  });
}

TEST(Subprocess, StartNewSessionPutsTheChildInASessionItLeads) {
  asyncio::run([]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec(
        "sh", "-c", stat_field_command(6), ProcessOptions{.out = Stdio::pipe(), .start_new_session = true});
    EXPECT_EQ((co_await p.communicate()).stdout_data, std::to_string(p.pid()) + "\n");
    Process same = co_await asyncio::create_subprocess_exec("sh", "-c", stat_field_command(6),
                                                            ProcessOptions{.out = Stdio::pipe()});
    EXPECT_EQ((co_await same.communicate()).stdout_data, std::to_string(::getsid(0)) + "\n");
  });
}

TEST(Subprocess, ProcessGroupZeroMakesTheChildLeadANewGroup) {
  asyncio::run([]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("sh", "-c", stat_field_command(5),
                                                         ProcessOptions{.out = Stdio::pipe(), .process_group = 0});
    EXPECT_EQ((co_await p.communicate()).stdout_data, std::to_string(p.pid()) + "\n");
  });
}

TEST(Subprocess, PassFdsKeepsThoseDescriptorsOpenInTheChildUnderTheirNumbers) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);  // close-on-exec, as the library's own descriptors are
  const int passed[] = {fds[1]};
  asyncio::run([&]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("sh", "-c", "echo through >&" + std::to_string(fds[1]),
                                                         ProcessOptions{.pass_fds = passed});
    EXPECT_EQ(co_await p.wait(), 0);
  });
  ::close(fds[1]);
  char buffer[32] = {};
  EXPECT_EQ(::read(fds[0], buffer, sizeof buffer), 8);
  EXPECT_STREQ(buffer, "through\n");
  ::close(fds[0]);
}

TEST(Subprocess, PassFdsOfADescriptorThatIsNotOpenRaisesValueError) {
  const int passed[] = {987};
  asyncio::run([&]() -> Coro<void> {
    EXPECT_THROW(co_await asyncio::create_subprocess_exec("true", ProcessOptions{.pass_fds = passed}),
                 asyncio::ValueError);
  });
}

TEST(Subprocess, TheChildGetsNoOtherDescriptorByDefault) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);  // not close-on-exec
  const std::string probe = "test -e /proc/self/fd/" + std::to_string(fds[0]) + " && echo open || echo closed";
  asyncio::run([&]() -> Coro<void> {
    Process closed = co_await asyncio::create_subprocess_exec("sh", "-c", probe, ProcessOptions{.out = Stdio::pipe()});
    EXPECT_EQ((co_await closed.communicate()).stdout_data, "closed\n");
    Process kept = co_await asyncio::create_subprocess_exec("sh", "-c", probe,
                                                            ProcessOptions{.out = Stdio::pipe(), .close_fds = false});
    EXPECT_EQ((co_await kept.communicate()).stdout_data, "open\n");
  });
  ::close(fds[0]);
  ::close(fds[1]);
}

/// The bit of `sig` in a /proc/<pid>/status mask line ("SigBlk:\t0000000000000200").
bool status_mask_has(const std::string& status, const std::string& field, int sig) {
  const std::size_t at = status.find(field + ":");
  if (at == std::string::npos) return false;
  const unsigned long long mask = std::stoull(status.substr(at + field.size() + 1), nullptr, 16);
  return (mask >> (sig - 1)) & 1u;
}

TEST(Subprocess, TheChildInheritsNeitherTheLoopsBlockedSignalsNorTheIgnoredSigpipe) {
  asyncio::testing::SignalStateGuard guard(SIGUSR1);
  asyncio::run([]() -> Coro<void> {
    asyncio::get_running_loop().add_signal_handler(SIGUSR1, [] {});
    // A stdin pipe makes a write pipe transport, so SIGPIPE is ignored here from now on.
    Process p = co_await asyncio::create_subprocess_exec("grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status",
                                                         ProcessOptions{.in = Stdio::pipe(), .out = Stdio::pipe()});
    EXPECT_TRUE(asyncio::testing::blocked_here(SIGUSR1));
    EXPECT_TRUE(asyncio::testing::is_ignored(SIGPIPE));
    const std::string status = *(co_await p.communicate()).stdout_data;
    EXPECT_FALSE(status_mask_has(status, "SigBlk", SIGUSR1)) << status;
    EXPECT_FALSE(status_mask_has(status, "SigIgn", SIGPIPE)) << status;
  });
}

TEST(Subprocess, ClosingTheLoopKillsAndReapsAChildStillRunning) {
  Process p;
  {
    asyncio::EventLoop loop;
    p = loop.run_until_complete(asyncio::create_subprocess_exec("cat", stdin_pipe));
    EXPECT_EQ(p.returncode(), std::nullopt);
    loop.close();
    EXPECT_EQ(p.returncode(), -SIGKILL);
  }
  EXPECT_TRUE(no_children());
}

TEST(Subprocess, AnEmptyProcessHandleRaisesInvalidStateError) {
  Process p;
  EXPECT_THROW((void)p.pid(), asyncio::InvalidStateError);
  EXPECT_THROW(p.kill(), asyncio::InvalidStateError);
}

}  // namespace
