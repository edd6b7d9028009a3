// The TLS forms of open_connection, start_server and StreamWriter.start_tls (CPython 3.13
// Lib/asyncio/streams.py), over tls/connection.hpp.

#include "asyncio/tls/streams.hpp"

#include <limits>
#include <utility>

#include "../net/stream_factories.hpp"
#include "asyncio/exceptions.hpp"

namespace asyncio {

using detail::checked_stream_limit;
using detail::make_streams;
using detail::stream_server_factory;

Coro<StreamPair> open_connection(std::string host, std::uint16_t port, TLSOptions tls, std::size_t limit,
                                 ConnectionOptions options) {
  auto reader = std::make_shared<StreamReader>(checked_stream_limit(limit));
  auto protocol = std::make_shared<StreamReaderProtocol>(reader);
  auto factory = [protocol] { return protocol; };  // not inside the co_await (g++ 12)
  auto connected = co_await create_connection(std::move(factory), std::move(host), port, std::move(tls), options);
  // The TLS layer keeps its transport as long as the plain one lives (the loop keeps that one).
  co_return make_streams(*connected.first, std::move(protocol), std::move(reader));
}

Coro<StreamPair> open_unix_connection(std::string path, TLSOptions tls, std::size_t limit) {
  auto reader = std::make_shared<StreamReader>(checked_stream_limit(limit));
  auto protocol = std::make_shared<StreamReaderProtocol>(reader);
  auto factory = [protocol] { return protocol; };
  auto connected = co_await create_unix_connection(std::move(factory), std::move(path), std::move(tls));
  co_return make_streams(*connected.first, std::move(protocol), std::move(reader));
}

Coro<std::shared_ptr<Server>> start_server(ClientConnectedCallback client_connected_cb, std::string host,
                                           std::uint16_t port, TLSOptions tls, std::size_t limit,
                                           ServerOptions options) {
  auto factory = stream_server_factory(std::move(client_connected_cb), limit);
  co_return co_await create_server(std::move(factory), std::move(host), port, std::move(tls), options);
}

Coro<std::shared_ptr<Server>> start_unix_server(ClientConnectedCallback client_connected_cb, std::string path,
                                                TLSOptions tls, std::size_t limit, UnixServerOptions options) {
  auto factory = stream_server_factory(std::move(client_connected_cb), limit);
  co_return co_await create_unix_server(std::move(factory), std::move(path), std::move(tls), options);
}

Coro<void> start_tls(StreamWriter& writer, TLSOptions tls) {
  auto* protocol = dynamic_cast<StreamReaderProtocol*>(writer.protocol().get());
  if (protocol == nullptr) throw TypeError("start_tls: the writer's protocol is not a StreamReaderProtocol");
  auto* transport = dynamic_cast<Transport*>(protocol->transport());
  if (transport == nullptr) throw RuntimeError("start_tls: the connection is closed");
  const bool server_side = protocol->serves_a_client();
  co_await writer.drain();
  std::shared_ptr<Transport> tls_transport =
      co_await start_tls(*transport, writer.protocol(), std::move(tls), server_side);
  // The TLS layer owns its transport for as long as the connection lives.
  writer.replace_transport(*tls_transport);
  protocol->replace_transport(*tls_transport);
}

}  // namespace asyncio
