// Access-control plugins through the real binary: cors (preflight answered
// before the upstream and before other plugins' refusals, headers on early
// answers), ip-restriction, ua-restriction, referer-restriction,
// uri-blocker, real-ip feeding ip-restriction and X-Real-IP, client-control
// body limits; and the Admin API's APISIX error for a bad plugin conf.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "harness.h"

namespace torii::testing {
namespace {

// One catch-all route to `up` carrying `plugins` (a JSON object, which YAML
// reads as a flow mapping).
std::string route_with(const Upstream& up, const std::string& plugins,
                       const std::string& uri = "/*") {
  return "routes:\n  - id: r1\n    uri: \"" + uri + "\"\n    plugins: " + plugins +
         "\n    upstream:\n      nodes:\n        \"" + up.node() + "\": 1\n";
}

TEST(PluginAccess, CorsAnswersPreflightWithoutTheUpstream) {
  Upstream up;
  Torii t(route_with(up, R"({"cors": {"allow_origins": "http://a.com,http://b.com",
                               "allow_methods": "GET,POST", "max_age": 50}})"));
  const int before = up.requests();  // the harness readiness probe is proxied too
  auto r = http(HttpRequest{"OPTIONS",
                            t.url("/anything"),
                            {"Origin: http://b.com", "Access-Control-Request-Method: POST"},
                            "",
                            false,
                            10000});
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.headers["access-control-allow-origin"], "http://b.com");
  EXPECT_EQ(r.headers["access-control-allow-methods"], "GET,POST");
  EXPECT_EQ(r.headers["access-control-max-age"], "50");
  EXPECT_EQ(r.headers["vary"], "Origin");
  EXPECT_EQ(up.requests(), before);

  auto get = http_get(t.url("/hello"), {"Origin: http://a.com"});
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, "hello from " + std::to_string(up.port()));
  EXPECT_EQ(get.headers["access-control-allow-origin"], "http://a.com");

  auto other = http_get(t.url("/hello"), {"Origin: http://c.com"});
  EXPECT_EQ(other.status, 200);
  EXPECT_FALSE(other.headers.contains("access-control-allow-origin"));
}

TEST(PluginAccess, CorsHeadersAreOnAnotherPluginsRefusal) {
  Upstream up;
  Torii t(route_with(up, R"({"cors": {}, "ip-restriction": {"whitelist": ["10.0.0.1"]}})"));
  const int before = up.requests();
  // The preflight passes: cors answers in rewrite, before access.
  auto pre = http(HttpRequest{"OPTIONS", t.url("/x"), {"Origin: http://a.com"}, "", false, 10000});
  EXPECT_EQ(pre.status, 200);
  EXPECT_EQ(pre.headers["access-control-allow-origin"], "*");

  auto r = http_get(t.url("/x"), {"Origin: http://a.com"});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body, "{\"message\":\"Your IP address is not allowed\"}\n");
  EXPECT_EQ(r.headers["access-control-allow-origin"], "*");
  EXPECT_EQ(r.headers["access-control-allow-methods"], "*");
  EXPECT_EQ(up.requests(), before);
}

TEST(PluginAccess, IpRestrictionWhitelistBlacklistAndCode) {
  Upstream up;
  {
    Torii t(route_with(up, R"({"ip-restriction": {"blacklist": ["127.0.0.0/24", "::1"],
                                                   "message": "go away"}})"));
    auto r = http_get(t.url("/x"));
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(r.body, "{\"message\":\"go away\"}\n");
  }
  {
    Torii t(route_with(up, R"({"ip-restriction": {"whitelist": ["127.0.0.1/32"]}})"));
    EXPECT_EQ(http_get(t.url("/x")).status, 200);
  }
  {
    Torii t(route_with(up, R"({"ip-restriction": {"whitelist": ["10.0.0.0/8"],
                                                   "response_code": 404}})"));
    auto r = http_get(t.url("/x"));
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.body, "{\"message\":\"Your IP address is not allowed\"}\n");
  }
}

TEST(PluginAccess, UaRestriction) {
  Upstream up;
  Torii t(route_with(up, R"j({"ua-restriction": {"denylist": ["(Baiduspider)/(\\d+)\\.(\\d+)",
                                                                  "bad-bot-1"]}})j"));
  auto bad = http_get(t.url("/x"), {"User-Agent: Baiduspider/3.0"});
  EXPECT_EQ(bad.status, 403);
  EXPECT_EQ(bad.body, "{\"message\":\"Not allowed\"}\n");
  EXPECT_EQ(http_get(t.url("/x"), {"User-Agent: Mozilla/5.0"}).status, 200);
  // libcurl sends no User-Agent unless told: missing is refused by default.
  EXPECT_EQ(http_get(t.url("/x")).status, 403);
}

