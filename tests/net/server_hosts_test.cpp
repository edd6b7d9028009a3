// create_server given several hosts, and host names: every address of every host is bound, each
// once; IPv6 sockets are IPV6_V6ONLY. Reference: CPython 3.13 base_events.py (create_server,
// _create_server_getaddrinfo) and Lib/test/test_asyncio/test_base_events.py
// (test_create_server_multiple_hosts_ipv4, _ipv6, test_create_server_dual_stack).

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <asyncio/exceptions.hpp>
#include <asyncio/net/server.hpp>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "net/transport_test_support.hpp"

namespace {

using asyncio::Coro;
using asyncio::Socket;
using asyncio::SocketAddress;
using nett::Recorder;
using nett::run_io;

auto factory() {
  return [] { return std::make_shared<Recorder>(); };
}

/// A port free on 127.0.0.1 and ::1 right now.
std::uint16_t free_port() {
  for (int i = 0; i < 20; ++i) {
    Socket v4(AF_INET, SOCK_STREAM);
    v4.bind(SocketAddress("127.0.0.1", 0));
    const std::uint16_t port = v4.getsockname().port();
    try {
      Socket v6(AF_INET6, SOCK_STREAM);
      v6.set_option(IPPROTO_IPV6, IPV6_V6ONLY, 1);
      v6.bind(SocketAddress("::1", port));
      return port;
    } catch (const asyncio::OSError&) {
    }
  }
  ADD_FAILURE() << "no port free on both loopback addresses";
  return 0;
}

TEST(ServerHosts, CreateServerGivenTwoHostsListensOnBoth) {
  run_io([]() -> Coro<void> {
    const std::uint16_t port = free_port();
    std::vector<std::string> hosts = {"127.0.0.1", "::1"};
    auto server = co_await asyncio::create_server(factory(), std::move(hosts), port);
    std::set<std::string> bound;
    for (const Socket& s : server->sockets()) bound.insert(s.getsockname().to_string());
    EXPECT_EQ(bound, (std::set<std::string>{"127.0.0.1:" + std::to_string(port), "[::1]:" + std::to_string(port)}));
    for (const char* host : {"127.0.0.1", "::1"}) {
      auto t_p = co_await asyncio::create_connection(factory(), host, port);
      t_p.first->close();
    }
    server->close();
    co_await server->wait_closed();
  });
}

TEST(ServerHosts, TheIPv6SocketsAreV6Only) {
  run_io([]() -> Coro<void> {
    std::vector<std::string> hosts = {"127.0.0.1", "::1"};
    auto server = co_await asyncio::create_server(factory(), std::move(hosts), free_port());
    int v6 = 0;
    for (const Socket& s : server->sockets()) {
      if (s.family() != AF_INET6) continue;
      ++v6;
      EXPECT_EQ(s.getsockopt<int>(IPPROTO_IPV6, IPV6_V6ONLY), 1);
    }
    EXPECT_EQ(v6, 1);
    server->close();
    co_await server->wait_closed();
  });
}

TEST(ServerHosts, AnAddressGivenTwiceIsBoundOnce) {
  run_io([]() -> Coro<void> {
    std::vector<std::string> hosts = {"127.0.0.1", "127.0.0.1"};
    auto server = co_await asyncio::create_server(factory(), std::move(hosts), free_port());
    EXPECT_EQ(server->sockets().size(), 1U);
    server->close();
    co_await server->wait_closed();
  });
}

TEST(ServerHosts, AnEmptyListOfHostsRaisesValueError) {
  run_io([]() -> Coro<void> {
    try {
      std::vector<std::string> hosts;
      co_await asyncio::create_server(factory(), std::move(hosts), 0);
      ADD_FAILURE() << "an empty list of hosts was accepted";
    } catch (const asyncio::ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("the list of hosts is empty"), std::string::npos) << e.what();
    }
  });
}

TEST(ServerHosts, AHostNameBindsEveryAddressItResolvesTo) {
  run_io([]() -> Coro<void> {
    const std::vector<asyncio::AddrInfo> expected =
        co_await asyncio::getaddrinfo("localhost", "0", {.type = SOCK_STREAM, .flags = AI_PASSIVE});
    std::set<std::string> want;
    for (const auto& info : expected) want.insert(info.address.host());
    const std::uint16_t port = free_port();
    std::vector<std::string> hosts = {"localhost"};
    auto server = co_await asyncio::create_server(factory(), std::move(hosts), port);
    std::set<std::string> bound;
    for (const Socket& s : server->sockets()) {
      bound.insert(s.getsockname().host());
      if (s.family() == AF_INET6) {
        EXPECT_EQ(s.getsockopt<int>(IPPROTO_IPV6, IPV6_V6ONLY), 1);
      }
    }
    EXPECT_EQ(bound, want);
    server->close();
    co_await server->wait_closed();
  });
}

}  // namespace
