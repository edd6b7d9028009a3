// sock_sendfile and sendfile: sendfile(2) on stream sockets and socket transports, and the copy
// (read in the executor, then sent) that replaces it when it cannot be used. Reference: CPython
// 3.13 Lib/asyncio/base_events.py, selector_events.py, unix_events.py and
// Lib/test/test_asyncio/test_sendfile.py, test_unix_events.py (SelectorEventLoopUnixSockSendfileTests).
// Peers are in the same loop (socketpairs, loopback TCP) on the monotonic clock; no test sleeps.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>
#include <asyncio/net/sendfile.hpp>
#include <asyncio/net/sock_ops.hpp>

#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "net/transport_test_support.hpp"

namespace {

using asyncio::Coro;
using asyncio::Socket;
using nett::Recorder;
using nett::run_io;
using nett::until;

/// A regular file holding `data`, unlinked at once (only the descriptor names it).
class TempFile {
 public:
  explicit TempFile(std::string_view data) {
    char name[] = "/tmp/asyncio-sendfile-XXXXXX";
    fd_ = ::mkstemp(name);
    EXPECT_GE(fd_, 0);
    ::unlink(name);
    std::size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
      EXPECT_GT(n, 0);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::lseek(fd_, 0, SEEK_SET);
  }
  ~TempFile() { ::close(fd_); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] off_t position() const noexcept { return ::lseek(fd_, 0, SEEK_CUR); }

 private:
  int fd_ = -1;
};

/// A pipe whose read end holds `data` and whose write end is closed (a file that is not regular).
class FilledPipe {
 public:
  explicit FilledPipe(std::string_view data) {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    read_ = fds[0];
    EXPECT_EQ(::write(fds[1], data.data(), data.size()), static_cast<ssize_t>(data.size()));
    ::close(fds[1]);
  }
  ~FilledPipe() { ::close(read_); }
  FilledPipe(const FilledPipe&) = delete;
  FilledPipe& operator=(const FilledPipe&) = delete;
  [[nodiscard]] int fd() const noexcept { return read_; }

