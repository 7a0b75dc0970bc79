// ssls: private keys are encrypted at rest when a keyring is configured and
// never returned by any response.
#include <boost/json/serialize.hpp>

#include "admin_test_support.h"
#include "config/data_encryption.h"

namespace torii::admin::testing {
namespace {

namespace json = boost::json;

// A self-signed EC P-256 certificate for test.com, its key, and the key of
// another certificate.
constexpr const char* kCert = R"(-----BEGIN CERTIFICATE-----
MIIBfTCCASOgAwIBAgIUZNwoonJrCSeX3J4S14Mc13qsZgYwCgYIKoZIzj0EAwIw
EzERMA8GA1UEAwwIdGVzdC5jb20wIBcNMjYxMTI2MTIyNjM4WhgPMjEyNjExMDIx
MjI2MzhaMBMxETAPBgNVBAMMCHRlc3QuY29tMFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAEk67wboOl5swI4p0HRnNvmyFdCx7N2SlJc7WoFvC6NFaEalF0ayfj0Ob0
BH8ftgV0QPqDS8NCJF3lqrNIK1d6r6NTMFEwHQYDVR0OBBYEFOLZNG0pIrWjjcgz
itD7875gIrT3MB8GA1UdIwQYMBaAFOLZNG0pIrWjjcgzitD7875gIrT3MA8GA1Ud
EwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgRllPm0dZ8Jt+wgtyVvC0jGUf
8SCvIeqSRZzBw24j3tYCIQDodTELYt6etoLoJhm9bl/jtwU+2jNKfcekbUfe0qNo
DQ==
-----END CERTIFICATE-----
)";
constexpr const char* kKey = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgEXauEKB4Hiv/TMJs
YfM4ulMqqhOoiXAFIQXo476Bm0qhRANCAASTrvBug6XmzAjinQdGc2+bIV0LHs3Z
KUlztagW8Lo0VoRqUXRrJ+PQ5vQEfx+2BXRA+oNLw0IkXeWqs0grV3qv
-----END PRIVATE KEY-----
)";
constexpr const char* kOtherKey = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgocIhIvf7uk8DnuYT
rZW5Qh1sXBPcgXsKkB+viJSmg+ahRANCAAQWlJaICCrQEbkMWUWR69bKor3T06kY
3CEILA2FJMYxWJIrC0Sts4xzselZIUc9Tuhy6H7vLkOpiMyyRW75/ggO
-----END PRIVATE KEY-----
)";

std::string ssl_body(const char* key) {
  json::object o;
  o["cert"] = kCert;
  o["key"] = key;
  o["sni"] = "test.com";
  return json::serialize(o);
}

std::string json_string(std::string_view s) { return json::serialize(json::string(s)); }

class AdminSslTest : public AdminApiTest {
 protected:
  void SetUp() override {
    AdminApiTest::SetUp();
    auto enc = config::DataEncryption::create({"qeddd145sfvddff3"});
    ASSERT_TRUE(enc.ok()) << enc.error().message;
    encryption_ = std::move(*enc);
    make_api(options_with([this](ResourceApiOptions& o) { o.encryption = &encryption_; }));
  }

  std::string stored_key(const std::string& key) {
    auto kv = raw_get(key);
    if (!kv) return "";
    return std::string(parse(kv->value).as_object().at("key").as_string());
  }

  config::DataEncryption encryption_;
};

TEST_F(AdminSslTest, keys_are_encrypted_at_rest_and_never_returned) {
  const std::string public_value =
      R"({"cert":)" + json_string(kCert) +
      R"(,"sni":"test.com","id":"1","create_time":1700000000,"update_time":1700000000})";
  run({
      {"PUT", "/ssls/1", ssl_body(kKey), 201,
       R"({"key":"/apisix/ssls/1","value":)" + public_value + "}"},
      {"GET", "/ssls/1", "", 200,
       R"({"key":"/apisix/ssls/1","value":)" + public_value +
           R"(,"createdIndex":1,"modifiedIndex":1})"},
      {"GET", "/ssls", "", 200,
       R"({"total":1,"list":[{"key":"/apisix/ssls/1","value":)" + public_value +
           R"(,"createdIndex":1,"modifiedIndex":1}]})"},
  });
  const std::string encrypted = stored_key("/apisix/ssls/1");
  EXPECT_NE(encrypted, kKey);
  auto plain = encryption_.decrypt_ssl_key(encrypted);
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ(*plain, kKey);

  // A PATCH re-validates with the stored (encrypted) key and keeps it.
  run({{"PATCH", "/ssls/1", R"({"labels":{"a":"b"}})", 200, "*"}});
  EXPECT_EQ(stored_key("/apisix/ssls/1"), encrypted);
  const AdminResponse patched = call("PATCH", "/ssls/1/key", json_string(kKey));
  EXPECT_EQ(patched.status, 200) << patched.body;
  EXPECT_FALSE(parse(patched.body).as_object().at("value").as_object().contains("key"));
  EXPECT_EQ(*encryption_.decrypt_ssl_key(stored_key("/apisix/ssls/1")), kKey);

  const AdminResponse posted = call("POST", "/ssls", ssl_body(kKey));
  EXPECT_EQ(posted.status, 201) << posted.body;
  EXPECT_FALSE(parse(posted.body).as_object().at("value").as_object().contains("key"));
}

TEST_F(AdminSslTest, a_key_of_another_certificate_is_refused) {
  run({{"PUT", "/ssls/1", ssl_body(kOtherKey), 400, R"({"error_msg":"key does not match cert"})"}});
  EXPECT_FALSE(raw_get("/apisix/ssls/1"));
}

TEST_F(AdminSslTest, without_a_keyring_keys_are_stored_as_sent) {
  make_api({});
  run({{"PUT", "/ssls/1", ssl_body(kKey), 201, "*"}});
  EXPECT_EQ(stored_key("/apisix/ssls/1"), kKey);
  EXPECT_EQ(call("GET", "/ssls/1").body.find("PRIVATE KEY"), std::string::npos);
}

}  // namespace
}  // namespace torii::admin::testing
