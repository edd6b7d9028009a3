// The TLS transport: see ssl_protocol.hpp. CPython 3.13 Lib/asyncio/sslproto.py is the reference
// for every state change and callback order.

#include "ssl_protocol.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "asyncio/detail/exception_is.hpp"
#include "asyncio/exceptions.hpp"
#include "asyncio/loop/event_loop.hpp"
#include "asyncio/loop/logger.hpp"
#include "asyncio/os_error.hpp"
#include "asyncio/tls/ssl_object.hpp"
#include "openssl_error.hpp"

namespace asyncio::detail {

namespace {

// Python's SSLProtocol.max_size: what one read asks of the plain transport, and the largest
// plaintext chunk handed to data_received.
constexpr std::size_t kMaxSize = 256 * 1024;

// Where a Protocol app's plaintext is decrypted for data_received, whose view lives only during the
// call: one buffer per thread, shared by its connections (as the plain transports share their
// loop's read buffer). A buffer per connection cost every handshake a zero-filled 256 KiB
// allocation, 4 % of a new connection's CPU. Should a data_received ever drive another
// connection's decryption before it returns, that one gets a buffer of its own.
class PlaintextBuffer {
 public:
  PlaintextBuffer() {
    Shared& shared = shared_buffer();
    if (!shared.in_use) {
      shared.in_use = true;
      if (!shared.data) shared.data.reset(new char[kMaxSize]);  // uninitialized: decrypted into
      lease_ = &shared;
      data_ = shared.data.get();
    } else {
      own_.reset(new char[kMaxSize]);
      data_ = own_.get();
    }
  }
  ~PlaintextBuffer() {
    if (lease_ != nullptr) lease_->in_use = false;
  }
  PlaintextBuffer(const PlaintextBuffer&) = delete;
  PlaintextBuffer& operator=(const PlaintextBuffer&) = delete;

  [[nodiscard]] char* data() const noexcept { return data_; }
  [[nodiscard]] static constexpr std::size_t size() noexcept { return kMaxSize; }

 private:
  struct Shared {
    std::unique_ptr<char[]> data;
    bool in_use = false;
  };
  static Shared& shared_buffer() {
    thread_local Shared shared;
    return shared;
  }
  Shared* lease_ = nullptr;
  std::unique_ptr<char[]> own_;
  char* data_ = nullptr;
};

bool is_quiet(const std::exception_ptr& e) {
  // CPython's _fatal_error logs OSErrors (SSLError is one) only in debug mode.
  return exception_is<OSError>(e) || exception_is<CancelledError>(e);
}

}  // namespace

SSLProtocol::SSLProtocol(EventLoop& loop, std::shared_ptr<BaseProtocol> app_protocol, const TLSOptions& tls,
                         bool server_side, const std::string& server_hostname, bool call_connection_made,
                         Future<void> waiter)
    : loop_(loop),
      context_(tls.context()),
      waiter_(std::move(waiter)),
      handshake_timeout_(tls.handshake_timeout()),
      shutdown_timeout_(tls.shutdown_timeout()),
      app_state_(call_connection_made ? AppState::init : AppState::con_made) {
  if (handshake_timeout_ <= 0) {
    throw ValueError("ssl_handshake_timeout should be a positive number, got " + std::to_string(handshake_timeout_));
  }
  if (shutdown_timeout_ <= 0) {
    throw ValueError("ssl_shutdown_timeout should be a positive number, got " + std::to_string(shutdown_timeout_));
  }
  if (server_side && context_.side() != SSLContext::Side::server) {
    throw ValueError("a server needs a server-side SSLContext (create_default_context(Purpose::client_auth))");
  }
  if (!server_side && context_.side() != SSLContext::Side::client) {
    throw ValueError("a client needs a client-side SSLContext (create_default_context())");
  }
  if (!server_side && server_hostname.empty() && context_.check_hostname()) {
    throw ValueError("check_hostname requires server_hostname");
  }
  set_app_protocol(std::move(app_protocol));
  clear_ssl_errors();
  ssl_ = SSL_new(context_.native_handle());
  incoming_ = make_input_bio(cipher_in_);
  outgoing_ = make_output_bio(cipher_out_);
  if (ssl_ == nullptr || incoming_ == nullptr || outgoing_ == nullptr) {
    BIO_free(incoming_);
    BIO_free(outgoing_);
    SSL_free(ssl_);
    raise_ssl_error(SSL_ERROR_SSL, "creating a TLS session");
  }
  SSL_set_bio(ssl_, incoming_, outgoing_);  // the session owns both from here
  if (server_side) {
    SSL_set_accept_state(ssl_);
  } else {
    SSL_set_connect_state(ssl_);
    if (!server_hostname.empty()) {
      // SNI (not for an IP address: RFC 6066 forbids literal addresses in server_name).
      unsigned char addr[16];
      const bool is_ip = inet_pton(AF_INET, server_hostname.c_str(), addr) == 1 ||
                         inet_pton(AF_INET6, server_hostname.c_str(), addr) == 1;
      if (!is_ip) SSL_set_tlsext_host_name(ssl_, server_hostname.c_str());
      if (context_.check_hostname()) {
        SSL_set_hostflags(ssl_, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        const int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), server_hostname.c_str())
                             : SSL_set1_host(ssl_, server_hostname.c_str());
        if (ok != 1) {
          SSL_free(ssl_);
          raise_ssl_error(SSL_ERROR_SSL, "setting the host name to verify (" + server_hostname + ")");
        }
      }
    }
  }
}

