#pragma once
/// What the example servers share: their command line, the "serving on HOST:PORT" line that
/// scripts and tests read, and how they stop (SIGINT, SIGTERM, or stdin closing when run with
/// --until-stdin-closes), gracefully, within a bounded time.

#include <signal.h>
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

/// `server [host] [port] [--until-stdin-closes] [--idle-timeout SECONDS]`; defaults 127.0.0.1 and 0
/// (the kernel picks a port).
struct ServerArgs {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  bool until_stdin_closes = false;
  /// A connection that sends nothing for this long is closed (a real server's keep-alive or read
  /// timeout: idle clients must not hold descriptors forever). 0: never (for benchmarks comparing
  /// with servers that have no timeout).
  double idle_timeout = 60;
};

inline ServerArgs parse_server_args(int argc, char** argv, double default_idle_timeout = 60) {
  ServerArgs args;
  args.idle_timeout = default_idle_timeout;
  int positional = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--until-stdin-closes") {
      args.until_stdin_closes = true;
    } else if (arg == "--idle-timeout" && i + 1 < argc) {
      args.idle_timeout = std::strtod(argv[++i], nullptr);
    } else if (positional++ == 0) {
      args.host = arg;
    } else {
      args.port = static_cast<std::uint16_t>(std::atoi(argv[i]));
    }
  }
  return args;
}

/// Prints "serving on HOST:PORT", then serves until stopped: by Ctrl-C (SIGINT, which asyncio::run
/// turns into cancellation of the main task), by SIGTERM, or, with --until-stdin-closes, when stdin
/// reaches EOF. Then it stops as a real server does: no new connections, every client closed (its
/// buffered responses flushed first), a bounded wait of `grace` seconds for them to go, the rest
/// aborted. Returns normally (the program exits 0); a second Ctrl-C during the wait kills it.
/// (Server::serve_forever() alone would wait for idle keep-alive clients indefinitely, as
/// CPython's does since 3.12.)
inline asyncio::Coro<void> serve_until_stopped(std::shared_ptr<asyncio::Server> server, bool until_stdin_closes,
                                               double grace = 5.0) {
  asyncio::EventLoop& loop = asyncio::get_running_loop();
  std::printf("serving on %s\n", server->sockets().front().getsockname().to_string().c_str());
  std::fflush(stdout);
  auto stop = loop.create_future<void>();
  const char* why = "interrupted";
  loop.add_signal_handler(SIGTERM, [stop, &why]() mutable {
    why = "SIGTERM";
    if (!stop.done()) stop.set_result();
  });
  if (until_stdin_closes) {
    loop.add_reader(0, [stop, &why]() mutable {
      char buf[256];
      if (::read(0, buf, sizeof buf) <= 0 && !stop.done()) {
        why = "stdin closed";
        stop.set_result();
      }
    });
  }
  co_await server->start_serving();
  try {
    co_await stop;
  } catch (const asyncio::CancelledError&) {
    why = "interrupted";  // Ctrl-C: the graceful stop below is what the user asked for
  }
  loop.remove_signal_handler(SIGTERM);
  if (until_stdin_closes) loop.remove_reader(0);

  std::printf("stopping (%s): closing %zu connection(s)\n", why, server->client_count());
  std::fflush(stdout);
  server->close();
  server->close_clients();
  bool in_time = true;
  try {
    co_await asyncio::wait_for(server->wait_closed(), grace);
  } catch (const asyncio::TimeoutError&) {
    in_time = false;
  }
  if (!in_time) {
    std::printf("stopping: %zu connection(s) still open after %g s: aborting them\n", server->client_count(), grace);
    server->abort_clients();
    co_await server->wait_closed();
  }
  std::printf("stopped\n");
  std::fflush(stdout);
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
