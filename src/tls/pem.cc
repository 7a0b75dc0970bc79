#include "tls/pem.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

namespace torii::tls {

namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr memory_bio(std::string_view pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Reads certificates until the end of `pem`; false when a block is damaged.
bool read_certs(std::string_view pem, std::vector<X509Ptr>& out) {
  BioPtr bio = memory_bio(pem);
  if (!bio) return false;
  for (;;) {
    X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (x == nullptr) {
      const unsigned long e = ERR_peek_last_error();
      if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE &&
          !out.empty()) {
        ERR_clear_error();  // the end of the bundle
        return true;
      }
      return false;
    }
    out.emplace_back(x);
  }
}

}  // namespace

std::string openssl_error(std::string_view fallback) {
  const unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  if (e == 0) return std::string(fallback);
  const char* reason = ERR_reason_error_string(e);
  return reason != nullptr ? std::string(reason) : std::string(fallback);
}

core::Result<CertChain> parse_cert_chain(std::string_view pem) {
  ERR_clear_error();
  std::vector<X509Ptr> certs;
  if (!read_certs(pem, certs) || certs.empty()) {
    return core::config_error("failed to parse cert: " + openssl_error("no certificate found"));
  }
  CertChain chain;
  chain.leaf = std::move(certs.front());
  for (size_t i = 1; i < certs.size(); ++i) chain.intermediates.push_back(std::move(certs[i]));
  return chain;
}

core::Result<std::vector<X509Ptr>> parse_ca_bundle(std::string_view pem) {
  ERR_clear_error();
  std::vector<X509Ptr> certs;
  if (!read_certs(pem, certs) || certs.empty()) {
    return core::config_error("failed to parse CA certificates: " +
                              openssl_error("no certificate found"));
  }
  return certs;
}

core::Result<KeyPtr> parse_private_key(std::string_view pem) {
  ERR_clear_error();
  BioPtr bio = memory_bio(pem);
  // A null password callback that refuses: an encrypted key is an error,
  // never a prompt on the terminal.
  auto no_password = [](char*, int, int, void*) -> int { return -1; };
  EVP_PKEY* k = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr) : nullptr;
  if (k == nullptr) {
    return core::config_error("failed to parse key: " + openssl_error("no private key found"));
  }
  return KeyPtr(k);
}

core::Status check_key_matches(X509* cert, EVP_PKEY* key) {
  ERR_clear_error();
  if (X509_check_private_key(cert, key) != 1) {
    ERR_clear_error();
    return core::config_error("certificate and private key do not match");
  }
  return core::ok_status();
}

}  // namespace torii::tls
