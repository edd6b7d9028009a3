#pragma once
// What the tls/ sources share about OpenSSL's error queue: turning it into Python's exceptions.
// Internal to src/tls (the public headers never include OpenSSL's).

#include <openssl/ssl.h>

#include <string_view>

namespace asyncio::detail {

/// Throws the SSLError (or subclass) for the error OpenSSL reported: `ssl_error` is
/// SSL_get_error()'s code (SSL_ERROR_SSL for one from the error queue), `context` what was being
/// done; with `ssl`, a failed certificate verification becomes SSLCertVerificationError with the
/// verify result's code and text. Empties the thread's error queue.
[[noreturn]] void raise_ssl_error(int ssl_error, std::string_view context, const SSL* ssl = nullptr);

/// Empties the thread's OpenSSL error queue (stale entries must not be blamed on the next call).
void clear_ssl_errors() noexcept;

}  // namespace asyncio::detail
