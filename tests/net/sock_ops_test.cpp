// sock_recv, sock_recv_into, sock_sendall, sock_connect, sock_accept, sock_recvfrom, sock_sendto.
// Reference: CPython 3.13 Lib/asyncio/selector_events.py and Lib/test/test_asyncio/
// test_sock_lowlevel.py. Peers are in the same loop (loopback TCP/UDP, Unix sockets, socketpairs),
// on the monotonic clock through asyncio::run; no test sleeps: `co_await sleep(0)` only lets
// another task take its step.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>
#include <asyncio/net/sock_ops.hpp>
#include <asyncio/os_error.hpp>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>

#include "support/test_support.hpp"

namespace {

using asyncio::CancelledError;
using asyncio::Coro;
using asyncio::create_task;
using asyncio::EventLoop;
using asyncio::get_running_loop;
using asyncio::OSError;
using asyncio::sleep;
using asyncio::Socket;
using asyncio::SocketAddress;

std::size_t open_descriptors() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

Socket listening_socket(int family = AF_INET, const char* host = "127.0.0.1") {
  Socket s(family, SOCK_STREAM);
  s.set_reuse_address();
  s.bind(SocketAddress(host, 0));
  s.listen();
  return s;
}

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 23);
  return s;
}

/// Awaits a task expected to end cancelled; true if it did.
template <class T>
Coro<bool> ended_cancelled(asyncio::Task<T> task) {
  try {
    co_await task;
  } catch (const CancelledError&) {
    co_return true;
  }
  co_return false;
}

/// A connected client/server pair over `server` (which must listen), made with sock_* alone.
Coro<std::pair<Socket, Socket>> connect_pair(Socket& server, int family) {
  auto accepting = create_task(asyncio::sock_accept(server));
  Socket client(family, SOCK_STREAM);
  co_await asyncio::sock_connect(client, server.getsockname());
  auto [conn, peer] = co_await std::move(accepting);
  EXPECT_EQ(peer, client.getsockname());
  co_return std::pair{std::move(client), std::move(conn)};
}

/// Sends `request` from `a`, reads it on `b`, answers `reply`, reads it on `a`.
Coro<void> ping_pong(Socket& a, Socket& b, std::string request, std::string reply) {
  co_await asyncio::sock_sendall(a, request);
  const std::string got_request = co_await asyncio::sock_recv(b, 1000);
  EXPECT_EQ(got_request, request);
  co_await asyncio::sock_sendall(b, reply);
  const std::string got_reply = co_await asyncio::sock_recv(a, 1000);
  EXPECT_EQ(got_reply, reply);
}

TEST(SockOps, AServerAndAClientOnLoopbackExchangeDataAndLeaveNoDescriptorOpen) {
  const std::size_t before = open_descriptors();
  asyncio::run([]() -> Coro<void> {
    Socket server = listening_socket();
    auto [client, conn] = co_await connect_pair(server, AF_INET);
    EXPECT_EQ(conn.getpeername(), client.getsockname());
    EXPECT_EQ(client.getpeername(), server.getsockname());
    co_await ping_pong(client, conn, "ping", "pong");
  });
  EXPECT_EQ(open_descriptors(), before);
}

TEST(SockOps, SockAcceptGivesANonBlockingCloseOnExecSocket) {
  asyncio::run([]() -> Coro<void> {
    Socket server = listening_socket();
    auto [client, conn] = co_await connect_pair(server, AF_INET);
    EXPECT_NE(::fcntl(conn.fileno(), F_GETFL) & O_NONBLOCK, 0);
    EXPECT_NE(::fcntl(conn.fileno(), F_GETFD) & FD_CLOEXEC, 0);
    EXPECT_EQ(conn.family(), AF_INET);
    EXPECT_EQ(conn.type(), SOCK_STREAM);
  });
}

TEST(SockOps, SockRecvWaitsUntilThePeerSends) {
  asyncio::run([]() -> Coro<void> {
    auto pair = Socket::socketpair();
    auto receiving = create_task(asyncio::sock_recv(pair.first, 100));
    co_await sleep(0);  // it tried, found nothing, and waits
    EXPECT_FALSE(receiving.done());
    co_await asyncio::sock_sendall(pair.second, "late");
    const std::string got = co_await std::move(receiving);
    EXPECT_EQ(got, "late");
  });
}

