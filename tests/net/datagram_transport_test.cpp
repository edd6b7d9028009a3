// create_datagram_endpoint and DatagramSocketTransport: UDP (IPv4, IPv6) and Unix datagram
// sockets. Reference: CPython 3.13 Lib/asyncio/selector_events.py (_SelectorDatagramTransport),
// base_events.py (create_datagram_endpoint) and Lib/test/test_asyncio/test_selector_events.py,
// test_base_events.py, test_events.py. Both ends live in the test's loop, on loopback or a Unix
// socketpair, on the monotonic clock; waiting is `until(condition)` (one loop iteration per round).

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <asyncio/net/datagram_transport.hpp>
#include <asyncio/net/sock_ops.hpp>
#include <asyncio/os_error.hpp>

#include <any>
#include <array>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "net/transport_test_support.hpp"

namespace {

using asyncio::BaseTransport;
using asyncio::Coro;
using asyncio::DatagramOptions;
using asyncio::DatagramTransport;
using asyncio::Socket;
using asyncio::SocketAddress;
using nett::run_io;
using nett::until;

/// A DatagramProtocol that records what the transport calls.
struct Dgram : asyncio::DatagramProtocol {
  DatagramTransport* transport = nullptr;
  std::vector<std::pair<std::string, SocketAddress>> datagrams;
  std::vector<std::exception_ptr> errors;
  std::vector<std::string> calls;  // "made", "datagram", "error", "pause", "resume", "lost"
  int made = 0;
  int lost = 0;
  int pauses = 0;
  int resumes = 0;
  std::exception_ptr lost_error;
  std::function<void(Dgram&, std::string_view, const SocketAddress&)> on_datagram;

  void connection_made(BaseTransport& t) override {
    transport = dynamic_cast<DatagramTransport*>(&t);
    ++made;
    calls.emplace_back("made");
  }
  void datagram_received(std::string_view data, const SocketAddress& from) override {
    datagrams.emplace_back(std::string(data), from);
    calls.emplace_back("datagram");
    if (on_datagram) on_datagram(*this, data, from);
  }
  void error_received(std::exception_ptr e) override {
    errors.push_back(e);
    calls.emplace_back("error");
  }
  void pause_writing() override {
    ++pauses;
    calls.emplace_back("pause");
  }
  void resume_writing() override {
    ++resumes;
    calls.emplace_back("resume");
  }
  void connection_lost(std::exception_ptr e) override {
    ++lost;
    lost_error = e;
    calls.emplace_back("lost");
  }
};

auto make_dgram = [] { return std::make_shared<Dgram>(); };

SocketAddress sockname_of(const DatagramTransport& t) {
  return std::any_cast<SocketAddress>(t.get_extra_info("sockname"));
}

/// An endpoint bound to 127.0.0.1 (the server) and one connected to it (the client), with their
/// protocols: the set-up most tests start from.
struct Endpoints {
  std::shared_ptr<DatagramTransport> server;
  std::shared_ptr<Dgram> sp;
  std::shared_ptr<DatagramTransport> client;
  std::shared_ptr<Dgram> cp;
};

Coro<Endpoints> connected_endpoints() {
  Endpoints e;
  auto server_sp = co_await asyncio::create_datagram_endpoint(
      make_dgram, DatagramOptions{.local_addr = SocketAddress("127.0.0.1", 0)});
  e.server = server_sp.first;
  e.sp = server_sp.second;
  auto client_cp =
      co_await asyncio::create_datagram_endpoint(make_dgram, DatagramOptions{.remote_addr = sockname_of(*e.server)});
  e.client = client_cp.first;
  e.cp = client_cp.second;
  co_return e;
}

/// A directory for Unix socket files, removed with its contents at the end of the test.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char name[] = "/tmp/asyncio-dgram-XXXXXX";
    path = ::mkdtemp(name);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] std::string file(const char* name) const { return (path / name).string(); }
};

/// The transport of a connected Unix datagram socketpair end, and the other end as a raw socket.
struct UnixPair {
  std::shared_ptr<DatagramTransport> transport;
  std::shared_ptr<Dgram> protocol;
  Socket other;
};