TEST(PluginAccess, RefererRestriction) {
  Upstream up;
  Torii t(route_with(up, R"({"referer-restriction": {"whitelist": ["*.xx.com", "yy.com"],
                                                      "bypass_missing": true}})"));
  EXPECT_EQ(http_get(t.url("/x"), {"Referer: http://www.xx.com/page"}).status, 200);
  EXPECT_EQ(http_get(t.url("/x"), {"Referer: https://yy.com"}).status, 200);
  EXPECT_EQ(http_get(t.url("/x")).status, 200);
  auto r = http_get(t.url("/x"), {"Referer: http://evil.org/"});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body, "{\"message\":\"Your referer host is not allowed\"}\n");
}

TEST(PluginAccess, UriBlocker) {
  Upstream up;
  Torii t(route_with(up, R"({"uri-blocker": {"block_rules": ["root.exe", "root.m+"],
                                              "rejected_msg": "access is not allowed"}})"));
  const int before = up.requests();
  auto r = http_get(t.url("/root.exe?a=a"));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body, "{\"error_msg\":\"access is not allowed\"}\n");
  EXPECT_EQ(http_get(t.url("/x?file=root.mmm")).status, 403);
  EXPECT_EQ(http_get(t.url("/hello")).status, 200);
  EXPECT_EQ(up.requests(), before + 1);
}

TEST(PluginAccess, UriBlockerWithoutMessageSendsTheErrorPage) {
  Upstream up;
  Torii t(route_with(up, R"({"uri-blocker": {"block_rules": ["^/admin"], "rejected_code": 404,
                                              "case_insensitive": true}})"));
  auto r = http_get(t.url("/ADMIN/x"));
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("404"), std::string::npos) << r.body;
}

TEST(PluginAccess, RealIpFeedsIpRestrictionAndForwardedHeaders) {
  Upstream up;
  Torii t(route_with(up, R"({"real-ip": {"source": "http_x_forwarded_for",
                                         "trusted_addresses": ["127.0.0.0/24"]},
                             "ip-restriction": {"whitelist": ["1.2.3.0/24"]}})"));
  auto ok = http_get(t.url("/echo"), {"X-Forwarded-For: 9.9.9.9, 1.2.3.4"});
  ASSERT_EQ(ok.status, 200) << ok.body;
  const std::string head = up.last_head();
  EXPECT_NE(head.find("X-Real-IP: 1.2.3.4\r\n"), std::string::npos) << head;
  EXPECT_EQ(http_get(t.url("/echo")).status, 403);
  EXPECT_EQ(http_get(t.url("/echo"), {"X-Forwarded-For: 5.6.7.8"}).status, 403);
}

// _meta.filter is evaluated when the plugin's first phase comes up (APISIX's
// meta_filter), so it sees what earlier plugins set: a limit-count filtered
// on consumer_name applies once key-auth identified the consumer, and one
// filtered on remote_addr sees the address real-ip found.
TEST(PluginAccess, MetaFilterSeesWhatEarlierPluginsSet) {
  Upstream up;
  Torii t("consumers:\n  - username: jack\n    plugins:\n      key-auth: {key: jack-key}\n"
          "  - username: rose\n    plugins:\n      key-auth: {key: rose-key}\n" +
          route_with(up, R"({"key-auth": {},
                             "limit-count": {"count": 1, "time_window": 60,
                                             "_meta": {"filter": [["consumer_name", "==", "jack"]]}}})",
                     "/tier/*") +
          "  - id: r2\n    uri: /ip/*\n    plugins: " +
          R"({"real-ip": {"source": "http_x_forwarded_for", "trusted_addresses": ["127.0.0.0/24"]},
              "ip-restriction": {"blacklist": ["1.2.3.4"],
                                 "_meta": {"filter": [["remote_addr", "==", "1.2.3.4"]]}}})" +
          "\n    upstream:\n      nodes:\n        \"" + up.node() + "\": 1\n");
  EXPECT_EQ(http_get(t.url("/tier/echo"), {"apikey: jack-key"}).status, 200);
  EXPECT_EQ(http_get(t.url("/tier/echo"), {"apikey: jack-key"}).status, 503);
  // rose is not limited.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(http_get(t.url("/tier/echo"), {"apikey: rose-key"}).status, 200);
  EXPECT_EQ(http_get(t.url("/ip/echo"), {"X-Forwarded-For: 1.2.3.4"}).status, 403);
  EXPECT_EQ(http_get(t.url("/ip/echo"), {"X-Forwarded-For: 5.6.7.8"}).status, 200);
}

