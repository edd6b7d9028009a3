// Fuzzes the TLS transport's state machine (src/tls/ssl_protocol.hpp: SSLProtocol, CPython's
// sslproto.py): a client SSLProtocol and a server SSLProtocol, each on a fake plain transport of
// this file, connected back to back through two in-memory pipes, on the virtual clock.
//
// The input's first bytes choose the setup: the client's context (trusting the server's
// certificate and checking the host name, or CERT_NONE; TLS 1.3 or at most 1.2; ALPN; a host name
// the certificate does not name), each side's app protocol (a Protocol, or a BufferedProtocol with
// a small or large buffer; one that pauses its own reading after some bytes; an echoing server),
// the handshake and shutdown timeouts, the plain transports' write-buffer limits, debug mode, and
// whether the network may be hostile. The rest is a program of operations: deliver the next N
// bytes of either pipe (one get_buffer/buffer_updated, as one recv), app writes and writelines of
// every size (a record's worth, and past the read and write high-water marks), app pause/resume of
// reading and write-buffer limits, close() and abort() of either app transport, one loop
// iteration, running the loop until idle, advancing the virtual clock; on a hostile network also
// flipping a byte in flight, injecting garbage or a crafted record, dropping bytes, a FIN the
// sender never sent, a reset of both directions, and a side that stops reading for good. Then
// everything is drained: app reading resumed, every pipe delivered until nothing moves; both app
// transports closed and drained again; the clock advanced past both timeouts, twice.
//
// The fake plain transports behave as asyncio's socket transports do, with a pipe for the kernel: a
// write goes in whole; pause_writing() once more than the high-water mark waits undelivered,
// resume_writing() from a later iteration once the peer read it down to the low one;
// pause_reading() stops deliveries, FIN and RST included; close() and abort() end reading, put a
// FIN after what was written and call the protocol's connection_lost from the loop (the kernel
// holds what was written, so close() waits for nothing); the peer's FIN calls eof_received(), and
// a false answer closes the transport; a reset, a write after one, or bytes sent to a socket that
// is gone (or left unread when it closed: its kernel answers with RST) end it with
// ConnectionResetError; an exception from the protocol is reported (unless an OSError, which is
// how connections end) and ends it, as a transport's _fatal_error does.
//
// Checked on every step:
//  - Each app protocol's calls: connection_made at most once, with the side's TLS transport,
//    before anything else; data, eof_received (at most once) only between it and connection_lost;
//    no data after eof_received, none while the app has paused reading; pause_writing and
//    resume_writing alternate, starting with pause, only between connection_made and
//    connection_lost; connection_lost at most once, and only after connection_made.
//  - Every byte an app receives is the next byte the other app wrote (the bytes written follow a
//    per-side pattern, so the stream is checked without being kept): even on a hostile network, as
//    TLS authenticates every record it decrypts.
//  - write() after the app's own close() or abort() is dropped without a word (as CPython's), never
//    sent; set_write_buffer_limits with low > high raises ValueError; is_reading() and is_closing()
//    agree with what the app did.
//  - The loop's exception handler hears nothing (in debug mode: only the TLS layer's own fatal
//    errors, which are OSErrors, as CPython logs them then).
// Checked at the end:
//  - Each app received exactly what the other wrote, unless the network was hostile, the receiver
//    closed or aborted its transport (or its plain transport was aborted: a fatal error, a
//    timeout, a reset), or the writer aborted, or its plain transport was aborted while the TLS
//    layer still held bytes the app wrote. (An abort after everything was sent loses nothing.)
//  - Unless the network was hostile or any plain transport was aborted: closing both app
//    transports ends both connections without the clock (close_notify both ways), and each app
//    got eof_received before a connection_lost without error.
//  - Always: after the clock passed both timeouts, every plain transport is closed and its
//    connection_lost ran, every app that got connection_made got exactly one connection_lost (for
//    a side that stopped reading for good, nothing it could see may tell it the end came: not
//    checked), and the client's handshake waiter is done (with a result exactly if its app got
//    connection_made).
//  - ASan/LSan: no memory error, nothing leaked.
// A close() while the peer's data is still on its way ends that side with SSLError
// APPLICATION_DATA_AFTER_CLOSE_NOTIFY (OpenSSL 3's SSL_shutdown refuses data after our
// close_notify) and an abort, as CPython's sslproto does: the model counts it as an abort.
//
// Where the library still breaks the contract, a kTolerate* switch below makes the model accept
// it (with the path that does it); each is true until the library is fixed, false checks it.
//
// Reproducibility: OpenSSL's random bytes come from a generator seeded again for each input (so
// key shares, nonces, signatures and record sizes are the same on every run), and the certificate
// (an ECDSA P-256 key, self-signed for CN=localhost) is made once per process from it with fixed
// dates. TLS_FUZZ_TRACE=1 prints each input's program as it ran.

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <any>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <asyncio/exceptions.hpp>
#include <asyncio/loop/event_loop.hpp>
#include <asyncio/loop/logger.hpp>
#include <asyncio/net/protocol.hpp>
#include <asyncio/net/transport.hpp>
#include <asyncio/os_error.hpp>
#include <asyncio/task/future.hpp>
#include <asyncio/tls/ssl_context.hpp>
#include <asyncio/tls/tls_options.hpp>

#include "support/check.hpp"
#include "support/fuzz_input.hpp"
#include "tls/ssl_protocol.hpp"

