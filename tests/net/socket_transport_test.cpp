// SocketTransport through create_connection / create_server: reading, writing, flow control,
// half-close, closing and aborting, errors. Reference: CPython 3.13 Lib/asyncio/selector_events.py
// (_SelectorSocketTransport), transports.py (_FlowControlMixin) and Lib/test/test_asyncio/
// test_selector_events.py, test_events.py. Both ends live in the test's loop, on loopback TCP, on
// the monotonic clock; waiting is `until(condition)` (one loop iteration per round), never a sleep.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <asyncio/net/connection.hpp>
#include <asyncio/net/server.hpp>
#include <asyncio/net/sock_ops.hpp>
#include <asyncio/net/socket_transport.hpp>
#include <asyncio/os_error.hpp>

#include <any>
#include <array>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

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

/// A server whose connections get Recorders, and one client connected to it.
struct Connected {
  std::shared_ptr<Server> server;
  RecorderFactory factory;
  std::shared_ptr<Transport> client;
  std::shared_ptr<Recorder> cp;
  Recorder& peer() const { return *factory.made->at(0); }
  Transport& peer_transport() const { return *peer().transport; }
};

Coro<Connected> connect_pair(std::function<void(Recorder&)> server_setup = {},
                             std::function<void(Recorder&)> client_setup = {}) {
  Connected c;
  c.factory.setup = std::move(server_setup);
  c.server = co_await asyncio::create_server(c.factory, "127.0.0.1", 0);
  auto t_p = co_await asyncio::create_connection(
      [&] {
        auto r = std::make_shared<Recorder>();
        if (client_setup) client_setup(*r);
        return r;
      },
      "127.0.0.1", nett::port_of(*c.server));
  auto t = t_p.first;
  auto p = t_p.second;
  c.client = std::move(t);
  c.cp = std::move(p);
  co_await until([&] { return !c.factory.made->empty() && c.peer().made == 1; });
  co_return c;
}

std::size_t bytes_waiting(const Transport& t) {
  const auto* sock = std::any_cast<const asyncio::Socket*>(t.get_extra_info("socket"));
  int n = 0;
  ::ioctl(sock->fileno(), FIONREAD, &n);
  return static_cast<std::size_t>(n);
}

TEST(SocketTransport, EchoesARoundTripThroughAProtocol) {
  run_io([]() -> Coro<void> {
    auto server = co_await nett::echo_server();
    auto transport_protocol = co_await asyncio::create_connection([] { return std::make_shared<Recorder>(); },
                                                                  "127.0.0.1", nett::port_of(*server));
    auto transport = transport_protocol.first;
    auto protocol = transport_protocol.second;
    EXPECT_EQ(protocol->made, 1);  // connection_made ran before create_connection returned
    transport->write("hello, ");
    transport->write("world");
    co_await until([&] { return protocol->data.size() >= 12; });
    EXPECT_EQ(protocol->data, "hello, world");
    transport->close();
    co_await until([&] { return protocol->lost == 1; });
    EXPECT_EQ(protocol->error, nullptr);
    EXPECT_EQ(protocol->calls, (std::vector<std::string>{"made", "data", "lost"}));
    server->close();
    co_await server->wait_closed();
  });
}

TEST(SocketTransport, ReportsPeernameSocknameAndSocket) {
  run_io([]() -> Coro<void> {
    auto c = co_await connect_pair();
    const auto peer = std::any_cast<SocketAddress>(c.client->get_extra_info("peername"));
    const auto local = std::any_cast<SocketAddress>(c.client->get_extra_info("sockname"));
    EXPECT_EQ(peer, SocketAddress("127.0.0.1", nett::port_of(*c.server)));
    EXPECT_EQ(std::any_cast<SocketAddress>(c.peer_transport().get_extra_info("peername")), local);
    const auto* sock = std::any_cast<const asyncio::Socket*>(c.client->get_extra_info("socket"));
    NETT_CO_ASSERT_NE(sock, nullptr);
    EXPECT_EQ(sock->getsockname(), local);
    EXPECT_EQ(sock->get_option(IPPROTO_TCP, TCP_NODELAY), 1);  // Python's _set_nodelay
    EXPECT_FALSE(c.client->get_extra_info("no such key").has_value());
    c.client->close();
    c.server->close_clients();
    c.server->close();
    co_await c.server->wait_closed();
  });
}