TEST(SockOps, SockRecvGivesAnEmptyStringAtEndOfStream) {
  asyncio::run([]() -> Coro<void> {
    auto pair = Socket::socketpair();
    auto receiving = create_task(asyncio::sock_recv(pair.first, 100));
    co_await sleep(0);
    pair.second.close();
    const std::string got = co_await std::move(receiving);
    EXPECT_EQ(got, "");
    const std::string again = co_await asyncio::sock_recv(pair.first, 100);
    EXPECT_EQ(again, "");
  });
}

TEST(SockOps, SockRecvOnAClosedSocketRaisesOSErrorEbadf) {
  asyncio::run([]() -> Coro<void> {
    auto pair = Socket::socketpair();
    pair.first.close();
    int err = 0;
    try {
      (void)co_await asyncio::sock_recv(pair.first, 100);
    } catch (const OSError& e) {
      err = e.errno_value();
    }
    EXPECT_EQ(err, EBADF);
  });
}

TEST(SockOps, SockRecvIntoFillsTheCallersBufferAndReturnsTheCount) {
  asyncio::run([]() -> Coro<void> {
    auto pair = Socket::socketpair();
    std::array<char, 4> buf{};
    auto receiving = create_task(asyncio::sock_recv_into(pair.first, buf));
    co_await sleep(0);
    EXPECT_FALSE(receiving.done());
    co_await asyncio::sock_sendall(pair.second, "abcdef");
    const std::size_t first = co_await std::move(receiving);
    EXPECT_EQ(first, 4u);
    EXPECT_EQ(std::string(buf.data(), 4), "abcd");
    const std::size_t second = co_await asyncio::sock_recv_into(pair.first, buf);
    EXPECT_EQ(second, 2u);
    EXPECT_EQ(std::string(buf.data(), 2), "ef");
  });
}

TEST(SockOps, SockSendallOfFourMebibytesSuspendsOnAFullBufferAndFinishesAsASlowPeerReads) {
  asyncio::run([]() -> Coro<void> {
    EventLoop& loop = get_running_loop();
    auto pair = Socket::socketpair();
    const std::string data = pattern(4 << 20);
    auto sending = create_task(asyncio::sock_sendall(pair.first, data));
    co_await sleep(0);
    EXPECT_FALSE(sending.done());  // the socket buffer (~200 KiB) is full: the sender waits
    std::string received;
    std::size_t reads = 0;
    while (received.size() < data.size()) {
      const std::string chunk = co_await asyncio::sock_recv(pair.second, 65536);
      if (chunk.empty()) break;
      received += chunk;
      ++reads;
      co_await sleep(0);  // slow: at most one read per loop iteration
    }
    co_await sending;
    EXPECT_EQ(received.size(), data.size());
    EXPECT_TRUE(received == data);
    EXPECT_GE(reads, 64u);
    EXPECT_FALSE(loop.remove_writer(pair.first.fileno()));  // nothing left watching
  });
}

TEST(SockOps, SockSendallOfATemporaryStringAwaitedInTheSameExpressionKeepsItAlive) {
  asyncio::run([]() -> Coro<void> {
    auto pair = Socket::socketpair();
    constexpr std::size_t kSize = 1 << 20;  // more than the socket buffer: the send must suspend
    Socket& reader_end = pair.second;
    auto reading = create_task([&reader_end]() -> Coro<std::string> {
      std::string all;
      while (all.size() < kSize) {
        const std::string chunk = co_await asyncio::sock_recv(reader_end, 65536);
        if (chunk.empty()) break;
        all += chunk;
      }
      co_return all;
    });
    co_await asyncio::sock_sendall(pair.first, std::string(kSize, 'z'));
    const std::string all = co_await std::move(reading);
    EXPECT_EQ(all.size(), kSize);
    EXPECT_EQ(all.find_first_not_of('z'), std::string::npos);
  });
}