SSLProtocol::~SSLProtocol() {
  if (ssl_ != nullptr) SSL_free(ssl_);  // and both BIOs
}

void SSLProtocol::set_app_protocol(std::shared_ptr<BaseProtocol> protocol) {
  app_plain_ = dynamic_cast<Protocol*>(protocol.get());
  app_buffered_ = app_plain_ ? nullptr : dynamic_cast<BufferedProtocol*>(protocol.get());
  if (protocol && app_plain_ == nullptr && app_buffered_ == nullptr) {
    throw TypeError("a TLS connection's protocol must be a Protocol or a BufferedProtocol");
  }
  app_protocol_ = std::move(protocol);
}

std::any SSLProtocol::extra_info(std::string_view name) const {
  if (state_ == State::wrapped || state_ == State::flushing || state_ == State::shutdown ||
      (state_ == State::unwrapped && ssl_ != nullptr && SSL_is_init_finished(ssl_))) {
    const SSLObject object(ssl_);
    if (name == "ssl_object") return object;
    if (name == "peercert") {
      if (auto cert = object.getpeercert()) return *cert;
      return {};
    }
    if (name == "cipher") return object.cipher();
    if (name == "compression") return {};  // never: compression is off (CRIME)
    if (name == "alpn_protocol") {
      if (auto p = object.selected_alpn_protocol()) return *p;
      return {};
    }
  }
  if (name == "sslcontext") return context_;
  if (transport_ != nullptr) return transport_->get_extra_info(name);
  return {};
}

// --- the plain transport's side -------------------------------------------------------------------

void SSLProtocol::connection_made(BaseTransport& transport) {
  transport_ = dynamic_cast<Transport*>(&transport);
  if (transport_ == nullptr) throw TypeError("TLS needs a stream transport");
  start_handshake();
}

void SSLProtocol::connection_lost(std::exception_ptr error) {
  write_backlog_.clear();
  write_backlog_bytes_ = 0;
  if (app_transport_) app_transport_->mark_closed();
  if (!error) error = fatal_;
  if (state_ != State::do_handshake) {
    if (app_state_ == AppState::con_made || app_state_ == AppState::eof) {
      app_state_ = AppState::con_lost;
      // As CPython: from the loop, not inside the plain transport's own connection_lost. The
      // callback holds the TLS transport too: a transport lives until its protocol's
      // connection_lost (net/transport.hpp), and this protocol may go first.
      loop_.call_soon(
          [protocol = app_protocol_, transport = app_transport_, error] { protocol->connection_lost(error); });
    }
  }
  set_state(State::unwrapped);
  transport_ = nullptr;
  wakeup_waiter(error ? error : std::make_exception_ptr(ConnectionResetError(ECONNRESET, "TLS connection lost")));
  handshake_timeout_handle_.cancel();
  shutdown_timeout_handle_.cancel();
}

