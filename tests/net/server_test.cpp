// create_server, create_unix_server, create_unix_connection and asyncio.Server: serving, closing,
// waiting for connections, serve_forever, SO_REUSEPORT, and the accept loop's back-off when the
// process runs out of descriptors. Reference: CPython 3.13 Lib/asyncio/base_events.py (Server,
// create_server), selector_events.py (_accept_connection), unix_events.py, and
// Lib/test/test_asyncio/test_server.py, test_events.py. Peers are in the test's loop; the back-off
// test runs on the virtual clock (its retry delay is a timer), the others on the monotonic clock.

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <asyncio/net/connection.hpp>
#include <asyncio/net/server.hpp>
#include <asyncio/os_error.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "net/transport_test_support.hpp"

namespace {

using asyncio::Coro;
using asyncio::Server;
using asyncio::SocketAddress;
using asyncio::Transport;
using nett::Recorder;
using nett::RecorderFactory;
using nett::run_io;
using nett::until;

/// Connects `n` Recorder clients to `server`.
Coro<std::vector<std::pair<std::shared_ptr<Transport>, std::shared_ptr<Recorder>>>> connect_clients(
    const Server& server, int n) {
  std::vector<std::pair<std::shared_ptr<Transport>, std::shared_ptr<Recorder>>> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(co_await asyncio::create_connection([] { return std::make_shared<Recorder>(); }, "127.0.0.1",
                                                      nett::port_of(server)));
  }
  co_return out;
}

/// A private directory for Unix socket files, removed with what is left in it.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/nett-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

TEST(Server, ListensOnAPortItPicksAndReportsItsSockets) {
  run_io([]() -> Coro<void> {
    auto server = co_await nett::echo_server();
    EXPECT_TRUE(server->is_serving());
    NETT_CO_ASSERT_EQ(server->sockets().size(), 1u);
    EXPECT_EQ(server->sockets()[0].getsockname().host(), "127.0.0.1");
    EXPECT_NE(nett::port_of(*server), 0);
    EXPECT_EQ(&server->get_loop(), &asyncio::get_running_loop());
    server->close();
    EXPECT_FALSE(server->is_serving());
    EXPECT_TRUE(server->sockets().empty());
    server->close();  // idempotent
    co_await server->wait_closed();
  });
}

TEST(Server, AnEmptyHostBindsTheWildcardAddress) {
  run_io([]() -> Coro<void> {
    auto server = co_await asyncio::create_server([] { return std::make_shared<nett::Echo>(); }, "", 0);
    NETT_CO_ASSERT_FALSE(server->sockets().empty());
    bool any_v4 = false;
    for (const auto& s : server->sockets()) any_v4 = any_v4 || s.getsockname().host() == "0.0.0.0";
    EXPECT_TRUE(any_v4);
    server->close();
    co_await server->wait_closed();
  });
}

TEST(Server, BindingAPortInUseRaisesOSError) {
  run_io([]() -> Coro<void> {
    auto first = co_await nett::echo_server();
    try {
      co_await asyncio::create_server([] { return std::make_shared<nett::Echo>(); }, "127.0.0.1",
                                      nett::port_of(*first));
      ADD_FAILURE() << "bound a port already listened on";
    } catch (const asyncio::OSError& e) {
      EXPECT_EQ(e.errno_value(), EADDRINUSE);
      EXPECT_NE(std::string(e.what()).find("bind(127.0.0.1:"), std::string::npos) << e.what();
    }
    first->close();
    co_await first->wait_closed();
  });
}

