// loadgen: a closed-loop TCP load generator for the network benchmarks (bench/net/run-net).
//
//   loadgen --mode echo|http|handshake --host 127.0.0.1 --port P --connections N --duration S
//           [--message-size 100] [--warmup S] [--server-pid PID] [--tls] [--ca FILE]
//
// Written on plain epoll and the C library only, on purpose: the generator must not share the bugs
// (or the costs) of the library it measures; TLS is OpenSSL's, driven directly.
//
// Each connection has one request in flight: it sends a request, waits for the whole reply, records
// the latency (steady_clock, send to last byte), and sends the next one. After --warmup seconds
// (not measured) the measured window of --duration seconds starts; requests completing inside it
// are counted and their latencies kept. Requests in flight when the window ends are dropped.
//
//   echo: a request is --message-size bytes, 'x' repeated and a final '\n' (the streams echo server
//         is line based: keep messages under its 64 KiB line limit); the reply must be the same
//         bytes.
//   http: "GET / HTTP/1.1\r\nHost: x\r\n\r\n"; the reply must be "HTTP/1.1 200" with a
//         Content-Length body, kept alive. A reply with "Connection: close" is an error (the
//         connection is reopened).
//
// With --server-pid, the server's CPU time is read from /proc at the two ends of the window:
// utime/stime of /proc/PID/stat (clock ticks; the kernel keeps their sum exact and splits it
// between user and system by tick sampling) and the on-CPU nanoseconds and timeslices of
// /proc/PID/task/*/schedstat (exact). The generator's own CPU time comes from getrusage.
//
// --tls: every connection speaks TLS 1.3 (OpenSSL, the client's defaults otherwise: its first
// cipher suite, X25519, no session resumption), the server's certificate verified against --ca
// FILE if given (chain and the host's IP address), else not. Each connection's handshake is done
// (blocking) before it joins the event loop, so no handshake falls inside the measured window
// unless a failed connection is reopened; requests then go through SSL_write / SSL_read on the
// non-blocking socket (read-ahead on: one recv takes every record there). At the end each
// connection sends close_notify and waits (up to 1 s) for the server's before closing.
//
//   handshake (needs --tls): the rate of new connections. Each of --connections threads repeats,
//         on a blocking socket: connect, a full TLS 1.3 handshake, close_notify, read until the
//         server's close_notify (taking the session tickets it sends), close. A "request" is one
//         such connection; its latency is connect to handshake done. Warmup, window and server
//         CPU as for the other modes.
//
// A connection that fails (EOF, error, a reply that is not the expected one) counts one error and
// is reopened; after 100 errors the generator stops reopening (the figures are worthless anyway).
//
// Output: one JSON object on one line on stdout, for example
//   {"mode":"echo","connections":64,...,"requests":1663210,"rps":332642.0,"p50_us":189.60,
//    "p99_us":255.00,"p999_us":1355.40,...,"errors":0,"server_user_ns":...,"server_sys_ns":...}
// (latencies in microseconds, CPU times in nanoseconds over the window). Exit status 0, or 1 if
// the arguments are wrong or no connection could be opened.

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

enum class Mode { echo, http, handshake };

