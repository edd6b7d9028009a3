// Socket: ownership of the descriptor, options, names, and the one-attempt try_* calls.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>
#include <asyncio/net/socket.hpp>
#include <asyncio/os_error.hpp>

#include <array>
#include <cerrno>
#include <string>
#include <utility>

namespace {

using asyncio::OSError;
using asyncio::Socket;
using asyncio::SocketAddress;

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }
bool is_nonblocking(int fd) { return (::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0; }
bool is_cloexec(int fd) { return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0; }

std::string what_of_os_error(auto&& fn, int& errno_out) {
  try {
    fn();
  } catch (const OSError& e) {
    errno_out = e.errno_value();
    return e.what();
  }
  return "no OSError";
}

TEST(Socket, ANewSocketIsNonBlockingAndCloseOnExec) {
  Socket s(AF_INET, SOCK_STREAM);
  ASSERT_TRUE(s.valid());
  EXPECT_TRUE(is_nonblocking(s.fileno()));
  EXPECT_TRUE(is_cloexec(s.fileno()));
}

TEST(Socket, FamilyTypeAndProtocolAreThoseGiven) {
  Socket s(AF_INET6, SOCK_DGRAM, IPPROTO_UDP);
  EXPECT_EQ(s.family(), AF_INET6);
  EXPECT_EQ(s.type(), SOCK_DGRAM);
  EXPECT_EQ(s.proto(), IPPROTO_UDP);
}

TEST(Socket, ASocketTheSystemRefusesRaisesOSErrorNamingTheCall) {
  int err = 0;
  const std::string text = what_of_os_error([] { Socket s(12345, SOCK_STREAM); }, err);
  EXPECT_EQ(err, EAFNOSUPPORT);
  EXPECT_NE(text.find("socket(12345, SOCK_STREAM, 0)"), std::string::npos) << text;
}

TEST(Socket, MovingASocketMovesTheDescriptorAndEmptiesTheSource) {
  Socket a(AF_INET, SOCK_STREAM);
  const int fd = a.fileno();
  Socket b(std::move(a));
  EXPECT_EQ(b.fileno(), fd);
  EXPECT_EQ(a.fileno(), -1);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  EXPECT_FALSE(a.valid());
  EXPECT_EQ(b.family(), AF_INET);
}

TEST(Socket, MoveAssignmentClosesTheDescriptorItHeld) {
  Socket a(AF_INET, SOCK_STREAM);
  Socket b(AF_INET, SOCK_STREAM);
  const int old_fd = b.fileno();
  const int fd = a.fileno();
  b = std::move(a);
  EXPECT_EQ(b.fileno(), fd);
  EXPECT_FALSE(is_open(old_fd));
}

TEST(Socket, CloseReleasesTheDescriptorAndCanBeCalledAgain) {
  Socket s(AF_INET, SOCK_STREAM);
  const int fd = s.fileno();
  s.close();
  EXPECT_FALSE(is_open(fd));
  EXPECT_EQ(s.fileno(), -1);
  s.close();
  EXPECT_EQ(s.family(), AF_INET);  // kept, as Python keeps sock.family
}

TEST(Socket, TheDestructorClosesTheDescriptor) {
  int fd = -1;
  {
    Socket s(AF_UNIX, SOCK_STREAM);
    fd = s.fileno();
  }
  EXPECT_FALSE(is_open(fd));
}

TEST(Socket, DetachGivesUpTheDescriptorWithoutClosingIt) {
  int fd = -1;
  {
    Socket s(AF_INET, SOCK_STREAM);
    fd = s.detach();
    EXPECT_FALSE(s.valid());
  }
  EXPECT_TRUE(is_open(fd));
  ::close(fd);
}

TEST(Socket, FromFdAdoptsADescriptorReadsItsKindAndMakesItNonBlockingAndCloseOnExec) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);  // blocking, inheritable
  ASSERT_GE(fd, 0);
  Socket s = Socket::from_fd(fd);
  EXPECT_EQ(s.fileno(), fd);
  EXPECT_EQ(s.family(), AF_INET);
  EXPECT_EQ(s.type(), SOCK_STREAM);
  EXPECT_EQ(s.proto(), IPPROTO_TCP);
  EXPECT_TRUE(is_nonblocking(fd));
  EXPECT_TRUE(is_cloexec(fd));
}

TEST(Socket, FromFdOfAPipeRaisesOSErrorAndLeavesTheDescriptorOpen) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  int err = 0;
  const std::string text = what_of_os_error([&] { (void)Socket::from_fd(fds[0]); }, err);
  EXPECT_EQ(err, ENOTSOCK);
  EXPECT_NE(text.find("from_fd(fd=" + std::to_string(fds[0]) + ")"), std::string::npos) << text;
  EXPECT_TRUE(is_open(fds[0]));
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(Socket, SetReuseAddressTurnsSoReuseaddrOnAndOff) {
  Socket s(AF_INET, SOCK_STREAM);
  s.set_reuse_address();
  EXPECT_EQ(s.get_option(SOL_SOCKET, SO_REUSEADDR), 1);
  s.set_reuse_address(false);
  EXPECT_EQ(s.get_option(SOL_SOCKET, SO_REUSEADDR), 0);
}

