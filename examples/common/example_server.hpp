#pragma once
/// What the example servers share: their command line, the "serving on HOST:PORT" line that
/// scripts and tests read, and the two ways they stop (SIGINT, or stdin closing when run with
/// --until-stdin-closes, which is how the tests stop them without signals).

#include <unistd.h>
#include <asyncio/asyncio.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace examples {

/// `server [host] [port] [--until-stdin-closes]`; defaults 127.0.0.1 and 0 (the kernel picks).
struct ServerArgs {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  bool until_stdin_closes = false;
};

inline ServerArgs parse_server_args(int argc, char** argv) {
  ServerArgs args;
  int positional = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--until-stdin-closes") {
      args.until_stdin_closes = true;
    } else if (positional++ == 0) {
      args.host = arg;
    } else {
      args.port = static_cast<std::uint16_t>(std::atoi(argv[i]));
    }
  }
  return args;
}

/// Prints "serving on HOST:PORT", then serves until stopped: serve_forever(), or until stdin
/// reaches EOF, after which the server closes, its clients are closed, and it waits for them.
inline asyncio::Coro<void> serve_until_stopped(std::shared_ptr<asyncio::Server> server, bool until_stdin_closes) {
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

/// Runs `main_coro` with asyncio::run; SIGINT ends it ("stopped: KeyboardInterrupt"), an error is
/// printed with the program's name. Returns the exit status.
inline int run_example(const char* name, asyncio::Coro<void> main_coro) {
  try {
    asyncio::run(std::move(main_coro));
  } catch (const asyncio::BaseException& e) {  // KeyboardInterrupt after SIGINT
    std::printf("stopped: %s\n", e.name());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", name, e.what());
    return 1;
  }
  return 0;
}

}  // namespace examples