struct Options {
  Mode mode = Mode::echo;
  std::string host = "127.0.0.1";
  int port = 0;
  int connections = 1;
  double duration = 5.0;
  double warmup = 1.0;
  std::size_t message_size = 100;
  int server_pid = 0;
  bool tls = false;
  std::string ca;  // verify the server against these CAs (empty: no verification)
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "loadgen: %s\nusage: loadgen --mode echo|http|handshake --host H --port P --connections N "
               "--duration S [--message-size B] [--warmup S] [--server-pid PID] [--tls] [--ca FILE]\n",
               why);
  std::exit(1);
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--tls") {
      o.tls = true;
      continue;
    }
    if (i + 1 >= argc) usage("missing value");
    const char* v = argv[++i];
    if (a == "--mode") {
      const std::string_view m = v;
      if (m == "echo") {
        o.mode = Mode::echo;
      } else if (m == "http") {
        o.mode = Mode::http;
      } else if (m == "handshake") {
        o.mode = Mode::handshake;
      } else {
        usage("--mode is echo, http or handshake");
      }
    } else if (a == "--host") {
      o.host = v;
    } else if (a == "--port") {
      o.port = std::atoi(v);
    } else if (a == "--connections") {
      o.connections = std::atoi(v);
    } else if (a == "--duration") {
      o.duration = std::atof(v);
    } else if (a == "--warmup") {
      o.warmup = std::atof(v);
    } else if (a == "--message-size") {
      o.message_size = static_cast<std::size_t>(std::atoll(v));
    } else if (a == "--server-pid") {
      o.server_pid = std::atoi(v);
    } else if (a == "--ca") {
      o.ca = v;
    } else {
      usage("unknown option");
    }
  }
  if (o.port <= 0 || o.port > 65535) usage("--port is required (1-65535)");
  if (o.connections < 1) usage("--connections must be >= 1");
  if (o.duration <= 0 || o.warmup < 0) usage("--duration must be > 0 and --warmup >= 0");
  if (o.mode == Mode::echo && o.message_size < 1) usage("--message-size must be >= 1");
  if (o.mode == Mode::handshake && !o.tls) usage("--mode handshake needs --tls");
  if (!o.ca.empty() && !o.tls) usage("--ca needs --tls");
  return o;
}

// ---- TLS (client side) ----

[[noreturn]] void tls_fail(const char* what) {
  std::fprintf(stderr, "loadgen: %s\n", what);
  ERR_print_errors_fp(stderr);
  std::exit(1);
}

SSL_CTX* make_client_context(const Options& o) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) tls_fail("SSL_CTX_new");
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1)
    tls_fail("cannot limit the context to TLS 1.3");
  // Every handshake a full one: no session is kept to resume.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  // Partial writes: a non-blocking SSL_write returns what it put in records, as send() does.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Read-ahead: one recv() takes every record there, instead of a header and a body per record.
  SSL_CTX_set_read_ahead(ctx, 1);
  if (!o.ca.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, o.ca.c_str(), nullptr) != 1) tls_fail("cannot load --ca");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  return ctx;
}

// A TLS client on the connected blocking socket `fd`, its handshake done; nullptr if it failed.
SSL* tls_connect(SSL_CTX* ctx, int fd, const Options& o) {
  SSL* ssl = SSL_new(ctx);
  if (ssl == nullptr) tls_fail("SSL_new");
  // With --ca the certificate must name the address connected to (the test certificates name
  // 127.0.0.1); an IP address is sent in no SNI.
  if (!o.ca.empty() && SSL_set1_host(ssl, o.host.c_str()) != 1) tls_fail("SSL_set1_host");
  if (SSL_set_fd(ssl, fd) != 1 || SSL_connect(ssl) != 1) {
    ERR_clear_error();
    SSL_free(ssl);
    return nullptr;
  }
  return ssl;
}

// ---- CPU time of a process, from /proc ----

struct ProcCpu {
  std::int64_t user_ns = 0;  // /proc/PID/stat utime, all threads
  std::int64_t sys_ns = 0;   // stime
  std::int64_t run_ns = 0;   // sum over /proc/PID/task/*/schedstat: time on CPU
  std::int64_t slices = 0;   // and timeslices run (about one per wakeup)
  bool ok = false;
};