TEST(PluginAccess, RealIpFromQueryArgument) {
  Upstream up;
  Torii t(route_with(up, R"({"real-ip": {"source": "arg_realip"}})"));
  auto r = http_get(t.url("/echo?realip=1.2.3.4:9080"));
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(up.last_head().find("X-Real-IP: 1.2.3.4\r\n"), std::string::npos) << up.last_head();
}

TEST(PluginAccess, ClientControlLimitsTheBody) {
  Upstream up;
  Torii t(route_with(up, R"({"client-control": {"max_body_size": 5}})"));
  const int before = up.requests();
  auto small = http(HttpRequest{"POST", t.url("/echo"), {}, "abc", false, 10000});
  EXPECT_EQ(small.status, 200);
  auto big = http(HttpRequest{"POST", t.url("/echo"), {}, "0123456789", false, 10000});
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(up.requests(), before + 1);
  // Chunked: refused while reading, once the limit is crossed.
  const std::string out = raw_exchange(
      t.port(),
      "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "4\r\nabcd\r\n4\r\nefgh\r\n0\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 413", 0), 0u) << out;
  EXPECT_EQ(up.requests(), before + 1);
}

// client-control also raises the node's client_max_body_size for its route
// (docs/plugins/client-control.md), and 0 lifts it: the node's limit is
// checked only where no route says otherwise. Before, the node's limit was
// checked before routing, so a Content-Length over it got 413 anyway.
TEST(PluginAccess, ClientControlRaisesTheNodesBodyLimit) {
  Upstream up;
  Torii t(route_with(up, R"({"client-control": {"max_body_size": 4096}})", "/big/*") +
              "  - id: r2\n    uri: /unlimited/*\n    plugins: {client-control: {max_body_size: 0}}\n"
              "    upstream:\n      nodes:\n        \"" + up.node() + "\": 1\n" +
              "  - id: r3\n    uri: /plain/*\n    upstream:\n      nodes:\n        \"" +
              up.node() + "\": 1\n",
          "    client_max_body_size: 1k\n");
  const std::string body(2048, 'b');
  EXPECT_EQ(http(HttpRequest{"POST", t.url("/big/echo"), {}, body, false, 10000}).status, 200);
  EXPECT_EQ(http(HttpRequest{"POST", t.url("/unlimited/echo"), {}, body, false, 10000}).status, 200);
  EXPECT_EQ(http(HttpRequest{"POST", t.url("/plain/echo"), {}, body, false, 10000}).status, 413);
  EXPECT_EQ(http(HttpRequest{"POST", t.url("/big/echo"), {}, std::string(5000, 'b'), false, 10000})
                .status,
            413);
}

TEST(PluginAccess, AdminApiRefusesBadConfsWithApisixMessages) {
  Upstream up;
  ToriiOptions o;
  o.deployment =
      "deployment:\n  role: traditional\n  role_traditional:\n    config_provider: sqlite\n";
  Torii t(o);
  auto put = [&](const std::string& plugins) {
    return t.admin("PUT", "/routes/1",
                   R"({"uri": "/x", "plugins": )" + plugins + R"(, "upstream": {"nodes": {")" +
                       up.node() + R"(": 1}}})");
  };
  const std::pair<std::string, std::string> cases[] = {
      {R"({"ip-restriction": {}})",
       "failed to check the configuration of plugin ip-restriction err: value should match only "
       "one schema, but matches none"},
      {R"({"ua-restriction": {"denylist": []}})",
       "failed to check the configuration of plugin ua-restriction err: property \"denylist\" "
       "validation failed: expect array to have at least 1 items"},
      {R"({"uri-blocker": {"rejected_code": 403}})",
       "failed to check the configuration of plugin uri-blocker err: property \"block_rules\" "
       "is required"},
      {R"({"real-ip": {}})",
       "failed to check the configuration of plugin real-ip err: property \"source\" is "
       "required"},
      {R"({"client-control": {"max_body_size": -1}})",
       "failed to check the configuration of plugin client-control err: property "
       "\"max_body_size\" validation failed: expected -1 to be at least 0"},
      {R"({"referer-restriction": {"whitelist": ["a b"]}})",
       "failed to check the configuration of plugin referer-restriction err: property "
       "\"whitelist\" validation failed: failed to validate item 1: failed to match pattern "
       "\"^\\\\*?[0-9a-zA-Z-._\\\\[\\\\]:]+$\" with \"a b\""},
  };
  for (const auto& [plugins, msg] : cases) {
    SCOPED_TRACE(plugins);
    boost::json::error_code ec;
    auto r = put(plugins);
    EXPECT_EQ(r.status, 400) << r.body;
    auto body = boost::json::parse(r.body, ec);
    ASSERT_FALSE(ec) << r.body;
    EXPECT_EQ(body.at("error_msg").as_string(), msg);
  }
  // A good conf is stored and served.
  auto ok = put(R"({"ip-restriction": {"blacklist": ["10.0.0.1"]}})");
  EXPECT_LT(ok.status, 300) << ok.body;
  EXPECT_TRUE(wait_until([&] { return http_get(t.url("/x")).status == 200; }));
}

