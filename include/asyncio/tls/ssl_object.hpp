#pragma once
/// SSLObject: Python's ssl.SSLObject as a TLS transport shows it (get_extra_info("ssl_object")):
/// what the TLS session negotiated, read-only.
///
///   auto ssl = std::any_cast<asyncio::SSLObject>(transport.get_extra_info("ssl_object"));
///   ssl.version();                  // "TLSv1.3"
///   ssl.selected_alpn_protocol();   // "h2", or nullopt
///
/// A handle that shares the session (an OpenSSL reference of its own): it stays readable after
/// the connection is gone, for as long as any copy exists.

#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

struct ssl_st;  // OpenSSL's SSL

namespace asyncio {

/// Python's getpeercert() dictionary, for a certificate that was verified (or any certificate the
/// peer sent, with binary_form-like `der`). Names are (attribute, value) pairs in certificate order,
/// attributes named as Python names them ("commonName", "organizationName", ...); dates as
/// OpenSSL prints them ("Jan  1 00:00:00 2030 GMT").
struct PeerCertificate {
  std::vector<std::pair<std::string, std::string>> subject;
  std::vector<std::pair<std::string, std::string>> issuer;
  int version = 0;                    ///< 3 for X.509 v3
  std::string serial_number;          ///< hexadecimal, as Python's "serialNumber"
  std::string not_before, not_after;  ///< Python's "notBefore" / "notAfter"
  /// Python's "subjectAltName": ("DNS", "example.com"), ("IP Address", "127.0.0.1"), ...
  std::vector<std::pair<std::string, std::string>> subject_alt_name;
  std::string der;  ///< the certificate itself, DER-encoded (getpeercert(binary_form=True))
};

/// Python's ssl.SSLObject, read-only. Copies share the session.
class SSLObject {
 public:
  /// Shares `ssl` (takes a reference to it; null makes an object every accessor must not be
  /// called on).
  explicit SSLObject(ssl_st* ssl) noexcept;
  SSLObject(const SSLObject& other) noexcept;
  SSLObject& operator=(const SSLObject& other) noexcept;
  SSLObject(SSLObject&& other) noexcept;
  SSLObject& operator=(SSLObject&& other) noexcept;
  /// Gives the reference back.
  ~SSLObject();

  /// Python's version(): "TLSv1.2", "TLSv1.3".
  [[nodiscard]] std::string version() const;
  /// Python's cipher(): (name, protocol, secret bits).
  [[nodiscard]] std::tuple<std::string, std::string, int> cipher() const;
  /// Python's selected_alpn_protocol(): the protocol ALPN agreed on, if any.
  [[nodiscard]] std::optional<std::string> selected_alpn_protocol() const;
  /// Python's server_hostname: the name a client sent in SNI; on a server, the name it received.
  [[nodiscard]] std::optional<std::string> server_hostname() const;
  /// Python's server_side.
  [[nodiscard]] bool server_side() const;
  /// Python's getpeercert(): the peer's certificate, or nullopt if it sent none.
  [[nodiscard]] std::optional<PeerCertificate> getpeercert() const;
  /// The OpenSSL session, for what this class does not wrap.
  [[nodiscard]] ssl_st* native_handle() const noexcept { return ssl_; }

 private:
  ssl_st* ssl_;
};

}  // namespace asyncio