ProcCpu read_proc_cpu(int pid) {
  ProcCpu c;
  const std::string base = "/proc/" + std::to_string(pid);
  {
    std::ifstream f(base + "/stat");
    std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    // The command name (field 2) may hold spaces and parentheses: fields count from the last ')'.
    const auto rp = s.rfind(')');
    if (rp == std::string::npos) return c;
    std::istringstream in(s.substr(rp + 2));
    std::string field;
    unsigned long long utime = 0;
    unsigned long long stime = 0;
    for (int k = 3; k <= 15 && in >> field; ++k) {  // field 3 is the state
      if (k == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
      if (k == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
    }
    const double ns_per_tick = 1e9 / static_cast<double>(::sysconf(_SC_CLK_TCK));
    c.user_ns = static_cast<std::int64_t>(static_cast<double>(utime) * ns_per_tick);
    c.sys_ns = static_cast<std::int64_t>(static_cast<double>(stime) * ns_per_tick);
  }
  if (DIR* d = ::opendir((base + "/task").c_str())) {
    while (const dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream f(base + "/task/" + e->d_name + "/schedstat");
      long long run = 0;
      long long wait = 0;
      long long slices = 0;
      if (f >> run >> wait >> slices) {
        c.run_ns += run;
        c.slices += slices;
      }
    }
    ::closedir(d);
  }
  c.ok = true;
  return c;
}

std::int64_t tv_ns(const timeval& tv) { return static_cast<std::int64_t>(tv.tv_sec) * 1000000000 + tv.tv_usec * 1000; }

// ---- connections ----

struct Conn {
  int fd = -1;
  SSL* ssl = nullptr;       // --tls: the connection's TLS state
  std::size_t sent = 0;     // bytes of the current request sent
  std::size_t got = 0;      // echo: bytes of the reply received
  bool want_out = false;    // EPOLLOUT is on (a send was partial)
  bool idle = false;        // the window ended: no next request
  Clock::time_point start;  // when the current request was sent
  std::vector<char> rbuf;   // http: bytes received, not yet parsed
  std::size_t rlen = 0;     // bytes used in rbuf
};

struct Stats {
  std::vector<std::int64_t> latencies_ns;
  std::uint64_t errors = 0;
  std::uint64_t total_completed = 0;  // warmup and window
};

class LoadGen {
 public:
  explicit LoadGen(const Options& o) : o_(o) {
    if (o_.tls) tls_ = make_client_context(o_);
    if (o_.mode == Mode::echo) {
      request_.assign(o_.message_size, 'x');
      request_.back() = '\n';
    } else {
      request_ = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    }
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) fail("epoll_create1");
    std::memset(&addr_, 0, sizeof addr_);
    addr_.sin_family = AF_INET;
    addr_.sin_port = htons(static_cast<std::uint16_t>(o_.port));
    if (::inet_pton(AF_INET, o_.host.c_str(), &addr_.sin_addr) != 1) usage("--host must be an IPv4 address");
  }

  int run();
  int run_handshakes();
  void report(std::uint64_t requests, double window_s, const ProcCpu& server0, const ProcCpu& server1,
              const rusage& self0, const rusage& self1);

 private:
  [[noreturn]] static void fail(const char* what) {
    std::fprintf(stderr, "loadgen: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
  }

  bool open(Conn& c);
  void close_conn(Conn& c);
  void close_tls_gracefully();
  long read_some(Conn& c, char* buf, std::size_t len);
  void print_tls_fields() const;
  void reopen(Conn& c);
  void send_request(Conn& c, Clock::time_point now);
  void flush(Conn& c);
  void on_readable(Conn& c);
  void completed(Conn& c, Clock::time_point now);
  void set_events(Conn& c, bool out);

  Options o_;
  SSL_CTX* tls_ = nullptr;
  std::string tls_version_;  // what the first connection negotiated
  std::string tls_cipher_;
  std::string request_;
  int ep_ = -1;
  sockaddr_in addr_{};
  std::vector<Conn> conns_;
  Stats stats_;
  bool measuring_ = false;
  bool ended_ = false;
  std::vector<char> scratch_ = std::vector<char>(1 << 16);
};

bool LoadGen::open(Conn& c) {
  c = Conn{};
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  // A blocking connect keeps this simple; loopback connects are immediate.
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_) != 0) {
    ::close(fd);
    return false;
  }
  const int one = 1;
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (tls_ != nullptr) {
    // The handshake on the blocking socket, before the connection joins the loop.
    c.ssl = tls_connect(tls_, fd, o_);
    if (c.ssl == nullptr) {
      ::close(fd);
      errno = ECONNABORTED;
      return false;
    }
    if (tls_version_.empty()) {
      tls_version_ = SSL_get_version(c.ssl);
      tls_cipher_ = SSL_get_cipher_name(c.ssl);
    }
  }
  (void)::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  c.fd = fd;
  if (o_.mode == Mode::http) c.rbuf.resize(4096);
  return true;
}

void LoadGen::close_conn(Conn& c) {
  if (c.ssl != nullptr) {
    SSL_free(c.ssl);  // no close_notify: a failed connection, or one close_tls_gracefully ended
    c.ssl = nullptr;
    ERR_clear_error();
  }
  if (c.fd >= 0) {
    ::epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
  }
  c.fd = -1;
}

