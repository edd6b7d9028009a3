// echo_protocol_server: the fastest echo the library offers, for bench/net/run-net: a Protocol whose
// data_received writes the bytes straight back (no streams, no task or coroutine per connection).
// Compare examples/echo/echo_server, the same echo on streams.
//
//   echo_protocol_server [host] [port] [--until-stdin-closes]    (defaults: 127.0.0.1 and 0)
//
// Prints "serving on HOST:PORT" once it listens; stops on SIGINT, or when stdin closes if started
// with --until-stdin-closes (how run-net stops it): the example servers' shared helper does both.

#include <asyncio/asyncio.hpp>

#include <memory>
#include <string_view>

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

asyncio::Coro<void> serve(examples::ServerArgs args) {
  auto server = co_await asyncio::create_server([] { return std::make_shared<EchoProtocol>(); }, args.host, args.port);
  co_await examples::serve_until_stopped(server, args.until_stdin_closes);
}

}  // namespace

int main(int argc, char** argv) {
  return examples::run_example("echo_protocol_server", serve(examples::parse_server_args(argc, argv)));
}
