// connect_read_pipe / connect_write_pipe, ReadPipeTransport and WritePipeTransport, and the streams
// over them. Reference: CPython 3.13 Lib/asyncio/unix_events.py (_UnixReadPipeTransport,
// _UnixWritePipeTransport), base_events.py (connect_read_pipe, connect_write_pipe) and
// Lib/test/test_asyncio/test_unix_events.py, test_events.py (test_read_pipe, test_write_pipe,
// test_write_pipe_disconnect_on_close). Both ends of each pipe belong to the test's loop (one end a
// transport, the other a ReadPipe/WritePipe or raw descriptor); waiting is `until(condition)`.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>
#include <asyncio/net/pipe_transport.hpp>
#include <asyncio/net/socket.hpp>
#include <asyncio/net/stream_protocol.hpp>
#include <asyncio/net/stream_reader.hpp>
#include <asyncio/net/stream_writer.hpp>
#include <asyncio/os_error.hpp>
#include <asyncio/process/pipe.hpp>

#include <any>
#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "net/transport_test_support.hpp"

namespace {

using asyncio::BaseTransport;
using asyncio::Coro;
using asyncio::ReadTransport;
using asyncio::WriteTransport;
using nett::run_io;
using nett::text_of;
using nett::until;

/// A Protocol for either end of a pipe that records what its transport calls.
struct PipeRecorder : asyncio::Protocol {
  ReadTransport* reader = nullptr;
  WriteTransport* writer = nullptr;
  std::string data;
  std::vector<std::string> calls;  // "made", "data" (once per run), "eof", "pause", "resume", "lost"
  int made = 0;
  int eofs = 0;
  int lost = 0;
  int pauses = 0;
  int resumes = 0;
  std::exception_ptr error;
  std::function<void(PipeRecorder&, std::string_view)> on_data;
  std::function<void(PipeRecorder&)> on_resume;

