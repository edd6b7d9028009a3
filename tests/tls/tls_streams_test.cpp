// TLS over real loopback sockets with both ends in one loop (CPython 3.13 sslproto.py and
// test_ssl.py are the reference): handshakes, versions, ALPN, SNI, certificate verification,
// client certificates, start_tls, close_notify, and the timeouts. The certificates come from
// scripts/make-test-certs (the test fixture TLS.certificates makes them in the build directory).

#include <gtest/gtest.h>

#include <any>
#include <memory>
#include <optional>
#include <string>
#include <tuple>

#include <asyncio/asyncio.hpp>

#include "support/test_support.hpp"

namespace {

using asyncio::Coro;
using asyncio::create_default_context;
using asyncio::Purpose;
using asyncio::SSLContext;
using asyncio::StreamReader;
using asyncio::StreamWriter;
using asyncio::TLSOptions;

const std::string kCerts = ASYNCIO_TEST_CERTS;

std::string cert(const char* name) { return kCerts + "/" + name; }

// A server context with the test CA's certificate for localhost.
SSLContext server_context(const char* name = "server") {
  SSLContext ctx = create_default_context(Purpose::client_auth);
  ctx.load_cert_chain(cert((std::string(name) + ".pem").c_str()), cert((std::string(name) + ".key").c_str()));
  return ctx;
}

// A client context that trusts the test CA.
SSLContext client_context() { return create_default_context(Purpose::server_auth, cert("ca.pem")); }

template <class F>
void run_io(F body, double limit = 30.0) {
  asyncio::run([body = std::move(body), limit]() mutable -> Coro<void> { co_await asyncio::wait_for(body(), limit); });
}

std::uint16_t port_of(const asyncio::Server& server) { return server.sockets().at(0).getsockname().port(); }

// An echo server over TLS: every line comes back; remembers what the last connection negotiated.
struct EchoServer {
  std::shared_ptr<asyncio::Server> server;
  std::string seen_server_name;
  std::string seen_alpn;
  std::string seen_client_cn;

