// A child's pipes as streams: Process::in() (StreamWriter), out() and err() (StreamReader), wait()
// waiting for the pipe transports (CPython 3.12+), communicate() over the streams, and the faults:
// a child killed while we write to it. Reference: CPython 3.13 Lib/asyncio/subprocess.py,
// base_subprocess.py and Lib/test/test_asyncio/test_subprocess.py (test_stdin_stdout,
// test_communicate, test_broken_pipe, test_stdin_broken_pipe, test_pause_reading,
// test_read_stdout_after_process_exit). Loops run on the monotonic clock (the children are other
// processes); waiting for a condition is one loop iteration per round, never a sleep.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <asyncio/net/stream_writer.hpp>
#include <asyncio/os_error.hpp>
#include <asyncio/process/process.hpp>

#include <filesystem>
#include <functional>
#include <string>

#include "support/test_support.hpp"

namespace {

using asyncio::CommunicateResult;
using asyncio::Coro;
using asyncio::Process;
using asyncio::ProcessOptions;
using asyncio::Stdio;

constexpr ProcessOptions in_out{.in = Stdio::pipe(), .out = Stdio::pipe()};
constexpr ProcessOptions all_pipes{.in = Stdio::pipe(), .out = Stdio::pipe(), .err = Stdio::pipe()};

bool no_children() {
  siginfo_t info{};
  return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == -1 && errno == ECHILD;
}

int open_descriptors() {
  int n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

Coro<void> until(std::function<bool()> done) {
  while (!done()) co_await asyncio::sleep(0);
}

/// asyncio::run of `body`, failing with TimeoutError after 30 s instead of hanging.
template <class F>
void run_io(F body) {
  asyncio::run([body = std::move(body)]() mutable -> Coro<void> { co_await asyncio::wait_for(body(), 30.0); });
}

// --- the streams ---------------------------------------------------------------------------------

TEST(SubprocessStreams, StdoutIsAStreamReaderReadLineByLine) {
  run_io([]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("seq", "1", "3", ProcessOptions{.out = Stdio::pipe()});
    EXPECT_EQ(p.in(), nullptr);
    EXPECT_EQ(p.err(), nullptr);
    std::string lines;
    for (std::string line; !(line = co_await p.out()->readline()).empty();) lines += "[" + line + "]";
    EXPECT_EQ(lines, "[1\n][2\n][3\n]");
    EXPECT_EQ(co_await p.wait(), 0);
  });
}

TEST(SubprocessStreams, StdinIsAStreamWriterAndClosingItGivesTheChildEof) {
  run_io([]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("tr", "a-z", "A-Z", in_out);
    p.in()->write("shout\n");
    p.in()->writelines({"louder", "\n"});
    co_await p.in()->drain();
    p.in()->close();
    co_await p.in()->wait_closed();
    EXPECT_EQ(co_await p.out()->read(), "SHOUT\nLOUDER\n");
    EXPECT_EQ(co_await p.wait(), 0);
  });
}

TEST(SubprocessStreams, StderrIsAStreamReaderOfItsOwn) {
  run_io([]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("sh", "-c", "echo out; echo err >&2",
                                                         ProcessOptions{.out = Stdio::pipe(), .err = Stdio::pipe()});
    EXPECT_EQ(co_await p.err()->read(), "err\n");
    EXPECT_EQ(co_await p.out()->read(), "out\n");
    EXPECT_EQ(co_await p.wait(), 0);
  });
}

TEST(SubprocessStreams, TheLimitOptionIsTheReadersLineLimit) {
  run_io([]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("sh", "-c", "echo 0123456789abcdef",
                                                         ProcessOptions{.out = Stdio::pipe(), .limit = 8});
    EXPECT_THROW(co_await p.out()->readline(), asyncio::ValueError);  // longer than the limit
    co_await p.communicate();
    EXPECT_EQ(p.returncode(), 0);
  });
}

TEST(SubprocessStreams, ALimitOfZeroRaisesValueErrorAndStartsNoChild) {
  run_io([]() -> Coro<void> {
    EXPECT_THROW(co_await asyncio::create_subprocess_exec("true", ProcessOptions{.out = Stdio::pipe(), .limit = 0}),
                 asyncio::ValueError);
  });
  EXPECT_TRUE(no_children());
}