Coro<UnixPair> unix_pair() {
  auto [mine, other] = Socket::socketpair(AF_UNIX, SOCK_DGRAM);
  auto t_p = co_await asyncio::create_datagram_endpoint(make_dgram, std::move(mine));
  auto t = t_p.first;
  auto p = t_p.second;
  co_return UnixPair{std::move(t), std::move(p), std::move(other)};
}

// --- exchanging datagrams ------------------------------------------------------------------------

TEST(DatagramEndpoint, TwoUdpEndpointsExchangeDatagramsOnLoopback) {
  run_io([]() -> Coro<void> {
    auto server_sp = co_await asyncio::create_datagram_endpoint(
        make_dgram, DatagramOptions{.local_addr = SocketAddress("127.0.0.1", 0)});
    auto server = server_sp.first;
    auto sp = server_sp.second;
    sp->on_datagram = [](Dgram& self, std::string_view data, const SocketAddress& from) {
      self.transport->sendto(std::string("echo:") + std::string(data), from);
    };
    const SocketAddress server_address = sockname_of(*server);
    auto client_cp =
        co_await asyncio::create_datagram_endpoint(make_dgram, DatagramOptions{.remote_addr = server_address});
    auto client = client_cp.first;
    auto cp = client_cp.second;
    client->sendto("ping");
    co_await until([&] { return !cp->datagrams.empty(); });
    EXPECT_EQ(cp->datagrams.at(0).first, "echo:ping");
    EXPECT_EQ(cp->datagrams.at(0).second, server_address);
    EXPECT_EQ(sp->datagrams.at(0).second, sockname_of(*client));
    client->close();
    server->close();
    co_await until([&] { return cp->lost == 1 && sp->lost == 1; });
  });
}

TEST(DatagramEndpoint, EachDatagramArrivesWholeAndSeparately) {
  run_io([]() -> Coro<void> {
    const Endpoints e = co_await connected_endpoints();
    auto server = e.server;
    auto sp = e.sp;
    auto client = e.client;
    auto cp = e.cp;
    const std::string big = nett::pattern(60000);
    client->sendto("one");
    client->sendto(big);
    client->sendto("three");
    co_await until([&] { return sp->datagrams.size() == 3; });
    EXPECT_EQ(sp->datagrams[0].first, "one");
    EXPECT_EQ(sp->datagrams[1].first, big);
    EXPECT_EQ(sp->datagrams[2].first, "three");
    client->close();
    server->close();
  });
}

TEST(DatagramEndpoint, AnEmptyDatagramIsSentAndReceived) {
  run_io([]() -> Coro<void> {
    const Endpoints e = co_await connected_endpoints();
    auto server = e.server;
    auto sp = e.sp;
    auto client = e.client;
    auto cp = e.cp;
    client->sendto("");
    co_await until([&] { return !sp->datagrams.empty(); });
    EXPECT_EQ(sp->datagrams.at(0).first, "");
    client->close();
    server->close();
  });
}

TEST(DatagramEndpoint, Ipv6LoopbackEndpointsExchangeDatagrams) {
  run_io([]() -> Coro<void> {
    auto server_sp =
        co_await asyncio::create_datagram_endpoint(make_dgram, DatagramOptions{.local_addr = SocketAddress("::1", 0)});
    auto server = server_sp.first;
    auto sp = server_sp.second;
    EXPECT_EQ(sockname_of(*server).family(), AF_INET6);
    auto client_cp = co_await asyncio::create_datagram_endpoint(
        make_dgram, DatagramOptions{.local_addr = SocketAddress("::1", 0), .family = AF_INET6});
    auto client = client_cp.first;
    auto cp = client_cp.second;
    client->sendto("six", sockname_of(*server));
    co_await until([&] { return !sp->datagrams.empty(); });
    EXPECT_EQ(sp->datagrams.at(0).first, "six");
    EXPECT_EQ(sp->datagrams.at(0).second, sockname_of(*client));
    client->close();
    server->close();
  });
}

