#pragma once
/// The http_hello server's connection logic: an HTTP/1.1 keep-alive server that answers every
/// request with "Hello, world!\n", with the limits and timeouts a real server has. Apart from
/// main.cpp so that tests and the fuzzer drive it over any StreamReader/StreamWriter pair.
///
/// Per connection, requests are served in order (pipelining works). Each response carries
/// Content-Length; HTTP/1.0 keep-alive is answered with "Connection: keep-alive" (clients such as
/// `ab -k` wait for it), HEAD gets the headers without the body, "Expect: 100-continue" gets the
/// interim 100 before the body is read (other expectations: 417). A malformed head gets 400, a
/// head over 8 KiB 431, Transfer-Encoding 501, a body over `max_body_size` 413 (without reading
/// it), and the connection is then closed, lingering: our side is shut down and what the client
/// still sends is dropped (for up to 2 s and 4 MiB) until it closes, so that the kernel does not
/// answer its unread bytes with a reset that destroys the response. Bodies are read and dropped in
/// chunks, never buffered.
///
/// Timeouts (one asyncio::Timeout per connection, rescheduled by phase): a kept-alive connection
/// that sends nothing for `idle_timeout` seconds is closed quietly; a request head must be complete
/// within `header_timeout` seconds of its first byte, else 408 and close (slowloris); while a body
/// arrives, each chunk must come within `idle_timeout`; a response the client does not read keeps
/// the deadline of its request.

#include <asyncio/asyncio.hpp>

#include <cstddef>

namespace http_hello {

/// Limits and timeouts of one connection (the command line's --max-body, --header-timeout and
/// --idle-timeout).
struct ServerOptions {
  /// Larger declared bodies get 413 Content Too Large.
  std::size_t max_body_size = 1024 * 1024;
  /// Seconds from a request head's first byte to its end.
  double header_timeout = 10;
  /// Seconds a connection may wait for the next request, or for the next chunk of a body.
  double idle_timeout = 60;
};

/// Serves the requests of one connection until the client leaves, asks to close, sends something
/// malformed or times out. Returns normally in every such case, with the last response written
/// (and drained); the caller closes the writer. Connection errors (a reset) propagate.
asyncio::Coro<void> serve_requests(asyncio::StreamReader& reader, asyncio::StreamWriter& writer,
                                   const ServerOptions& options);

}  // namespace http_hello