namespace {

using asyncio_fuzz::FuzzInput;

// A check of the model, in the harness (or, _OF, through a reference to it): on failure, the
// message (built only then) and the program so far.
#define TLS_CHECK_OF(harness, condition, message)                                \
  do {                                                                           \
    if (!(condition)) (harness).fail(__FILE__, __LINE__, #condition, (message)); \
  } while (false)
#define TLS_CHECK(condition, message) TLS_CHECK_OF(*this, condition, message)

constexpr std::size_t kMaxOps = 256;
// More iterations than any chain of callbacks needs (a BufferedProtocol with a 509-byte buffer
// takes one iteration per 509 bytes of a 300 KB write); beyond it the loop is spinning.
constexpr int kMaxIdleIterations = 200000;
constexpr int kMaxDrainRounds = 20000;
// What each app may write in all (echoes included): past the high-water marks several times over,
// yet drained in well under kMaxDrainRounds deliveries of the smallest chunk.
constexpr std::size_t kMaxWritten = 1024 * 1024;
constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();

// What an app may still write under kMaxWritten. Saturating: an echo may have taken the last of
// it between an operation's choice of a size and its run in the loop (the subtraction once
// wrapped around there, and a run wrote 17 MB).
std::size_t room_left(std::size_t written) { return written >= kMaxWritten ? 0 : kMaxWritten - written; }

// Contracts the library once broke, each found by this harness and fixed; all are checked
// (false). Setting one to true lets the fuzzer explore past a regression while it is being fixed.
// Each paragraph says how the library used to break it.
//
// Once: a BufferedProtocol app that received the peer's close_notify was asked for a buffer once
// more after its eof_received() (do_read_buffered -> call_eof_received -> start_shutdown -> do_flush
// -> do_read -> do_read_buffered -> get_buffer), as CPython's sslproto does too, although
// net/protocol.hpp (and Python's documentation of BufferedProtocol) promise no get_buffer() after
// eof_received(). While true, that call is accepted; buffer_updated() after it is still a failure.
constexpr bool kTolerateGetBufferAfterEof = false;
//
// Once: set_write_buffer_limits() on the TLS transport after the app's connection_lost() still ran the
// app-writing control (SSLProtocol::set_write_buffer_limits -> control_app_writing), so the app
// gets pause_writing() or resume_writing() after its connection_lost(); the plain transports
// drop their protocol at connection_lost and call neither. While true, such calls from inside a
// set_write_buffer_limits() made after connection_lost are accepted (still alternating).
constexpr bool kTolerateFlowControlAfterLost = false;
//
// Once: a FIN that reached a side while its TLS layer still held data for the app lost that data: in
// the wrapped state eof_received() goes to do_flush(), which reads once (one buffer for a
// BufferedProtocol, until the app pauses for a Protocol), then do_shutdown() sees the EOF,
// completes and closes; the rest of the incoming records is never read, and the app gets
// eof_received() and connection_lost(null) as after a complete stream. While true, a direction is
// not checked once a FIN reached the receiver before its app had everything the writer wrote.
constexpr bool kTolerateDataDroppedAtEof = false;
//
// Once: do_flush() went on to do_shutdown() after do_read() hit a fatal error (fatal_error() set the
// state to unwrapped and aborted the plain transport; do_flush() sets it to shutdown again), and
// do_shutdown() -> do_write() -> process_outgoing() writes the alert OpenSSL queued to the plain
// transport it aborted (a socket transport drops it; this model raises RuntimeError, which then
// escaped to the loop from resume_app_reading's callback and, on the same path, from
// eof_received() or the app's close()). While true, the fake plain transport drops a write after
// its own close()/abort() instead of raising.
constexpr bool kTolerateWriteAfterPlainClose = false;

// ------------------------------------------------------------------------------------------------
// OpenSSL's randomness, made repeatable: the same input makes the same bytes on every run.

std::uint64_t rng_state = 0;

std::uint64_t splitmix64() {
  std::uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

int rng_bytes(unsigned char* buf, int num) {
  for (int i = 0; i < num; i += 8) {
    const std::uint64_t v = splitmix64();
    std::memcpy(buf + i, &v, static_cast<std::size_t>(std::min(8, num - i)));
  }
  return 1;
}
int rng_seed(const void*, int) { return 1; }
int rng_add(const void*, int, double) { return 1; }
int rng_status() { return 1; }

void reseed_openssl(std::uint64_t seed) { rng_state = seed; }

// RAND_set_rand_method is deprecated in OpenSSL 3 but still honoured by RAND_bytes and
// RAND_priv_bytes, which every key share, nonce and signature goes through; a provider of our
// own would be far more code for the same effect.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
void install_repeatable_rng() {
  static const RAND_METHOD method = {rng_seed, rng_bytes, nullptr, rng_add, rng_bytes, rng_status};
  reseed_openssl(1);
  FUZZ_CHECK(RAND_set_rand_method(&method) == 1, "RAND_set_rand_method failed");
}
#pragma GCC diagnostic pop

// ------------------------------------------------------------------------------------------------
// The certificate and the contexts, made once per process.

struct Contexts {
  asyncio::SSLContext server{asyncio::SSLContext::Side::server};
  asyncio::SSLContext server_alpn{asyncio::SSLContext::Side::server};
  asyncio::SSLContext client_verify{asyncio::SSLContext::Side::client};        // trusts the certificate
  asyncio::SSLContext client_verify_12{asyncio::SSLContext::Side::client};     // and TLS 1.2 at most
  asyncio::SSLContext client_none{asyncio::SSLContext::Side::client};          // CERT_NONE
  asyncio::SSLContext client_none_12_alpn{asyncio::SSLContext::Side::client};  // CERT_NONE, TLS 1.2, ALPN
};

void use_certificate(const asyncio::SSLContext& ctx, X509* cert, EVP_PKEY* key) {
  SSL_CTX* native = ctx.native_handle();
  FUZZ_CHECK(SSL_CTX_use_certificate(native, cert) == 1 && SSL_CTX_use_PrivateKey(native, key) == 1,
             "loading the generated certificate failed");
  // Nothing resumes a TLS session here; a cache would only grow over millions of connections.
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
}

const Contexts& contexts() {
  static const Contexts* made = [] {
    install_repeatable_rng();
    EVP_PKEY* key = EVP_EC_gen("P-256");
    FUZZ_CHECK(key != nullptr, "EC key generation failed");
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    // Fixed dates: the certificate's bytes (and so the handshake's sizes) never depend on the day.
    ASN1_TIME_set_string(X509_getm_notBefore(cert), "200101000000Z");
    ASN1_TIME_set_string(X509_getm_notAfter(cert), "20991231235959Z");
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1,
                               0);
    X509_set_issuer_name(cert, name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, "DNS:localhost");
    FUZZ_CHECK(san != nullptr && X509_add_ext(cert, san, -1) == 1, "adding subjectAltName failed");
    X509_EXTENSION_free(san);
    FUZZ_CHECK(X509_sign(cert, key, EVP_sha256()) > 0, "signing the certificate failed");

    auto* c = new Contexts;
    use_certificate(c->server, cert, key);
    use_certificate(c->server_alpn, cert, key);
    c->server_alpn.set_alpn_protocols({"h2", "http/1.1"});
    for (asyncio::SSLContext* client : {&c->client_verify, &c->client_verify_12}) {
      FUZZ_CHECK(X509_STORE_add_cert(SSL_CTX_get_cert_store(client->native_handle()), cert) == 1,
                 "trusting the certificate failed");
    }
    c->client_verify_12.set_maximum_version(asyncio::TLSVersion::tlsv1_2);
    for (asyncio::SSLContext* client : {&c->client_none, &c->client_none_12_alpn}) {
      client->set_check_hostname(false);
      client->set_verify_mode(asyncio::VerifyMode::cert_none);
    }
    c->client_none_12_alpn.set_maximum_version(asyncio::TLSVersion::tlsv1_2);
    c->client_none_12_alpn.set_alpn_protocols({"http/1.1"});
    X509_free(cert);  // the contexts hold their own references
    EVP_PKEY_free(key);
    // The library's log (dropped writes after a close, from the fifth on) is not checked here.
    asyncio::set_log_handler([](asyncio::LogLevel, std::string_view) {});
    return c;
  }();
  return *made;
}

// ------------------------------------------------------------------------------------------------
// What each side's app writes: a pattern, so that the received stream is checked byte by byte
// without keeping what was sent. It repeats every kPatternPeriod bytes (a prime, so that no record
// or buffer size lines up with it), and the other side's starts elsewhere in it.

constexpr std::size_t kPatternPeriod = 65521;

const std::string& pattern_table() {
  static const std::string table = [] {
    std::string t(2 * kPatternPeriod, '\0');
    for (std::size_t i = 0; i < t.size(); ++i) {
      const std::uint32_t h = static_cast<std::uint32_t>(i % kPatternPeriod) * 2654435761u;
      t[i] = static_cast<char>((h >> 16) & 0xff);
    }
    return t;
  }();
  return table;
}

/// Up to kPatternPeriod bytes of side `side`'s stream from byte `from`.
std::string_view pattern_view(int side, std::size_t from, std::size_t n) {
  const std::size_t start = (from + static_cast<std::size_t>(side) * 30011) % kPatternPeriod;
  return std::string_view(pattern_table()).substr(start, std::min(n, kPatternPeriod));
}

std::string pattern_bytes(int side, std::size_t from, std::size_t n) {
  std::string out;
  out.reserve(n);
  while (out.size() < n) out.append(pattern_view(side, from + out.size(), n - out.size()));
  return out;
}

/// The offset in `data` of the first byte that differs from side `side`'s stream from `from`, or npos.
std::size_t pattern_mismatch(int side, std::size_t from, std::string_view data) {
  for (std::size_t done = 0; done < data.size();) {
    const std::string_view want = pattern_view(side, from + done, data.size() - done);
    if (data.substr(done, want.size()) != want) {
      for (std::size_t i = 0;; ++i) {
        if (data[done + i] != want[i]) return done + i;
      }
    }
    done += want.size();
  }
  return std::string_view::npos;
}

std::string describe_exception(const std::exception_ptr& e) {
  if (!e) return "none";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "a non-std exception";
  }
}

bool is_os_error(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const asyncio::OSError&) {
    return true;
  } catch (...) {
    return false;
  }
}

