// http_hello: an HTTP/1.1 keep-alive "hello" server on asyncio streams, with its own small parser
// (http_request.hpp) and the limits and timeouts of a real server (http_server.hpp).
//
//   http_hello [host] [port] [--until-stdin-closes] [--max-body BYTES] [--header-timeout SECONDS]
//              [--idle-timeout SECONDS]                    (defaults: 127.0.0.1, 0, 1 MiB, 10, 60)
//
// Prints "serving on HOST:PORT" once it listens. Try: curl -v http://127.0.0.1:PORT/

#include <asyncio/asyncio.hpp>

#include <cstdlib>
#include <memory>
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

asyncio::Coro<void> serve(examples::ServerArgs args, http_hello::ServerOptions options) {
  auto server = co_await asyncio::start_server(
      [options](std::shared_ptr<asyncio::StreamReader> reader, asyncio::StreamWriter writer) {
        return serve_client(std::move(reader), std::move(writer), options);
      },
      args.host, args.port, http_hello::kMaxHeadSize);
  co_await examples::serve_until_stopped(server, args.until_stdin_closes);
}

// Takes this server's own flags out of argv; the rest goes to parse_server_args.
http_hello::ServerOptions take_options(int& argc, char** argv) {
  http_hello::ServerOptions options;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--max-body" && has_value) {
      options.max_body_size = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--header-timeout" && has_value) {
      options.header_timeout = std::strtod(argv[++i], nullptr);
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  http_hello::ServerOptions options = take_options(argc, argv);
  const examples::ServerArgs args = examples::parse_server_args(argc, argv);
  options.idle_timeout = args.idle_timeout;
  return examples::run_example("http_hello", serve(args, options));
}
