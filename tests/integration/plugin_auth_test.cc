// Consumers and authentication through the real binary: key-auth,
// basic-auth and consumer-restriction; credentials; the X-Consumer-*
// headers upstream; consumer and consumer-group plugins joining the route's
// chain; anonymous consumers; and the Admin API's duplicate-key check and
// encryption at rest (sqlite store).
#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <boost/json.hpp>
#include <ctime>
#include <string>

#include "core/base64.h"
#include "harness.h"
#include "plugins/jwt.h"

namespace torii::testing {
namespace {

namespace json = boost::json;

std::string echo_route(const Upstream& up, const std::string& plugins,
                       const std::string& id = "r1", const std::string& uri = "/*") {
  return "  - id: " + id + "\n    uri: \"" + uri + "\"\n    plugins: " + plugins +
         "\n    upstream:\n      nodes:\n        \"" + up.node() + "\": 1\n";
}

// The head the upstream received, lower-cased, for header assertions.
std::string upstream_head(const Upstream& up) {
  std::string h = up.last_head();
  for (char& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return h;
}

const std::string kConsumers = R"(consumers:
  - username: jack
    labels: {custom_id: "jack-42"}
    plugins:
      key-auth: {key: "jack-secret-key"}
      basic-auth: {username: "jack", password: "jack-pass"}
  - username: rose
    plugins:
      key-auth: {key: "rose-key"}
  - id: rose/credentials/rotated
    plugins:
      key-auth: {key: "rose-new-key"}
  - username: guest
)";

TEST(PluginAuth, KeyAuthAnswersAsApisixAndSendsTheConsumerUpstream) {
  Upstream up;
  Torii t(kConsumers + "routes:\n" + echo_route(up, R"({"key-auth": {}})"));

  auto missing = http_get(t.url("/echo"));
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.body, "{\"message\":\"Missing API key in request\"}\n");
  EXPECT_EQ(missing.headers["www-authenticate"], "apikey realm=\"key\"");

  auto wrong = http_get(t.url("/echo"), {"apikey: not-a-key"});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.body, "{\"message\":\"Invalid API key in request\"}\n");

