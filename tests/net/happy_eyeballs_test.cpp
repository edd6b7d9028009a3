// create_connection's attempts: the address interleaving, one attempt after the other, and Happy
// Eyeballs (staggered attempts). Reference: CPython 3.13 base_events.py (_interleave_addrinfos,
// _connect_sock, create_connection) and staggered.py; Lib/test/test_asyncio/test_base_events.py
// (test_interleave_addrinfos, the happy eyeballs and all_errors tests) and test_staggered.py.
//
// An address that never answers is a loopback listener whose backlog is full: listen(0) and one
// connection it never accepts; Linux then drops further SYNs, so a connect to it hangs. The delays
// run on the virtual clock (the jump to a timer happens only when no descriptor is ready), the
// connects themselves on loopback.

#include <gtest/gtest.h>
#include <asyncio/flow/exception_group.hpp>
#include <asyncio/flow/wait_for.hpp>
#include <asyncio/net/connection.hpp>
#include <asyncio/net/detail/happy_eyeballs.hpp>
#include <asyncio/net/sock_ops.hpp>
#include <asyncio/os_error.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "net/transport_test_support.hpp"
#include "support/test_support.hpp"

namespace {

using asyncio::AddrInfo;
using asyncio::Coro;
using asyncio::ExceptionGroup;
using asyncio::get_running_loop;
using asyncio::Socket;
using asyncio::SocketAddress;
using asyncio::detail::connect_any;
using asyncio::detail::ConnectAttempts;
using asyncio::detail::interleave_addrinfos;
using asyncio::testing::run_virtual;
using namespace std::chrono_literals;

AddrInfo info_of(const SocketAddress& address) {
  return AddrInfo{address.family(), SOCK_STREAM, IPPROTO_TCP, {}, address};
}

AddrInfo info_of(const char* host, std::uint16_t port) { return info_of(SocketAddress(host, port)); }

std::vector<std::string> hosts_of(const std::vector<AddrInfo>& infos) {
  std::vector<std::string> out;
  for (const AddrInfo& i : infos) out.push_back(i.address.host());
  return out;
}

/// A loopback address that never answers a connect (see the top of this file).
struct Unanswering {
  Socket listener{AF_INET, SOCK_STREAM};
  Socket filler{AF_INET, SOCK_STREAM};
  SocketAddress address;