std::span<char> SSLProtocol::get_buffer(std::size_t size_hint) {
  // The plain transport reads straight into what OpenSSL reads from.
  const std::size_t want = size_hint == 0 || size_hint > kMaxSize ? kMaxSize : size_hint;
  return cipher_in_.prepare(want).first(want);
}

void SSLProtocol::buffer_updated(std::size_t n) {
  cipher_in_.commit(n);
  switch (state_) {
    case State::do_handshake:
      do_handshake();
      break;
    case State::wrapped:
      do_read();
      break;
    case State::flushing:
      do_flush();
      break;
    case State::shutdown:
      do_shutdown();
      break;
    case State::unwrapped:
      break;
  }
}

bool SSLProtocol::eof_received() {
  eof_received_ = true;
  try {
    switch (state_) {
      case State::do_handshake:
        on_handshake_complete(std::make_exception_ptr(
            ConnectionResetError(ECONNRESET, "TLS: the peer closed the connection during the handshake")));
        break;
      case State::wrapped:
        set_state(State::flushing);
        if (app_reading_paused_) return true;
        do_flush();
        // Still flushing: the app has yet to take what arrived before the EOF; the plain
        // transport stays open until the shutdown closes it.
        return state_ == State::flushing;
      case State::flushing:
        do_flush();
        return state_ == State::flushing;
      case State::shutdown:
        do_shutdown();
        break;
      case State::unwrapped:
        break;
    }
  } catch (...) {
    if (transport_ != nullptr) transport_->close();
    throw;
  }
  return false;
}

void SSLProtocol::pause_writing() { ssl_writing_paused_ = true; }

void SSLProtocol::resume_writing() {
  ssl_writing_paused_ = false;
  // The backlog waited for this (do_write keeps the outgoing BIO to one batch while paused), and
  // so may a shutdown that had to send it first.
  try {
    if (state_ == State::shutdown) {
      do_shutdown();
    } else {
      do_write();
    }
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error on SSL protocol");
  }
}

Handle SSLProtocol::call_later_on_self(double delay, void (SSLProtocol::*method)()) {
  // Weak: a timer must not keep a connection's protocol alive.
  std::weak_ptr<SSLProtocol> self = weak_from_this();
  return loop_.call_later(delay, [self, method] {
    if (auto p = self.lock()) ((*p).*method)();
  });
}

// --- handshake ------------------------------------------------------------------------------------

void SSLProtocol::start_handshake() {
  set_state(State::do_handshake);
  handshake_timeout_handle_ = call_later_on_self(handshake_timeout_, &SSLProtocol::check_handshake_timeout);
  do_handshake();
}

void SSLProtocol::check_handshake_timeout() {
  if (state_ != State::do_handshake) return;
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%g", handshake_timeout_);
  fatal_error(
      std::make_exception_ptr(ConnectionAbortedError(ECONNABORTED, std::string("SSL handshake is taking longer than ") +
                                                                       seconds + " seconds: aborting the connection")),
      "SSL handshake timed out");
}

void SSLProtocol::do_handshake() {
  clear_ssl_errors();
  const int ret = SSL_do_handshake(ssl_);
  if (ret == 1) {
    on_handshake_complete(nullptr);
    return;
  }
  try {
    if (again_or_closed(ret, "during the TLS handshake")) {
      process_outgoing();
      return;
    }
    throw SSLEOFError(SSL_ERROR_SYSCALL, "SSL", "UNEXPECTED_EOF_WHILE_READING", "EOF occurred in violation of protocol",
                      "during the TLS handshake");
  } catch (const SSLError&) {
    process_outgoing();  // the alert OpenSSL wrote tells the peer why
    on_handshake_complete(std::current_exception());
  }
}

void SSLProtocol::on_handshake_complete(std::exception_ptr error) {
  handshake_timeout_handle_.cancel();
  if (error) {
    set_state(State::unwrapped);
    fatal_error(error, "SSL handshake failed");
    wakeup_waiter(error);
    return;
  }
  set_state(State::wrapped);
  if (app_state_ == AppState::init) {
    app_state_ = AppState::con_made;
    app_protocol_->connection_made(*app_transport_);
  }
  wakeup_waiter(nullptr);
  do_read();
}

// --- shutdown -------------------------------------------------------------------------------------