  const int before = up.requests();
  auto ok = http_get(t.url("/echo"), {"apikey: jack-secret-key",
                                      "X-Consumer-Username: mallory",
                                      "X-Credential-Identifier: forged"});
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(up.requests(), before + 1);
  const std::string head = upstream_head(up);
  EXPECT_NE(head.find("x-consumer-username: jack\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.find("mallory"), std::string::npos) << head;
  EXPECT_EQ(head.find("x-credential-identifier"), std::string::npos) << head;
  EXPECT_NE(head.find("x-consumer-custom-id: jack-42\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("apikey: jack-secret-key"), std::string::npos) << head;

  // The query argument, percent-decoded.
  EXPECT_EQ(http_get(t.url("/echo?apikey=rose%2Dkey")).status, 200);
  EXPECT_NE(upstream_head(up).find("x-consumer-username: rose\r\n"), std::string::npos);

  // A credential: X-Credential-Identifier names it.
  EXPECT_EQ(http_get(t.url("/echo"), {"apikey: rose-new-key"}).status, 200);
  EXPECT_NE(upstream_head(up).find("x-credential-identifier: rotated\r\n"), std::string::npos);
}

TEST(PluginAuth, KeyAuthHidesCredentialsAndUsesConfiguredNames) {
  Upstream up;
  Torii t(kConsumers + "routes:\n" +
          echo_route(up, R"({"key-auth": {"header": "X-Key", "query": "k",
                                           "hide_credentials": true, "realm": "api"}})"));
  auto r = http_get(t.url("/echo?a=1"), {"X-Key: jack-secret-key"});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(upstream_head(up).find("x-key"), std::string::npos);

  r = http_get(t.url("/echo?a=1&k=jack-secret-key&b=2"));
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("uri=/echo?a=1&b=2\n"), std::string::npos) << r.body;

  auto missing = http_get(t.url("/echo"), {"apikey: jack-secret-key"});
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.headers["www-authenticate"], "apikey realm=\"api\"");
}

TEST(PluginAuth, BasicAuth) {
  Upstream up;
  Torii t(kConsumers + "routes:\n" + echo_route(up, R"({"basic-auth": {"hide_credentials": true}})"));
  // "jack: jack-pass " -- whitespace is stripped from both parts (APISIX).
  auto ok = http_get(t.url("/echo"), {"Authorization: Basic amFjazogamFjay1wYXNzIA=="});
  EXPECT_EQ(ok.status, 200);
  const std::string head = upstream_head(up);
  EXPECT_NE(head.find("x-consumer-username: jack\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.find("authorization"), std::string::npos) << head;

  auto missing = http_get(t.url("/echo"));
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.body, "{\"message\":\"Missing authorization in request\"}\n");
  EXPECT_EQ(missing.headers["www-authenticate"], "Basic realm=\"basic\"");

  auto bad_scheme = http_get(t.url("/echo"), {"Authorization: Bearer abc"});
  EXPECT_EQ(bad_scheme.body, "{\"message\":\"Invalid authorization in request\"}\n");
  auto bad_b64 = http_get(t.url("/echo"), {"Authorization: Basic !!!"});
  EXPECT_EQ(bad_b64.body, "{\"message\":\"Invalid authorization in request\"}\n");
  auto no_colon = http_get(t.url("/echo"), {"Authorization: Basic amFjaw=="});  // "jack"
  EXPECT_EQ(no_colon.body, "{\"message\":\"Invalid authorization in request\"}\n");

  // "jack:wrong"
  auto wrong = http_get(t.url("/echo"), {"Authorization: Basic amFjazp3cm9uZw=="});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.body, "{\"message\":\"Invalid user authorization\"}\n");
  // "nobody:x"
  auto unknown = http_get(t.url("/echo"), {"Authorization: Basic bm9ib2R5Ong="});
  EXPECT_EQ(unknown.body, "{\"message\":\"Invalid user authorization\"}\n");
}

TEST(PluginAuth, AnonymousConsumer) {
  Upstream up;
  Torii t(kConsumers + "routes:\n" +
          echo_route(up, R"({"key-auth": {"anonymous_consumer": "guest"}})", "r1", "/open/*") +
          echo_route(up, R"({"key-auth": {"anonymous_consumer": "nobody"}})", "r2", "/broken/*"));
  EXPECT_EQ(http_get(t.url("/open/echo")).status, 200);
  EXPECT_NE(upstream_head(up).find("x-consumer-username: guest\r\n"), std::string::npos);
  EXPECT_EQ(http_get(t.url("/open/echo"), {"apikey: rose-key"}).status, 200);
  EXPECT_NE(upstream_head(up).find("x-consumer-username: rose\r\n"), std::string::npos);
  auto broken = http_get(t.url("/broken/echo"));
  EXPECT_EQ(broken.status, 401);
  EXPECT_EQ(broken.body, "{\"message\":\"Invalid user authorization\"}\n");
}

TEST(PluginAuth, ConsumerAndGroupPluginsJoinTheRouteChain) {
  Upstream up;
  // jack's own limit-count (2) replaces the route's (100); rose inherits
  // her group's limit-count (3) and its response-rewrite header.
  const std::string conf = R"(consumer_groups:
  - id: gold
    plugins:
      limit-count: {count: 3, time_window: 60, rejected_code: 429}
      response-rewrite: {headers: {set: {X-Tier: gold}}}
consumers:
  - username: jack
    plugins:
      key-auth: {key: "jack-key"}
      limit-count: {count: 2, time_window: 60, rejected_code: 429}
  - username: rose
    group_id: gold
    plugins:
      key-auth: {key: "rose-key"}
routes:
)" + echo_route(up, R"({"key-auth": {}, "limit-count": {"count": 100, "time_window": 60}})");
  Torii t(conf);
  for (int i = 0; i < 2; ++i) {
    auto r = http_get(t.url("/x"), {"apikey: jack-key"});
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.headers["x-ratelimit-limit"], "2");
  }
  EXPECT_EQ(http_get(t.url("/x"), {"apikey: jack-key"}).status, 429);
  for (int i = 0; i < 3; ++i) {
    auto r = http_get(t.url("/x"), {"apikey: rose-key"});
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.headers["x-ratelimit-limit"], "3");
    EXPECT_EQ(r.headers["x-tier"], "gold");
  }
  auto over = http_get(t.url("/x"), {"apikey: rose-key"});
  EXPECT_EQ(over.status, 429);
  EXPECT_EQ(over.headers["x-tier"], "gold");
}

TEST(PluginAuth, LimitCountByConsumerName) {
  Upstream up;
  Torii t(kConsumers + "routes:\n" +
          echo_route(up, R"({"key-auth": {}, "limit-count": {"count": 1, "time_window": 60,
                              "key_type": "var", "key": "consumer_name"}})"));
  EXPECT_EQ(http_get(t.url("/x"), {"apikey: jack-secret-key"}).status, 200);
  EXPECT_EQ(http_get(t.url("/x"), {"apikey: jack-secret-key"}).status, 503);
  // Another consumer has its own counter; rose's credential is rose.
  EXPECT_EQ(http_get(t.url("/x"), {"apikey: rose-key"}).status, 200);
  EXPECT_EQ(http_get(t.url("/x"), {"apikey: rose-new-key"}).status, 503);
}

