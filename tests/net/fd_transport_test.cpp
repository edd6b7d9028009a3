// detail::FdTransport, the base of SocketTransport, ReadPipeTransport, WritePipeTransport and
// DatagramSocketTransport: what it does for all of them is checked once on each (a failing
// connection_lost or pause_writing, the warning about writes dropped after the end, which CPython
// counts differently for sockets and pipes), and its WriteBuffer on its own. Reference: CPython 3.13
// selector_events.py (_SelectorTransport), transports.py (_FlowControlMixin), unix_events.py.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <asyncio/net/datagram_transport.hpp>
#include <asyncio/net/fd_transport.hpp>
#include <asyncio/net/pipe_transport.hpp>
#include <asyncio/net/sock_ops.hpp>
#include <asyncio/net/socket.hpp>
#include <asyncio/process/pipe.hpp>

#include <cstddef>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "net/transport_test_support.hpp"

namespace {

using asyncio::BaseTransport;
using asyncio::Coro;
using asyncio::detail::WriteBuffer;
using asyncio::testing::HandlerCapture;
using asyncio::testing::LogCapture;
using nett::run_io;
using nett::until;

// The protocol factories are made before the co_await that takes them: g++ 12 destroys a temporary
// with a non-trivial destructor (a lambda holding a shared_ptr) twice inside a co_await expression.

constexpr const char* kSocketDropWarning = "socket.send() raised exception.";
constexpr const char* kPipeDropWarning = "pipe closed by peer or os.write(pipe, data) raised exception.";

/// A protocol (stream or datagram) that counts the calls it gets and throws where told to.
template <class Interface>
struct Probe : Interface {
  BaseTransport* transport = nullptr;
  int lost = 0;
  int pauses = 0;
  int resumes = 0;
  bool throw_in_made = false;
  bool throw_in_lost = false;
  bool throw_in_pause = false;