TEST(SockOps, SockConnectToAClosedPortRaisesConnectionRefusedErrorNamingTheAddress) {
  asyncio::run([]() -> Coro<void> {
    Socket bound(AF_INET, SOCK_STREAM);  // bound but not listening: the port answers with a reset
    bound.bind(SocketAddress("127.0.0.1", 0));
    const SocketAddress target = bound.getsockname();
    Socket client(AF_INET, SOCK_STREAM);
    std::string text = "no ConnectionRefusedError";
    try {
      co_await asyncio::sock_connect(client, target);
    } catch (const asyncio::ConnectionRefusedError& e) {
      text = e.what();
    }
    EXPECT_NE(text.find("connect(" + target.to_string() + ")"), std::string::npos) << text;
    EXPECT_NE(text.find("Connection refused"), std::string::npos) << text;
  });
}

TEST(SockOps, ACancelledSockRecvLeavesNoReaderBehindAndTheSocketStillWorks) {
  asyncio::run([]() -> Coro<void> {
    EventLoop& loop = get_running_loop();
    auto pair = Socket::socketpair();
    auto receiving = create_task(asyncio::sock_recv(pair.first, 100));
    co_await sleep(0);
    EXPECT_FALSE(receiving.done()) << "sock_recv did not wait";
    receiving.cancel();
    EXPECT_TRUE(co_await ended_cancelled(receiving));
    EXPECT_FALSE(loop.remove_reader(pair.first.fileno()));
    co_await asyncio::sock_sendall(pair.second, "after");
    const std::string got = co_await asyncio::sock_recv(pair.first, 100);
    EXPECT_EQ(got, "after");
  });
}

TEST(SockOps, ACancelledSockAcceptLeavesNoReaderBehindAndTheSocketStillAccepts) {
  asyncio::run([]() -> Coro<void> {
    EventLoop& loop = get_running_loop();
    Socket server = listening_socket();
    auto accepting = create_task(asyncio::sock_accept(server));
    co_await sleep(0);
    EXPECT_FALSE(accepting.done());
    accepting.cancel();
    EXPECT_TRUE(co_await ended_cancelled(accepting));
    EXPECT_FALSE(loop.remove_reader(server.fileno()));
    auto [client, conn] = co_await connect_pair(server, AF_INET);
    co_await ping_pong(client, conn, "still", "accepting");
  });
}

TEST(SockOps, ACancelledSockSendallLeavesNoWriterBehindAndWhatWasSentStaysSent) {
  asyncio::run([]() -> Coro<void> {
    EventLoop& loop = get_running_loop();
    auto pair = Socket::socketpair();
    const std::string data = pattern(4 << 20);
    auto sending = create_task(asyncio::sock_sendall(pair.first, data));
    co_await sleep(0);
    EXPECT_FALSE(sending.done());
    sending.cancel();
    EXPECT_TRUE(co_await ended_cancelled(sending));
    EXPECT_FALSE(loop.remove_writer(pair.first.fileno()));
    std::string received;
    std::array<char, 65536> buf{};
    while (auto n = pair.second.try_recv(buf)) {
      if (*n == 0) break;
      received.append(buf.data(), *n);
    }
    EXPECT_GT(received.size(), 0u);
    EXPECT_LT(received.size(), data.size());
    EXPECT_TRUE(received == data.substr(0, received.size()));
  });
}

TEST(SockOps, TwoSockRecvOnOneSocketAtOnceRaiseRuntimeErrorForTheSecond) {
  asyncio::run([]() -> Coro<void> {
    auto pair = Socket::socketpair();
    auto first = create_task(asyncio::sock_recv(pair.first, 10));
    co_await sleep(0);
    std::string text = "no RuntimeError";
    try {
      (void)co_await asyncio::sock_recv(pair.first, 10);
    } catch (const asyncio::RuntimeError& e) {
      text = e.what();
    }
    EXPECT_NE(text.find("sock_recv: another coroutine is already waiting to read from this socket"), std::string::npos)
        << text;
    co_await asyncio::sock_sendall(pair.second, "x");
    const std::string got = co_await std::move(first);  // the first one was not disturbed
    EXPECT_EQ(got, "x");
  });
}

TEST(SockOps, ClosingTheSocketWhileSockRecvWaitsEndsItWithOSErrorEbadfAndRemovesTheReader) {
  asyncio::run([]() -> Coro<void> {
    EventLoop& loop = get_running_loop();
    auto pair = Socket::socketpair();
    const int fd = pair.first.fileno();
    auto receiving = create_task(asyncio::sock_recv(pair.first, 10));
    co_await sleep(0);
    pair.first.close();
    EXPECT_FALSE(loop.remove_reader(fd));  // removed by close(), before the number was released
    std::string text = "no OSError";
    int err = 0;
    try {
      (void)co_await receiving;
    } catch (const OSError& e) {
      text = e.what();
      err = e.errno_value();
    }
    EXPECT_EQ(err, EBADF);
    EXPECT_NE(text.find("sock_recv: the socket was closed while waiting"), std::string::npos) << text;
  });
}

