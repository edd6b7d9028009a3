// http_hello: an HTTP/1.1 keep-alive "hello" server on asyncio streams, with its own small parser
// (http_request.hpp) that answers every malformed request with 400 and closes.
//
//   http_hello [host] [port] [--until-stdin-closes]    (defaults: 127.0.0.1 and 0)
//
// Prints "serving on HOST:PORT" once it listens. Try: curl -v http://127.0.0.1:PORT/

#include <asyncio/asyncio.hpp>

#include <string>
#include <string_view>

#include "http_request.hpp"

#include "example_server.hpp"

namespace {

constexpr std::string_view kHello = "Hello, world!\n";

std::string response(int status, std::string_view reason, std::string_view body, bool keep_alive) {
  std::string r = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
                  "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  if (!keep_alive) r += "Connection: close\r\n";
  r += "\r\n";
  r += body;
  return r;
}

// One connection's requests, in order (pipelining works: each head is read after the last answer).
// By reference: serve_client awaits it at once and outlives it.
asyncio::Coro<void> serve_requests(asyncio::StreamReader& reader, asyncio::StreamWriter& writer) {
  for (;;) {
    std::string head;
    try {
      head = co_await reader.readuntil("\r\n\r\n");
    } catch (const asyncio::IncompleteReadError& e) {
      // EOF: between requests it is the client leaving; inside one it is a truncated request.
      if (!e.partial().empty()) writer.write(response(400, "Bad Request", "truncated request\n", false));
      break;
    } catch (const asyncio::LimitOverrunError&) {
      writer.write(response(431, "Request Header Fields Too Large", "request head too large\n", false));
      break;
    }
    const http_hello::ParseResult parsed = http_hello::parse_request(head);
    if (parsed.status != http_hello::ParseStatus::complete) {
      const bool not_impl = parsed.status == http_hello::ParseStatus::not_implemented;
      const bool too_large = parsed.status == http_hello::ParseStatus::too_large;
      writer.write(response(not_impl    ? 501
                            : too_large ? 431
                                        : 400,
                            not_impl    ? "Not Implemented"
                            : too_large ? "Request Header Fields Too Large"
                                        : "Bad Request",
                            std::string(parsed.error) + "\n", false));
      break;
    }
    if (parsed.request.content_length > 0) {
      try {
        (void)co_await reader.readexactly(static_cast<std::ptrdiff_t>(parsed.request.content_length));
      } catch (const asyncio::IncompleteReadError&) {
        writer.write(response(400, "Bad Request", "truncated body\n", false));
        break;
      }
    }
    const bool keep_alive = parsed.request.keep_alive;
    writer.write(response(200, "OK", kHello, keep_alive));
    co_await writer.drain();
    if (!keep_alive) break;
  }
  co_await writer.drain();
}

// One connection. A client that resets is no error of the server's (it logs nothing).
asyncio::Coro<void> serve_client(std::shared_ptr<asyncio::StreamReader> reader, asyncio::StreamWriter writer) {
  try {
    co_await serve_requests(*reader, writer);
  } catch (const asyncio::ConnectionError&) {
    // The client reset or went away mid-request: nobody is left to answer.
  }
  writer.close();
}

asyncio::Coro<void> serve(examples::ServerArgs args) {
  auto server = co_await asyncio::start_server(serve_client, args.host, args.port, http_hello::kMaxHeadSize);
  co_await examples::serve_until_stopped(server, args.until_stdin_closes);
}

}  // namespace

int main(int argc, char** argv) {
  return examples::run_example("http_hello", serve(examples::parse_server_args(argc, argv)));
}
