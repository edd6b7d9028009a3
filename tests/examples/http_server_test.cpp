// The http_hello server's connection logic (examples/http_hello/http_server.hpp), driven in
// process over a fake transport on the virtual clock: what a client sends, what it gets back, and
// when the server gives up on a slow or silent client.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

#include "http_request.hpp"
#include "http_server.hpp"
#include "net/fake_transport.hpp"
#include "support/test_support.hpp"

namespace {

using asyncio::Coro;
using asyncio::testing::FakeTransport;
using asyncio::testing::run_virtual_watched;

constexpr std::string_view kHello = "Hello, world!\n";

// One connection to the server: feed it bytes, read what it wrote.
struct Client {
  std::shared_ptr<asyncio::StreamReader> reader =
      std::make_shared<asyncio::StreamReader>(static_cast<std::ptrdiff_t>(http_hello::kMaxHeadSize));
  std::shared_ptr<asyncio::StreamReaderProtocol> protocol = std::make_shared<asyncio::StreamReaderProtocol>(reader);
  std::shared_ptr<FakeTransport> transport = std::make_shared<FakeTransport>(protocol);
  asyncio::StreamWriter writer;
  http_hello::ServerOptions options;
  std::optional<asyncio::Task<void>> server;

  explicit Client(http_hello::ServerOptions o = {}) : options(o) {
    transport->connect();
    writer = asyncio::StreamWriter(*transport, protocol, reader);
    server.emplace(asyncio::create_task([this]() { return http_hello::serve_requests(*reader, writer, options); }));
  }
  void send(std::string_view bytes) { transport->receive(bytes); }
  [[nodiscard]] const std::string& received() const { return transport->written; }
};

std::string hello_response(std::string_view connection = {}) {
  std::string r = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n";
  if (!connection.empty()) r += "Connection: " + std::string(connection) + "\r\n";
  return r + "\r\n" + std::string(kHello);
}

TEST(HttpServer, AGetIsAnsweredWithHelloAndTheConnectionStaysOpen) {
  run_virtual_watched([]() -> Coro<void> {
    Client c;
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    co_await asyncio::sleep(0);
    EXPECT_EQ(c.received(), hello_response());
    EXPECT_FALSE(c.server->done());
    c.transport->receive_eof();
    co_await *c.server;
  });
}

TEST(HttpServer, PipelinedRequestsAreAnsweredInOrder) {
  run_virtual_watched([]() -> Coro<void> {
    Client c;
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\nHEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    co_await asyncio::sleep(0);
    const std::string head_only = hello_response().substr(0, hello_response().size() - kHello.size());
    EXPECT_EQ(c.received(), hello_response() + head_only + hello_response());
    c.transport->receive_eof();
    co_await *c.server;
  });
}

TEST(HttpServer, AnHttp10KeepAliveRequestIsToldTheConnectionIsKeptAlive) {
  // ab -k waits for this header before it sends the next request.
  run_virtual_watched([]() -> Coro<void> {
    Client c;
    c.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    co_await asyncio::sleep(0);
    EXPECT_EQ(c.received(), hello_response("keep-alive"));
    EXPECT_FALSE(c.server->done());
    c.transport->receive_eof();
    co_await *c.server;
  });
}

TEST(HttpServer, AnHttp10RequestWithoutKeepAliveIsAnsweredAndTheConnectionEnds) {
  run_virtual_watched([]() -> Coro<void> {
    Client c;
    c.send("GET / HTTP/1.0\r\n\r\n");
    co_await *c.server;
    EXPECT_EQ(c.received(), hello_response("close"));
  });
}

TEST(HttpServer, AHeadResponseHasTheHeadersButNoBody) {
  run_virtual_watched([]() -> Coro<void> {
    Client c;
    c.send("HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    co_await *c.server;
    EXPECT_EQ(c.received(),
              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\nConnection: close\r\n\r\n");
  });
}

TEST(HttpServer, ExpectContinueGetsA100BeforeTheBodyIsSent) {
  run_virtual_watched([]() -> Coro<void> {
    Client c;
    c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    co_await asyncio::sleep(0);
    EXPECT_EQ(c.received(), "HTTP/1.1 100 Continue\r\n\r\n");
    c.send("hello");
    co_await asyncio::sleep(0);
    EXPECT_EQ(c.received(), "HTTP/1.1 100 Continue\r\n\r\n" + hello_response());
    c.transport->receive_eof();
    co_await *c.server;
  });
}

TEST(HttpServer, AnExpectationOtherThan100ContinueGets417) {
  run_virtual_watched([]() -> Coro<void> {
    Client c;
    c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: something\r\n\r\n");
    co_await *c.server;
    EXPECT_TRUE(c.received().starts_with("HTTP/1.1 417 Expectation Failed\r\n"));
  });
}

TEST(HttpServer, ABodyOverTheLimitGets413WithoutTheServerWaitingForIt) {
  run_virtual_watched([]() -> Coro<void> {
    Client c(http_hello::ServerOptions{.max_body_size = 1000});
    c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000000\r\nExpect: 100-continue\r\n\r\n");
    co_await *c.server;
    EXPECT_TRUE(c.received().starts_with("HTTP/1.1 413 Content Too Large\r\n")) << c.received();
    EXPECT_NE(c.received().find("Connection: close\r\n"), std::string::npos);
  });
}

TEST(HttpServer, ABodyUpToTheLimitIsReadAsItComesAndAnswered) {
  run_virtual_watched([]() -> Coro<void> {
    Client c(http_hello::ServerOptions{.max_body_size = 100000});
    c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
    for (int i = 0; i < 100; ++i) {
      c.send(std::string(1000, 'b'));
      co_await asyncio::sleep(0);
      EXPECT_LE(c.reader->buffered().size(), 1000u);  // taken as it comes, never piled up
    }
    EXPECT_EQ(c.received(), hello_response());
    c.transport->receive_eof();
    co_await *c.server;
  });
}

TEST(HttpServer, ABareLfGets400AtOnceBeforeTheHeadEnds) {
  run_virtual_watched([]() -> Coro<void> {
    Client c;
    c.send("GET / HTTP/1.1\nHost");
    co_await *c.server;
    EXPECT_TRUE(c.received().starts_with("HTTP/1.1 400 Bad Request\r\n")) << c.received();
  });
}

TEST(HttpServer, AContentLengthOf2To63Gets400) {
  run_virtual_watched([]() -> Coro<void> {
    Client c;
    c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9223372036854775808\r\n\r\n");
    co_await *c.server;
    EXPECT_TRUE(c.received().starts_with("HTTP/1.1 400 Bad Request\r\n")) << c.received();
  });
}

TEST(HttpServer, ABodyCutShortByTheClientLeavingGets400) {
  run_virtual_watched([]() -> Coro<void> {
    Client c;
    c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nshort");
    c.transport->receive_eof();
    co_await *c.server;
    EXPECT_TRUE(c.received().starts_with("HTTP/1.1 400 Bad Request\r\n")) << c.received();
  });
}

TEST(HttpServer, AKeptAliveConnectionIdleForTheIdleTimeoutIsClosedQuietly) {
  run_virtual_watched([]() -> Coro<void> {
    Client c(http_hello::ServerOptions{.idle_timeout = 5});
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const double start = asyncio::get_running_loop().time();
    co_await *c.server;
    EXPECT_DOUBLE_EQ(asyncio::get_running_loop().time() - start, 5);
    EXPECT_EQ(c.received(), hello_response());  // nothing more: no 408 between requests
  });
}

TEST(HttpServer, AHeadSentAByteASecondGets408AtTheHeaderTimeout) {
  // Slowloris: every byte arrives within the idle timeout, but the head never completes in time.
  run_virtual_watched([]() -> Coro<void> {
    Client c(http_hello::ServerOptions{.header_timeout = 10, .idle_timeout = 30});
    const double start = asyncio::get_running_loop().time();
    const std::string head = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    double answered = -1;
    for (char ch : head) {
      c.send(std::string_view(&ch, 1));
      co_await asyncio::sleep(1);
      if (!c.received().empty()) {
        answered = asyncio::get_running_loop().time() - start;
        break;
      }
    }
    EXPECT_TRUE(c.received().starts_with("HTTP/1.1 408 Request Timeout\r\n")) << c.received();
    EXPECT_GE(answered, 10);
    EXPECT_LE(answered, 11);
    c.transport->receive_eof();  // the client goes: the server stops lingering
    co_await *c.server;
  });
}

TEST(HttpServer, AfterA408TheServerLingersForTheClientToCloseButNotLongerThanTwoSeconds) {
  run_virtual_watched([]() -> Coro<void> {
    Client c(http_hello::ServerOptions{.header_timeout = 1, .idle_timeout = 30});
    c.send("GET / HTTP/1.1\r\n");
    const double start = asyncio::get_running_loop().time();
    co_await *c.server;  // the client never closes: lingering ends at its own deadline
    EXPECT_TRUE(c.received().starts_with("HTTP/1.1 408 Request Timeout\r\n")) << c.received();
    EXPECT_TRUE(c.transport->eof_written);  // our side was shut down for the lingering
    EXPECT_DOUBLE_EQ(asyncio::get_running_loop().time() - start, 3);
  });
}

TEST(HttpServer, AClientThatDoesNotReadItsResponsesIsAbortedAtTheDeadline) {
  run_virtual_watched([]() -> Coro<void> {
    Client c(http_hello::ServerOptions{.header_timeout = 10, .idle_timeout = 30});
    c.transport->pause_writing();  // the client stopped reading: drain() waits
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    co_await *c.server;
    EXPECT_TRUE(c.transport->aborted);
  });
}

}  // namespace