const char* side_name(int side) { return side == 0 ? "client" : "server"; }

// ------------------------------------------------------------------------------------------------
// The network: one pipe per direction, the bytes a side's plain transport wrote and the other has
// not yet read, then optionally its end (FIN, or RST).

struct Pipe {
  enum class End { open, fin, rst };
  std::string bytes;
  std::size_t head = 0;  // bytes before it were delivered
  End end = End::open;
  bool end_seen = false;  // the receiver got the FIN or RST

  [[nodiscard]] std::size_t pending() const noexcept { return bytes.size() - head; }
  void consume(std::size_t n) {
    head += n;
    if (head == bytes.size()) {
      bytes.clear();
      head = 0;
    } else if (head > 65536 && head * 2 > bytes.size()) {
      bytes.erase(0, head);
      head = 0;
    }
  }
};

class Harness;

// ------------------------------------------------------------------------------------------------
// The fake plain transport (see the top of the file).

class FakeTransport final : public asyncio::Transport, public std::enable_shared_from_this<FakeTransport> {
 public:
  FakeTransport(Harness& h, int side, Pipe& out, Pipe& in, std::size_t high, std::size_t low)
      : h_(h), side_(side), out_(out), in_(in), high_(high), low_(low) {}

  void start(std::shared_ptr<asyncio::BaseProtocol> protocol) { set_protocol(std::move(protocol)); }

  // --- asyncio::Transport ---
  [[nodiscard]] std::any get_extra_info(std::string_view) const override { return {}; }
  [[nodiscard]] bool is_closing() const noexcept override { return closing_; }
  void close() override;
  void set_protocol(std::shared_ptr<asyncio::BaseProtocol> protocol) override {
    buffered_ = dynamic_cast<asyncio::BufferedProtocol*>(protocol.get());
    protocol_ = std::move(protocol);
  }
  [[nodiscard]] std::shared_ptr<asyncio::BaseProtocol> get_protocol() const override { return protocol_; }
  [[nodiscard]] bool is_reading() const noexcept override { return reading_ && !closing_; }
  void pause_reading() override { reading_ = false; }
  void resume_reading() override { reading_ = true; }
  void write(std::string_view data) override;
  void writelines(std::span<const std::string_view> data) override {
    for (std::string_view d : data) write(d);
  }
  void write_eof() override { throw asyncio::RuntimeError("the TLS layer never half-closes"); }
  [[nodiscard]] bool can_write_eof() const noexcept override { return true; }
  void abort() override;
  [[nodiscard]] std::size_t get_write_buffer_size() const noexcept override;
  void set_write_buffer_limits(std::size_t high, std::size_t low) override {
    high_ = high;
    low_ = low;
  }
  using WriteTransport::set_write_buffer_limits;
  [[nodiscard]] std::pair<std::size_t, std::size_t> get_write_buffer_limits() const noexcept override {
    return {low_, high_};
  }

  // --- for the harness ---
  /// Whether a delivery could do something now: bytes, or the pipe's end, and this side reads.
  [[nodiscard]] bool can_receive() const;
  /// One read of at most `n` bytes (or the FIN, or the RST) from the pipe into the protocol.
  /// Returns whether anything moved.
  bool receive(std::size_t n);
  /// The kernel took bytes from our pipe: maybe resume_writing, from a later iteration.
  void peer_read();
  [[nodiscard]] bool connection_lost_called() const noexcept { return connection_lost_called_; }
  /// This side's process stops reading for good: nothing is delivered to it any more.
  void stall() noexcept { stalled_ = true; }

 private:
  void close_when_flushed();
  void force_close(std::exception_ptr error);
  void fatal_error(std::exception_ptr error, const char* message);
  void write_ready();
  void reset_by_peer();
  void end_output();

  Harness& h_;
  int side_;
  Pipe& out_;  // what this side writes
  Pipe& in_;   // what it reads
  std::shared_ptr<asyncio::BaseProtocol> protocol_;
  asyncio::BufferedProtocol* buffered_ = nullptr;
  std::size_t high_;
  std::size_t low_;
  bool reading_ = true;
  bool closing_ = false;
  bool lost_ = false;  // connection_lost is scheduled (or ran)
  bool connection_lost_called_ = false;
  bool user_closed_ = false;
  bool eof_seen_ = false;
  bool protocol_paused_ = false;
  bool write_ready_scheduled_ = false;
  bool reset_scheduled_ = false;
  bool stalled_ = false;
};

// ------------------------------------------------------------------------------------------------
// The app protocols and what the harness knows of each side.

struct Side {
  int id = 0;
  std::shared_ptr<asyncio::BaseProtocol> app;
  std::shared_ptr<asyncio::detail::SSLProtocol> ssl;
  std::shared_ptr<FakeTransport> plain;
  asyncio::Transport* transport = nullptr;  // what connection_made gave
  std::size_t written = 0;                  // bytes the app transport's write() took
  std::size_t received = 0;
  bool made = false;
  bool eof = false;
  int lost = 0;
  std::exception_ptr lost_error;
  bool reading_paused = false;        // by the app, not resumed since
  bool writing_paused = false;        // pause_writing() received, no resume_writing() since
  bool closed = false;                // the app called close()
  bool aborted = false;               // the app called abort()
  bool echo = false;                  // writes back as many bytes as it receives
  bool plain_aborted = false;         // its plain transport was aborted (by the TLS layer, or by a reset)
  bool aborted_unsent = false;        // ... while the TLS layer still held bytes the app wrote
  bool fin_before_all = false;        // a FIN reached it before its app had all the peer wrote
  bool stalled = false;               // it stopped reading for good (a hostile network)
  std::size_t auto_pause_at = kNone;  // pauses its own reading once it received more
  std::size_t buffer_size = 0;        // a BufferedProtocol's buffer; 0 for a Protocol
};

class Harness {
 public:
  explicit Harness(FuzzInput& in);
  ~Harness();
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  void run();

  // --- from the app protocols ---
  void app_made(int side, asyncio::BaseTransport& transport);
  void app_data(int side, std::string_view data);
  void app_eof(int side);
  void app_lost(int side, std::exception_ptr error);
  void app_pause_writing(int side);
  void app_resume_writing(int side);
  void app_get_buffer(int side);