TEST(Server, ReusePortLetsTwoServersShareAPort) {
  run_io([]() -> Coro<void> {
    auto factory = [] { return std::make_shared<nett::Echo>(); };
    auto a = co_await asyncio::create_server(factory, "127.0.0.1", 0, {.reuse_port = true});
    const std::uint16_t port = nett::port_of(*a);
    auto b = co_await asyncio::create_server(factory, "127.0.0.1", port, {.reuse_port = true});
    EXPECT_EQ(nett::port_of(*b), port);
    EXPECT_EQ(b->sockets()[0].get_option(SOL_SOCKET, SO_REUSEPORT), 1);
    auto clients = co_await connect_clients(*a, 4);  // the kernel spreads them over a and b
    co_await until([&] { return a->client_count() + b->client_count() == 4; });
    for (auto& [t, p] : clients) t->close();
    a->close();
    b->close();
    co_await a->wait_closed();
    co_await b->wait_closed();
  });
}

TEST(Server, WithoutReusePortASecondServerCannotBind) {
  run_io([]() -> Coro<void> {
    auto factory = [] { return std::make_shared<nett::Echo>(); };
    auto a = co_await asyncio::create_server(factory, "127.0.0.1", 0);
    EXPECT_THROW(co_await asyncio::create_server(factory, "127.0.0.1", nett::port_of(*a)), asyncio::OSError);
    a->close();
    co_await a->wait_closed();
  });
}

TEST(Server, StartServingFalseListensOnlyOnceStarted) {
  run_io([]() -> Coro<void> {
    auto server = co_await asyncio::create_server([] { return std::make_shared<nett::Echo>(); }, "127.0.0.1", 0,
                                                  {.start_serving = false});
    EXPECT_FALSE(server->is_serving());
    EXPECT_THROW(co_await connect_clients(*server, 1), asyncio::ConnectionRefusedError);
    co_await server->start_serving();
    EXPECT_TRUE(server->is_serving());
    auto clients = co_await connect_clients(*server, 1);
    clients[0].first->write("ping");
    co_await until([&] { return clients[0].second->data == "ping"; });
    clients[0].first->close();
    server->close();
    co_await server->wait_closed();
    EXPECT_THROW(co_await server->start_serving(), asyncio::RuntimeError);
  });
}

TEST(Server, CloseClientsClosesEveryConnectionThenWaitClosedReturns) {
  run_io([]() -> Coro<void> {
    RecorderFactory factory;
    auto server = co_await asyncio::create_server(factory, "127.0.0.1", 0);
    auto clients = co_await connect_clients(*server, 3);
    co_await until([&] { return server->client_count() == 3; });
    server->close();
    auto waiting = asyncio::create_task(server->wait_closed());
    for (int i = 0; i < 3; ++i) co_await asyncio::sleep(0);
    EXPECT_FALSE(waiting.done());  // closed, but connections remain (3.12.1+)
    server->close_clients();
    co_await waiting;
    EXPECT_EQ(server->client_count(), 0u);
    for (auto& r : *factory.made) {
      EXPECT_EQ(r->lost, 1);
      EXPECT_EQ(r->error, nullptr);
    }
    for (auto& client : clients) {
      auto& p = client.second;
      co_await until([&] { return p->lost == 1; });  // EOF from the server
    }
  });
}

TEST(Server, AbortClientsDropsWhatTheyBuffered) {
  run_io([]() -> Coro<void> {
    RecorderFactory factory;
    factory.setup = [](Recorder& r) {
      r.on_made = [](Recorder& self) { self.transport->write(nett::pattern(16 << 20)); };
    };
    auto server = co_await asyncio::create_server(factory, "127.0.0.1", 0);
    auto clients = co_await connect_clients(*server, 2);
    for (auto& [t, p] : clients) {
      p->keep_data = false;
      t->pause_reading();
    }
    co_await until(
        [&] { return factory.made->size() == 2 && (*factory.made)[0]->made == 1 && (*factory.made)[1]->made == 1; });
    for (auto& r : *factory.made) EXPECT_GT(r->transport->get_write_buffer_size(), 0u);
    server->abort_clients();
    for (auto& r : *factory.made) EXPECT_EQ(r->transport->get_write_buffer_size(), 0u);
    server->close();
    co_await server->wait_closed();
    for (auto& r : *factory.made) EXPECT_EQ(r->lost, 1);
    for (auto& [t, p] : clients) t->abort();
  });
}