TEST(DatagramEndpoint, ConnectionMadeRunsBeforeTheCallReturnsAndBeforeAnyDatagram) {
  run_io([]() -> Coro<void> {
    auto server_sp = co_await asyncio::create_datagram_endpoint(
        make_dgram, DatagramOptions{.local_addr = SocketAddress("127.0.0.1", 0)});
    auto server = server_sp.first;
    auto sp = server_sp.second;
    EXPECT_EQ(sp->made, 1);
    EXPECT_EQ(sp->transport, server.get());
    auto client_cp =
        co_await asyncio::create_datagram_endpoint(make_dgram, DatagramOptions{.remote_addr = sockname_of(*server)});
    auto client = client_cp.first;
    auto cp = client_cp.second;
    client->sendto("x");
    co_await until([&] { return !sp->datagrams.empty(); });
    EXPECT_EQ(sp->calls.at(0), "made");
    EXPECT_EQ(sp->calls.at(1), "datagram");
    client->close();
    server->close();
  });
}

// --- addresses and options -----------------------------------------------------------------------

TEST(DatagramEndpoint, LocalAddrBindsAndSocknameReportsTheChosenPort) {
  run_io([]() -> Coro<void> {
    auto t_p = co_await asyncio::create_datagram_endpoint(make_dgram,
                                                          DatagramOptions{.local_addr = SocketAddress("127.0.0.1", 0)});
    auto t = t_p.first;
    auto p = t_p.second;
    const SocketAddress name = sockname_of(*t);
    EXPECT_EQ(name.host(), "127.0.0.1");
    EXPECT_NE(name.port(), 0);
    EXPECT_FALSE(t->get_extra_info("peername").has_value());
    const auto* sock = std::any_cast<const Socket*>(t->get_extra_info("socket"));
    EXPECT_EQ(sock->type(), SOCK_DGRAM);
    t->close();
  });
}

TEST(DatagramEndpoint, RemoteAddrConnectsAndPeernameReportsIt) {
  run_io([]() -> Coro<void> {
    const Endpoints e = co_await connected_endpoints();
    auto server = e.server;
    auto sp = e.sp;
    auto client = e.client;
    auto cp = e.cp;
    EXPECT_EQ(std::any_cast<SocketAddress>(client->get_extra_info("peername")), sockname_of(*server));
    client->close();
    server->close();
  });
}

TEST(DatagramEndpoint, SendtoAnotherAddressThanTheRemoteOneRaisesValueError) {
  run_io([]() -> Coro<void> {
    const Endpoints e = co_await connected_endpoints();
    auto server = e.server;
    auto sp = e.sp;
    auto client = e.client;
    auto cp = e.cp;
    EXPECT_THROW(client->sendto("x", SocketAddress("127.0.0.1", 9)), asyncio::ValueError);
    EXPECT_NO_THROW(client->sendto("x", sockname_of(*server)));  // the remote address itself is fine
    co_await until([&] { return !sp->datagrams.empty(); });
    client->close();
    server->close();
  });
}

TEST(DatagramEndpoint, SendtoWithoutAnAddressOnAnUnconnectedEndpointRaisesValueError) {
  run_io([]() -> Coro<void> {
    auto t_p = co_await asyncio::create_datagram_endpoint(make_dgram,
                                                          DatagramOptions{.local_addr = SocketAddress("127.0.0.1", 0)});
    auto t = t_p.first;
    auto p = t_p.second;
    EXPECT_THROW(t->sendto("x"), asyncio::ValueError);
    EXPECT_FALSE(t->is_closing());
    t->close();
  });
}

TEST(DatagramEndpoint, NoAddressAndNoFamilyRaisesValueError) {
  run_io([]() -> Coro<void> {
    EXPECT_THROW(co_await asyncio::create_datagram_endpoint(make_dgram, DatagramOptions{}), asyncio::ValueError);
  });
}

TEST(DatagramEndpoint, AFamilyAloneMakesAnUnboundSocketThatCanSendToAnyAddress) {
  run_io([]() -> Coro<void> {
    auto server_sp = co_await asyncio::create_datagram_endpoint(
        make_dgram, DatagramOptions{.local_addr = SocketAddress("127.0.0.1", 0)});
    auto server = server_sp.first;
    auto sp = server_sp.second;
    auto t_p = co_await asyncio::create_datagram_endpoint(make_dgram, DatagramOptions{.family = AF_INET});
    auto t = t_p.first;
    auto p = t_p.second;
    t->sendto("hi", sockname_of(*server));
    co_await until([&] { return !sp->datagrams.empty(); });
    EXPECT_EQ(sp->datagrams.at(0).first, "hi");
    t->close();
    server->close();
  });
}