void SSLProtocol::start_shutdown() {
  if (state_ == State::flushing && !shutdown_timeout_handle_) {
    // The peer's EOF started the flush while the app had paused reading; the app's close() now
    // means it wants no more of it, and the shutdown timeout bounds the rest.
    if (app_transport_) app_transport_->mark_closed();
    arm_shutdown_timeout();
    do_flush();
    return;
  }
  if (state_ == State::flushing || state_ == State::shutdown || state_ == State::unwrapped) return;
  if (app_transport_) app_transport_->mark_closed();
  if (state_ == State::do_handshake) {
    abort(nullptr);
    return;
  }
  set_state(State::flushing);
  arm_shutdown_timeout();
  do_flush();
}

void SSLProtocol::arm_shutdown_timeout() {
  if (!shutdown_timeout_handle_) {
    shutdown_timeout_handle_ = call_later_on_self(shutdown_timeout_, &SSLProtocol::check_shutdown_timeout);
  }
}

void SSLProtocol::check_shutdown_timeout() {
  if (state_ != State::flushing && state_ != State::shutdown) return;
  // A peer that never answers close_notify (usual with TLS 1.3 clients) no longer holds us.
  fatal_ = std::make_exception_ptr(TimeoutError("SSL shutdown timed out"));
  if (transport_ != nullptr) transport_->abort();
}

void SSLProtocol::do_flush() {
  do_read();
  if (state_ != State::flushing) return;  // the read failed: the connection is gone
  // Everything the peer sent before its EOF or close_notify reaches the app before the session
  // ends (CPython moves on after one read, losing what did not fit the app's buffer): a read that
  // filled the buffer comes back here, and so does a paused app once it resumes, unless it was the
  // app that closed (it wants no more). The shutdown timeout bounds the wait.
  if (read_scheduled_) return;
  const bool undelivered = SSL_pending(ssl_) > 0 || cipher_in_.size() > 0;
  const bool app_closed = app_transport_ != nullptr && app_transport_->closed_by_app();
  if (app_reading_paused_ && undelivered && !app_closed && app_state_ == AppState::con_made) return;
  set_state(State::shutdown);
  // After the peer's EOF the flush had no deadline (a paused app may take its time over what
  // arrived); sending what the app wrote and close_notify has one, however the flush began.
  arm_shutdown_timeout();
  do_shutdown();
}

void SSLProtocol::do_shutdown() {
  if (state_ != State::shutdown) return;
  // Whatever the app wrote goes out before close_notify.
  do_write();
  if (!write_backlog_.empty()) return;  // the plain transport's writing is paused: resume_writing() comes back
  clear_ssl_errors();
  int ret = 1;
  if (!eof_received_) {
    ret = SSL_shutdown(ssl_);
    if (ret == 0) ret = SSL_shutdown(ssl_);  // sent ours; now wait for theirs
  }
  if (ret == 1) {
    process_outgoing();
    call_eof_received();
    on_shutdown_complete(nullptr);
    return;
  }
  try {
    if (again_or_closed(ret, "during the TLS shutdown")) {
      process_outgoing();
      return;
    }
    // The peer closed its side (EOF after our close_notify): the session is over.
    process_outgoing();
    call_eof_received();
    on_shutdown_complete(nullptr);
  } catch (const SSLError&) {
    on_shutdown_complete(std::current_exception());
  }
}

void SSLProtocol::on_shutdown_complete(std::exception_ptr error) {
  shutdown_timeout_handle_.cancel();
  if (error) {
    fatal_error(error, "Fatal error on SSL protocol");
    return;
  }
  if (transport_ != nullptr) {
    // From the loop, as CPython: after what process_outgoing() handed over.
    std::weak_ptr<SSLProtocol> self = weak_from_this();
    loop_.call_soon([self] {
      if (auto p = self.lock(); p && p->transport_ != nullptr) p->transport_->close();
    });
  }
}

void SSLProtocol::abort(std::exception_ptr error) {
  set_state(State::unwrapped);
  if (error) fatal_ = error;
  if (transport_ != nullptr) transport_->abort();
}

// --- writing --------------------------------------------------------------------------------------