  void note(const char* what) {
    if (std::string_view(what) == "data" && !calls.empty() && calls.back() == "data") return;
    calls.emplace_back(what);
  }
  void connection_made(BaseTransport& t) override {
    reader = dynamic_cast<ReadTransport*>(&t);
    writer = dynamic_cast<WriteTransport*>(&t);
    ++made;
    note("made");
  }
  void data_received(std::string_view d) override {
    data.append(d);
    note("data");
    if (on_data) on_data(*this, d);
  }
  bool eof_received() override {
    ++eofs;
    note("eof");
    return true;  // ignored by a pipe: it cannot be half-closed
  }
  void pause_writing() override {
    ++pauses;
    note("pause");
  }
  void resume_writing() override {
    ++resumes;
    note("resume");
    if (on_resume) on_resume(*this);
  }
  void connection_lost(std::exception_ptr e) override {
    ++lost;
    error = e;
    note("lost");
  }
};

auto make_recorder = [] { return std::make_shared<PipeRecorder>(); };

bool descriptor_open(int fd) { return ::fcntl(fd, F_GETFD) >= 0; }

/// A regular file (not a pipe), removed when the test ends.
struct TempFile {
  int fd;
  TempFile() {
    char name[] = "/tmp/asyncio-pipe-XXXXXX";
    fd = ::mkstemp(name);
    ::unlink(name);
  }
  ~TempFile() { ::close(fd); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
};

// =================================================================================================
// The read transport
// =================================================================================================

TEST(ReadPipeTransport, DeliversTheBytesThenEofThenConnectionLost) {
  run_io([]() -> Coro<void> {
    auto [r, w] = asyncio::open_pipe();
    auto transport_protocol = co_await asyncio::connect_read_pipe(make_recorder, std::move(r));
    auto transport = transport_protocol.first;
    auto protocol = transport_protocol.second;
    EXPECT_EQ(protocol->made, 1);
    EXPECT_EQ(protocol->reader, transport.get());
    co_await w.write_all("hello, ");
    co_await w.write_all("pipe");
    w.close();
    co_await until([&] { return protocol->lost == 1; });
    EXPECT_EQ(protocol->data, "hello, pipe");
    EXPECT_EQ(protocol->calls, (std::vector<std::string>{"made", "data", "eof", "lost"}));
    EXPECT_EQ(protocol->error, nullptr);
  });
}

TEST(ReadPipeTransport, AMegabyteArrivesIntactAndInOrder) {
  run_io([]() -> Coro<void> {
    auto [r, w] = asyncio::open_pipe();
    auto transport_protocol = co_await asyncio::connect_read_pipe(make_recorder, std::move(r));
    auto transport = transport_protocol.first;
    auto protocol = transport_protocol.second;
    const std::string payload = nett::pattern(1 << 20);
    co_await w.write_all(payload);
    w.close();
    co_await until([&] { return protocol->lost == 1; });
    EXPECT_EQ(protocol->data, payload);
  });
}

TEST(ReadPipeTransport, TakesTheDescriptorOfAReadPipeAndClosesItAfterConnectionLost) {
  run_io([]() -> Coro<void> {
    auto [r, w] = asyncio::open_pipe();
    const int fd = r.fileno();
    asyncio::ReadPipe copy = r;  // a copy of the handle shares the descriptor
    auto transport_protocol = co_await asyncio::connect_read_pipe(make_recorder, std::move(r));
    auto transport = transport_protocol.first;
    auto protocol = transport_protocol.second;
    EXPECT_TRUE(copy.is_closed());  // given up to the transport
    EXPECT_EQ(std::any_cast<int>(transport->get_extra_info("pipe")), fd);
    w.close();
    co_await until([&] { return protocol->lost == 1; });
    EXPECT_FALSE(descriptor_open(fd));
    EXPECT_EQ(std::any_cast<int>(transport->get_extra_info("pipe")), -1);
  });
}

TEST(ReadPipeTransport, ADescriptorNumberIsTakenOverAndMadeNonBlockingAndCloseOnExec) {
  run_io([]() -> Coro<void> {
    int fds[2];
    NETT_CO_ASSERT_EQ(::pipe(fds), 0);  // blocking, inheritable
    auto transport_protocol = co_await asyncio::connect_read_pipe(make_recorder, fds[0]);
    auto transport = transport_protocol.first;
    auto protocol = transport_protocol.second;
    EXPECT_NE(::fcntl(fds[0], F_GETFL) & O_NONBLOCK, 0);
    EXPECT_NE(::fcntl(fds[0], F_GETFD) & FD_CLOEXEC, 0);
    (void)::write(fds[1], "x", 1);
    ::close(fds[1]);
    co_await until([&] { return protocol->lost == 1; });
    EXPECT_EQ(protocol->data, "x");
  });
}

TEST(ReadPipeTransport, ASocketWorksAsAReadPipe) {
  run_io([]() -> Coro<void> {
    auto [a, b] = asyncio::Socket::socketpair();
    auto transport_protocol = co_await asyncio::connect_read_pipe(make_recorder, std::move(a));
    auto transport = transport_protocol.first;
    auto protocol = transport_protocol.second;
    (void)b.try_send("through a socket");
    b.close();
    co_await until([&] { return protocol->lost == 1; });
    EXPECT_EQ(protocol->data, "through a socket");
  });
}

TEST(ReadPipeTransport, ARegularFileRaisesValueErrorAndTheDescriptorStaysTheCallers) {
  TempFile file;
  run_io([&]() -> Coro<void> {
    EXPECT_THROW(co_await asyncio::connect_read_pipe(make_recorder, file.fd), asyncio::ValueError);
  });
  EXPECT_TRUE(descriptor_open(file.fd));
}

TEST(ReadPipeTransport, AClosedReadPipeRaisesOSErrorEbadf) {
  run_io([]() -> Coro<void> {
    auto [r, w] = asyncio::open_pipe();
    r.close();
    int error = 0;
    try {
      co_await asyncio::connect_read_pipe(make_recorder, std::move(r));
    } catch (const asyncio::OSError& e) {
      error = e.errno_value();
    }
    EXPECT_EQ(error, EBADF);
  });
}

TEST(ReadPipeTransport, AProtocolFactoryReturningNullRaisesTypeErrorAndClosesTheGivenPipe) {
  run_io([]() -> Coro<void> {
    auto [r, w] = asyncio::open_pipe();
    const int fd = r.fileno();
    auto null_factory = [] { return std::shared_ptr<PipeRecorder>(); };
    EXPECT_THROW(co_await asyncio::connect_read_pipe(null_factory, std::move(r)), asyncio::TypeError);
    EXPECT_FALSE(descriptor_open(fd));
  });
}

TEST(ReadPipeTransport, PauseReadingHoldsTheDataBackAndResumeReadingDeliversIt) {
  run_io([]() -> Coro<void> {
    auto [r, w] = asyncio::open_pipe();
    auto transport_protocol = co_await asyncio::connect_read_pipe(make_recorder, std::move(r));
    auto transport = transport_protocol.first;
    auto protocol = transport_protocol.second;
    transport->pause_reading();
    transport->pause_reading();  // idempotent
    EXPECT_FALSE(transport->is_reading());
    co_await w.write_all("held");
    for (int i = 0; i < 5; ++i) co_await asyncio::sleep(0);
    EXPECT_EQ(protocol->data, "");
    transport->resume_reading();
    EXPECT_TRUE(transport->is_reading());
    co_await until([&] { return protocol->data == "held"; });
    transport->close();
  });
}

TEST(ReadPipeTransport, CloseCallsConnectionLostWithoutEofInALaterIterationAndClosesTheDescriptor) {
  run_io([]() -> Coro<void> {
    auto [r, w] = asyncio::open_pipe();
    const int fd = r.fileno();
    auto transport_protocol = co_await asyncio::connect_read_pipe(make_recorder, std::move(r));
    auto transport = transport_protocol.first;
    auto protocol = transport_protocol.second;
    transport->close();
    transport->close();
    EXPECT_TRUE(transport->is_closing());
    EXPECT_FALSE(transport->is_reading());
    EXPECT_EQ(protocol->lost, 0);
    co_await until([&] { return protocol->lost == 1; });
    EXPECT_EQ(protocol->calls, (std::vector<std::string>{"made", "lost"}));
    EXPECT_FALSE(descriptor_open(fd));
    // The writer now writes into a pipe with no reader.
    int error = 0;
    try {
      co_await w.write_all("x");
    } catch (const asyncio::BrokenPipeError& e) {
      error = e.errno_value();
    }
    EXPECT_EQ(error, EPIPE);
  });
}

TEST(ReadPipeTransport, AnExceptionFromDataReceivedIsReportedAndEndsTheTransportWithIt) {
  run_io([]() -> Coro<void> {
    asyncio::testing::HandlerCapture handler(asyncio::get_running_loop());
    auto [r, w] = asyncio::open_pipe();
    auto transport_protocol = co_await asyncio::connect_read_pipe(make_recorder, std::move(r));
    auto transport = transport_protocol.first;
    auto protocol = transport_protocol.second;
    protocol->on_data = [](PipeRecorder&, std::string_view) { throw std::runtime_error("cannot take it"); };
    co_await w.write_all("x");
    co_await until([&] { return protocol->lost == 1; });
    EXPECT_NE(text_of(protocol->error).find("cannot take it"), std::string::npos);
    NETT_CO_ASSERT_EQ(handler.contexts().size(), 1u);
    EXPECT_EQ(handler.contexts()[0].message, "Fatal error: protocol.data_received() call failed.");
  });
}

TEST(ReadPipeTransport, ClosingTheLoopAbandonsItAndClosesTheDescriptor) {
  const std::size_t before = nett::open_descriptors();
  auto protocol = std::make_shared<PipeRecorder>();
  {
    asyncio::EventLoop loop;
    auto [r, w] = asyncio::open_pipe();
    auto factory = [protocol] { return protocol; };
    auto connected = loop.run_until_complete(asyncio::connect_read_pipe(factory, std::move(r)));
    connected.first->pause_reading();  // the loop holds no callback of the transport's now
    loop.close();
  }
  EXPECT_EQ(protocol->made, 1);
  EXPECT_EQ(protocol->lost, 0);  // the loop can run nothing any more
  EXPECT_EQ(nett::open_descriptors(), before);
}

TEST(ReadPipeTransport, AStreamReaderReadsLinesThroughIt) {
  run_io([]() -> Coro<void> {
    auto [r, w] = asyncio::open_pipe();
    auto reader = std::make_shared<asyncio::StreamReader>();
    auto factory = [reader] { return std::make_shared<asyncio::StreamReaderProtocol>(reader); };
    auto connected = co_await asyncio::connect_read_pipe(factory, std::move(r));
    co_await w.write_all("first\nsecond\nrest");
    w.close();
    EXPECT_EQ(co_await reader->readline(), "first\n");
    EXPECT_EQ(co_await reader->readline(), "second\n");
    EXPECT_EQ(co_await reader->read(), "rest");
    EXPECT_TRUE(reader->at_eof());
    (void)connected;
  });
}

TEST(ReadPipeTransport, AFullStreamReaderPausesTheTransportUntilItIsRead) {
  run_io([]() -> Coro<void> {
    auto [r, w] = asyncio::open_pipe();
    auto reader = std::make_shared<asyncio::StreamReader>(16);
    auto factory = [reader] { return std::make_shared<asyncio::StreamReaderProtocol>(reader); };
    auto transport_protocol = co_await asyncio::connect_read_pipe(factory, std::move(r));
    auto transport = transport_protocol.first;
    auto protocol = transport_protocol.second;
    co_await w.write_all(std::string(100, 'z'));
    co_await until([&] { return !transport->is_reading(); });  // more than 2 * limit buffered
    EXPECT_EQ((co_await reader->read(100)).size(), 100u);
    EXPECT_TRUE(transport->is_reading());
    transport->close();
  });
}

// =================================================================================================
// The write transport
// =================================================================================================

TEST(WritePipeTransport, WritesWhatTheReaderThenReads) {
  run_io([]() -> Coro<void> {
    auto [r, w] = asyncio::open_pipe();
    auto transport_protocol = co_await asyncio::connect_write_pipe(make_recorder, std::move(w));
    auto transport = transport_protocol.first;
    auto protocol = transport_protocol.second;
    EXPECT_EQ(protocol->made, 1);
    EXPECT_EQ(protocol->writer, transport.get());
    EXPECT_TRUE(transport->can_write_eof());
    transport->write("one ");
    const std::string_view pieces[] = {"two ", "three"};
    transport->writelines(pieces);
    transport->close();
    EXPECT_EQ(co_await r.read_all(), "one two three");
    co_await until([&] { return protocol->lost == 1; });
    EXPECT_EQ(protocol->error, nullptr);
  });
}

TEST(WritePipeTransport, CloseFlushesTheBufferBeforeClosingAndThenCallsConnectionLost) {
  run_io([]() -> Coro<void> {
    auto [r, w] = asyncio::open_pipe();
    auto transport_protocol = co_await asyncio::connect_write_pipe(make_recorder, std::move(w));
    auto transport = transport_protocol.first;
    auto protocol = transport_protocol.second;
    const std::string payload = nett::pattern(1 << 20);  // far more than a pipe holds
    transport->write(payload);
    EXPECT_GT(transport->get_write_buffer_size(), 0u);
    transport->close();
    EXPECT_TRUE(transport->is_closing());
    EXPECT_EQ(co_await r.read_all(), payload);
    co_await until([&] { return protocol->lost == 1; });
    EXPECT_EQ(protocol->error, nullptr);
    EXPECT_EQ(protocol->calls.back(), "lost");
  });
}

TEST(WritePipeTransport, WriteEofIsCloseForAPipe) {
  run_io([]() -> Coro<void> {
    auto [r, w] = asyncio::open_pipe();
    const int fd = w.fileno();
    auto transport_protocol = co_await asyncio::connect_write_pipe(make_recorder, std::move(w));
    auto transport = transport_protocol.first;
    auto protocol = transport_protocol.second;
    transport->write("bye");
    transport->write_eof();
    EXPECT_EQ(co_await r.read_all(), "bye");
    co_await until([&] { return protocol->lost == 1; });
    EXPECT_FALSE(descriptor_open(fd));
  });
}

TEST(WritePipeTransport, WriteAfterCloseWriteEofOrAbortIsDroppedAsInCPython) {
  run_io([]() -> Coro<void> {
    for (int how = 0; how < 3; ++how) {
      auto [r, w] = asyncio::open_pipe();
      auto transport_protocol = co_await asyncio::connect_write_pipe(make_recorder, std::move(w));
      auto transport = transport_protocol.first;
      auto protocol = transport_protocol.second;
      transport->write("before");
      if (how == 0) transport->close();
      if (how == 1) transport->write_eof();
      if (how == 2) transport->abort();
      transport->write("dropped");
      EXPECT_EQ(transport->get_write_buffer_size(), 0u) << how;
      co_await until([&] { return protocol->lost == 1; });
      EXPECT_EQ(co_await r.read_all(), "before") << how;
    }
  });
}

TEST(WritePipeTransport, ABufferAboveTheHighWaterMarkPausesTheProtocolAndDrainingResumesIt) {
  run_io([]() -> Coro<void> {
    auto [r, w] = asyncio::open_pipe();
    auto transport_protocol = co_await asyncio::connect_write_pipe(make_recorder, std::move(w));
    auto transport = transport_protocol.first;
    auto protocol = transport_protocol.second;
    transport->set_write_buffer_limits(8192);
    EXPECT_EQ(transport->get_write_buffer_limits(), (std::pair<std::size_t, std::size_t>{2048, 8192}));
    while (protocol->pauses == 0) transport->write(std::string(4096, 'f'));
    EXPECT_GT(transport->get_write_buffer_size(), 8192u);
    EXPECT_EQ(protocol->resumes, 0);
    while (protocol->resumes == 0) co_await r.read(65536);
    EXPECT_LE(transport->get_write_buffer_size(), 2048u);
    transport->abort();
  });
}

TEST(WritePipeTransport, TheReaderClosingWithNothingBufferedGivesConnectionLostWithoutError) {
  run_io([]() -> Coro<void> {
    auto [r, w] = asyncio::open_pipe();
    auto transport_protocol = co_await asyncio::connect_write_pipe(make_recorder, std::move(w));
    auto transport = transport_protocol.first;
    auto protocol = transport_protocol.second;
    transport->write("read by nobody");  // taken by the kernel: nothing buffered
    EXPECT_EQ(transport->get_write_buffer_size(), 0u);
    r.close();
    co_await until([&] { return protocol->lost == 1; });
    EXPECT_EQ(protocol->error, nullptr);
    EXPECT_TRUE(transport->is_closing());
  });
}

TEST(WritePipeTransport, TheReaderClosingWithDataBufferedGivesBrokenPipeError) {
  run_io([]() -> Coro<void> {
    auto [r, w] = asyncio::open_pipe();
    auto transport_protocol = co_await asyncio::connect_write_pipe(make_recorder, std::move(w));
    auto transport = transport_protocol.first;
    auto protocol = transport_protocol.second;
    transport->write(std::string(1 << 20, 'b'));
    EXPECT_GT(transport->get_write_buffer_size(), 0u);
    r.close();
    co_await until([&] { return protocol->lost == 1; });
    EXPECT_THROW(std::rethrow_exception(protocol->error), asyncio::BrokenPipeError);
    EXPECT_EQ(transport->get_write_buffer_size(), 0u);
  });
}

TEST(WritePipeTransport, WritesAfterTheReaderLeftAreDroppedWithoutSigpipe) {
  run_io([]() -> Coro<void> {
    asyncio::testing::LogCapture log;
    auto [r, w] = asyncio::open_pipe();
    auto transport_protocol = co_await asyncio::connect_write_pipe(make_recorder, std::move(w));
    auto transport = transport_protocol.first;
    auto protocol = transport_protocol.second;
    r.close();
    transport->write("first");  // EPIPE at once: the end, with BrokenPipeError
    for (int i = 0; i < 7; ++i) EXPECT_NO_THROW(transport->write("dropped"));
    co_await until([&] { return protocol->lost == 1; });
    EXPECT_THROW(std::rethrow_exception(protocol->error), asyncio::BrokenPipeError);
    EXPECT_GE(log.count("pipe closed by peer"), 1u);  // warned from the fifth dropped write on
  });
}

TEST(WritePipeTransport, AbortDropsTheBufferAndCallsConnectionLost) {
  run_io([]() -> Coro<void> {
    auto [r, w] = asyncio::open_pipe();
    auto transport_protocol = co_await asyncio::connect_write_pipe(make_recorder, std::move(w));
    auto transport = transport_protocol.first;
    auto protocol = transport_protocol.second;
    transport->write(std::string(1 << 20, 'a'));
    transport->abort();
    EXPECT_EQ(transport->get_write_buffer_size(), 0u);
    const std::string got = co_await r.read_all();
    EXPECT_LT(got.size(), std::size_t{1} << 20);
    co_await until([&] { return protocol->lost == 1; });
    EXPECT_EQ(protocol->error, nullptr);
  });
}

TEST(WritePipeTransport, ARegularFileRaisesValueErrorAndTheDescriptorStaysTheCallers) {
  TempFile file;
  run_io([&]() -> Coro<void> {
    EXPECT_THROW(co_await asyncio::connect_write_pipe(make_recorder, file.fd), asyncio::ValueError);
  });
  EXPECT_TRUE(descriptor_open(file.fd));
}

TEST(WritePipeTransport, ACharacterDeviceIsAccepted) {
  run_io([]() -> Coro<void> {
    const int fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    NETT_CO_ASSERT_TRUE(fd >= 0);
    auto transport_protocol = co_await asyncio::connect_write_pipe(make_recorder, fd);
    auto transport = transport_protocol.first;
    auto protocol = transport_protocol.second;
    transport->write("into the void");
    transport->close();
    co_await until([&] { return protocol->lost == 1; });
    EXPECT_EQ(protocol->error, nullptr);
    EXPECT_FALSE(descriptor_open(fd));
  });
}

TEST(WritePipeTransport, ClosingTheLoopAbandonsItAndClosesTheDescriptor) {
  const std::size_t before = nett::open_descriptors();
  auto protocol = std::make_shared<PipeRecorder>();
  {
    asyncio::EventLoop loop;
    auto [r, w] = asyncio::open_pipe();
    auto factory = [protocol] { return protocol; };
    auto connected = loop.run_until_complete(asyncio::connect_write_pipe(factory, std::move(w)));
    connected.first->write(std::string(1 << 20, 'l'));  // buffered: a writer is registered
    loop.close();
  }
  EXPECT_EQ(protocol->lost, 0);
  EXPECT_EQ(nett::open_descriptors(), before);
}

// =================================================================================================
// StreamWriter over a write pipe (what a subprocess's stdin is)
// =================================================================================================

struct PipeWriter {
  asyncio::StreamWriter writer;
  std::shared_ptr<asyncio::FlowControlMixin> protocol;
};

Coro<PipeWriter> stream_writer_on(asyncio::WritePipe w) {
  auto protocol = std::make_shared<asyncio::FlowControlMixin>();
  auto factory = [protocol] { return protocol; };
  auto connected = co_await asyncio::connect_write_pipe(factory, std::move(w));
  co_return PipeWriter{asyncio::StreamWriter(*connected.first, protocol), protocol};
}

TEST(WritePipeStreams, DrainWaitsWhileTheReaderIsSlowAndEverythingArrives) {
  run_io([]() -> Coro<void> {
    auto [r, w] = asyncio::open_pipe();
    PipeWriter pw = co_await stream_writer_on(std::move(w));
    auto reading = asyncio::create_task(r.read_all());
    const std::string chunk = nett::pattern(100000);
    for (int i = 0; i < 20; ++i) {
      pw.writer.write(chunk);
      co_await pw.writer.drain();
      EXPECT_LE(pw.writer.transport()->get_write_buffer_size(), 64u * 1024u);
    }
    pw.writer.close();
    co_await pw.writer.wait_closed();
    EXPECT_EQ((co_await reading).size(), 20u * 100000u);
  });
}

TEST(WritePipeStreams, TheReaderClosingMidWriteMakesDrainRaiseBrokenPipeError) {
  run_io([]() -> Coro<void> {
    auto [r, w] = asyncio::open_pipe();
    PipeWriter pw = co_await stream_writer_on(std::move(w));
    pw.writer.write(std::string(1 << 20, 'm'));  // paused: drain waits
    auto draining = asyncio::create_task(pw.writer.drain()());
    co_await asyncio::sleep(0);
    EXPECT_FALSE(draining.done());
    r.close();
    bool broken = false;
    try {
      co_await draining;
    } catch (const asyncio::BrokenPipeError&) {
      broken = true;
    }
    EXPECT_TRUE(broken);
    EXPECT_THROW(co_await pw.writer.wait_closed(), asyncio::BrokenPipeError);
    EXPECT_TRUE(pw.writer.is_closing());
  });
}

}  // namespace
