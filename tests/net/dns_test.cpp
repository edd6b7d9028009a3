// getaddrinfo / getnameinfo in the default executor (Python's loop.getaddrinfo, loop.getnameinfo).
// Lookups stay on this machine: "localhost" and 127.0.0.1 are answered from /etc/hosts, and the
// failing lookups use AI_NUMERICHOST or numeric service checks, so no test sends a DNS query.

#include <gtest/gtest.h>
#include <netdb.h>
#include <netinet/in.h>
#include <asyncio/net/dns.hpp>

#include <string>
#include <utility>
#include <vector>

#include "support/test_support.hpp"

namespace {

using asyncio::AddrInfo;
using asyncio::AddrInfoHints;
using asyncio::Coro;
using asyncio::GaiError;
using asyncio::SocketAddress;

TEST(Dns, GetaddrinfoOfLocalhostGivesLoopbackAddressesWithThePort) {
  const auto found = asyncio::run([]() -> Coro<std::vector<AddrInfo>> {
    co_return co_await asyncio::getaddrinfo("localhost", "80", AddrInfoHints{.type = SOCK_STREAM});
  });
  ASSERT_FALSE(found.empty());
  for (const AddrInfo& ai : found) {
    EXPECT_TRUE(ai.address.host() == "127.0.0.1" || ai.address.host() == "::1") << ai.address.to_string();
    EXPECT_EQ(ai.address.port(), 80);
    EXPECT_EQ(ai.family, ai.address.family());
    EXPECT_EQ(ai.type, SOCK_STREAM);
    EXPECT_EQ(ai.protocol, IPPROTO_TCP);
  }
}

TEST(Dns, GetaddrinfoOfANumericHostWithAnIntegerPortGivesThatAddress) {
  const auto found = asyncio::run([]() -> Coro<std::vector<AddrInfo>> {
    co_return co_await asyncio::getaddrinfo("::1", std::uint16_t{8080},
                                            AddrInfoHints{.type = SOCK_DGRAM, .flags = AI_NUMERICHOST});
  });
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].address, SocketAddress("::1", 8080));
  EXPECT_EQ(found[0].type, SOCK_DGRAM);
}

TEST(Dns, GetaddrinfoWithCanonnameGivesTheCanonicalNameOnTheFirstAnswer) {
  const auto found = asyncio::run([]() -> Coro<std::vector<AddrInfo>> {
    co_return co_await asyncio::getaddrinfo(
        "localhost", "80", AddrInfoHints{.family = AF_INET, .type = SOCK_STREAM, .flags = AI_CANONNAME});
  });
  ASSERT_FALSE(found.empty());
  EXPECT_EQ(found[0].canonname, "localhost");
}

TEST(Dns, GetaddrinfoOfAnInvalidNameRaisesGaiErrorNamingTheHost) {
  const std::string text = asyncio::run([]() -> Coro<std::string> {
    try {
      // AI_NUMERICHOST: refused by libc itself, without asking a name server.
      (void)co_await asyncio::getaddrinfo("no such host!", "80", AddrInfoHints{.flags = AI_NUMERICHOST});
    } catch (const GaiError& e) {
      EXPECT_EQ(e.eai_code(), EAI_NONAME);
      EXPECT_EQ(e.errno_value(), EAI_NONAME);
      EXPECT_EQ(e.strerror(), ::gai_strerror(EAI_NONAME));
      co_return e.what();
    }
    co_return "no GaiError";
  });
  EXPECT_EQ(text, std::string("getaddrinfo(no such host!, 80): [Errno ") + std::to_string(EAI_NONAME) + "] " +
                      ::gai_strerror(EAI_NONAME));
}

TEST(Dns, GetaddrinfoOfAnUnknownServiceRaisesGaiError) {
  const bool raised = asyncio::run([]() -> Coro<bool> {
    try {
      (void)co_await asyncio::getaddrinfo("127.0.0.1", "no-such-service-asyncio",
                                          AddrInfoHints{.type = SOCK_STREAM, .flags = AI_NUMERICHOST});
    } catch (const GaiError&) {
      co_return true;
    }
    co_return false;
  });
  EXPECT_TRUE(raised);
}

TEST(Dns, GaiErrorIsAnOSError) {
  try {
    throw GaiError(EAI_AGAIN, "getaddrinfo(example, 80)");
  } catch (const asyncio::OSError& e) {
    EXPECT_EQ(e.errno_value(), EAI_AGAIN);
    EXPECT_EQ(e.operation(), "getaddrinfo(example, 80)");
    EXPECT_NE(std::string(e.what()).find(::gai_strerror(EAI_AGAIN)), std::string::npos) << e.what();
  }
}

TEST(Dns, GetaddrinfoWithAnEmbeddedNulRaisesValueError) {
  EXPECT_THROW(
      asyncio::run([]() -> Coro<void> { (void)co_await asyncio::getaddrinfo(std::string("local\0host", 10), "80"); }),
      asyncio::ValueError);
}

TEST(Dns, GetnameinfoOf127001GivesLocalhostAndTheServiceName) {
  const auto names = asyncio::run([]() -> Coro<std::pair<std::string, std::string>> {
    co_return co_await asyncio::getnameinfo(SocketAddress("127.0.0.1", 80));
  });
  EXPECT_EQ(names.first, "localhost");
  EXPECT_EQ(names.second, "http");
}

TEST(Dns, GetnameinfoWithNumericFlagsGivesTheNumbers) {
  const auto names = asyncio::run([]() -> Coro<std::pair<std::string, std::string>> {
    co_return co_await asyncio::getnameinfo(SocketAddress("127.0.0.1", 80), NI_NUMERICHOST | NI_NUMERICSERV);
  });
  EXPECT_EQ(names.first, "127.0.0.1");
  EXPECT_EQ(names.second, "80");
}

TEST(Dns, GetaddrinfoRunsInTheLoopsDefaultExecutor) {
  const bool made_by_lookup = asyncio::run([]() -> Coro<bool> {
    asyncio::EventLoop& loop = asyncio::get_running_loop();
    const bool none_before = loop.default_executor() == nullptr;  // made on first use
    (void)co_await asyncio::getaddrinfo("127.0.0.1", "80", AddrInfoHints{.flags = AI_NUMERICHOST});
    co_return none_before&& loop.default_executor() != nullptr;
  });
  EXPECT_TRUE(made_by_lookup);
}

}  // namespace