  static Coro<std::unique_ptr<Unanswering>> make() {
    auto u = std::make_unique<Unanswering>();
    u->listener.bind(SocketAddress("127.0.0.1", 0));
    u->listener.listen(0);
    u->address = u->listener.getsockname();
    co_await asyncio::sock_connect(u->filler, u->address);  // fills the backlog; never accepted
    co_return u;
  }
};

/// A loopback address that refuses: a port bound (so nobody else takes it) but not listening.
struct Refusing {
  Socket sock{AF_INET, SOCK_STREAM};
  SocketAddress address;
  Refusing() {
    sock.bind(SocketAddress("127.0.0.1", 0));
    address = sock.getsockname();
  }
};

ConnectAttempts staggered(double delay, bool all_errors = false) {
  ConnectAttempts a;
  a.delay = std::chrono::duration<double>(delay);
  a.all_errors = all_errors;
  return a;
}

// --- interleave_addrinfos ------------------------------------------------------------------------

TEST(HappyEyeballs, InterleavingAlternatesTheFamiliesInTheOrderTheyFirstAppear) {
  const std::vector<AddrInfo> infos = {info_of("2001:db8::1", 1), info_of("2001:db8::2", 2), info_of("2001:db8::3", 3),
                                       info_of("192.0.2.1", 5),   info_of("192.0.2.2", 6),   info_of("192.0.2.3", 7),
                                       info_of("192.0.2.4", 8),   info_of("2001:db8::4", 4)};
  EXPECT_EQ(hosts_of(interleave_addrinfos(infos)),
            (std::vector<std::string>{"2001:db8::1", "192.0.2.1", "2001:db8::2", "192.0.2.2", "2001:db8::3",
                                      "192.0.2.3", "2001:db8::4", "192.0.2.4"}));
}

TEST(HappyEyeballs, InterleavingWithAFirstFamilyCountOfTwoPutsTwoOfTheFirstFamilyFirst) {
  const std::vector<AddrInfo> infos = {info_of("2001:db8::1", 1), info_of("2001:db8::2", 2), info_of("2001:db8::3", 3),
                                       info_of("192.0.2.1", 5),   info_of("192.0.2.2", 6),   info_of("192.0.2.3", 7),
                                       info_of("192.0.2.4", 8),   info_of("2001:db8::4", 4)};
  EXPECT_EQ(hosts_of(interleave_addrinfos(infos, 2)),
            (std::vector<std::string>{"2001:db8::1", "2001:db8::2", "192.0.2.1", "2001:db8::3", "192.0.2.2",
                                      "2001:db8::4", "192.0.2.3", "192.0.2.4"}));
}

TEST(HappyEyeballs, InterleavingOneFamilyKeepsItsOrder) {
  const std::vector<AddrInfo> infos = {info_of("192.0.2.3", 1), info_of("192.0.2.1", 2), info_of("192.0.2.2", 3)};
  EXPECT_EQ(hosts_of(interleave_addrinfos(infos)), (std::vector<std::string>{"192.0.2.3", "192.0.2.1", "192.0.2.2"}));
}

TEST(HappyEyeballs, InterleavingWithAFirstFamilyCountBelowOneRaisesValueError) {
  try {
    (void)interleave_addrinfos({info_of("192.0.2.1", 1)}, 0);
    ADD_FAILURE() << "no ValueError";
  } catch (const asyncio::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("interleave must be at least 1"), std::string::npos) << e.what();
  }
}

// --- staggered attempts --------------------------------------------------------------------------

TEST(HappyEyeballs, AnAddressThatNeverAnswersIsOvertakenByTheNextAfterTheDelay) {
  run_virtual([]() -> Coro<void> {
    auto dead = co_await Unanswering::make();
    auto server = co_await nett::echo_server();
    const SocketAddress good("127.0.0.1", nett::port_of(*server));
    std::vector<AddrInfo> infos = {info_of(dead->address), info_of(good)};
    ConnectAttempts how = staggered(0.25);
    auto [sock, peer] = co_await connect_any(std::move(infos), std::move(how));
    EXPECT_TRUE(sock.valid());
    EXPECT_EQ(peer, good);
    EXPECT_EQ(sock.getpeername(), good);
    EXPECT_DOUBLE_EQ(get_running_loop().time(), 0.25);  // the second attempt began at the delay
    sock.close();                                       // wait_closed() waits for the server's side of it
    server->close();
    co_await server->wait_closed();
  });
}

TEST(HappyEyeballs, TheLosingAttemptIsCancelledAndItsSocketClosed) {
  run_virtual([]() -> Coro<void> {
    auto dead = co_await Unanswering::make();
    // A listener nobody accepts on: the kernel completes the connect, and no descriptor is added
    // on this side but the winner's.
    Socket listener(AF_INET, SOCK_STREAM);
    listener.bind(SocketAddress("127.0.0.1", 0));
    listener.listen(8);
    const std::size_t before = nett::open_descriptors();
    std::vector<AddrInfo> infos = {info_of(dead->address), info_of(listener.getsockname())};
    ConnectAttempts how = staggered(0.25);
    auto [sock, peer] = co_await connect_any(std::move(infos), std::move(how));
    EXPECT_EQ(nett::open_descriptors(), before + 1);  // the hanging attempt's socket went with its task
    sock.close();
    EXPECT_EQ(nett::open_descriptors(), before);
  });
}

