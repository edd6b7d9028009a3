// http_hello: an HTTP/1.1 keep-alive "hello" server on asyncio streams, with its own small parser
// (http_request.hpp) and the limits and timeouts of a real server (http_server.hpp).
//
//   http_hello [host] [port] [--until-stdin-closes] [--max-body BYTES] [--header-timeout SECONDS]
//              [--idle-timeout SECONDS] [--tls CERT KEY]   (defaults: 127.0.0.1, 0, 1 MiB, 10, 60)
//
// --tls serves HTTPS: CERT is the server's certificate (PEM, with its chain), KEY its private key.
// A client's TLS handshake must then be done within the header timeout too.
//
// Prints "serving on HOST:PORT" once it listens. Try: curl -v http://127.0.0.1:PORT/
// (with --tls: curl -v --cacert CA.pem https://localhost:PORT/)

#include <asyncio/asyncio.hpp>

#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http_request.hpp"
#include "http_server.hpp"

#include "example_server.hpp"

namespace {

// One connection. A client that resets is no error of the server's (it logs nothing).
asyncio::Coro<void> serve_client(std::shared_ptr<asyncio::StreamReader> reader, asyncio::StreamWriter writer,
                                 const http_hello::ServerOptions& options) {
  try {
    co_await http_hello::serve_requests(*reader, writer, options);
  } catch (const asyncio::ConnectionError&) {
    // The client reset or went away mid-request: nobody is left to answer.
  }
  writer.close();
}

// The certificate and key files of --tls CERT KEY; empty: plain HTTP.
struct TlsFiles {
  std::string cert;
  std::string key;
};

// Serves plain HTTP, or HTTPS when `tls` names a certificate: the same server, over TLS streams.
asyncio::Coro<void> serve(examples::ServerArgs args, http_hello::ServerOptions options, TlsFiles tls) {
  // A variable, not a temporary inside the co_await below: g++ 12 destroys a lambda written inside a
  // co_await expression twice.
  auto on_client = [options](std::shared_ptr<asyncio::StreamReader> reader, asyncio::StreamWriter writer) {
    return serve_client(std::move(reader), std::move(writer), options);
  };
  std::shared_ptr<asyncio::Server> server;
  if (tls.cert.empty()) {
    server = co_await asyncio::start_server(on_client, args.host, args.port, http_hello::kMaxHeadSize);
  } else {
    // A server's context (Python's create_default_context(Purpose.CLIENT_AUTH)): TLS 1.2 at least,
    // no client certificate asked for, this server's own certificate loaded.
    asyncio::SSLContext context = asyncio::create_default_context(asyncio::Purpose::client_auth);
    context.load_cert_chain(tls.cert, tls.key);
    // A client stalling in the handshake is held to the same deadline as one stalling in its head.
    const asyncio::TLSOptions tls_options = asyncio::TLSOptions(context).handshake_timeout(options.header_timeout);
    server = co_await asyncio::start_server(on_client, args.host, args.port, tls_options, http_hello::kMaxHeadSize);
  }
  co_await examples::serve_until_stopped(server, args.until_stdin_closes);
}

// Takes this server's own flags out of argv; the rest goes to parse_server_args.
http_hello::ServerOptions take_options(int& argc, char** argv, TlsFiles& tls) {
  http_hello::ServerOptions options;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--max-body" && has_value) {
      options.max_body_size = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--header-timeout" && has_value) {
      options.header_timeout = std::strtod(argv[++i], nullptr);
    } else if (arg == "--tls" && i + 2 < argc) {
      tls.cert = argv[++i];
      tls.key = argv[++i];
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  TlsFiles tls;
  http_hello::ServerOptions options = take_options(argc, argv, tls);
  const examples::ServerArgs args = examples::parse_server_args(argc, argv);
  options.idle_timeout = args.idle_timeout;
  return examples::run_example("http_hello", serve(args, options, tls));
}