// APISIX runs each plugin's check_schema (the checks after the JSON schema)
// when a resource is written; Torii builds the plugin to the same effect.
TEST(PluginAccess, AdminApiRunsPluginChecksAfterTheSchema) {
  Upstream up;
  ToriiOptions o;
  o.deployment =
      "deployment:\n  role: traditional\n  role_traditional:\n    config_provider: sqlite\n";
  Torii t(o);
  const std::pair<std::string, std::string> cases[] = {
      {R"({"cors": {"allow_credential": true}})",
       "failed to check the configuration of plugin cors err: you can not set '*' for other "
       "option when 'allow_credential' is true"},
      {R"j({"uri-blocker": {"block_rules": ["ok", "(a"]}})j",
       "failed to check the configuration of plugin uri-blocker err: property \"block_rules\" "
       "validation failed: failed to validate item 2: invalid regex \"(a\": missing ): (a"},
      {R"({"ip-restriction": {"whitelist": ["::1/129"]}})",
       "failed to check the configuration of plugin ip-restriction err: invalid ip address: "
       "::1/129"},
  };
  for (const auto& [plugins, msg] : cases) {
    SCOPED_TRACE(plugins);
    auto r = t.admin("PUT", "/routes/1",
                     R"({"uri": "/x", "plugins": )" + plugins + R"(, "upstream": {"nodes": {")" +
                         up.node() + R"(": 1}}})");
    EXPECT_EQ(r.status, 400) << r.body;
    boost::json::error_code ec;
    auto body = boost::json::parse(r.body, ec);
    ASSERT_FALSE(ec) << r.body;
    EXPECT_EQ(body.at("error_msg").as_string(), msg);
  }
}

}  // namespace
}  // namespace torii::testing

namespace torii::testing {
namespace {

TEST(PluginAccess, CorsAllowOriginsByMetadata) {
  Upstream up;
  const std::string route = route_with(up, R"({"cors": {"allow_origins_by_metadata": ["partners"]}})");
  Torii t("plugin_metadata:\n  - id: cors\n    allow_origins:\n"
          "      partners: \"https://a.example,https://b.example\"\n" + route);
  auto b = http_get(t.url("/x"), {"Origin: https://b.example"});
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(b.headers["access-control-allow-origin"], "https://b.example");
  auto c = http_get(t.url("/x"), {"Origin: https://c.example"});
  EXPECT_FALSE(c.headers.contains("access-control-allow-origin"));

  // A metadata change reaches the route's instance without touching the route.
  t.set_routes("plugin_metadata:\n  - id: cors\n    allow_origins:\n"
               "      partners: \"https://c.example\"\n" + route);
  EXPECT_TRUE(wait_until([&] {
    return http_get(t.url("/x"), {"Origin: https://c.example"}).headers["access-control-allow-origin"] ==
           "https://c.example";
  }));
  EXPECT_FALSE(http_get(t.url("/x"), {"Origin: https://b.example"})
                   .headers.contains("access-control-allow-origin"));

  // Metadata that fails the plugin's metadata schema refuses the file.
  t.set_routes("plugin_metadata:\n  - id: cors\n    allow_origins: {partners: \"not an origin\"}\n" +
               route);
  EXPECT_TRUE(wait_until([&] {
    return t.error_log().find("plugin_metadata[1] (id \"cors\")") != std::string::npos;
  })) << t.error_log();
  EXPECT_EQ(http_get(t.url("/x"), {"Origin: https://c.example"}).headers["access-control-allow-origin"],
            "https://c.example");
}

}  // namespace
}  // namespace torii::testing