TEST(SockOps, MovingTheSocketWhileSockRecvWaitsIsFollowed) {
  asyncio::run([]() -> Coro<void> {
    auto pair = Socket::socketpair();
    auto receiving = create_task(asyncio::sock_recv(pair.first, 10));
    co_await sleep(0);
    Socket moved(std::move(pair.first));
    co_await asyncio::sock_sendall(pair.second, "moved");
    const std::string got = co_await std::move(receiving);
    EXPECT_EQ(got, "moved");
    moved.close();  // the operation is over: nothing to end
  });
}

TEST(SockOps, AReaderReplacedBehindAWaitingSockRecvEndsItWithRuntimeErrorAndStaysInPlace) {
  asyncio::run([]() -> Coro<void> {
    EventLoop& loop = get_running_loop();
    auto pair = Socket::socketpair();
    auto receiving = create_task(asyncio::sock_recv(pair.first, 10));
    co_await sleep(0);
    loop.add_reader(pair.first.fileno(), [] {});
    std::string text = "no RuntimeError";
    try {
      (void)co_await receiving;
    } catch (const asyncio::RuntimeError& e) {
      text = e.what();
    }
    EXPECT_NE(text.find("was replaced by another add_reader"), std::string::npos) << text;
    EXPECT_TRUE(loop.remove_reader(pair.first.fileno()));  // the operation did not remove the new reader
  });
}

TEST(SockOps, InDebugModeASocketMadeBlockingBehindItsBackRaisesValueError) {
  asyncio::run(
      []() -> Coro<void> {
        auto pair = Socket::socketpair();
        const int fd = pair.first.fileno();
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        std::string text = "no ValueError";
        try {
          (void)co_await asyncio::sock_recv(pair.first, 10);
        } catch (const asyncio::ValueError& e) {
          text = e.what();
        }
        EXPECT_EQ(text, "sock_recv: the socket must be non-blocking");
      },
      asyncio::LoopOptions{.debug = true});
}

TEST(SockOps, DestroyingTheLoopWhileSockRecvWaitsUnwindsItAndLeavesTheSocketUsable) {
  auto pair = Socket::socketpair();
  {
    EventLoop loop;
    asyncio::testing::HandlerCapture capture(loop);  // "Task was destroyed but it is pending!"
    auto receiving = create_task(loop, asyncio::sock_recv(pair.first, 10));
    loop.run_once();  // its first step: nothing to read, it waits
    EXPECT_FALSE(receiving.done());
  }
  const std::string got = asyncio::run([&pair]() -> Coro<std::string> {
    co_await asyncio::sock_sendall(pair.second, "again");
    co_return co_await asyncio::sock_recv(pair.first, 10);
  });
  EXPECT_EQ(got, "again");
}

TEST(SockOps, UdpSockSendtoAndSockRecvfromMakeARoundTrip) {
  asyncio::run([]() -> Coro<void> {
    Socket a(AF_INET, SOCK_DGRAM);
    a.bind(SocketAddress("127.0.0.1", 0));
    Socket b(AF_INET, SOCK_DGRAM);
    b.bind(SocketAddress("127.0.0.1", 0));
    auto receiving = create_task(asyncio::sock_recvfrom(b, 100));
    co_await sleep(0);
    EXPECT_FALSE(receiving.done());
    const std::size_t sent = co_await asyncio::sock_sendto(a, "datagram", b.getsockname());
    EXPECT_EQ(sent, 8u);
    auto [data, from] = co_await std::move(receiving);
    EXPECT_EQ(data, "datagram");
    EXPECT_EQ(from, a.getsockname());
    (void)co_await asyncio::sock_sendto(b, "reply", from);
    auto [reply, replier] = co_await asyncio::sock_recvfrom(a, 100);
    EXPECT_EQ(reply, "reply");
    EXPECT_EQ(replier, b.getsockname());
  });
}