TEST(SubprocessStreams, TheOutputCanBeReadAfterTheChildExited) {
  run_io([]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("echo", "late", ProcessOptions{.out = Stdio::pipe()});
    co_await until([&] { return p.returncode().has_value(); });
    EXPECT_EQ(co_await p.out()->read(), "late\n");
  });
}

TEST(SubprocessStreams, CommunicateReturnsWhatWasNotReadYet) {
  run_io([]() -> Coro<void> {
    Process p =
        co_await asyncio::create_subprocess_exec("printf", "a\\nb\\nc\\n", ProcessOptions{.out = Stdio::pipe()});
    EXPECT_EQ(co_await p.out()->readline(), "a\n");
    CommunicateResult r = co_await p.communicate();
    EXPECT_EQ(r.stdout_data, "b\nc\n");
  });
}

TEST(SubprocessStreams, CommunicateAfterStdinWasClosedFeedsNothing) {
  run_io([]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("cat", in_out);
    p.in()->write("before\n");
    p.in()->close();
    CommunicateResult r = co_await p.communicate("ignored\n");
    EXPECT_EQ(r.stdout_data, "before\n");
    EXPECT_EQ(p.returncode(), 0);
  });
}

TEST(SubprocessStreams, StdinDrainWaitsWhileTheChildReadsSlowly) {
  run_io([]() -> Coro<void> {
    // wc reads everything; more than the pipe and the high-water mark hold.
    Process p = co_await asyncio::create_subprocess_exec("wc", "-c", in_out);
    const std::string chunk(256 * 1024, 'c');
    for (int i = 0; i < 8; ++i) {
      p.in()->write(chunk);
      co_await p.in()->drain();
      EXPECT_LE(p.in()->transport()->get_write_buffer_size(), 64u * 1024u);
    }
    p.in()->close();
    EXPECT_EQ(co_await p.out()->read(), std::to_string(8 * chunk.size()) + "\n");
    EXPECT_EQ(co_await p.wait(), 0);
  });
}

// --- wait() waits for the pipes (CPython 3.12+) --------------------------------------------------

TEST(SubprocessStreams, AfterWaitTheWholeOutputIsInTheReader) {
  run_io([]() -> Coro<void> {
    Process p =
        co_await asyncio::create_subprocess_exec("sh", "-c", "echo a; echo b", ProcessOptions{.out = Stdio::pipe()});
    EXPECT_EQ(co_await p.wait(), 0);
    EXPECT_EQ(p.out()->buffered(), "a\nb\n");  // read by the transport before wait() returned
    EXPECT_EQ(co_await p.out()->read(), "a\nb\n");
    EXPECT_TRUE(p.out()->at_eof());
  });
}

TEST(SubprocessStreams, WaitAlsoWaitsForAPausedStdoutToReachEof) {
  run_io([]() -> Coro<void> {
    // A limit of 16: the reader pauses its transport above 32 bytes; the child's 1000 bytes fit in
    // the pipe, so it exits while most of its output is still unread.
    Process p = co_await asyncio::create_subprocess_exec("head", "-c", "1000", "/dev/zero",
                                                         ProcessOptions{.out = Stdio::pipe(), .limit = 16});
    auto waiting = asyncio::create_task(p.wait());
    co_await until([&] { return p.returncode().has_value(); });
    for (int i = 0; i < 5; ++i) co_await asyncio::sleep(0);
    EXPECT_FALSE(waiting.done());  // the stdout pipe has not reached EOF
    EXPECT_EQ((co_await p.out()->read()).size(), 1000u);
    EXPECT_EQ(co_await waiting, 0);
  });
}

TEST(SubprocessStreams, WaitReturnsWhenTheChildExitsWithoutReadingAnOpenStdin) {
  run_io([]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("true", ProcessOptions{.in = Stdio::pipe()});
    // Nobody closes in(): the transport sees the reading end go away with the child.
    EXPECT_EQ(co_await p.wait(), 0);
    EXPECT_TRUE(p.in()->is_closing());
  });
}