TEST(Server, WaitClosedWaitsForTheLastConnection) {
  run_io([]() -> Coro<void> {
    auto server = co_await nett::echo_server();
    auto clients = co_await connect_clients(*server, 1);
    co_await until([&] { return server->client_count() == 1; });
    server->close();
    auto waiting = asyncio::create_task(server->wait_closed());
    for (int i = 0; i < 3; ++i) co_await asyncio::sleep(0);
    EXPECT_FALSE(waiting.done());
    clients[0].first->close();  // the echo side reads EOF and closes
    co_await waiting;
    EXPECT_EQ(server->client_count(), 0u);
  });
}

TEST(Server, WaitClosedWaitsForCloseWhenNoConnectionIsOpen) {
  run_io([]() -> Coro<void> {
    auto server = co_await nett::echo_server();
    auto waiting = asyncio::create_task(server->wait_closed());
    for (int i = 0; i < 3; ++i) co_await asyncio::sleep(0);
    EXPECT_FALSE(waiting.done());  // 3.12.0 returned here; 3.12.1+ waits for close()
    server->close();
    co_await waiting;
    co_await server->wait_closed();  // and then returns at once
  });
}

TEST(Server, ServeForeverCancelledClosesTheServer) {
  run_io([]() -> Coro<void> {
    auto server = co_await asyncio::create_server([] { return std::make_shared<nett::Echo>(); }, "127.0.0.1", 0,
                                                  {.start_serving = false});
    const std::uint16_t port = nett::port_of(*server);
    auto serving = asyncio::create_task(server->serve_forever());
    co_await asyncio::sleep(0);
    EXPECT_TRUE(server->is_serving());
    EXPECT_THROW(co_await server->serve_forever(), asyncio::RuntimeError);  // already awaited
    serving.cancel();
    EXPECT_THROW(co_await serving, asyncio::CancelledError);
    EXPECT_FALSE(server->is_serving());
    EXPECT_TRUE(server->sockets().empty());
    EXPECT_THROW(co_await asyncio::create_connection([] { return std::make_shared<Recorder>(); }, "127.0.0.1", port),
                 asyncio::ConnectionRefusedError);
    EXPECT_THROW(co_await server->serve_forever(), asyncio::RuntimeError);  // closed
  });
}

TEST(Server, CloseEndsServeForever) {
  run_io([]() -> Coro<void> {
    auto server = co_await nett::echo_server();
    auto serving = asyncio::create_task(server->serve_forever());
    co_await asyncio::sleep(0);
    server->close();
    EXPECT_THROW(co_await serving, asyncio::CancelledError);  // as in Python
  });
}

TEST(Server, AProtocolFactoryThatThrowsIsReportedAndTheConnectionClosed) {
  run_io([]() -> Coro<void> {
    asyncio::testing::HandlerCapture handler(asyncio::get_running_loop());
    auto server = co_await asyncio::create_server(
        []() -> std::shared_ptr<Recorder> { throw std::runtime_error("no protocol today"); }, "127.0.0.1", 0);
    auto clients = co_await connect_clients(*server, 1);
    co_await until([&] { return clients[0].second->lost == 1; });  // closed at once: EOF
    NETT_CO_ASSERT_EQ(handler.contexts().size(), 1u);
    EXPECT_EQ(handler.contexts()[0].message, "Error on transport creation for incoming connection");
    EXPECT_NE(nett::text_of(handler.contexts()[0].exception).find("no protocol today"), std::string::npos);
    EXPECT_EQ(server->client_count(), 0u);
    server->close();
    co_await server->wait_closed();
  });
}

