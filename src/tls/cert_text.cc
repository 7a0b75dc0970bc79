#include "tls/cert_text.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>

#include <memory>

namespace torii::tls {

std::string subject_text(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return {};
  X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data != nullptr && n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string());
  BIO_free(bio);
  return out;
}

std::string serial_text(X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr);
  if (bn == nullptr) return {};
  char* hex = BN_bn2hex(bn);
  std::string out(hex != nullptr ? hex : "");
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

}  // namespace torii::tls
