// open_connection, start_server and their Unix variants: CPython 3.13 Lib/asyncio/streams.py.

#include "asyncio/net/streams.hpp"

#include <cstddef>
#include <limits>
#include <utility>

#include "asyncio/exceptions.hpp"
#include "stream_factories.hpp"

namespace asyncio {

using detail::checked_stream_limit;
using detail::make_streams;
using detail::stream_server_factory;

Coro<StreamPair> open_connection(std::string host, std::uint16_t port, std::size_t limit, ConnectionOptions options) {
  auto reader = std::make_shared<StreamReader>(checked_stream_limit(limit));
  auto protocol = std::make_shared<StreamReaderProtocol>(reader);
  // Built before the co_await: g++ 12 destroys a closure temporary inside a co_await expression
  // twice (here: one reference of the protocol too many).
  auto factory = [protocol] { return protocol; };
  auto connected = co_await create_connection(std::move(factory), std::move(host), port, options);
  // The loop keeps the transport alive until connection_lost; the writer needs only a reference.
  co_return make_streams(*connected.first, std::move(protocol), std::move(reader));
}

Coro<StreamPair> open_connection(Socket sock, std::size_t limit) {
  auto reader = std::make_shared<StreamReader>(checked_stream_limit(limit));
  auto protocol = std::make_shared<StreamReaderProtocol>(reader);
  auto factory = [protocol] { return protocol; };
  auto connected = co_await create_connection(std::move(factory), std::move(sock));
  co_return make_streams(*connected.first, std::move(protocol), std::move(reader));
}

Coro<StreamPair> open_unix_connection(std::string path, std::size_t limit) {
  auto reader = std::make_shared<StreamReader>(checked_stream_limit(limit));
  auto protocol = std::make_shared<StreamReaderProtocol>(reader);
  auto factory = [protocol] { return protocol; };
  auto connected = co_await create_unix_connection(std::move(factory), std::move(path));
  co_return make_streams(*connected.first, std::move(protocol), std::move(reader));
}

Coro<std::shared_ptr<Server>> start_server(ClientConnectedCallback client_connected_cb, std::string host,
                                           std::uint16_t port, std::size_t limit, ServerOptions options) {
  auto factory = stream_server_factory(std::move(client_connected_cb), limit);  // not inside the co_await (g++ 12)
  co_return co_await create_server(std::move(factory), std::move(host), port, options);
}

Coro<std::shared_ptr<Server>> start_server(ClientConnectedCallback client_connected_cb, Socket sock, std::size_t limit,
                                           ServerOptions options) {
  auto factory = stream_server_factory(std::move(client_connected_cb), limit);
  co_return co_await create_server(std::move(factory), std::move(sock), options);
}

Coro<std::shared_ptr<Server>> start_unix_server(ClientConnectedCallback client_connected_cb, std::string path,
                                                std::size_t limit, UnixServerOptions options) {
  auto factory = stream_server_factory(std::move(client_connected_cb), limit);
  co_return co_await create_unix_server(std::move(factory), std::move(path), options);
}

}  // namespace asyncio
