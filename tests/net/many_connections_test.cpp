// 10,000 concurrent connections held by an echo server (streams, as examples/echo), every message
// echoed, and every descriptor returned once they close. The clients live in a child process
// (tests/net/echo_swarm.cpp), so each process needs one descriptor per connection: the test raises
// its soft RLIMIT_NOFILE, and fails (it does not shrink itself) if the hard limit is too low.

#include <gtest/gtest.h>
#include <asyncio/net/streams.hpp>
#include <asyncio/process/process.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/transport_test_support.hpp"

#ifndef ECHO_SWARM_PATH
#error "ECHO_SWARM_PATH must name the echo_swarm program"
#endif

namespace {

using asyncio::Coro;
using asyncio::ProcessOptions;
using asyncio::Stdio;
using asyncio::StreamReader;
using asyncio::StreamWriter;
using nett::until;

/// The echo example's handler: every line back until EOF.
Coro<void> echo(std::shared_ptr<StreamReader> reader, StreamWriter writer) {
  for (;;) {
    std::string_view line = co_await reader->readline_view();
    if (line.empty()) break;
    writer.write(line);
    co_await writer.drain();
  }
}

TEST(ManyConnections, TenThousandConcurrentConnectionsAreEchoedAndEveryDescriptorIsReturned) {
  constexpr std::size_t kConnections = 10'000;
  constexpr std::size_t kMargin = 64;  // the loop's own descriptors, the child's pipes, the sanitizers'
  nett::NofileLimit limit;
  const std::size_t before = nett::open_descriptors();
  const rlim_t needed = kConnections + before + kMargin;
  ASSERT_GE(limit.hard(), needed) << "RLIMIT_NOFILE's hard limit is too low for 10,000 connections";
  ASSERT_TRUE(limit.set_soft(needed));

  std::size_t peak_clients = 0;
  std::size_t peak_descriptors = 0;
  std::string connected_line;
  std::string echoed_line;
  int exit_status = -1;
  nett::run_io(
      [&]() -> Coro<void> {
        // Temporaries with destructors are built before each co_await: g++ 12 destroys one
        // written inside a co_await expression twice (docs/asyncio-map.md).
        asyncio::ClientConnectedCallback handler = echo;
        auto server = co_await asyncio::start_server(std::move(handler), "127.0.0.1", 0, asyncio::stream_default_limit,
                                                     {.backlog = 4096});
        const std::size_t in_loop = nett::open_descriptors();
        std::vector<std::string> args{std::to_string(nett::port_of(*server)), std::to_string(kConnections)};
        const ProcessOptions options{.in = Stdio::pipe(), .out = Stdio::pipe()};
        auto swarm = co_await asyncio::create_subprocess_exec(ECHO_SWARM_PATH, std::move(args), options);
        connected_line = co_await swarm.out()->readline();
        co_await until([&] { return server->client_count() == kConnections; });
        peak_clients = server->client_count();
        peak_descriptors = nett::open_descriptors();
        swarm.in()->write("go\n");
        echoed_line = co_await swarm.out()->readline();
        exit_status = co_await swarm.wait();
        co_await until([&] { return server->client_count() == 0; });
        EXPECT_EQ(nett::open_descriptors(), in_loop);
        server->close();
        co_await server->wait_closed();
      },
      120.0);
  limit.restore();
  EXPECT_EQ(connected_line, "connected 10000\n");
  EXPECT_EQ(peak_clients, kConnections);  // all of them open at once
  EXPECT_GE(peak_descriptors, before + kConnections);
  EXPECT_EQ(echoed_line, "echoed 10000\n");
  EXPECT_EQ(exit_status, 0);
  EXPECT_EQ(nett::open_descriptors(), before);
}

}  // namespace
