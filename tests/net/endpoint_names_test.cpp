// Host names where CPython resolves them besides create_connection's host: create_connection's
// local_addr and create_datagram_endpoint's local_addr / remote_addr, given as a HostPort.
// Reference: CPython 3.13 base_events.py (create_datagram_endpoint, _connect_sock, _ensure_resolved)
// and Lib/test/test_asyncio/test_base_events.py (test_create_datagram_endpoint_*,
// test_create_connection_local_addr*).

#include <gtest/gtest.h>
#include <asyncio/exceptions.hpp>
#include <asyncio/net/connection.hpp>
#include <asyncio/net/datagram_transport.hpp>
#include <asyncio/net/host_port.hpp>

#include <any>
#include <memory>
#include <string>
#include <vector>

#include "net/transport_test_support.hpp"

namespace {

using asyncio::Coro;
using asyncio::DatagramOptions;
using asyncio::HostPort;
using asyncio::SocketAddress;
using nett::run_io;
using nett::until;

struct Dgram : asyncio::DatagramProtocol {
  asyncio::DatagramTransport* transport = nullptr;
  std::vector<std::string> received;
  void connection_made(asyncio::BaseTransport& t) override {
    transport = dynamic_cast<asyncio::DatagramTransport*>(&t);
  }
  void datagram_received(std::string_view data, const SocketAddress&) override { received.emplace_back(data); }
};

auto make_dgram = [] { return std::make_shared<Dgram>(); };

SocketAddress sockname_of(asyncio::BaseTransport& t) {
  return std::any_cast<SocketAddress>(t.get_extra_info("sockname"));
}

TEST(EndpointNames, HostPortRefusesAnEmptyOrOverlongHost) {
  EXPECT_THROW(HostPort("", 80), asyncio::ValueError);
  EXPECT_THROW(HostPort(std::string(300, 'a'), 80), asyncio::ValueError);
  EXPECT_EQ(HostPort("localhost", 80).to_string(), "localhost:80");
  EXPECT_EQ(HostPort("::1", 80).to_string(), "[::1]:80");
  EXPECT_EQ(HostPort(SocketAddress("127.0.0.1", 5)).to_string(), "127.0.0.1:5");
}

TEST(EndpointNames, ADatagramEndpointBindsToALocalHostName) {
  run_io([]() -> Coro<void> {
    auto t_p = co_await asyncio::create_datagram_endpoint(
        make_dgram, DatagramOptions{.local_addr = HostPort("localhost", 0), .family = AF_INET});
    EXPECT_EQ(sockname_of(*t_p.first).host(), "127.0.0.1");
    t_p.first->close();
  });
}

TEST(EndpointNames, ADatagramEndpointConnectsToARemoteHostName) {
  run_io([]() -> Coro<void> {
    auto server = co_await asyncio::create_datagram_endpoint(
        make_dgram, DatagramOptions{.local_addr = SocketAddress("127.0.0.1", 0)});
    const std::uint16_t port = sockname_of(*server.first).port();
    auto client = co_await asyncio::create_datagram_endpoint(
        make_dgram, DatagramOptions{.remote_addr = HostPort("localhost", port), .family = AF_INET});
    client.first->sendto("by name");
    co_await until([&] { return !server.second->received.empty(); });
    EXPECT_EQ(server.second->received.front(), "by name");
    client.first->close();
    server.first->close();
  });
}

TEST(EndpointNames, ANumericHostPortNeedsNoExecutor) {
  run_io([]() -> Coro<void> {
    auto t_p =
        co_await asyncio::create_datagram_endpoint(make_dgram, DatagramOptions{.local_addr = HostPort("127.0.0.1", 0)});
    EXPECT_EQ(asyncio::get_running_loop().default_executor(), nullptr);
    EXPECT_EQ(sockname_of(*t_p.first).host(), "127.0.0.1");
    t_p.first->close();
  });
}

TEST(EndpointNames, DatagramAddressesOfNoCommonFamilyRaiseValueError) {
  run_io([]() -> Coro<void> {
    try {
      co_await asyncio::create_datagram_endpoint(
          make_dgram, DatagramOptions{.local_addr = HostPort("127.0.0.1", 0), .remote_addr = HostPort("::1", 9)});
      ADD_FAILURE() << "addresses of different families were accepted";
    } catch (const asyncio::ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("can not get address information"), std::string::npos) << e.what();
    }
  });
}

TEST(EndpointNames, AUnixDatagramEndpointRefusesAHostName) {
  run_io([]() -> Coro<void> {
    try {
      co_await asyncio::create_datagram_endpoint(
          make_dgram, DatagramOptions{.local_addr = HostPort("localhost", 0), .family = AF_UNIX});
      ADD_FAILURE() << "a host name was accepted for a Unix datagram socket";
    } catch (const asyncio::ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("SocketAddress::from_path"), std::string::npos) << e.what();
    }
  });
}

TEST(EndpointNames, CreateConnectionBindsToALocalHostName) {
  run_io([]() -> Coro<void> {
    auto server = co_await nett::echo_server();
    auto t_p = co_await asyncio::create_connection([] { return std::make_shared<nett::Recorder>(); }, "127.0.0.1",
                                                   nett::port_of(*server), {.local_addr = HostPort("localhost", 0)});
    EXPECT_EQ(sockname_of(*t_p.first).host(), "127.0.0.1");
    t_p.first->close();
    server->close();
    co_await server->wait_closed();
  });
}

}  // namespace