TEST(PluginAuth, ConsumerRestriction) {
  Upstream up;
  Torii t(kConsumers + "routes:\n" +
          echo_route(up, R"({"key-auth": {}, "consumer-restriction": {"whitelist": ["jack"]}})",
                     "r1", "/white/*") +
          echo_route(up, R"({"key-auth": {}, "consumer-restriction": {"blacklist": ["jack"],
                              "rejected_code": 401, "rejected_msg": "no jacks"}})",
                     "r2", "/black/*") +
          echo_route(up, R"({"key-auth": {}, "consumer-restriction": {"allowed_by_methods":
                              [{"user": "rose", "methods": ["POST"]}]}})",
                     "r3", "/methods/*") +
          echo_route(up, R"({"consumer-restriction": {"whitelist": ["jack"]}})", "r4", "/noauth/*") +
          echo_route(up, R"({"consumer-restriction": {"type": "route_id", "blacklist": ["r5"]}})",
                     "r5", "/byroute/*"));
  EXPECT_EQ(http_get(t.url("/white/x"), {"apikey: jack-secret-key"}).status, 200);
  auto rose = http_get(t.url("/white/x"), {"apikey: rose-key"});
  EXPECT_EQ(rose.status, 403);
  EXPECT_EQ(rose.body, "{\"message\":\"The consumer_name is forbidden.\"}\n");

  auto jack = http_get(t.url("/black/x"), {"apikey: jack-secret-key"});
  EXPECT_EQ(jack.status, 401);
  EXPECT_EQ(jack.body, "{\"message\":\"no jacks\"}\n");
  EXPECT_EQ(http_get(t.url("/black/x"), {"apikey: rose-key"}).status, 200);

  EXPECT_EQ(http(HttpRequest{"POST", t.url("/methods/x"), {"apikey: rose-key"}, "a", false, 10000})
                .status,
            200);
  EXPECT_EQ(http_get(t.url("/methods/x"), {"apikey: rose-key"}).status, 403);
  EXPECT_EQ(http_get(t.url("/methods/x"), {"apikey: jack-secret-key"}).status, 403);

  auto anonymous = http_get(t.url("/noauth/x"));
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.body,
            "{\"message\":\"The request is rejected, please check the consumer_name for this "
            "request\"}\n");
  EXPECT_EQ(http_get(t.url("/byroute/x")).status, 403);
}

TEST(PluginAuth, StandaloneFileRefusesDuplicateKeysAndUnknownGroups) {
  Upstream up;
  Torii t(kConsumers + "routes:\n" + echo_route(up, R"({"key-auth": {}})"));
  EXPECT_EQ(http_get(t.url("/x"), {"apikey: rose-key"}).status, 200);
  // Two consumers with one key: the whole file is refused, the old one serves.
  t.set_routes("consumers:\n  - username: a\n    plugins:\n      key-auth: {key: same}\n"
               "  - username: b\n    plugins:\n      key-auth: {key: same}\nroutes:\n" +
               echo_route(up, R"({"key-auth": {}})"));
  EXPECT_TRUE(wait_until([&] {
    return t.error_log().find("duplicate key-auth key") != std::string::npos;
  }));
  EXPECT_EQ(http_get(t.url("/x"), {"apikey: rose-key"}).status, 200);
  t.set_routes("consumers:\n  - username: a\n    group_id: missing\n    plugins:\n"
               "      key-auth: {key: k}\nroutes:\n" + echo_route(up, R"({"key-auth": {}})"));
  EXPECT_TRUE(wait_until([&] {
    return t.error_log().find("consumer group missing not found") != std::string::npos;
  }));
  EXPECT_EQ(http_get(t.url("/x"), {"apikey: rose-key"}).status, 200);
}

