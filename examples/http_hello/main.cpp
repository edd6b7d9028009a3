// http_hello: an HTTP/1.1 keep-alive "hello" server on asyncio streams, with its own small parser
// (http_request.hpp) that answers every malformed request with 400 and closes.
//
//   http_hello [host] [port] [--until-stdin-closes]    (defaults: 127.0.0.1 and 0)
//
// Prints "serving on HOST:PORT" once it listens. Try: curl -v http://127.0.0.1:PORT/

#include <unistd.h>
#include <asyncio/asyncio.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http_request.hpp"

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

// One connection: requests in order (pipelining works: each head is read after the last answer).
asyncio::Coro<void> serve_client(std::shared_ptr<asyncio::StreamReader> reader, asyncio::StreamWriter writer) {
  for (;;) {
    std::string head;
    try {
      head = co_await reader->readuntil("\r\n\r\n");
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
        (void)co_await reader->readexactly(static_cast<std::ptrdiff_t>(parsed.request.content_length));
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
  writer.close();
}

asyncio::Coro<void> serve(std::string host, std::uint16_t port, bool until_stdin_closes) {
  auto server = co_await asyncio::start_server(serve_client, host, port, http_hello::kMaxHeadSize);
  std::printf("serving on %s\n", server->sockets().front().getsockname().to_string().c_str());
  std::fflush(stdout);
  if (!until_stdin_closes) {
    co_await server->serve_forever();
    co_return;
  }
  asyncio::EventLoop& loop = asyncio::get_running_loop();
  auto closed = loop.create_future<void>();
  loop.add_reader(0, [&] {
    char buf[256];
    if (::read(0, buf, sizeof buf) <= 0 && !closed.done()) closed.set_result();
  });
  co_await closed;
  loop.remove_reader(0);
  server->close();
  server->close_clients();
  co_await server->wait_closed();
}

}  // namespace

int main(int argc, char** argv) {
  bool until_stdin_closes = false;
  std::string host = "127.0.0.1";
  int port = 0;
  int positional = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--until-stdin-closes") {
      until_stdin_closes = true;
    } else if (positional++ == 0) {
      host = arg;
    } else {
      port = std::atoi(argv[i]);
    }
  }
  try {
    asyncio::run(serve(host, static_cast<std::uint16_t>(port), until_stdin_closes));
  } catch (const asyncio::BaseException& e) {  // KeyboardInterrupt after SIGINT
    std::printf("stopped: %s\n", e.name());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "http_hello: %s\n", e.what());
    return 1;
  }
  return 0;
}