TEST(SubprocessStreams, ReturncodeIsSetBeforeThePipesAreClosed) {
  run_io([]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("head", "-c", "1000", "/dev/zero",
                                                         ProcessOptions{.out = Stdio::pipe(), .limit = 16});
    co_await until([&] { return p.returncode().has_value(); });
    EXPECT_EQ(p.returncode(), 0);
    EXPECT_FALSE(p.out()->at_eof());
    co_await p.communicate();
  });
}

// --- faults --------------------------------------------------------------------------------------

TEST(SubprocessStreams, AChildKilledMidWriteEndsTheStdinWriterWithBrokenPipeError) {
  run_io([]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("sleep", "100", ProcessOptions{.in = Stdio::pipe()});
    p.in()->write(std::string(4 << 20, 'k'));  // far more than the pipe holds: buffered
    EXPECT_GT(p.in()->transport()->get_write_buffer_size(), 0u);
    p.kill();
    bool broken = false;
    try {
      co_await p.in()->wait_closed();  // connection_lost(BrokenPipeError)
    } catch (const asyncio::BrokenPipeError&) {
      broken = true;
    }
    EXPECT_TRUE(broken);
    EXPECT_THROW(co_await p.in()->drain(), asyncio::ConnectionError);  // the reader is gone for good
    EXPECT_NO_THROW(p.in()->write("dropped"));                         // as CPython: dropped
    EXPECT_EQ(co_await p.wait(), -SIGKILL);
  });
  EXPECT_TRUE(no_children());
}

TEST(SubprocessStreams, CommunicateWithAChildKilledMidWriteReturnsWithoutError) {
  run_io([]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("sleep", "100", all_pipes);
    auto killer = asyncio::create_task([](Process child) -> Coro<void> {
      for (int i = 0; i < 3; ++i) co_await asyncio::sleep(0);
      child.kill();
    }(p));
    CommunicateResult r = co_await p.communicate(std::string(8 << 20, 'x'));  // BrokenPipeError inside
    co_await killer;
    EXPECT_EQ(r.stdout_data, "");
    EXPECT_EQ(r.stderr_data, "");
    EXPECT_EQ(p.returncode(), -SIGKILL);
  });
  EXPECT_TRUE(no_children());
}

TEST(SubprocessStreams, AChildKilledWhileWeReadItsOutputGivesEofAndTheSignal) {
  run_io([]() -> Coro<void> {
    Process p = co_await asyncio::create_subprocess_exec("sh", "-c", "echo started; exec sleep 100",
                                                         ProcessOptions{.out = Stdio::pipe()});
    EXPECT_EQ(co_await p.out()->readline(), "started\n");
    p.terminate();
    EXPECT_EQ(co_await p.out()->read(), "");  // EOF: the child's end closed with it
    EXPECT_EQ(co_await p.wait(), -SIGTERM);
  });
}

TEST(SubprocessStreams, CancellingCreateSubprocessWhileItConnectsThePipesKillsTheChild) {
  const int before = open_descriptors();
  run_io([]() -> Coro<void> {
    auto starting = asyncio::create_task(asyncio::create_subprocess_exec("cat", all_pipes));
    co_await asyncio::sleep(0);  // the child exists; its stdin transport waits for connection_made
    EXPECT_FALSE(starting.done());
    starting.cancel();
    EXPECT_THROW(co_await starting, asyncio::CancelledError);
    for (int i = 0; i < 3; ++i) co_await asyncio::sleep(0);  // the closed transports let go
  });
  EXPECT_TRUE(no_children());
  EXPECT_EQ(open_descriptors(), before);
}

TEST(SubprocessStreams, ClosingTheLoopWithPipesOpenKillsTheChildAndClosesThePipes) {
  Process p;
  {
    asyncio::EventLoop loop;
    p = loop.run_until_complete(asyncio::create_subprocess_exec("cat", all_pipes));
    p.in()->write("unread");
    loop.close();
    EXPECT_EQ(p.returncode(), -SIGKILL);
    EXPECT_TRUE(p.in()->is_closing());  // the transport was abandoned with the loop
  }
  EXPECT_TRUE(no_children());
}

}  // namespace