TEST(PluginAuth, EnvironmentReferencesResolveAndUnsetOnesAreRefused) {
  Upstream up;
  ::setenv("TORII_TEST_JACK_KEY", "from-the-environment", 1);
  ::unsetenv("TORII_TEST_UNSET_KEY");
  const std::string jack = R"(consumers:
  - username: jack
    plugins:
      key-auth: {key: "$env://TORII_TEST_JACK_KEY"}
)";
  Torii t(jack + "routes:\n" + echo_route(up, R"({"key-auth": {}})"));
  EXPECT_EQ(http_get(t.url("/x"), {"apikey: from-the-environment"}).status, 200);
  EXPECT_EQ(http_get(t.url("/x"), {"apikey: $env://TORII_TEST_JACK_KEY"}).status, 401);
  // A reference to an unset variable is an error, never the literal key.
  t.set_routes(jack + R"(  - username: ghost
    plugins:
      key-auth: {key: "$env://TORII_TEST_UNSET_KEY"}
routes:
)" + echo_route(up, R"({"key-auth": {}})"));
  EXPECT_TRUE(wait_until([&] {
    return t.error_log().find("environment variable TORII_TEST_UNSET_KEY is not set") !=
           std::string::npos;
  }));
  EXPECT_EQ(http_get(t.url("/x"), {"apikey: $env://TORII_TEST_UNSET_KEY"}).status, 401);
  EXPECT_EQ(http_get(t.url("/x"), {"apikey: from-the-environment"}).status, 200);
}

// An RSA key pair as PEM (private, public), made by OpenSSL here.
std::pair<std::string, std::string> rsa_pem() {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  auto pem = [&](bool priv) {
    BIO* b = BIO_new(BIO_s_mem());
    if (priv) {
      PEM_write_bio_PrivateKey(b, pkey, nullptr, nullptr, 0, nullptr, nullptr);
    } else {
      PEM_write_bio_PUBKEY(b, pkey);
    }
    char* data = nullptr;
    const long n = BIO_get_mem_data(b, &data);
    std::string out(data, static_cast<size_t>(n));
    BIO_free(b);
    return out;
  };
  auto out = std::make_pair(pem(true), pem(false));
  EVP_PKEY_free(pkey);
  return out;
}