// The end of a TLS run, as a client ends a TLS connection: close_notify on every connection first
// (so that the servers answer them all at once), then each waits for the server's close_notify
// (or EOF), 1 s at most, before it is closed. Without it every server would see its connections
// end without close_notify, which some report.
void LoadGen::close_tls_gracefully() {
  for (Conn& c : conns_) {
    if (c.ssl != nullptr) (void)SSL_shutdown(c.ssl);
  }
  const timeval second{1, 0};
  for (Conn& c : conns_) {
    if (c.ssl == nullptr) continue;
    (void)::fcntl(c.fd, F_SETFL, ::fcntl(c.fd, F_GETFL) & ~O_NONBLOCK);
    (void)::setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &second, sizeof second);
    while (SSL_read(c.ssl, scratch_.data(), static_cast<int>(scratch_.size())) > 0) {
    }
  }
}

// Up to `len` bytes of the reply: > 0 bytes, 0 if none are there yet, -1 at EOF or an error.
long LoadGen::read_some(Conn& c, char* buf, std::size_t len) {
  if (c.ssl == nullptr) {
    const ssize_t n = ::recv(c.fd, buf, len, 0);
    if (n > 0) return n;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return 0;
    return -1;
  }
  const int n = SSL_read(c.ssl, buf, static_cast<int>(std::min<std::size_t>(len, 1 << 30)));
  if (n > 0) return n;
  switch (SSL_get_error(c.ssl, n)) {
    case SSL_ERROR_WANT_READ:   // no whole record yet (or only a session ticket)
    case SSL_ERROR_WANT_WRITE:  // a key update to answer: the next event retries
      return 0;
    case SSL_ERROR_SYSCALL:
      if (errno == EINTR) return 0;
      [[fallthrough]];
    default:
      ERR_clear_error();
      return -1;
  }
}

void LoadGen::reopen(Conn& c) {
  ++stats_.errors;
  close_conn(c);
  // A server that keeps dropping connections makes the run worthless: stop reopening after many.
  if (ended_ || stats_.errors > 100 || !open(c)) return;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &c;
  if (::epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev) != 0) fail("epoll_ctl");
  send_request(c, Clock::now());
}

void LoadGen::set_events(Conn& c, bool out) {
  if (c.want_out == out) return;
  c.want_out = out;
  epoll_event ev{};
  ev.events = EPOLLIN | (out ? EPOLLOUT : 0u);
  ev.data.ptr = &c;
  if (::epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev) != 0) fail("epoll_ctl");
}

void LoadGen::send_request(Conn& c, Clock::time_point now) {
  c.sent = 0;
  c.got = 0;
  c.start = now;
  flush(c);
}

void LoadGen::flush(Conn& c) {
  while (c.sent < request_.size()) {
    if (c.ssl != nullptr) {
      const int n = SSL_write(c.ssl, request_.data() + c.sent, static_cast<int>(request_.size() - c.sent));
      if (n > 0) {
        c.sent += static_cast<std::size_t>(n);
        continue;
      }
      const int err = SSL_get_error(c.ssl, n);
      if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
        set_events(c, true);  // retried with the same bytes on EPOLLOUT (or the next EPOLLIN)
        return;
      }
      ERR_clear_error();
      reopen(c);
      return;
    }
    const ssize_t n = ::send(c.fd, request_.data() + c.sent, request_.size() - c.sent, MSG_NOSIGNAL);
    if (n > 0) {
      c.sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      set_events(c, true);
      return;
    }
    if (n < 0 && errno == EINTR) continue;
    reopen(c);
    return;
  }
  set_events(c, false);
}

void LoadGen::completed(Conn& c, Clock::time_point now) {
  if (ended_) {  // draining after the window: not counted
    c.idle = true;
    return;
  }
  ++stats_.total_completed;
  if (measuring_)
    stats_.latencies_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(now - c.start).count());
  send_request(c, now);
}