  // --- from the fake transports ---
  [[nodiscard]] asyncio::EventLoop& loop() noexcept { return loop_; }
  [[nodiscard]] FakeTransport& plain(int side) noexcept { return *sides_[side].plain; }
  /// A FIN is being delivered to side `side`.
  void note_fin(int side) {
    Side& s = sides_[side];
    if (s.received < sides_[1 - side].written) s.fin_before_all = true;
  }
  /// Side `side`'s plain transport is being aborted: what the TLS layer still holds is lost.
  void note_plain_abort(int side) {
    aborted_any_ = true;
    Side& s = sides_[side];
    s.plain_aborted = true;
    if (s.ssl->write_buffer_size() > 0) s.aborted_unsent = true;
  }

  [[noreturn]] void fail(const char* file, int line, const char* condition, const std::string& message) {
    asyncio_fuzz::check_failed(file, line, condition, message + "\n--- program so far ---\n" + trace_);
  }
  void note(const std::string& line) { trace_ += line + "\n"; }
  [[nodiscard]] const std::string& trace() const noexcept { return trace_; }

 private:
  template <class F>
  void in_loop(F&& f) {
    loop_.call_soon(std::forward<F>(f));
    loop_.run_once();
  }
  bool run_iteration();
  void quiesce();
  void step(FuzzInput& in);
  void deliver(int to, std::size_t n);
  void app_write(int side, std::size_t n);
  void app_writelines(int side, const std::vector<std::size_t>& sizes);
  void expect_write_dropped(int side, std::size_t n);
  void corrupt(FuzzInput& in, std::uint8_t kind);
  void drain();
  void finish();
  void on_report(const asyncio::ExceptionContext& context);

  asyncio::EventLoop loop_;
  Side sides_[2];
  Pipe pipes_[2];  // pipes_[s]: what side s wrote, for the other side
  asyncio::Future<void> client_waiter_;
  std::string trace_;
  FuzzInput* in_ = nullptr;
  double handshake_timeout_ = 60;
  double shutdown_timeout_ = 30;
  std::size_t drain_chunk_ = kNone;
  bool debug_ = false;
  bool hostile_ = false;
  bool wrong_host_ = false;
  bool late_limits_ = false;  // inside set_write_buffer_limits() on a transport after connection_lost
  bool corrupted_ = false;    // bytes in flight changed, or a FIN/RST the peer never sent
  bool aborted_any_ = false;  // a plain transport was aborted (app abort, fatal error, timeout, reset)
};

// --- the app protocols -------------------------------------------------------------------------

class CopyApp final : public asyncio::Protocol {
 public:
  CopyApp(Harness& h, int side) : h_(h), side_(side) {}
  void connection_made(asyncio::BaseTransport& transport) override { h_.app_made(side_, transport); }
  void data_received(std::string_view data) override { h_.app_data(side_, data); }
  bool eof_received() override {
    h_.app_eof(side_);
    return false;
  }
  void connection_lost(std::exception_ptr error) override { h_.app_lost(side_, std::move(error)); }
  void pause_writing() override { h_.app_pause_writing(side_); }
  void resume_writing() override { h_.app_resume_writing(side_); }

 private:
  Harness& h_;
  int side_;
};

class BufferedApp final : public asyncio::BufferedProtocol {
 public:
  BufferedApp(Harness& h, int side, std::size_t size) : h_(h), side_(side), buffer_(size) {}
  void connection_made(asyncio::BaseTransport& transport) override { h_.app_made(side_, transport); }
  std::span<char> get_buffer(std::size_t) override {
    h_.app_get_buffer(side_);
    return std::span<char>(buffer_.data(), buffer_.size());
  }
  void buffer_updated(std::size_t n) override {
    TLS_CHECK_OF(h_, n <= buffer_.size(),
                 std::string(side_name(side_)) + ": buffer_updated(" + std::to_string(n) + ") past a buffer of " +
                     std::to_string(buffer_.size()));
    h_.app_data(side_, std::string_view(buffer_.data(), n));
  }
  bool eof_received() override {
    h_.app_eof(side_);
    return false;
  }
  void connection_lost(std::exception_ptr error) override { h_.app_lost(side_, std::move(error)); }
  void pause_writing() override { h_.app_pause_writing(side_); }
  void resume_writing() override { h_.app_resume_writing(side_); }

 private:
  Harness& h_;
  int side_;
  std::vector<char> buffer_;
};

// --- FakeTransport -----------------------------------------------------------------------------

void FakeTransport::write(std::string_view data) {
  // asyncio's socket transports queue or drop a write after close() or abort(); the TLS layer never
  // writes to a plain transport it closed, and this model holds it to that.
  if (user_closed_) {
    if (kTolerateWriteAfterPlainClose) return;
    throw asyncio::RuntimeError("Cannot call write() after close() or abort()");
  }
  if (data.empty() || lost_) return;
  Pipe& out = out_;
  if (in_.end == Pipe::End::rst) {
    // The reset came in: send() fails with it.
    fatal_error(std::make_exception_ptr(asyncio::ConnectionResetError(ECONNRESET, "send(fake)")),
                "Fatal write error on socket transport");
    return;
  }
  if (h_.plain(1 - side_).connection_lost_called()) {
    // The peer's socket is gone: its kernel answers with a reset.
    reset_by_peer();
    return;
  }
  // After a FIN the network made up, the bytes go nowhere.
  if (out.end != Pipe::End::open) return;
  out.bytes.append(data);
  if (!protocol_paused_ && get_write_buffer_size() > high_) {
    protocol_paused_ = true;
    try {
      protocol_->pause_writing();
    } catch (...) {
      asyncio::ExceptionContext context;
      context.message = "protocol.pause_writing() failed";
      context.exception = std::current_exception();
      h_.loop().call_exception_handler(context);
    }
  }
}

std::size_t FakeTransport::get_write_buffer_size() const noexcept {
  return out_.end == Pipe::End::open ? out_.pending() : 0;
}

void FakeTransport::peer_read() {
  if (write_ready_scheduled_ || lost_ || !protocol_paused_) return;
  write_ready_scheduled_ = true;
  h_.loop().call_soon([self = shared_from_this()] { self->write_ready(); });
}

void FakeTransport::write_ready() {
  write_ready_scheduled_ = false;
  if (lost_ || !protocol_paused_ || get_write_buffer_size() > low_) return;
  protocol_paused_ = false;
  try {
    protocol_->resume_writing();
  } catch (...) {
    asyncio::ExceptionContext context;
    context.message = "protocol.resume_writing() failed";
    context.exception = std::current_exception();
    h_.loop().call_exception_handler(context);
  }
}

// Bytes we sent reached the peer's closed socket: its kernel answers with RST, and our pending or
// next send fails with ECONNRESET, from a later iteration.
void FakeTransport::reset_by_peer() {
  if (lost_ || reset_scheduled_) return;
  reset_scheduled_ = true;
  h_.loop().call_soon([self = shared_from_this()] {
    if (self->lost_) return;
    self->fatal_error(std::make_exception_ptr(asyncio::ConnectionResetError(ECONNRESET, "send(fake)")),
                      "Fatal write error on socket transport");
  });
}

void FakeTransport::close() {
  user_closed_ = true;
  close_when_flushed();
}

void FakeTransport::abort() {
  user_closed_ = true;
  h_.note_plain_abort(side_);
  force_close(nullptr);
}

void FakeTransport::end_output() {
  if (out_.end == Pipe::End::open) out_.end = Pipe::End::fin;
}

void FakeTransport::close_when_flushed() {
  // The kernel holds whatever was written: nothing to wait for.
  if (closing_) return;
  force_close(nullptr);
}