void SSLProtocol::write_appdata(std::string_view data) {
  if (state_ == State::flushing || state_ == State::shutdown || state_ == State::unwrapped) {
    // As CPython (and the plain transports): writes after close or loss are dropped, and from the
    // fifth on a warning says so.
    if (conn_lost_writes_ >= 5) log(LogLevel::warning, "SSL connection is closed");
    ++conn_lost_writes_;
    return;
  }
  if (data.empty()) return;
  try {
    if (state_ == State::wrapped && write_backlog_.empty() && !ssl_writing_paused_) {
      // The common case: encrypted straight from the caller's bytes, no copy of the plaintext.
      data.remove_prefix(encrypt(data));
      process_outgoing();
      if (data.empty()) return;
    }
    write_backlog_.emplace_back(data);
    write_backlog_bytes_ += data.size();
    if (state_ == State::wrapped) do_write();
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error on SSL protocol");
  }
}

std::size_t SSLProtocol::encrypt(std::string_view data) {
  clear_ssl_errors();
  std::size_t written = 0;
  const int ret = SSL_write_ex(ssl_, data.data(), data.size(), &written);
  if (ret == 1) return written;
  if (again_or_closed(ret, "writing TLS data")) return 0;
  throw SSLZeroReturnError(SSL_ERROR_ZERO_RETURN, "SSL", "ZERO_RETURN", "TLS/SSL connection has been closed (EOF)",
                           "writing TLS data");
}

void SSLProtocol::do_write() {
  if (ssl_writing_paused_) {
    control_app_writing();
    return;
  }
  // Encrypt the backlog while the plain transport takes what comes out, so the outgoing BIO holds
  // one batch at most.
  while (!write_backlog_.empty()) {
    std::string& data = write_backlog_.front();
    const std::size_t written = encrypt(data);
    if (written == 0) break;  // OpenSSL wants to read first: the next record in comes back here
    write_backlog_bytes_ -= written;
    if (written < data.size()) {
      data.erase(0, written);
    } else {
      write_backlog_.pop_front();
    }
    process_outgoing();
    if (ssl_writing_paused_) break;
  }
  process_outgoing();
}

void SSLProtocol::process_outgoing() {
  if (!ssl_writing_paused_ && transport_ != nullptr && !cipher_out_.empty()) {
    // The plain transport copies only what the socket does not take now. What it was handed is
    // dropped after the call, not before: nothing OpenSSL adds meanwhile may be lost.
    const std::size_t n = cipher_out_.size();
    transport_->write(std::string_view(cipher_out_.data(), n));
    cipher_out_.erase(0, n);
  }
  control_app_writing();
}

std::size_t SSLProtocol::write_buffer_size() const noexcept { return cipher_out_.size() + write_backlog_bytes_; }

void SSLProtocol::control_app_writing() {
  // Only between connection_made and connection_lost does the app hear of flow control.
  if (app_state_ != AppState::con_made && app_state_ != AppState::eof) return;
  const std::size_t size = write_buffer_size();
  if (size >= outgoing_high_water_ && !app_writing_paused_) {
    app_writing_paused_ = true;
    try {
      app_protocol_->pause_writing();
    } catch (...) {
      ExceptionContext context;
      context.message = "protocol.pause_writing() failed";
      context.exception = std::current_exception();
      loop_.call_exception_handler(context);
    }
  } else if (size <= outgoing_low_water_ && app_writing_paused_) {
    app_writing_paused_ = false;
    try {
      app_protocol_->resume_writing();
    } catch (...) {
      ExceptionContext context;
      context.message = "protocol.resume_writing() failed";
      context.exception = std::current_exception();
      loop_.call_exception_handler(context);
    }
  }
}

void SSLProtocol::set_write_buffer_limits(std::size_t high, std::size_t low) {
  outgoing_high_water_ = high;
  outgoing_low_water_ = low;
  control_app_writing();
}

// --- reading --------------------------------------------------------------------------------------

void SSLProtocol::do_read() {
  if (state_ != State::wrapped && state_ != State::flushing) return;
  try {
    if (!app_reading_paused_) {
      if (app_buffered_ != nullptr) {
        do_read_buffered();
      } else {
        do_read_copied();
      }
      if (!write_backlog_.empty()) {
        do_write();
      } else {
        process_outgoing();
      }
    }
    control_ssl_reading();
  } catch (...) {
    fatal_error(std::current_exception(), "Fatal error on SSL protocol");
  }
}

