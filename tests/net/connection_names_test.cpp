// create_connection and create_server with host names: resolution goes through getaddrinfo in the
// loop's default executor (a thread), and every address is tried in turn. Numeric hosts never
// reach the executor. Reference: CPython 3.13 base_events.py (_ensure_resolved, create_connection).

#include <gtest/gtest.h>
#include <asyncio/net/connection.hpp>
#include <asyncio/net/server.hpp>

#include <memory>
#include <string>

#include "net/transport_test_support.hpp"

namespace {

using asyncio::Coro;
using asyncio::SocketAddress;
using nett::Recorder;
using nett::run_io;
using nett::until;

TEST(ConnectionNames, ConnectsToAHostNameThroughTheExecutor) {
  run_io([]() -> Coro<void> {
    auto server = co_await nett::echo_server();  // 127.0.0.1 only
    // "localhost" may also give ::1 first, which refuses: the next address is tried.
    auto t_p = co_await asyncio::create_connection([] { return std::make_shared<Recorder>(); }, "localhost",
                                                   nett::port_of(*server));
    auto t = t_p.first;
    auto p = t_p.second;
    EXPECT_NE(asyncio::get_running_loop().default_executor(), nullptr);
    EXPECT_EQ(std::any_cast<SocketAddress>(t->get_extra_info("peername")).host(), "127.0.0.1");
    t->write("by name");
    co_await until([&] { return p->data == "by name"; });
    t->close();
    server->close();
    co_await server->wait_closed();
  });
}

TEST(ConnectionNames, ANumericHostNeverUsesTheExecutor) {
  run_io([]() -> Coro<void> {
    auto server = co_await nett::echo_server();
    auto t_p = co_await asyncio::create_connection([] { return std::make_shared<Recorder>(); }, "127.0.0.1",
                                                   nett::port_of(*server));
    auto t = t_p.first;
    auto p = t_p.second;
    EXPECT_EQ(asyncio::get_running_loop().default_executor(), nullptr);
    t->close();
    server->close();
    co_await server->wait_closed();
  });
}

TEST(ConnectionNames, ANumericIPv6HostIsUsedAsItIs) {
  run_io([]() -> Coro<void> {
    std::shared_ptr<asyncio::Server> server;
    try {
      server = co_await asyncio::create_server([] { return std::make_shared<nett::Echo>(); }, "::1", 0);
    } catch (const asyncio::OSError& e) {
      ADD_FAILURE() << "no IPv6 loopback here: " << e.what();
      co_return;
    }
    auto t_p =
        co_await asyncio::create_connection([] { return std::make_shared<Recorder>(); }, "::1", nett::port_of(*server));
    auto t = t_p.first;
    auto p = t_p.second;
    EXPECT_EQ(std::any_cast<SocketAddress>(t->get_extra_info("peername")).family(), AF_INET6);
    EXPECT_EQ(asyncio::get_running_loop().default_executor(), nullptr);
    t->write("six");
    co_await until([&] { return p->data == "six"; });
    t->close();
    server->close();
    co_await server->wait_closed();
  });
}

TEST(ConnectionNames, ServerOnAHostNameBindsItsAddresses) {
  run_io([]() -> Coro<void> {
    auto server = co_await asyncio::create_server([] { return std::make_shared<nett::Echo>(); }, "localhost", 0);
    EXPECT_FALSE(server->sockets().empty());
    for (const auto& s : server->sockets()) {
      const std::string host = s.getsockname().host();
      EXPECT_TRUE(host == "127.0.0.1" || host == "::1") << host;
    }
    server->close();
    co_await server->wait_closed();
  });
}

TEST(ConnectionNames, ALocalAddressOfTheWrongFamilyFailsThatAddress) {
  run_io([]() -> Coro<void> {
    auto server = co_await nett::echo_server();
    try {
      co_await asyncio::create_connection([] { return std::make_shared<Recorder>(); }, "127.0.0.1",
                                          nett::port_of(*server), {.local_addr = SocketAddress("::1", 0)});
      ADD_FAILURE() << "connected from an IPv6 address to an IPv4 one";
    } catch (const asyncio::OSError& e) {
      EXPECT_EQ(e.errno_value(), EADDRNOTAVAIL) << e.what();
    }
    auto t_p =
        co_await asyncio::create_connection([] { return std::make_shared<Recorder>(); }, "127.0.0.1",
                                            nett::port_of(*server), {.local_addr = SocketAddress("127.0.0.1", 0)});
    auto t = t_p.first;
    auto p = t_p.second;
    EXPECT_EQ(std::any_cast<SocketAddress>(t->get_extra_info("sockname")).host(), "127.0.0.1");
    t->close();
    server->close();
    co_await server->wait_closed();
  });
}

}  // namespace