void FakeTransport::force_close(std::exception_ptr error) {
  if (lost_) return;
  closing_ = true;
  reading_ = false;
  lost_ = true;
  end_output();
  h_.loop().call_soon([self = shared_from_this(), error = std::move(error)]() mutable {
    self->connection_lost_called_ = true;
    // The socket closes: what the peer sent and we never read makes our kernel send a reset.
    if (self->in_.pending() > 0) {
      self->in_.bytes.clear();
      self->in_.head = 0;
      self->h_.plain(1 - self->side_).reset_by_peer();
    }
    const std::shared_ptr<asyncio::BaseProtocol> protocol = std::move(self->protocol_);
    self->buffered_ = nullptr;
    try {
      protocol->connection_lost(std::move(error));
    } catch (...) {
      asyncio::ExceptionContext context;
      context.message = "Fatal error: protocol.connection_lost() call failed.";
      context.exception = std::current_exception();
      self->h_.loop().call_exception_handler(context);
    }
  });
}

void FakeTransport::fatal_error(std::exception_ptr error, const char* message) {
  if (!is_os_error(error)) {
    asyncio::ExceptionContext context;
    context.message = message;
    context.exception = error;
    h_.loop().call_exception_handler(context);
  }
  h_.note_plain_abort(side_);
  force_close(std::move(error));
}

bool FakeTransport::can_receive() const {
  if (lost_ || !reading_ || eof_seen_ || stalled_ || buffered_ == nullptr) return false;
  return in_.pending() > 0 || (in_.end != Pipe::End::open && !in_.end_seen);
}

bool FakeTransport::receive(std::size_t n) {
  if (!can_receive()) return false;
  Pipe& in = in_;
  if (in.pending() > 0) {
    std::span<char> buffer;
    try {
      buffer = buffered_->get_buffer(256 * 1024);
      if (buffer.empty()) throw asyncio::RuntimeError("get_buffer() returned an empty buffer");
    } catch (...) {
      fatal_error(std::current_exception(), "Fatal error: protocol.get_buffer() call failed.");
      return true;
    }
    const std::size_t k = std::min({n, in.pending(), buffer.size()});
    std::memcpy(buffer.data(), in.bytes.data() + in.head, k);
    in.consume(k);
    h_.plain(1 - side_).peer_read();
    try {
      buffered_->buffer_updated(k);
    } catch (...) {
      fatal_error(std::current_exception(), "Fatal error: protocol.buffer_updated() call failed.");
    }
    return true;
  }
  in.end_seen = true;
  if (in.end == Pipe::End::rst) {
    fatal_error(std::make_exception_ptr(asyncio::ConnectionResetError(ECONNRESET, "recv(fake)")),
                "Fatal read error on socket transport");
    return true;
  }
  eof_seen_ = true;
  h_.note_fin(side_);
  bool keep_open = false;
  try {
    keep_open = buffered_->eof_received();
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error: protocol.eof_received() call failed.");
    return true;
  }
  if (!keep_open) close_when_flushed();
  return true;
}

// --- Harness -------------------------------------------------------------------------------------

constexpr double kHandshakeTimeouts[] = {60, 0.5, 2, 5};
constexpr double kShutdownTimeouts[] = {30, 0.5, 1, 4};
constexpr std::pair<std::size_t, std::size_t> kPlainLimits[] = {
    {64 * 1024, 16 * 1024}, {kNone, kNone}, {1024, 256}, {100, 0}, {16 * 1024, 4 * 1024}, {4000, 3999}};
constexpr std::size_t kBufferSizes[] = {0, 0, 509, 1024, 16 * 1024, 256 * 1024};
constexpr std::size_t kAutoPause[] = {0, 100, 5000, 70000};
constexpr std::size_t kChunks[] = {200, 517, 1024, 1500, 4096, 16384, 65536, kNone};
constexpr std::size_t kBigWrites[] = {1000, 4096, 16383, 16384, 16385, 40000, 65536, 300000};
constexpr double kAdvances[] = {0.1, 0.5, 1, 2, 5, 15, 31, 61};
// Write-buffer limits for the app transport: {high, low}; the last one is refused (low > high).
constexpr std::pair<std::size_t, std::size_t> kAppLimits[] = {
    {0, 0}, {1, 0}, {1000, 100}, {16 * 1024, 4 * 1024}, {512 * 1024, 128 * 1024}, {100, 200}};

// Bytes a hostile network injects: garbage, and records that pass the framing and fail later.
const std::string kInjected[] = {
    std::string("\x17\x03\x03\x00\x20", 5) + std::string(32, '\x5a'),  // application data, bad MAC
    std::string("\x15\x03\x03\x00\x02\x02\x28", 7),                    // plaintext fatal alert
    std::string("\x15\x03\x03\x00\x02\x01\x00", 7),                    // plaintext close_notify
    std::string("\x14\x03\x03\x00\x01\x01", 6),                        // ChangeCipherSpec
    std::string("\x16\x03\x03\x00\x04\x00\x00\x00\x00", 9),            // HelloRequest
    std::string("\x17\x03\x03\x00\x00", 5),                            // empty record
    std::string("\x17\x03\x03\x48\x01", 5) + std::string(64, '\x00'),  // record too long
    std::string("\x16\x03\x01\x00\x05\x01\x00\x00\x01\x03", 10),       // truncated ClientHello
    std::string("GET / HTTP/1.1\r\n\r\n"),                             // not TLS at all
};

