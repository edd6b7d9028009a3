// An echo server on asyncio streams: every line a client sends comes back to it.
//
//   echo_server [host] [port]      (defaults: 127.0.0.1 and 0, a port the kernel picks)
//
// Prints "serving on HOST:PORT" once it listens, so that a script (or a test) can connect. Stops
// on SIGINT (asyncio::run turns it into cancellation of the main task) or when stdin closes if
// started with --until-stdin-closes (what the tests do, to stop it without signals).

#include <asyncio/asyncio.hpp>

#include <string>
#include <string_view>

#include "example_server.hpp"

namespace {

// One client: Python's `async def handle(reader, writer)`. Returning closes the connection.
asyncio::Coro<void> handle(std::shared_ptr<asyncio::StreamReader> reader, asyncio::StreamWriter writer) {
  try {
    for (;;) {
      std::string_view line = co_await reader->readline_view();  // a view: no copy per line
      if (line.empty()) break;                                   // EOF
      writer.write(line);
      co_await writer.drain();
    }
  } catch (const asyncio::ConnectionError&) {
    // The client reset the connection: no error of the server's, nobody left to answer.
  }
}

asyncio::Coro<void> serve(examples::ServerArgs args) {
  auto server = co_await asyncio::start_server(handle, args.host, args.port);
  co_await examples::serve_until_stopped(server, args.until_stdin_closes);
}

}  // namespace

int main(int argc, char** argv) {
  return examples::run_example("echo_server", serve(examples::parse_server_args(argc, argv)));
}
