// add_reader / add_writer / remove_reader / remove_writer: descriptor readiness through the loop.
// Reference: CPython 3.13 Lib/asyncio/selector_events.py (_add_reader, _remove_reader) and
// Lib/test/test_asyncio/test_selector_events.py. Descriptors are socketpairs and pipes; data is
// written before the loop looks, so no test waits for anything.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>
#include <asyncio/os_error.hpp>

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "support/test_support.hpp"

namespace {

using asyncio::EventLoop;
using asyncio::testing::HandlerCapture;
using asyncio::testing::virtual_clock;

/// A connected pair of non-blocking Unix stream sockets, closed at scope exit.
struct SocketPair {
  int a = -1;
  int b = -1;
  SocketPair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) std::perror("socketpair");
    a = fds[0];
    b = fds[1];
  }
  ~SocketPair() {
    if (a >= 0) ::close(a);
    if (b >= 0) ::close(b);
  }
  SocketPair(const SocketPair&) = delete;
  SocketPair& operator=(const SocketPair&) = delete;
};

void send_byte(int fd) { ASSERT_EQ(::write(fd, "x", 1), 1); }

std::size_t drain(int fd) {
  char buf[256];
  std::size_t total = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return total;
    total += static_cast<std::size_t>(n);
  }
}

TEST(IoWatch, AReaderRunsOnceDataArrives) {
  EventLoop loop;
  SocketPair sp;
  int calls = 0;
  loop.add_reader(sp.a, [&] {
    ++calls;
    drain(sp.a);
  });
  loop.call_soon([] {});  // something ready, so that this iteration only looks and does not block
  loop.run_once();
  EXPECT_EQ(calls, 0);  // nothing to read yet
  send_byte(sp.b);
  loop.run_once();
  EXPECT_EQ(calls, 1);
  loop.remove_reader(sp.a);
}

TEST(IoWatch, ABusyIterationRightAfterAPollThatFoundADescriptorRunsWithoutPolling) {
  // The reader's work (here a callback it schedules, in a server a task its read woke) runs in
  // the next iteration without a zero-timeout poll first: one epoll_wait per request, not two.
  EventLoop loop;
  SocketPair sp;
  int follow_ups = 0;
  loop.add_reader(sp.a, [&] {
    drain(sp.a);
    loop.call_soon([&] { ++follow_ups; });
  });
  send_byte(sp.b);
  loop.run_once();  // polls, runs the reader
  const auto polls = loop.stats().polls;
  loop.run_once();  // runs the follow-up
  EXPECT_EQ(follow_ups, 1);
  EXPECT_EQ(loop.stats().polls, polls);
  loop.remove_reader(sp.a);
}

TEST(IoWatch, ABusyLoopStillPollsAtLeastEveryOtherIteration) {
  EventLoop loop;
  SocketPair sp;
  int reads = 0;
  loop.add_reader(sp.a, [&] {
    ++reads;
    drain(sp.a);
  });
  std::function<void()> spin = [&] { loop.call_soon(spin); };
  loop.call_soon(spin);
  send_byte(sp.b);
  loop.run_once();  // polls: the reader runs
  EXPECT_EQ(reads, 1);
  send_byte(sp.b);
  loop.run_once();  // a follow-up of that poll: busy, not polled
  loop.run_once();  // polls again
  EXPECT_EQ(reads, 2);
  loop.remove_reader(sp.a);
  loop.close();
}

TEST(IoWatch, AReaderRunsAgainInEachIterationWhileDataIsLeftUnread) {
  EventLoop loop;
  SocketPair sp;
  int calls = 0;
  loop.add_reader(sp.a, [&] { ++calls; });  // reads nothing: level-triggered, it stays ready
  send_byte(sp.b);
  loop.run_once();
  loop.run_once();
  loop.run_once();
  EXPECT_EQ(calls, 3);
  loop.remove_reader(sp.a);
}

TEST(IoWatch, AReaderGetsItsArguments) {
  EventLoop loop;
  SocketPair sp;
  std::vector<int> seen;
  loop.add_reader(
      sp.a,
      [&seen](int x, int y) {
        seen = {x, y};
      },
      4, 2);
  send_byte(sp.b);
  loop.run_once();
  EXPECT_EQ(seen, (std::vector<int>{4, 2}));
  loop.remove_reader(sp.a);
}

TEST(IoWatch, RemoveReaderStopsTheCallsAndReturnsTrue) {
  EventLoop loop;
  SocketPair sp;
  int calls = 0;
  loop.add_reader(sp.a, [&] { ++calls; });
  send_byte(sp.b);
  loop.run_once();
  EXPECT_TRUE(loop.remove_reader(sp.a));
  loop.call_soon([] {});  // so that run_once() does not block on the now unwatched descriptor
  loop.run_once();
  EXPECT_EQ(calls, 1);
}