Harness::Harness(FuzzInput& in)
    : loop_(asyncio::LoopOptions{.clock = asyncio::ClockKind::virtual_time, .debug = false}) {
  const Contexts& ctx = contexts();
  in_ = &in;
  const std::uint8_t setup = in.byte();
  const std::uint8_t apps = in.byte();
  const std::uint8_t timing = in.byte();
  const std::uint8_t behaviour = in.byte();

  const int client_kind = setup & 7;
  hostile_ = (setup & 0x08) != 0;
  debug_ = (setup & 0x30) == 0x30;
  const bool server_alpn = (setup & 0x40) != 0;
  const bool server_first = (setup & 0x80) != 0;
  const asyncio::SSLContext* client_ctx = &ctx.client_verify;
  std::string hostname = "localhost";
  switch (client_kind) {
    case 0:
    case 1:
      break;
    case 2:
      client_ctx = &ctx.client_verify_12;
      break;
    case 3:
    case 4:
      client_ctx = &ctx.client_none;
      hostname.clear();  // no SNI
      break;
    case 5:
      client_ctx = &ctx.client_none_12_alpn;
      break;
    case 6:
      client_ctx = &ctx.client_none;
      break;
    case 7:
      // A name the certificate does not carry: the handshake must fail on both sides.
      hostname = "example.org";
      wrong_host_ = true;
      break;
  }
  handshake_timeout_ = kHandshakeTimeouts[timing & 3];
  shutdown_timeout_ = kShutdownTimeouts[(timing >> 2) & 3];
  const auto limits = kPlainLimits[((timing >> 4) & 15) % std::size(kPlainLimits)];
  drain_chunk_ = kChunks[behaviour & 7];
  loop_.set_debug(debug_);
  loop_.set_exception_handler(
      [this](asyncio::EventLoop&, const asyncio::ExceptionContext& context) { on_report(context); });

  for (int s = 0; s < 2; ++s) {
    Side& side = sides_[s];
    side.id = s;
    const std::uint8_t a = s == 0 ? apps & 15 : apps >> 4;
    side.buffer_size = kBufferSizes[(a & 7) % std::size(kBufferSizes)];
    side.auto_pause_at = (a & 8) != 0 ? kAutoPause[(behaviour >> (3 + 2 * s)) & 3] : kNone;
    if (side.buffer_size == 0) {
      side.app = std::make_shared<CopyApp>(*this, s);
    } else {
      side.app = std::make_shared<BufferedApp>(*this, s, side.buffer_size);
    }
    side.plain = std::make_shared<FakeTransport>(*this, s, pipes_[s], pipes_[1 - s], limits.first, limits.second);
  }
  // Only the server echoes: two echoing ends would bounce every byte for ever.
  sides_[1].echo = (behaviour & 0x80) != 0;

  client_waiter_ = loop_.create_future<void>();
  const asyncio::SSLContext& server_ctx = server_alpn ? ctx.server_alpn : ctx.server;
  sides_[0].ssl = asyncio::detail::make_ssl_protocol(
      loop_, sides_[0].app,
      asyncio::TLSOptions(*client_ctx).handshake_timeout(handshake_timeout_).shutdown_timeout(shutdown_timeout_), false,
      hostname, true, client_waiter_);
  sides_[1].ssl = asyncio::detail::make_ssl_protocol(
      loop_, sides_[1].app,
      asyncio::TLSOptions(server_ctx).handshake_timeout(handshake_timeout_).shutdown_timeout(shutdown_timeout_), true,
      std::string(), true, asyncio::Future<void>());
  note(std::string("setup: client ") + std::to_string(client_kind) + (hostile_ ? ", hostile" : "") +
       (debug_ ? ", debug" : "") + (server_alpn ? ", server alpn" : "") + ", handshake timeout " +
       std::to_string(handshake_timeout_) + ", shutdown timeout " + std::to_string(shutdown_timeout_) +
       ", plain limits " + (limits.first == kNone ? std::string("none") : std::to_string(limits.first)) + "/" +
       (limits.second == kNone ? std::string("none") : std::to_string(limits.second)) + ", drain chunk " +
       (drain_chunk_ == kNone ? std::string("all") : std::to_string(drain_chunk_)));
  for (const Side& side : sides_) {
    note(std::string(side_name(side.id)) + ": buffer " + std::to_string(side.buffer_size) + ", auto pause " +
         (side.auto_pause_at == kNone ? std::string("never") : std::to_string(side.auto_pause_at)) +
         (side.echo ? ", echo" : ""));
  }

  // The transports' connection_made, from the loop, as a transport starts.
  for (int i = 0; i < 2; ++i) {
    const int s = server_first ? 1 - i : i;
    in_loop([this, s] {
      sides_[s].plain->start(sides_[s].ssl);
      sides_[s].ssl->connection_made(*sides_[s].plain);
    });
  }
}

Harness::~Harness() {
  // The waiter's exception, if any, was looked at in finish(); one left unlooked would be
  // reported when the waiter goes.
  if (client_waiter_ && client_waiter_.done() && !client_waiter_.cancelled()) (void)client_waiter_.exception();
}

void Harness::on_report(const asyncio::ExceptionContext& context) {
  const std::string what = context.message + ": " + describe_exception(context.exception);
  note("exception handler: " + what);
  // Debug mode reports the TLS layer's fatal errors, OSErrors all (CPython logs them then).
  const bool documented = debug_ && context.exception && is_os_error(context.exception) &&
                          (context.message == "SSL handshake failed" || context.message == "SSL handshake timed out" ||
                           context.message == "Fatal error on SSL protocol");
  TLS_CHECK(documented, "the loop's exception handler got \"" + what + "\"");
}

bool Harness::run_iteration() {
  // The sentinel keeps the iteration from jumping the virtual clock when nothing is ready; the
  // count of the other callbacks says whether anything ran.
  const std::uint64_t before = loop_.stats().callbacks;
  loop_.call_soon([] {});
  loop_.run_once();
  return loop_.stats().callbacks - before > 1;
}

void Harness::quiesce() {
  int iterations = 0;
  while (run_iteration()) TLS_CHECK(++iterations < kMaxIdleIterations, "the loop never became idle");
}

// --- app protocol callbacks ----------------------------------------------------------------------

void Harness::app_made(int s, asyncio::BaseTransport& transport) {
  Side& side = sides_[s];
  note(std::string("  ") + side_name(s) + " connection_made");
  TLS_CHECK(!side.made, std::string(side_name(s)) + ": connection_made twice");
  TLS_CHECK(side.lost == 0 && !side.eof && side.received == 0,
            std::string(side_name(s)) + ": connection_made after other calls");
  TLS_CHECK(&transport == static_cast<asyncio::BaseTransport*>(side.ssl->app_transport().get()),
            std::string(side_name(s)) + ": connection_made with a transport other than its TLS transport");
  TLS_CHECK(!wrong_host_, "the handshake succeeded with a host name the certificate does not name");
  side.made = true;
  side.transport = side.ssl->app_transport().get();
}

void Harness::app_get_buffer(int s) {
  const Side& side = sides_[s];
  TLS_CHECK(side.made && side.lost == 0, std::string(side_name(s)) + ": get_buffer() outside the connection");
  TLS_CHECK(!side.eof || kTolerateGetBufferAfterEof, std::string(side_name(s)) + ": get_buffer() after eof_received()");
}

void Harness::app_data(int s, std::string_view data) {
  Side& side = sides_[s];
  const Side& peer = sides_[1 - s];
  const std::string who = side_name(s);
  TLS_CHECK(side.made, who + ": data before connection_made");
  TLS_CHECK(side.lost == 0, who + ": data after connection_lost");
  TLS_CHECK(!side.eof, who + ": data after eof_received");
  TLS_CHECK(!side.reading_paused, who + ": " + std::to_string(data.size()) + " bytes while its reading is paused");
  TLS_CHECK(!data.empty(), who + ": an empty data call");
  TLS_CHECK(side.received + data.size() <= peer.written, who + ": received " +
                                                             std::to_string(side.received + data.size()) +
                                                             " bytes, the peer wrote " + std::to_string(peer.written));
  const std::size_t wrong = pattern_mismatch(peer.id, side.received, data);
  TLS_CHECK(wrong == std::string_view::npos,
            who + ": byte " + std::to_string(side.received + wrong) + " differs from what the peer wrote");
  side.received += data.size();
  if (side.echo && !side.closed && !side.aborted && side.written + data.size() <= kMaxWritten) {
    // An echo, from inside the data call, as a protocol does.
    side.transport->write(pattern_bytes(s, side.written, data.size()));
    side.written += data.size();
  }
  if (side.auto_pause_at != kNone && side.received > side.auto_pause_at && !side.reading_paused) {
    side.transport->pause_reading();
    side.reading_paused = true;
  }
}

void Harness::app_eof(int s) {
  Side& side = sides_[s];
  const std::string who = side_name(s);
  note("  " + who + " eof_received");
  TLS_CHECK(side.made, who + ": eof_received before connection_made");
  TLS_CHECK(side.lost == 0, who + ": eof_received after connection_lost");
  TLS_CHECK(!side.eof, who + ": eof_received twice");
  side.eof = true;
}