 private:
  int read_ = -1;
};

/// Everything `s` receives until its peer's EOF or `n` bytes.
Coro<std::string> receive(Socket& s, std::size_t n) {
  std::string out;
  while (out.size() < n) {
    std::string part = co_await asyncio::sock_recv(s, 65536);
    if (part.empty()) break;
    out += part;
  }
  co_return out;
}

const std::string kData = nett::pattern(600 * 1024);  // more than a socketpair's buffer holds

// --- sock_sendfile -------------------------------------------------------------------------------

TEST(Sendfile, SockSendfileSendsTheWholeFileAndLeavesThePositionAtItsEnd) {
  run_io([]() -> Coro<void> {
    TempFile file(kData);
    auto [a, b] = Socket::socketpair();
    auto reader = asyncio::create_task(receive(b, kData.size()));
    const std::size_t sent = co_await asyncio::sock_sendfile(a, file.fd());
    EXPECT_EQ(sent, kData.size());
    EXPECT_EQ(co_await reader, kData);
    EXPECT_EQ(file.position(), static_cast<off_t>(kData.size()));
  });
}

TEST(Sendfile, SockSendfileWithOffsetAndCountSendsThatSliceAndLeavesThePositionAfterIt) {
  run_io([]() -> Coro<void> {
    TempFile file(kData);
    auto [a, b] = Socket::socketpair();
    auto reader = asyncio::create_task(receive(b, 1000));
    const std::size_t sent = co_await asyncio::sock_sendfile(a, file.fd(), 5000, 1000);
    EXPECT_EQ(sent, 1000U);
    EXPECT_EQ(co_await reader, kData.substr(5000, 1000));
    EXPECT_EQ(file.position(), 6000);
  });
}

TEST(Sendfile, SockSendfileStopsAtTheEndOfTheFileWhenCountIsLarger) {
  run_io([]() -> Coro<void> {
    TempFile file("0123456789");
    auto [a, b] = Socket::socketpair();
    const std::size_t sent = co_await asyncio::sock_sendfile(a, file.fd(), 4, 100);
    EXPECT_EQ(sent, 6U);
    EXPECT_EQ(co_await receive(b, 6), "456789");
    EXPECT_EQ(file.position(), 10);
  });
}

TEST(Sendfile, SockSendfileOfAnEmptyFileSendsNothingAndLeavesThePosition) {
  run_io([]() -> Coro<void> {
    TempFile file("");
    auto [a, b] = Socket::socketpair();
    EXPECT_EQ(co_await asyncio::sock_sendfile(a, file.fd()), 0U);
    EXPECT_EQ(file.position(), 0);
  });
}

TEST(Sendfile, SockSendfileFromAPipeFallsBackToReadingAndSending) {
  run_io([]() -> Coro<void> {
    const std::string data = nett::pattern(60 * 1024);  // within a pipe's 64 KiB buffer
    FilledPipe pipe(data);
    auto [a, b] = Socket::socketpair();
    auto reader = asyncio::create_task(receive(b, data.size()));
    EXPECT_EQ(co_await asyncio::sock_sendfile(a, pipe.fd()), data.size());
    EXPECT_EQ(co_await reader, data);
  });
}

TEST(Sendfile, SockSendfileFromAPipeWithACountSendsThatMany) {
  run_io([]() -> Coro<void> {
    FilledPipe pipe("abcdefgh");
    auto [a, b] = Socket::socketpair();
    EXPECT_EQ(co_await asyncio::sock_sendfile(a, pipe.fd(), 0, 3), 3U);
    EXPECT_EQ(co_await receive(b, 3), "abc");
  });
}

TEST(Sendfile, SockSendfileWithoutFallbackRaisesSendfileNotAvailableErrorForAPipe) {
  run_io([]() -> Coro<void> {
    FilledPipe pipe("abc");
    auto [a, b] = Socket::socketpair();
    try {
      co_await asyncio::sock_sendfile(a, pipe.fd(), 0, std::nullopt, false);
      ADD_FAILURE() << "sendfile(2) from a pipe was accepted";
    } catch (const asyncio::SendfileNotAvailableError& e) {
      EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
    }
  });
}

TEST(Sendfile, SockSendfileRefusesANegativeOffsetOrACountThatIsNotPositive) {
  run_io([]() -> Coro<void> {
    TempFile file("abc");
    auto [a, b] = Socket::socketpair();
    try {
      co_await asyncio::sock_sendfile(a, file.fd(), -1);
      ADD_FAILURE() << "a negative offset was accepted";
    } catch (const asyncio::ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("offset must be a non-negative integer (got -1)"), std::string::npos);
    }
    try {
      co_await asyncio::sock_sendfile(a, file.fd(), 0, 0);
      ADD_FAILURE() << "a count of 0 was accepted";
    } catch (const asyncio::ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("count must be a positive integer (got 0)"), std::string::npos);
    }
  });
}

TEST(Sendfile, SockSendfileRefusesADatagramSocket) {
  run_io([]() -> Coro<void> {
    TempFile file("abc");
    auto [a, b] = Socket::socketpair(AF_UNIX, SOCK_DGRAM);
    try {
      co_await asyncio::sock_sendfile(a, file.fd());
      ADD_FAILURE() << "a datagram socket was accepted";
    } catch (const asyncio::ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("only SOCK_STREAM type sockets are supported"), std::string::npos);
    }
  });
}

TEST(Sendfile, SockSendfileRefusesAnOffsetIntoAFileThatCannotSeek) {
  run_io([]() -> Coro<void> {
    FilledPipe pipe("abc");
    auto [a, b] = Socket::socketpair();
    try {
      co_await asyncio::sock_sendfile(a, pipe.fd(), 1);
      ADD_FAILURE() << "an offset into a pipe was accepted";
    } catch (const asyncio::ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("cannot seek"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("pass offset 0"), std::string::npos) << e.what();
    }
  });
}

// --- sendfile on transports ----------------------------------------------------------------------

/// A connected pair: a client transport and the server's Recorder for it.
struct Connection {
  std::shared_ptr<asyncio::Server> server;
  std::shared_ptr<asyncio::Transport> client;
  std::shared_ptr<Recorder> client_protocol;
  std::shared_ptr<Recorder> peer;
};

Coro<Connection> connect(nett::RecorderFactory factory) {
  Connection c;
  c.server = co_await asyncio::create_server(factory, "127.0.0.1", 0);
  auto t_p = co_await asyncio::create_connection([] { return std::make_shared<Recorder>(); }, "127.0.0.1",
                                                 nett::port_of(*c.server));
  c.client = t_p.first;
  c.client_protocol = t_p.second;
  co_await until([&] { return !factory.made->empty() && factory.made->front()->made == 1; });
  c.peer = factory.made->front();
  co_return c;
}

Coro<void> finish(Connection& c) {
  c.client->close();
  c.server->close();
  co_await c.server->wait_closed();
}

