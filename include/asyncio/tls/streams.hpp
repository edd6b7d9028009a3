#pragma once
/// TLS streams: the `ssl=` forms of Python's asyncio.open_connection, open_unix_connection,
/// start_server and start_unix_server, and StreamWriter.start_tls.
///
///   auto [reader, writer] = co_await asyncio::open_connection("example.com", 443,
///                                                             asyncio::create_default_context());
///   writer.write("GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
///   std::string page = co_await reader->read();
///
///   // STARTTLS: upgrade an open plain connection (there is no host to default the name to)
///   co_await asyncio::start_tls(writer, asyncio::TLSOptions(ctx).server_hostname("mail.example.com"));
///
/// The connections behave as tls/connection.hpp describes; the streams over them as plain ones,
/// except that writer.write_eof() is unsupported (TLS has no half-close) and writer.close() sends
/// close_notify first.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "asyncio/coro/coro.hpp"
#include "asyncio/net/streams.hpp"
#include "asyncio/tls/connection.hpp"
#include "asyncio/tls/tls_options.hpp"

namespace asyncio {

/// Python's asyncio.open_connection(host, port, ssl=..., server_hostname=..., ...): returns once
/// the handshake is done.
Coro<StreamPair> open_connection(std::string host, std::uint16_t port, TLSOptions tls,
                                 std::size_t limit = stream_default_limit, ConnectionOptions options = {});

/// Python's asyncio.open_unix_connection(path, ssl=..., server_hostname=...).
Coro<StreamPair> open_unix_connection(std::string path, TLSOptions tls, std::size_t limit = stream_default_limit);

/// Python's asyncio.start_server(client_connected_cb, host, port, ssl=...): the callback runs once
/// a client's handshake is done.
Coro<std::shared_ptr<Server>> start_server(ClientConnectedCallback client_connected_cb, std::string host,
                                           std::uint16_t port, TLSOptions tls, std::size_t limit = stream_default_limit,
                                           ServerOptions options = {});

/// Python's asyncio.start_unix_server(client_connected_cb, path, ssl=...).
Coro<std::shared_ptr<Server>> start_unix_server(ClientConnectedCallback client_connected_cb, std::string path,
                                                TLSOptions tls, std::size_t limit = stream_default_limit,
                                                UnixServerOptions options = {});

/// Python's StreamWriter.start_tls(sslcontext, server_hostname=, ssl_handshake_timeout=, ...):
/// drains the writer, then upgrades its connection to TLS (the server side if the streams came
/// from start_server); from then on `writer` and its reader speak TLS. Bytes the reader already
/// holds stay there. Raises what the handshake raises.
Coro<void> start_tls(StreamWriter& writer, TLSOptions tls);

}  // namespace asyncio
