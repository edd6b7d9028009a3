#pragma once
// The pieces open_connection and start_server share between their plain forms (net/streams.cpp)
// and their TLS forms (tls/streams.cpp). Internal to src/.

#include <cstddef>
#include <limits>
#include <memory>
#include <utility>

#include "asyncio/exceptions.hpp"
#include "asyncio/net/streams.hpp"

namespace asyncio::detail {

/// The reader's limit as StreamReader takes it (ValueError for 0, as Python's for limit <= 0).
inline std::ptrdiff_t checked_stream_limit(std::size_t limit) {
  if (limit == 0 || limit > static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max())) {
    throw ValueError("Limit cannot be <= 0");
  }
  return static_cast<std::ptrdiff_t>(limit);
}

/// The protocol factory of a stream server: a reader and a protocol sharing the server's callback.
inline auto stream_server_factory(ClientConnectedCallback callback, std::size_t limit) {
  const std::ptrdiff_t reader_limit = checked_stream_limit(limit);
  return [callback = std::make_shared<const ClientConnectedCallback>(std::move(callback)), reader_limit] {
    return std::make_shared<StreamReaderProtocol>(std::make_shared<StreamReader>(reader_limit), callback);
  };
}

/// Python's `StreamWriter(transport, protocol, reader, loop)` after create_connection.
inline StreamPair make_streams(Transport& transport, std::shared_ptr<StreamReaderProtocol> protocol,
                               std::shared_ptr<StreamReader> reader) {
  StreamWriter writer(transport, std::move(protocol), reader);
  return StreamPair(std::move(reader), std::move(writer));
}

}  // namespace asyncio::detail
