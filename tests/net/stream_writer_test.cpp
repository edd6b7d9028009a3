// asyncio::StreamWriter and FlowControlMixin (CPython 3.13 Lib/asyncio/streams.py StreamWriter and
// FlowControlMixin, and the writer tests of Lib/test/test_asyncio/test_streams.py), over a fake
// transport on the virtual clock.

#include <gtest/gtest.h>
#include <asyncio/flow/gather.hpp>
#include <asyncio/flow/sleep.hpp>
#include <asyncio/flow/wait_for.hpp>
#include <asyncio/net/stream_protocol.hpp>
#include <asyncio/net/stream_writer.hpp>
#include <asyncio/os_error.hpp>
#include <asyncio/task/task.hpp>

#include <any>
#include <cerrno>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "net/fake_transport.hpp"
#include "support/test_support.hpp"

namespace {

using asyncio::CancelledError;
using asyncio::ConnectionResetError;
using asyncio::Coro;
using asyncio::create_task;
using asyncio::FlowControlMixin;
using asyncio::get_running_loop;
using asyncio::InvalidStateError;
using asyncio::sleep;
using asyncio::StreamReader;
using asyncio::StreamReaderProtocol;
using asyncio::StreamWriter;
using asyncio::Task;
using asyncio::ValueError;
using asyncio::testing::FakeTransport;
using asyncio::testing::run_virtual_watched;

/// A connected stream over a FakeTransport: what open_connection gives, without a socket.
struct Connection {
  std::shared_ptr<StreamReader> reader = std::make_shared<StreamReader>();
  std::shared_ptr<StreamReaderProtocol> protocol = std::make_shared<StreamReaderProtocol>(reader);
  std::shared_ptr<FakeTransport> transport;
  StreamWriter writer;