TEST(Server, ServesAnExistingListeningSocket) {
  run_io([]() -> Coro<void> {
    asyncio::Socket sock(AF_INET, SOCK_STREAM);
    sock.bind(SocketAddress("127.0.0.1", 0));
    auto server = co_await asyncio::create_server([] { return std::make_shared<nett::Echo>(); }, std::move(sock));
    auto clients = co_await connect_clients(*server, 1);
    clients[0].first->write("ping");
    co_await until([&] { return clients[0].second->data == "ping"; });
    clients[0].first->close();
    server->close();
    co_await server->wait_closed();
    asyncio::Socket dgram(AF_INET, SOCK_DGRAM);
    EXPECT_THROW(co_await asyncio::create_server([] { return std::make_shared<nett::Echo>(); }, std::move(dgram)),
                 asyncio::ValueError);
  });
}

TEST(UnixServer, EchoesOverAUnixSocketAndRemovesItsFileWhenClosed) {
  TempDir dir;
  const std::string path = dir.path + "/echo.sock";
  run_io([&]() -> Coro<void> {
    auto server = co_await asyncio::create_unix_server([] { return std::make_shared<nett::Echo>(); }, path);
    EXPECT_TRUE(exists(path));
    EXPECT_EQ(server->sockets()[0].getsockname().path(), path);
    auto t_p = co_await asyncio::create_unix_connection([] { return std::make_shared<Recorder>(); }, path);
    auto t = t_p.first;
    auto p = t_p.second;
    EXPECT_EQ(std::any_cast<SocketAddress>(t->get_extra_info("peername")).path(), path);
    t->write("over unix");
    co_await until([&] { return p->data == "over unix"; });
    t->close();
    server->close();
    EXPECT_FALSE(exists(path));
    co_await server->wait_closed();
  });
}

TEST(UnixServer, ReplacesAStaleSocketFile) {
  TempDir dir;
  const std::string path = dir.path + "/stale.sock";
  {
    asyncio::Socket dead(AF_UNIX, SOCK_STREAM);
    dead.bind(SocketAddress::from_path(path));  // a server that died without cleaning up
  }
  ASSERT_TRUE(exists(path));
  run_io([&]() -> Coro<void> {
    auto server = co_await asyncio::create_unix_server([] { return std::make_shared<nett::Echo>(); }, path);
    auto t_p = co_await asyncio::create_unix_connection([] { return std::make_shared<Recorder>(); }, path);
    auto t = t_p.first;
    auto p = t_p.second;
    t->write("fresh");
    co_await until([&] { return p->data == "fresh"; });
    t->close();
    server->close();
    co_await server->wait_closed();
  });
}

TEST(UnixServer, ConnectingToNothingRaisesFileNotFoundError) {
  TempDir dir;
  run_io([&]() -> Coro<void> {
    EXPECT_THROW(co_await asyncio::create_unix_connection([] { return std::make_shared<Recorder>(); },
                                                          dir.path + "/nobody.sock"),
                 asyncio::FileNotFoundError);
  });
}

TEST(Server, AServerOpenWhenItsLoopClosesClosesItsSocketsWithoutLeaks) {
  const std::size_t before = nett::open_descriptors();
  std::shared_ptr<Server> server;
  {
    asyncio::EventLoop loop;
    loop.run_until_complete([&]() -> Coro<void> {
      server = co_await nett::echo_server();
      auto clients = co_await connect_clients(*server, 2);
      co_await until([&] { return server->client_count() == 2; });
      clients[0].first->pause_reading();
    }());
    EXPECT_TRUE(server->is_serving());
  }  // closed with the server serving and two connections open
  EXPECT_FALSE(server->is_serving());
  EXPECT_TRUE(server->sockets().empty());
  EXPECT_EQ(server->client_count(), 0u);
  server->close();
  server.reset();
  EXPECT_EQ(nett::open_descriptors(), before);
}

// --- running out of descriptors ------------------------------------------------------------------