// HTTP: the head's end, status and Content-Length of the reply at the start of `p[0, n)`.
// Returns the reply's full length, 0 if incomplete, or -1 if it is not a keep-alive 200.
long parse_http_reply(const char* p, std::size_t n) {
  const std::string_view s(p, n);
  const auto head_end = s.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return n > 65536 ? -1 : 0;
  const std::string_view head = s.substr(0, head_end + 2);
  if (!head.starts_with("HTTP/1.1 200")) return -1;
  long length = -1;
  std::size_t pos = head.find("\r\n") + 2;
  while (pos < head.size()) {
    const auto eol = head.find("\r\n", pos);
    const std::string_view line = head.substr(pos, eol - pos);
    pos = eol + 2;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return -1;
    std::string name(line.substr(0, colon));
    for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (name == "content-length") {
      length = std::strtol(std::string(value).c_str(), nullptr, 10);
    } else if (name == "connection" && (value == "close" || value == "Close")) {
      return -1;
    }
  }
  if (length < 0) return -1;
  const std::size_t total = head_end + 4 + static_cast<std::size_t>(length);
  return total <= n ? static_cast<long>(total) : 0;
}

void LoadGen::on_readable(Conn& c) {
  // A plain connection reads once per event (level-triggered: epoll reports what is left). Over
  // TLS, records read ahead stay in OpenSSL's buffer, which epoll cannot see: read on while it
  // holds any.
  do {
    if (o_.mode == Mode::echo) {
      const long n = read_some(c, scratch_.data(), scratch_.size());
      if (n == 0) return;
      if (n < 0) {
        reopen(c);  // EOF or error
        return;
      }
      const auto got = static_cast<std::size_t>(n);
      if (c.got + got > request_.size() || std::memcmp(scratch_.data(), request_.data() + c.got, got) != 0) {
        reopen(c);  // bytes nobody asked for, or not the ones sent
        return;
      }
      c.got += got;
      if (c.got == request_.size() && c.sent == request_.size()) completed(c, Clock::now());
    } else {
      if (c.rlen == c.rbuf.size()) c.rbuf.resize(c.rbuf.size() * 2);
      const long n = read_some(c, c.rbuf.data() + c.rlen, c.rbuf.size() - c.rlen);
      if (n == 0) return;
      if (n < 0) {
        reopen(c);
        return;
      }
      c.rlen += static_cast<std::size_t>(n);
      const long total = parse_http_reply(c.rbuf.data(), c.rlen);
      if (total < 0) {
        reopen(c);
        return;
      }
      if (total == 0) continue;
      if (static_cast<std::size_t>(total) != c.rlen) {  // one request in flight: nothing may follow
        reopen(c);
        return;
      }
      c.rlen = 0;
      completed(c, Clock::now());
    }
  } while (c.fd >= 0 && !c.idle && c.ssl != nullptr && SSL_has_pending(c.ssl) == 1);
}