  explicit Connection(bool can_write_eof = true) : transport(std::make_shared<FakeTransport>(protocol, can_write_eof)) {
    transport->connect();
    writer = StreamWriter(*transport, protocol, reader);
  }
};

std::exception_ptr reset_error() { return std::make_exception_ptr(ConnectionResetError(ECONNRESET, "recv")); }

// --- forwarding to the transport -----------------------------------------------------------------

TEST(StreamWriter, WriteHandsTheDataToTheTransport) {
  run_virtual_watched([]() -> Coro<void> {
    Connection c;
    c.writer.write("GET / HTTP/1.0\r\n");
    c.writer.write("\r\n");
    EXPECT_EQ(c.transport->written, "GET / HTTP/1.0\r\n\r\n");
    co_return;
  });
}

TEST(StreamWriter, WritelinesHandsEveryPieceToTheTransport) {
  run_virtual_watched([]() -> Coro<void> {
    Connection c;
    c.writer.writelines({"a", "bc", "", "def"});
    const std::vector<std::string_view> more = {"g", "h"};
    c.writer.writelines(more);
    EXPECT_EQ(c.transport->written, "abcdefgh");
    co_return;
  });
}

TEST(StreamWriter, WriteEofAndCanWriteEofAskTheTransport) {
  run_virtual_watched([]() -> Coro<void> {
    Connection c;
    EXPECT_TRUE(c.writer.can_write_eof());
    c.writer.write_eof();
    EXPECT_TRUE(c.transport->eof_written);
    Connection no_eof(false);
    EXPECT_FALSE(no_eof.writer.can_write_eof());
    EXPECT_THROW(no_eof.writer.write_eof(), asyncio::RuntimeError);
    co_return;
  });
}

TEST(StreamWriter, TransportIsTheWrappedTransport) {
  run_virtual_watched([]() -> Coro<void> {
    Connection c;
    EXPECT_EQ(c.writer.transport(), static_cast<asyncio::WriteTransport*>(c.transport.get()));
    co_return;
  });
}

TEST(StreamWriter, GetExtraInfoReturnsTheTransportsInfoOrTheDefault) {
  run_virtual_watched([]() -> Coro<void> {
    Connection c;
    c.transport->extra["peername"] = std::string("127.0.0.1:80");
    EXPECT_EQ(std::any_cast<std::string>(c.writer.get_extra_info("peername")), "127.0.0.1:80");
    EXPECT_FALSE(c.writer.get_extra_info("sockname").has_value());
    EXPECT_EQ(std::any_cast<int>(c.writer.get_extra_info("sockname", 7)), 7);
    co_return;
  });
}

TEST(StreamWriter, CloseClosesTheTransportAndIsClosingBecomesTrue) {
  // CPython's test_wait_closed_on_close.
  run_virtual_watched([]() -> Coro<void> {
    Connection c;
    EXPECT_FALSE(c.writer.is_closing());
    c.writer.close();
    EXPECT_TRUE(c.writer.is_closing());
    EXPECT_EQ(c.transport->close_calls, 1);
    co_await c.writer.wait_closed();
    EXPECT_TRUE(c.transport->lost());
    EXPECT_TRUE(c.writer.is_closing());
  });
}

TEST(StreamWriter, WaitClosedWaitsUntilTheConnectionIsLost) {
  run_virtual_watched([]() -> Coro<void> {
    Connection c;
    auto waiter = create_task(c.writer.wait_closed());
    co_await sleep(1);
    EXPECT_FALSE(waiter.done());
    c.transport->lose();
    co_await waiter;
    EXPECT_TRUE(waiter.done());
  });
}

TEST(StreamWriter, WaitClosedRaisesTheErrorTheConnectionEndedWith) {
  run_virtual_watched([]() -> Coro<void> {
    Connection c;
    c.transport->lose(reset_error());
    EXPECT_THROW(co_await c.writer.wait_closed(), ConnectionResetError);
    EXPECT_THROW(co_await c.writer.wait_closed(), ConnectionResetError);
  });
}

TEST(StreamWriter, WaitClosedDoesNotNeedTheWriterToStayAlive) {
  run_virtual_watched([]() -> Coro<void> {
    auto c = std::make_unique<Connection>();
    auto waiter = create_task(c->writer.wait_closed());
    auto transport = c->transport;
    c.reset();  // closes the transport
    co_await waiter;
    EXPECT_TRUE(transport->lost());
  });
}

TEST(StreamWriter, AConnectionErrorNobodyWaitedForIsNotReported) {
  // CPython's StreamReaderProtocol.__del__ marks the close waiter's exception retrieved.
  run_virtual_watched([]() -> Coro<void> {
    asyncio::testing::HandlerCapture handler(get_running_loop());
    {
      Connection c;
      c.transport->lose(reset_error());
    }
    co_await sleep(0);
    EXPECT_TRUE(handler.contexts().empty());
  });
}

// --- drain ---------------------------------------------------------------------------------------

TEST(StreamWriter, DrainReturnsAtOnceWhenWritingIsNotPaused) {
  run_virtual_watched([]() -> Coro<void> {
    Connection c;
    c.writer.write("x");
    const auto iterations = get_running_loop().stats().iterations;
    co_await c.writer.drain();
    EXPECT_EQ(get_running_loop().stats().iterations, iterations);
  });
}

TEST(StreamWriter, DrainWaitsWhileWritingIsPausedAndReturnsOnResume) {
  run_virtual_watched([]() -> Coro<void> {
    Connection c;
    c.transport->pause_writing();
    auto drainer = create_task(c.writer.drain());
    co_await sleep(5);
    EXPECT_FALSE(drainer.done());
    c.transport->resume_writing();
    co_await drainer;
    EXPECT_TRUE(drainer.done());
    co_await c.writer.drain();  // not paused any more
  });
}

TEST(StreamWriter, SeveralDrainsWaitTogetherAndAllReturnOnResume) {
  // CPython's test_multiple_drain (gh-74116), on the FlowControlMixin directly.
  run_virtual_watched([]() -> Coro<void> {
    auto protocol = std::make_shared<StreamReaderProtocol>(nullptr);
    protocol->pause_writing();
    get_running_loop().call_later(0.1, [protocol] { protocol->resume_writing(); });
    int drained = 0;
    std::vector<Task<void>> drainers;
    for (int i = 0; i < 10; ++i) {
      drainers.push_back(create_task([&drained, protocol]() -> Coro<void> {
        co_await protocol->drain_helper();
        ++drained;
      }));
    }
    for (auto& d : drainers) co_await d;
    EXPECT_EQ(drained, 10);
  });
}

TEST(StreamWriter, DrainAfterTheConnectionWasLostRaisesConnectionResetError) {
  run_virtual_watched([]() -> Coro<void> {
    Connection c;
    c.transport->lose();
    try {
      co_await c.writer.drain();
      ADD_FAILURE() << "no ConnectionResetError";
    } catch (const ConnectionResetError& e) {
      EXPECT_EQ(e.operation(), "Connection lost");
      EXPECT_EQ(e.errno_value(), ECONNRESET);
    }
  });
}

TEST(StreamWriter, DrainOnAClosingConnectionLetsConnectionLostRunAndRaises) {
  // CPython's test_async_writer_api_exception_after_close: close(), then drain() yields so that
  // connection_lost runs, and raises ConnectionResetError.
  run_virtual_watched([]() -> Coro<void> {
    Connection c;
    c.writer.close();
    EXPECT_FALSE(c.transport->lost());
    EXPECT_THROW(co_await c.writer.drain(), ConnectionResetError);
    EXPECT_TRUE(c.transport->lost());
  });
}

TEST(StreamWriter, ADrainWaitingWhenTheConnectionBreaksRaisesTheError) {
  run_virtual_watched([]() -> Coro<void> {
    Connection c;
    c.transport->pause_writing();
    auto drainer = create_task(c.writer.drain());
    co_await sleep(0);
    c.transport->lose(reset_error());
    try {
      co_await drainer;
      ADD_FAILURE() << "no ConnectionResetError";
    } catch (const ConnectionResetError& e) {
      EXPECT_EQ(e.operation(), "recv");
    }
  });
}

TEST(StreamWriter, ADrainWaitingWhenTheConnectionClosesCleanlyReturnsAndTheNextRaises) {
  run_virtual_watched([]() -> Coro<void> {
    Connection c;
    c.transport->pause_writing();
    auto drainer = create_task(c.writer.drain());
    co_await sleep(0);
    c.transport->lose();
    co_await drainer;
    EXPECT_TRUE(drainer.done());
    EXPECT_THROW(co_await c.writer.drain(), ConnectionResetError);
  });
}

TEST(StreamWriter, DrainRaisesTheReadersException) {
  // CPython's test_open_connection_error: the connection's error reaches drain() through the reader.
  run_virtual_watched([]() -> Coro<void> {
    Connection c;
    c.reader->set_exception(ValueError("boom"));
    EXPECT_THROW(co_await c.writer.drain(), ValueError);
    c.transport->lose(reset_error());
    EXPECT_THROW(co_await c.reader->read(), ConnectionResetError);
    EXPECT_THROW(co_await c.writer.drain(), ConnectionResetError);
  });
}

TEST(StreamWriter, ACancelledDrainLeavesTheOthersWaiting) {
  run_virtual_watched([]() -> Coro<void> {
    Connection c;
    c.transport->pause_writing();
    auto first = create_task(c.writer.drain());
    auto second = create_task(c.writer.drain());
    co_await sleep(0);
    first.cancel();
    EXPECT_THROW(co_await first, CancelledError);
    c.transport->resume_writing();
    co_await second;
    EXPECT_TRUE(second.done() && !second.cancelled());
  });
}

TEST(StreamWriter, DrainUnderWaitForTimesOutWhilePaused) {
  run_virtual_watched([]() -> Coro<void> {
    Connection c;
    c.transport->pause_writing();
    const double start = get_running_loop().time();
    EXPECT_THROW(co_await asyncio::wait_for(c.writer.drain(), 1.5), asyncio::TimeoutError);
    EXPECT_DOUBLE_EQ(get_running_loop().time() - start, 1.5);
    c.transport->resume_writing();
    co_await asyncio::wait_for(c.writer.drain(), 1.5);
  });
}

TEST(StreamWriter, DrainConvertsToACoro) {
  run_virtual_watched([]() -> Coro<void> {
    Connection c;
    Coro<void> drain = c.writer.drain();
    co_await std::move(drain);
    auto gathered = asyncio::gather(c.writer.drain(), c.writer.drain());
    co_await gathered;
    EXPECT_TRUE(gathered.done());
  });
}

// --- after the connection is lost ----------------------------------------------------------------

TEST(StreamWriter, AfterTheConnectionIsLostTheWriterNoLongerTouchesTheTransport) {
  run_virtual_watched([]() -> Coro<void> {
    Connection c;
    c.writer.write("before");
    c.transport->lose();
    c.transport.reset();      // the transport may be destroyed now: ASan checks the writer leaves it
    c.writer.write("after");  // dropped, as CPython's transports drop writes once lost
    c.writer.writelines({"more"});
    c.writer.write_eof();
    c.writer.close();
    EXPECT_TRUE(c.writer.is_closing());
    EXPECT_EQ(c.writer.transport(), nullptr);
    EXPECT_FALSE(c.writer.get_extra_info("peername").has_value());
    EXPECT_TRUE(c.writer.can_write_eof());
    co_await c.writer.wait_closed();
  });
}

TEST(StreamWriter, DestroyingAnOpenWriterClosesTheTransport) {
  run_virtual_watched([]() -> Coro<void> {
    Connection c;
    { StreamWriter doomed = std::move(c.writer); }
    EXPECT_EQ(c.transport->close_calls, 1);
    EXPECT_TRUE(c.transport->is_closing());
    co_await sleep(0);
    EXPECT_TRUE(c.transport->lost());
  });
}

TEST(StreamWriter, DestroyingAWriterWhoseTransportIsClosingDoesNotCloseAgain) {
  run_virtual_watched([]() -> Coro<void> {
    Connection c;
    c.writer.close();
    { StreamWriter doomed = std::move(c.writer); }
    EXPECT_EQ(c.transport->close_calls, 1);
    co_return;
  });
}

TEST(StreamWriter, DestroyingAWriterAfterTheConnectionIsLostLeavesTheTransportAlone) {
  run_virtual_watched([]() -> Coro<void> {
    Connection c;
    c.transport->lose();
    c.transport.reset();
    { StreamWriter doomed = std::move(c.writer); }
    co_return;
  });
}

TEST(StreamWriter, AWriterOutlivingItsLoopDoesNotTouchTheTransport) {
  StreamWriter survivor;
  std::shared_ptr<FakeTransport> transport;
  run_virtual_watched([&]() -> Coro<void> {
    Connection c;
    survivor = std::move(c.writer);
    transport = c.transport;
    co_return;
  });
  EXPECT_EQ(transport->close_calls, 0);
  survivor = StreamWriter();  // its loop is gone: not closed, nothing touched
  EXPECT_EQ(transport->close_calls, 0);
}

TEST(StreamWriter, AMovedFromWriterIsEmptyAndRaisesInvalidStateError) {
  run_virtual_watched([]() -> Coro<void> {
    Connection c;
    StreamWriter moved = std::move(c.writer);
    EXPECT_TRUE(c.writer.is_empty());
    EXPECT_FALSE(moved.is_empty());
    EXPECT_THROW(c.writer.write("x"), InvalidStateError);
    EXPECT_THROW((void)c.writer.is_closing(), InvalidStateError);
    EXPECT_THROW(co_await c.writer.drain(), InvalidStateError);
    EXPECT_THROW((void)c.writer.wait_closed(), InvalidStateError);
    EXPECT_EQ(c.writer.repr(), "<StreamWriter empty>");
    moved.write("y");
    EXPECT_EQ(c.transport->written, "y");
  });
}

TEST(StreamWriter, MoveAssigningOverAnOpenWriterClosesItsConnection) {
  run_virtual_watched([]() -> Coro<void> {
    Connection b;  // made first, destroyed last: a's writer ends up on b's transport
    Connection a;
    a.writer = std::move(b.writer);
    EXPECT_EQ(a.transport->close_calls, 1);
    EXPECT_EQ(b.transport->close_calls, 0);
    a.writer.write("to b");
    EXPECT_EQ(b.transport->written, "to b");
    co_return;
  });
}

TEST(StreamWriter, AWriterNeedsAProtocol) {
  run_virtual_watched([]() -> Coro<void> {
    auto transport = std::make_shared<FakeTransport>(nullptr);
    EXPECT_THROW(StreamWriter(*transport, nullptr), ValueError);
    co_return;
  });
}

TEST(StreamWriter, ReprNamesTheTransportAndTheReader) {
  run_virtual_watched([]() -> Coro<void> {
    Connection c;
    const std::string repr = c.writer.repr();
    EXPECT_EQ(repr.rfind("<StreamWriter transport=<asyncio::testing::FakeTransport> reader=<StreamReader", 0), 0u)
        << repr;
    c.transport->lose();
    EXPECT_EQ(c.writer.repr().rfind("<StreamWriter transport=<lost>", 0), 0u);
    co_return;
  });
}

// --- FlowControlMixin ----------------------------------------------------------------------------

TEST(FlowControlMixin, NeedsARunningLoop) { EXPECT_THROW(StreamReaderProtocol(nullptr), asyncio::RuntimeError); }

TEST(FlowControlMixin, TracksPauseAndResume) {
  run_virtual_watched([]() -> Coro<void> {
    auto protocol = std::make_shared<StreamReaderProtocol>(nullptr);
    EXPECT_TRUE(protocol->drain_ready());
    protocol->pause_writing();
    EXPECT_TRUE(protocol->is_writing_paused());
    EXPECT_FALSE(protocol->drain_ready());
    protocol->resume_writing();
    EXPECT_FALSE(protocol->is_writing_paused());
    protocol->connection_lost(nullptr);
    EXPECT_TRUE(protocol->is_connection_lost());
    EXPECT_FALSE(protocol->drain_ready());
    co_return;
  });
}

}  // namespace
