// PEM parsing of certificates and private keys with OpenSSL, errors as
// values. Used by the Admin API (an ssls object is checked before it is
// stored) and by the snapshot builder (certificates are compiled once per
// config change, never per connection).
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace torii::tls {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct EvpKeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, EvpKeyFree>;

// A certificate with the intermediates that follow it in the same PEM.
struct CertChain {
  X509Ptr leaf;
  std::vector<X509Ptr> intermediates;
};

// The first certificate of `pem` and every one after it. Fails with
// "failed to parse cert: <OpenSSL's reason>" (APISIX's prefix) when there is
// no certificate or a block is damaged.
core::Result<CertChain> parse_cert_chain(std::string_view pem);

// Every certificate of a CA bundle; fails like parse_cert_chain with
// "failed to parse client ca: ...".
core::Result<std::vector<X509Ptr>> parse_ca_bundle(std::string_view pem);

// An unencrypted private key (PKCS#8, PKCS#1 RSA or SEC1 EC). Fails with
// "failed to parse key: <reason>".
core::Result<KeyPtr> parse_private_key(std::string_view pem);

// Fails with "certificate and private key do not match" when `key` is not
// the key of `cert`'s public key.
core::Status check_key_matches(X509* cert, EVP_PKEY* key);

// OpenSSL's last queued error as text (and the queue cleared); `fallback`
// when the queue is empty.
std::string openssl_error(std::string_view fallback);

}  // namespace torii::tls