TEST(Sendfile, SendfileOverASocketTransportSendsTheFileAfterWhatWasWrittenBefore) {
  run_io([]() -> Coro<void> {
    TempFile file(kData);
    nett::RecorderFactory factory;  // named: g++ 12 destroys such a temporary twice inside co_await
    Connection c = co_await connect(factory);
    c.client->write("header:");
    const std::size_t sent = co_await asyncio::sendfile(*c.client, file.fd());
    EXPECT_EQ(sent, kData.size());
    EXPECT_EQ(file.position(), static_cast<off_t>(kData.size()));
    co_await until([&] { return c.peer->data.size() >= kData.size() + 7; });
    EXPECT_TRUE(c.peer->data == "header:" + kData);
    EXPECT_TRUE(c.client->is_reading());  // reading was paused only for the call
    c.client->write(":trailer");          // writing works again
    co_await until([&] { return c.peer->data.size() >= kData.size() + 15; });
    co_await finish(c);
  });
}

TEST(Sendfile, WriteWhileSendfileRunsRaisesRuntimeError) {
  run_io([]() -> Coro<void> {
    TempFile file(nett::pattern(8 * 1024 * 1024));
    nett::RecorderFactory factory;
    factory.setup = [](Recorder& r) {
      r.pause_on_made = true;  // the peer reads nothing yet: sendfile(2) fills the socket and waits
      r.keep_data = false;
    };
    Connection c = co_await connect(factory);
    auto sending = asyncio::create_task(asyncio::sendfile(*c.client, file.fd()));
    co_await asyncio::sleep(0);
    co_await asyncio::sleep(0);
    EXPECT_FALSE(sending.done());
    try {
      c.client->write("x");
      ADD_FAILURE() << "write() during sendfile was accepted";
    } catch (const asyncio::RuntimeError& e) {
      EXPECT_NE(std::string(e.what()).find("sendfile is in progress"), std::string::npos) << e.what();
    }
    c.peer->transport->resume_reading();
    EXPECT_EQ(co_await sending, 8U * 1024 * 1024);
    co_await until([&] { return c.peer->received == 8U * 1024 * 1024; });
    co_await finish(c);
  });
}

TEST(Sendfile, SendfileFromAPipeOverATransportCopiesAndGivesTheProtocolBack) {
  run_io([]() -> Coro<void> {
    const std::string data = nett::pattern(60 * 1024);  // within a pipe's 64 KiB buffer
    FilledPipe pipe(data);
    nett::RecorderFactory factory;  // named: g++ 12 destroys such a temporary twice inside co_await
    Connection c = co_await connect(factory);
    const std::size_t sent = co_await asyncio::sendfile(*c.client, pipe.fd());
    EXPECT_EQ(sent, data.size());
    EXPECT_EQ(c.client->get_protocol(), c.client_protocol);
    EXPECT_TRUE(c.client->is_reading());
    co_await until([&] { return c.peer->data.size() >= data.size(); });
    EXPECT_TRUE(c.peer->data == data);
    co_await finish(c);
  });
}

TEST(Sendfile, SendfileWithoutFallbackRaisesSendfileNotAvailableErrorForAPipe) {
  run_io([]() -> Coro<void> {
    FilledPipe pipe("abc");
    nett::RecorderFactory factory;  // named: g++ 12 destroys such a temporary twice inside co_await
    Connection c = co_await connect(factory);
    try {
      co_await asyncio::sendfile(*c.client, pipe.fd(), 0, std::nullopt, false);
      ADD_FAILURE() << "sendfile(2) from a pipe was accepted";
    } catch (const asyncio::SendfileNotAvailableError&) {
    }
    c.client->write("still writable");
    co_await until([&] { return c.peer->data == "still writable"; });
    co_await finish(c);
  });
}

TEST(Sendfile, SendfileOnAClosingTransportRaisesRuntimeError) {
  run_io([]() -> Coro<void> {
    TempFile file("abc");
    nett::RecorderFactory factory;  // named: g++ 12 destroys such a temporary twice inside co_await
    Connection c = co_await connect(factory);
    c.client->close();
    try {
      co_await asyncio::sendfile(*c.client, file.fd());
      ADD_FAILURE() << "sendfile on a closing transport was accepted";
    } catch (const asyncio::RuntimeError& e) {
      EXPECT_NE(std::string(e.what()).find("closing"), std::string::npos) << e.what();
    }
    co_await finish(c);
  });
}

}  // namespace