TEST(HappyEyeballs, AFailedAttemptStartsTheNextAtOnceWithoutWaitingForTheDelay) {
  run_virtual([]() -> Coro<void> {
    Refusing refusing;
    auto server = co_await nett::echo_server();
    const SocketAddress good("127.0.0.1", nett::port_of(*server));
    std::vector<AddrInfo> infos = {info_of(refusing.address), info_of(good)};
    ConnectAttempts how = staggered(30);
    auto [sock, peer] = co_await connect_any(std::move(infos), std::move(how));
    EXPECT_EQ(peer, good);
    EXPECT_LT(get_running_loop().time(), 30.0);
    sock.close();
    server->close();
    co_await server->wait_closed();
  });
}

TEST(HappyEyeballs, CancellingTheRaceClosesEverySocketItOpened) {
  run_virtual([]() -> Coro<void> {
    auto dead = co_await Unanswering::make();
    const std::size_t before = nett::open_descriptors();
    try {
      std::vector<AddrInfo> infos = {info_of(dead->address), info_of(dead->address)};
      ConnectAttempts how = staggered(0.25);
      co_await asyncio::wait_for(connect_any(std::move(infos), std::move(how)), 1.0);
      ADD_FAILURE() << "connected to an address that never answers";
    } catch (const asyncio::TimeoutError&) {
    }
    EXPECT_DOUBLE_EQ(get_running_loop().time(), 1.0);
    EXPECT_EQ(nett::open_descriptors(), before);
  });
}

TEST(HappyEyeballs, WithAllErrorsEveryAttemptsErrorComesInAnExceptionGroup) {
  run_virtual([]() -> Coro<void> {
    Refusing a;
    Refusing b;
    try {
      std::vector<AddrInfo> infos = {info_of(a.address), info_of(b.address)};
      ConnectAttempts how = staggered(0.25, true);
      co_await connect_any(std::move(infos), std::move(how));
      ADD_FAILURE() << "connected to refusing addresses";
    } catch (const ExceptionGroup& eg) {
      EXPECT_EQ(eg.message(), "create_connection failed");
      NETT_CO_ASSERT_EQ(eg.exceptions().size(), 2U);
      for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_TRUE(asyncio::detail::exception_is<asyncio::ConnectionRefusedError>(eg.exceptions()[i]));
      }
      EXPECT_NE(nett::text_of(eg.exceptions()[0]).find(a.address.to_string()), std::string::npos);
      EXPECT_NE(nett::text_of(eg.exceptions()[1]).find(b.address.to_string()), std::string::npos);
    }
  });
}

TEST(HappyEyeballs, ErrorsWithDifferentTextsAreRaisedAsMultipleExceptions) {
  run_virtual([]() -> Coro<void> {
    Refusing a;
    Refusing b;
    try {
      std::vector<AddrInfo> infos = {info_of(a.address), info_of(b.address)};
      ConnectAttempts how = staggered(0.25);
      co_await connect_any(std::move(infos), std::move(how));
      ADD_FAILURE() << "connected to refusing addresses";
    } catch (const asyncio::CreateConnectionError& e) {
      const std::string expected = "Multiple exceptions: connect(" + a.address.to_string() +
                                   "): [Errno 111] Connection refused, connect(" + b.address.to_string() +
                                   "): [Errno 111] Connection refused";
      EXPECT_EQ(std::string(e.what()), expected);
      EXPECT_EQ(e.errors().size(), 2U);
    }
  });
}

TEST(HappyEyeballs, ErrorsWithTheSameTextAreRaisedAsTheFirstOfThem) {
  run_virtual([]() -> Coro<void> {
    Refusing a;
    try {
      std::vector<AddrInfo> infos = {info_of(a.address), info_of(a.address)};
      ConnectAttempts how = ConnectAttempts{};
      co_await connect_any(std::move(infos), std::move(how));
      ADD_FAILURE() << "connected to a refusing address";
    } catch (const asyncio::ConnectionRefusedError& e) {
      EXPECT_EQ(std::string(e.what()), "connect(" + a.address.to_string() + "): [Errno 111] Connection refused");
    }
  });
}

