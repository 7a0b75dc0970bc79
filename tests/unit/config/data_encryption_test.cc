// data_encryption: byte-compatible with APISIX (AES-128-CBC, key = IV = the
// keyring entry, PKCS#7, base64), checked against APISIX's own test vector
// and against the openssl command line.
#include "config/data_encryption.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <cstdio>
#include <string>

namespace torii::config {
namespace {

namespace json = boost::json;

constexpr const char* kDefaultKey = "qeddd145sfvddff3";  // conf/config-default.yaml keyring[0]
constexpr const char* kTestKey = "edd1c9f0985e76a2";     // keyring[1], and APISIX's t/ key

DataEncryption make(std::vector<std::string> keyring) {
  auto enc = DataEncryption::create(std::move(keyring));
  EXPECT_TRUE(enc) << enc.error().message;
  return enc ? std::move(enc.value()) : DataEncryption();
}

std::string hex(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

// `openssl enc` of `plain` (no trailing newline), or "" when the tool is missing.
std::string openssl_enc(std::string_view key, std::string_view plain) {
  const std::string k = hex(key);
  const std::string cmd = "printf '%s' '" + std::string(plain) +
                          "' | openssl enc -aes-128-cbc -K " + k + " -iv " + k +
                          " -base64 -A 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return "";
  std::string out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  if (pclose(p) != 0) return "";
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

TEST(DataEncryptTest, apisix_test_vector) {
  // apisix t/node/data_encrypt*.t: basic-auth password "bar" as stored in etcd.
  const auto enc = make({kTestKey});
  EXPECT_EQ(enc.encrypt("bar"), "77+NmbYqNfN+oLm0aX5akg==");
  auto plain = enc.decrypt("77+NmbYqNfN+oLm0aX5akg==");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(*plain, "bar");
}

TEST(DataEncryptTest, matches_openssl_enc_with_key_as_iv) {
  const auto enc = make({kDefaultKey});
  // Computed once with: printf 'hello world' | openssl enc -aes-128-cbc
  //   -K <hex of key> -iv <hex of key> -base64 -A
  EXPECT_EQ(enc.encrypt("hello world"), "26cK4cS8EQ5UxEUdZYVPSg==");
  const std::string tool = openssl_enc(kDefaultKey, "hello world");
  if (tool.empty()) GTEST_SKIP() << "openssl command not available";
  EXPECT_EQ(enc.encrypt("hello world"), tool);
  const std::string longer = "-----BEGIN PRIVATE KEY----- spans more than one block";
  EXPECT_EQ(enc.encrypt(longer), openssl_enc(kDefaultKey, longer));
}

TEST(DataEncryptTest, round_trip_across_block_boundaries) {
  const auto enc = make({kDefaultKey, kTestKey});
  for (std::size_t n : {0u, 1u, 15u, 16u, 17u, 31u, 32u, 33u, 1000u}) {
    std::string plain;
    for (std::size_t i = 0; i < n; ++i) plain += static_cast<char>(i * 7 + 3);
    const std::string stored = enc.encrypt(plain);
    const std::size_t cipher_len = (n / 16 + 1) * 16;  // PKCS#7 always adds a byte
    EXPECT_EQ(stored.size(), (cipher_len + 2) / 3 * 4) << n;
    auto back = enc.decrypt(stored);
    ASSERT_TRUE(back) << n << ": " << back.error().message;
    EXPECT_EQ(*back, plain) << n;
  }
}

TEST(DataEncryptTest, keyring_rotation_keeps_old_values_readable) {
  const auto old_ring = make({kTestKey});
  const std::string written_before = old_ring.encrypt("s3cret");

  const auto rotated = make({kDefaultKey, kTestKey});  // a new key prepended
  auto plain = rotated.decrypt(written_before);
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(*plain, "s3cret");
  // New writes use the new first key, which the old ring cannot read.
  const std::string written_after = rotated.encrypt("s3cret");
  EXPECT_EQ(written_after, make({kDefaultKey}).encrypt("s3cret"));
  EXPECT_NE(written_after, written_before);
  EXPECT_FALSE(old_ring.decrypt(written_after));
}

TEST(DataEncryptTest, wrong_key_is_a_clear_error) {
  const auto enc = make({kDefaultKey});
  auto plain = enc.decrypt("77+NmbYqNfN+oLm0aX5akg==");
  ASSERT_FALSE(plain);
  EXPECT_EQ(plain.error().message,
            "decrypt failed: no data_encryption.keyring entry fits the value");
}

TEST(DataEncryptTest, not_base64_or_not_a_whole_block) {
  const auto enc = make({kDefaultKey});
  auto bad = enc.decrypt("not base64!");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "base64 decode failed");
  EXPECT_FALSE(enc.decrypt("QUJD"));  // "ABC": 3 bytes, not a cipher block
  EXPECT_FALSE(enc.decrypt(""));
}

TEST(DataEncryptTest, base64_follows_nginx_rules) {
  const auto enc = make({kTestKey});
  // Padding may be left out; '=' ends the data.
  auto unpadded = enc.decrypt("77+NmbYqNfN+oLm0aX5akg");
  ASSERT_TRUE(unpadded) << unpadded.error().message;
  EXPECT_EQ(*unpadded, "bar");
  auto trailing = enc.decrypt("77+NmbYqNfN+oLm0aX5akg==ignored");
  ASSERT_TRUE(trailing) << trailing.error().message;
  EXPECT_EQ(*trailing, "bar");
  EXPECT_FALSE(enc.decrypt("77+NmbYqNfN+oLm0aX5akg\n=="));
  EXPECT_FALSE(enc.decrypt("77+NmbYqNfN+oLm0aX5ak"));  // 4n+1 characters
}

TEST(DataEncryptTest, keys_must_be_16_bytes_and_are_named_by_position) {
  auto enc = DataEncryption::create({kDefaultKey, "short"});
  ASSERT_FALSE(enc);
  EXPECT_EQ(enc.error().message, "data_encryption.keyring[2]: must be exactly 16 bytes, got 5");
  EXPECT_EQ(enc.error().source, core::ErrorSource::kConfig);
  EXPECT_FALSE(DataEncryption::create({std::string(17, 'k')}));
}

TEST(DataEncryptTest, empty_keyring_passes_values_through) {
  const auto enc = make({});
  EXPECT_FALSE(enc.enabled());
  EXPECT_EQ(enc.encrypt("bar"), "bar");
  auto plain = enc.decrypt("not base64!");
  ASSERT_TRUE(plain);
  EXPECT_EQ(*plain, "not base64!");
  EXPECT_TRUE(make({kDefaultKey}).enabled());
  EXPECT_FALSE(DataEncryption().enabled());
}

// --- ssl private keys --------------------------------------------------------

const std::string kPem =
    "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n-----END PRIVATE KEY-----\n";

TEST(DataEncryptTest, ssl_keys_are_encrypted_only_when_pem) {
  const auto enc = make({kDefaultKey});
  json::object ssl{
      {"cert", "-----BEGIN CERTIFICATE-----"},
      {"key", kPem},
      {"keys", json::array{kPem.c_str(), "$secret://vault/1/key", "already-encrypted"}},
      {"sni", "a.com"}};
  enc.encrypt_ssl(ssl);
  EXPECT_EQ(ssl["key"].as_string(), enc.encrypt(kPem));
  EXPECT_EQ(ssl["keys"].as_array()[0].as_string(), enc.encrypt(kPem));
  EXPECT_EQ(ssl["keys"].as_array()[1].as_string(), "$secret://vault/1/key");
  EXPECT_EQ(ssl["keys"].as_array()[2].as_string(), "already-encrypted");
  EXPECT_EQ(ssl["cert"].as_string(), "-----BEGIN CERTIFICATE-----");

  ssl["keys"].as_array().pop_back();  // not a stored value: decrypt_ssl would refuse it
  ASSERT_TRUE(enc.decrypt_ssl(ssl));
  EXPECT_EQ(ssl["key"].as_string(), kPem);
  EXPECT_EQ(ssl["keys"].as_array()[0].as_string(), kPem);
  EXPECT_EQ(ssl["keys"].as_array()[1].as_string(), "$secret://vault/1/key");
}

TEST(DataEncryptTest, decrypt_ssl_leaves_plain_pem_and_names_the_failing_key) {
  const auto enc = make({kDefaultKey});
  json::object plain{{"key", kPem}};
  ASSERT_TRUE(enc.decrypt_ssl(plain));
  EXPECT_EQ(plain["key"].as_string(), kPem);

  json::object ssl{{"key", enc.encrypt(kPem)},
                   {"keys", json::array{enc.encrypt(kPem).c_str(), "77+NmbYqNfN+oLm0aX5akg=="}}};
  auto st = enc.decrypt_ssl(ssl);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message, "failed to decrypt ssl keys[2]: decrypt ssl key failed");

  json::object not_b64{{"key", "not base64!"}};
  st = enc.decrypt_ssl(not_b64);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message, "failed to decrypt ssl key: base64 decode ssl key failed");
}

// A wrong key passes the padding check about once in 256 values. For an
// SSL key only a PEM block counts, so a rotated keyring still finds the
// right entry behind such a key (and a lone wrong key still reads as a
// decryption failure, not as garbage).
TEST(DataEncryptTest, a_wrong_key_that_passes_padding_does_not_end_the_search) {
  const auto right = make({kTestKey});
  const std::string stored = right.encrypt_ssl_key(kPem);
  std::string wrong;
  for (int i = 0; i < 20000 && wrong.empty(); ++i) {
    char candidate[17];
    std::snprintf(candidate, sizeof(candidate), "wrongkey%08d", i);
    if (make({candidate}).decrypt(stored)) wrong = candidate;  // valid padding, garbage
  }
  ASSERT_FALSE(wrong.empty()) << "no key among 20000 passed the padding check";
  auto plain = make({wrong, kTestKey}).decrypt_ssl_key(stored);
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(*plain, kPem);
  auto alone = make({wrong}).decrypt_ssl_key(stored);
  ASSERT_FALSE(alone);
  EXPECT_EQ(alone.error().message, "decrypt ssl key failed");
}

TEST(DataEncryptTest, ssl_key_written_by_apisix_reads_back) {
  // What APISIX's Admin API stores for a PEM key with keyring [edd1...]:
  // base64(AES-128-CBC(key, iv = key, PEM)), the same as encrypt().
  const auto apisix = make({kTestKey});
  const std::string stored = apisix.encrypt_ssl_key(kPem);
  if (const std::string tool = openssl_enc(kTestKey, kPem); !tool.empty()) {
    EXPECT_EQ(stored, tool);
  }
  const auto torii = make({kDefaultKey, kTestKey});
  auto back = torii.decrypt_ssl_key(stored);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, kPem);
}

}  // namespace
}  // namespace torii::config
