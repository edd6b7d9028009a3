#pragma once
/// TLS connections: the `ssl=` forms of Python's loop.create_connection, create_unix_connection,
/// connect_accepted_socket, create_server, create_unix_server and loop.start_tls, over OpenSSL.
///
///   auto ctx = asyncio::create_default_context();
///   auto [transport, protocol] = co_await asyncio::create_connection(factory, "example.com", 443, ctx);
///
///   auto server_ctx = asyncio::create_default_context(asyncio::Purpose::client_auth);
///   server_ctx.load_cert_chain("cert.pem", "key.pem");
///   auto server = co_await asyncio::create_server(factory, "0.0.0.0", 8443, server_ctx);
///
/// The transport a TLS connection gives its protocol (a Protocol or a BufferedProtocol) is a
/// Transport like a plain one, with asyncio's TLS behaviour: connection_made after the handshake;
/// pause_reading/resume_reading and pause_writing/resume_writing as on a plain transport;
/// write_eof() unsupported (TLS has no half-close: RuntimeError); close() flushes, sends
/// close_notify and waits for the peer's within the shutdown timeout; abort() closes at once;
/// get_extra_info() adds "ssl_object" (SSLObject), "peercert" (PeerCertificate, if the peer sent
/// one), "cipher" (tuple of name, protocol, bits), "compression" (empty), "sslcontext"
/// (SSLContext) and "alpn_protocol" (std::string, if ALPN agreed) to the plain transport's
/// "peername", "sockname" and "socket".
///
/// A client connects, then handshakes: server_hostname (TLSOptions; by default the host given)
/// is sent in SNI and, with the context's check_hostname, the certificate must name it. A failed
/// handshake raises its SSLError (SSLCertVerificationError with the reason for a certificate)
/// and closes the connection; one that takes longer than the handshake timeout raises
/// ConnectionAbortedError. A server runs the handshake for each accepted connection; one that
/// fails closes that connection (reported to the exception handler in debug mode only, as
/// CPython) and the server goes on.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "asyncio/coro/coro.hpp"
#include "asyncio/net/connection.hpp"
#include "asyncio/net/protocol_factory.hpp"
#include "asyncio/net/server.hpp"
#include "asyncio/net/socket.hpp"
#include "asyncio/net/socket_address.hpp"
#include "asyncio/net/transport.hpp"
#include "asyncio/tls/ssl_context.hpp"
#include "asyncio/tls/ssl_errors.hpp"
#include "asyncio/tls/ssl_object.hpp"
#include "asyncio/tls/tls_options.hpp"