TEST(HappyEyeballs, AnAttemptWithoutALocalAddressOfItsFamilyFailsAndTheNextIsTried) {
  run_virtual([]() -> Coro<void> {
    auto server = co_await nett::echo_server();
    ConnectAttempts attempts;
    attempts.bind_local = true;
    attempts.local = {info_of("127.0.0.1", 0)};
    std::vector<AddrInfo> infos = {info_of("::1", nett::port_of(*server)),
                                   info_of("127.0.0.1", nett::port_of(*server))};
    auto [sock, peer] = co_await connect_any(std::move(infos), std::move(attempts));
    EXPECT_EQ(peer.host(), "127.0.0.1");
    EXPECT_EQ(sock.getsockname().host(), "127.0.0.1");
    sock.close();
    server->close();
    co_await server->wait_closed();
  });
}

TEST(HappyEyeballs, ABindFailureNamesTheLocalAddress) {
  run_virtual([]() -> Coro<void> {
    auto server = co_await nett::echo_server();
    Refusing taken;  // its port is bound: binding to it again fails with EADDRINUSE
    ConnectAttempts attempts;
    attempts.bind_local = true;
    attempts.local = {info_of(taken.address)};
    try {
      std::vector<AddrInfo> infos = {info_of("127.0.0.1", nett::port_of(*server))};
      co_await connect_any(std::move(infos), std::move(attempts));
      ADD_FAILURE() << "bound to a port already bound";
    } catch (const asyncio::OSError& e) {
      EXPECT_EQ(e.errno_value(), EADDRINUSE);
      EXPECT_NE(std::string(e.what()).find("error while attempting to bind on address " + taken.address.to_string()),
                std::string::npos)
          << e.what();
    }
    server->close();
    co_await server->wait_closed();
  });
}

// --- through create_connection -------------------------------------------------------------------

TEST(HappyEyeballs, CreateConnectionWithAHappyEyeballsDelayConnects) {
  run_virtual([]() -> Coro<void> {
    auto server = co_await nett::echo_server();
    auto t_p = co_await asyncio::create_connection([] { return std::make_shared<nett::Recorder>(); }, "127.0.0.1",
                                                   nett::port_of(*server), {.happy_eyeballs_delay = 250ms});
    EXPECT_EQ(t_p.second->made, 1);
    t_p.first->close();
    server->close();
    co_await server->wait_closed();
  });
}

TEST(HappyEyeballs, CreateConnectionWithAllErrorsRaisesAGroupEvenForOneAddress) {
  run_virtual([]() -> Coro<void> {
    Refusing a;
    try {
      co_await asyncio::create_connection([] { return std::make_shared<nett::Recorder>(); }, "127.0.0.1",
                                          a.address.port(), {.all_errors = true});
      ADD_FAILURE() << "connected to a refusing address";
    } catch (const ExceptionGroup& eg) {
      NETT_CO_ASSERT_EQ(eg.exceptions().size(), 1U);
      EXPECT_TRUE(asyncio::detail::exception_is<asyncio::ConnectionRefusedError>(eg.exceptions()[0]));
    }
  });
}

TEST(HappyEyeballs, CreateConnectionRefusesANegativeDelayOrInterleave) {
  run_virtual([]() -> Coro<void> {
    auto factory = [] { return std::make_shared<nett::Recorder>(); };
    try {
      co_await asyncio::create_connection(factory, "127.0.0.1", 9, {.happy_eyeballs_delay = -1s});
      ADD_FAILURE() << "a negative delay was accepted";
    } catch (const asyncio::ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("happy_eyeballs_delay must not be negative"), std::string::npos);
    }
    try {
      co_await asyncio::create_connection(factory, "127.0.0.1", 9, {.interleave = -1});
      ADD_FAILURE() << "a negative interleave was accepted";
    } catch (const asyncio::ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("interleave must not be negative"), std::string::npos);
    }
  });
}

}  // namespace
