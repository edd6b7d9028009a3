// open_connection, start_server and their Unix variants: CPython 3.13 Lib/asyncio/streams.py.

#include "asyncio/net/streams.hpp"

#include <cstddef>
#include <limits>
#include <utility>

#include "asyncio/exceptions.hpp"

namespace asyncio {

namespace {

/// The reader's limit as StreamReader takes it (ValueError for 0, as Python's for limit <= 0).
std::ptrdiff_t checked_limit(std::size_t limit) {
  if (limit == 0 || limit > static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max())) {
    throw ValueError("Limit cannot be <= 0");
  }
  return static_cast<std::ptrdiff_t>(limit);
}

/// The protocol factory of a stream server: a reader and a protocol sharing the server's callback.
auto server_factory(ClientConnectedCallback callback, std::size_t limit) {
  const std::ptrdiff_t reader_limit = checked_limit(limit);
  return [callback = std::make_shared<const ClientConnectedCallback>(std::move(callback)), reader_limit] {
    return std::make_shared<StreamReaderProtocol>(std::make_shared<StreamReader>(reader_limit), callback);
  };
}

/// Python's `StreamWriter(transport, protocol, reader, loop)` after create_connection.
StreamPair make_streams(Transport& transport, std::shared_ptr<StreamReaderProtocol> protocol,
                        std::shared_ptr<StreamReader> reader) {
  StreamWriter writer(transport, std::move(protocol), reader);
  return StreamPair(std::move(reader), std::move(writer));
}

}  // namespace

Coro<StreamPair> open_connection(std::string host, std::uint16_t port, std::size_t limit, ConnectionOptions options) {
  auto reader = std::make_shared<StreamReader>(checked_limit(limit));
  auto protocol = std::make_shared<StreamReaderProtocol>(reader);
  // Built before the co_await: g++ 12 destroys a closure temporary inside a co_await expression
  // twice (here: one reference of the protocol too many).
  auto factory = [protocol] { return protocol; };
  auto connected = co_await create_connection(std::move(factory), std::move(host), port, options);
  // The loop keeps the transport alive until connection_lost; the writer needs only a reference.
  co_return make_streams(*connected.first, std::move(protocol), std::move(reader));
}

Coro<StreamPair> open_connection(Socket sock, std::size_t limit) {
  auto reader = std::make_shared<StreamReader>(checked_limit(limit));
  auto protocol = std::make_shared<StreamReaderProtocol>(reader);
  auto factory = [protocol] { return protocol; };
  auto connected = co_await create_connection(std::move(factory), std::move(sock));
  co_return make_streams(*connected.first, std::move(protocol), std::move(reader));
}

Coro<StreamPair> open_unix_connection(std::string path, std::size_t limit) {
  auto reader = std::make_shared<StreamReader>(checked_limit(limit));
  auto protocol = std::make_shared<StreamReaderProtocol>(reader);
  auto factory = [protocol] { return protocol; };
  auto connected = co_await create_unix_connection(std::move(factory), std::move(path));
  co_return make_streams(*connected.first, std::move(protocol), std::move(reader));
}

Coro<std::shared_ptr<Server>> start_server(ClientConnectedCallback client_connected_cb, std::string host,
                                           std::uint16_t port, std::size_t limit, ServerOptions options) {
  auto factory = server_factory(std::move(client_connected_cb), limit);  // not inside the co_await (g++ 12)
  co_return co_await create_server(std::move(factory), std::move(host), port, options);
}

Coro<std::shared_ptr<Server>> start_server(ClientConnectedCallback client_connected_cb, Socket sock, std::size_t limit,
                                           ServerOptions options) {
  auto factory = server_factory(std::move(client_connected_cb), limit);
  co_return co_await create_server(std::move(factory), std::move(sock), options);
}

Coro<std::shared_ptr<Server>> start_unix_server(ClientConnectedCallback client_connected_cb, std::string path,
                                                std::size_t limit, UnixServerOptions options) {
  auto factory = server_factory(std::move(client_connected_cb), limit);
  co_return co_await create_unix_server(std::move(factory), std::move(path), options);
}

}  // namespace asyncio
