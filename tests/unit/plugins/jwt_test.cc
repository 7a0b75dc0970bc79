// JWT parsing and signature verification for every algorithm jwt-auth
// accepts, with keys generated here by OpenSSL; and the attacks a verifier
// must refuse (alg "none", algorithm switch, tampered payload, wrong key,
// malformed ECDSA signatures).
#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>

#include "core/base64.h"
#include "plugins/jwt.h"

namespace torii::plugins::jwt {
namespace {

struct KeyPair {
  std::string private_pem;
  std::string public_pem;
};

KeyPair generate(const char* type, const char* param = nullptr) {
  EVP_PKEY* pkey = nullptr;
  if (std::string(type) == "RSA") {
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  } else if (std::string(type) == "EC") {
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", param);
  } else {
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, type);
  }
  EXPECT_NE(pkey, nullptr);
  KeyPair kp;
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  kp.private_pem.assign(data, static_cast<size_t>(n));
  BIO_free(b);
  b = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(b, pkey);
  n = BIO_get_mem_data(b, &data);
  kp.public_pem.assign(data, static_cast<size_t>(n));
  BIO_free(b);
  EVP_PKEY_free(pkey);
  return kp;
}

std::string header(std::string_view alg) { return R"({"alg":")" + std::string(alg) + R"(","typ":"JWT"})"; }

bool verifies(const Key& key, const std::string& token) {
  auto t = parse_jwt(token);
  return t && key.verify(*t);
}

TEST(Jwt, every_algorithm_signs_and_verifies) {
  const KeyPair rsa = generate("RSA");
  const KeyPair p256 = generate("EC", "P-256");
  const KeyPair p384 = generate("EC", "P-384");
  const KeyPair p521 = generate("EC", "P-521");
  const KeyPair ed = generate("ED25519");
  struct Case {
    Algorithm alg;
    const KeyPair* pair;  // null: HMAC
  };
  const Case cases[] = {
      {Algorithm::kHS256, nullptr}, {Algorithm::kHS384, nullptr}, {Algorithm::kHS512, nullptr},
      {Algorithm::kRS256, &rsa},    {Algorithm::kRS384, &rsa},    {Algorithm::kRS512, &rsa},
      {Algorithm::kPS256, &rsa},    {Algorithm::kPS384, &rsa},    {Algorithm::kPS512, &rsa},
      {Algorithm::kES256, &p256},   {Algorithm::kES384, &p384},   {Algorithm::kES512, &p521},
      {Algorithm::kEdDSA, &ed},
  };
  const std::string payload = R"({"key":"user-key","exp":4102444800})";
  for (const Case& c : cases) {
    const std::string name(algorithm_name(c.alg));
    const std::string signing_key = c.pair ? c.pair->private_pem : "my-secret";
    auto token = sign_for_tests(c.alg, header(name), payload, signing_key);
    ASSERT_TRUE(token) << name << ": " << token.error().message;
    auto key = Key::create(c.alg, c.pair ? "" : "my-secret", false, c.pair ? c.pair->public_pem : "");
    ASSERT_TRUE(key) << name << ": " << key.error().message;
    EXPECT_TRUE(verifies(**key, *token)) << name;

    // A tampered payload fails.
    std::string tampered = *token;
    const size_t dot = tampered.find('.');
    tampered.replace(dot + 1, tampered.find('.', dot + 1) - dot - 1,
                     core::base64url_encode(R"({"key":"user-key","exp":4102444801})"));
    EXPECT_FALSE(verifies(**key, tampered)) << name;
  }
}

TEST(Jwt, refuses_none_algorithm_switches_and_wrong_keys) {
  const KeyPair rsa = generate("RSA");
  const KeyPair other = generate("RSA");
  const std::string payload = R"({"key":"k"})";
  auto rs_key = Key::create(Algorithm::kRS256, "", false, rsa.public_pem);
  ASSERT_TRUE(rs_key);

  // alg "none" with an empty signature.
  const std::string none = core::base64url_encode(header("none")) + "." +
                           core::base64url_encode(payload) + ".";
  EXPECT_FALSE(verifies(**rs_key, none));
  // HS256 signed with the RSA public key as the secret (the classic switch).
  auto switched = sign_for_tests(Algorithm::kHS256, header("HS256"), payload, rsa.public_pem);
  ASSERT_TRUE(switched);
  EXPECT_FALSE(verifies(**rs_key, *switched));
  // Signed by another key.
  auto foreign = sign_for_tests(Algorithm::kRS256, header("RS256"), payload, other.private_pem);
  ASSERT_TRUE(foreign);
  EXPECT_FALSE(verifies(**rs_key, *foreign));
  // Right key, header says RS512: the credential's algorithm rules.
  auto rs512 = sign_for_tests(Algorithm::kRS512, header("RS512"), payload, rsa.private_pem);
  ASSERT_TRUE(rs512);
  EXPECT_FALSE(verifies(**rs_key, *rs512));

  // HMAC: wrong secret, base64 secret.
  auto hs = sign_for_tests(Algorithm::kHS256, header("HS256"), payload, "secret");
  ASSERT_TRUE(hs);
  EXPECT_FALSE(verifies(**Key::create(Algorithm::kHS256, "Secret", false, ""), *hs));
  EXPECT_TRUE(verifies(**Key::create(Algorithm::kHS256, core::base64_encode("secret"), true, ""), *hs));
}

TEST(Jwt, keys_must_fit_the_algorithm) {
  const KeyPair p256 = generate("EC", "P-256");
  const KeyPair rsa = generate("RSA");
  EXPECT_EQ(Key::create(Algorithm::kES384, "", false, p256.public_pem).error().message,
            "public_key: the key does not fit algorithm ES384");
  EXPECT_FALSE(Key::create(Algorithm::kEdDSA, "", false, rsa.public_pem));
  EXPECT_EQ(Key::create(Algorithm::kRS256, "", false, "").error().message, "missing valid public key");
  EXPECT_EQ(Key::create(Algorithm::kRS256, "", false, "not pem").error().message,
            "public_key: not a PEM public key");
  EXPECT_FALSE(Key::create(Algorithm::kHS256, "", false, ""));
  // A private key where a public one is expected is refused too.
  EXPECT_FALSE(Key::create(Algorithm::kRS256, "", false, rsa.private_pem));
}

TEST(Jwt, malformed_tokens_are_errors) {
  const std::string h = core::base64url_encode(header("HS256"));
  const std::string p = core::base64url_encode(R"({"key":"k"})");
  for (const std::string& bad : {std::string(""), std::string("abc"), h + "." + p,
                                 h + "." + p + ".sig.extra", "!!." + p + ".AA",
                                 h + "." + core::base64url_encode("[1]") + ".AA",
                                 h + "." + core::base64url_encode("{bad json") + ".AA",
                                 h + "." + p + ".a+b/", std::string(kMaxTokenSize + 1, 'a')}) {
    EXPECT_FALSE(parse_jwt(bad)) << bad.substr(0, 80);
  }
  EXPECT_TRUE(parse_jwt(h + "." + p + "."));  // empty signature parses (and never verifies)
  // ECDSA signatures of the wrong size are refused, not crashed on.
  const KeyPair p256 = generate("EC", "P-256");
  auto key = Key::create(Algorithm::kES256, "", false, p256.public_pem);
  ASSERT_TRUE(key);
  EXPECT_FALSE(verifies(**key, core::base64url_encode(header("ES256")) + "." + p + "." +
                                   core::base64url_encode(std::string(63, 'x'))));
}

}  // namespace
}  // namespace torii::plugins::jwt
