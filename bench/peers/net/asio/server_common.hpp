#pragma once
/// What the Asio network peers share (bench/peers/net/asio/echo_server.cpp, http_server.cpp): the
/// example servers' command line (`PROGRAM [HOST] [PORT] [--until-stdin-closes]`, defaults
/// 127.0.0.1 and 0), the "serving on HOST:PORT" line that bench/net/run-net reads, and stopping:
/// when stdin reaches EOF with --until-stdin-closes (a posix::stream_descriptor on a duplicate of
/// fd 0 whose read completes at EOF), else on SIGINT/SIGTERM (a signal_set). Either stops the one
/// io_context; its destructor then destroys the coroutines still waiting, closing their sockets.

#include <unistd.h>
#include <asio.hpp>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace peer {

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

/// An acceptor listening on args.host:args.port (SO_REUSEADDR, backlog 128 as the C server).
inline asio::ip::tcp::acceptor listen(asio::io_context& ctx, const ServerArgs& args) {
  const asio::ip::tcp::endpoint ep(asio::ip::make_address(args.host), args.port);
  asio::ip::tcp::acceptor acceptor(ctx, ep.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(ep);
  acceptor.listen(128);
  const auto local = acceptor.local_endpoint();
  std::printf("serving on %s:%u\n", local.address().to_string().c_str(), static_cast<unsigned>(local.port()));
  std::fflush(stdout);
  return acceptor;
}

/// Reads stdin until EOF (or an error), then stops the io_context.
inline asio::awaitable<void> stop_when_stdin_closes(asio::io_context& ctx) {
  asio::posix::stream_descriptor in(ctx, ::dup(0));
  std::array<char, 256> buf{};
  asio::error_code ec;
  while (!ec) (void)co_await in.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
  ctx.stop();
}

/// Arranges for `ctx` to stop as the command line says: stdin EOF, or SIGINT/SIGTERM.
/// The signal_set must outlive ctx.run(): the caller keeps it.
inline void stop_on(asio::io_context& ctx, const ServerArgs& args, asio::signal_set& signals) {
  if (args.until_stdin_closes) {
    asio::co_spawn(ctx, stop_when_stdin_closes(ctx), asio::detached);
  } else {
    signals.add(SIGINT);
    signals.add(SIGTERM);
    signals.async_wait([&ctx](const asio::error_code&, int) { ctx.stop(); });
  }
}

/// Runs `program` (which sets up ctx) and ctx on this thread; an error is printed with the
/// program's name. Returns the exit status.
template <typename F>
int run_server(const char* name, int argc, char** argv, F program) {
  try {
    const ServerArgs args = parse_server_args(argc, argv);
    asio::io_context ctx{1};  // one thread runs it: Asio may skip its locking
    asio::signal_set signals(ctx);
    stop_on(ctx, args, signals);
    program(ctx, args);
    ctx.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", name, e.what());
    return 1;
  }
  return 0;
}

}  // namespace peer