TEST(SockOps, SockRecvfromTruncatesADatagramLongerThanN) {
  asyncio::run([]() -> Coro<void> {
    Socket a(AF_INET, SOCK_DGRAM);
    a.bind(SocketAddress("127.0.0.1", 0));
    Socket b(AF_INET, SOCK_DGRAM);
    b.bind(SocketAddress("127.0.0.1", 0));
    (void)co_await asyncio::sock_sendto(a, "0123456789", b.getsockname());
    auto [data, from] = co_await asyncio::sock_recvfrom(b, 4);
    EXPECT_EQ(data, "0123");
  });
}

TEST(SockOps, SockRecvfromIntoWaitsForADatagramAndStoresItInTheCallersBuffer) {
  asyncio::run([]() -> Coro<void> {
    Socket a(AF_INET, SOCK_DGRAM);
    a.bind(SocketAddress("127.0.0.1", 0));
    Socket b(AF_INET, SOCK_DGRAM);
    b.bind(SocketAddress("127.0.0.1", 0));
    char buffer[6] = {};
    auto receiving = create_task(asyncio::sock_recvfrom_into(b, buffer));
    co_await sleep(0);
    EXPECT_FALSE(receiving.done());
    (void)co_await asyncio::sock_sendto(a, "datagram", b.getsockname());
    auto [n, from] = co_await std::move(receiving);
    EXPECT_EQ(n, 6u);  // truncated to the buffer, as recvfrom_into does
    EXPECT_EQ(std::string_view(buffer, n), "datagr");
    EXPECT_EQ(from, a.getsockname());
  });
}

TEST(SockOps, AUnixSocketPathServerAndClientExchangeData) {
  char dir_template[] = "/tmp/asyncio-net-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  const std::string path = dir + "/server.sock";
  asyncio::run([&path]() -> Coro<void> {
    Socket server(AF_UNIX, SOCK_STREAM);
    server.bind(SocketAddress::from_path(path));
    server.listen();
    EXPECT_EQ(server.getsockname().path(), path);
    EXPECT_EQ(server.getsockname().to_string(), path);
    auto accepting = create_task(asyncio::sock_accept(server));
    Socket client(AF_UNIX, SOCK_STREAM);
    co_await asyncio::sock_connect(client, SocketAddress::from_path(path));
    auto [conn, peer] = co_await std::move(accepting);
    EXPECT_EQ(peer.family(), AF_UNIX);
    EXPECT_EQ(peer.path(), "");  // an unbound client is unnamed
    EXPECT_EQ(client.getpeername().path(), path);
    co_await ping_pong(client, conn, "over a path", "answered");
  });
  EXPECT_EQ(::unlink(path.c_str()), 0);
  EXPECT_EQ(::rmdir(dir.c_str()), 0);
}

TEST(SockOps, AnAbstractUnixSocketServerAndClientExchangeData) {
  const auto name = SocketAddress::from_abstract("asyncio-net-test-" + std::to_string(::getpid()));
  asyncio::run([name]() -> Coro<void> {
    Socket server(AF_UNIX, SOCK_STREAM);
    server.bind(name);
    server.listen();
    EXPECT_EQ(server.getsockname(), name);
    auto accepting = create_task(asyncio::sock_accept(server));
    Socket client(AF_UNIX, SOCK_STREAM);
    co_await asyncio::sock_connect(client, name);
    auto [conn, peer] = co_await std::move(accepting);
    co_await ping_pong(client, conn, "abstract", "namespace");
  });
}

TEST(SockOps, AnIpv6LoopbackServerAndClientExchangeData) {
  // ::1 is required: if this machine has no IPv6 loopback, the test fails and says so.
  Socket server(AF_INET6, SOCK_STREAM);
  try {
    server.bind(SocketAddress("::1", 0));
    server.listen();
  } catch (const OSError& e) {
    FAIL() << "IPv6 loopback ::1 is not available on this machine: " << e.what();
  }
  asyncio::run([&server]() -> Coro<void> {
    EXPECT_EQ(server.getsockname().host(), "::1");
    auto [client, conn] = co_await connect_pair(server, AF_INET6);
    EXPECT_EQ(client.getpeername().to_string(), "[::1]:" + std::to_string(server.getsockname().port()));
    co_await ping_pong(client, conn, "six", "ipv6");
  });
}

}  // namespace