TEST(Socket, SetReusePortTurnsSoReuseportOn) {
  Socket s(AF_INET, SOCK_STREAM);
  s.set_reuse_port();
  EXPECT_EQ(s.get_option(SOL_SOCKET, SO_REUSEPORT), 1);
}

TEST(Socket, SetNodelayTurnsTcpNodelayOn) {
  Socket s(AF_INET, SOCK_STREAM);
  s.set_nodelay();
  EXPECT_NE(s.get_option(IPPROTO_TCP, TCP_NODELAY), 0);
}

TEST(Socket, SetNodelayOnAUnixSocketRaisesOSError) {
  Socket s(AF_UNIX, SOCK_STREAM);
  EXPECT_THROW(s.set_nodelay(), OSError);
}

TEST(Socket, SetOptionSetsAnIntegerOption) {
  Socket s(AF_INET, SOCK_STREAM);
  s.set_option(SOL_SOCKET, SO_KEEPALIVE, 1);
  EXPECT_EQ(s.get_option(SOL_SOCKET, SO_KEEPALIVE), 1);
}

TEST(Socket, BindingToPortZeroGetsAPortThatGetsocknameReports) {
  Socket s(AF_INET, SOCK_STREAM);
  s.bind(SocketAddress("127.0.0.1", 0));
  const SocketAddress bound = s.getsockname();
  EXPECT_EQ(bound.host(), "127.0.0.1");
  EXPECT_NE(bound.port(), 0);
}

TEST(Socket, BindingToAnAddressInUseRaisesOSErrorNamingTheAddress) {
  Socket first(AF_INET, SOCK_STREAM);
  first.bind(SocketAddress("127.0.0.1", 0));
  first.listen();
  const SocketAddress taken = first.getsockname();
  Socket second(AF_INET, SOCK_STREAM);
  int err = 0;
  const std::string text = what_of_os_error([&] { second.bind(taken); }, err);
  EXPECT_EQ(err, EADDRINUSE);
  EXPECT_NE(text.find("bind(" + taken.to_string() + ")"), std::string::npos) << text;
}

TEST(Socket, GetpeernameOfAnUnconnectedSocketRaisesOSErrorEnotconn) {
  Socket s(AF_INET, SOCK_STREAM);
  int err = 0;
  what_of_os_error([&] { (void)s.getpeername(); }, err);
  EXPECT_EQ(err, ENOTCONN);
}

TEST(Socket, SocketpairGivesTwoConnectedNonBlockingSockets) {
  auto [a, b] = Socket::socketpair();
  EXPECT_EQ(a.family(), AF_UNIX);
  EXPECT_EQ(b.type(), SOCK_STREAM);
  EXPECT_TRUE(is_nonblocking(a.fileno()));
  EXPECT_TRUE(is_cloexec(b.fileno()));
  EXPECT_EQ(a.try_send("hi"), 2u);
  std::array<char, 8> buf{};
  EXPECT_EQ(b.try_recv(buf), 2u);
  EXPECT_EQ(std::string(buf.data(), 2), "hi");
}

TEST(Socket, TryRecvWithNothingToReadReportsWouldBlock) {
  auto [a, b] = Socket::socketpair();
  std::array<char, 8> buf{};
  EXPECT_FALSE(a.try_recv(buf).has_value());
}

TEST(Socket, TrySendIntoAFullBufferReportsWouldBlock) {
  auto [a, b] = Socket::socketpair();
  const std::string chunk(65536, 'x');
  std::optional<std::size_t> sent;
  int rounds = 0;
  while ((sent = a.try_send(chunk)).has_value() && ++rounds < 10000) {
  }
  EXPECT_FALSE(sent.has_value());
}

TEST(Socket, ShutdownForWritingGivesThePeerEndOfStream) {
  auto [a, b] = Socket::socketpair();
  a.shutdown(SHUT_WR);
  std::array<char, 8> buf{};
  EXPECT_EQ(b.try_recv(buf), 0u);
}

TEST(Socket, SendingToAClosedPeerRaisesBrokenPipeErrorInsteadOfSigpipe) {
  auto [a, b] = Socket::socketpair();
  b.close();
  EXPECT_THROW((void)a.try_send("x"), asyncio::BrokenPipeError);  // the process is still alive
}

TEST(Socket, TryAcceptWithNoPendingConnectionReportsWouldBlock) {
  Socket s(AF_INET, SOCK_STREAM);
  s.bind(SocketAddress("127.0.0.1", 0));
  s.listen();
  EXPECT_FALSE(s.try_accept().has_value());
}

TEST(Socket, DescribeNamesThePeerThenTheLocalAddressThenTheDescriptor) {
  Socket listener(AF_INET, SOCK_STREAM);
  EXPECT_EQ(listener.describe(), "fd=" + std::to_string(listener.fileno()));
  listener.bind(SocketAddress("127.0.0.1", 0));
  EXPECT_EQ(listener.describe(), listener.getsockname().to_string());
  listener.close();
  EXPECT_EQ(listener.describe(), "closed socket");
}

}  // namespace
