#include "plugins/jwt.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <array>
#include <boost/json.hpp>

#include "core/base64.h"

namespace torii::plugins::jwt {

namespace json = boost::json;
using core::config_error;

namespace {

struct Named {
  std::string_view name;
  Algorithm alg;
};
constexpr std::array<Named, 13> kAlgorithms{{
    {"HS256", Algorithm::kHS256}, {"HS384", Algorithm::kHS384}, {"HS512", Algorithm::kHS512},
    {"RS256", Algorithm::kRS256}, {"RS384", Algorithm::kRS384}, {"RS512", Algorithm::kRS512},
    {"PS256", Algorithm::kPS256}, {"PS384", Algorithm::kPS384}, {"PS512", Algorithm::kPS512},
    {"ES256", Algorithm::kES256}, {"ES384", Algorithm::kES384}, {"ES512", Algorithm::kES512},
    {"EdDSA", Algorithm::kEdDSA},
}};

const EVP_MD* digest_of(Algorithm a) {
  switch (a) {
    case Algorithm::kHS256: case Algorithm::kRS256: case Algorithm::kPS256: case Algorithm::kES256:
      return EVP_sha256();
    case Algorithm::kHS384: case Algorithm::kRS384: case Algorithm::kPS384: case Algorithm::kES384:
      return EVP_sha384();
    case Algorithm::kHS512: case Algorithm::kRS512: case Algorithm::kPS512: case Algorithm::kES512:
      return EVP_sha512();
    case Algorithm::kEdDSA:
      return nullptr;
  }
  return nullptr;
}

bool is_rsa(Algorithm a) { return a >= Algorithm::kRS256 && a <= Algorithm::kPS512; }
bool is_pss(Algorithm a) { return a >= Algorithm::kPS256 && a <= Algorithm::kPS512; }
bool is_ecdsa(Algorithm a) { return a >= Algorithm::kES256 && a <= Algorithm::kES512; }

// Bytes of r (and of s) in a JOSE ECDSA signature.
size_t ecdsa_part_size(Algorithm a) {
  return a == Algorithm::kES256 ? 32 : a == Algorithm::kES384 ? 48 : 66;
}
int ecdsa_curve_bits(Algorithm a) {
  return a == Algorithm::kES256 ? 256 : a == Algorithm::kES384 ? 384 : 521;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// JOSE r||s -> DER ECDSA-Sig-Value; empty when the size is wrong.
std::string ecdsa_raw_to_der(Algorithm a, std::string_view raw) {
  const size_t n = ecdsa_part_size(a);
  if (raw.size() != 2 * n) return {};
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(n), nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data() + n), static_cast<int>(n), nullptr);
  std::string out;
  if (sig && r && s && ECDSA_SIG_set0(sig, r, s) == 1) {
    r = s = nullptr;  // owned by sig now
    unsigned char* der = nullptr;
    const int len = i2d_ECDSA_SIG(sig, &der);
    if (len > 0) out.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
  }
  BN_free(r);
  BN_free(s);
  ECDSA_SIG_free(sig);
  return out;
}

std::string ecdsa_der_to_raw(Algorithm a, std::string_view der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (!sig) return {};
  const size_t n = ecdsa_part_size(a);
  std::string out(2 * n, '\0');
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  BN_bn2binpad(r, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n));
  BN_bn2binpad(s, reinterpret_cast<unsigned char*>(out.data() + n), static_cast<int>(n));
  ECDSA_SIG_free(sig);
  return out;
}

std::string hmac(Algorithm a, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(digest_of(a), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

core::Result<json::object> decode_object(std::string_view part, std::string_view what) {
  auto bytes = core::base64url_decode(part);
  if (!bytes) return config_error(std::string(what) + ": not base64url");
  json::error_code ec;
  json::value v = json::parse(*bytes, ec);
  if (ec || !v.is_object()) return config_error(std::string(what) + ": not a JSON object");
  return std::move(v.get_object());
}

}  // namespace

std::optional<Algorithm> algorithm_from_name(std::string_view name) {
  for (const Named& n : kAlgorithms) {
    if (n.name == name) return n.alg;
  }
  return std::nullopt;
}

std::string_view algorithm_name(Algorithm a) {
  for (const Named& n : kAlgorithms) {
    if (n.alg == a) return n.name;
  }
  return "";
}

bool is_hmac(Algorithm a) { return a <= Algorithm::kHS512; }

core::Result<Token> parse_jwt(std::string_view compact) {
  if (compact.size() > kMaxTokenSize) return config_error("token too large");
  const size_t dot1 = compact.find('.');
  if (dot1 == std::string_view::npos) return config_error("not three parts");
  const size_t dot2 = compact.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || compact.find('.', dot2 + 1) != std::string_view::npos) {
    return config_error("not three parts");
  }
  Token t;
  auto header = decode_object(compact.substr(0, dot1), "header");
  if (!header) return header.error();
  auto payload = decode_object(compact.substr(dot1 + 1, dot2 - dot1 - 1), "payload");
  if (!payload) return payload.error();
  auto sig = core::base64url_decode(compact.substr(dot2 + 1));
  if (!sig) return config_error("signature: not base64url");
  t.header = std::move(*header);
  t.payload = std::move(*payload);
  t.signing_input = std::string(compact.substr(0, dot2));
  t.signature = std::move(*sig);
  return t;
}