TEST(DatagramEndpoint, AddressesOfDifferentFamiliesRaiseValueError) {
  run_io([]() -> Coro<void> {
    EXPECT_THROW(co_await asyncio::create_datagram_endpoint(make_dgram,
                                                            DatagramOptions{.local_addr = SocketAddress("127.0.0.1", 0),
                                                                            .remote_addr = SocketAddress("::1", 9)}),
                 asyncio::ValueError);
    EXPECT_THROW(co_await asyncio::create_datagram_endpoint(
                     make_dgram, DatagramOptions{.local_addr = SocketAddress("127.0.0.1", 0), .family = AF_INET6}),
                 asyncio::ValueError);
  });
}

TEST(DatagramEndpoint, BindingAnAddressInUseRaisesOSErrorNamingIt) {
  run_io([]() -> Coro<void> {
    auto t_p = co_await asyncio::create_datagram_endpoint(make_dgram,
                                                          DatagramOptions{.local_addr = SocketAddress("127.0.0.1", 0)});
    auto t = t_p.first;
    auto p = t_p.second;
    const SocketAddress taken = sockname_of(*t);
    int error = 0;
    std::string message;
    try {
      co_await asyncio::create_datagram_endpoint(make_dgram, DatagramOptions{.local_addr = taken});
    } catch (const asyncio::OSError& e) {
      error = e.errno_value();
      message = e.what();
    }
    EXPECT_EQ(error, EADDRINUSE);
    EXPECT_NE(message.find(taken.to_string()), std::string::npos) << message;
    t->close();
  });
}

TEST(DatagramEndpoint, ReusePortLetsTwoEndpointsBindTheSameAddress) {
  run_io([]() -> Coro<void> {
    auto a_ap = co_await asyncio::create_datagram_endpoint(
        make_dgram, DatagramOptions{.local_addr = SocketAddress("127.0.0.1", 0), .reuse_port = true});
    auto a = a_ap.first;
    auto ap = a_ap.second;
    auto b_bp = co_await asyncio::create_datagram_endpoint(
        make_dgram, DatagramOptions{.local_addr = sockname_of(*a), .reuse_port = true});
    auto b = b_bp.first;
    auto bp = b_bp.second;
    EXPECT_EQ(sockname_of(*a), sockname_of(*b));
    a->close();
    b->close();
  });
}

TEST(DatagramEndpoint, AllowBroadcastSetsSoBroadcastAndKeepsTheRemoteAddressAsTheDefault) {
  run_io([]() -> Coro<void> {
    auto server_sp = co_await asyncio::create_datagram_endpoint(
        make_dgram, DatagramOptions{.local_addr = SocketAddress("127.0.0.1", 0)});
    auto server = server_sp.first;
    auto sp = server_sp.second;
    auto t_p = co_await asyncio::create_datagram_endpoint(
        make_dgram, DatagramOptions{.remote_addr = sockname_of(*server), .allow_broadcast = true});
    auto t = t_p.first;
    auto p = t_p.second;
    const auto* sock = std::any_cast<const Socket*>(t->get_extra_info("socket"));
    EXPECT_EQ(sock->get_option(SOL_SOCKET, SO_BROADCAST), 1);
    EXPECT_FALSE(t->get_extra_info("peername").has_value());  // not connected, as Python
    t->sendto("default");                                     // to the remote address
    co_await until([&] { return !sp->datagrams.empty(); });
    EXPECT_EQ(sp->datagrams.at(0).first, "default");
    t->close();
    server->close();
  });
}

TEST(DatagramEndpoint, ASockOfAnotherTypeRaisesValueError) {
  run_io([]() -> Coro<void> {
    EXPECT_THROW(co_await asyncio::create_datagram_endpoint(make_dgram, Socket(AF_INET, SOCK_STREAM)),
                 asyncio::ValueError);
    EXPECT_THROW(co_await asyncio::create_datagram_endpoint(make_dgram, Socket()), asyncio::ValueError);
  });
}

