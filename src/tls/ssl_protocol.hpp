#pragma once
// The TLS transport (CPython's sslproto.py, which came from uvloop's sslproto.pyx): an
// SSLProtocol sits on a plain transport as its protocol, runs OpenSSL over two memory BIOs, and
// gives the user's protocol an SSLTransport. Internal to src/tls: the public headers reach it
// through the detail functions of tls/connection.hpp, and never include OpenSSL's.
//
// States (SSLProtocol::State), as CPython's:
//   unwrapped -> do_handshake -> wrapped -> flushing -> shutdown -> unwrapped
// do_handshake runs SSL_do_handshake as records arrive; a handshake not done within the
// handshake timeout aborts the connection. wrapped moves application data both ways. close() of
// the app transport enters flushing (what the peer already sent is still delivered, what the app
// wrote is still sent), then shutdown (close_notify sent, the peer's awaited); the shutdown timeout
// bounds both, after which the plain transport is aborted. abort() and every fatal error go to
// unwrapped at once.
//
// Where bytes are copied: the plain transport reads ciphertext straight into the buffer OpenSSL
// reads its records from (get_buffer/buffer_updated into a CipherInput, cipher_bio.hpp); plaintext
// is decrypted by SSL_read straight into a BufferedProtocol's buffer, or into a buffer shared by the
// thread's connections for a Protocol's data_received (the copy OpenSSL's decryption forces); application data is
// encrypted from the caller's bytes when it can go at once, else copied into the write backlog by write() (it must
// wait: the handshake, or the plain transport's writing paused); SSL_write puts the records into the outgoing buffer,
// whose bytes are handed to the plain transport's write() in place, which copies only what the socket cannot take at
// once. Neither buffer is ever zero-filled (OpenSSL's memory BIOs were: see cipher_bio.hpp).
//
// Flow control, as CPython: the app's writes wait in a backlog while the plain transport's
// writing is paused; the app gets pause_writing() when backlog plus outgoing buffer pass the
// high-water mark (512 KiB by default) and resume_writing() at the low one. The app's
// pause_reading() stops decryption; ciphertext then piles up in the incoming buffer until its
// high-water mark (256 KiB), where the plain transport's reading is paused.

#include <openssl/ssl.h>

#include <any>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "asyncio/loop/handle.hpp"
#include "asyncio/net/protocol.hpp"
#include "asyncio/net/transport.hpp"
#include "asyncio/task/future.hpp"
#include "asyncio/tls/tls_options.hpp"
#include "cipher_bio.hpp"

namespace asyncio::detail {

class SSLTransport;

class SSLProtocol final : public BufferedProtocol, public std::enable_shared_from_this<SSLProtocol> {
 public:
  enum class State { unwrapped, do_handshake, wrapped, flushing, shutdown };
  /// What the app protocol has been told: nothing yet, connection_made, eof_received,
  /// connection_lost.
  enum class AppState { init, con_made, eof, con_lost };

  /// `waiter` completes when the handshake ends (with its error if it fails); the app protocol's
  /// connection_made is called then unless `call_connection_made` is false (start_tls: the app
  /// protocol already has its connection). `server_hostname` (client only; empty: none) is sent
  /// in SNI and checked if the context says check_hostname.
  SSLProtocol(EventLoop& loop, std::shared_ptr<BaseProtocol> app_protocol, const TLSOptions& tls, bool server_side,
              const std::string& server_hostname, bool call_connection_made, Future<void> waiter);
  ~SSLProtocol() override;
  SSLProtocol(const SSLProtocol&) = delete;
  SSLProtocol& operator=(const SSLProtocol&) = delete;

  /// The transport the app protocol gets.
  [[nodiscard]] std::shared_ptr<SSLTransport> app_transport() const noexcept { return app_transport_; }
  /// For make_ssl_protocol: the app transport, made once the protocol is owned by a shared_ptr.
  void set_app_transport(std::shared_ptr<SSLTransport> transport) noexcept { app_transport_ = std::move(transport); }
  [[nodiscard]] State state() const noexcept { return state_; }

  // --- from the plain transport ---
  void connection_made(BaseTransport& transport) override;
  void connection_lost(std::exception_ptr error) override;
  void pause_writing() override;
  void resume_writing() override;
  std::span<char> get_buffer(std::size_t size_hint) override;
  void buffer_updated(std::size_t n) override;
  bool eof_received() override;

  // --- for SSLTransport ---
  void write_appdata(std::string_view data);
  void start_shutdown();
  void abort(std::exception_ptr error);
  void pause_app_reading();
  void resume_app_reading();
  [[nodiscard]] bool app_reading_paused() const noexcept { return app_reading_paused_; }
  void set_write_buffer_limits(std::size_t high, std::size_t low);
  [[nodiscard]] std::pair<std::size_t, std::size_t> write_buffer_limits() const noexcept {
    return {outgoing_low_water_, outgoing_high_water_};
  }
  [[nodiscard]] std::size_t write_buffer_size() const noexcept;
  [[nodiscard]] std::any extra_info(std::string_view name) const;
  [[nodiscard]] Transport* plain_transport() const noexcept { return transport_; }
  [[nodiscard]] std::shared_ptr<BaseProtocol> app_protocol() const noexcept { return app_protocol_; }
  void set_app_protocol(std::shared_ptr<BaseProtocol> protocol);