TEST(IoWatch, RemoveReaderOfADescriptorNotWatchedReturnsFalse) {
  EventLoop loop;
  SocketPair sp;
  EXPECT_FALSE(loop.remove_reader(sp.a));
  EXPECT_FALSE(loop.remove_reader(-1));
  EXPECT_FALSE(loop.remove_reader(100000));
  loop.add_writer(sp.a, [] {});
  EXPECT_FALSE(loop.remove_reader(sp.a));  // a writer is not a reader
  EXPECT_TRUE(loop.remove_writer(sp.a));
  EXPECT_FALSE(loop.remove_writer(sp.a));
}

TEST(IoWatch, AddReaderReplacesThePreviousReaderAndReleasesIt) {
  EventLoop loop;
  SocketPair sp;
  auto token = std::make_shared<int>(0);
  int first = 0;
  int second = 0;
  loop.add_reader(sp.a, [&first, token] { ++first; });
  EXPECT_EQ(token.use_count(), 2);
  loop.add_reader(sp.a, [&second] { ++second; });
  EXPECT_EQ(token.use_count(), 1);
  send_byte(sp.b);
  loop.run_once();
  EXPECT_EQ(first, 0);
  EXPECT_EQ(second, 1);
  loop.remove_reader(sp.a);
}

TEST(IoWatch, AWriterRunsWhileTheDescriptorIsWritable) {
  EventLoop loop;
  SocketPair sp;
  int calls = 0;
  loop.add_writer(sp.a, [&] { ++calls; });
  loop.run_once();
  loop.run_once();
  EXPECT_EQ(calls, 2);
  EXPECT_TRUE(loop.remove_writer(sp.a));
}

TEST(IoWatch, AWriterDoesNotRunWhileTheSocketBufferIsFull) {
  EventLoop loop;
  SocketPair sp;
  const std::string chunk(65536, 'x');
  while (::write(sp.a, chunk.data(), chunk.size()) > 0) {
  }
  int calls = 0;
  loop.add_writer(sp.a, [&] { ++calls; });
  loop.call_soon([] {});
  loop.run_once();
  EXPECT_EQ(calls, 0);
  drain(sp.b);
  loop.run_once();
  EXPECT_EQ(calls, 1);
  loop.remove_writer(sp.a);
}

TEST(IoWatch, ReaderAndWriterOnOneDescriptorAreRemovedSeparately) {
  EventLoop loop;
  SocketPair sp;
  int reads = 0;
  int writes = 0;
  loop.add_reader(sp.a, [&] { ++reads; });
  loop.add_writer(sp.a, [&] { ++writes; });
  send_byte(sp.b);
  loop.run_once();
  EXPECT_EQ(reads, 1);
  EXPECT_EQ(writes, 1);
  EXPECT_TRUE(loop.remove_writer(sp.a));
  loop.run_once();
  EXPECT_EQ(reads, 2);
  EXPECT_EQ(writes, 1);
  EXPECT_TRUE(loop.remove_reader(sp.a));
}

TEST(IoWatch, AReaderRemovedByAnEarlierCallbackOfTheSameIterationDoesNotRun) {
  EventLoop loop;
  SocketPair first;
  SocketPair second;
  std::vector<std::string> order;
  // Both become ready in one poll; whichever runs first removes the other.
  loop.add_reader(first.a, [&] {
    order.push_back("first");
    loop.remove_reader(second.a);
  });
  loop.add_reader(second.a, [&] {
    order.push_back("second");
    loop.remove_reader(first.a);
  });
  send_byte(first.b);
  send_byte(second.b);
  loop.run_once();
  ASSERT_EQ(order.size(), 1u);
  loop.remove_reader(first.a);
  loop.remove_reader(second.a);
}

TEST(IoWatch, AReaderThatRemovesItselfWhileRunningKeepsItsCapturesUntilItReturns) {
  EventLoop loop;
  SocketPair sp;
  auto token = std::make_shared<int>(7);
  int seen = 0;
  loop.add_reader(sp.a, [&loop, &seen, &sp, token] {
    loop.remove_reader(sp.a);
    seen = *token;  // the closure is still alive
  });
  send_byte(sp.b);
  loop.run_once();
  EXPECT_EQ(seen, 7);
  EXPECT_EQ(token.use_count(), 1);  // released once it returned
}

TEST(IoWatch, AReaderThatThrowsGoesToTheExceptionHandlerAndTheLoopGoesOn) {
  EventLoop loop;
  HandlerCapture capture(loop);
  SocketPair sp;
  int calls = 0;
  loop.add_reader(sp.a, [&] {
    ++calls;
    throw std::runtime_error("reader failed");
  });
  send_byte(sp.b);
  loop.run_once();
  loop.run_once();
  EXPECT_EQ(calls, 2);
  ASSERT_EQ(capture.contexts().size(), 2u);
  EXPECT_EQ(capture.contexts()[0].message, "Exception in callback");
  loop.remove_reader(sp.a);
}

