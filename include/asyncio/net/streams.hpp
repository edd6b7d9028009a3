#pragma once
/// The stream functions of asyncio (Python's asyncio/streams.py): a connection as a (reader,
/// writer) pair, and servers that hand each client its pair.
///
///   auto [reader, writer] = co_await asyncio::open_connection("127.0.0.1", 8888);
///   writer.write("hello\n");
///   std::string reply = co_await reader->readline();
///   writer.close();
///   co_await writer.wait_closed();
///
///   auto server = co_await asyncio::start_server(
///       [](std::shared_ptr<asyncio::StreamReader> reader, asyncio::StreamWriter writer) -> asyncio::Coro<void> {
///         while (true) {
///           std::string line = co_await reader->readline();
///           if (line.empty()) break;  // EOF
///           writer.write(line);
///           co_await writer.drain();
///         }
///       },                           // returning closes the connection (the writer's destructor)
///       "127.0.0.1", 8888);
///   co_await server->serve_forever();
///
/// The reader is a std::shared_ptr<StreamReader> because the connection's protocol feeds it while
/// the program reads it: both hold it (Python shares one object the same way). The writer is a
/// move-only StreamWriter: whoever holds it owns the connection, and destroying it closes it. So a
/// handler that returns closes its connection, unless it handed the writer over first (a moved-from
/// writer closes nothing), as a chat server does with its members:
///
///   std::vector<asyncio::StreamWriter> room;   // outlives the handlers
///   ... [&room](std::shared_ptr<asyncio::StreamReader> reader, asyncio::StreamWriter writer)
///           -> asyncio::Coro<void> {
///         room.push_back(std::move(writer));   // the room owns the connection now
///         co_return;                           // returning closes nothing
///       }
///   ... room.erase(it);                        // the room lets go: the connection closes
///
/// TLS (ssl=, start_tls) is in tls/streams.hpp. Differences from CPython: the keyword arguments
/// are the option structs of create_connection and create_server (net/connection.hpp,
/// net/server.hpp); `limit` comes before them.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "asyncio/coro/coro.hpp"
#include "asyncio/net/connection.hpp"
#include "asyncio/net/server.hpp"
#include "asyncio/net/socket.hpp"
#include "asyncio/net/stream_protocol.hpp"
#include "asyncio/net/stream_reader.hpp"
#include "asyncio/net/stream_writer.hpp"

namespace asyncio {

/// What open_connection returns: Python's (reader, writer) tuple. `auto [reader, writer] = ...`.
using StreamPair = std::pair<std::shared_ptr<StreamReader>, StreamWriter>;

/// Python's asyncio.open_connection(host, port, limit=, **kwds): create_connection with a
/// StreamReaderProtocol; returns once connected. `limit` is the reader's (ValueError if 0). The
/// errors are create_connection's (ConnectionRefusedError, ...).
Coro<StreamPair> open_connection(std::string host, std::uint16_t port, std::size_t limit = stream_default_limit,
                                 ConnectionOptions options = {});

/// Python's open_connection(sock=sock): streams over an already connected stream socket.
Coro<StreamPair> open_connection(Socket sock, std::size_t limit = stream_default_limit);

/// Python's asyncio.open_unix_connection(path, limit=).
Coro<StreamPair> open_unix_connection(std::string path, std::size_t limit = stream_default_limit);

/// Python's asyncio.start_server(client_connected_cb, host, port, limit=, **kwds): create_server
/// whose every connection gets a StreamReaderProtocol; `client_connected_cb(reader, writer)` is
/// called for each client - a coroutine function runs as a Task (its failure is reported to the
/// loop's exception handler and closes the connection; see StreamReaderProtocol). The callback is
/// shared by all connections and by each running Task, so a lambda's captures live as long as
/// any of them.
Coro<std::shared_ptr<Server>> start_server(ClientConnectedCallback client_connected_cb, std::string host,
                                           std::uint16_t port, std::size_t limit = stream_default_limit,
                                           ServerOptions options = {});

/// Python's start_server(client_connected_cb, sock=sock): serves on an already bound socket.
Coro<std::shared_ptr<Server>> start_server(ClientConnectedCallback client_connected_cb, Socket sock,
                                           std::size_t limit = stream_default_limit, ServerOptions options = {});

/// Python's asyncio.start_unix_server(client_connected_cb, path, limit=).
Coro<std::shared_ptr<Server>> start_unix_server(ClientConnectedCallback client_connected_cb, std::string path,
                                                std::size_t limit = stream_default_limit,
                                                UnixServerOptions options = {});

}  // namespace asyncio