std::int64_t percentile(const std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

int LoadGen::run() {
  conns_.resize(static_cast<std::size_t>(o_.connections));
  for (Conn& c : conns_) {
    if (!open(c)) {
      std::fprintf(stderr, "loadgen: connect(%s:%d): %s\n", o_.host.c_str(), o_.port, std::strerror(errno));
      return 1;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &c;
    if (::epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev) != 0) fail("epoll_ctl");
  }
  const auto t0 = Clock::now();
  const auto measure_at = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.warmup));
  const auto end_at =
      measure_at + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.duration));
  stats_.latencies_ns.reserve(1 << 20);

  ProcCpu server0;
  ProcCpu server1;
  rusage self0{};
  rusage self1{};
  Clock::time_point window_start;
  Clock::time_point window_end;
  std::uint64_t completed_at_start = 0;
  auto begin_window = [&](Clock::time_point now) {
    measuring_ = true;
    window_start = now;
    completed_at_start = stats_.total_completed;
    if (o_.server_pid > 0) server0 = read_proc_cpu(o_.server_pid);
    ::getrusage(RUSAGE_SELF, &self0);
  };
  if (o_.warmup <= 0) begin_window(Clock::now());

  for (Conn& c : conns_) send_request(c, Clock::now());

  std::vector<epoll_event> events(256);
  for (;;) {
    const auto now = Clock::now();
    if (!measuring_ && now >= measure_at) begin_window(now);
    if (now >= end_at) {
      ended_ = true;
      window_end = now;
      if (o_.server_pid > 0) server1 = read_proc_cpu(o_.server_pid);
      ::getrusage(RUSAGE_SELF, &self1);
      break;
    }
    const auto next = measuring_ ? end_at : measure_at;
    const auto wait_ms = std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
    const int n = ::epoll_wait(ep_, events.data(), static_cast<int>(events.size()),
                               static_cast<int>(std::min<long>(wait_ms, 100)));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      Conn& c = *static_cast<Conn*>(events[static_cast<std::size_t>(i)].data.ptr);
      if (c.fd < 0) continue;
      const std::uint32_t ev = events[static_cast<std::size_t>(i)].events;
      if ((ev & EPOLLOUT) != 0) flush(c);
      if (c.fd >= 0 && (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) on_readable(c);
    }
  }
  // Let the requests in flight finish (not counted) before closing: closing a socket with unread
  // bytes resets the connection, and the server would log an error for every connection.
  const auto drain_until = Clock::now() + std::chrono::seconds(2);
  for (;;) {
    const bool busy = std::any_of(conns_.begin(), conns_.end(), [](const Conn& c) { return c.fd >= 0 && !c.idle; });
    if (!busy || Clock::now() >= drain_until) break;
    const int n = ::epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 10);
    for (int i = 0; i < n; ++i) {
      Conn& c = *static_cast<Conn*>(events[static_cast<std::size_t>(i)].data.ptr);
      if (c.fd < 0 || c.idle) continue;
      const std::uint32_t ev = events[static_cast<std::size_t>(i)].events;
      if ((ev & EPOLLOUT) != 0) flush(c);
      if (c.fd >= 0 && (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) on_readable(c);
    }
  }
  if (tls_ != nullptr) close_tls_gracefully();
  for (Conn& c : conns_) close_conn(c);

  report(stats_.total_completed - completed_at_start, std::chrono::duration<double>(window_end - window_start).count(),
         server0, server1, self0, self1);
  return 0;
}

void LoadGen::report(std::uint64_t requests, double window_s, const ProcCpu& server0, const ProcCpu& server1,
                     const rusage& self0, const rusage& self1) {
  std::vector<std::int64_t>& lat = stats_.latencies_ns;
  std::sort(lat.begin(), lat.end());
  double mean = 0;
  for (const std::int64_t x : lat) mean += static_cast<double>(x);
  if (!lat.empty()) mean /= static_cast<double>(lat.size());
  const auto us = [](double ns) { return ns / 1000.0; };

  std::printf(
      "{\"mode\":\"%s\",\"connections\":%d,\"message_size\":%zu,\"warmup_s\":%.3f,\"window_s\":%.6f,"
      "\"requests\":%llu,\"total_requests\":%llu,\"rps\":%.1f,"
      "\"mean_us\":%.2f,\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f,\"p999_us\":%.2f,\"max_us\":%.2f,"
      "\"errors\":%llu",
      o_.mode == Mode::echo ? "echo" : (o_.mode == Mode::http ? "http" : "handshake"), o_.connections,
      o_.mode == Mode::handshake ? std::size_t{0} : request_.size(), o_.warmup, window_s,
      static_cast<unsigned long long>(requests), static_cast<unsigned long long>(stats_.total_completed),
      window_s > 0 ? static_cast<double>(requests) / window_s : 0.0, us(mean),
      us(static_cast<double>(percentile(lat, 0.50))), us(static_cast<double>(percentile(lat, 0.90))),
      us(static_cast<double>(percentile(lat, 0.99))), us(static_cast<double>(percentile(lat, 0.999))),
      us(lat.empty() ? 0.0 : static_cast<double>(lat.back())), static_cast<unsigned long long>(stats_.errors));
  if (o_.server_pid > 0 && server0.ok && server1.ok) {
    std::printf(
        ",\"server_pid\":%d,\"server_user_ns\":%lld,\"server_sys_ns\":%lld,\"server_run_ns\":%lld,"
        "\"server_slices\":%lld",
        o_.server_pid, static_cast<long long>(server1.user_ns - server0.user_ns),
        static_cast<long long>(server1.sys_ns - server0.sys_ns),
        static_cast<long long>(server1.run_ns - server0.run_ns),
        static_cast<long long>(server1.slices - server0.slices));
  }
  if (tls_ != nullptr) {
    std::printf(",\"tls\":true,\"tls_version\":\"%s\",\"tls_cipher\":\"%s\",\"tls_verify\":%s", tls_version_.c_str(),
                tls_cipher_.c_str(), o_.ca.empty() ? "false" : "true");
  }
  std::printf(",\"loadgen_user_ns\":%lld,\"loadgen_sys_ns\":%lld}\n",
              static_cast<long long>(tv_ns(self1.ru_utime) - tv_ns(self0.ru_utime)),
              static_cast<long long>(tv_ns(self1.ru_stime) - tv_ns(self0.ru_stime)));
}