TEST(DatagramEndpoint, AnExistingBoundSocketIsWrapped) {
  run_io([]() -> Coro<void> {
    Socket sock(AF_INET, SOCK_DGRAM);
    sock.bind(SocketAddress("127.0.0.1", 0));
    const SocketAddress address = sock.getsockname();
    auto t_p = co_await asyncio::create_datagram_endpoint(make_dgram, std::move(sock));
    auto t = t_p.first;
    auto p = t_p.second;
    EXPECT_EQ(sockname_of(*t), address);
    t->close();
  });
}

// --- errors --------------------------------------------------------------------------------------

TEST(DatagramEndpoint, ADatagramToAClosedPortGivesErrorReceivedConnectionRefused) {
  run_io([]() -> Coro<void> {
    SocketAddress closed_port;
    {
      Socket probe(AF_INET, SOCK_DGRAM);
      probe.bind(SocketAddress("127.0.0.1", 0));
      closed_port = probe.getsockname();
    }  // nothing listens there any more: the kernel answers with ICMP port unreachable
    auto t_p = co_await asyncio::create_datagram_endpoint(make_dgram, DatagramOptions{.remote_addr = closed_port});
    auto t = t_p.first;
    auto p = t_p.second;
    t->sendto("anyone?");
    co_await until([&] { return !p->errors.empty(); });
    EXPECT_THROW(std::rethrow_exception(p->errors.at(0)), asyncio::ConnectionRefusedError);
    EXPECT_FALSE(t->is_closing());  // an error_received does not close the endpoint
    EXPECT_EQ(p->lost, 0);
    t->close();
    co_await until([&] { return p->lost == 1; });
    EXPECT_EQ(p->lost_error, nullptr);
  });
}

TEST(DatagramEndpoint, ASendThatFailsAtOnceGoesToErrorReceived) {
  run_io([]() -> Coro<void> {
    auto t_p = co_await asyncio::create_datagram_endpoint(make_dgram,
                                                          DatagramOptions{.local_addr = SocketAddress("127.0.0.1", 0)});
    auto t = t_p.first;
    auto p = t_p.second;
    t->sendto(std::string(70000, 'x'), SocketAddress("127.0.0.1", 9));  // larger than any UDP datagram
    NETT_CO_ASSERT_EQ(p->errors.size(), 1u);
    int error = 0;
    try {
      std::rethrow_exception(p->errors[0]);
    } catch (const asyncio::OSError& e) {
      error = e.errno_value();
    }
    EXPECT_EQ(error, EMSGSIZE);
    EXPECT_FALSE(t->is_closing());
    t->close();
  });
}

TEST(DatagramEndpoint, AnExceptionFromDatagramReceivedIsReportedAndTheEndpointStaysOpen) {
  run_io([]() -> Coro<void> {
    asyncio::testing::HandlerCapture handler(asyncio::get_running_loop());
    auto server_sp = co_await asyncio::create_datagram_endpoint(
        make_dgram, DatagramOptions{.local_addr = SocketAddress("127.0.0.1", 0)});
    auto server = server_sp.first;
    auto sp = server_sp.second;
    sp->on_datagram = [](Dgram&, std::string_view data, const SocketAddress&) {
      if (data == "bad") throw std::runtime_error("bad datagram");
    };
    auto client_cp =
        co_await asyncio::create_datagram_endpoint(make_dgram, DatagramOptions{.remote_addr = sockname_of(*server)});
    auto client = client_cp.first;
    auto cp = client_cp.second;
    client->sendto("bad");
    client->sendto("good");
    co_await until([&] { return sp->datagrams.size() == 2; });
    EXPECT_EQ(sp->datagrams[1].first, "good");
    NETT_CO_ASSERT_EQ(handler.contexts().size(), 1u);
    EXPECT_NE(handler.contexts()[0].message.find("datagram_received"), std::string::npos);
    EXPECT_FALSE(server->is_closing());
    client->close();
    server->close();
  });
}

// --- queueing and flow control (a Unix datagram socketpair: the peer's queue fills up) ----------

