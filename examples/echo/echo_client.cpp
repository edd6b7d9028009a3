// An echo client on asyncio streams: sends COUNT lines to an echo server, checks that each comes
// back unchanged, half-closes, and waits for the server to close.
//
//   echo_client host port [count]     (count defaults to 10)
//
// Prints "ok COUNT" on success; exits with 1 and a message on any mismatch or error.

#include <asyncio/asyncio.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

asyncio::Coro<int> talk(std::string host, std::uint16_t port, int count) {
  auto [reader, writer] = co_await asyncio::open_connection(host, port);
  for (int i = 0; i < count; ++i) {
    const std::string line =
        "line " + std::to_string(i) + " " + std::string(static_cast<std::size_t>(i % 50), 'x') + "\n";
    writer.write(line);
    co_await writer.drain();
    const std::string echoed = co_await reader->readline();
    if (echoed != line) {
      std::fprintf(stderr, "line %d: sent %s, got %s\n", i, line.c_str(), echoed.c_str());
      co_return 1;
    }
  }
  writer.write_eof();
  const std::string rest = co_await reader->read();  // until the server closes
  if (!rest.empty()) {
    std::fprintf(stderr, "unexpected bytes after EOF: %s\n", rest.c_str());
    co_return 1;
  }
  writer.close();
  co_await writer.wait_closed();
  std::printf("ok %d\n", count);
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: echo_client host port [count]\n");
    return 2;
  }
  const int count = argc > 3 ? std::atoi(argv[3]) : 10;
  try {
    return asyncio::run(talk(argv[1], static_cast<std::uint16_t>(std::atoi(argv[2])), count));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "echo_client: %s\n", e.what());
    return 1;
  }
}
