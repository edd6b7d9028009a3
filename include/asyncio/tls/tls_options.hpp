#pragma once
/// TLSOptions: what asyncio's `ssl=`, `server_hostname=`, `ssl_handshake_timeout=` and
/// `ssl_shutdown_timeout=` keyword arguments say, for every entry point that takes them
/// (create_connection, open_connection, create_server, start_server, their Unix variants,
/// connect_accepted_socket, start_tls).
///
///   co_await asyncio::open_connection("example.com", 443, ctx);                  // the defaults
///   co_await asyncio::open_connection("10.0.0.5", 443,
///       asyncio::TLSOptions(ctx).server_hostname("api.example.com").handshake_timeout(10));
///
/// A class rather than a struct of fields on purpose: an aggregate with a std::string, built inside
/// a co_await expression, is destroyed twice by g++ 12.

#include <optional>
#include <string>
#include <utility>

#include "asyncio/tls/ssl_context.hpp"

namespace asyncio {

class TLSOptions {
 public:
  /// Python's `ssl=context` with every other TLS argument at its default. Implicit, so that the
  /// context itself can be passed.
  TLSOptions(SSLContext context) : context_(std::move(context)) {}  // NOLINT: ssl=ctx

  /// Python's server_hostname=: the name a client sends in SNI and, with check_hostname, checks
  /// the server's certificate against. By default the host connected to (create_connection,
  /// open_connection); "" sends no SNI and checks no name (then check_hostname must be off).
  /// A server ignores it.
  TLSOptions& server_hostname(std::string name) {
    server_hostname_ = std::move(name);
    return *this;
  }
  /// Python's ssl_handshake_timeout= (default 60 s): a handshake not done by then aborts the
  /// connection with ConnectionAbortedError.
  TLSOptions& handshake_timeout(double seconds) {
    handshake_timeout_ = seconds;
    return *this;
  }
  /// Python's ssl_shutdown_timeout= (default 30 s): after close(), a peer that does not answer
  /// close_notify by then no longer holds the connection.
  TLSOptions& shutdown_timeout(double seconds) {
    shutdown_timeout_ = seconds;
    return *this;
  }

  [[nodiscard]] const SSLContext& context() const noexcept { return context_; }
  [[nodiscard]] const std::optional<std::string>& server_hostname() const noexcept { return server_hostname_; }
  [[nodiscard]] double handshake_timeout() const noexcept { return handshake_timeout_; }
  [[nodiscard]] double shutdown_timeout() const noexcept { return shutdown_timeout_; }

 private:
  SSLContext context_;
  std::optional<std::string> server_hostname_;
  double handshake_timeout_ = 60.0;
  double shutdown_timeout_ = 30.0;
};

}  // namespace asyncio
