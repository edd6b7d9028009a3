// Python's ssl exceptions, and the translation of OpenSSL's error queue into them.

#include "asyncio/tls/ssl_errors.hpp"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include <cctype>
#include <string>
#include <utility>

#include "openssl_error.hpp"

namespace asyncio {

namespace {

std::string ssl_message(const std::string& library, const std::string& reason, std::string_view text,
                        std::string_view context) {
  std::string message = "[";
  if (!library.empty()) message += library + ": ";
  message += reason.empty() ? std::string("UNKNOWN") : reason;
  message += "] ";
  message += text;
  if (!context.empty()) {
    message += " (";
    message += context;
    message += ")";
  }
  return message;
}

// OpenSSL's library names, as Python's ssl module shows them ("SSL", "X509", ...).
std::string library_name(unsigned long code) {
  switch (ERR_GET_LIB(code)) {
    case ERR_LIB_SSL:
      return "SSL";
    case ERR_LIB_X509:
      return "X509";
    case ERR_LIB_X509V3:
      return "X509V3";
    case ERR_LIB_PEM:
      return "PEM";
    case ERR_LIB_EVP:
      return "EVP";
    case ERR_LIB_ASN1:
      return "ASN1";
    case ERR_LIB_BIO:
      return "BIO";
    case ERR_LIB_SYS:
      return "SYS";
    case ERR_LIB_PKCS12:
      return "PKCS12";
    case ERR_LIB_RSA:
      return "RSA";
    case ERR_LIB_EC:
      return "EC";
    default: {
      const char* name = ERR_lib_error_string(code);
      return name ? name : "";
    }
  }
}

// Python shows the reason's macro name (WRONG_VERSION_NUMBER); OpenSSL's text is that name in
// lower case with spaces ("wrong version number"), so the one is made from the other.
std::string reason_name(std::string_view text) {
  std::string name;
  for (char c : text) name += c == ' ' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

}  // namespace

SSLError::SSLError(int ssl_error, std::string library, std::string reason, std::string_view text,
                   std::string_view context)
    : OSError(ssl_error, context, ssl_message(library, reason, text, context)),
      library_(std::move(library)),
      reason_(std::move(reason)) {}

SSLError::SSLError(int ssl_error, std::string library, std::string reason, std::string message, std::nullptr_t)
    : OSError(ssl_error, "", std::move(message)), library_(std::move(library)), reason_(std::move(reason)) {}

SSLCertVerificationError::SSLCertVerificationError(long verify_code, std::string verify_message,
                                                   std::string_view context)
    : SSLError(SSL_ERROR_SSL, "SSL", "CERTIFICATE_VERIFY_FAILED",
               ssl_message("SSL", "CERTIFICATE_VERIFY_FAILED", "certificate verify failed: " + verify_message, context),
               nullptr),
      verify_code_(verify_code),
      verify_message_(std::move(verify_message)) {}

namespace detail {

void clear_ssl_errors() noexcept { ERR_clear_error(); }

void raise_ssl_error(int ssl_error, std::string_view context, const SSL* ssl) {
  // The earliest error is the cause; later ones are OpenSSL's consequences of it.
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (ssl != nullptr && code != 0 && ERR_GET_LIB(code) == ERR_LIB_SSL &&
      ERR_GET_REASON(code) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
    const long result = SSL_get_verify_result(ssl);
    std::string message = X509_verify_cert_error_string(result);
    if (result == X509_V_ERR_HOSTNAME_MISMATCH) {
      const char* host = SSL_get0_peername(const_cast<SSL*>(ssl));
      const char* wanted = host ? host : SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
      // Python's text: "Hostname mismatch, certificate is not valid for 'example.org'."
      message = std::string("Hostname mismatch, certificate is not valid for '") + (wanted ? wanted : "") + "'.";
    }
    throw SSLCertVerificationError(result, std::move(message), context);
  }
  if (code == 0) {
    if (ssl_error == SSL_ERROR_ZERO_RETURN) {
      throw SSLZeroReturnError(ssl_error, "SSL", "ZERO_RETURN", "TLS/SSL connection has been closed (EOF)", context);
    }
    throw SSLError(ssl_error, "SSL", "UNKNOWN",
                   "an unknown TLS error (SSL_get_error " + std::to_string(ssl_error) + ")", context);
  }
  const char* text = ERR_reason_error_string(code);
  const std::string reason_text = text ? text : "unknown error";
  if (ERR_GET_LIB(code) == ERR_LIB_SSL && ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    throw SSLEOFError(ssl_error, "SSL", "UNEXPECTED_EOF_WHILE_READING", "EOF occurred in violation of protocol",
                      context);
  }
  throw SSLError(ssl_error, library_name(code), reason_name(reason_text), reason_text, context);
}

}  // namespace detail

}  // namespace asyncio
