// asyncio::StreamReaderProtocol (CPython 3.13 Lib/asyncio/streams.py StreamReaderProtocol, and the
// start_server handling of client_connected_cb), driven by a fake transport on the virtual clock.

#include <gtest/gtest.h>
#include <asyncio/flow/sleep.hpp>
#include <asyncio/net/stream_protocol.hpp>
#include <asyncio/os_error.hpp>
#include <asyncio/task/task.hpp>

#include <cerrno>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "net/fake_transport.hpp"
#include "support/test_support.hpp"

namespace {

using asyncio::ClientConnectedCallback;
using asyncio::ConnectionResetError;
using asyncio::Coro;
using asyncio::create_task;
using asyncio::get_running_loop;
using asyncio::sleep;
using asyncio::StreamReader;
using asyncio::StreamReaderProtocol;
using asyncio::StreamWriter;
using asyncio::testing::FakeTransport;
using asyncio::testing::HandlerCapture;
using asyncio::testing::run_virtual_watched;

std::exception_ptr reset_error() { return std::make_exception_ptr(ConnectionResetError(ECONNRESET, "recv")); }

/// A server-side connection: the protocol start_server would make for one client.
struct ServerConnection {
  std::shared_ptr<StreamReaderProtocol> protocol;
  std::shared_ptr<FakeTransport> transport;

