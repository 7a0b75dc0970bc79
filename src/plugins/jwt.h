// JSON Web Tokens (RFC 7519) for jwt-auth: parsing an untrusted compact
// token, and verifying its signature (RFC 7518 algorithms) with a key
// prepared once per credential.
//
// parse_jwt() never trusts the token: it checks the three-part shape, the
// base64url of each part, that header and payload are JSON objects, and
// caps the token size. verify() recomputes the signature over the bytes the
// token carries ("<header>.<payload>") and compares in constant time (HMAC)
// or with OpenSSL's verifier (RSA, RSA-PSS, ECDSA with JOSE's raw r||s
// signatures, Ed25519). The algorithm is the credential's, never the
// token's: a token whose `alg` differs is refused before any crypto.
#pragma once

#include <boost/json/object.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace torii::plugins::jwt {

enum class Algorithm : uint8_t {
  kHS256, kHS384, kHS512,
  kRS256, kRS384, kRS512,
  kPS256, kPS384, kPS512,
  kES256, kES384, kES512,
  kEdDSA,
};

// "HS256" -> kHS256 ...; nullopt for anything else (including "none").
std::optional<Algorithm> algorithm_from_name(std::string_view name);
std::string_view algorithm_name(Algorithm a);
bool is_hmac(Algorithm a);

inline constexpr size_t kMaxTokenSize = 16 * 1024;

struct Token {
  boost::json::object header;
  boost::json::object payload;
  std::string signing_input;  // "<b64 header>.<b64 payload>", as received
  std::string signature;      // decoded bytes
};

// Errors (kInvalid) say what is wrong, for logs; clients get APISIX's
// generic message.
core::Result<Token> parse_jwt(std::string_view compact);

// A credential's verification key: the HMAC secret or a public key.
class Key {
 public:
  // HS*: `secret` (base64-decoded first when `base64_secret`). Others:
  // `public_key` PEM. Errors name the field.
  static core::Result<std::shared_ptr<const Key>> create(Algorithm alg, std::string_view secret,
                                                         bool base64_secret,
                                                         std::string_view public_key);
  ~Key();
  Algorithm algorithm() const { return alg_; }
  // True when `token` carries a valid signature of this key's algorithm.
  bool verify(const Token& token) const;

  Key(const Key&) = delete;
  Key& operator=(const Key&) = delete;

 private:
  Key() = default;
  Algorithm alg_ = Algorithm::kHS256;
  std::string secret_;
  EVP_PKEY* pkey_ = nullptr;
};

// Signs `header.payload` (base64url parts joined by '.') with an HMAC secret
// or a PEM private key; for tests and the docs' examples. Returns the
// compact token.
core::Result<std::string> sign_for_tests(Algorithm alg, std::string_view header_json,
                                         std::string_view payload_json, std::string_view key);

}  // namespace torii::plugins::jwt
