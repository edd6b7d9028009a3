// 10,000 concurrent connections echoed by a server in the same loop and process, and every
// descriptor returned once they close. Both ends of every connection are in this process, so it
// needs about 20,000 descriptors: the test raises RLIMIT_NOFILE's soft limit as far as the hard
// limit allows, and if the hard limit is too low it runs with as many connections as fit and says
// so in its output (and in the test's "connections" property).

#include <gtest/gtest.h>
#include <asyncio/net/connection.hpp>
#include <asyncio/net/server.hpp>

#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "net/transport_test_support.hpp"

namespace {

using asyncio::Coro;
using asyncio::Transport;
using nett::until;

/// A client: counts the echoed bytes and its connection's end.
struct Client : asyncio::Protocol {
  std::size_t* echoed_total;
  std::size_t* lost_total;
  Client(std::size_t* e, std::size_t* l) : echoed_total(e), lost_total(l) {}
  void data_received(std::string_view d) override { *echoed_total += d.size(); }
  void connection_lost(std::exception_ptr e) override {
    EXPECT_EQ(e, nullptr);
    ++*lost_total;
  }
};

TEST(ManyConnections, TenThousandConcurrentConnectionsAreEchoedAndEveryDescriptorIsReturned) {
  constexpr std::size_t kWanted = 10'000;
  constexpr std::size_t kMargin = 64;  // the loop's own descriptors, gtest's, the sanitizers'
  nett::NofileLimit limit;
  const std::size_t before = nett::open_descriptors();
  const std::size_t needed = 2 * kWanted + before + kMargin;
  std::size_t n = kWanted;
  if (needed > limit.hard()) {
    n = (static_cast<std::size_t>(limit.hard()) - before - kMargin) / 2;
    std::cout << "[   NOTE   ] RLIMIT_NOFILE's hard limit is " << limit.hard() << ", below the " << needed
              << " descriptors 10,000 connections need with both ends in this process: testing " << n
              << " concurrent connections\n";
  }
  RecordProperty("connections", static_cast<int>(n));
  ASSERT_GE(n, 9'000u) << "the hard limit on descriptors (" << limit.hard() << ") is far too low for this test";
  ASSERT_TRUE(limit.set_soft(std::min<rlim_t>(limit.hard(), needed)));

  std::size_t echoed = 0;
  std::size_t lost = 0;
  std::size_t peak = 0;
  nett::run_io(
      [&]() -> Coro<void> {
        auto server = co_await asyncio::create_server([] { return std::make_shared<nett::Echo>(); }, "127.0.0.1", 0,
                                                      {.backlog = 1024});
        const std::size_t in_loop = nett::open_descriptors();
        std::vector<std::shared_ptr<Transport>> clients;
        clients.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
          auto t_p = co_await asyncio::create_connection([&] { return std::make_shared<Client>(&echoed, &lost); },
                                                         "127.0.0.1", nett::port_of(*server));
          auto t = t_p.first;
          auto p = t_p.second;
          clients.push_back(std::move(t));
        }
        co_await until([&] { return server->client_count() == n; });
        peak = nett::open_descriptors();
        for (auto& t : clients) t->write("12345678");
        co_await until([&] { return echoed == 8 * n; });
        EXPECT_EQ(server->client_count(), n);  // all of them open at once
        for (auto& t : clients) t->close();
        co_await until([&] { return lost == n && server->client_count() == 0; });
        EXPECT_EQ(nett::open_descriptors(), in_loop);
        server->close();
        co_await server->wait_closed();
      },
      60.0);
  limit.restore();
  EXPECT_EQ(echoed, 8 * n);
  EXPECT_EQ(lost, n);
  EXPECT_GE(peak, before + 2 * n);
  EXPECT_EQ(nett::open_descriptors(), before);
}

}  // namespace