  explicit ServerConnection(ClientConnectedCallback callback, std::ptrdiff_t limit = 65536)
      : protocol(std::make_shared<StreamReaderProtocol>(
            std::make_shared<StreamReader>(limit),
            std::make_shared<const ClientConnectedCallback>(std::move(callback)))),
        transport(std::make_shared<FakeTransport>(protocol)) {
    transport->connect();
  }
};

// --- feeding the reader --------------------------------------------------------------------------

TEST(StreamReaderProtocol, DataReceivedFeedsTheReader) {
  run_virtual_watched([]() -> Coro<void> {
    auto reader = std::make_shared<StreamReader>();
    auto protocol = std::make_shared<StreamReaderProtocol>(reader);
    auto transport = std::make_shared<FakeTransport>(protocol);
    transport->connect();
    transport->receive("hello\nwor");
    transport->receive("ld\n");
    EXPECT_EQ(co_await reader->readline(), "hello\n");
    EXPECT_EQ(co_await reader->readline(), "world\n");
  });
}

TEST(StreamReaderProtocol, EofReceivedFeedsEofAndKeepsTheConnectionOpen) {
  run_virtual_watched([]() -> Coro<void> {
    auto reader = std::make_shared<StreamReader>();
    auto protocol = std::make_shared<StreamReaderProtocol>(reader);
    auto transport = std::make_shared<FakeTransport>(protocol);
    transport->connect();
    transport->receive("tail");
    EXPECT_TRUE(transport->receive_eof());
    EXPECT_EQ(co_await reader->read(), "tail");
    EXPECT_TRUE(reader->at_eof());
    EXPECT_FALSE(transport->is_closing());
  });
}

TEST(StreamReaderProtocol, ConnectionMadeLetsTheReaderPauseTheTransport) {
  run_virtual_watched([]() -> Coro<void> {
    auto reader = std::make_shared<StreamReader>(4);
    auto protocol = std::make_shared<StreamReaderProtocol>(reader);
    auto transport = std::make_shared<FakeTransport>(protocol);
    transport->connect();
    EXPECT_EQ(protocol->transport(), transport.get());
    transport->receive("123456789");
    EXPECT_FALSE(transport->is_reading());
    EXPECT_EQ(co_await reader->read(100), "123456789");
    EXPECT_TRUE(transport->is_reading());
  });
}

TEST(StreamReaderProtocol, ACleanConnectionLostEndsTheReaderWithEof) {
  // CPython's test_eof_feed_when_closing_writer.
  run_virtual_watched([]() -> Coro<void> {
    auto reader = std::make_shared<StreamReader>();
    auto protocol = std::make_shared<StreamReaderProtocol>(reader);
    auto transport = std::make_shared<FakeTransport>(protocol);
    transport->connect();
    transport->close();
    co_await sleep(0);
    EXPECT_TRUE(reader->at_eof());
    EXPECT_EQ(co_await reader->read(), "");
  });
}

TEST(StreamReaderProtocol, AConnectionLostWithAnErrorIsRaisedByTheReader) {
  run_virtual_watched([]() -> Coro<void> {
    auto reader = std::make_shared<StreamReader>();
    auto protocol = std::make_shared<StreamReaderProtocol>(reader);
    auto transport = std::make_shared<FakeTransport>(protocol);
    transport->connect();
    transport->receive("unread");
    transport->lose(reset_error());
    EXPECT_THROW(co_await reader->read(), ConnectionResetError);
    EXPECT_THROW(co_await reader->readline(), ConnectionResetError);
  });
}

TEST(StreamReaderProtocol, AConnectionLostWakesAWaitingReadWithTheError) {
  run_virtual_watched([]() -> Coro<void> {
    auto reader = std::make_shared<StreamReader>();
    auto protocol = std::make_shared<StreamReaderProtocol>(reader);
    auto transport = std::make_shared<FakeTransport>(protocol);
    transport->connect();
    auto pending = create_task(reader->readexactly(10));
    co_await sleep(0);
    transport->lose(reset_error());
    EXPECT_THROW(co_await pending, ConnectionResetError);
  });
}

TEST(StreamReaderProtocol, ConnectionLostForgetsTheTransportReaderAndTask) {
  run_virtual_watched([]() -> Coro<void> {
    auto reader = std::make_shared<StreamReader>(1);
    auto protocol = std::make_shared<StreamReaderProtocol>(reader);
    auto transport = std::make_shared<FakeTransport>(protocol);
    transport->connect();
    transport->receive("abcd");  // pauses the transport
    EXPECT_EQ(transport->pause_reading_calls, 1);
    transport->lose();
    EXPECT_EQ(protocol->transport(), nullptr);
    EXPECT_EQ(protocol->reader(), nullptr);
    transport.reset();  // gone: reading must not try to resume it (ASan checks)
    EXPECT_EQ(co_await reader->read(), "abcd");
  });
}

TEST(StreamReaderProtocol, AProtocolWithoutReaderDropsTheData) {
  run_virtual_watched([]() -> Coro<void> {
    auto protocol = std::make_shared<StreamReaderProtocol>(nullptr);
    auto transport = std::make_shared<FakeTransport>(protocol);
    transport->connect();
    transport->receive("ignored");
    EXPECT_TRUE(transport->receive_eof());
    transport->lose();
    EXPECT_TRUE(protocol->is_connection_lost());
    co_return;
  });
}

// --- client_connected callbacks (start_server) ---------------------------------------------------

TEST(StreamReaderProtocol, AClientCoroutineRunsAsATaskWithTheReaderAndWriter) {
  // CPython's test_start_server handler: read a line, echo it, close, wait_closed.
  run_virtual_watched([]() -> Coro<void> {
    ServerConnection conn([](std::shared_ptr<StreamReader> reader, StreamWriter writer) -> Coro<void> {
      std::string line = co_await reader->readline();
      writer.write(line);
      co_await writer.drain();
      writer.close();
      co_await writer.wait_closed();
    });
    EXPECT_TRUE(static_cast<bool>(conn.protocol->client_task()));
    auto task = conn.protocol->client_task();
    conn.transport->receive("hello world!\n");
    co_await task;
    EXPECT_EQ(conn.transport->written, "hello world!\n");
    EXPECT_TRUE(conn.transport->lost());
    EXPECT_FALSE(static_cast<bool>(conn.protocol->client_task()));
  });
}

TEST(StreamReaderProtocol, AClientPlainFunctionIsCalledInConnectionMade) {
  // CPython's test_start_server "callback" variant: the function starts the task itself.
  run_virtual_watched([]() -> Coro<void> {
    std::vector<asyncio::Task<void>> started;
    ServerConnection conn([&started](std::shared_ptr<StreamReader> reader, StreamWriter writer) {
      started.push_back(create_task([reader = std::move(reader), writer = std::move(writer)]() mutable -> Coro<void> {
        writer.write(co_await reader->readline());
        co_await writer.drain();
      }));
    });
    EXPECT_EQ(started.size(), 1u);
    if (started.empty()) co_return;
    EXPECT_FALSE(static_cast<bool>(conn.protocol->client_task()));
    conn.transport->receive("ping\n");
    co_await started[0];
    EXPECT_EQ(conn.transport->written, "ping\n");
    started.clear();  // the task's writer goes before the (fake) transport
  });
}

TEST(StreamReaderProtocol, AClientCoroutineThatReturnsClosesTheConnectionThroughItsWriter) {
  run_virtual_watched([]() -> Coro<void> {
    ServerConnection conn([](std::shared_ptr<StreamReader>, StreamWriter writer) -> Coro<void> {
      writer.write("bye");
      co_return;
    });
    co_await conn.protocol->client_task();
    EXPECT_EQ(conn.transport->written, "bye");
    EXPECT_TRUE(conn.transport->is_closing());
  });
}

TEST(StreamReaderProtocol, AFailingClientCoroutineIsReportedAndItsTransportClosed) {
  run_virtual_watched([]() -> Coro<void> {
    HandlerCapture handler(get_running_loop());
    std::shared_ptr<StreamWriter> kept;  // the writer outlives the task: only the protocol closes
    ServerConnection conn([&kept](std::shared_ptr<StreamReader>, StreamWriter writer) -> Coro<void> {
      kept = std::make_shared<StreamWriter>(std::move(writer));
      co_await sleep(0);
      throw std::runtime_error("handler failed");
    });
    auto task = conn.protocol->client_task();
    EXPECT_THROW(co_await task, std::runtime_error);
    co_await sleep(0);
    EXPECT_EQ(handler.contexts().size(), 1u);
    if (handler.contexts().empty()) co_return;
    EXPECT_EQ(handler.contexts()[0].message, "Unhandled exception in client_connected_cb");
    EXPECT_NE(handler.exceptions()[0].find("handler failed"), std::string::npos);
    EXPECT_EQ(conn.transport->close_calls, 1);
    co_await sleep(0);
    EXPECT_TRUE(conn.transport->lost());
  });
}

TEST(StreamReaderProtocol, ACancelledClientTaskClosesItsTransportWithoutAReport) {
  run_virtual_watched([]() -> Coro<void> {
    HandlerCapture handler(get_running_loop());
    std::shared_ptr<StreamWriter> kept;
    ServerConnection conn([&kept](std::shared_ptr<StreamReader> reader, StreamWriter writer) -> Coro<void> {
      kept = std::make_shared<StreamWriter>(std::move(writer));
      co_await reader->read();
    });
    auto task = conn.protocol->client_task();
    co_await sleep(0);
    task.cancel();
    EXPECT_THROW(co_await task, asyncio::CancelledError);
    co_await sleep(0);
    EXPECT_TRUE(handler.contexts().empty());
    EXPECT_EQ(conn.transport->close_calls, 1);
  });
}

TEST(StreamReaderProtocol, AThrowingPlainCallbackIsReportedAndItsTransportClosed) {
  run_virtual_watched([]() -> Coro<void> {
    HandlerCapture handler(get_running_loop());
    ServerConnection conn([](std::shared_ptr<StreamReader>, StreamWriter) { throw std::runtime_error("no"); });
    EXPECT_EQ(handler.contexts().size(), 1u);
    if (handler.contexts().empty()) co_return;
    EXPECT_EQ(handler.contexts()[0].message, "Unhandled exception in client_connected_cb");
    EXPECT_TRUE(conn.transport->is_closing());
    co_return;
  });
}

TEST(StreamReaderProtocol, AClientCallbacksCapturesLiveAsLongAsItsTask) {
  run_virtual_watched([]() -> Coro<void> {
    std::string seen;
    auto greeting = std::make_shared<std::string>("hello from a capture");
    asyncio::Task<void> task;
    {
      ServerConnection conn([greeting, &seen](std::shared_ptr<StreamReader> reader, StreamWriter) -> Coro<void> {
        co_await reader->read();  // until EOF: the connection is gone by then
        co_await sleep(1);
        seen = *greeting;
      });
      task = conn.protocol->client_task();
      conn.transport->lose();
    }
    greeting.reset();  // the task (through the shared callback) is now the only owner
    co_await task;
    EXPECT_EQ(seen, "hello from a capture");
  });
}

TEST(StreamReaderProtocol, AServerSharesOneCallbackAmongItsConnections) {
  run_virtual_watched([]() -> Coro<void> {
    int calls = 0;
    auto callback = std::make_shared<const ClientConnectedCallback>(
        [&calls](std::shared_ptr<StreamReader>, StreamWriter) -> Coro<void> {
          ++calls;
          co_return;
        });
    std::vector<std::shared_ptr<FakeTransport>> transports;
    for (int i = 0; i < 3; ++i) {
      auto protocol = std::make_shared<StreamReaderProtocol>(std::make_shared<StreamReader>(), callback);
      transports.push_back(std::make_shared<FakeTransport>(protocol));
      transports.back()->connect();
    }
    co_await sleep(0);
    EXPECT_EQ(calls, 3);
    for (auto& transport : transports) transport->lose();  // before the (fake) transports go
  });
}

TEST(StreamReaderProtocol, AClientTaskStillRunningAtShutdownIsCancelledAndClosesItsConnection) {
  // asyncio::run cancels the task at exit; its writer then closes the transport (which a real
  // transport's loop keeps alive until connection_lost: here the test does). LeakSanitizer checks
  // that the protocol and the task go.
  std::shared_ptr<FakeTransport> transport;
  run_virtual_watched([&transport]() -> Coro<void> {
    ServerConnection conn(
        [](std::shared_ptr<StreamReader> reader, StreamWriter) -> Coro<void> { co_await reader->read(); });
    transport = conn.transport;
    co_await sleep(0);
    EXPECT_FALSE(conn.protocol->client_task().done());
  });
  EXPECT_TRUE(transport->is_closing());
}

TEST(ClientConnectedCallback, TellsCoroutineFunctionsFromPlainOnes) {
  const ClientConnectedCallback coroutine = [](std::shared_ptr<StreamReader>, StreamWriter) -> Coro<void> {
    co_return;
  };
  const ClientConnectedCallback plain = [](std::shared_ptr<StreamReader>, StreamWriter) {};
  EXPECT_TRUE(coroutine.is_coroutine_function());
  EXPECT_FALSE(plain.is_coroutine_function());
}

}  // namespace
