// SocketAddress: numeric IPv4/IPv6 and AF_UNIX addresses as values; parsing, formatting, equality.

#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <asyncio/exceptions.hpp>
#include <asyncio/net/socket_address.hpp>

#include <cstddef>
#include <cstring>
#include <string>
#include <type_traits>

namespace {

using asyncio::SocketAddress;
using asyncio::ValueError;

static_assert(std::is_trivially_copyable_v<SocketAddress>);
static_assert(std::is_trivially_destructible_v<SocketAddress>);

std::string value_error_text(std::string_view host) {
  try {
    SocketAddress a(host, 80);
  } catch (const ValueError& e) {
    return e.what();
  }
  return "no ValueError";
}

TEST(SocketAddress, AnIpv4AddressHasItsHostPortAndFormatsAsHostColonPort) {
  SocketAddress a("127.0.0.1", 8080);
  EXPECT_EQ(a.family(), AF_INET);
  EXPECT_EQ(a.host(), "127.0.0.1");
  EXPECT_EQ(a.port(), 8080);
  EXPECT_EQ(a.to_string(), "127.0.0.1:8080");
  EXPECT_EQ(a.size(), sizeof(sockaddr_in));
}

TEST(SocketAddress, AnIpv6AddressFormatsInBracketsBeforeThePort) {
  SocketAddress a("::1", 8080);
  EXPECT_EQ(a.family(), AF_INET6);
  EXPECT_EQ(a.host(), "::1");
  EXPECT_EQ(a.port(), 8080);
  EXPECT_EQ(a.to_string(), "[::1]:8080");
  EXPECT_EQ(a.size(), sizeof(sockaddr_in6));
}

TEST(SocketAddress, AnIpv6HostIsGivenBackInItsShortestForm) {
  EXPECT_EQ(SocketAddress("0:0:0:0:0:0:0:1", 1).host(), "::1");
  EXPECT_EQ(SocketAddress("::ffff:127.0.0.1", 1).host(), "::ffff:127.0.0.1");
}

TEST(SocketAddress, AnIpv6ScopeIsReadByNumberOrInterfaceName) {
  const unsigned lo = ::if_nametoindex("lo");
  ASSERT_NE(lo, 0u) << "this machine has no loopback interface named lo";
  SocketAddress by_name("fe80::1%lo", 80);
  EXPECT_EQ(by_name.scope_id(), lo);
  EXPECT_EQ(by_name.host(), "fe80::1%lo");
  EXPECT_EQ(by_name.to_string(), "[fe80::1%lo]:80");
  SocketAddress by_number("fe80::1%" + std::to_string(lo), 80);
  EXPECT_EQ(by_number.scope_id(), lo);
  EXPECT_EQ(by_number, by_name);
}

TEST(SocketAddress, AHostNameIsRefusedWithAValueErrorThatNamesItAndPointsToGetaddrinfo) {
  const std::string text = value_error_text("localhost");
  EXPECT_NE(text.find("'localhost' is not a numeric IPv4 or IPv6 address"), std::string::npos) << text;
  EXPECT_NE(text.find("getaddrinfo"), std::string::npos) << text;
}

TEST(SocketAddress, MalformedNumericHostsAreRefusedWithValueError) {
  for (const char* bad : {"", "127.1", "1.2.3.4.5", "256.0.0.1", "::1::2", "1.2.3.4%lo", "[::1]", " 127.0.0.1"}) {
    EXPECT_THROW(SocketAddress(bad, 80), ValueError) << "host '" << bad << "'";
  }
  EXPECT_THROW(SocketAddress(std::string_view("127.0.0.1\0x", 11), 80), ValueError);
}

TEST(SocketAddress, AnUnknownIpv6ScopeIsRefusedWithValueError) {
  EXPECT_THROW(SocketAddress("fe80::1%no-such-if0", 80), ValueError);
  EXPECT_THROW(SocketAddress("fe80::1%", 80), ValueError);
}

TEST(SocketAddress, AUnixPathKeepsItsPathAndFormatsAsThePath) {
  const auto a = SocketAddress::from_path("/tmp/x.sock");
  EXPECT_EQ(a.family(), AF_UNIX);
  EXPECT_EQ(a.path(), "/tmp/x.sock");
  EXPECT_EQ(a.to_string(), "/tmp/x.sock");
  EXPECT_FALSE(a.is_abstract());
  EXPECT_EQ(a.host(), "");
  EXPECT_EQ(a.port(), 0);
  EXPECT_EQ(a.size(), offsetof(sockaddr_un, sun_path) + std::strlen("/tmp/x.sock") + 1);  // with its NUL
}

TEST(SocketAddress, AnAbstractUnixNameStartsWithANulAndFormatsWithAnAt) {
  const auto a = SocketAddress::from_abstract("asyncio-test");
  EXPECT_EQ(a.family(), AF_UNIX);
  EXPECT_TRUE(a.is_abstract());
  EXPECT_EQ(a.path(), std::string("\0asyncio-test", 13));
  EXPECT_EQ(a.to_string(), "@asyncio-test");
  EXPECT_EQ(a.size(), offsetof(sockaddr_un, sun_path) + 13);  // no NUL after an abstract name
  EXPECT_EQ(a, SocketAddress::from_path(std::string("\0asyncio-test", 13)));
}

TEST(SocketAddress, AUnixPathThatDoesNotFitInSunPathIsRefusedWithValueError) {
  EXPECT_NO_THROW(SocketAddress::from_path(std::string(107, 'a')));
  EXPECT_THROW(SocketAddress::from_path(std::string(108, 'a')), ValueError);
  EXPECT_NO_THROW(SocketAddress::from_abstract(std::string(107, 'a')));
  EXPECT_THROW(SocketAddress::from_abstract(std::string(108, 'a')), ValueError);
}

TEST(SocketAddress, AUnixPathContainingANulIsRefusedWithValueError) {
  EXPECT_THROW(SocketAddress::from_path(std::string("/tmp/a\0b", 8)), ValueError);
}

TEST(SocketAddress, EqualityComparesFamilyAddressAndPort) {
  EXPECT_EQ(SocketAddress("127.0.0.1", 80), SocketAddress("127.0.0.1", 80));
  EXPECT_NE(SocketAddress("127.0.0.1", 80), SocketAddress("127.0.0.1", 81));
  EXPECT_NE(SocketAddress("127.0.0.1", 80), SocketAddress("127.0.0.2", 80));
  EXPECT_NE(SocketAddress("127.0.0.1", 80), SocketAddress("::ffff:127.0.0.1", 80));
  EXPECT_EQ(SocketAddress("::1", 80), SocketAddress("0::1", 80));
  EXPECT_NE(SocketAddress::from_path("/tmp/a"), SocketAddress::from_path("/tmp/b"));
  EXPECT_NE(SocketAddress::from_path("/tmp/a"), SocketAddress("127.0.0.1", 80));
}

TEST(SocketAddress, AUnixPathEqualsItselfWhetherOrNotTheKernelCountedItsNul) {
  const auto a = SocketAddress::from_path("/tmp/a");
  // What getsockname may return: the same path with a length that leaves the NUL out.
  const auto without_nul = SocketAddress::from_raw(a.data(), a.size() - 1);
  EXPECT_EQ(without_nul.path(), "/tmp/a");
  EXPECT_EQ(a, without_nul);
}

TEST(SocketAddress, AnEmptyAddressHasNoFamilyAndFormatsAsNothing) {
  SocketAddress a;
  EXPECT_EQ(a.family(), AF_UNSPEC);
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(a.to_string(), "");
  EXPECT_EQ(a, SocketAddress());
}

TEST(SocketAddress, FromRawCopiesWhatTheKernelGaveAndRefusesAnOversizedLength) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(443);
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const auto a = SocketAddress::from_raw(reinterpret_cast<const sockaddr*>(&in), sizeof in);
  EXPECT_EQ(a, SocketAddress("127.0.0.1", 443));
  EXPECT_THROW(SocketAddress::from_raw(reinterpret_cast<const sockaddr*>(&in), sizeof(sockaddr_storage) + 1),
               ValueError);
}

}  // namespace
