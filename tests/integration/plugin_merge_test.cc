// How plugins from global rules, routes and consumers combine within one
// request, through the real binary (APISIX 3.18's order: global rewrite,
// route rewrite, the consumer's plugins, global access, route access):
// a consumer's copy of a route plugin does not run its rewrite a second
// time, a global rule answering in rewrite leaves the route's plugins out,
// and an object _meta.error_response is sent as APISIX encodes a table.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "harness.h"

namespace torii::testing {
namespace {

std::string route(const Upstream& up, const std::string& plugins, const std::string& uri = "/*",
                  const std::string& id = "r1") {
  return "  - id: " + id + "\n    uri: \"" + uri + "\"\n    plugins: " + plugins +
         "\n    upstream:\n      nodes:\n        \"" + up.node() + "\": 1\n";
}

std::string lower_head(const Upstream& up) {
  std::string h = up.last_head();
  std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return std::tolower(c); });
  return h;
}

TEST(PluginMerge, AConsumerCopyOfARoutePluginDoesNotRunItsRewriteAgain) {
  // proxy-rewrite is a rewrite-phase plugin: the route's copy ran before the
  // consumer was known; the consumer's copy replaces it from then on, so its
  // rewrite does not run (APISIX marks _from_consumer only on plugins the
  // route lacks). The consumer's own extra plugin does run its rewrite.
  Upstream up;
  Torii t(R"(consumers:
  - username: jack
    plugins:
      key-auth: {key: jack-key}
      proxy-rewrite: {headers: {set: {X-B: consumer}}}
      request-id: {header_name: X-Jack-Id}
routes:
)" + route(up, R"({"key-auth": {}, "proxy-rewrite": {"headers": {"set": {"X-A": "route"}}}})"));
  ASSERT_EQ(http_get(t.url("/echo"), {"apikey: jack-key"}).status, 200);
  const std::string head = lower_head(up);
  EXPECT_NE(head.find("x-a: route\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.find("x-b:"), std::string::npos) << head;
  EXPECT_NE(head.find("x-jack-id:"), std::string::npos) << head;
}

TEST(PluginMerge, AGlobalRuleAnsweringInRewriteLeavesTheRoutePluginsOut) {
  // fault-injection answers in rewrite: in APISIX the route's plugins are
  // not picked yet, so its response-rewrite never sees the 403. A global
  // access-phase answer (ip-restriction) comes after the route's rewrite
  // and still goes through them, as in APISIX.
  Upstream up;
  Torii t(R"(global_rules:
  - id: g1
    plugins:
      fault-injection:
        abort: {http_status: 403, body: "blocked\n", vars: [[["arg_block", "==", "1"]]]}
      ip-restriction:
        blacklist: ["127.0.0.1"]
        _meta: {filter: [["arg_deny", "==", "1"]]}
routes:
)" + route(up, R"({"response-rewrite": {"status_code": 200, "headers": {"set": {"X-Route": "yes"}}}})"));
  auto r = http_get(t.url("/echo?block=1"));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body, "blocked\n");
  EXPECT_EQ(r.headers.count("x-route"), 0u);
  r = http_get(t.url("/echo?deny=1"));
  EXPECT_EQ(r.status, 200);  // the route's response-rewrite ran on the access-phase answer
  EXPECT_EQ(r.headers["x-route"], "yes");
  r = http_get(t.url("/echo"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["x-route"], "yes");
}

TEST(PluginMerge, AnObjectErrorResponseIsJsonAndANewline) {
  // core.response.exit: a table body is JSON + "\n", a string as it is.
  Upstream up;
  Torii t("routes:\n" +
          route(up, R"({"key-auth": {"_meta": {"error_response": {"msg": "nope"}}}})", "/key/*") +
          route(up, R"({"ip-restriction": {"whitelist": ["10.0.0.0/8"],
                                            "_meta": {"error_response": "plain"}}})",
                "/ip/*", "r2"));
  auto r = http_get(t.url("/key/echo"));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, "{\"msg\":\"nope\"}\n");
  r = http_get(t.url("/ip/echo"));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body, "plain");
}

}  // namespace
}  // namespace torii::testing