TEST(DatagramEndpoint, DatagramsThatDoNotFitAreQueuedAndSentInOrderAsThePeerDrains) {
  run_io([]() -> Coro<void> {
    UnixPair pair = co_await unix_pair();
    int count = 0;
    while (pair.transport->get_write_buffer_size() == 0) {  // until the peer's queue is full
      pair.transport->sendto("datagram " + std::to_string(count++));
    }
    for (int extra = 0; extra < 50; ++extra) pair.transport->sendto("datagram " + std::to_string(count++));
    EXPECT_GT(pair.transport->get_write_buffer_size(), 50u * 8u);
    for (int i = 0; i < count; ++i) {
      std::string got = co_await asyncio::sock_recv(pair.other, 100);
      EXPECT_EQ(got, "datagram " + std::to_string(i));
    }
    EXPECT_EQ(pair.transport->get_write_buffer_size(), 0u);
    pair.transport->close();
  });
}

TEST(DatagramEndpoint, TheQueueCountsEachDatagramWithEightBytesMore) {
  run_io([]() -> Coro<void> {
    UnixPair pair = co_await unix_pair();
    while (pair.transport->get_write_buffer_size() == 0) pair.transport->sendto("x");  // until one is queued
    EXPECT_EQ(pair.transport->get_write_buffer_size(), 1u + 8u);
    pair.transport->sendto("abc");
    EXPECT_EQ(pair.transport->get_write_buffer_size(), 1u + 8u + 3u + 8u);
    pair.transport->abort();
  });
}

TEST(DatagramEndpoint, AQueueAboveTheHighWaterMarkPausesTheProtocolAndDrainingResumesIt) {
  run_io([]() -> Coro<void> {
    UnixPair pair = co_await unix_pair();
    auto* transport = dynamic_cast<asyncio::DatagramSocketTransport*>(pair.transport.get());
    transport->set_write_buffer_limits(4096, 1024);
    EXPECT_EQ(transport->get_write_buffer_limits(), (std::pair<std::size_t, std::size_t>{1024, 4096}));
    while (pair.protocol->pauses == 0) transport->sendto(std::string(500, 'p'));
    EXPECT_GT(transport->get_write_buffer_size(), 4096u);
    EXPECT_EQ(pair.protocol->resumes, 0);
    while (pair.protocol->resumes == 0) co_await asyncio::sock_recv(pair.other, 1000);
    EXPECT_LE(transport->get_write_buffer_size(), 1024u);
    EXPECT_EQ(pair.protocol->calls.back(), "resume");
    transport->abort();
  });
}

TEST(DatagramEndpoint, CloseSendsWhatIsQueuedAndWhatIsSentAfterItBeforeConnectionLost) {
  // As CPython: until the queue is empty, close() has not ended the endpoint, and sendto() queues.
  run_io([]() -> Coro<void> {
    UnixPair pair = co_await unix_pair();
    int sent = 0;
    while (pair.transport->get_write_buffer_size() == 0) pair.transport->sendto("d" + std::to_string(sent++));
    pair.transport->sendto("last");
    pair.transport->close();
    EXPECT_TRUE(pair.transport->is_closing());
    pair.transport->sendto("after");
    std::vector<std::string> got;
    while (got.empty() || got.back() != "after") got.push_back(co_await asyncio::sock_recv(pair.other, 100));
    EXPECT_EQ(got.size(), static_cast<std::size_t>(sent) + 2);
    co_await until([&] { return pair.protocol->lost == 1; });
    EXPECT_EQ(pair.protocol->lost_error, nullptr);
  });
}

TEST(DatagramEndpoint, SendtoAfterCloseWithNothingQueuedIsDropped) {
  run_io([]() -> Coro<void> {
    UnixPair pair = co_await unix_pair();
    pair.transport->sendto("first");
    pair.transport->close();
    pair.transport->sendto("dropped");
    co_await until([&] { return pair.protocol->lost == 1; });
    pair.transport->sendto("after connection_lost");
    EXPECT_EQ(co_await asyncio::sock_recv(pair.other, 100), "first");
    char byte;
    EXPECT_EQ(::recv(pair.other.fileno(), &byte, 1, MSG_DONTWAIT), -1);  // nothing else came
  });
}