void Harness::app_lost(int s, std::exception_ptr error) {
  Side& side = sides_[s];
  const std::string who = side_name(s);
  note("  " + who + " connection_lost(" + describe_exception(error) + ")");
  TLS_CHECK(side.made, who + ": connection_lost without connection_made");
  TLS_CHECK(side.lost == 0, who + ": connection_lost twice");
  side.lost = 1;
  side.lost_error = std::move(error);
}

void Harness::app_pause_writing(int s) {
  Side& side = sides_[s];
  const std::string who = side_name(s);
  note("  " + who + " pause_writing");
  TLS_CHECK(side.made && (side.lost == 0 || (kTolerateFlowControlAfterLost && late_limits_)),
            who + ": pause_writing outside the connection");
  TLS_CHECK(!side.writing_paused, who + ": pause_writing twice");
  side.writing_paused = true;
}

void Harness::app_resume_writing(int s) {
  Side& side = sides_[s];
  const std::string who = side_name(s);
  note("  " + who + " resume_writing");
  TLS_CHECK(side.made && (side.lost == 0 || (kTolerateFlowControlAfterLost && late_limits_)),
            who + ": resume_writing outside the connection");
  TLS_CHECK(side.writing_paused, who + ": resume_writing without pause_writing");
  side.writing_paused = false;
}

// --- operations ----------------------------------------------------------------------------------

void Harness::deliver(int to, std::size_t n) {
  in_loop([this, to, n] { sides_[to].plain->receive(n); });
}

void Harness::expect_write_dropped(int s, std::size_t n) {
  Side& side = sides_[s];
  // A write after the app's own close() or abort() is dropped, as CPython's: no exception, and the
  // peer never sees the bytes (`written` does not advance, so they would break its pattern).
  bool raised = false;
  try {
    side.transport->write(pattern_bytes(s, side.written, n));
  } catch (const asyncio::RuntimeError&) {
    raised = true;
  }
  TLS_CHECK(!raised, std::string(side_name(s)) + ": write() after its own close()/abort() raised");
}

void Harness::app_write(int s, std::size_t n) {
  in_loop([this, s, n] {
    Side& side = sides_[s];
    if (!side.made) return;
    if (side.closed || side.aborted) {
      expect_write_dropped(s, n);
      return;
    }
    const std::size_t size = std::min(n, room_left(side.written));
    side.transport->write(pattern_bytes(s, side.written, size));
    side.written += size;
  });
}

void Harness::app_writelines(int s, const std::vector<std::size_t>& sizes) {
  in_loop([this, s, &sizes] {
    Side& side = sides_[s];
    if (!side.made) return;
    if (side.closed || side.aborted) {
      expect_write_dropped(s, 1);
      return;
    }
    std::vector<std::string> pieces;
    std::size_t at = side.written;
    for (std::size_t n : sizes) {
      n = std::min(n, room_left(at));
      pieces.push_back(pattern_bytes(s, at, n));
      at += n;
    }
    const std::vector<std::string_view> views(pieces.begin(), pieces.end());
    side.transport->writelines(views);
    side.written = at;
  });
}

void Harness::corrupt(FuzzInput& in, std::uint8_t kind) {
  const int dir = in.flag() ? 1 : 0;
  Pipe& p = pipes_[dir];
  const std::string from = std::string(" ") + side_name(dir) + "->" + side_name(1 - dir);
  switch (kind % 7) {
    case 0:
    case 1: {
      if (p.pending() == 0) return;
      const std::size_t at = p.head + in.below(p.pending());
      const auto mask = static_cast<char>(1 + in.below(255));
      p.bytes[at] = static_cast<char>(p.bytes[at] ^ mask);
      note("flip" + from + " at " + std::to_string(at - p.head));
      corrupted_ = true;
      return;
    }
    case 2: {
      if (p.end != Pipe::End::open) return;
      const std::size_t at = p.head + in.below(p.pending() + 1);
      const std::size_t which = in.below(std::size(kInjected) + 1);
      const std::string bytes = which < std::size(kInjected) ? kInjected[which] : in.bytes(24);
      p.bytes.insert(at, bytes);
      note("inject" + from + " " + std::to_string(bytes.size()) + " bytes at " + std::to_string(at - p.head));
      corrupted_ = true;
      return;
    }
    case 3: {
      if (p.pending() == 0) return;
      const std::size_t at = in.below(p.pending());
      const std::size_t n = std::min<std::size_t>(1 + in.below(64), p.pending() - at);
      p.bytes.erase(p.head + at, n);
      note("drop" + from + " " + std::to_string(n) + " bytes at " + std::to_string(at));
      corrupted_ = true;
      return;
    }
    case 4:
      if (p.end != Pipe::End::open) return;
      p.end = Pipe::End::fin;
      note("fin" + from);
      corrupted_ = true;
      return;
    case 5:
      note("reset");
      for (Pipe& q : pipes_) {
        if (q.end_seen) continue;
        q.bytes.clear();
        q.head = 0;
        q.end = Pipe::End::rst;
      }
      corrupted_ = true;
      return;
    case 6:
      // This side never reads again: its window fills, the other side's writes pause.
      note(std::string("stall ") + side_name(dir));
      sides_[dir].plain->stall();
      sides_[dir].stalled = true;
      corrupted_ = true;
      return;
  }
}

