/* The libuv peer of the echo workload (h) of bench/net/run-net (issue 5): an echo server in C on
 * libuv (Debian's libuv1), for scale: what a mature C event loop costs per request.
 *
 *   peer_libuv_echo_server [host] [port] [--until-stdin-closes]    (defaults: 127.0.0.1 and 0)
 *
 * Per chunk, like the C epoll server and the Protocol echo: uv_read_start with one 64 KiB buffer
 * per connection; every chunk read is written back at once with uv_try_write (no request, no
 * copy). What the kernel does not take is copied into a uv_write request and the connection stops
 * reading until it completes (back-pressure, as the epoll server does). TCP_NODELAY on accepted
 * sockets. Prints "serving on HOST:PORT" once it listens; stops when stdin closes if started with
 * --until-stdin-closes (a uv_pipe_t on fd 0 reading to EOF), else on SIGINT/SIGTERM. */

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

enum { READ_SIZE = 64 * 1024 };

struct conn {
  uv_tcp_t tcp; /* first: a uv_handle_t* to it is a struct conn* */
  char buf[READ_SIZE];
};

struct pending_write {
  uv_write_t req;
  size_t len;
  char data[]; /* the bytes the kernel did not take */
};

static uv_loop_t* loop;
static uv_tcp_t listener;
static uv_pipe_t stdin_pipe;
static uv_signal_t sigint_watch;
static uv_signal_t sigterm_watch;

static void check(int rc, const char* what) {
  if (rc < 0) {
    fprintf(stderr, "peer_libuv_echo_server: %s: %s\n", what, uv_strerror(rc));
    exit(1);
  }
}

static void on_close(uv_handle_t* handle) {
  if (handle->type == UV_TCP && handle != (uv_handle_t*)&listener) free(handle);
}

static void alloc_conn_buffer(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) {
  (void)suggested;
  struct conn* c = (struct conn*)handle;
  *buf = uv_buf_init(c->buf, READ_SIZE);
}

static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);

static void on_written(uv_write_t* req, int status) {
  uv_stream_t* stream = req->handle;
  free(req);
  if (status < 0) {
    if (!uv_is_closing((uv_handle_t*)stream)) uv_close((uv_handle_t*)stream, on_close);
    return;
  }
  if (!uv_is_closing((uv_handle_t*)stream)) check(uv_read_start(stream, alloc_conn_buffer, on_read), "uv_read_start");
}

static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  if (nread < 0) { /* UV_EOF or an error */
    uv_close((uv_handle_t*)stream, on_close);
    return;
  }
  if (nread == 0) return; /* EAGAIN */
  uv_buf_t out = uv_buf_init(buf->base, (unsigned)nread);
  int sent = uv_try_write(stream, &out, 1);
  if (sent == UV_EAGAIN) sent = 0;
  if (sent < 0) {
    uv_close((uv_handle_t*)stream, on_close);
    return;
  }
  if (sent == nread) return;
  /* The kernel took part of it: keep the rest, stop reading until it is written. */
  const size_t rest = (size_t)nread - (size_t)sent;
  struct pending_write* w = malloc(sizeof *w + rest);
  if (w == NULL) abort();
  w->len = rest;
  memcpy(w->data, buf->base + sent, rest);
  uv_read_stop(stream);
  uv_buf_t pending = uv_buf_init(w->data, (unsigned)rest);
  if (uv_write(&w->req, stream, &pending, 1, on_written) < 0) {
    free(w);
    uv_close((uv_handle_t*)stream, on_close);
  }
}

static void on_connection(uv_stream_t* server, int status) {
  if (status < 0) return;
  struct conn* c = malloc(sizeof *c);
  if (c == NULL) abort();
  check(uv_tcp_init(loop, &c->tcp), "uv_tcp_init");
  if (uv_accept(server, (uv_stream_t*)&c->tcp) != 0) {
    uv_close((uv_handle_t*)&c->tcp, on_close);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  check(uv_read_start((uv_stream_t*)&c->tcp, alloc_conn_buffer, on_read), "uv_read_start");
}

/* Stopping: close every handle (connections included); uv_run then returns once they are closed. */
static void close_all(uv_handle_t* handle, void* arg) {
  (void)arg;
  if (!uv_is_closing(handle)) uv_close(handle, on_close);
}

static void stop(void) { uv_walk(loop, close_all, NULL); }

static void alloc_stdin_buffer(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) {
  (void)handle;
  (void)suggested;
  static char scratch[256];
  *buf = uv_buf_init(scratch, sizeof scratch);
}

static void on_stdin(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  (void)stream;
  (void)buf;
  if (nread < 0) stop(); /* EOF (or an error) */
}

static void on_signal(uv_signal_t* handle, int signum) {
  (void)handle;
  (void)signum;
  stop();
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

  loop = uv_default_loop();
  struct sockaddr_in addr;
  check(uv_ip4_addr(host, port, &addr), "host must be an IPv4 address");
  check(uv_tcp_init(loop, &listener), "uv_tcp_init");
  check(uv_tcp_bind(&listener, (const struct sockaddr*)&addr, 0), "bind");
  check(uv_listen((uv_stream_t*)&listener, 128, on_connection), "listen");
  int alen = sizeof addr;
  check(uv_tcp_getsockname(&listener, (struct sockaddr*)&addr, &alen), "getsockname");
  char name[64];
  uv_ip4_name(&addr, name, sizeof name);
  printf("serving on %s:%d\n", name, ntohs(addr.sin_port));
  fflush(stdout);

  if (until_stdin_closes) {
    check(uv_pipe_init(loop, &stdin_pipe, 0), "uv_pipe_init");
    check(uv_pipe_open(&stdin_pipe, 0), "uv_pipe_open(stdin)");
    check(uv_read_start((uv_stream_t*)&stdin_pipe, alloc_stdin_buffer, on_stdin), "uv_read_start(stdin)");
  } else {
    check(uv_signal_init(loop, &sigint_watch), "uv_signal_init");
    check(uv_signal_start(&sigint_watch, on_signal, SIGINT), "uv_signal_start");
    check(uv_signal_init(loop, &sigterm_watch), "uv_signal_init");
    check(uv_signal_start(&sigterm_watch, on_signal, SIGTERM), "uv_signal_start");
  }
  uv_run(loop, UV_RUN_DEFAULT);
  const int rc = uv_loop_close(loop);
  if (rc != 0) fprintf(stderr, "peer_libuv_echo_server: uv_loop_close: %s\n", uv_strerror(rc));
  return rc == 0 ? 0 : 1;
}
