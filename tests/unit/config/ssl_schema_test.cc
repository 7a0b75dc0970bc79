// The ssls resource: APISIX's schema and apisix/ssl.lua check_ssl_conf, with
// certificates and keys generated here (nothing secret is committed).
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <boost/json/parse.hpp>
#include <memory>
#include <string>

#include "config/data_encryption.h"
#include "config/resource_schemas.h"

namespace torii::config {
namespace {

namespace json = boost::json;

struct CertKey {
  std::string cert;
  std::string key;
};

std::string bio_string(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

// A self-signed P-256 certificate for `cn` and its PKCS#8 key, in PEM.
CertKey make_cert_key(const char* cn) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> x509(X509_new(), X509_free);
  if (!pkey || !x509) return {};
  X509_set_version(x509.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x509.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(x509.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(x509.get()), 3600);
  X509_set_pubkey(x509.get(), pkey.get());
  X509_NAME* name = X509_get_subject_name(x509.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509_set_issuer_name(x509.get(), name);
  X509_sign(x509.get(), pkey.get(), EVP_sha256());

  std::unique_ptr<BIO, decltype(&BIO_free)> cert_bio(BIO_new(BIO_s_mem()), BIO_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_X509(cert_bio.get(), x509.get());
  PEM_write_bio_PrivateKey(key_bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return {bio_string(cert_bio.get()), bio_string(key_bio.get())};
}

// Generated once: key generation is the slow part.
const CertKey& pair_a() {
  static const CertKey p = make_cert_key("a.example.com");
  return p;
}
const CertKey& pair_b() {
  static const CertKey p = make_cert_key("b.example.com");
  return p;
}

std::string check(const json::value& body, const DataEncryption* encryption = nullptr) {
  auto st = check_resource("ssls", body, encryption);
  return st ? std::string() : st.error().message;
}

// {"cert": A.cert, "key": A.key, "sni": "a.example.com"} plus `extra`.
json::object ssl_a(std::string_view extra = "{}") {
  json::object o;
  o["cert"] = pair_a().cert;
  o["key"] = pair_a().key;
  o["sni"] = "a.example.com";
  const json::value more = json::parse(extra);
  for (const auto& kv : more.as_object()) o[kv.key()] = kv.value();
  return o;
}

// A PEM-shaped string long enough for the schema that is not a certificate.
std::string fake_pem(const char* label) {
  return std::string("-----BEGIN ") + label + "-----\n" + std::string(200, 'A') + "\n-----END " +
         label + "-----\n";
}

TEST(SslSchemaTest, generated_pairs_look_like_pem) {
  ASSERT_GT(pair_a().cert.size(), 128u);
  ASSERT_GT(pair_a().key.size(), 128u);
  ASSERT_EQ(pair_a().cert.rfind("-----BEGIN CERTIFICATE-----", 0), 0u);
}

// --- accepted ----------------------------------------------------------------

TEST(SslSchemaTest, server_cert_with_sni_or_snis_is_accepted) {
  EXPECT_EQ(check(ssl_a()), "");
  auto with_snis = ssl_a();
  with_snis.erase("sni");
  with_snis["snis"] = json::array{"a.example.com", "*.a.example.com"};
  EXPECT_EQ(check(with_snis), "");
}

TEST(SslSchemaTest, every_documented_field_is_accepted) {
  auto ssl = ssl_a(
      R"({"id":"1","desc":"d","labels":{"env":"prod"},"type":"server","status":0,)"
      R"("ssl_protocols":["TLSv1.2","TLSv1.3"],"create_time":1735689600,"update_time":1735689600})");
  ssl["certs"] = json::array{pair_b().cert.c_str()};
  ssl["keys"] = json::array{pair_b().key.c_str()};
  ssl["client"] = json::object{
      {"ca", pair_b().cert}, {"depth", 2}, {"skip_mtls_uri_regex", json::array{"/hello[0-9]+"}}};
  EXPECT_EQ(check(ssl), "");
}

TEST(SslSchemaTest, client_type_needs_no_sni) {
  json::object ssl{{"type", "client"}, {"cert", pair_a().cert}, {"key", pair_a().key}};
  EXPECT_EQ(check(ssl), "");
}

TEST(SslSchemaTest, secret_references_are_not_parsed) {
  json::object ssl{
      {"cert", "$secret://vault/1/ssl/cert"}, {"key", "$env://SSL_KEY"}, {"sni", "a.example.com"}};
  EXPECT_EQ(check(ssl), "");
  ssl["certs"] = json::array{"$secret://vault/1/ssl/cert2"};
  ssl["keys"] = json::array{"$ENV://SSL_KEY2"};
  EXPECT_EQ(check(ssl), "");
}

TEST(SslSchemaTest, a_key_encrypted_at_rest_is_parsed_only_with_the_keyring) {
  auto enc = DataEncryption::create({"edd1c9f0985e76a2"});
  ASSERT_TRUE(enc);
  auto stored = ssl_a();
  enc->encrypt_ssl(stored);
  ASSERT_NE(stored["key"].as_string(), pair_a().key);
  EXPECT_EQ(check(stored), "");  // no keyring: the cert is still parsed
  EXPECT_EQ(check(stored, &*enc), "");

  auto other = DataEncryption::create({"qeddd145sfvddff3"});
  ASSERT_TRUE(other);
  EXPECT_EQ(check(stored, &*other), "failed to decrypt previous encrypted key");
  DataEncryption disabled;
  EXPECT_EQ(check(stored, &disabled), "failed to parse key: PEM_read_bio_PrivateKey() failed");
}

// --- schema refusals -------------------------------------------------------

TEST(SslSchemaTest, server_without_sni_is_refused) {
  auto ssl = ssl_a();
  ssl.erase("sni");
  EXPECT_EQ(check(ssl), "invalid configuration: then clause did not match");
  ssl["type"] = "client";
  EXPECT_EQ(check(ssl), "");
}

TEST(SslSchemaTest, sni_and_snis_together_are_refused) {
  EXPECT_EQ(check(ssl_a(R"({"snis":["b.example.com"]})")),
            "invalid configuration: then clause did not match");
}

TEST(SslSchemaTest, client_without_key_is_refused) {
  json::object ssl{{"type", "client"}, {"cert", pair_a().cert}};
  EXPECT_EQ(check(ssl), "invalid configuration: else clause did not match");
}

TEST(SslSchemaTest, schema_field_errors) {
  EXPECT_EQ(
      check(ssl_a(R"({"sni":"a b"})")),
      R"(invalid configuration: property "sni" validation failed: failed to match pattern "^\\*$|^\\*?[0-9a-zA-Z-._\\[\\]:]+$" with "a b")");
  EXPECT_EQ(
      check(ssl_a(R"({"snis":[]})")),
      R"(invalid configuration: property "snis" validation failed: expect array to have at least 1 items)");
  EXPECT_EQ(
      check(ssl_a(R"({"type":"both"})")),
      R"(invalid configuration: property "type" validation failed: matches none of the enum values)");
  EXPECT_EQ(
      check(ssl_a(R"({"ssl_protocols":["SSLv3"]})")),
      R"(invalid configuration: property "ssl_protocols" validation failed: failed to validate item 1: matches none of the enum values)");
  EXPECT_EQ(
      check(ssl_a(R"({"status":2})")),
      R"(invalid configuration: property "status" validation failed: matches none of the enum values)");
  EXPECT_EQ(
      check(ssl_a(R"({"client":{"depth":1}})")),
      R"(invalid configuration: property "client" validation failed: property "ca" is required)");
  EXPECT_EQ(check(ssl_a(R"({"validity_start":1})")),
            "invalid configuration: additional properties forbidden, found validity_start");
}

TEST(SslSchemaTest, short_cert_matches_neither_pem_nor_secret) {
  EXPECT_EQ(
      check(ssl_a(R"({"cert":"too short"})")),
      R"(invalid configuration: property "cert" validation failed: value should match only one schema, but matches none)");
}

// --- check_ssl_conf refusals ------------------------------------------------

TEST(SslSchemaTest, cert_that_does_not_parse) {
  auto ssl = ssl_a();
  ssl["cert"] = fake_pem("CERTIFICATE");
  EXPECT_EQ(check(ssl), "failed to parse cert: PEM_read_bio_X509_AUX() failed");
  ssl["cert"] = std::string(200, 'x');
  EXPECT_EQ(check(ssl), "failed to parse cert: PEM_read_bio_X509_AUX() failed");
}

TEST(SslSchemaTest, garbage_after_the_leaf_certificate) {
  auto ssl = ssl_a();
  ssl["cert"] = pair_a().cert + fake_pem("CERTIFICATE");
  EXPECT_EQ(check(ssl), "failed to parse cert: PEM_read_bio_X509() failed");
  ssl["cert"] = pair_a().cert + pair_b().cert;  // a chain is fine
  EXPECT_EQ(check(ssl), "");
}

TEST(SslSchemaTest, key_that_does_not_parse) {
  auto ssl = ssl_a();
  ssl["key"] = fake_pem("PRIVATE KEY");
  EXPECT_EQ(check(ssl), "failed to parse key: PEM_read_bio_PrivateKey() failed");
}

TEST(SslSchemaTest, key_of_another_cert) {
  auto ssl = ssl_a();
  ssl["key"] = pair_b().key;
  EXPECT_EQ(check(ssl), "key does not match cert");
}

TEST(SslSchemaTest, certs_and_keys_counts_must_match) {
  auto ssl = ssl_a();
  ssl["certs"] = json::array{pair_b().cert.c_str()};
  EXPECT_EQ(check(ssl), "mismatched number of certs and keys");
  ssl["keys"] = json::array{pair_b().key.c_str(), pair_a().key.c_str()};
  EXPECT_EQ(check(ssl), "mismatched number of certs and keys");
}

TEST(SslSchemaTest, extra_pairs_are_checked_and_named) {
  auto ssl = ssl_a();
  ssl["certs"] = json::array{pair_b().cert.c_str(), fake_pem("CERTIFICATE").c_str()};
  ssl["keys"] = json::array{pair_b().key.c_str(), pair_a().key.c_str()};
  EXPECT_EQ(
      check(ssl),
      "failed to handle cert-key pair[2]: failed to parse cert: PEM_read_bio_X509_AUX() failed");
  ssl["certs"] = json::array{pair_b().cert.c_str(), pair_a().cert.c_str()};
  ssl["keys"] = json::array{pair_b().key.c_str(), fake_pem("PRIVATE KEY").c_str()};
  EXPECT_EQ(
      check(ssl),
      "failed to handle cert-key pair[2]: failed to parse key: PEM_read_bio_PrivateKey() failed");
  ssl["keys"] = json::array{pair_a().key.c_str(), pair_a().key.c_str()};
  EXPECT_EQ(check(ssl), "failed to handle cert-key pair[1]: key does not match cert");
}

TEST(SslSchemaTest, client_type_skips_extra_pairs_and_client_ca) {
  json::object ssl{{"type", "client"}, {"cert", pair_a().cert}, {"key", pair_a().key}};
  ssl["certs"] = json::array{pair_b().cert.c_str()};
  EXPECT_EQ(check(ssl), "");
  ssl["key"] = pair_b().key;
  EXPECT_EQ(check(ssl), "key does not match cert");
}

TEST(SslSchemaTest, client_ca_must_parse) {
  auto ssl = ssl_a();
  ssl["client"] = json::object{{"ca", fake_pem("CERTIFICATE")}};
  EXPECT_EQ(check(ssl),
            "failed to validate client_cert: failed to parse cert: PEM_read_bio_X509_AUX() failed");
}

TEST(SslSchemaTest, encrypted_pem_key_is_refused_without_prompting) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(nullptr, EVP_PKEY_free);
  {
    std::unique_ptr<BIO, decltype(&BIO_free)> in(
        BIO_new_mem_buf(pair_a().key.data(), static_cast<int>(pair_a().key.size())), BIO_free);
    pkey.reset(PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr));
  }
  ASSERT_TRUE(pkey);
  std::unique_ptr<BIO, decltype(&BIO_free)> out(BIO_new(BIO_s_mem()), BIO_free);
  char pass[] = "secret";
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(out.get(), pkey.get(), EVP_aes_128_cbc(), pass, 6,
                                          nullptr, nullptr),
            1);
  auto ssl = ssl_a();
  ssl["key"] = bio_string(out.get());
  EXPECT_EQ(check(ssl), "failed to parse key: PEM_read_bio_PrivateKey() failed");
}

}  // namespace
}  // namespace torii::config