void SSLProtocol::do_read_buffered() {
  if (app_state_ != AppState::con_made) return;  // after eof_received, no more get_buffer()
  std::span<char> buf = app_buffered_->get_buffer(read_buffer_size() > 0 ? read_buffer_size() : kMaxSize);
  if (buf.empty()) throw RuntimeError("get_buffer() returned an empty buffer");
  std::size_t offset = 0;
  bool closed = false;
  while (offset < buf.size()) {
    clear_ssl_errors();
    std::size_t n = 0;
    const int ret = SSL_read_ex(ssl_, buf.data() + offset, buf.size() - offset, &n);
    if (ret == 1) {
      offset += n;
      continue;
    }
    closed = !again_or_closed(ret, "reading TLS data");
    break;
  }
  if (offset == buf.size() && !read_scheduled_) {
    // The buffer is full and more may be decrypted: come back in the next iteration, after the
    // app had its say (CPython's call_soon(self._do_read)).
    read_scheduled_ = true;
    std::weak_ptr<SSLProtocol> self = weak_from_this();
    loop_.call_soon([self] {
      if (auto p = self.lock()) {
        p->read_scheduled_ = false;
        if (p->state_ == State::flushing) {
          p->do_flush();
        } else {
          p->do_read();
        }
      }
    });
  }
  if (offset > 0) app_buffered_->buffer_updated(offset);
  if (closed) {
    call_eof_received();
    start_shutdown();
  }
}

void SSLProtocol::do_read_copied() {
  if (app_state_ != AppState::con_made) return;  // after eof_received, no more data_received()
  // Decrypt everything available into the buffer (one data_received for it all, as CPython joins
  // its chunks), up to kMaxSize per call.
  const PlaintextBuffer buffer;
  std::size_t offset = 0;
  bool closed = false;
  for (;;) {
    if (offset == buffer.size()) {
      if (app_plain_ != nullptr) app_plain_->data_received(std::string_view(buffer.data(), offset));
      offset = 0;
      if (app_reading_paused_ || (state_ != State::wrapped && state_ != State::flushing)) return;
    }
    clear_ssl_errors();
    std::size_t n = 0;
    const int ret = SSL_read_ex(ssl_, buffer.data() + offset, buffer.size() - offset, &n);
    if (ret == 1) {
      offset += n;
      continue;
    }
    closed = !again_or_closed(ret, "reading TLS data");
    break;
  }
  if (offset > 0 && app_plain_ != nullptr) app_plain_->data_received(std::string_view(buffer.data(), offset));
  if (closed) {
    call_eof_received();
    start_shutdown();
  }
}

void SSLProtocol::call_eof_received() {
  if (app_state_ != AppState::con_made) return;
  app_state_ = AppState::eof;
  try {
    bool keep_open = false;
    if (app_plain_ != nullptr) keep_open = app_plain_->eof_received();
    if (app_buffered_ != nullptr) keep_open = app_buffered_->eof_received();
    if (keep_open) log(LogLevel::warning, "returning true from eof_received() has no effect when using ssl");
  } catch (...) {
    fatal_error(std::current_exception(), "Error calling eof_received()");
  }
}

std::size_t SSLProtocol::read_buffer_size() const noexcept { return cipher_in_.size(); }

void SSLProtocol::control_ssl_reading() {
  if (transport_ == nullptr) return;
  const std::size_t size = read_buffer_size();
  if (size >= incoming_high_water_ && !ssl_reading_paused_) {
    ssl_reading_paused_ = true;
    transport_->pause_reading();
  } else if (size <= incoming_low_water_ && ssl_reading_paused_) {
    ssl_reading_paused_ = false;
    transport_->resume_reading();
  }
}

void SSLProtocol::pause_app_reading() { app_reading_paused_ = true; }

void SSLProtocol::resume_app_reading() {
  if (!app_reading_paused_) return;
  app_reading_paused_ = false;
  std::weak_ptr<SSLProtocol> self = weak_from_this();
  loop_.call_soon([self] {
    if (auto p = self.lock()) {
      if (p->state_ == State::wrapped) {
        p->do_read();
      } else if (p->state_ == State::flushing) {
        p->do_flush();
      } else if (p->state_ == State::shutdown) {
        p->do_shutdown();
      }
    }
  });
}