  void connection_made(BaseTransport& t) override {
    transport = &t;
    if (throw_in_made) throw std::runtime_error("connection_made failed");
  }
  void connection_lost(std::exception_ptr) override {
    ++lost;
    if (throw_in_lost) throw std::runtime_error("connection_lost failed");
  }
  void pause_writing() override {
    ++pauses;
    if (throw_in_pause) throw std::runtime_error("pause_writing failed");
  }
  void resume_writing() override { ++resumes; }
};
using StreamProbe = Probe<asyncio::Protocol>;
using DatagramProbe = Probe<asyncio::DatagramProtocol>;

/// Closes `transport`, whose protocol `probe` throws from connection_lost: the failure is reported
/// (the only context the handler gets), on a transport whose repr begins with `repr`, and the
/// protocol is released all the same.
template <class P>
Coro<void> close_and_expect_failing_connection_lost_reported(std::shared_ptr<BaseTransport> transport,
                                                             std::shared_ptr<P> probe, std::string repr) {
  HandlerCapture handler(asyncio::get_running_loop());
  transport->close();
  co_await until([&] { return probe->lost == 1; });
  NETT_CO_ASSERT_EQ(handler.contexts().size(), 1u);
  EXPECT_EQ(handler.contexts()[0].message, "Fatal error: protocol.connection_lost() call failed.");
  EXPECT_EQ(handler.contexts()[0].handle.rfind(repr, 0), 0u) << handler.contexts()[0].handle;
  EXPECT_NE(handler.exceptions()[0].find("connection_lost failed"), std::string::npos);
  EXPECT_EQ(transport->get_protocol(), nullptr);
}

/// A probe that throws from connection_lost.
template <class P>
std::shared_ptr<P> failing_in_lost() {
  auto probe = std::make_shared<P>();
  probe->throw_in_lost = true;
  return probe;
}

// =================================================================================================
// connection_lost failing
// =================================================================================================

TEST(FdTransport, ASocketTransportReportsAFailingConnectionLostAndStillReleasesTheProtocol) {
  run_io([]() -> Coro<void> {
    auto [mine, theirs] = asyncio::Socket::socketpair();
    auto probe = failing_in_lost<StreamProbe>();
    const auto factory = [probe] { return probe; };
    auto connected = co_await asyncio::create_connection(factory, std::move(mine));
    co_await close_and_expect_failing_connection_lost_reported(connected.first, probe, "<SocketTransport");
  });
}

TEST(FdTransport, AReadPipeTransportReportsAFailingConnectionLostAndStillReleasesTheProtocol) {
  run_io([]() -> Coro<void> {
    auto [r, w] = asyncio::open_pipe();
    auto probe = failing_in_lost<StreamProbe>();
    const auto factory = [probe] { return probe; };
    auto connected = co_await asyncio::connect_read_pipe(factory, std::move(r));
    co_await close_and_expect_failing_connection_lost_reported(connected.first, probe, "<ReadPipeTransport");
  });
}

TEST(FdTransport, AWritePipeTransportReportsAFailingConnectionLostAndStillReleasesTheProtocol) {
  run_io([]() -> Coro<void> {
    auto [r, w] = asyncio::open_pipe();
    auto probe = failing_in_lost<StreamProbe>();
    const auto factory = [probe] { return probe; };
    auto connected = co_await asyncio::connect_write_pipe(factory, std::move(w));
    co_await close_and_expect_failing_connection_lost_reported(connected.first, probe, "<WritePipeTransport");
  });
}

TEST(FdTransport, ADatagramTransportReportsAFailingConnectionLostAndStillReleasesTheProtocol) {
  run_io([]() -> Coro<void> {
    auto [mine, theirs] = asyncio::Socket::socketpair(AF_UNIX, SOCK_DGRAM);
    auto probe = failing_in_lost<DatagramProbe>();
    const auto factory = [probe] { return probe; };
    auto connected = co_await asyncio::create_datagram_endpoint(factory, std::move(mine));
    co_await close_and_expect_failing_connection_lost_reported(connected.first, probe, "<DatagramSocketTransport");
  });
}

// =================================================================================================
// pause_writing failing (_FlowControlMixin: reported, and the connection goes on)
// =================================================================================================

TEST(FdTransport, ASocketTransportReportsAFailingPauseWritingAndKeepsWriting) {
  run_io([]() -> Coro<void> {
    HandlerCapture handler(asyncio::get_running_loop());
    auto [mine, theirs] = asyncio::Socket::socketpair();
    auto probe = std::make_shared<StreamProbe>();
    probe->throw_in_pause = true;
    const auto factory = [probe] { return probe; };
    auto connected = co_await asyncio::create_connection(factory, std::move(mine));
    const std::shared_ptr<asyncio::Transport> transport = connected.first;
    transport->set_write_buffer_limits(0);  // any byte left waiting pauses
    const std::string data = nett::pattern(4 << 20);
    transport->write(data);  // more than a socketpair holds
    NETT_CO_ASSERT_EQ(probe->pauses, 1);
    NETT_CO_ASSERT_EQ(handler.contexts().size(), 1u);
    EXPECT_EQ(handler.contexts()[0].message, "protocol.pause_writing() failed");
    EXPECT_FALSE(transport->is_closing());
    std::string received;
    while (received.size() < data.size()) received += co_await asyncio::sock_recv(theirs, 1 << 20);
    co_await until([&] { return probe->resumes == 1; });
    EXPECT_EQ(received, data);
    EXPECT_EQ(transport->get_write_buffer_size(), 0u);
    transport->close();
    co_await until([&] { return probe->lost == 1; });
  });
}

TEST(FdTransport, AWritePipeTransportReportsAFailingPauseWritingAndKeepsWriting) {
  run_io([]() -> Coro<void> {
    HandlerCapture handler(asyncio::get_running_loop());
    auto [r, w] = asyncio::open_pipe();
    auto probe = std::make_shared<StreamProbe>();
    probe->throw_in_pause = true;
    const auto factory = [probe] { return probe; };
    auto connected = co_await asyncio::connect_write_pipe(factory, std::move(w));
    const std::shared_ptr<asyncio::WriteTransport> transport = connected.first;
    transport->set_write_buffer_limits(0);
    const std::string data = nett::pattern(1 << 20);
    transport->write(data);  // more than a pipe holds
    NETT_CO_ASSERT_EQ(probe->pauses, 1);
    NETT_CO_ASSERT_EQ(handler.contexts().size(), 1u);
    EXPECT_EQ(handler.contexts()[0].message, "protocol.pause_writing() failed");
    EXPECT_FALSE(transport->is_closing());
    std::string received;
    while (received.size() < data.size()) received += co_await r.read(1 << 20);
    co_await until([&] { return probe->resumes == 1; });
    EXPECT_EQ(received, data);
    transport->close();
    co_await until([&] { return probe->lost == 1; });
  });
}

// =================================================================================================
// Writes dropped once the connection is lost: CPython's sockets count the loss itself in
// _conn_lost, its pipes only the dropped writes, so the warning comes one write later on a pipe.
// =================================================================================================

TEST(FdTransport, ASocketTransportWarnsFromTheFifthWriteDroppedAfterThePeerClosed) {
  run_io([]() -> Coro<void> {
    LogCapture log;
    auto [mine, theirs] = asyncio::Socket::socketpair();
    auto probe = std::make_shared<StreamProbe>();
    const auto factory = [probe] { return probe; };
    auto connected = co_await asyncio::create_connection(factory, std::move(mine));
    const std::shared_ptr<asyncio::Transport> transport = connected.first;
    theirs.close();  // EOF: eof_received() returns false, so the transport closes itself
    co_await until([&] { return probe->lost == 1; });
    for (int i = 0; i < 4; ++i) transport->write("dropped");
    EXPECT_EQ(log.count(kSocketDropWarning), 0u);
    transport->write("dropped");
    EXPECT_EQ(log.count(kSocketDropWarning), 1u);
  });
}

TEST(FdTransport, AWritePipeTransportWarnsFromTheSixthWriteDroppedAfterItsReaderLeft) {
  run_io([]() -> Coro<void> {
    LogCapture log;
    auto [r, w] = asyncio::open_pipe();
    auto probe = std::make_shared<StreamProbe>();
    const auto factory = [probe] { return probe; };
    auto connected = co_await asyncio::connect_write_pipe(factory, std::move(w));
    const std::shared_ptr<asyncio::WriteTransport> transport = connected.first;
    r.close();
    co_await until([&] { return probe->lost == 1; });
    for (int i = 0; i < 5; ++i) transport->write("dropped");
    EXPECT_EQ(log.count(kPipeDropWarning), 0u);
    transport->write("dropped");
    EXPECT_EQ(log.count(kPipeDropWarning), 1u);
  });
}

TEST(FdTransport, ADatagramTransportWarnsFromTheFifthDatagramDroppedAfterItClosed) {
  run_io([]() -> Coro<void> {
    LogCapture log;
    HandlerCapture handler(asyncio::get_running_loop());
    auto [mine, theirs] = asyncio::Socket::socketpair(AF_UNIX, SOCK_DGRAM);
    auto probe = std::make_shared<DatagramProbe>();
    probe->throw_in_made = true;  // reported, and the endpoint closed
    const auto factory = [probe] { return probe; };
    auto connected = co_await asyncio::create_datagram_endpoint(factory, std::move(mine));
    const std::shared_ptr<asyncio::DatagramTransport> transport = connected.first;
    co_await until([&] { return probe->lost == 1; });
    NETT_CO_ASSERT_EQ(handler.contexts().size(), 1u);
    EXPECT_EQ(handler.contexts()[0].message, "Exception in callback protocol.connection_made()");
    for (int i = 0; i < 4; ++i) transport->sendto("dropped");
    EXPECT_EQ(log.count(kSocketDropWarning), 0u);
    transport->sendto("dropped");
    EXPECT_EQ(log.count(kSocketDropWarning), 1u);
  });
}

// =================================================================================================
// WriteBuffer
// =================================================================================================

TEST(WriteBuffer, GivesBackWhatWasAppendedInOrderAcrossPartialConsumes) {
  WriteBuffer buffer;
  EXPECT_TRUE(buffer.empty());
  buffer.append("abcdef");
  buffer.consume(2);
  EXPECT_EQ(std::string_view(buffer.data(), buffer.size()), "cdef");
  buffer.append("gh");  // 2 of 8 sent: no compaction
  buffer.consume(3);
  buffer.append("ij");  // 5 of 8 sent: compacted first
  EXPECT_EQ(std::string_view(buffer.data(), buffer.size()), "fghij");
  buffer.consume(5);
  EXPECT_TRUE(buffer.empty());
  EXPECT_EQ(buffer.size(), 0u);
}

TEST(WriteBuffer, ADrainedBufferKeepsTheCapacityOfABurstUpToOneMebibyte) {
  WriteBuffer buffer;
  buffer.append(std::string(512 * 1024, 'x'));
  const std::size_t capacity = buffer.capacity();
  buffer.consume(buffer.size());
  EXPECT_TRUE(buffer.empty());
  EXPECT_EQ(buffer.capacity(), capacity);  // the next burst reuses it
}

TEST(WriteBuffer, ADrainedBufferReleasesTheMemoryOfABurstAboveOneMebibyte) {
  WriteBuffer buffer;
  buffer.append(std::string(2 << 20, 'x'));
  buffer.clear();
  EXPECT_TRUE(buffer.empty());
  EXPECT_LE(buffer.capacity(), std::string().capacity());
}

}  // namespace