TEST(DatagramEndpoint, AbortDropsTheQueueAndCallsConnectionLost) {
  run_io([]() -> Coro<void> {
    UnixPair pair = co_await unix_pair();
    int sent = 0;
    while (pair.transport->get_write_buffer_size() == 0) pair.transport->sendto("d" + std::to_string(sent++));
    pair.transport->abort();
    EXPECT_EQ(pair.transport->get_write_buffer_size(), 0u);
    co_await until([&] { return pair.protocol->lost == 1; });
    // Only what the kernel had taken arrives.
    int received = 0;
    std::array<char, 100> buffer{};
    while (pair.other.try_recv(buffer)) ++received;
    EXPECT_EQ(received, sent - 1);
  });
}

// --- closing -------------------------------------------------------------------------------------

TEST(DatagramEndpoint, CloseCallsConnectionLostOnceFromALaterIterationAndClosesTheSocket) {
  run_io([]() -> Coro<void> {
    auto t_p = co_await asyncio::create_datagram_endpoint(make_dgram,
                                                          DatagramOptions{.local_addr = SocketAddress("127.0.0.1", 0)});
    auto t = t_p.first;
    auto p = t_p.second;
    const auto* sock = std::any_cast<const Socket*>(t->get_extra_info("socket"));
    t->close();
    t->close();
    EXPECT_EQ(p->lost, 0);
    co_await until([&] { return p->lost == 1; });
    co_await asyncio::sleep(0);
    EXPECT_EQ(p->lost, 1);
    EXPECT_EQ(sock->fileno(), -1);
    EXPECT_EQ(p->calls, (std::vector<std::string>{"made", "lost"}));
  });
}

TEST(DatagramEndpoint, SendtoAfterAbortIsDroppedAsInCPython) {
  run_io([]() -> Coro<void> {
    auto t_p = co_await asyncio::create_datagram_endpoint(make_dgram,
                                                          DatagramOptions{.local_addr = SocketAddress("127.0.0.1", 0)});
    auto t = t_p.first;
    auto p = t_p.second;
    t->abort();
    t->sendto("x", SocketAddress("127.0.0.1", 9));
    EXPECT_EQ(t->get_write_buffer_size(), 0u);
    co_await until([&] { return p->lost == 1; });
  });
}

TEST(DatagramEndpoint, ClosingTheLoopAbandonsAnOpenEndpointAndClosesItsSocket) {
  const std::size_t before = nett::open_descriptors();
  auto protocol = std::make_shared<Dgram>();
  {
    asyncio::EventLoop loop;
    auto factory = [protocol] { return protocol; };
    auto endpoint = loop.run_until_complete(
        asyncio::create_datagram_endpoint(factory, DatagramOptions{.local_addr = SocketAddress("127.0.0.1", 0)}));
    EXPECT_EQ(protocol->made, 1);
    loop.close();
  }
  EXPECT_EQ(protocol->lost, 0);  // the loop can run nothing any more
  EXPECT_EQ(nett::open_descriptors(), before);
}

TEST(DatagramEndpoint, ATransportWithAProtocolOfAnotherKindRaisesTypeError) {
  run_io([]() -> Coro<void> {
    auto t_p = co_await asyncio::create_datagram_endpoint(make_dgram,
                                                          DatagramOptions{.local_addr = SocketAddress("127.0.0.1", 0)});
    auto t = t_p.first;
    auto p = t_p.second;
    EXPECT_THROW(t->set_protocol(std::make_shared<nett::Recorder>()), asyncio::TypeError);
    EXPECT_EQ(t->get_protocol(), p);
    t->close();
  });
}

// --- Unix datagram sockets -----------------------------------------------------------------------

