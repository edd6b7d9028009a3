// SSLContext over OpenSSL 3's SSL_CTX, with Python's defaults and rules.

#include "asyncio/tls/ssl_context.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "asyncio/exceptions.hpp"
#include "openssl_error.hpp"

namespace asyncio {

struct SSLContext::State {
  SSL_CTX* ctx = nullptr;
  Side side = Side::client;
  bool check_hostname = false;
  std::string alpn_wire;  // the ALPN names, each prefixed by its length (OpenSSL's format)

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() { SSL_CTX_free(ctx); }
};

namespace {

// A file OpenSSL would fail to open with a vague error: Python's FileNotFoundError/PermissionError.
void check_readable(const std::string& path, const char* what) {
  if (::access(path.c_str(), R_OK) != 0) throw_os_error(errno, std::string(what) + "(" + path + ")");
}

int version_code(TLSVersion v) {
  switch (v) {
    case TLSVersion::minimum_supported:
    case TLSVersion::maximum_supported:
      return 0;  // OpenSSL: no bound
    case TLSVersion::tlsv1:
      return TLS1_VERSION;
    case TLSVersion::tlsv1_1:
      return TLS1_1_VERSION;
    case TLSVersion::tlsv1_2:
      return TLS1_2_VERSION;
    case TLSVersion::tlsv1_3:
      return TLS1_3_VERSION;
  }
  return 0;
}

TLSVersion version_of(long code, TLSVersion unbounded) {
  switch (code) {
    case TLS1_VERSION:
      return TLSVersion::tlsv1;
    case TLS1_1_VERSION:
      return TLSVersion::tlsv1_1;
    case TLS1_2_VERSION:
      return TLSVersion::tlsv1_2;
    case TLS1_3_VERSION:
      return TLSVersion::tlsv1_3;
    default:
      return unbounded;
  }
}

// The server's ALPN choice: its first protocol that the client offered (RFC 7301); none in common
// is no error (the connection goes on without ALPN), as in Python.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
                void* arg) {
  const auto* wire = static_cast<const std::string*>(arg);
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, reinterpret_cast<const unsigned char*>(wire->data()),
                            static_cast<unsigned int>(wire->size()), in, inlen) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

int password_callback(char* buf, int size, int, void* userdata) {
  const auto* password = static_cast<const std::string*>(userdata);
  if (password == nullptr || static_cast<int>(password->size()) >= size) return -1;
  std::memcpy(buf, password->data(), password->size());
  return static_cast<int>(password->size());
}

}  // namespace

