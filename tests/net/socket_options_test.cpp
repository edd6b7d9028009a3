// Socket::setsockopt / getsockopt with values of any plain type and raw bytes. Reference: Python's
// socket.setsockopt(level, optname, value: int | bytes) and getsockopt(level, optname[, buflen]),
// and CPython's Lib/test/test_socket.py (testSetSockOpt, testGetSockOpt, SO_LINGER round trips).

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <asyncio/exceptions.hpp>
#include <asyncio/net/socket.hpp>
#include <asyncio/os_error.hpp>

#include <cstddef>
#include <cstring>
#include <span>
#include <string>

namespace {

using asyncio::Socket;

TEST(SocketOptions, SetsockoptTakesAStructLingerAndGetsockoptReadsItBack) {
  Socket s(AF_INET, SOCK_STREAM);
  s.setsockopt(SOL_SOCKET, SO_LINGER, linger{1, 7});
  const auto value = s.getsockopt<linger>(SOL_SOCKET, SO_LINGER);
  EXPECT_EQ(value.l_onoff, 1);
  EXPECT_EQ(value.l_linger, 7);
}

TEST(SocketOptions, SetsockoptTakesAnIntAndGetsockoptReadsItAsAnInt) {
  Socket s(AF_INET, SOCK_STREAM);
  s.setsockopt(SOL_SOCKET, SO_KEEPALIVE, 1);
  EXPECT_EQ(s.getsockopt<int>(SOL_SOCKET, SO_KEEPALIVE), 1);
}

TEST(SocketOptions, SetsockoptTakesRawBytes) {
  Socket s(AF_INET, SOCK_STREAM);
  const int on = 1;
  s.setsockopt(SOL_SOCKET, SO_REUSEADDR, std::as_bytes(std::span(&on, 1)));
  EXPECT_EQ(s.get_option(SOL_SOCKET, SO_REUSEADDR), 1);
}

TEST(SocketOptions, GetsockoptWithABufferLengthReturnsAsManyBytesAsTheKernelGives) {
  Socket s(AF_INET, SOCK_STREAM);
  s.set_option(SOL_SOCKET, SO_KEEPALIVE, 1);
  const std::string bytes = s.getsockopt(SOL_SOCKET, SO_KEEPALIVE, 16);
  ASSERT_EQ(bytes.size(), sizeof(int));
  int value = 0;
  std::memcpy(&value, bytes.data(), sizeof value);
  EXPECT_EQ(value, 1);
}

TEST(SocketOptions, GetsockoptAsATypeOfTheWrongSizeRaisesValueErrorGivingTheSize) {
  Socket s(AF_INET, SOCK_STREAM);
  try {
    (void)s.getsockopt<linger>(SOL_SOCKET, SO_RCVBUF);
    ADD_FAILURE() << "an int option was read as a struct linger";
  } catch (const asyncio::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("the option's value is 4 bytes, the type asked for 8"), std::string::npos)
        << e.what();
  }
}

TEST(SocketOptions, GetsockoptWithABufferLengthOutOfRangeRaisesOSError) {
  Socket s(AF_INET, SOCK_STREAM);
  for (std::size_t buflen : {std::size_t{0}, std::size_t{1025}}) {
    try {
      (void)s.getsockopt(SOL_SOCKET, SO_RCVBUF, buflen);
      ADD_FAILURE() << "buflen " << buflen << " was accepted";
    } catch (const asyncio::OSError& e) {
      EXPECT_EQ(e.errno_value(), EINVAL);
      EXPECT_NE(std::string(e.what()).find("out of range (give 1 to 1024 bytes)"), std::string::npos) << e.what();
    }
  }
}

TEST(SocketOptions, SetsockoptWithTooFewBytesRaisesOSErrorNamingTheOption) {
  Socket s(AF_INET, SOCK_STREAM);
  const std::byte one[1] = {std::byte{1}};
  try {
    s.setsockopt(SOL_SOCKET, SO_LINGER, std::span<const std::byte>(one));
    ADD_FAILURE() << "a 1-byte SO_LINGER was accepted";
  } catch (const asyncio::OSError& e) {
    EXPECT_EQ(e.errno_value(), EINVAL);
    EXPECT_NE(std::string(e.what()).find("option=" + std::to_string(SO_LINGER) + ") with 1 bytes"), std::string::npos)
        << e.what();
  }
}

}  // namespace
