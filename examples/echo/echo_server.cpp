// An echo server on asyncio streams: every line a client sends comes back to it.
//
//   echo_server [host] [port] [--idle-timeout SECONDS]
//               (defaults: 127.0.0.1, 0 (a port the kernel picks), 60 s between lines; 0: none)
//
// Prints "serving on HOST:PORT" once it listens, so that a script (or a test) can connect. Stops
// on SIGINT (asyncio::run turns it into cancellation of the main task) or when stdin closes if
// started with --until-stdin-closes (what the tests do, to stop it without signals).

#include <asyncio/asyncio.hpp>

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "example_server.hpp"

namespace {

// One client: Python's `async def handle(reader, writer)`. Returning closes the connection. Each
// line (and its echo) must come within `idle_timeout` seconds of the last: one Timeout for the
// connection, pushed on at every line (which moves no timer: see asyncio::Timeout::reschedule).
asyncio::Coro<void> handle(std::shared_ptr<asyncio::StreamReader> reader, asyncio::StreamWriter writer,
                           double idle_timeout) {
  asyncio::EventLoop& loop = asyncio::get_running_loop();
  const bool timed = idle_timeout > 0;
  auto deadline = asyncio::timeout(timed ? std::optional<double>(idle_timeout) : std::nullopt);
  auto echo_lines = [&]() -> asyncio::Coro<void> {
    for (;;) {
      std::string_view line = co_await reader->readline_view();  // a view: no copy per line
      if (line.empty()) break;                                   // EOF
      writer.write(line);
      co_await writer.drain();
      if (timed) deadline.reschedule(loop.time() + idle_timeout);
    }
  };
  try {
    if (timed) {
      co_await deadline.run(echo_lines);
    } else {
      co_await echo_lines();
    }
  } catch (const asyncio::TimeoutError&) {
    // Idle (or trickling a line byte by byte) for too long: close it, as a real server does.
  } catch (const asyncio::ConnectionError&) {
    // The client reset the connection: no error of the server's, nobody left to answer.
  } catch (const asyncio::ValueError&) {
    // A line longer than the reader's limit (64 KiB): readline() dropped it. Say so to the client
    // and to the log, once, and end the connection; the server goes on.
    writer.write(std::string_view("error: line longer than 65536 bytes\n"));
    std::fprintf(stderr, "echo_server: closed a connection that sent a line longer than 65536 bytes\n");
  }
}

asyncio::Coro<void> serve(examples::ServerArgs args) {
  auto server = co_await asyncio::start_server(
      [timeout = args.idle_timeout](std::shared_ptr<asyncio::StreamReader> reader, asyncio::StreamWriter writer) {
        return handle(std::move(reader), std::move(writer), timeout);
      },
      args.host, args.port);
  co_await examples::serve_until_stopped(server, args.until_stdin_closes);
}

}  // namespace

int main(int argc, char** argv) {
  return examples::run_example("echo_server", serve(examples::parse_server_args(argc, argv)));
}
