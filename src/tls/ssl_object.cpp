// SSLObject: what a TLS session negotiated, read from OpenSSL.

#include "asyncio/tls/ssl_object.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <utility>

namespace asyncio {

namespace {

// Python's attribute names are OpenSSL's long names ("commonName", "organizationName", ...).
std::string attribute_name(int nid) {
  const char* name = OBJ_nid2ln(nid);
  return name != nullptr ? name : "UNDEF";
}

std::vector<std::pair<std::string, std::string>> name_entries(const X509_NAME* name) {
  std::vector<std::pair<std::string, std::string>> out;
  const int count = X509_NAME_entry_count(name);
  for (int i = 0; i < count; ++i) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, i);
    const int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry));
    unsigned char* utf8 = nullptr;
    const int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
    if (n >= 0)
      out.emplace_back(attribute_name(nid), std::string(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n)));
    OPENSSL_free(utf8);
  }
  return out;
}

std::string time_text(const ASN1_TIME* t) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio || ASN1_TIME_print(bio.get(), t) != 1) return {};
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace

std::string SSLObject::version() const { return SSL_get_version(ssl_); }

std::tuple<std::string, std::string, int> SSLObject::cipher() const {
  const SSL_CIPHER* c = SSL_get_current_cipher(ssl_);
  if (c == nullptr) return {};
  return {SSL_CIPHER_get_name(c), SSL_CIPHER_get_version(c), SSL_CIPHER_get_bits(c, nullptr)};
}

std::optional<std::string> SSLObject::selected_alpn_protocol() const {
  const unsigned char* data = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl_, &data, &len);
  if (data == nullptr || len == 0) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(data), len);
}

std::optional<std::string> SSLObject::server_hostname() const {
  const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return std::nullopt;
  return std::string(name);
}

SSLObject::SSLObject(ssl_st* ssl) noexcept : ssl_(ssl) {
  if (ssl_ != nullptr) SSL_up_ref(ssl_);
}

SSLObject::SSLObject(const SSLObject& other) noexcept : SSLObject(other.ssl_) {}

SSLObject& SSLObject::operator=(const SSLObject& other) noexcept {
  if (this != &other) {
    if (other.ssl_ != nullptr) SSL_up_ref(other.ssl_);
    if (ssl_ != nullptr) SSL_free(ssl_);
    ssl_ = other.ssl_;
  }
  return *this;
}

SSLObject::SSLObject(SSLObject&& other) noexcept : ssl_(std::exchange(other.ssl_, nullptr)) {}

SSLObject& SSLObject::operator=(SSLObject&& other) noexcept {
  if (this != &other) {
    if (ssl_ != nullptr) SSL_free(ssl_);
    ssl_ = std::exchange(other.ssl_, nullptr);
  }
  return *this;
}

SSLObject::~SSLObject() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

bool SSLObject::server_side() const { return SSL_is_server(ssl_) == 1; }

std::optional<PeerCertificate> SSLObject::getpeercert() const {
  std::unique_ptr<X509, decltype(&X509_free)> cert(SSL_get1_peer_certificate(ssl_), &X509_free);
  if (!cert) return std::nullopt;
  PeerCertificate pc;
  pc.subject = name_entries(X509_get_subject_name(cert.get()));
  pc.issuer = name_entries(X509_get_issuer_name(cert.get()));
  pc.version = static_cast<int>(X509_get_version(cert.get())) + 1;
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr)) {
    if (char* hex = BN_bn2hex(bn)) {
      pc.serial_number = hex;
      OPENSSL_free(hex);
    }
    BN_free(bn);
  }
  pc.not_before = time_text(X509_get0_notBefore(cert.get()));
  pc.not_after = time_text(X509_get0_notAfter(cert.get()));
  if (auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr))) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
      if (name->type == GEN_DNS) {
        const ASN1_IA5STRING* s = name->d.dNSName;
        pc.subject_alt_name.emplace_back("DNS", std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                                            static_cast<std::size_t>(ASN1_STRING_length(s))));
      } else if (name->type == GEN_IPADD) {
        const ASN1_OCTET_STRING* s = name->d.iPAddress;
        const unsigned char* b = ASN1_STRING_get0_data(s);
        std::string text;
        if (ASN1_STRING_length(s) == 4) {
          text = std::to_string(b[0]) + "." + std::to_string(b[1]) + "." + std::to_string(b[2]) + "." +
                 std::to_string(b[3]);
        } else {
          static const char* hex = "0123456789ABCDEF";
          for (int j = 0; j < ASN1_STRING_length(s); j += 2) {
            if (j) text += ':';
            for (int k = j; k < j + 2; ++k) {
              text += hex[b[k] >> 4];
              text += hex[b[k] & 15];
            }
          }
        }
        pc.subject_alt_name.emplace_back("IP Address", std::move(text));
      }
    }
    GENERAL_NAMES_free(names);
  }
  unsigned char* der = nullptr;
  const int n = i2d_X509(cert.get(), &der);
  if (n > 0) pc.der.assign(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return pc;
}

}  // namespace asyncio
