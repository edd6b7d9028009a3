/* epoll_echo_server: a plain C echo server on epoll, the near-physical baseline of
 * bench/net/run-net (what an echo costs with nothing but the system calls it needs).
 *
 *   epoll_echo_server [host] [port] [--until-stdin-closes]    (defaults: 127.0.0.1 and 0)
 *
 * Prints "serving on HOST:PORT" once it listens; stops when stdin closes if started with
 * --until-stdin-closes (how run-net stops it), else on SIGINT/SIGTERM.
 *
 * It does what the library's socket transport does per readiness, and nothing more: level-triggered
 * epoll, one recv of up to 64 KiB per EPOLLIN, one send of what arrived (MSG_NOSIGNAL), TCP_NODELAY on
 * accepted sockets. Bytes the kernel does not take are kept and flushed on EPOLLOUT; while they wait
 * the connection reads nothing (back-pressure), as a transport paused by its protocol would. */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { READ_SIZE = 64 * 1024, MAX_EVENTS = 64 };

struct conn {
  int open;      /* an accepted connection lives on this descriptor */
  char* pending; /* bytes not yet sent, or NULL */
  size_t len;
  size_t off;
};

static struct conn* conns; /* indexed by descriptor */
static size_t nconns;
static int ep;

static void die(const char* what) {
  fprintf(stderr, "epoll_echo_server: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void watch(int fd, unsigned events, int op) {
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = events;
  ev.data.fd = fd;
  if (epoll_ctl(ep, op, fd, &ev) != 0) die("epoll_ctl");
}

static void drop(int fd) {
  epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
  close(fd);
  free(conns[fd].pending);
  memset(&conns[fd], 0, sizeof conns[fd]);
}

static void accept_all(int lfd) {
  for (;;) {
    const int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED || errno == EINTR) return;
      die("accept4");
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if ((size_t)fd >= nconns) {
      const size_t n = (size_t)fd * 2 + 16;
      conns = realloc(conns, n * sizeof *conns);
      if (conns == NULL) die("realloc");
      memset(conns + nconns, 0, (n - nconns) * sizeof *conns);
      nconns = n;
    }
    conns[fd].open = 1;
    watch(fd, EPOLLIN, EPOLL_CTL_ADD);
  }
}

/* Sends [data, data+len); keeps what the kernel refuses and waits for EPOLLOUT. 0, or -1 to drop. */
static int send_or_keep(int fd, const char* data, size_t len) {
  size_t off = 0;
  while (off < len) {
    const ssize_t n = send(fd, data + off, len - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += (size_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      struct conn* c = &conns[fd];
      char* keep = malloc(len - off);
      if (keep == NULL) die("malloc");
      memcpy(keep, data + off, len - off);
      c->pending = keep;
      c->len = len - off;
      c->off = 0;
      watch(fd, EPOLLOUT, EPOLL_CTL_MOD);
      return 0;
    } else {
      return -1;
    }
  }
  return 0;
}

static int flush_pending(int fd) {
  struct conn* c = &conns[fd];
  while (c->off < c->len) {
    const ssize_t n = send(fd, c->pending + c->off, c->len - c->off, MSG_NOSIGNAL);
    if (n > 0) {
      c->off += (size_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return 0;
    } else {
      return -1;
    }
  }
  free(c->pending);
  c->pending = NULL;
  c->len = c->off = 0;
  watch(fd, EPOLLIN, EPOLL_CTL_MOD);
  return 0;
}

int main(int argc, char** argv) {
  const char* host = "127.0.0.1";
  int port = 0;
  int positional = 0;
  int until_stdin_closes = 0;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--until-stdin-closes") == 0) {
      until_stdin_closes = 1;
    } else if (positional++ == 0) {
      host = argv[i];
    } else {
      port = atoi(argv[i]);
    }
  }

  const int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0) die("socket");
  const int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
    fprintf(stderr, "epoll_echo_server: host must be an IPv4 address\n");
    return 1;
  }
  if (bind(lfd, (struct sockaddr*)&addr, sizeof addr) != 0) die("bind");
  if (listen(lfd, 128) != 0) die("listen");
  socklen_t alen = sizeof addr;
  if (getsockname(lfd, (struct sockaddr*)&addr, &alen) != 0) die("getsockname");
  char name[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &addr.sin_addr, name, sizeof name);
  printf("serving on %s:%d\n", name, ntohs(addr.sin_port));
  fflush(stdout);

  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  watch(lfd, EPOLLIN, EPOLL_CTL_ADD);
  if (until_stdin_closes) watch(0, EPOLLIN, EPOLL_CTL_ADD);

  static char buffer[READ_SIZE];
  struct epoll_event events[MAX_EVENTS];
  for (;;) {
    const int n = epoll_wait(ep, events, MAX_EVENTS, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == lfd) {
        accept_all(lfd);
      } else if (fd == 0) {
        if (read(0, buffer, sizeof buffer) <= 0) goto done;
      } else if (conns[fd].pending != NULL) {
        if (flush_pending(fd) != 0) drop(fd);
      } else {
        const ssize_t got = recv(fd, buffer, sizeof buffer, 0);
        if (got > 0) {
          if (send_or_keep(fd, buffer, (size_t)got) != 0) drop(fd);
        } else if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
          drop(fd);
        }
      }
    }
  }
done:
  for (size_t fd = 0; fd < nconns; ++fd) {
    if (conns[fd].open) drop((int)fd);
  }
  free(conns);
  close(lfd);
  close(ep);
  return 0;
}