// YAML double-quoted scalar of a PEM block.
std::string yaml_quoted(const std::string& pem) {
  std::string out = "\"";
  for (char c : pem) {
    if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

TEST(PluginAuth, JwtAuthHs256AndRs256) {
  using plugins::jwt::Algorithm;
  using plugins::jwt::sign_for_tests;
  Upstream up;
  const auto [priv, pub] = rsa_pem();
  Torii t("consumers:\n"
          "  - username: jack\n"
          "    plugins:\n"
          "      jwt-auth: {key: jack-key, secret: jack-secret}\n"
          "  - username: rose\n"
          "    plugins:\n"
          "      jwt-auth: {key: rose-key, algorithm: RS256, public_key: " + yaml_quoted(pub) +
          ", lifetime_grace_period: 30}\n"
          "routes:\n" + echo_route(up, R"({"jwt-auth": {"hide_credentials": true}})"));
  const std::string hs = R"({"alg":"HS256","typ":"JWT"})";
  const std::string rs = R"({"alg":"RS256","typ":"JWT"})";
  const long now = static_cast<long>(std::time(nullptr));
  const std::string later = std::to_string(now + 3600);

  auto jack = sign_for_tests(Algorithm::kHS256, hs, R"({"key":"jack-key","exp":)" + later + "}",
                             "jack-secret");
  ASSERT_TRUE(jack);
  auto ok = http_get(t.url("/echo"), {"Authorization: Bearer " + *jack});
  EXPECT_EQ(ok.status, 200);
  const std::string head = upstream_head(up);
  EXPECT_NE(head.find("x-consumer-username: jack\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.find("authorization"), std::string::npos) << head;  // hide_credentials
  // Query and cookie sources.
  EXPECT_EQ(http_get(t.url("/echo?jwt=" + *jack)).status, 200);
  EXPECT_EQ(http_get(t.url("/echo"), {"Cookie: a=1; jwt=" + *jack}).status, 200);
  EXPECT_NE(upstream_head(up).find("cookie: a=1\r\n"), std::string::npos) << upstream_head(up);

  auto rose = sign_for_tests(Algorithm::kRS256, rs, R"({"key":"rose-key","exp":)" + later + "}", priv);
  ASSERT_TRUE(rose);
  EXPECT_EQ(http_get(t.url("/echo"), {"Authorization: " + *rose}).status, 200);
  EXPECT_NE(upstream_head(up).find("x-consumer-username: rose\r\n"), std::string::npos);

  struct Case {
    std::string header;
    std::string message;
  };
  auto expired = sign_for_tests(Algorithm::kHS256, hs,
                                R"({"key":"jack-key","exp":)" + std::to_string(now - 10) + "}",
                                "jack-secret");
  // rose has 30 s of grace: 10 s past exp still passes.
  auto rose_grace = sign_for_tests(Algorithm::kRS256, rs,
                                   R"({"key":"rose-key","exp":)" + std::to_string(now - 10) + "}", priv);
  auto not_yet = sign_for_tests(Algorithm::kHS256, hs,
                                R"({"key":"jack-key","nbf":)" + std::to_string(now + 600) + "}",
                                "jack-secret");
  auto wrong_secret = sign_for_tests(Algorithm::kHS256, hs, R"({"key":"jack-key"})", "guess");
  auto no_key = sign_for_tests(Algorithm::kHS256, hs, R"({"sub":"x"})", "jack-secret");
  auto unknown = sign_for_tests(Algorithm::kHS256, hs, R"({"key":"nobody"})", "jack-secret");
  // rose's RS256 key used as an HMAC secret: the algorithm switch.
  auto switched = sign_for_tests(Algorithm::kHS256, hs, R"({"key":"rose-key"})", pub);
  EXPECT_EQ(http_get(t.url("/echo"), {"Authorization: " + *rose_grace}).status, 200);
  const Case cases[] = {
      {"", "Missing JWT token in request"},
      {"Authorization: Bearer not.a.jwt", "JWT token invalid"},
      {"Authorization: " + *no_key, "missing user key in JWT token"},
      {"Authorization: " + *unknown, "Invalid user key in JWT token"},
      {"Authorization: " + *wrong_secret, "failed to verify jwt"},
      {"Authorization: " + *expired, "failed to verify jwt"},
      {"Authorization: " + *not_yet, "failed to verify jwt"},
      {"Authorization: " + *switched, "failed to verify jwt"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> headers;
    if (!c.header.empty()) headers.push_back(c.header);
    auto r = http_get(t.url("/echo"), headers);
    EXPECT_EQ(r.status, 401) << c.message;
    EXPECT_EQ(r.body, "{\"message\":\"" + c.message + "\"}\n");
    EXPECT_EQ(r.headers["www-authenticate"], "Bearer realm=\"jwt\"");
  }
}

TEST(PluginAuth, JwtAuthRefusesUnusableKeysInTheFile) {
  Upstream up;
  Torii t("consumers:\n  - username: jack\n    plugins:\n"
          "      jwt-auth: {key: jack-key, secret: s}\nroutes:\n" +
          echo_route(up, R"({"jwt-auth": {}})"));
  t.set_routes("consumers:\n  - username: jack\n    plugins:\n"
               "      jwt-auth: {key: jack-key, algorithm: RS256, public_key: \"garbage\"}\n"
               "routes:\n" + echo_route(up, R"({"jwt-auth": {}})"));
  EXPECT_TRUE(wait_until([&] {
    return t.error_log().find("plugin jwt-auth: public_key: not a PEM public key") !=
           std::string::npos;
  }));
}

// The client side of hmac-auth, as docs/plugins/hmac-auth.md shows it.
std::string hmac_authorization(const std::string& key_id, const std::string& secret,
                               const std::string& method, const std::string& target,
                               const std::vector<std::pair<std::string, std::string>>& headers,
                               const EVP_MD* md = EVP_sha256(),
                               const std::string& algorithm = "hmac-sha256") {
  std::string signing = key_id + "\n";
  std::string names = "@request-target";
  signing += method + " " + target + "\n";
  for (const auto& [name, value] : headers) {
    signing += name + ": " + value + "\n";
    names += " " + name;
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signing.data()), signing.size(), mac, &len);
  return "Authorization: Signature keyId=\"" + key_id + "\",algorithm=\"" + algorithm +
         "\",headers=\"" + names + "\",signature=\"" +
         core::base64_encode(std::string_view(reinterpret_cast<char*>(mac), len)) + "\"";
}

std::string http_date(std::time_t t) {
  char buf[64];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

TEST(PluginAuth, HmacAuth) {
  Upstream up;
  Torii t("consumers:\n  - username: jack\n    plugins:\n"
          "      hmac-auth: {key_id: jack-id, secret_key: jack-secret}\nroutes:\n" +
          echo_route(up, R"({"hmac-auth": {"signed_headers": ["date", "x-custom"],
                              "hide_credentials": true}})", "r1", "/h/*") +
          echo_route(up, R"({"hmac-auth": {"validate_request_body": true, "max_req_body_size": 100,
                              "allowed_algorithms": ["hmac-sha512"]}})", "r2", "/body/*"));
  const std::string now = http_date(std::time(nullptr));
  const std::vector<std::pair<std::string, std::string>> signed_headers = {
      {"date", now}, {"x-custom", "v1"}};
  const std::string auth =
      hmac_authorization("jack-id", "jack-secret", "GET", "/h/echo?a=1", signed_headers);
  auto ok = http_get(t.url("/h/echo?a=1"), {auth, "Date: " + now, "X-Custom: v1"});
  EXPECT_EQ(ok.status, 200) << ok.body;
  const std::string head = upstream_head(up);
  EXPECT_NE(head.find("x-consumer-username: jack\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.find("authorization"), std::string::npos) << head;

  const std::string generic = "{\"message\":\"client request can't be validated\"}\n";
  // Another target, another value, a missing signed header, an old date.
  EXPECT_EQ(http_get(t.url("/h/echo?a=2"), {auth, "Date: " + now, "X-Custom: v1"}).body, generic);
  EXPECT_EQ(http_get(t.url("/h/echo?a=1"), {auth, "Date: " + now, "X-Custom: v2"}).body, generic);
  const std::string only_date = hmac_authorization("jack-id", "jack-secret", "GET", "/h/echo",
                                                   {{"date", now}});
  EXPECT_EQ(http_get(t.url("/h/echo"), {only_date, "Date: " + now}).body, generic);
  const std::string old = http_date(std::time(nullptr) - 3600);
  const std::string stale = hmac_authorization("jack-id", "jack-secret", "GET", "/h/echo",
                                               {{"date", old}, {"x-custom", "v1"}});
  EXPECT_EQ(http_get(t.url("/h/echo"), {stale, "Date: " + old, "X-Custom: v1"}).body, generic);
  auto wrong_key = hmac_authorization("jack-id", "guess", "GET", "/h/echo", signed_headers);
  auto r = http_get(t.url("/h/echo"), {wrong_key, "Date: " + now, "X-Custom: v1"});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.headers["www-authenticate"], "hmac realm=\"hmac\"");
  // A signature naming one header 100 times is refused before any signing
  // string is built (bounded work per request).
  std::vector<std::pair<std::string, std::string>> many(100, {"x-custom", "v1"});
  many.insert(many.begin(), {"date", now});
  const std::string amplified = hmac_authorization("jack-id", "jack-secret", "GET", "/h/echo", many);
  EXPECT_EQ(http_get(t.url("/h/echo"), {amplified, "Date: " + now, "X-Custom: v1"}).body, generic);
  auto missing = http_get(t.url("/h/echo"));
  EXPECT_EQ(missing.body,
            "{\"message\":\"client request can't be validated: missing Authorization header\"}\n");
  auto basic = http_get(t.url("/h/echo"), {"Authorization: Basic eDp5"});
  EXPECT_EQ(basic.body,
            "{\"message\":\"client request can't be validated: Authorization header does not "
            "start with 'Signature'\"}\n");

  // Body digest, with hmac-sha512 only.
  const std::string body = "{\"amount\":100}";
  unsigned char sha[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(body.data()), body.size(), sha);
  const std::string digest =
      "SHA-256=" + core::base64_encode(std::string_view(reinterpret_cast<char*>(sha), sizeof sha));
  const std::string body_auth = hmac_authorization("jack-id", "jack-secret", "POST", "/body/echo",
                                                   {{"date", now}}, EVP_sha512(), "hmac-sha512");
  auto post = [&](const std::string& a, const std::string& d, const std::string& b) {
    return http(HttpRequest{"POST", t.url("/body/echo"), {a, "Date: " + now, "Digest: " + d}, b,
                            false, 10000});
  };
  auto good = post(body_auth, digest, body);
  EXPECT_EQ(good.status, 200) << good.body;
  EXPECT_NE(upstream_head(up).find("content-length: " + std::to_string(body.size()) + "\r\n"),
            std::string::npos)
      << upstream_head(up);
  EXPECT_EQ(post(body_auth, digest, "{\"amount\":999}").body, generic);  // tampered body
  EXPECT_EQ(post(body_auth, digest, std::string(200, 'x')).status, 413);
  const std::string sha256_auth =
      hmac_authorization("jack-id", "jack-secret", "POST", "/body/echo", {{"date", now}});
  EXPECT_EQ(post(sha256_auth, digest, body).body, generic);  // algorithm not allowed
}

// signed_headers defaults to ["date"] (APISIX 3.14+): a signature that does
// not cover Date would verify again under any fresh Date header. [] opts out.
TEST(PluginAuth, HmacAuthSignaturesCoverTheDateByDefault) {
  Upstream up;
  Torii t("consumers:\n  - username: jack\n    plugins:\n"
          "      hmac-auth: {key_id: jack-id, secret_key: jack-secret}\nroutes:\n" +
          echo_route(up, R"({"hmac-auth": {}})", "r1", "/d/*") +
          echo_route(up, R"({"hmac-auth": {"signed_headers": []}})", "r2", "/open/*"));
  const std::string now = http_date(std::time(nullptr));
  const std::string target_only = hmac_authorization("jack-id", "jack-secret", "GET", "/d/echo", {});
  auto r = http_get(t.url("/d/echo"), {target_only, "Date: " + now});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, "{\"message\":\"client request can't be validated\"}\n");
  EXPECT_TRUE(wait_until([&] {
    return t.error_log().find("expected header \"date\" missing in signing") != std::string::npos;
  }));
  const std::string with_date =
      hmac_authorization("jack-id", "jack-secret", "GET", "/d/echo", {{"date", now}});
  EXPECT_EQ(http_get(t.url("/d/echo"), {with_date, "Date: " + now}).status, 200);
  // An explicit [] is the user's choice: the signature need not cover Date.
  const std::string open_sig =
      hmac_authorization("jack-id", "jack-secret", "GET", "/open/echo", {});
  EXPECT_EQ(http_get(t.url("/open/echo"), {open_sig, "Date: " + now}).status, 200);
}

TEST(PluginAuth, MultiAuthAcceptsAnyOfItsPlugins) {
  Upstream up;
  Torii t(kConsumers + "routes:\n" +
          echo_route(up, R"({"multi-auth": {"auth_plugins": [{"basic-auth": {}},
                                                            {"key-auth": {"header": "X-Key"}}]}})"));
  EXPECT_EQ(http_get(t.url("/echo"), {"X-Key: rose-key"}).status, 200);
  EXPECT_NE(upstream_head(up).find("x-consumer-username: rose\r\n"), std::string::npos);
  // "jack: jack-pass "
  EXPECT_EQ(http_get(t.url("/echo"), {"Authorization: Basic amFjazogamFjay1wYXNzIA=="}).status, 200);
  EXPECT_NE(upstream_head(up).find("x-consumer-username: jack\r\n"), std::string::npos);
  auto none = http_get(t.url("/echo"), {"apikey: rose-key"});  // not the configured header
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.body, "{\"message\":\"Authorization Failed\"}\n");
  EXPECT_EQ(none.headers["www-authenticate"], "apikey realm=\"key\"");
}

class AuthAdmin : public ::testing::Test {
 protected:
  void SetUp() override {
    ToriiOptions o;
    o.deployment =
        "deployment:\n  role: traditional\n  role_traditional:\n    config_provider: sqlite\n";
    torii_ = std::make_unique<Torii>(std::move(o));
  }
  const Torii& t() const { return *torii_; }
  Upstream up_;
  std::unique_ptr<Torii> torii_;
};

TEST_F(AuthAdmin, DuplicateKeysAreRefusedAndKeysAreEncryptedAtRest) {
  auto put = t().admin("PUT", "/consumers",
                       R"({"username":"jack","plugins":{"key-auth":{"key":"the-key"}}})");
  ASSERT_EQ(put.status, 201) << put.body;
  // The stored key is encrypted (APISIX's default keyring); never the plaintext.
  EXPECT_EQ(put.body.find("the-key"), std::string::npos) << put.body;
  auto got = t().admin("GET", "/consumers/jack");
  EXPECT_EQ(got.body.find("the-key"), std::string::npos) << got.body;
  EXPECT_NE(got.body.find("\"key-auth\":{\"key\":\""), std::string::npos) << got.body;

  auto dup = t().admin("PUT", "/consumers",
                       R"({"username":"jack2","plugins":{"key-auth":{"key":"the-key"}}})");
  EXPECT_EQ(dup.status, 400);
  EXPECT_EQ(dup.body, "{\"error_msg\":\"duplicate key found with consumer: jack\"}");
  // Updating jack itself with the same key is fine.
  EXPECT_EQ(t().admin("PUT", "/consumers/jack",
                      R"({"username":"jack","desc":"d","plugins":{"key-auth":{"key":"the-key"}}})")
                .status,
            200);

  ASSERT_EQ(t().admin("PUT", "/consumers", R"({"username":"rose"})").status, 201);
  auto cred_dup = t().admin("PUT", "/consumers/rose/credentials/c1",
                            R"({"plugins":{"key-auth":{"key":"the-key"}}})");
  EXPECT_EQ(cred_dup.status, 400);
  EXPECT_EQ(cred_dup.body, "{\"error_msg\":\"duplicate key found with consumer: jack\"}");
  ASSERT_EQ(t().admin("PUT", "/consumers/rose/credentials/c1",
                      R"({"plugins":{"key-auth":{"key":"rose-key"}}})")
                .status,
            201);

  ASSERT_EQ(t().admin("PUT", "/routes/1",
                      R"({"uri":"/echo","plugins":{"key-auth":{}},"upstream":{"nodes":{")" +
                          up_.node() + R"(":1}}})")
                .status,
            201);
  EXPECT_TRUE(wait_until([&] {
    return http_get(t().url("/echo"), {"apikey: rose-key"}).status == 200;
  }));
  EXPECT_NE(upstream_head(up_).find("x-credential-identifier: c1\r\n"), std::string::npos);
  EXPECT_EQ(http_get(t().url("/echo"), {"apikey: the-key"}).status, 200);

  // Deleting the credential revokes the key at once.
  ASSERT_EQ(t().admin("DELETE", "/consumers/rose/credentials/c1").status, 200);
  EXPECT_TRUE(wait_until([&] {
    return http_get(t().url("/echo"), {"apikey: rose-key"}).status == 401;
  }));
  // Deleting the consumer revokes its keys.
  ASSERT_EQ(t().admin("DELETE", "/consumers/jack").status, 200);
  EXPECT_TRUE(wait_until([&] {
    return http_get(t().url("/echo"), {"apikey: the-key"}).status == 401;
  }));
}

TEST_F(AuthAdmin, JwtSecretsAreEncryptedAndSchemaDependenciesChecked) {
  auto put = t().admin("PUT", "/consumers",
                       R"({"username":"jack","plugins":{"jwt-auth":{"key":"jk","secret":"top-secret"}}})");
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(put.body.find("top-secret"), std::string::npos) << put.body;
  auto no_secret = t().admin("PUT", "/consumers",
                             R"({"username":"rose","plugins":{"jwt-auth":{"key":"rk"}}})");
  EXPECT_EQ(no_secret.status, 400);
  // HS* needs `secret`, the others `public_key` (if/then/else in the schema).
  EXPECT_EQ(no_secret.body,
            "{\"error_msg\":\"invalid plugins configuration: failed to check the configuration of "
            "plugin jwt-auth err: then clause did not match\"}");
  auto no_public = t().admin("PUT", "/consumers",
                             R"({"username":"rose","plugins":{"jwt-auth":{"key":"rk","algorithm":"RS256"}}})");
  EXPECT_EQ(no_public.status, 400);
  EXPECT_EQ(no_public.body,
            "{\"error_msg\":\"invalid plugins configuration: failed to check the configuration of "
            "plugin jwt-auth err: else clause did not match\"}");
  ASSERT_EQ(t().admin("PUT", "/routes/1",
                      R"({"uri":"/echo","plugins":{"jwt-auth":{}},"upstream":{"nodes":{")" +
                          up_.node() + R"(":1}}})")
                .status,
            201);
  auto token = plugins::jwt::sign_for_tests(plugins::jwt::Algorithm::kHS256,
                                            R"({"alg":"HS256"})", R"({"key":"jk"})", "top-secret");
  ASSERT_TRUE(token);
  // The data plane decrypts the stored secret.
  EXPECT_TRUE(wait_until([&] {
    return http_get(t().url("/echo"), {"Authorization: " + *token}).status == 200;
  }));
}

TEST_F(AuthAdmin, MultiAuthChecksItsPlugins) {
  auto put = [&](const std::string& auth_plugins) {
    return t().admin("PUT", "/routes/1",
                     R"({"uri":"/x","plugins":{"multi-auth":{"auth_plugins":)" + auth_plugins +
                         R"(}},"upstream":{"nodes":{")" + up_.node() + R"(":1}}})");
  };
  auto one = put(R"([{"key-auth":{}}])");
  EXPECT_EQ(one.status, 400);
  EXPECT_NE(one.body.find("multi-auth"), std::string::npos) << one.body;
  auto cors = put(R"([{"key-auth":{}},{"cors":{}}])");
  EXPECT_EQ(cors.status, 400);
  EXPECT_NE(cors.body.find("plugin cors is not supported"), std::string::npos) << cors.body;
  auto bad = put(R"([{"key-auth":{"header":1}},{"basic-auth":{}}])");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("plugin key-auth check schema failed"), std::string::npos) << bad.body;
  EXPECT_EQ(put(R"([{"key-auth":{}},{"jwt-auth":{}}])").status, 201);
}

TEST_F(AuthAdmin, ConsumerSchemaErrorsNameThePlugin) {
  auto r = t().admin("PUT", "/consumers", R"({"username":"jack","plugins":{"key-auth":{}}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("failed to check the configuration of plugin key-auth"), std::string::npos)
      << r.body;
  auto route = t().admin("PUT", "/routes/1",
                         R"({"uri":"/x","plugins":{"consumer-restriction":{}},"upstream":{"nodes":{")" +
                             up_.node() + R"(":1}}})");
  EXPECT_EQ(route.status, 400);
  EXPECT_NE(route.body.find("consumer-restriction"), std::string::npos) << route.body;
}

}  // namespace
}  // namespace torii::testing