// --- errors ---------------------------------------------------------------------------------------

bool SSLProtocol::again_or_closed(int ret, const char* context) {
  const int error = SSL_get_error(ssl_, ret);
  switch (error) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return true;
    case SSL_ERROR_ZERO_RETURN:
      return false;  // close_notify
    default:
      raise_ssl_error(error, context, ssl_);
  }
}

void SSLProtocol::fatal_error(std::exception_ptr error, const char* message) {
  if (!fatal_) fatal_ = error;
  if (!is_quiet(error) || loop_.get_debug()) {
    ExceptionContext context;
    context.message = message;
    context.exception = error;
    context.handle = "<SSLProtocol>";
    loop_.call_exception_handler(context);
  }
  set_state(State::unwrapped);
  if (transport_ != nullptr) transport_->abort();
}

void SSLProtocol::wakeup_waiter(std::exception_ptr error) {
  if (!waiter_ || waiter_.done()) return;
  if (error) {
    waiter_.set_exception(std::move(error));
  } else {
    waiter_.set_result();
  }
}

// --- SSLTransport ---------------------------------------------------------------------------------

std::any SSLTransport::get_extra_info(std::string_view name) const {
  auto p = protocol_.lock();
  return p ? p->extra_info(name) : std::any();
}

void SSLTransport::close() {
  user_closed_ = true;
  if (closed_) return;
  closed_ = true;
  if (auto p = protocol_.lock()) p->start_shutdown();
}

void SSLTransport::set_protocol(std::shared_ptr<BaseProtocol> protocol) {
  if (auto p = protocol_.lock()) p->set_app_protocol(std::move(protocol));
}

std::shared_ptr<BaseProtocol> SSLTransport::get_protocol() const {
  auto p = protocol_.lock();
  return p ? p->app_protocol() : nullptr;
}

bool SSLTransport::is_reading() const noexcept {
  auto p = protocol_.lock();
  return p && !p->app_reading_paused();
}

void SSLTransport::pause_reading() {
  if (auto p = protocol_.lock()) p->pause_app_reading();
}

void SSLTransport::resume_reading() {
  if (auto p = protocol_.lock()) p->resume_app_reading();
}

void SSLTransport::write(std::string_view data) {
  // After close(), abort() or the end of the connection the data is dropped (write_appdata, from
  // flushing on), with CPython's warning from the fifth write.
  if (auto p = protocol_.lock()) p->write_appdata(data);
}

void SSLTransport::writelines(std::span<const std::string_view> data) {
  for (std::string_view d : data) write(d);
}

void SSLTransport::write_eof() { throw RuntimeError("SSL doesn't support half-closes"); }

void SSLTransport::abort() {
  user_closed_ = true;
  closed_ = true;
  if (auto p = protocol_.lock()) p->abort(nullptr);
}

std::size_t SSLTransport::get_write_buffer_size() const noexcept {
  auto p = protocol_.lock();
  return p ? p->write_buffer_size() : 0;
}

void SSLTransport::set_write_buffer_limits(std::size_t high, std::size_t low) {
  if (low > high) throw ValueError("high (" + std::to_string(high) + ") must be >= low (" + std::to_string(low) + ")");
  if (auto p = protocol_.lock()) p->set_write_buffer_limits(high, low);
}

std::pair<std::size_t, std::size_t> SSLTransport::get_write_buffer_limits() const noexcept {
  auto p = protocol_.lock();
  return p ? p->write_buffer_limits() : std::pair<std::size_t, std::size_t>{128 * 1024, 512 * 1024};  // the defaults
}

std::shared_ptr<SSLProtocol> make_ssl_protocol(EventLoop& loop, std::shared_ptr<BaseProtocol> app_protocol,
                                               const TLSOptions& tls, bool server_side,
                                               const std::string& server_hostname, bool call_connection_made,
                                               Future<void> waiter) {
  auto protocol = std::make_shared<SSLProtocol>(loop, std::move(app_protocol), tls, server_side, server_hostname,
                                                call_connection_made, std::move(waiter));
  protocol->set_app_transport(std::make_shared<SSLTransport>(protocol));
  return protocol;
}

}  // namespace asyncio::detail