TEST(ServerAccept, OutOfDescriptorsReportsOncePerBackOffWithoutSpinningAndRecovers) {
  nett::NofileLimit limit;
  constexpr int kClients = 200;
  constexpr int kSpares = 10;
  int reports = 0;
  std::size_t accepted = 0;
  asyncio::run(
      [&]() -> Coro<void> {
        asyncio::EventLoop& loop = asyncio::get_running_loop();
        loop.set_exception_handler([&](asyncio::EventLoop& l, const asyncio::ExceptionContext& context) {
          if (context.message == "socket.accept() out of system resource") {
            ++reports;
          } else {
            ADD_FAILURE() << context.message << ": " << nett::text_of(context.exception);
          }
          if (reports > 50) l.stop();  // spinning: end the test rather than hang
        });
        // Spare descriptors first, so that they hold low numbers the server can have later.
        std::vector<int> spares;
        for (int i = 0; i < kSpares; ++i) spares.push_back(::eventfd(0, EFD_CLOEXEC));
        auto server = co_await asyncio::create_server(
            [&] {
              ++accepted;
              return std::make_shared<Recorder>();
            },
            "127.0.0.1", 0, {.backlog = 256});
        // One connection and one EMFILE before descriptors run out: UBSan checks a dynamic type the
        // first time it meets it with a pipe() (to probe memory), which fails without descriptors
        // and would be reported as an invalid vptr.
        {
          auto t_p = co_await asyncio::create_connection([] { return std::make_shared<Recorder>(); }, "127.0.0.1",
                                                         nett::port_of(*server));
          auto t = t_p.first;
          auto p = t_p.second;
          t->write("warm");
          co_await until([&] { return server->client_count() == 1; });
          t->close();
          co_await until([&] { return server->client_count() == 0; });
          accepted = 0;
          try {
            asyncio::throw_os_error(EMFILE, "warm-up");
          } catch (const asyncio::OSError& e) {
            EXPECT_EQ(e.errno_value(), EMFILE);
            EXPECT_FALSE(nett::text_of(std::current_exception()).empty());
          }
        }
        // Connect every client now, without letting the loop run: they wait in the accept queue.
        std::vector<asyncio::Socket> clients;
        for (int i = 0; i < kClients; ++i) {
          clients.emplace_back(AF_INET, SOCK_STREAM);
          (void)clients.back().try_connect(server->sockets()[0].getsockname());
        }
        for (int fd : spares) EXPECT_LT(fd, 64);
        NETT_CO_ASSERT_GT(nett::open_descriptors(), 64u);
        NETT_CO_ASSERT_TRUE(limit.set_soft(64));  // every descriptor number below 64 is taken now

        const auto iterations = loop.stats().iterations;
        co_await asyncio::sleep(0.5);
        EXPECT_EQ(reports, 1);
        EXPECT_EQ(accepted, 0u);
        co_await asyncio::sleep(2.0);  // retries at 1.0 and 2.0 fail again
        EXPECT_EQ(reports, 3);
        EXPECT_EQ(accepted, 0u);
        EXPECT_LT(loop.stats().iterations - iterations, 40u);  // it backs off: no spinning

        for (int fd : spares) ::close(fd);  // ten free descriptors: the retry at 3.0 takes them
        co_await asyncio::sleep(1.0);
        EXPECT_EQ(accepted, static_cast<std::size_t>(kSpares));
        EXPECT_EQ(reports, 4);

        limit.restore();
        for (int i = 0; i < 10 && accepted < kClients; ++i) co_await asyncio::sleep(1.0);
        EXPECT_EQ(accepted, static_cast<std::size_t>(kClients));
        EXPECT_EQ(reports, 4);
        co_await until([&] { return server->client_count() == kClients; });
        clients.clear();
        server->close();
        co_await server->wait_closed();  // each connection reads EOF and closes
      },
      asyncio::testing::virtual_clock());
  EXPECT_LE(reports, 50);
}

}  // namespace