  static Coro<std::unique_ptr<EchoServer>> start(TLSOptions tls) {
    auto self = std::make_unique<EchoServer>();
    EchoServer* s = self.get();
    self->server = co_await asyncio::start_server(
        [s](std::shared_ptr<StreamReader> reader, StreamWriter writer) -> Coro<void> {
          auto ssl = std::any_cast<asyncio::SSLObject>(writer.get_extra_info("ssl_object"));
          s->seen_server_name = ssl.server_hostname().value_or("");
          s->seen_alpn = ssl.selected_alpn_protocol().value_or("");
          if (auto peer = ssl.getpeercert()) {
            for (const auto& [key, value] : peer->subject) {
              if (key == "commonName") s->seen_client_cn = value;
            }
          }
          for (;;) {
            std::string line = co_await reader->readline();
            if (line.empty()) break;
            writer.write(line);
            co_await writer.drain();
          }
        },
        "127.0.0.1", 0, std::move(tls));
    co_return self;
  }
};

TEST(TlsStreams, AClientAndAServerExchangeLinesOverTls13ByDefault) {
  run_io([]() -> Coro<void> {
    auto echo = co_await EchoServer::start(server_context());
    auto [reader, writer] = co_await asyncio::open_connection("localhost", port_of(*echo->server), client_context());
    writer.write("hello over TLS\n");
    EXPECT_EQ(co_await reader->readline(), "hello over TLS\n");
    auto ssl = std::any_cast<asyncio::SSLObject>(writer.get_extra_info("ssl_object"));
    EXPECT_EQ(ssl.version(), "TLSv1.3");
    EXPECT_FALSE(ssl.server_side());
    writer.close();
    co_await writer.wait_closed();
    echo->server->close();
    co_await echo->server->wait_closed();
  });
}

TEST(TlsStreams, Tls12IsNegotiatedWhenTheServerGoesNoHigher) {
  run_io([]() -> Coro<void> {
    SSLContext server = server_context();
    server.set_maximum_version(asyncio::TLSVersion::tlsv1_2);
    auto echo = co_await EchoServer::start(server);
    auto [reader, writer] = co_await asyncio::open_connection("localhost", port_of(*echo->server), client_context());
    writer.write("x\n");
    EXPECT_EQ(co_await reader->readline(), "x\n");
    EXPECT_EQ(std::any_cast<asyncio::SSLObject>(writer.get_extra_info("ssl_object")).version(), "TLSv1.2");
    const auto [name, protocol, bits] =
        std::any_cast<std::tuple<std::string, std::string, int>>(writer.get_extra_info("cipher"));
    EXPECT_FALSE(name.empty());
    EXPECT_GE(bits, 128);
    writer.close();
    echo->server->close();
  });
}

TEST(TlsStreams, AlpnAgreesOnTheServersFirstChoiceThatTheClientOffers) {
  run_io([]() -> Coro<void> {
    SSLContext server = server_context();
    server.set_alpn_protocols({"h2", "http/1.1"});
    auto echo = co_await EchoServer::start(server);
    SSLContext client = client_context();
    client.set_alpn_protocols({"http/1.1", "h2"});
    auto [reader, writer] = co_await asyncio::open_connection("localhost", port_of(*echo->server), client);
    writer.write("x\n");
    co_await reader->readline();
    EXPECT_EQ(std::any_cast<std::string>(writer.get_extra_info("alpn_protocol")), "h2");
    EXPECT_EQ(echo->seen_alpn, "h2");
    writer.close();
    echo->server->close();
  });
}

TEST(TlsStreams, TheServerNameReachesTheServerThroughSni) {
  run_io([]() -> Coro<void> {
    auto echo = co_await EchoServer::start(server_context());
    auto [reader, writer] = co_await asyncio::open_connection("localhost", port_of(*echo->server), client_context());
    writer.write("x\n");
    co_await reader->readline();
    EXPECT_EQ(echo->seen_server_name, "localhost");
    writer.close();
    echo->server->close();
  });
}

// The verification error a client gets from a server with this certificate and this name.
Coro<std::string> verify_error(const char* server_cert, std::string host, TLSOptions tls) {
  auto echo = co_await EchoServer::start(server_context(server_cert));
  std::string error = "connected";
  try {
    auto streams = co_await asyncio::open_connection(host, port_of(*echo->server), std::move(tls));
    streams.second.close();
  } catch (const asyncio::SSLCertVerificationError& e) {
    error = e.what();
  }
  echo->server->close();
  co_return error;
}

TEST(TlsStreams, AServerCertificateForAnotherNameFailsVerificationNamingTheMismatch) {
  run_io([]() -> Coro<void> {
    const std::string error =
        co_await verify_error("server", "127.0.0.1", TLSOptions(client_context()).server_hostname("example.org"));
    EXPECT_NE(error.find("Hostname mismatch, certificate is not valid for 'example.org'."), std::string::npos) << error;
  });
}

TEST(TlsStreams, AnExpiredServerCertificateFailsVerificationSayingSo) {
  run_io([]() -> Coro<void> {
    const std::string error = co_await verify_error("expired", "localhost", client_context());
    EXPECT_NE(error.find("certificate has expired"), std::string::npos) << error;
  });
}

TEST(TlsStreams, ASelfSignedServerCertificateFailsVerificationSayingSo) {
  run_io([]() -> Coro<void> {
    const std::string error = co_await verify_error("selfsigned", "localhost", client_context());
    EXPECT_NE(error.find("self-signed certificate"), std::string::npos) << error;
  });
}

TEST(TlsStreams, ACertNoneClientConnectsToAServerNoCaVouchesFor) {
  run_io([]() -> Coro<void> {
    SSLContext client = create_default_context();
    client.set_check_hostname(false);
    client.set_verify_mode(asyncio::VerifyMode::cert_none);
    const std::string result = co_await verify_error("selfsigned", "127.0.0.1", client);
    EXPECT_EQ(result, "connected");
  });
}

TEST(TlsStreams, AServerRequiringClientCertificatesAcceptsOneItsCaSigned) {
  run_io([]() -> Coro<void> {
    SSLContext server = server_context();
    server.load_verify_locations(cert("ca.pem"));
    server.set_verify_mode(asyncio::VerifyMode::cert_required);
    auto echo = co_await EchoServer::start(server);
    SSLContext client = client_context();
    client.load_cert_chain(cert("client.pem"), cert("client.key"));
    auto [reader, writer] = co_await asyncio::open_connection("localhost", port_of(*echo->server), client);
    writer.write("x\n");
    EXPECT_EQ(co_await reader->readline(), "x\n");
    EXPECT_EQ(echo->seen_client_cn, "test client");
    writer.close();
    echo->server->close();
  });
}

TEST(TlsStreams, AServerRequiringClientCertificatesRefusesOneFromAnUnknownCa) {
  run_io([]() -> Coro<void> {
    SSLContext server = server_context();
    server.load_verify_locations(cert("ca.pem"));
    server.set_verify_mode(asyncio::VerifyMode::cert_required);
    auto echo = co_await EchoServer::start(server);
    SSLContext client = client_context();
    client.load_cert_chain(cert("stranger.pem"), cert("stranger.key"));
    bool refused = false;
    try {
      // TLS 1.3: the client's handshake ends before the server checks; the refusal (an alert)
      // comes with the first read.
      auto [reader, writer] = co_await asyncio::open_connection("localhost", port_of(*echo->server), client);
      writer.write("x\n");
      co_await reader->readline();
    } catch (const asyncio::SSLError&) {
      refused = true;
    } catch (const asyncio::ConnectionError&) {
      refused = true;
    }
    EXPECT_TRUE(refused);
    echo->server->close();
  });
}

TEST(TlsStreams, StartTlsUpgradesAnOpenConnectionAndLosesNoByteSentBefore) {
  run_io([]() -> Coro<void> {
    // A STARTTLS server: reads "STARTTLS\n" in plain text, answers "GO\n", upgrades, then echoes.
    SSLContext tls = server_context();
    // Not written inside the co_await: g++ 12 would destroy the closure twice.
    auto handler = [tls](std::shared_ptr<StreamReader> reader, StreamWriter writer) -> Coro<void> {
      EXPECT_EQ(co_await reader->readline(), "STARTTLS\n");
      writer.write("GO\n");
      co_await asyncio::start_tls(writer, tls);
      const std::string line = co_await reader->readline();
      writer.write("secure: " + line);
      co_await writer.drain();
    };
    auto server = co_await asyncio::start_server(handler, "127.0.0.1", 0);
    auto [reader, writer] = co_await asyncio::open_connection("127.0.0.1", port_of(*server));
    writer.write("STARTTLS\n");
    EXPECT_EQ(co_await reader->readline(), "GO\n");
    co_await asyncio::start_tls(writer, TLSOptions(client_context()).server_hostname("localhost"));
    writer.write("hello\n");
    EXPECT_EQ(co_await reader->readline(), "secure: hello\n");
    writer.close();
    server->close();
  });
}

TEST(TlsStreams, CloseSendsCloseNotifyAndThePeerReadsACleanEof) {
  run_io([]() -> Coro<void> {
    auto echo = co_await EchoServer::start(server_context());
    auto [reader, writer] = co_await asyncio::open_connection("localhost", port_of(*echo->server), client_context());
    writer.write("last\n");
    EXPECT_EQ(co_await reader->readline(), "last\n");
    writer.close();
    co_await writer.wait_closed();  // no error: the server answered close_notify, or closed
    echo->server->close();
    co_await echo->server->wait_closed();
  });
}

TEST(TlsStreams, AnSslObjectStaysReadableAfterItsConnectionIsGone) {
  run_io([]() -> Coro<void> {
    auto echo = co_await EchoServer::start(server_context());
    std::optional<asyncio::SSLObject> ssl;
    {
      auto [reader, writer] = co_await asyncio::open_connection("localhost", port_of(*echo->server), client_context());
      ssl = std::any_cast<asyncio::SSLObject>(writer.get_extra_info("ssl_object"));
      writer.close();
      co_await writer.wait_closed();
    }
    echo->server->close();
    co_await echo->server->wait_closed();
    co_await asyncio::sleep(0);  // the connection's last callbacks have run
    EXPECT_EQ(ssl->version(), "TLSv1.3");
    EXPECT_FALSE(ssl->server_side());
  });
}

TEST(TlsStreams, AWriteAfterThePeersCloseNotifyIsDroppedNotRaised) {
  run_io([]() -> Coro<void> {
    auto handler = [](std::shared_ptr<StreamReader>, StreamWriter writer) -> Coro<void> {
      writer.close();
      co_await writer.wait_closed();
    };
    auto server = co_await asyncio::start_server(handler, "127.0.0.1", 0, server_context());
    auto [reader, writer] = co_await asyncio::open_connection("localhost", port_of(*server), client_context());
    EXPECT_EQ(co_await reader->read(), "");  // the server's close_notify
    EXPECT_NO_THROW(writer.write("too late\n"));
    EXPECT_TRUE(writer.is_closing());
    writer.close();
    server->close();
    co_await server->wait_closed();
  });
}

TEST(TlsStreams, WriteEofIsRefusedBecauseTlsHasNoHalfClose) {
  run_io([]() -> Coro<void> {
    auto echo = co_await EchoServer::start(server_context());
    auto [reader, writer] = co_await asyncio::open_connection("localhost", port_of(*echo->server), client_context());
    EXPECT_FALSE(writer.can_write_eof());
    EXPECT_THROW(writer.write_eof(), asyncio::RuntimeError);
    writer.close();
    echo->server->close();
  });
}

TEST(TlsStreams, AServerSentGarbageInsteadOfAClientHelloClosesThatConnectionAndGoesOnServing) {
  run_io([]() -> Coro<void> {
    auto echo = co_await EchoServer::start(server_context());
    {
      auto [reader, writer] = co_await asyncio::open_connection("127.0.0.1", port_of(*echo->server));
      writer.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");  // plain HTTP to a TLS port
      const std::string reply = co_await reader->read();  // an alert, then the close
      EXPECT_LT(reply.size(), 100u);
      writer.close();
    }
    auto [reader, writer] = co_await asyncio::open_connection("localhost", port_of(*echo->server), client_context());
    writer.write("still serving\n");
    EXPECT_EQ(co_await reader->readline(), "still serving\n");
    writer.close();
    echo->server->close();
  });
}

TEST(TlsStreams, AClientContextAsAServersIsAValueErrorSayingWhichItNeeds) {
  run_io([]() -> Coro<void> {
    EXPECT_THROW(
        co_await asyncio::start_server([](auto, auto) -> Coro<void> { co_return; }, "127.0.0.1", 0, client_context()),
        asyncio::ValueError);
  });
}

}  // namespace
