// echo_protocol_server: the fastest echo the library offers, for bench/net/run-net: a Protocol whose
// data_received writes the bytes straight back (no streams, no task or coroutine per connection).
// Compare examples/echo/echo_server, the same echo on streams.
//
//   echo_protocol_server [host] [port] [--until-stdin-closes] [--tls CERT KEY]
//                        (defaults: 127.0.0.1 and 0)
//
// --tls: the same Protocol behind TLS (create_server with an SSLContext made by
// create_default_context(Purpose::client_auth) and load_cert_chain(CERT, KEY)); the protocol is
// unchanged, the library's TLS transport decrypts before data_received and encrypts write().
//
// Prints "serving on HOST:PORT" once it listens; stops on SIGINT, or when stdin closes if started
// with --until-stdin-closes (how run-net stops it): the example servers' shared helper does both.

#include <asyncio/asyncio.hpp>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "example_server.hpp"

namespace {

/// Echoes every chunk as it arrives. The transport stays valid until connection_lost has returned,
/// so a plain pointer to it is enough.
class EchoProtocol final : public asyncio::Protocol {
 public:
  void connection_made(asyncio::BaseTransport& transport) override {
    // A stream server's transports are Transports (a virtual base: dynamic_cast, once per connection).
    transport_ = dynamic_cast<asyncio::Transport*>(&transport);
  }
  void data_received(std::string_view data) override { transport_->write(data); }

 private:
  asyncio::Transport* transport_ = nullptr;
};

struct TlsFiles {
  std::string cert;
  std::string key;
};

asyncio::Coro<void> serve(examples::ServerArgs args, std::optional<TlsFiles> tls) {
  auto factory = [] { return std::make_shared<EchoProtocol>(); };
  std::shared_ptr<asyncio::Server> server;
  if (tls) {
    auto context = asyncio::create_default_context(asyncio::Purpose::client_auth);
    context.load_cert_chain(tls->cert, tls->key);
    asyncio::TLSOptions options(context);  // a variable, not a temporary inside the co_await
    server = co_await asyncio::create_server(factory, args.host, args.port, options);
  } else {
    server = co_await asyncio::create_server(factory, args.host, args.port);
  }
  co_await examples::serve_until_stopped(server, args.until_stdin_closes);
}

}  // namespace

int main(int argc, char** argv) {
  // --tls CERT KEY is taken out before the shared parser sees the rest (it would read them as the
  // host and the port).
  std::optional<TlsFiles> tls;
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--tls") {
      if (i + 2 >= argc) {
        std::fprintf(stderr, "echo_protocol_server: --tls needs CERT and KEY\n");
        return 2;
      }
      tls = TlsFiles{argv[i + 1], argv[i + 2]};
      i += 2;
    } else {
      rest.push_back(argv[i]);
    }
  }
  return examples::run_example(
      "echo_protocol_server",
      serve(examples::parse_server_args(static_cast<int>(rest.size()), rest.data()), std::move(tls)));
}