SSLContext::SSLContext(Side side) : state_(std::make_shared<State>()) {
  detail::clear_ssl_errors();
  state_->side = side;
  state_->ctx = SSL_CTX_new(side == Side::client ? TLS_client_method() : TLS_server_method());
  if (state_->ctx == nullptr) detail::raise_ssl_error(SSL_ERROR_SSL, "creating an SSL context");
  // Python's defaults: no SSLv3 (whatever OpenSSL was built with), no compression (CRIME), no
  // renegotiation (its attacks and its DoS), the server's cipher order, fresh (EC)DH keys.
  SSL_CTX_set_options(state_->ctx, SSL_OP_NO_SSLv3 | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                       SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_SINGLE_DH_USE | SSL_OP_SINGLE_ECDH_USE);
  // Writes go into a memory BIO, which never blocks: SSL_write takes all or fails.
  SSL_CTX_set_mode(state_->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  if (side == Side::client) {
    SSL_CTX_set_verify(state_->ctx, SSL_VERIFY_PEER, nullptr);
    state_->check_hostname = true;
  } else {
    SSL_CTX_set_verify(state_->ctx, SSL_VERIFY_NONE, nullptr);
  }
}

SSLContext::Side SSLContext::side() const noexcept { return state_->side; }

ssl_ctx_st* SSLContext::native_handle() const noexcept { return state_->ctx; }

const std::string& SSLContext::alpn_wire() const noexcept { return state_->alpn_wire; }

void SSLContext::load_cert_chain(const std::string& certfile, const std::string& keyfile,
                                 std::optional<std::string> password) {
  const std::string& key = keyfile.empty() ? certfile : keyfile;
  check_readable(certfile, "load_cert_chain");
  check_readable(key, "load_cert_chain");
  detail::clear_ssl_errors();
  SSL_CTX* ctx = state_->ctx;
  SSL_CTX_set_default_passwd_cb(ctx, password_callback);
  SSL_CTX_set_default_passwd_cb_userdata(ctx, password ? &*password : nullptr);
  struct ResetCallback {
    SSL_CTX* ctx;
    ~ResetCallback() {
      SSL_CTX_set_default_passwd_cb(ctx, nullptr);
      SSL_CTX_set_default_passwd_cb_userdata(ctx, nullptr);
    }
  } reset{ctx};
  if (SSL_CTX_use_certificate_chain_file(ctx, certfile.c_str()) != 1) {
    detail::raise_ssl_error(SSL_ERROR_SSL, "loading the certificate chain " + certfile);
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    detail::raise_ssl_error(
        SSL_ERROR_SSL, "loading the private key " + key + (password ? "" : " (an encrypted key needs its password)"));
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    detail::raise_ssl_error(SSL_ERROR_SSL, "the private key " + key + " does not match the certificate " + certfile);
  }
}

void SSLContext::load_verify_locations(const std::string& cafile, const std::string& capath, std::string_view cadata) {
  if (cafile.empty() && capath.empty() && cadata.empty()) {
    throw ValueError("load_verify_locations: cafile, capath and cadata cannot be all omitted");
  }
  detail::clear_ssl_errors();
  if (!cafile.empty()) check_readable(cafile, "load_verify_locations");
  if (!cafile.empty() || !capath.empty()) {
    if (SSL_CTX_load_verify_locations(state_->ctx, cafile.empty() ? nullptr : cafile.c_str(),
                                      capath.empty() ? nullptr : capath.c_str()) != 1) {
      detail::raise_ssl_error(SSL_ERROR_SSL, "loading CA certificates from " + (cafile.empty() ? capath : cafile));
    }
  }
  if (!cadata.empty()) {
    BIO* bio = BIO_new_mem_buf(cadata.data(), static_cast<int>(cadata.size()));
    if (bio == nullptr) detail::raise_ssl_error(SSL_ERROR_SSL, "reading cadata");
    X509_STORE* store = SSL_CTX_get_cert_store(state_->ctx);
    int loaded = 0;
    while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
      const int ok = X509_STORE_add_cert(store, cert);
      X509_free(cert);
      if (ok != 1) {
        BIO_free(bio);
        detail::raise_ssl_error(SSL_ERROR_SSL, "adding a certificate from cadata");
      }
      ++loaded;
    }
    BIO_free(bio);
    detail::clear_ssl_errors();  // the end of the PEM data leaves a "no start line" behind
    if (loaded == 0) throw SSLError(SSL_ERROR_SSL, "PEM", "NO_START_LINE", "no certificate in cadata", "cadata");
  }
}

void SSLContext::load_default_certs() {
  detail::clear_ssl_errors();
  if (SSL_CTX_set_default_verify_paths(state_->ctx) != 1) {
    detail::raise_ssl_error(SSL_ERROR_SSL, "loading the system's CA certificates");
  }
}