TEST(DatagramEndpoint, UnixDatagramEndpointsExchangeDatagramsByPath) {
  TempDir dir;
  const std::string server_path = dir.file("server.sock");
  const std::string client_path = dir.file("client.sock");
  run_io([&]() -> Coro<void> {
    auto server_sp = co_await asyncio::create_datagram_endpoint(
        make_dgram, DatagramOptions{.local_addr = SocketAddress::from_path(server_path)});
    auto server = server_sp.first;
    auto sp = server_sp.second;
    sp->on_datagram = [](Dgram& self, std::string_view data, const SocketAddress& from) {
      self.transport->sendto(std::string("re:") + std::string(data), from);
    };
    auto client_cp = co_await asyncio::create_datagram_endpoint(
        make_dgram, DatagramOptions{.local_addr = SocketAddress::from_path(client_path),
                                    .remote_addr = SocketAddress::from_path(server_path)});
    auto client = client_cp.first;
    auto cp = client_cp.second;
    client->sendto("unix");
    co_await until([&] { return !cp->datagrams.empty(); });
    EXPECT_EQ(cp->datagrams.at(0).first, "re:unix");
    EXPECT_EQ(cp->datagrams.at(0).second.path(), server_path);
    EXPECT_EQ(sp->datagrams.at(0).second.path(), client_path);
    client->close();
    server->close();
  });
}

TEST(DatagramEndpoint, AnUnboundUnixSenderHasAnEmptyAddress) {
  TempDir dir;
  const std::string path = dir.file("server.sock");
  run_io([&]() -> Coro<void> {
    auto server_sp = co_await asyncio::create_datagram_endpoint(
        make_dgram, DatagramOptions{.local_addr = SocketAddress::from_path(path)});
    auto server = server_sp.first;
    auto sp = server_sp.second;
    auto client_cp = co_await asyncio::create_datagram_endpoint(
        make_dgram, DatagramOptions{.remote_addr = SocketAddress::from_path(path)});
    auto client = client_cp.first;
    auto cp = client_cp.second;
    client->sendto("anonymous");
    co_await until([&] { return !sp->datagrams.empty(); });
    EXPECT_EQ(sp->datagrams.at(0).second.family(), AF_UNIX);
    EXPECT_EQ(sp->datagrams.at(0).second.path(), "");
    client->close();
    server->close();
  });
}

TEST(DatagramEndpoint, AStaleUnixSocketFileIsRemovedBeforeBinding) {
  TempDir dir;
  const std::string path = dir.file("stale.sock");
  {
    Socket stale(AF_UNIX, SOCK_DGRAM);
    stale.bind(SocketAddress::from_path(path));
  }  // closed, but the file stays
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  run_io([&]() -> Coro<void> {
    auto t_p = co_await asyncio::create_datagram_endpoint(
        make_dgram, DatagramOptions{.local_addr = SocketAddress::from_path(path)});
    auto t = t_p.first;
    auto p = t_p.second;
    EXPECT_EQ(sockname_of(*t).path(), path);
    t->close();
  });
}

TEST(DatagramEndpoint, AnAbstractUnixAddressWorksWithoutAFile) {
  const std::string name = "asyncio-dgram-test-" + std::to_string(::getpid());
  run_io([&]() -> Coro<void> {
    auto server_sp = co_await asyncio::create_datagram_endpoint(
        make_dgram, DatagramOptions{.local_addr = SocketAddress::from_abstract(name)});
    auto server = server_sp.first;
    auto sp = server_sp.second;
    auto client_cp = co_await asyncio::create_datagram_endpoint(
        make_dgram, DatagramOptions{.remote_addr = SocketAddress::from_abstract(name)});
    auto client = client_cp.first;
    auto cp = client_cp.second;
    client->sendto("abstract");
    co_await until([&] { return !sp->datagrams.empty(); });
    EXPECT_EQ(sp->datagrams.at(0).first, "abstract");
    EXPECT_TRUE(sockname_of(*server).is_abstract());
    client->close();
    server->close();
  });
}

TEST(DatagramEndpoint, ARemoteUnixPathThatDoesNotExistRaisesFileNotFoundError) {
  TempDir dir;
  run_io([&]() -> Coro<void> {
    bool raised = false;
    try {
      co_await asyncio::create_datagram_endpoint(
          make_dgram, DatagramOptions{.remote_addr = SocketAddress::from_path(dir.file("nobody.sock"))});
    } catch (const asyncio::FileNotFoundError&) {
      raised = true;
    }
    EXPECT_TRUE(raised);
  });
}

}  // namespace
