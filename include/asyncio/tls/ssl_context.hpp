#pragma once
/// SSLContext: Python's ssl.SSLContext, the settings a TLS connection is made with (OpenSSL 3's
/// SSL_CTX underneath), and create_default_context(), the everyday way to get one.
///
///   auto client = asyncio::create_default_context();                   // verify servers: system CAs,
///                                                                      // hostname check, TLS 1.2+
///   auto server = asyncio::create_default_context(asyncio::Purpose::client_auth);
///   server.load_cert_chain("cert.pem", "key.pem");
///   auto [reader, writer] = co_await asyncio::open_connection("example.com", 443, client);
///
/// A context is a shared handle, as a Python context is a shared object: copies are the same
/// context (settings made through one are seen through all), and every connection made with it
/// keeps it alive. Set it up before the first connection uses it; OpenSSL reads it from the
/// connection's thread, so a context shared by loops in several threads must no longer change.
///
/// Errors: what Python raises (SSLError with OpenSSL's reason, FileNotFoundError for a missing
/// file, ValueError for a bad argument); the message says what was being loaded or set.

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "asyncio/tls/ssl_errors.hpp"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX: the header need not include OpenSSL's

namespace asyncio {

/// Python's ssl.Purpose: what the certificates a context verifies are for.
enum class Purpose {
  /// Verifying servers: a client's context (Python's Purpose.SERVER_AUTH, the default).
  server_auth,
  /// Verifying clients: a server's context (Python's Purpose.CLIENT_AUTH).
  client_auth,
};

/// Python's ssl.VerifyMode: whether the peer's certificate is asked for and checked.
enum class VerifyMode {
  cert_none,      ///< Python's CERT_NONE: a client accepts any server; a server asks for nothing
  cert_optional,  ///< CERT_OPTIONAL: a server verifies a client certificate if one is sent
  cert_required,  ///< CERT_REQUIRED: the peer must present a certificate that verifies
};

/// Python's ssl.TLSVersion (the versions OpenSSL 3 still speaks).
enum class TLSVersion {
  minimum_supported,  ///< no lower bound
  tlsv1,
  tlsv1_1,
  tlsv1_2,
  tlsv1_3,
  maximum_supported,  ///< no upper bound
};

/// Python's SSLContext(PROTOCOL_TLS_CLIENT) or SSLContext(PROTOCOL_TLS_SERVER).
class SSLContext {
 public:
  /// Which end of connections the context is for (Python's PROTOCOL_TLS_CLIENT/_SERVER).
  enum class Side { client, server };

  /// A new context with OpenSSL's defaults and Python's: a client context verifies the server
  /// (CERT_REQUIRED, check_hostname) but loads no CA certificates (load_default_certs() or
  /// load_verify_locations()); a server context asks clients for nothing. Both refuse SSLv3,
  /// compression and renegotiation.
  explicit SSLContext(Side side);

  /// The side the context was made for.
  [[nodiscard]] Side side() const noexcept;

  /// Python's load_cert_chain(certfile, keyfile=None, password=None): this end's certificate
  /// (a PEM file, with its chain) and private key (in `certfile` when `keyfile` is empty),
  /// decrypted with `password` if encrypted. SSLError if the key does not match the certificate.
  void load_cert_chain(const std::string& certfile, const std::string& keyfile = {},
                       std::optional<std::string> password = std::nullopt);

  /// Python's load_verify_locations(cafile, capath, cadata): CA certificates to verify peers
  /// with, from a PEM file, a directory prepared with `openssl rehash`, or PEM text. ValueError
  /// if all three are empty.
  void load_verify_locations(const std::string& cafile = {}, const std::string& capath = {},
                             std::string_view cadata = {});

  /// Python's load_default_certs() / set_default_verify_paths(): the system's CA store.
  void load_default_certs();

  /// Python's set_alpn_protocols(["h2", "http/1.1"]): the protocols this end offers (a client) or
  /// accepts, in order of preference (a server picks the first of its list the client offers).
  /// ValueError for an empty name or one longer than 255 bytes.
  void set_alpn_protocols(std::span<const std::string> protocols);
  void set_alpn_protocols(std::initializer_list<std::string> protocols) {
    const std::vector<std::string> list(protocols);
    set_alpn_protocols(std::span<const std::string>(list));
  }

  /// Python's verify_mode. Setting cert_none while check_hostname is on is a ValueError
  /// ("Cannot set verify_mode to CERT_NONE when check_hostname is enabled."), as in Python.
  [[nodiscard]] VerifyMode verify_mode() const noexcept;
  void set_verify_mode(VerifyMode mode);

  /// Python's check_hostname: a client verifies that the server's certificate is for the
  /// server_hostname it connected to. Turning it on turns verify_mode cert_none into
  /// cert_required, as in Python.
  [[nodiscard]] bool check_hostname() const noexcept;
  void set_check_hostname(bool check);

  /// Python's minimum_version / maximum_version.
  [[nodiscard]] TLSVersion minimum_version() const noexcept;
  void set_minimum_version(TLSVersion version);
  [[nodiscard]] TLSVersion maximum_version() const noexcept;
  void set_maximum_version(TLSVersion version);

  /// Python's set_ciphers("ECDHE+AESGCM:..."): the TLS 1.2 cipher suites (OpenSSL's cipher list
  /// syntax). SSLError("No cipher can be selected.") if none matches.
  void set_ciphers(const std::string& ciphers);

  /// The OpenSSL context, for what this class does not wrap (SSL_CTX_set_* calls). It lives as long
  /// as any copy of this context or any connection made with it.
  [[nodiscard]] ssl_ctx_st* native_handle() const noexcept;

  /// Two handles of the same context.
  friend bool operator==(const SSLContext& a, const SSLContext& b) noexcept { return a.state_ == b.state_; }

  /// For the TLS transport: the ALPN list as OpenSSL wants it (length-prefixed names).
  [[nodiscard]] const std::string& alpn_wire() const noexcept;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

/// Python's ssl.create_default_context(purpose, cafile=None, capath=None, cadata=None): a context
/// with the recommended settings. server_auth (a client's context): CERT_REQUIRED,
/// check_hostname, TLS 1.2 minimum, the system's CA store unless cafile/capath/cadata name CAs.
/// client_auth (a server's context): TLS 1.2 minimum, no client certificate asked for; load its
/// own certificate with load_cert_chain().
SSLContext create_default_context(Purpose purpose = Purpose::server_auth, const std::string& cafile = {},
                                  const std::string& capath = {}, std::string_view cadata = {});

}  // namespace asyncio
