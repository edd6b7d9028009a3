// echo_swarm: the client side of tests/net/many_connections_test.cpp, in a process of its own so
// that each process holds one end of every connection (10,000 connections need 20,000
// descriptors with both ends in one process, the hard RLIMIT_NOFILE of many machines).
//
//   echo_swarm PORT COUNT
// Opens COUNT connections to 127.0.0.1:PORT and keeps them all open; prints "connected COUNT";
// waits for a line on stdin; writes a line ("1234567\n") on every connection and reads its echo;
// prints "echoed N" (N: connections whose echo matched); closes every connection and exits 0 if
// all matched. Plain blocking sockets: the test checks the server, not this program.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "echo_swarm: %s: %s\n", what, std::strerror(errno));
  std::exit(2);
}

bool read_exactly(int fd, char* buffer, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::recv(fd, buffer + got, n - got, 0);
    if (r > 0) {
      got += static_cast<std::size_t>(r);
    } else if (r == 0 || errno != EINTR) {
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: echo_swarm PORT COUNT\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const std::size_t count = std::strtoul(argv[2], nullptr, 10);

  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) fail("setrlimit(RLIMIT_NOFILE)");

  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  std::vector<int> fds;
  fds.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail("socket");
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) fail("connect");
    fds.push_back(fd);
  }
  std::printf("connected %zu\n", fds.size());
  std::fflush(stdout);

  char line[64];
  if (std::fgets(line, sizeof line, stdin) == nullptr) return 2;  // the test went away

  static constexpr char kMessage[] = "1234567\n";
  for (int fd : fds) {
    if (::send(fd, kMessage, 8, MSG_NOSIGNAL) != 8) fail("send");
  }
  std::size_t echoed = 0;
  for (int fd : fds) {
    char reply[8];
    if (read_exactly(fd, reply, sizeof reply) && std::memcmp(reply, kMessage, 8) == 0) ++echoed;
  }
  std::printf("echoed %zu\n", echoed);
  std::fflush(stdout);
  for (int fd : fds) ::close(fd);
  return echoed == count ? 0 : 1;
}
