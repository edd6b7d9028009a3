// ReadPipe / WritePipe / open_pipe: pipe ends read and written through add_reader/add_writer.
// Both ends live in this process and this loop, so no test waits for anything outside it.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>
#include <asyncio/os_error.hpp>
#include <asyncio/process/pipe.hpp>

#include <cstdlib>
#include <string>

#include "process/signal_test_support.hpp"
#include "support/test_support.hpp"

namespace {

using asyncio::Coro;
using asyncio::ReadPipe;
using asyncio::WritePipe;

TEST(Pipe, WhatIsWrittenIsReadBack) {
  const std::string got = asyncio::run([]() -> Coro<std::string> {
    auto [r, w] = asyncio::open_pipe();
    co_await w.write_all("hello");
    co_return co_await r.read(100);
  });
  EXPECT_EQ(got, "hello");
}

TEST(Pipe, ReadReturnsAtMostNBytes) {
  const std::string got = asyncio::run([]() -> Coro<std::string> {
    auto [r, w] = asyncio::open_pipe();
    co_await w.write_all("abcdef");
    std::string first = co_await r.read(4);
    std::string rest = co_await r.read(100);
    co_return first + "|" + rest;
  });
  EXPECT_EQ(got, "abcd|ef");
}

TEST(Pipe, ReadReturnsAnEmptyStringAtEof) {
  const std::string got = asyncio::run([]() -> Coro<std::string> {
    auto [r, w] = asyncio::open_pipe();
    w.close();
    co_return co_await r.read(10);
  });
  EXPECT_EQ(got, "");
}

TEST(Pipe, AReadWaitsUntilAnotherTaskWrites) {
  const std::string got = asyncio::run([]() -> Coro<std::string> {
    auto [r, w] = asyncio::open_pipe();
    auto writer = [](WritePipe pipe) -> Coro<void> { co_await pipe.write_all("late"); };
    auto task = asyncio::create_task(writer(w));
    std::string data = co_await r.read(10);  // suspends: nothing written yet
    co_await task;
    co_return data;
  });
  EXPECT_EQ(got, "late");
}

TEST(Pipe, ReadAllReadsUntilTheWriterCloses) {
  const std::size_t size = asyncio::run([]() -> Coro<std::size_t> {
    auto [r, w] = asyncio::open_pipe();
    // More than the pipe holds (64 KiB): the writer waits for the reader several times.
    auto writer = [](WritePipe pipe) -> Coro<void> {
      co_await pipe.write_all(std::string(1 << 20, 'x'));
      pipe.close();
    };
    auto task = asyncio::create_task(writer(w));
    w = WritePipe();  // the task holds the only handle: closing it there gives EOF
    std::string all = co_await r.read_all();
    co_await task;
    co_return all.size();
  });
  EXPECT_EQ(size, std::size_t{1} << 20);
}

TEST(Pipe, WritingToAPipeWhoseReaderIsClosedRaisesBrokenPipeError) {
  bool broken = false;
  asyncio::run([&]() -> Coro<void> {
    auto [r, w] = asyncio::open_pipe();
    r.close();
    try {
      co_await w.write_all("nobody reads this");
    } catch (const asyncio::BrokenPipeError& e) {
      broken = e.errno_value() == EPIPE;
    }
  });
  EXPECT_TRUE(broken);  // and the process was not killed by SIGPIPE
}

TEST(Pipe, AWriterWaitingOnAFullPipeGetsBrokenPipeErrorWhenTheReaderCloses) {
  bool broken = false;
  asyncio::run([&]() -> Coro<void> {
    auto [r, w] = asyncio::open_pipe();
    auto writer = [](WritePipe pipe) -> Coro<void> { co_await pipe.write_all(std::string(1 << 20, 'x')); };
    auto task = asyncio::create_task(writer(w));
    co_await asyncio::sleep(0);  // the writer fills the pipe and waits
    EXPECT_FALSE(task.done());
    r.close();
    try {
      co_await task;
    } catch (const asyncio::BrokenPipeError&) {
      broken = true;
    }
  });
  EXPECT_TRUE(broken);
}

TEST(Pipe, MakingAWritePipeIgnoresSigpipeIfItHadItsDefaultDisposition) {
  // Checked in a fresh process (the library changes SIGPIPE once per process), which inherits
  // SIG_IGN through exec if this one ignores SIGPIPE already: the default is set first.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ::signal(SIGPIPE, SIG_DFL);
        auto ends = asyncio::open_pipe();
        std::_Exit(asyncio::testing::is_ignored(SIGPIPE) ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(Pipe, AHandlerTheProgramSetForSigpipeIsLeftAlone) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ::signal(SIGPIPE, [](int) {});
        auto ends = asyncio::open_pipe();
        std::_Exit(asyncio::testing::is_ignored(SIGPIPE) ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(Pipe, BothEndsAreNonBlockingAndCloseOnExec) {
  auto [r, w] = asyncio::open_pipe();
  for (int fd : {r.fileno(), w.fileno()}) {
    EXPECT_NE(::fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    EXPECT_NE(::fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
  }
}

TEST(Pipe, AdoptingADescriptorMakesItNonBlockingAndCloseOnExec) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ReadPipe r(fds[0]);
  WritePipe w(fds[1]);
  EXPECT_NE(::fcntl(r.fileno(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(::fcntl(w.fileno(), F_GETFD) & FD_CLOEXEC, 0);
}

TEST(Pipe, AdoptingADescriptorThatIsNotOpenRaisesOSErrorEbadf) {
  try {
    ReadPipe r(1000000);
    ADD_FAILURE() << "no exception";
  } catch (const asyncio::OSError& e) {
    EXPECT_EQ(e.errno_value(), EBADF);
  }
}

TEST(Pipe, CloseClosesTheDescriptorAndIsIdempotent) {
  auto [r, w] = asyncio::open_pipe();
  const int fd = r.fileno();
  r.close();
  EXPECT_TRUE(r.is_closed());
  EXPECT_EQ(r.fileno(), -1);
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);
  r.close();
}

TEST(Pipe, TheDescriptorIsClosedWhenTheLastHandleGoes) {
  int fd = -1;
  {
    auto [r, w] = asyncio::open_pipe();
    fd = w.fileno();
    WritePipe copy = w;
    w = WritePipe();
    EXPECT_NE(::fcntl(fd, F_GETFD), -1);  // the copy keeps it
  }
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);
}

TEST(Pipe, ReadingAClosedPipeRaisesOSErrorEbadf) {
  int error = 0;
  asyncio::run([&]() -> Coro<void> {
    auto [r, w] = asyncio::open_pipe();
    r.close();
    try {
      co_await r.read(1);
    } catch (const asyncio::OSError& e) {
      error = e.errno_value();
    }
  });
  EXPECT_EQ(error, EBADF);
}

TEST(Pipe, ClosingThePipeWakesAWaitingReadWithOSErrorEbadf) {
  int error = 0;
  asyncio::run([&]() -> Coro<void> {
    auto [r, w] = asyncio::open_pipe();
    auto reader = [](ReadPipe pipe) -> Coro<std::string> { co_return co_await pipe.read(10); };
    auto task = asyncio::create_task(reader(r));
    co_await asyncio::sleep(0);  // the read waits
    r.close();
    try {
      co_await task;
    } catch (const asyncio::OSError& e) {
      error = e.errno_value();
    }
  });
  EXPECT_EQ(error, EBADF);
}

TEST(Pipe, ASecondConcurrentReadRaisesRuntimeError) {
  bool refused = false;
  asyncio::run([&]() -> Coro<void> {
    auto [r, w] = asyncio::open_pipe();
    auto reader = [](ReadPipe pipe) -> Coro<std::string> { co_return co_await pipe.read(10); };
    auto first = asyncio::create_task(reader(r));
    co_await asyncio::sleep(0);
    try {
      co_await r.read(10);
    } catch (const asyncio::RuntimeError&) {
      refused = true;
    }
    co_await w.write_all("x");
    const std::string got = co_await first;
    EXPECT_EQ(got, "x");
  });
  EXPECT_TRUE(refused);
}

TEST(Pipe, ACancelledReadLeavesThePipeUsable) {
  const std::string got = asyncio::run([]() -> Coro<std::string> {
    auto [r, w] = asyncio::open_pipe();
    auto reader = [](ReadPipe pipe) -> Coro<std::string> { co_return co_await pipe.read(10); };
    auto task = asyncio::create_task(reader(r));
    co_await asyncio::sleep(0);
    task.cancel();
    try {
      co_await task;
    } catch (const asyncio::CancelledError&) {
    }
    EXPECT_FALSE(asyncio::get_running_loop().remove_reader(r.fileno()));  // no longer watched
    co_await w.write_all("after");
    co_return co_await r.read(10);
  });
  EXPECT_EQ(got, "after");
}

TEST(Pipe, DetachGivesTheDescriptorUpWithoutClosingIt) {
  auto [r, w] = asyncio::open_pipe();
  const int fd = w.detach();
  EXPECT_TRUE(w.is_closed());
  EXPECT_NE(::fcntl(fd, F_GETFD), -1);
  ::close(fd);
  EXPECT_EQ(w.detach(), -1);
}

TEST(Pipe, AnEmptyHandleIsClosed) {
  ReadPipe r;
  EXPECT_TRUE(r.is_closed());
  int error = 0;
  asyncio::run([&]() -> Coro<void> {
    try {
      co_await r.read_all();
    } catch (const asyncio::OSError& e) {
      error = e.errno_value();
    }
  });
  EXPECT_EQ(error, EBADF);
}

}  // namespace