Key::~Key() { EVP_PKEY_free(pkey_); }

core::Result<std::shared_ptr<const Key>> Key::create(Algorithm alg, std::string_view secret,
                                                     bool base64_secret,
                                                     std::string_view public_key) {
  std::shared_ptr<Key> k(new Key());
  k->alg_ = alg;
  if (is_hmac(alg)) {
    if (secret.empty()) return config_error("secret: required for " + std::string(algorithm_name(alg)));
    if (base64_secret) {
      auto decoded = core::base64_decode(secret);
      if (!decoded) return config_error("secret: base64_secret is set but it is not base64");
      k->secret_ = std::move(*decoded);
    } else {
      k->secret_ = std::string(secret);
    }
    return std::shared_ptr<const Key>(std::move(k));
  }
  if (public_key.empty()) return config_error("missing valid public key");
  BIO* bio = BIO_new_mem_buf(public_key.data(), static_cast<int>(public_key.size()));
  k->pkey_ = bio ? PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  if (!k->pkey_) return config_error("public_key: not a PEM public key");
  const int type = EVP_PKEY_get_base_id(k->pkey_);
  bool fits = false;
  if (is_rsa(alg)) fits = type == EVP_PKEY_RSA || type == EVP_PKEY_RSA_PSS;
  if (is_ecdsa(alg)) fits = type == EVP_PKEY_EC && EVP_PKEY_get_bits(k->pkey_) == ecdsa_curve_bits(alg);
  if (alg == Algorithm::kEdDSA) fits = type == EVP_PKEY_ED25519;
  if (!fits) {
    return config_error("public_key: the key does not fit algorithm " +
                        std::string(algorithm_name(alg)));
  }
  return std::shared_ptr<const Key>(std::move(k));
}

bool Key::verify(const Token& token) const {
  const auto* alg = token.header.if_contains("alg");
  if (!alg || !alg->is_string() || alg->get_string() != algorithm_name(alg_)) return false;
  if (is_hmac(alg_)) {
    const std::string expected = hmac(alg_, secret_, token.signing_input);
    return expected.size() == token.signature.size() &&
           CRYPTO_memcmp(expected.data(), token.signature.data(), expected.size()) == 0;
  }
  std::string der;
  std::string_view sig = token.signature;
  if (is_ecdsa(alg_)) {
    der = ecdsa_raw_to_der(alg_, token.signature);
    if (der.empty()) return false;
    sig = der;
  }
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  EVP_PKEY_CTX* pctx = nullptr;
  if (EVP_DigestVerifyInit(ctx.get(), &pctx, digest_of(alg_), nullptr, pkey_) != 1) return false;
  if (is_pss(alg_)) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1) {
      return false;
    }
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(token.signing_input.data()),
                          token.signing_input.size()) == 1;
}

core::Result<std::string> sign_for_tests(Algorithm alg, std::string_view header_json,
                                         std::string_view payload_json, std::string_view key) {
  const std::string input =
      core::base64url_encode(header_json) + "." + core::base64url_encode(payload_json);
  std::string sig;
  if (is_hmac(alg)) {
    sig = hmac(alg, key, input);
  } else {
    BIO* bio = BIO_new_mem_buf(key.data(), static_cast<int>(key.size()));
    EVP_PKEY* pkey = bio ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr;
    BIO_free(bio);
    if (!pkey) return config_error("not a PEM private key");
    MdCtx ctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;
    size_t len = 0;
    bool ok = EVP_DigestSignInit(ctx.get(), &pctx, digest_of(alg), nullptr, pkey) == 1;
    if (ok && is_pss(alg)) {
      ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
    }
    const auto* data = reinterpret_cast<const unsigned char*>(input.data());
    ok = ok && EVP_DigestSign(ctx.get(), nullptr, &len, data, input.size()) == 1;
    sig.resize(len);
    ok = ok && EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, data,
                              input.size()) == 1;
    EVP_PKEY_free(pkey);
    if (!ok) return config_error("signing failed");
    sig.resize(len);
    if (is_ecdsa(alg)) sig = ecdsa_der_to_raw(alg, sig);
  }
  return input + "." + core::base64url_encode(sig);
}

}  // namespace torii::plugins::jwt
