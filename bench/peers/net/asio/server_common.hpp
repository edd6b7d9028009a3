#pragma once
/// What the Asio network peers share (bench/peers/net/asio/echo_server.cpp, http_server.cpp): the
/// example servers' command line (`PROGRAM [HOST] [PORT] [--until-stdin-closes] [--tls CERT KEY]`,
/// defaults 127.0.0.1 and 0), the TLS context of --tls, the "serving on HOST:PORT" line that
/// bench/net/run-net reads, and stopping:
/// when stdin reaches EOF with --until-stdin-closes (a posix::stream_descriptor on a duplicate of
/// fd 0 whose read completes at EOF), else on SIGINT/SIGTERM (a signal_set). Either stops the one
/// io_context; its destructor then destroys the coroutines still waiting, closing their sockets.

#include <openssl/ssl.h>
#include <unistd.h>
#include <asio.hpp>
#include <asio/ssl.hpp>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace peer {

struct ServerArgs {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  bool until_stdin_closes = false;
  std::string tls_cert;  // --tls CERT KEY: serve TLS (empty: plain TCP)
  std::string tls_key;
};

inline ServerArgs parse_server_args(int argc, char** argv) {
  ServerArgs args;
  int positional = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--until-stdin-closes") {
      args.until_stdin_closes = true;
    } else if (arg == "--tls") {
      if (i + 2 >= argc) throw std::invalid_argument("--tls needs CERT and KEY");
      args.tls_cert = argv[++i];
      args.tls_key = argv[++i];
    } else if (positional++ == 0) {
      args.host = arg;
    } else {
      args.port = static_cast<std::uint16_t>(std::atoi(argv[i]));
    }
  }
  return args;
}

/// The server context of --tls, set up as the other servers' (Python's create_default_context(
/// Purpose.CLIENT_AUTH) and asyncio-cpp's): TLS 1.2 at least, no compression, no client
/// certificate asked for, OpenSSL's default TLS 1.3 suites and session tickets.
inline std::shared_ptr<asio::ssl::context> tls_context(const ServerArgs& args) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_compression);
  if (SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION) != 1)
    throw std::runtime_error("SSL_CTX_set_min_proto_version failed");
  ctx->use_certificate_chain_file(args.tls_cert);
  ctx->use_private_key_file(args.tls_key, asio::ssl::context::pem);
  return ctx;
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