void SSLContext::set_alpn_protocols(std::span<const std::string> protocols) {
  std::string wire;
  for (const std::string& p : protocols) {
    if (p.empty() || p.size() > 255) {
      throw ValueError("set_alpn_protocols: a protocol name must be 1 to 255 bytes long, not " +
                       std::to_string(p.size()));
    }
    wire += static_cast<char>(p.size());
    wire += p;
  }
  state_->alpn_wire = std::move(wire);
  const auto* data = reinterpret_cast<const unsigned char*>(state_->alpn_wire.data());
  // (SSL_CTX_set_alpn_protos returns 0 on success.)
  if (SSL_CTX_set_alpn_protos(state_->ctx, data, static_cast<unsigned int>(state_->alpn_wire.size())) != 0) {
    detail::raise_ssl_error(SSL_ERROR_SSL, "setting the ALPN protocols");
  }
  SSL_CTX_set_alpn_select_cb(state_->ctx, select_alpn, &state_->alpn_wire);
}

VerifyMode SSLContext::verify_mode() const noexcept {
  const int mode = SSL_CTX_get_verify_mode(state_->ctx);
  if ((mode & SSL_VERIFY_PEER) == 0) return VerifyMode::cert_none;
  return (mode & SSL_VERIFY_FAIL_IF_NO_PEER_CERT) != 0 || state_->side == Side::client ? VerifyMode::cert_required
                                                                                       : VerifyMode::cert_optional;
}

void SSLContext::set_verify_mode(VerifyMode mode) {
  if (mode == VerifyMode::cert_none && state_->check_hostname) {
    throw ValueError("Cannot set verify_mode to CERT_NONE when check_hostname is enabled.");
  }
  int flags = SSL_VERIFY_NONE;
  if (mode == VerifyMode::cert_optional) flags = SSL_VERIFY_PEER;
  if (mode == VerifyMode::cert_required) flags = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_CTX_set_verify(state_->ctx, flags, nullptr);
}

bool SSLContext::check_hostname() const noexcept { return state_->check_hostname; }

void SSLContext::set_check_hostname(bool check) {
  if (check && verify_mode() == VerifyMode::cert_none) set_verify_mode(VerifyMode::cert_required);
  state_->check_hostname = check;
}

TLSVersion SSLContext::minimum_version() const noexcept {
  return version_of(SSL_CTX_get_min_proto_version(state_->ctx), TLSVersion::minimum_supported);
}

void SSLContext::set_minimum_version(TLSVersion version) {
  if (SSL_CTX_set_min_proto_version(state_->ctx, version_code(version)) != 1) {
    throw ValueError("set_minimum_version: a version OpenSSL does not support");
  }
}

TLSVersion SSLContext::maximum_version() const noexcept {
  return version_of(SSL_CTX_get_max_proto_version(state_->ctx), TLSVersion::maximum_supported);
}

void SSLContext::set_maximum_version(TLSVersion version) {
  if (SSL_CTX_set_max_proto_version(state_->ctx, version_code(version)) != 1) {
    throw ValueError("set_maximum_version: a version OpenSSL does not support");
  }
}

void SSLContext::set_ciphers(const std::string& ciphers) {
  detail::clear_ssl_errors();
  if (SSL_CTX_set_cipher_list(state_->ctx, ciphers.c_str()) != 1) {
    detail::clear_ssl_errors();
    throw SSLError(SSL_ERROR_SSL, "SSL", "NO_CIPHER_MATCH", "No cipher can be selected.",
                   "set_ciphers(" + ciphers + ")");
  }
}

SSLContext create_default_context(Purpose purpose, const std::string& cafile, const std::string& capath,
                                  std::string_view cadata) {
  SSLContext context(purpose == Purpose::server_auth ? SSLContext::Side::client : SSLContext::Side::server);
  context.set_minimum_version(TLSVersion::tlsv1_2);
  if (purpose == Purpose::server_auth) {
    context.set_verify_mode(VerifyMode::cert_required);
    context.set_check_hostname(true);
  }
  if (!cafile.empty() || !capath.empty() || !cadata.empty()) {
    context.load_verify_locations(cafile, capath, cadata);
  } else if (purpose == Purpose::server_auth) {
    context.load_default_certs();
  }
  return context;
}

}  // namespace asyncio
