#pragma once
/// Python's ssl exceptions: what a TLS connection raises when OpenSSL reports an error.
///
///   try { co_await asyncio::open_connection("example.com", 443, ssl); }
///   catch (const asyncio::SSLCertVerificationError& e) { e.verify_code(); e.verify_message(); }
///   catch (const asyncio::SSLError& e) { e.library(); e.reason(); }   // any other TLS failure
///
/// As in Python, SSLError is an OSError (so `catch (const asyncio::OSError&)` sees TLS failures as
/// it sees a refused connection), its errno_value() is OpenSSL's SSL_get_error() code, and what()
/// reads like Python's: "[SSL: WRONG_VERSION_NUMBER] wrong version number (during the TLS handshake)".
/// Where Python's SSLCertVerificationError is also a ValueError, C++ cannot derive from two
/// standard exceptions without making std::exception ambiguous: catch it as an SSLError.

#include <string>
#include <string_view>

#include "asyncio/os_error.hpp"

namespace asyncio {

/// Python's ssl.SSLError.
class SSLError : public OSError {
 public:
  /// `ssl_error` is SSL_get_error()'s code (SSL_ERROR_SSL for a protocol error), `library` and
  /// `reason` OpenSSL's names for the error ("SSL", "WRONG_VERSION_NUMBER"), `text` its
  /// description, `context` what was being done ("during the TLS handshake").
  SSLError(int ssl_error, std::string library, std::string reason, std::string_view text, std::string_view context);

  /// Python's `e.library`: OpenSSL's library name, e.g. "SSL" (empty if OpenSSL gave none).
  [[nodiscard]] const std::string& library() const noexcept { return library_; }
  /// Python's `e.reason`: OpenSSL's reason code name, e.g. "CERTIFICATE_VERIFY_FAILED".
  [[nodiscard]] const std::string& reason() const noexcept { return reason_; }

 protected:
  /// For subclasses that build their own message.
  SSLError(int ssl_error, std::string library, std::string reason, std::string message, std::nullptr_t);

 private:
  std::string library_;
  std::string reason_;
};

/// Python's ssl.SSLZeroReturnError: the peer closed the TLS session (close_notify) where data
/// was expected.
class SSLZeroReturnError : public SSLError {
 public:
  using SSLError::SSLError;
};

/// Python's ssl.SSLEOFError: the TLS session ended where the protocol does not allow it (the
/// peer's close_notify in the middle of the handshake). A connection that simply drops during the
/// handshake raises ConnectionResetError instead, as CPython's transport does.
class SSLEOFError : public SSLError {
 public:
  using SSLError::SSLError;
};

/// Python's ssl.SSLCertVerificationError: the peer's certificate did not verify. verify_code() is
/// OpenSSL's X509_V_ERR_* value, verify_message() its text ("Hostname mismatch, certificate is not
/// valid for 'example.org'.", "certificate has expired", "self-signed certificate in certificate
/// chain", ...), which what() repeats after "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify
/// failed: ".
class SSLCertVerificationError : public SSLError {
 public:
  SSLCertVerificationError(long verify_code, std::string verify_message, std::string_view context);

  [[nodiscard]] long verify_code() const noexcept { return verify_code_; }
  [[nodiscard]] const std::string& verify_message() const noexcept { return verify_message_; }

 private:
  long verify_code_;
  std::string verify_message_;
};

}  // namespace asyncio