namespace asyncio {

namespace detail {

/// A client's TLS connection over a connected `sock`: starts the plain transport with the TLS
/// layer as its protocol, runs the handshake (server_hostname: `tls`'s, else `host`), and returns
/// the TLS transport, `protocol`'s from then on. Closes everything if the handshake fails.
Coro<std::shared_ptr<Transport>> start_tls_client(Socket sock, std::shared_ptr<BaseProtocol> protocol, TLSOptions tls,
                                                  std::string host, std::optional<SocketAddress> peer);

/// A server's TLS connection over an accepted `sock` (connect_accepted_socket).
Coro<std::shared_ptr<Transport>> start_tls_server(Socket sock, std::shared_ptr<BaseProtocol> protocol, TLSOptions tls);

/// A server's protocol factory whose protocols run TLS (server side) over the ones `factory` makes.
ProtocolFactory tls_server_factory(ProtocolFactory factory, TLSOptions tls);

}  // namespace detail

/// Python's loop.create_connection(protocol_factory, host, port, ssl=..., server_hostname=...,
/// ssl_handshake_timeout=..., ssl_shutdown_timeout=...): returns once the handshake is done.
template <StreamProtocolFactory F>
Coro<std::pair<std::shared_ptr<Transport>, std::shared_ptr<protocol_of_t<F>>>> create_connection(
    F protocol_factory, std::string host, std::uint16_t port, TLSOptions tls, ConnectionOptions options = {}) {
  auto [sock, peer] = co_await detail::connect_stream(host, port, options);
  std::shared_ptr<protocol_of_t<F>> protocol = protocol_factory();
  std::shared_ptr<Transport> transport =
      co_await detail::start_tls_client(std::move(sock), protocol, std::move(tls), std::move(host), peer);
  co_return std::pair{std::move(transport), std::move(protocol)};
}

/// Python's create_connection(protocol_factory, sock=sock, ssl=..., server_hostname=...): TLS over
/// an already connected socket (server_hostname must then be given unless check_hostname is off).
template <StreamProtocolFactory F>
Coro<std::pair<std::shared_ptr<Transport>, std::shared_ptr<protocol_of_t<F>>>> create_connection(F protocol_factory,
                                                                                                 Socket sock,
                                                                                                 TLSOptions tls) {
  detail::check_stream_socket(sock, "create_connection");
  std::shared_ptr<protocol_of_t<F>> protocol = protocol_factory();
  std::shared_ptr<Transport> transport =
      co_await detail::start_tls_client(std::move(sock), protocol, std::move(tls), std::string(), std::nullopt);
  co_return std::pair{std::move(transport), std::move(protocol)};
}

/// Python's loop.create_unix_connection(protocol_factory, path, ssl=..., server_hostname=...):
/// server_hostname must be given unless check_hostname is off (a path is no host name).
template <StreamProtocolFactory F>
Coro<std::pair<std::shared_ptr<Transport>, std::shared_ptr<protocol_of_t<F>>>> create_unix_connection(
    F protocol_factory, std::string path, TLSOptions tls) {
  auto [sock, peer] = co_await detail::connect_unix(std::move(path));
  std::shared_ptr<protocol_of_t<F>> protocol = protocol_factory();
  std::shared_ptr<Transport> transport =
      co_await detail::start_tls_client(std::move(sock), protocol, std::move(tls), std::string(), peer);
  co_return std::pair{std::move(transport), std::move(protocol)};
}

/// Python's loop.connect_accepted_socket(protocol_factory, sock, ssl=...): the server side of TLS
/// over a socket some other code accepted; returns once the handshake is done.
template <StreamProtocolFactory F>
Coro<std::pair<std::shared_ptr<Transport>, std::shared_ptr<protocol_of_t<F>>>> connect_accepted_socket(
    F protocol_factory, Socket sock, TLSOptions tls) {
  detail::check_stream_socket(sock, "connect_accepted_socket");
  std::shared_ptr<protocol_of_t<F>> protocol = protocol_factory();
  std::shared_ptr<Transport> transport = co_await detail::start_tls_server(std::move(sock), protocol, std::move(tls));
  co_return std::pair{std::move(transport), std::move(protocol)};
}

/// Python's loop.create_server(protocol_factory, host, port, ssl=..., ssl_handshake_timeout=...,
/// ssl_shutdown_timeout=...): every accepted connection runs the server side of TLS; its protocol
/// gets connection_made once the handshake is done.
template <StreamProtocolFactory F>
Coro<std::shared_ptr<Server>> create_server(F protocol_factory, std::string host, std::uint16_t port, TLSOptions tls,
                                            ServerOptions options = {}) {
  return detail::create_server(
      detail::tls_server_factory(detail::ProtocolFactory(std::move(protocol_factory)), std::move(tls)), std::move(host),
      port, options);
}

/// Python's create_server(protocol_factory, sock=sock, ssl=...).
template <StreamProtocolFactory F>
Coro<std::shared_ptr<Server>> create_server(F protocol_factory, Socket sock, TLSOptions tls,
                                            ServerOptions options = {}) {
  return detail::create_server(
      detail::tls_server_factory(detail::ProtocolFactory(std::move(protocol_factory)), std::move(tls)), std::move(sock),
      options);
}

/// Python's loop.create_unix_server(protocol_factory, path, ssl=...).
template <StreamProtocolFactory F>
Coro<std::shared_ptr<Server>> create_unix_server(F protocol_factory, std::string path, TLSOptions tls,
                                                 UnixServerOptions options = {}) {
  return detail::create_unix_server(
      detail::tls_server_factory(detail::ProtocolFactory(std::move(protocol_factory)), std::move(tls)), std::move(path),
      options);
}

/// Python's loop.start_tls(transport, protocol, sslcontext, server_side=, server_hostname=,
/// ssl_handshake_timeout=, ssl_shutdown_timeout=): upgrades an open connection to TLS (STARTTLS in
/// SMTP, IMAP, PostgreSQL). `transport` must be a plain stream transport whose protocol is
/// `protocol`; from here its bytes go through TLS, and `protocol` gets the returned TLS transport
/// (no second connection_made: it already has its connection). Returns once the handshake is done;
/// if it fails, `transport` is closed and the error raised. What `protocol` received before the
/// call stays with it; the caller must not write to `transport` meanwhile.
Coro<std::shared_ptr<Transport>> start_tls(Transport& transport, std::shared_ptr<BaseProtocol> protocol, TLSOptions tls,
                                           bool server_side = false);

}  // namespace asyncio
