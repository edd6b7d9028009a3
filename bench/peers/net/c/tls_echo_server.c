/* tls_echo_server: the baseline of the TLS echo workloads of bench/net/run-net (`tls-c-baseline`):
 * what a plain C program driving OpenSSL over a blocking socket costs, with nothing of an event
 * loop. One connection at a time: accept, SSL_accept, then SSL_read / SSL_write of what arrived
 * until the client's close_notify (answered with SSL_shutdown) or an error, then the next client.
 * So it is measured at 1 connection only (a second client would wait in the backlog).
 *
 *   peer_c_tls_echo_server --tls CERT KEY [host] [port] [--until-stdin-closes]
 *                          (defaults: 127.0.0.1 and 0)
 *
 * The context is set up as the other TLS servers' (asyncio-cpp's create_default_context(
 * Purpose::client_auth), Python's, Asio's): TLS 1.2 at least, OpenSSL's default TLS 1.3 suites,
 * groups and session tickets. One tuning that any such program would make: read-ahead, so that
 * OpenSSL reads a whole record (and whatever follows) in one read(); without it, a blocking
 * socket costs two reads per record (the 5-byte header, then the body), a system call more per
 * request than the servers it is the baseline of.
 *
 * Prints "serving on HOST:PORT" once it listens. With --until-stdin-closes it stops when stdin
 * reaches EOF, checked between connections (poll on the listening socket and stdin; run-net
 * closes stdin once its client has gone); else SIGINT ends it. */

#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static void die(const char* what) {
  fprintf(stderr, "peer_c_tls_echo_server: %s\n", what);
  ERR_print_errors_fp(stderr);
  exit(1);
}

/* One client, start to end. */
static void serve(SSL_CTX* ctx, int fd) {
  static char buf[64 * 1024];
  SSL* ssl = SSL_new(ctx);
  if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) die("SSL_new");
  if (SSL_accept(ssl) == 1) {
    for (;;) {
      const int n = SSL_read(ssl, buf, (int)sizeof buf);
      if (n <= 0) {
        /* close_notify: answer it; anything else (a reset, EOF without close_notify) ends it. */
        if (SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN) (void)SSL_shutdown(ssl);
        break;
      }
      /* Blocking, without partial writes: returns once every byte is in a record and sent. */
      if (SSL_write(ssl, buf, n) <= 0) break;
    }
  }
  SSL_free(ssl);
  close(fd);
  ERR_clear_error(); /* a client's failure must not be reported with the next one */
}

int main(int argc, char** argv) {
  const char* host = "127.0.0.1";
  int port = 0;
  int positional = 0;
  int until_stdin_closes = 0;
  const char* cert = NULL;
  const char* key = NULL;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--until-stdin-closes") == 0) {
      until_stdin_closes = 1;
    } else if (strcmp(argv[i], "--tls") == 0 && i + 2 < argc) {
      cert = argv[++i];
      key = argv[++i];
    } else if (positional++ == 0) {
      host = argv[i];
    } else {
      port = atoi(argv[i]);
    }
  }
  if (cert == NULL) die("usage: peer_c_tls_echo_server --tls CERT KEY [host] [port] [--until-stdin-closes]");
  signal(SIGPIPE, SIG_IGN); /* a client gone mid-write is an error return, not the end */

  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == NULL) die("SSL_CTX_new");
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) die("SSL_CTX_set_min_proto_version");
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_read_ahead(ctx, 1);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) die("cannot load the certificate");
  if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) die("cannot load the key");
  if (SSL_CTX_check_private_key(ctx) != 1) die("the key does not match the certificate");

  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) die("the host must be an IPv4 address");
  const int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(lfd, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(lfd, 128) != 0)
    die("cannot listen");
  socklen_t len = sizeof addr;
  if (getsockname(lfd, (struct sockaddr*)&addr, &len) != 0) die("getsockname");
  char name[INET_ADDRSTRLEN];
  printf("serving on %s:%u\n", inet_ntop(AF_INET, &addr.sin_addr, name, sizeof name), ntohs(addr.sin_port));
  fflush(stdout);

  for (;;) {
    struct pollfd pfd[2] = {{.fd = lfd, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
    if (poll(pfd, until_stdin_closes ? 2 : 1, -1) < 0) continue; /* EINTR */
    if (until_stdin_closes && pfd[1].revents != 0) {
      char b[256];
      if (read(0, b, sizeof b) <= 0) break;
    }
    if (pfd[0].revents & POLLIN) {
      const int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
      if (fd < 0) continue;
      (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      serve(ctx, fd);
    }
  }
  close(lfd);
  SSL_CTX_free(ctx);
  return 0;
}