 private:
  void set_state(State s) noexcept { state_ = s; }
  void start_handshake();
  void check_handshake_timeout();
  void do_handshake();
  void on_handshake_complete(std::exception_ptr error);
  /// Arms the shutdown timeout unless it already runs.
  void arm_shutdown_timeout();
  void check_shutdown_timeout();
  void do_flush();
  void do_shutdown();
  void on_shutdown_complete(std::exception_ptr error);
  /// Calls `method` on this protocol after `delay` seconds, if it still exists then.
  Handle call_later_on_self(double delay, void (SSLProtocol::*method)());
  void do_write();
  /// SSL_write of `data` into the outgoing buffer: how much OpenSSL took (all of it, as that buffer
  /// never refuses, or none when it must read first). Throws SSLError, or SSLZeroReturnError for a
  /// session already closed.
  std::size_t encrypt(std::string_view data);
  void process_outgoing();
  void do_read();
  void do_read_buffered();
  void do_read_copied();
  void call_eof_received();
  void control_app_writing();
  void control_ssl_reading();
  [[nodiscard]] std::size_t read_buffer_size() const noexcept;
  void fatal_error(std::exception_ptr error, const char* message);
  void wakeup_waiter(std::exception_ptr error);
  /// What OpenSSL's last call means: true to wait for more records (want read/write), false for
  /// the end of the session (zero return); throws the SSLError for anything else.
  bool again_or_closed(int ret, const char* context);

  EventLoop& loop_;
  std::shared_ptr<BaseProtocol> app_protocol_;
  Protocol* app_plain_ = nullptr;             // app_protocol_ as a Protocol, if it is one
  BufferedProtocol* app_buffered_ = nullptr;  // or as a BufferedProtocol
  std::shared_ptr<SSLTransport> app_transport_;
  SSLContext context_;
  Transport* transport_ = nullptr;  // the plain transport, from connection_made to connection_lost
  SSL* ssl_ = nullptr;
  CipherInput cipher_in_;    // ciphertext received, for OpenSSL to read (through incoming_)
  std::string cipher_out_;   // ciphertext OpenSSL wrote (through outgoing_), for the plain transport
  BIO* incoming_ = nullptr;  // owned by ssl_, like outgoing_
  BIO* outgoing_ = nullptr;
  Future<void> waiter_;
  double handshake_timeout_;
  double shutdown_timeout_;
  Handle handshake_timeout_handle_;
  Handle shutdown_timeout_handle_;
  std::exception_ptr fatal_;  // what ended the connection, for the app's connection_lost
  std::deque<std::string> write_backlog_;
  std::size_t write_backlog_bytes_ = 0;
  std::size_t incoming_high_water_ = 256 * 1024;
  std::size_t incoming_low_water_ = 64 * 1024;
  std::size_t outgoing_high_water_ = 512 * 1024;
  std::size_t outgoing_low_water_ = 128 * 1024;
  int conn_lost_writes_ = 0;
  State state_ = State::unwrapped;
  AppState app_state_;
  bool eof_received_ = false;
  bool ssl_writing_paused_ = false;
  bool ssl_reading_paused_ = false;
  bool app_reading_paused_ = false;
  bool app_writing_paused_ = false;
  bool read_scheduled_ = false;
};

/// Python's _SSLProtocolTransport: what the app protocol writes to. Its SSLProtocol owns it for the
/// whole connection (the app protocol holds a reference); the transport only observes the
/// protocol, so a user's std::shared_ptr<Transport> kept after the connection is gone makes no
/// cycle: then it is closed, writes are dropped and get_extra_info() is empty.
class SSLTransport final : public Transport {
 public:
  explicit SSLTransport(std::weak_ptr<SSLProtocol> protocol) noexcept : protocol_(std::move(protocol)) {}

  [[nodiscard]] std::any get_extra_info(std::string_view name) const override;
  /// Also once the connection is gone (its protocol with it), however that happened.
  [[nodiscard]] bool is_closing() const noexcept override { return closed_ || protocol_.expired(); }
  void close() override;
  void set_protocol(std::shared_ptr<BaseProtocol> protocol) override;
  [[nodiscard]] std::shared_ptr<BaseProtocol> get_protocol() const override;
  [[nodiscard]] bool is_reading() const noexcept override;
  void pause_reading() override;
  void resume_reading() override;
  void write(std::string_view data) override;
  void writelines(std::span<const std::string_view> data) override;
  /// TLS has no half-close: NotImplementedError in Python, RuntimeError here.
  void write_eof() override;
  [[nodiscard]] bool can_write_eof() const noexcept override { return false; }
  void abort() override;
  [[nodiscard]] std::size_t get_write_buffer_size() const noexcept override;
  void set_write_buffer_limits(std::size_t high, std::size_t low) override;
  using WriteTransport::set_write_buffer_limits;
  [[nodiscard]] std::pair<std::size_t, std::size_t> get_write_buffer_limits() const noexcept override;

  /// close() was called, or the connection is closing or gone (Python's `_closed`).
  void mark_closed() noexcept { closed_ = true; }
  /// The app called close() or abort() (rather than the peer or a failure ending the session).
  [[nodiscard]] bool closed_by_app() const noexcept { return user_closed_; }

 private:
  std::weak_ptr<SSLProtocol> protocol_;
  bool closed_ = false;
  bool user_closed_ = false;  // by close() or abort(): the app wants nothing more of the peer
};

/// A new SSLProtocol with its app transport (see the constructor).
std::shared_ptr<SSLProtocol> make_ssl_protocol(EventLoop& loop, std::shared_ptr<BaseProtocol> app_protocol,
                                               const TLSOptions& tls, bool server_side,
                                               const std::string& server_hostname, bool call_connection_made,
                                               Future<void> waiter);

}  // namespace asyncio::detail