// --mode handshake: --connections threads, each a loop of whole TLS connections on a blocking
// socket. The window's bounds and the server's CPU are taken by this thread, which only sleeps
// between them.
int LoadGen::run_handshakes() {
  struct Worker {
    std::vector<std::int64_t> latencies_ns;  // connect to handshake done, in the window
    std::uint64_t completed = 0;             // in the window
    std::uint64_t total = 0;                 // warmup and window
    std::uint64_t errors = 0;
    std::string version;
    std::string cipher;
  };
  std::vector<Worker> workers(static_cast<std::size_t>(o_.connections));
  std::atomic<bool> measuring{false};
  std::atomic<bool> stop{false};
  auto loop = [&](Worker& w) {
    std::vector<char> buf(16 * 1024);
    while (!stop.load(std::memory_order_relaxed)) {
      const auto start = Clock::now();
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) fail("socket");
      if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_) != 0) {
        ::close(fd);
        // A server that refuses connections makes the run worthless: stop after many.
        if (++w.errors > 100) return;
        continue;
      }
      const int one = 1;
      (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      SSL* ssl = tls_connect(tls_, fd, o_);
      const auto done = Clock::now();
      if (ssl == nullptr) {
        ::close(fd);
        if (++w.errors > 100) return;
        continue;
      }
      if (w.version.empty()) {
        w.version = SSL_get_version(ssl);
        w.cipher = SSL_get_cipher_name(ssl);
      }
      // The orderly end: close_notify, then the server's session tickets and close_notify (or
      // EOF), so that the server has finished with the connection before the next one starts.
      (void)SSL_shutdown(ssl);
      while (SSL_read(ssl, buf.data(), static_cast<int>(buf.size())) > 0) {
      }
      SSL_free(ssl);
      ERR_clear_error();
      ::close(fd);
      ++w.total;
      if (measuring.load(std::memory_order_relaxed)) {
        ++w.completed;
        w.latencies_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(done - start).count());
      }
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(workers.size());
  for (Worker& w : workers) threads.emplace_back(loop, std::ref(w));

  const auto t0 = Clock::now();
  std::this_thread::sleep_until(t0 +
                                std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.warmup)));
  ProcCpu server0;
  ProcCpu server1;
  rusage self0{};
  rusage self1{};
  const auto window_start = Clock::now();
  if (o_.server_pid > 0) server0 = read_proc_cpu(o_.server_pid);
  ::getrusage(RUSAGE_SELF, &self0);
  measuring.store(true);
  std::this_thread::sleep_until(
      window_start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.duration)));
  measuring.store(false);
  const auto window_end = Clock::now();
  if (o_.server_pid > 0) server1 = read_proc_cpu(o_.server_pid);
  ::getrusage(RUSAGE_SELF, &self1);
  stop.store(true);
  for (std::thread& t : threads) t.join();

  std::uint64_t requests = 0;
  for (Worker& w : workers) {
    requests += w.completed;
    stats_.total_completed += w.total;
    stats_.errors += w.errors;
    stats_.latencies_ns.insert(stats_.latencies_ns.end(), w.latencies_ns.begin(), w.latencies_ns.end());
    if (tls_version_.empty() && !w.version.empty()) {
      tls_version_ = w.version;
      tls_cipher_ = w.cipher;
    }
  }
  if (stats_.total_completed == 0) {
    std::fprintf(stderr, "loadgen: no TLS connection to %s:%d could be made\n", o_.host.c_str(), o_.port);
    return 1;
  }
  report(requests, std::chrono::duration<double>(window_end - window_start).count(), server0, server1, self0, self1);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  const Options o = parse_args(argc, argv);
  LoadGen gen(o);
  return o.mode == Mode::handshake ? gen.run_handshakes() : gen.run();
}