void Harness::step(FuzzInput& in) {
  const std::uint8_t op = in.byte();
  if (hostile_ && op >= 240) {
    corrupt(in, op);
    return;
  }
  const int s = (op & 1) != 0 ? 1 : 0;
  const std::string who = side_name(s);
  switch ((op >> 1) % 20) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4: {
      const std::uint8_t b = in.byte();
      const std::size_t n = b < 128 ? 1 + b : kChunks[b % 8];
      note("deliver to " + who + " " + (n == kNone ? std::string("all") : std::to_string(n)));
      deliver(s, n);
      return;
    }
    case 5: {
      const std::size_t n = kChunks[in.byte() % 8];
      note("deliver all to " + who + " in " + (n == kNone ? std::string("one") : std::to_string(n)));
      for (int i = 0; i < 4096 && sides_[s].plain->can_receive(); ++i) deliver(s, n);
      return;
    }
    case 6:
    case 7:
    case 8: {
      const std::uint8_t b = in.byte();
      const std::size_t n = std::min(b < 200 ? 1 + b : kBigWrites[b % 8], room_left(sides_[s].written));
      note("write " + who + " " + std::to_string(n));
      app_write(s, n);
      return;
    }
    case 9: {
      std::vector<std::size_t> sizes(1 + in.below(3));
      for (std::size_t& n : sizes) n = std::min(in.below(300), room_left(sides_[s].written) / 3);
      note("writelines " + who + " " + std::to_string(sizes.size()) + " pieces");
      app_writelines(s, sizes);
      return;
    }
    case 10:
      note("pause_reading " + who);
      in_loop([this, s] {
        Side& side = sides_[s];
        if (!side.made) return;
        side.transport->pause_reading();
        side.reading_paused = true;
      });
      return;
    case 11:
      note("resume_reading " + who);
      in_loop([this, s] {
        Side& side = sides_[s];
        if (!side.made) return;
        side.transport->resume_reading();
        side.reading_paused = false;
      });
      return;
    case 12: {
      const auto limits = kAppLimits[in.below(std::size(kAppLimits))];
      note("set_write_buffer_limits " + who + " " + std::to_string(limits.first) + "/" + std::to_string(limits.second));
      in_loop([this, s, limits] {
        Side& side = sides_[s];
        if (!side.made) return;
        bool refused = false;
        late_limits_ = side.lost != 0;
        try {
          side.transport->set_write_buffer_limits(limits.first, limits.second);
        } catch (const asyncio::ValueError&) {
          refused = true;
        }
        late_limits_ = false;
        TLS_CHECK(refused == (limits.second > limits.first),
                  std::string(side_name(s)) + ": set_write_buffer_limits(" + std::to_string(limits.first) + ", " +
                      std::to_string(limits.second) + ") " + (refused ? "refused" : "accepted"));
      });
      return;
    }
    case 13:
      note("close " + who);
      in_loop([this, s] {
        Side& side = sides_[s];
        if (!side.made) return;
        side.closed = true;
        side.transport->close();
      });
      return;
    case 14:
      if ((in.byte() & 3) != 0) {
        // Rarer than close(): an abort waives the check of what arrives.
        note("(no abort)");
        return;
      }
      note("abort " + who);
      in_loop([this, s] {
        Side& side = sides_[s];
        if (!side.made) return;
        side.aborted = true;
        side.transport->abort();
      });
      return;
    case 15:
      note("run_once");
      run_iteration();
      return;
    case 16:
      note("quiesce");
      quiesce();
      return;
    case 17: {
      const double dt = kAdvances[in.byte() % 8];
      note("advance " + std::to_string(dt));
      loop_.advance_time(dt);
      quiesce();
      return;
    }
    case 18:
    case 19:
      note("query " + who);
      in_loop([this, s] {
        Side& side = sides_[s];
        if (!side.made) return;
        asyncio::Transport& t = *side.transport;
        if (side.lost == 0) {
          TLS_CHECK(t.is_reading() == !side.reading_paused,
                    std::string(side_name(s)) + ": is_reading() disagrees with the app's pause/resume");
        }
        if (side.closed || side.aborted) {
          TLS_CHECK(t.is_closing(), std::string(side_name(s)) + ": is_closing() false after close()/abort()");
        }
        (void)t.get_write_buffer_size();
        const auto [low, high] = t.get_write_buffer_limits();
        TLS_CHECK(low <= high, std::string(side_name(s)) + ": get_write_buffer_limits() has low > high");
        for (const char* name : {"ssl_object", "peercert", "cipher", "compression", "alpn_protocol", "peername"}) {
          (void)t.get_extra_info(name);
        }
        const std::any ctx = t.get_extra_info("sslcontext");
        const auto* got = std::any_cast<asyncio::SSLContext>(&ctx);
        TLS_CHECK(got != nullptr, std::string(side_name(s)) + ": no sslcontext in get_extra_info()");
      });
      return;
  }
}

// Delivers everything that can move, with the apps reading, until nothing moves.
void Harness::drain() {
  for (int round = 0;; ++round) {
    TLS_CHECK(round < kMaxDrainRounds, "draining never ends");
    bool progress = false;
    for (Side& side : sides_) {
      if (side.made && side.reading_paused) {
        in_loop([&side] { side.transport->resume_reading(); });
        side.reading_paused = false;
        progress = true;
      }
    }
    for (int s = 0; s < 2; ++s) {
      for (int i = 0; sides_[s].plain->can_receive(); ++i) {
        TLS_CHECK(i < kMaxDrainRounds, "a pipe never empties");
        deliver(s, drain_chunk_);
        progress = true;
      }
    }
    if (run_iteration()) {
      quiesce();
      progress = true;
    }
    if (!progress) return;
  }
}

void Harness::finish() {
  note("finish: drain");
  for (Side& side : sides_) side.auto_pause_at = kNone;
  drain();
  // What one app wrote reaches the other whole, unless the network changed it, the receiver closed
  // or lost its end, or the writer's end went with bytes the TLS layer had not yet sent. (An abort
  // after everything was sent loses nothing: the close_notify, or the FIN, comes after it all.)
  for (int s = 0; s < 2; ++s) {
    const Side& side = sides_[s];
    const Side& peer = sides_[1 - s];
    if (corrupted_ || side.closed || side.aborted || side.plain_aborted || peer.aborted || peer.aborted_unsent ||
        peer.written == 0 || side.stalled || (kTolerateDataDroppedAtEof && side.fin_before_all)) {
      continue;
    }
    TLS_CHECK(side.made, std::string(side_name(s)) + ": the handshake never completed, yet the peer wrote");
    TLS_CHECK(side.received == peer.written, std::string(side_name(s)) + " received " + std::to_string(side.received) +
                                                 " bytes of the " + std::to_string(peer.written) + " the peer wrote");
  }
  const bool calm = !corrupted_ && !aborted_any_;

  note("finish: close both");
  for (int s = 0; s < 2; ++s) {
    in_loop([this, s] {
      Side& side = sides_[s];
      if (!side.made || side.closed || side.aborted) return;
      side.closed = true;
      side.transport->close();
    });
  }
  drain();
  if (calm) {
    // Both ends closed: close_notify both ways ends both connections with no timer.
    for (int s = 0; s < 2; ++s) {
      const Side& side = sides_[s];
      const std::string who = side_name(s);
      TLS_CHECK(side.plain->connection_lost_called(),
                who + ": a clean close of both ends left its plain transport open");
      if (!side.made) continue;
      TLS_CHECK(side.lost == 1, who + ": a clean close of both ends gave the app no connection_lost");
      TLS_CHECK(side.eof, who + ": a clean close of both ends gave the app no eof_received");
      TLS_CHECK(!side.lost_error,
                who + ": a clean close of both ends lost the connection with " + describe_exception(side.lost_error));
    }
  }

  for (int i = 0; i < 2; ++i) {
    note("finish: advance past the timeouts");
    loop_.advance_time(handshake_timeout_ + shutdown_timeout_ + 1);
    quiesce();
    drain();
  }
  for (int s = 0; s < 2; ++s) {
    const Side& side = sides_[s];
    const std::string who = side_name(s);
    // A side that stopped reading may wait for ever: nothing it could see tells it the end came.
    if (side.stalled) continue;
    TLS_CHECK(side.plain->connection_lost_called(), who + ": its plain transport is still open after both timeouts");
    TLS_CHECK(side.lost == (side.made ? 1 : 0), who + ": " + std::to_string(side.lost) + " connection_lost calls, " +
                                                    (side.made ? "after" : "without") + " connection_made");
    TLS_CHECK(!side.writing_paused || side.lost == 1, who + ": still paused for writing");
  }
  TLS_CHECK(client_waiter_.done(), "the client's handshake waiter is still pending at the end");
  const std::exception_ptr waited = client_waiter_.exception();
  TLS_CHECK(!waited == sides_[0].made, std::string("the client's handshake waiter ended with ") +
                                           describe_exception(waited) + (sides_[0].made ? " after" : " without") +
                                           " connection_made");
}

void Harness::run() {
  FuzzInput& in = *in_;
  for (std::size_t i = 0; i < kMaxOps && !in.empty(); ++i) step(in);
  finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)contexts();
  reseed_openssl(0x5eed);
  FuzzInput in(data, size);
  {
    Harness harness(in);
    harness.run();
    // For reading what a corpus input does: TLS_FUZZ_TRACE=1 prints each program as it ran.
    static const bool print_trace = std::getenv("TLS_FUZZ_TRACE") != nullptr;
    if (print_trace) std::fprintf(stderr, "%s", harness.trace().c_str());
  }
  return 0;
}
