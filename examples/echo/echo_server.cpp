// An echo server on asyncio streams: every line a client sends comes back to it.
//
//   echo_server [host] [port]      (defaults: 127.0.0.1 and 0, a port the kernel picks)
//
// Prints "serving on HOST:PORT" once it listens, so that a script (or a test) can connect. Stops
// on SIGINT (asyncio::run turns it into cancellation of the main task) or when stdin closes if
// started with --until-stdin-closes (what the tests do, to stop it without signals).

#include <unistd.h>
#include <asyncio/asyncio.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

// One client: Python's `async def handle(reader, writer)`. Returning closes the connection.
asyncio::Coro<void> handle(std::shared_ptr<asyncio::StreamReader> reader, asyncio::StreamWriter writer) {
  for (;;) {
    std::string_view line = co_await reader->readline_view();  // a view: no copy per line
    if (line.empty()) break;                                   // EOF
    writer.write(line);
    co_await writer.drain();
  }
}

asyncio::Coro<void> serve(std::string host, std::uint16_t port, bool until_stdin_closes) {
  auto server = co_await asyncio::start_server(handle, host, port);
  std::printf("serving on %s\n", server->sockets().front().getsockname().to_string().c_str());
  std::fflush(stdout);
  if (until_stdin_closes) {
    asyncio::EventLoop& loop = asyncio::get_running_loop();
    auto closed = loop.create_future<void>();
    loop.add_reader(0, [&] {
      char buf[256];
      if (::read(0, buf, sizeof buf) <= 0 && !closed.done()) closed.set_result();
    });
    co_await closed;
    loop.remove_reader(0);
    server->close();
    co_await server->wait_closed();
  } else {
    co_await server->serve_forever();
  }
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
    } else if (positional == 0) {
      host = arg;
      ++positional;
    } else {
      port = std::atoi(argv[i]);
      ++positional;
    }
  }
  try {
    asyncio::run(serve(host, static_cast<std::uint16_t>(port), until_stdin_closes));
  } catch (const asyncio::BaseException& e) {  // KeyboardInterrupt after SIGINT
    std::printf("stopped: %s\n", e.name());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "echo_server: %s\n", e.what());
    return 1;
  }
  return 0;
}
