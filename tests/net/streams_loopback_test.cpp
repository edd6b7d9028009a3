// open_connection, start_server, open_unix_connection, start_unix_server (CPython 3.13
// Lib/asyncio/streams.py; the loopback tests of Lib/test/test_asyncio/test_streams.py), over real
// sockets with both ends in one loop, on the monotonic clock with a time limit.

#include <gtest/gtest.h>
#include <unistd.h>

#include <asyncio/flow/gather.hpp>
#include <asyncio/flow/sleep.hpp>
#include <asyncio/flow/wait_for.hpp>
#include <asyncio/net/sock_ops.hpp>
#include <asyncio/net/streams.hpp>
#include <asyncio/os_error.hpp>
#include <asyncio/task/task.hpp>

#include <any>
#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "support/test_support.hpp"

namespace {

using asyncio::Coro;
using asyncio::create_task;
using asyncio::get_running_loop;
using asyncio::open_connection;
using asyncio::Server;
using asyncio::SocketAddress;
using asyncio::start_server;
using asyncio::StreamReader;
using asyncio::StreamWriter;

/// Runs `body` (a callable returning Coro<void>) on the monotonic clock; a test that would hang
/// fails with TimeoutError after `limit` seconds instead.
template <class F>
void run_io(F body, double limit = 30.0) {
  asyncio::run([body = std::move(body), limit]() mutable -> Coro<void> { co_await asyncio::wait_for(body(), limit); });
}

std::uint16_t port_of(const Server& server) { return server.sockets().at(0).getsockname().port(); }

/// A socket path of its own in the temporary directory, removed when the test ends.
class SocketPath {
 public:
  SocketPath() {
    static std::atomic<int> counter{0};
    path_ = (std::filesystem::temp_directory_path() /
             ("asyncio-strm-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".sock"))
                .string();
  }
  ~SocketPath() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  [[nodiscard]] const std::string& str() const noexcept { return path_; }

 private:
  std::string path_;
};

/// `n` bytes that show lost or reordered bytes.
std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 23);
  return s;
}

/// CPython's test_start_server handler: one line back, then close and wait.
Coro<void> echo_one_line(std::shared_ptr<StreamReader> reader, StreamWriter writer) {
  std::string line = co_await reader->readline();
  writer.write(line);
  co_await writer.drain();
  writer.close();
  co_await writer.wait_closed();
}

/// CPython's test_start_server client: send a line, read it back.
Coro<std::string> send_one_line(asyncio::StreamPair streams) {
  auto& [reader, writer] = streams;
  writer.write("hello world!\n");
  std::string back = co_await reader->readline();
  writer.close();
  co_await writer.wait_closed();
  co_return back;
}

TEST(Streams, StartServerAndOpenConnectionEchoALine) {
  // CPython's test_start_server, the coroutine handler.
  run_io([]() -> Coro<void> {
    asyncio::testing::HandlerCapture handler(get_running_loop());
    std::shared_ptr<Server> server = co_await start_server(echo_one_line, "127.0.0.1", 0);
    const std::string back = co_await send_one_line(co_await open_connection("127.0.0.1", port_of(*server)));
    EXPECT_EQ(back, "hello world!\n");
    server->close();
    co_await server->wait_closed();
    EXPECT_TRUE(handler.contexts().empty());
  });
}

TEST(Streams, AWriteAfterTheWriterClosedIsDroppedAsInCPython) {
  run_io([]() -> Coro<void> {
    std::shared_ptr<Server> server =
        co_await start_server([](std::shared_ptr<StreamReader> reader,
                                 StreamWriter writer) -> Coro<void> { writer.write(co_await reader->readline()); },
                              "127.0.0.1", 0);
    auto [reader, writer] = co_await open_connection("127.0.0.1", port_of(*server));
    writer.write("kept\n");
    EXPECT_EQ(co_await reader->readline(), "kept\n");
    writer.close();
    writer.write("dropped");  // no exception: the data goes nowhere
    co_await writer.wait_closed();
    writer.write("after wait_closed");
    server->close();
    co_await server->wait_closed();
  });
}

TEST(Streams, AHandlerMayHandItsWriterOverAndTheConnectionStaysOpenUntilTheNewOwnerLetsGo) {
  // A chat room: the handler gives the writer to the room and returns; the room writes to the
  // client later, and the connection closes when the room drops the writer.
  run_io([]() -> Coro<void> {
    std::vector<StreamWriter> room;
    std::shared_ptr<Server> server = co_await start_server(
        [&room](std::shared_ptr<StreamReader>, StreamWriter writer) -> Coro<void> {
          room.push_back(std::move(writer));
          co_return;  // the moved-from writer closes nothing
        },
        "127.0.0.1", 0);
    auto [reader, writer] = co_await open_connection("127.0.0.1", port_of(*server));
    while (room.empty()) co_await asyncio::sleep(0);  // the handler has run
    room.front().write("welcome\n");
    EXPECT_EQ(co_await reader->readline(), "welcome\n");
    room.clear();  // the owner lets go: its destructor closes the connection
    EXPECT_EQ(co_await reader->read(), "");
    writer.close();
    server->close();
    co_await server->wait_closed();
  });
}

TEST(Streams, AServerWithAPlainCallbackStartsItsOwnTask) {
  // CPython's test_start_server, the plain callback variant.
  run_io([]() -> Coro<void> {
    std::shared_ptr<Server> server = co_await start_server(
        [](std::shared_ptr<StreamReader> reader, StreamWriter writer) {
          create_task(echo_one_line(std::move(reader), std::move(writer)));
        },
        "127.0.0.1", 0);
    EXPECT_EQ(co_await send_one_line(co_await open_connection("127.0.0.1", port_of(*server))), "hello world!\n");
    server->close();
    co_await server->wait_closed();
  });
}

TEST(Streams, StartServerServesOnABoundSocket) {
  run_io([]() -> Coro<void> {
    asyncio::Socket sock(AF_INET, SOCK_STREAM);
    sock.bind(SocketAddress("127.0.0.1", 0));
    const std::uint16_t port = sock.getsockname().port();
    std::shared_ptr<Server> server = co_await start_server(echo_one_line, std::move(sock));
    EXPECT_EQ(co_await send_one_line(co_await open_connection("127.0.0.1", port)), "hello world!\n");
    server->close();
    co_await server->wait_closed();
  });
}

TEST(Streams, OpenConnectionOverAConnectedSocket) {
  run_io([]() -> Coro<void> {
    std::shared_ptr<Server> server = co_await start_server(echo_one_line, "127.0.0.1", 0);
    asyncio::Socket sock(AF_INET, SOCK_STREAM);
    co_await asyncio::sock_connect(sock, SocketAddress("127.0.0.1", port_of(*server)));
    EXPECT_EQ(co_await send_one_line(co_await open_connection(std::move(sock))), "hello world!\n");
    server->close();
    co_await server->wait_closed();
  });
}

TEST(Streams, StartUnixServerAndOpenUnixConnectionEchoALine) {
  // CPython's test_start_unix_server.
  SocketPath path;
  run_io([&path]() -> Coro<void> {
    std::shared_ptr<Server> server = co_await asyncio::start_unix_server(echo_one_line, path.str());
    EXPECT_EQ(co_await send_one_line(co_await asyncio::open_unix_connection(path.str())), "hello world!\n");
    server->close();
    co_await server->wait_closed();
  });
}

TEST(Streams, ReadGetsEverythingTheServerSentBeforeClosing) {
  // CPython's _basetest_open_connection: read() to EOF after a reply; here 1 MiB, so the
  // server's writes are buffered and its close waits for the flush.
  run_io([]() -> Coro<void> {
    const std::string payload = pattern(1 << 20);
    std::shared_ptr<Server> server = co_await start_server(
        [&payload](std::shared_ptr<StreamReader>, StreamWriter writer) -> Coro<void> {
          writer.write(payload);
          co_return;  // the writer closes the connection once the data is sent
        },
        "127.0.0.1", 0);
    auto [reader, writer] = co_await open_connection("127.0.0.1", port_of(*server));
    const std::string got = co_await reader->read();
    EXPECT_EQ(got.size(), payload.size());
    EXPECT_TRUE(got == payload);
    EXPECT_TRUE(reader->at_eof());
    writer.close();
    co_await writer.wait_closed();
    server->close();
    co_await server->wait_closed();
  });
}

TEST(Streams, DrainHoldsAWriterBackUntilThePeerReads) {
  // Flow control end to end: 8 MiB through drain() to a reader that reads in small steps.
  run_io([]() -> Coro<void> {
    const std::string payload = pattern(8 << 20);
    std::string received;
    std::shared_ptr<Server> server = co_await start_server(
        [&received, total = payload.size()](std::shared_ptr<StreamReader> reader, StreamWriter writer) -> Coro<void> {
          while (received.size() < total) received += co_await reader->read(4096);
          writer.write("done\n");
          co_await writer.drain();
        },
        "127.0.0.1", 0);
    auto [reader, writer] = co_await open_connection("127.0.0.1", port_of(*server));
    bool paused_once = false;
    for (std::size_t at = 0; at < payload.size(); at += 65536) {
      writer.write(std::string_view(payload).substr(at, 65536));
      paused_once = paused_once || writer.transport()->get_write_buffer_size() > 0;
      co_await writer.drain();
    }
    EXPECT_EQ(co_await reader->readline(), "done\n");
    EXPECT_TRUE(received == payload);
    EXPECT_TRUE(paused_once);
    writer.close();
    co_await writer.wait_closed();
    server->close();
    co_await server->wait_closed();
  });
}

TEST(Streams, DrainRaisesOnceThePeerIsGone) {
  // CPython's test_drain_raises (bpo-25441): write and drain in a loop to a peer that closed must
  // end with a connection error, not spin forever.
  run_io([]() -> Coro<void> {
    std::shared_ptr<Server> server = co_await start_server(
        [](std::shared_ptr<StreamReader>, StreamWriter) -> Coro<void> { co_return; }, "127.0.0.1", 0);
    auto [reader, writer] = co_await open_connection("127.0.0.1", port_of(*server));
    // Both ends share this loop, and drain() does not yield while writing is not paused: wait for
    // the server's close first, or the loop could buffer every write before the server runs.
    EXPECT_EQ(co_await reader->read(), "");
    bool raised = false;
    try {
      for (int i = 0; i < 100000; ++i) {
        writer.write("foo\n");
        co_await writer.drain();
      }
    } catch (const asyncio::ConnectionError&) {
      raised = true;
    }
    EXPECT_TRUE(raised);
    server->close();
    co_await server->wait_closed();
  });
}

TEST(Streams, ClosingTheWriterEndsTheReaderWithEof) {
  // CPython's test_eof_feed_when_closing_writer and test_wait_closed_on_close.
  run_io([]() -> Coro<void> {
    std::shared_ptr<Server> server = co_await start_server(
        [](std::shared_ptr<StreamReader> reader, StreamWriter) -> Coro<void> { co_await reader->read(); }, "127.0.0.1",
        0);
    auto [reader, writer] = co_await open_connection("127.0.0.1", port_of(*server));
    EXPECT_FALSE(writer.is_closing());
    writer.close();
    EXPECT_TRUE(writer.is_closing());
    co_await writer.wait_closed();
    EXPECT_TRUE(reader->at_eof());
    EXPECT_EQ(co_await reader->read(), "");
    server->close();
    co_await server->wait_closed();
  });
}

TEST(Streams, WriteEofHalfClosesAndTheServerStillAnswers) {
  run_io([]() -> Coro<void> {
    std::shared_ptr<Server> server = co_await start_server(
        [](std::shared_ptr<StreamReader> reader, StreamWriter writer) -> Coro<void> {
          const std::string request = co_await reader->read();  // until the client's EOF
          writer.write("got " + std::to_string(request.size()) + " bytes");
          co_await writer.drain();
        },
        "127.0.0.1", 0);
    auto [reader, writer] = co_await open_connection("127.0.0.1", port_of(*server));
    EXPECT_TRUE(writer.can_write_eof());
    writer.write("12345");
    writer.write_eof();
    EXPECT_EQ(co_await reader->read(), "got 5 bytes");
    // Both sides have sent EOF, but eof_received() keeps a stream open: closing is ours to do.
    EXPECT_FALSE(writer.is_closing());
    writer.close();
    co_await writer.wait_closed();
    server->close();
    co_await server->wait_closed();
  });
}

TEST(Streams, OpenConnectionToAPortNobodyListensOnRaisesConnectionRefusedError) {
  run_io([]() -> Coro<void> {
    asyncio::Socket sock(AF_INET, SOCK_STREAM);
    sock.bind(SocketAddress("127.0.0.1", 0));
    const std::uint16_t port = sock.getsockname().port();
    sock.close();  // bound, never listened: the port refuses
    EXPECT_THROW(co_await open_connection("127.0.0.1", port), asyncio::ConnectionRefusedError);
  });
}

TEST(Streams, TheWriterKnowsBothEndsAddresses) {
  run_io([]() -> Coro<void> {
    std::shared_ptr<Server> server = co_await start_server(echo_one_line, "127.0.0.1", 0);
    auto [reader, writer] = co_await open_connection("127.0.0.1", port_of(*server));
    const auto peer = std::any_cast<SocketAddress>(writer.get_extra_info("peername"));
    EXPECT_EQ(peer, SocketAddress("127.0.0.1", port_of(*server)));
    EXPECT_TRUE(writer.get_extra_info("sockname").has_value());
    writer.close();
    co_await writer.wait_closed();
    server->close();
    co_await server->wait_closed();
  });
}

TEST(Streams, TheReaderOfOpenConnectionHasTheGivenLimit) {
  run_io([]() -> Coro<void> {
    std::shared_ptr<Server> server = co_await start_server(
        [](std::shared_ptr<StreamReader>, StreamWriter writer) -> Coro<void> {
          writer.write("a line longer than ten bytes\nshort\n");
          co_await writer.drain();
        },
        "127.0.0.1", 0);
    auto [reader, writer] = co_await open_connection("127.0.0.1", port_of(*server), 10);
    EXPECT_EQ(reader->limit(), 10u);
    EXPECT_THROW(co_await reader->readline(), asyncio::ValueError);
    EXPECT_EQ(co_await reader->readline(), "short\n");
    server->close();
    co_await server->wait_closed();
  });
}

TEST(Streams, ALimitOfZeroIsAValueError) {
  run_io([]() -> Coro<void> {
    EXPECT_THROW(co_await open_connection("127.0.0.1", 1, 0), asyncio::ValueError);
    EXPECT_THROW(co_await start_server(echo_one_line, "127.0.0.1", 0, 0), asyncio::ValueError);
  });
}

TEST(Streams, AFailingHandlerIsReportedAndItsClientSeesTheConnectionClose) {
  run_io([]() -> Coro<void> {
    asyncio::testing::HandlerCapture handler(get_running_loop());
    std::shared_ptr<Server> server = co_await start_server(
        [](std::shared_ptr<StreamReader> reader, StreamWriter) -> Coro<void> {
          co_await reader->readline();
          throw std::runtime_error("handler failed");
        },
        "127.0.0.1", 0);
    auto [reader, writer] = co_await open_connection("127.0.0.1", port_of(*server));
    writer.write("trigger\n");
    EXPECT_EQ(co_await reader->read(), "");
    server->close();
    co_await server->wait_closed();
    EXPECT_EQ(handler.contexts().size(), 1u);
    if (!handler.contexts().empty()) {
      EXPECT_EQ(handler.contexts()[0].message, "Unhandled exception in client_connected_cb");
    }
  });
}

TEST(Streams, ManyClientsEchoLinesAtTheSameTime) {
  run_io([]() -> Coro<void> {
    std::shared_ptr<Server> server = co_await start_server(
        [](std::shared_ptr<StreamReader> reader, StreamWriter writer) -> Coro<void> {
          for (;;) {
            std::string line = co_await reader->readline();
            if (line.empty()) co_return;
            writer.write(line);
            co_await writer.drain();
          }
        },
        "127.0.0.1", 0);
    const std::uint16_t port = port_of(*server);
    std::vector<asyncio::Task<int>> clients;
    for (int c = 0; c < 50; ++c) {
      clients.push_back(create_task([port, c]() -> Coro<int> {
        auto [reader, writer] = co_await open_connection("127.0.0.1", port);
        int good = 0;
        for (int i = 0; i < 100; ++i) {
          const std::string line = "client " + std::to_string(c) + " line " + std::to_string(i) + "\n";
          writer.write(line);
          if (co_await reader->readline() == line) ++good;
        }
        writer.close();
        co_await writer.wait_closed();
        co_return good;
      }));
    }
    for (auto& client : clients) EXPECT_EQ(co_await client, 100);
    server->close();
    co_await server->wait_closed();
  });
}

}  // namespace
