// The TLS entry points of tls/connection.hpp: the SSLProtocol (ssl_protocol.hpp) layered over the
// plain transports net/ makes, as CPython's _make_ssl_transport and start_tls do.

#include "asyncio/tls/connection.hpp"

#include <exception>
#include <utility>

#include "asyncio/exceptions.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/task/future.hpp"
#include "ssl_protocol.hpp"

namespace asyncio {

namespace detail {

namespace {

// Waits for the handshake; if it fails or the wait is cancelled, closes `plain` and rethrows.
Coro<void> await_handshake(Future<void> handshake, std::shared_ptr<Transport> plain) {
  std::exception_ptr error;
  try {
    co_await handshake;
  } catch (...) {
    error = std::current_exception();
  }
  if (error) {
    plain->close();
    std::rethrow_exception(error);
  }
}

Coro<std::shared_ptr<Transport>> start_tls_over_socket(Socket sock, std::shared_ptr<BaseProtocol> protocol,
                                                       TLSOptions tls, bool server_side, std::string hostname,
                                                       std::optional<SocketAddress> peer) {
  if (!protocol) throw TypeError("the protocol factory returned a null protocol");
  EventLoop& loop = get_running_loop();
  Future<void> handshake = loop.create_future<void>();
  std::shared_ptr<SSLProtocol> ssl =
      make_ssl_protocol(loop, std::move(protocol), tls, server_side, hostname, true, handshake);
  std::shared_ptr<Transport> app = ssl->app_transport();
  std::shared_ptr<Transport> plain = co_await start_transport(std::move(sock), std::move(ssl), peer);
  co_await await_handshake(std::move(handshake), std::move(plain));
  co_return app;
}

}  // namespace

Coro<std::shared_ptr<Transport>> start_tls_client(Socket sock, std::shared_ptr<BaseProtocol> protocol, TLSOptions tls,
                                                  std::string host, std::optional<SocketAddress> peer) {
  std::string hostname = tls.server_hostname().value_or(std::move(host));
  return start_tls_over_socket(std::move(sock), std::move(protocol), std::move(tls), false, std::move(hostname), peer);
}

Coro<std::shared_ptr<Transport>> start_tls_server(Socket sock, std::shared_ptr<BaseProtocol> protocol, TLSOptions tls) {
  return start_tls_over_socket(std::move(sock), std::move(protocol), std::move(tls), true, std::string(), std::nullopt);
}

ProtocolFactory tls_server_factory(ProtocolFactory factory, TLSOptions tls) {
  if (tls.context().side() != SSLContext::Side::server) {
    throw ValueError("a TLS server needs a server-side SSLContext (create_default_context(Purpose::client_auth))");
  }
  struct Shared {
    ProtocolFactory factory;
    TLSOptions tls;
  };
  auto shared = std::make_shared<Shared>(Shared{std::move(factory), std::move(tls)});
  return ProtocolFactory([shared]() -> std::shared_ptr<BaseProtocol> {
    std::shared_ptr<BaseProtocol> app = shared->factory();
    if (!app) return nullptr;
    // No waiter: nobody awaits a server connection's handshake; a failure closes the connection.
    return make_ssl_protocol(get_running_loop(), std::move(app), shared->tls, true, std::string(), true,
                             Future<void>());
  });
}

}  // namespace detail

Coro<std::shared_ptr<Transport>> start_tls(Transport& transport, std::shared_ptr<BaseProtocol> protocol, TLSOptions tls,
                                           bool server_side) {
  if (dynamic_cast<detail::SSLTransport*>(&transport) != nullptr) {
    throw TypeError("start_tls: the transport already speaks TLS");
  }
  if (transport.is_closing()) throw RuntimeError("start_tls: the transport is closing");
  EventLoop& loop = get_running_loop();
  Future<void> handshake = loop.create_future<void>();
  std::shared_ptr<detail::SSLProtocol> ssl = detail::make_ssl_protocol(
      loop, std::move(protocol), tls, server_side, tls.server_hostname().value_or(std::string()), false, handshake);
  // Paused first, so that nothing reaches the TLS layer before its connection_made (CPython).
  transport.pause_reading();
  transport.set_protocol(ssl);
  Handle made = loop.call_soon([ssl, &transport] { ssl->connection_made(transport); });
  Handle resumed = loop.call_soon([&transport] { transport.resume_reading(); });
  std::exception_ptr error;
  try {
    co_await handshake;
  } catch (...) {
    error = std::current_exception();
  }
  if (error) {
    transport.close();
    made.cancel();
    resumed.cancel();
    std::rethrow_exception(error);
  }
  co_return ssl->app_transport();
}

}  // namespace asyncio