struct Collector : asyncio::BufferedProtocol {
  std::array<char, 1000> buffer{};
  std::string data;
  std::size_t last_hint = 0;
  std::size_t calls = 0;
  int eofs = 0;
  int lost = 0;
  std::span<char> get_buffer(std::size_t size_hint) override {
    last_hint = size_hint;
    return buffer;
  }
  void buffer_updated(std::size_t n) override {
    ++calls;
    data.append(buffer.data(), n);
  }
  bool eof_received() override {
    ++eofs;
    return false;
  }
  void connection_lost(std::exception_ptr) override { ++lost; }
};

TEST(SocketTransport, ReadsIntoABufferedProtocolsOwnBuffer) {
  run_io([]() -> Coro<void> {
    const std::string payload = nett::pattern(100'000);
    auto c = co_await connect_pair([&](Recorder& r) {
      r.on_made = [&](Recorder& self) {
        self.transport->write(payload);
        self.transport->close();  // flushes first
      };
    });
    c.client->close();
    auto collector = std::make_shared<Collector>();
    // Replace the client: a second connection whose protocol is a BufferedProtocol.
    // (A factory with captures is built before the co_await: g++ 12 destroys a closure temporary
    // with a non-trivial destructor twice inside a co_await expression.)
    auto factory = [collector] { return collector; };
    auto t_p = co_await asyncio::create_connection(factory, "127.0.0.1", nett::port_of(*c.server));
    auto t = t_p.first;
    auto p = t_p.second;
    co_await until([&] { return p->lost == 1; });
    EXPECT_EQ(p->data, payload);
    EXPECT_EQ(p->last_hint, asyncio::SocketTransport::kReadSize);
    EXPECT_GE(p->calls, payload.size() / 1000);  // never more than the buffer per call
    EXPECT_EQ(p->eofs, 1);
    c.server->close();
    co_await c.server->wait_closed();
  });
}

TEST(SocketTransport, ConnectionRefusedRaisesConnectionRefusedError) {
  run_io([]() -> Coro<void> {
    // A bound socket that does not listen: its port refuses connections.
    asyncio::Socket reserved(AF_INET, SOCK_STREAM);
    reserved.bind(SocketAddress("127.0.0.1", 0));
    const std::uint16_t port = reserved.getsockname().port();
    try {
      co_await asyncio::create_connection([] { return std::make_shared<Recorder>(); }, "127.0.0.1", port);
      ADD_FAILURE() << "connected to a port nobody listens on";
    } catch (const asyncio::ConnectionRefusedError& e) {
      EXPECT_EQ(e.errno_value(), ECONNREFUSED);
      EXPECT_NE(std::string(e.what()).find("connect(127.0.0.1:" + std::to_string(port) + ")"), std::string::npos)
          << e.what();
    }
  });
}

TEST(SocketTransport, PeerResetDuringALargeWriteEndsWithConnectionResetOrBrokenPipe) {
  run_io([]() -> Coro<void> {
    // The server aborts on the first bytes: it closes with unread data, which sends a RST.
    auto c = co_await connect_pair([](Recorder& r) {
      r.keep_data = false;
      r.on_data = [](Recorder& self, std::string_view) { self.transport->abort(); };
    });
    const std::string big = nett::pattern(16 << 20);
    c.client->write(big);
    EXPECT_GT(c.client->get_write_buffer_size(), 0u);
    co_await until([&] { return c.cp->lost == 1; });
    NETT_CO_ASSERT_NE(c.cp->error, nullptr);
    bool reset_or_pipe = false;
    try {
      std::rethrow_exception(c.cp->error);
    } catch (const asyncio::ConnectionResetError&) {
      reset_or_pipe = true;
    } catch (const asyncio::BrokenPipeError&) {
      reset_or_pipe = true;
    } catch (...) {
    }
    EXPECT_TRUE(reset_or_pipe) << nett::text_of(c.cp->error);
    EXPECT_EQ(c.client->get_write_buffer_size(), 0u);  // the buffer was dropped
    EXPECT_TRUE(c.client->is_closing());
    c.client->write("more");  // dropped after the connection was lost, as in Python: no exception
    c.server->close();
    co_await c.server->wait_closed();
  });
}

TEST(SocketTransport, HalfCloseDeliversEveryByteAndEofOnceInBothDirections) {
  run_io([]() -> Coro<void> {
    const std::string request = nett::pattern(300'000, 'A');
    const std::string reply = nett::pattern(300'000, 'a');
    auto c = co_await connect_pair(
        [&](Recorder& r) {
          r.keep_open_on_eof = true;
          r.on_eof = [&](Recorder& self) {
            // Half-open: the peer is done writing, this side still writes.
            self.transport->write(reply);
            self.transport->write_eof();
          };
        },
        [](Recorder& r) { r.keep_open_on_eof = true; });
    c.client->write(request);
    c.client->write_eof();
    EXPECT_THROW(c.client->write("x"), asyncio::RuntimeError);
    co_await until([&] { return c.cp->eofs == 1; });
    EXPECT_EQ(c.peer().data, request);
    EXPECT_EQ(c.cp->data, reply);
    EXPECT_EQ(c.peer().eofs, 1);
    // Both sides half-closed both ways, neither lost yet: the protocols close them.
    for (int i = 0; i < 3; ++i) co_await asyncio::sleep(0);
    EXPECT_EQ(c.cp->eofs, 1);
    EXPECT_EQ(c.peer().eofs, 1);
    EXPECT_EQ(c.cp->lost, 0);
    EXPECT_EQ(c.peer().lost, 0);
    EXPECT_FALSE(c.client->is_closing());
    c.client->close();
    c.peer_transport().close();
    co_await until([&] { return c.cp->lost == 1 && c.peer().lost == 1; });
    EXPECT_EQ(c.cp->error, nullptr);
    EXPECT_EQ(c.peer().error, nullptr);
    EXPECT_EQ(c.cp->calls, (std::vector<std::string>{"made", "data", "eof", "lost"}));
    EXPECT_EQ(c.peer().calls, (std::vector<std::string>{"made", "data", "eof", "lost"}));
    c.server->close();
    co_await c.server->wait_closed();
  });
}

TEST(SocketTransport, EofReceivedReturningFalseClosesTheTransport) {
  run_io([]() -> Coro<void> {
    auto c = co_await connect_pair();
    c.client->write("bye");
    c.client->write_eof();
    co_await until([&] { return c.peer().lost == 1; });
    EXPECT_EQ(c.peer().data, "bye");
    EXPECT_EQ(c.peer().error, nullptr);
    EXPECT_EQ(c.peer().calls, (std::vector<std::string>{"made", "data", "eof", "lost"}));
    co_await until([&] { return c.cp->eofs == 1; });  // the client reads the server's close as EOF
    co_await until([&] { return c.cp->lost == 1; });
    c.server->close();
    co_await c.server->wait_closed();
  });
}

TEST(SocketTransport, AReaderThatStopsReadingMakesTheWriterPauseAndResume) {
  run_io([]() -> Coro<void> {
    auto c = co_await connect_pair([](Recorder& r) {
      r.pause_on_made = true;
      r.keep_data = false;
    });
    const auto [low, high] = c.client->get_write_buffer_limits();
    EXPECT_EQ(high, 64u * 1024);
    EXPECT_EQ(low, 16u * 1024);
    const std::string chunk = nett::pattern(256 * 1024);
    std::size_t written = 0;
    // The kernel's buffers fill first; then the transport's own buffer passes the high-water mark.
    for (int i = 0; i < 1000 && c.cp->pauses == 0; ++i) {
      c.client->write(chunk);
      written += chunk.size();
      co_await asyncio::sleep(0);
    }
    NETT_CO_ASSERT_EQ(c.cp->pauses, 1);
    EXPECT_GT(c.client->get_write_buffer_size(), high);
    c.client->write(chunk);  // a protocol that ignores pause_writing: buffered, not refused
    written += chunk.size();
    EXPECT_EQ(c.cp->pauses, 1);
    EXPECT_EQ(c.cp->resumes, 0);
    EXPECT_EQ(c.peer().received, 0u);
    c.peer_transport().resume_reading();
    co_await until([&] { return c.peer().received == written; });
    EXPECT_EQ(c.cp->resumes, 1);
    EXPECT_LE(c.cp->buffer_at_resume, low);
    EXPECT_EQ(c.client->get_write_buffer_size(), 0u);
    EXPECT_EQ(c.cp->calls, (std::vector<std::string>{"made", "pause", "resume"}));
    c.client->close();
    co_await until([&] { return c.peer().lost == 1; });
    c.server->close();
    co_await c.server->wait_closed();
  });
}

TEST(SocketTransport, PauseReadingStopsDataReceivedUntilResumed) {
  run_io([]() -> Coro<void> {
    auto c = co_await connect_pair();
    c.peer_transport().pause_reading();
    EXPECT_FALSE(c.peer_transport().is_reading());
    c.peer_transport().pause_reading();  // idempotent
    c.client->write("abc");
    co_await until([&] { return bytes_waiting(c.peer_transport()) == 3; });
    for (int i = 0; i < 5; ++i) co_await asyncio::sleep(0);
    EXPECT_EQ(c.peer().data, "");
    c.peer_transport().resume_reading();
    EXPECT_TRUE(c.peer_transport().is_reading());
    co_await until([&] { return c.peer().data == "abc"; });
    c.client->close();
    co_await until([&] { return c.peer().lost == 1; });
    c.server->close();
    co_await c.server->wait_closed();
  });
}

TEST(SocketTransport, WriteAfterCloseWithNothingBufferedIsDroppedAsInCPython) {
  run_io([]() -> Coro<void> {
    auto c = co_await connect_pair();
    c.client->write("sent");
    c.client->close();
    EXPECT_TRUE(c.client->is_closing());
    c.client->write("dropped");
    const std::array<std::string_view, 2> pieces{"a", "b"};
    c.client->writelines(pieces);
    c.client->close();  // again: nothing
    co_await until([&] { return c.cp->lost == 1 && c.peer().lost == 1; });
    c.client->write("after connection_lost");
    EXPECT_EQ(c.peer().data, "sent");
    c.server->close();
    co_await c.server->wait_closed();
  });
}

TEST(SocketTransport, WriteAfterCloseGoesOutBehindWhatIsStillBuffered) {
  // CPython's close() counts the connection lost only once the buffer is empty; until then a
  // write joins the buffer and is flushed before the socket closes.
  run_io([]() -> Coro<void> {
    auto c = co_await connect_pair([](Recorder& r) { r.pause_on_made = true; });
    const std::string big = nett::pattern(8 << 20);
    c.client->write(big);
    NETT_CO_ASSERT_GT(c.client->get_write_buffer_size(), 0u);
    c.client->close();
    c.client->write("tail");
    c.peer_transport().resume_reading();
    co_await until([&] { return c.peer().lost == 1 && c.cp->lost == 1; });
    EXPECT_EQ(c.peer().data, big + "tail");
    c.server->close();
    co_await c.server->wait_closed();
  });
}

TEST(SocketTransport, FromTheFifthDroppedWriteAfterCloseEachLogsAWarning) {
  run_io([]() -> Coro<void> {
    asyncio::testing::LogCapture logs;
    auto c = co_await connect_pair();
    c.client->close();
    for (int i = 0; i < 7; ++i) c.client->write("x");
    // CPython's LOG_THRESHOLD_FOR_CONNLOST_WRITES: the close counts once, the writes after it
    // warn once the count reaches five.
    EXPECT_EQ(logs.count("socket.send() raised exception."), 3u);
    co_await until([&] { return c.cp->lost == 1; });
    c.server->close_clients();
    c.server->close();
    co_await c.server->wait_closed();
  });
}

TEST(SocketTransport, WriteAfterWriteEofRaisesRuntimeError) {
  run_io([]() -> Coro<void> {
    auto c = co_await connect_pair();
    c.client->write_eof();
    std::string error;
    try {
      c.client->write("x");
    } catch (const asyncio::RuntimeError& e) {
      error = e.what();
    }
    EXPECT_EQ(error, "Cannot call write() after write_eof()");
    c.client->close();
    co_await until([&] { return c.cp->lost == 1; });
    c.server->close_clients();
    c.server->close();
    co_await c.server->wait_closed();
  });
}

TEST(SocketTransport, AnExceptionFromConnectionMadeIsReportedAndTheTransportClosesAfterFlushing) {
  run_io([]() -> Coro<void> {
    asyncio::testing::HandlerCapture handler(asyncio::get_running_loop());
    auto c = co_await connect_pair([](Recorder& r) {
      r.on_made = [](Recorder& self) {
        self.transport->write("said before failing");
        throw std::runtime_error("connection_made failed");
      };
    });
    co_await until([&] { return c.peer().lost == 1 && c.cp->eofs == 1; });
    EXPECT_EQ(c.peer().error, nullptr);  // closed, not aborted
    EXPECT_EQ(c.cp->data, "said before failing");
    NETT_CO_ASSERT_EQ(handler.contexts().size(), 1u);
    EXPECT_EQ(handler.contexts()[0].message, "Exception in callback protocol.connection_made()");
    EXPECT_NE(handler.exceptions()[0].find("connection_made failed"), std::string::npos) << handler.exceptions()[0];
    c.client->close();
    c.server->close();
    co_await c.server->wait_closed();
  });
}

TEST(SocketTransport, ConnectionLostFollowsCloseInALaterIteration) {
  run_io([]() -> Coro<void> {
    auto c = co_await connect_pair();
    c.client->close();
    EXPECT_EQ(c.cp->lost, 0);
    co_await asyncio::sleep(0);
    EXPECT_EQ(c.cp->lost, 1);
    EXPECT_EQ(c.cp->error, nullptr);
    const auto* sock = std::any_cast<const asyncio::Socket*>(c.client->get_extra_info("socket"));
    EXPECT_EQ(sock->fileno(), -1);  // closed by then
    c.server->close_clients();
    c.server->close();
    co_await c.server->wait_closed();
  });
}

TEST(SocketTransport, AbortDropsTheBuffer) {
  run_io([]() -> Coro<void> {
    auto c = co_await connect_pair([](Recorder& r) {
      r.pause_on_made = true;
      r.keep_data = false;
    });
    const std::string big = nett::pattern(16 << 20);
    c.client->write(big);
    NETT_CO_ASSERT_GT(c.client->get_write_buffer_size(), 0u);
    c.client->abort();
    EXPECT_EQ(c.client->get_write_buffer_size(), 0u);
    EXPECT_TRUE(c.client->is_closing());
    c.client->write("x");  // dropped, as CPython
    EXPECT_EQ(c.client->get_write_buffer_size(), 0u);
    co_await until([&] { return c.cp->lost == 1; });
    EXPECT_EQ(c.cp->error, nullptr);
    c.peer_transport().resume_reading();
    co_await until([&] { return c.peer().lost == 1; });
    EXPECT_LT(c.peer().received, big.size());
    c.server->close();
    co_await c.server->wait_closed();
  });
}

TEST(SocketTransport, CloseFlushesTheBufferFirst) {
  run_io([]() -> Coro<void> {
    auto c = co_await connect_pair([](Recorder& r) { r.pause_on_made = true; });
    const std::string big = nett::pattern(8 << 20);
    c.client->write(big);
    NETT_CO_ASSERT_GT(c.client->get_write_buffer_size(), 0u);
    c.client->close();
    for (int i = 0; i < 5; ++i) co_await asyncio::sleep(0);
    EXPECT_EQ(c.cp->lost, 0);  // still flushing: the peer is not reading
    EXPECT_GT(c.client->get_write_buffer_size(), 0u);
    c.peer_transport().resume_reading();
    co_await until([&] { return c.peer().lost == 1 && c.cp->lost == 1; });
    EXPECT_EQ(c.peer().data, big);
    EXPECT_EQ(c.peer().eofs, 1);
    EXPECT_EQ(c.cp->error, nullptr);
    EXPECT_EQ(c.cp->buffer_at_lost, 0u);
    c.server->close();
    co_await c.server->wait_closed();
  });
}

TEST(SocketTransport, WritelinesSendsTheConcatenation) {
  run_io([]() -> Coro<void> {
    auto c = co_await connect_pair();
    const std::string big = nett::pattern(3 << 20);
    const std::array<std::string_view, 5> pieces{"one ", "", "two ", std::string_view(big), " three"};
    c.client->writelines(pieces);
    c.client->writelines(pieces);  // behind the first, maybe buffered
    const std::string once = "one two " + big + " three";
    co_await until([&] { return c.peer().received >= 2 * once.size(); });
    EXPECT_EQ(c.peer().data, once + once);
    c.client->close();
    co_await until([&] { return c.peer().lost == 1; });
    c.server->close();
    co_await c.server->wait_closed();
  });
}

TEST(SocketTransport, WriteBufferLimitsFollowPython) {
  run_io([]() -> Coro<void> {
    auto c = co_await connect_pair();
    c.client->set_write_buffer_limits(100);
    EXPECT_EQ(c.client->get_write_buffer_limits(), (std::pair<std::size_t, std::size_t>{25, 100}));
    c.client->set_write_buffer_limits(100, 100);
    EXPECT_EQ(c.client->get_write_buffer_limits(), (std::pair<std::size_t, std::size_t>{100, 100}));
    EXPECT_THROW(c.client->set_write_buffer_limits(10, 20), asyncio::ValueError);
    EXPECT_EQ(c.client->get_write_buffer_limits(), (std::pair<std::size_t, std::size_t>{100, 100}));
    c.client->close();
    c.server->close_clients();
    c.server->close();
    co_await c.server->wait_closed();
  });
}

TEST(SocketTransport, AnExceptionFromDataReceivedGoesToTheHandlerAndClosesTheTransport) {
  run_io([]() -> Coro<void> {
    asyncio::testing::HandlerCapture handler(asyncio::get_running_loop());
    auto c = co_await connect_pair(
        [](Recorder& r) { r.on_data = [](Recorder&, std::string_view) { throw std::runtime_error("bad data"); }; });
    c.client->write("x");
    co_await until([&] { return c.peer().lost == 1; });
    NETT_CO_ASSERT_EQ(handler.contexts().size(), 1u);
    EXPECT_EQ(handler.contexts()[0].message, "Fatal error: protocol.data_received() call failed.");
    EXPECT_NE(handler.contexts()[0].handle.find("SocketTransport"), std::string::npos);
    EXPECT_NE(nett::text_of(c.peer().error).find("bad data"), std::string::npos);
    co_await until([&] { return c.cp->lost == 1; });  // the client reads EOF
    EXPECT_EQ(c.cp->eofs, 1);
    c.server->close();
    co_await c.server->wait_closed();
  });
}

TEST(SocketTransport, AnOSErrorFromAProtocolIsNotReportedButEndsTheConnection) {
  run_io([]() -> Coro<void> {
    asyncio::testing::HandlerCapture handler(asyncio::get_running_loop());
    auto c = co_await connect_pair(
        [](Recorder& r) { r.on_data = [](Recorder&, std::string_view) { asyncio::throw_os_error(EIO, "protocol"); }; });
    c.client->write("x");
    co_await until([&] { return c.peer().lost == 1; });
    EXPECT_TRUE(handler.contexts().empty());  // Python's _fatal_error logs OSErrors in debug mode only
    EXPECT_NE(nett::text_of(c.peer().error).find("protocol"), std::string::npos);
    c.client->close();
    c.server->close();
    co_await c.server->wait_closed();
  });
}

TEST(SocketTransport, SetProtocolRefusesAProtocolThatCannotReceive) {
  run_io([]() -> Coro<void> {
    auto c = co_await connect_pair();
    EXPECT_THROW(c.client->set_protocol(std::make_shared<asyncio::BaseProtocol>()), asyncio::TypeError);
    EXPECT_EQ(c.client->get_protocol(), c.cp);
    auto other = std::make_shared<Recorder>();
    other->transport = c.client.get();
    c.client->set_protocol(other);
    c.peer_transport().write("to the new protocol");
    co_await until([&] { return other->data.size() == 19; });
    EXPECT_EQ(c.cp->data, "");
    c.client->close();
    co_await until([&] { return other->lost == 1; });
    EXPECT_EQ(c.cp->lost, 0);
    c.server->close();
    co_await c.server->wait_closed();
  });
}

TEST(SocketTransport, WrapsSocketsConnectedAndAcceptedElsewhere) {
  run_io([]() -> Coro<void> {
    asyncio::Socket listener(AF_INET, SOCK_STREAM);
    listener.bind(SocketAddress("127.0.0.1", 0));
    listener.listen();
    auto accepting = asyncio::create_task(asyncio::sock_accept(listener));
    asyncio::Socket sock(AF_INET, SOCK_STREAM);
    co_await asyncio::sock_connect(sock, listener.getsockname());
    auto accepted = co_await std::move(accepting);
    auto client_pair =
        co_await asyncio::create_connection([] { return std::make_shared<Recorder>(); }, std::move(sock));
    auto server_pair = co_await asyncio::connect_accepted_socket([] { return std::make_shared<nett::Echo>(); },
                                                                 std::move(accepted.first));
    auto client = client_pair.first;
    auto protocol = client_pair.second;
    EXPECT_EQ(std::any_cast<SocketAddress>(client->get_extra_info("peername")), listener.getsockname());
    client->write("wrapped");
    co_await until([&] { return protocol->data == "wrapped"; });
    client->close();
    co_await until([&] { return protocol->lost == 1; });
    asyncio::Socket dgram(AF_INET, SOCK_DGRAM);
    EXPECT_THROW(co_await asyncio::create_connection([] { return std::make_shared<Recorder>(); }, std::move(dgram)),
                 asyncio::ValueError);
  });
}

TEST(SocketTransport, ATransportOpenWhenItsLoopClosesIsAbandonedWithoutLeaks) {
  const std::size_t before = nett::open_descriptors();
  std::shared_ptr<Transport> client;
  std::shared_ptr<Recorder> protocol;
  {
    asyncio::EventLoop loop;
    loop.run_until_complete([&]() -> Coro<void> {
      auto c = co_await connect_pair();
      // Reading paused, nothing to write: the loop holds no callback of these transports.
      c.client->pause_reading();
      c.peer_transport().pause_reading();
      client = c.client;
      protocol = c.cp;
      c.server->close();
    });
  }  // the loop closes with both transports open
  EXPECT_TRUE(client->is_closing());
  EXPECT_EQ(protocol->lost, 0);  // nothing can run once the loop is closed
  EXPECT_EQ(client->get_protocol(), nullptr);
  client->write("dropped");  // no loop to touch: dropped
  client->close();
  client->abort();
  client.reset();
  EXPECT_EQ(nett::open_descriptors(), before);
}

TEST(SocketTransport, ALoopClosedFromAnotherThreadLeavesNothingBehindForTheNextLoop) {
  const std::size_t before = nett::open_descriptors();
  auto first = std::make_unique<asyncio::EventLoop>();
  first->run_until_complete([&]() -> Coro<void> {
    auto c = co_await connect_pair();
    c.client->pause_reading();
    c.peer_transport().pause_reading();
    c.server->close();
  });
  std::thread([&] { first->close(); }).join();  // abandons the open transports over there
  first.reset();
  EXPECT_EQ(nett::open_descriptors(), before);
  // The next loop (often at the same address) gets a table of its own.
  auto second = std::make_unique<asyncio::EventLoop>();
  second->run_until_complete([&]() -> Coro<void> {
    auto c = co_await connect_pair();
    c.client->write("after");
    co_await until([&] { return c.peer().data == "after"; });
    c.client->close();
    c.server->close();
    co_await until([&] { return c.cp->lost == 1; });
  });
  second.reset();
  EXPECT_EQ(nett::open_descriptors(), before);
}

}  // namespace