TEST(IoWatch, AddReaderOfANegativeDescriptorRaisesValueError) {
  EventLoop loop;
  EXPECT_THROW(loop.add_reader(-1, [] {}), asyncio::ValueError);
  EXPECT_THROW(loop.add_writer(-5, [] {}), asyncio::ValueError);
}

TEST(IoWatch, AddReaderOfARegularFileRaisesPermissionError) {
  EventLoop loop;
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  EXPECT_THROW(loop.add_reader(::fileno(file), [] {}), asyncio::PermissionError);
  std::fclose(file);
}

TEST(IoWatch, AddReaderOfAClosedDescriptorRaisesOSErrorAndLeavesNothingWatched) {
  EventLoop loop;
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  ::close(fds[0]);
  ::close(fds[1]);
  try {
    loop.add_reader(fds[0], [] {});
    ADD_FAILURE() << "no exception";
  } catch (const asyncio::OSError& e) {
    EXPECT_EQ(e.errno_value(), EBADF);
  }
  EXPECT_FALSE(loop.remove_reader(fds[0]));
}

TEST(IoWatch, ADescriptorClosedWithoutRemovalCanBeWatchedAgainUnderItsReusedNumber) {
  EventLoop loop;
  int number = -1;
  {
    SocketPair sp;
    loop.add_reader(sp.a, [] {});
    number = sp.a;
  }  // closed while watched: the kernel forgets it
  EXPECT_TRUE(loop.remove_reader(number));
  SocketPair again;  // most likely reuses the number
  int calls = 0;
  loop.add_reader(again.a, [&] { ++calls; });
  send_byte(again.b);
  loop.run_once();
  EXPECT_EQ(calls, 1);
  loop.remove_reader(again.a);
}

TEST(IoWatch, AWatchedDescriptorReplacedBehindTheLoopsBackIsWatchedAgainByAddReader) {
  EventLoop loop;
  SocketPair old_pair;
  loop.add_reader(old_pair.a, [] {});
  const int number = old_pair.a;
  SocketPair fresh;     // made first, so that its numbers differ from `number`
  ::close(old_pair.a);  // the kernel forgets it; the loop still thinks it is watched
  old_pair.a = -1;
  ASSERT_EQ(::dup2(fresh.a, number), number);
  int calls = 0;
  loop.add_reader(number, [&] { ++calls; });  // MOD of an unknown fd falls back to ADD
  send_byte(fresh.b);
  loop.run_once();
  EXPECT_EQ(calls, 1);
  loop.remove_reader(number);
  ::close(number);
}

TEST(IoWatch, AddReaderOnAClosedLoopRaisesRuntimeErrorAndRemoveReaderReturnsFalse) {
  EventLoop loop;
  SocketPair sp;
  loop.add_reader(sp.a, [] {});
  loop.close();
  EXPECT_THROW(loop.add_reader(sp.a, [] {}), asyncio::RuntimeError);
  EXPECT_FALSE(loop.remove_reader(sp.a));
}

TEST(IoWatch, ClosingTheLoopReleasesTheCallbacksCaptures) {
  auto token = std::make_shared<int>(0);
  SocketPair sp;
  {
    EventLoop loop;
    loop.add_reader(sp.a, [token] {});
    loop.add_writer(sp.b, [token] {});
    EXPECT_EQ(token.use_count(), 3);
    loop.close();
    EXPECT_EQ(token.use_count(), 1);
  }
}

TEST(IoWatch, OnTheVirtualClockAReadyDescriptorRunsBeforeTimeJumpsToTheNextTimer) {
  EventLoop loop(virtual_clock());
  SocketPair sp;
  double read_at = -1;
  loop.add_reader(sp.a, [&] {
    read_at = loop.time();
    drain(sp.a);
  });
  loop.call_later(10.0, [&] { loop.stop(); });
  send_byte(sp.b);
  loop.run_forever();
  EXPECT_DOUBLE_EQ(read_at, 0.0);
  EXPECT_DOUBLE_EQ(loop.time(), 10.0);
  loop.remove_reader(sp.a);
}

TEST(IoWatch, ATaskWaitingOnAReaderFutureResumesWhenDataArrives) {
  // The pattern of every sock_* coroutine: a Future completed by a reader callback.
  SocketPair sp;
  const std::size_t got = asyncio::run([&]() -> asyncio::Coro<std::size_t> {
    EventLoop& loop = asyncio::get_running_loop();
    auto readable = loop.create_future<void>();
    loop.add_reader(sp.a, [&] {
      loop.remove_reader(sp.a);
      readable.set_result();
    });
    loop.call_soon([&] { send_byte(sp.b); });
    co_await readable;
    co_return drain(sp.a);
  });
  EXPECT_EQ(got, 1u);
}

}  // namespace
