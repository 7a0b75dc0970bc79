// Traffic-control plugins through the real binary: limit-count (quota
// headers, refusal, one count across workers, a conf change resets it),
// limit-req (refusal over the burst, delay within it), limit-conn (slots held
// until the response ends), api-breaker (break after upstream failures),
// traffic-split (weights, matches, upstream_id); and the Admin API's APISIX
// errors for bad confs.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <future>
#include <map>
#include <string>
#include <vector>

#include "harness.h"

namespace torii::testing {
namespace {

// One route to `up` carrying `plugins` (JSON, read by YAML as a flow
// mapping). Under /t/ by default, so the harness's readiness probe
// (GET /__torii_ready) does not spend a limit.
std::string route_with(const Upstream& up, const std::string& plugins,
                       const std::string& uri = "/t/*") {
  return "routes:\n  - id: r1\n    uri: \"" + uri + "\"\n    plugins: " + plugins +
         "\n    upstream:\n      nodes:\n        \"" + up.node() + "\": 1\n";
}

ToriiOptions sqlite_node() {
  ToriiOptions o;
  o.deployment =
      "deployment:\n  role: traditional\n  role_traditional:\n    config_provider: sqlite\n";
  return o;
}

TEST(PluginTraffic, LimitCountHeadersThenRefusal) {
  Upstream up;
  Torii t(route_with(up, R"({"limit-count": {"count": 2, "time_window": 60,
                              "rejected_code": 503, "key": "remote_addr"}})"));
  auto a = http_get(t.url("/t/hello"));
  ASSERT_EQ(a.error, "");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.headers["x-ratelimit-limit"], "2");
  EXPECT_EQ(a.headers["x-ratelimit-remaining"], "1");
  EXPECT_EQ(a.headers["x-ratelimit-reset"], "60");
  auto b = http_get(t.url("/t/hello"));
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(b.headers["x-ratelimit-remaining"], "0");
  auto c = http_get(t.url("/t/hello"));
  EXPECT_EQ(c.status, 503);
  EXPECT_EQ(c.headers["x-ratelimit-limit"], "2");
  EXPECT_EQ(c.headers["x-ratelimit-remaining"], "0");
  EXPECT_TRUE(c.headers.contains("x-ratelimit-reset"));
  EXPECT_EQ(up.requests(), 2);
}

TEST(PluginTraffic, LimitCountRejectedMsgAndNoHeaders) {
  Upstream up;
  Torii t(route_with(up, R"({"limit-count": {"count": 1, "time_window": 60, "rejected_code": 429,
                              "rejected_msg": "Requests are too frequent, please try again later.",
                              "show_limit_quota_header": false}})"));
  auto a = http_get(t.url("/t/hello"));
  EXPECT_EQ(a.status, 200);
  EXPECT_FALSE(a.headers.contains("x-ratelimit-limit"));
  auto b = http_get(t.url("/t/hello"));
  EXPECT_EQ(b.status, 429);
  EXPECT_EQ(b.body, "{\"error_msg\":\"Requests are too frequent, please try again later.\"}\n");
  EXPECT_FALSE(b.headers.contains("x-ratelimit-remaining"));
}

TEST(PluginTraffic, LimitCountIsExactAcrossWorkers) {
  Upstream up;
  ToriiOptions o;
  o.workers = 4;
  o.routes_yaml = route_with(up, R"({"limit-count": {"count": 20, "time_window": 60,
                                      "key_type": "constant", "key": "all"}})");
  Torii t(o);
  // 60 requests on parallel connections, spread over the workers.
  std::vector<std::future<long>> done;
  for (int i = 0; i < 60; ++i) {
    done.push_back(std::async(std::launch::async, [&] { return http_get(t.url("/t/x")).status; }));
  }
  std::map<long, int> statuses;
  for (auto& f : done) statuses[f.get()]++;
  EXPECT_EQ(statuses[200], 20);
  EXPECT_EQ(statuses[503], 40);
}

TEST(PluginTraffic, LimitCountConfChangeThroughAdminResetsTheCounter) {
  Upstream up;
  Torii t(sqlite_node());
  auto put = [&](int count) {
    return t.admin(
        "PUT", "/routes/1",
        R"({"uri": "/t/x", "plugins": {"limit-count": {"count": )" + std::to_string(count) +
            R"(, "time_window": 60}}, "upstream": {"nodes": {")" + up.node() + R"(": 1}}})");
  };
  auto r = put(1);
  ASSERT_LT(r.status, 300) << r.body;
  ASSERT_TRUE(wait_until([&] { return http_get(t.url("/t/x")).status == 200; }));
  EXPECT_EQ(http_get(t.url("/t/x")).status, 503);
  // An unrelated change keeps the counter.
  auto other = t.admin("PUT", "/routes/2",
                       R"({"uri": "/y", "upstream": {"nodes": {")" + up.node() + R"(": 1}}})");
  ASSERT_LT(other.status, 300) << other.body;
  ASSERT_TRUE(wait_until([&] { return http_get(t.url("/y")).status == 200; }));
  EXPECT_EQ(http_get(t.url("/t/x")).status, 503);
  // A new conf starts a new counter.
  ASSERT_LT(put(2).status, 300);
  EXPECT_TRUE(wait_until([&] {
    auto x = http_get(t.url("/t/x"));
    return x.status == 200 && x.headers["x-ratelimit-limit"] == "2";
  }));
}

TEST(PluginTraffic, LimitReqRefusesOverBurstAndDelaysWithin) {
  Upstream up;
  {
    Torii t(route_with(up, R"({"limit-req": {"rate": 0.1, "burst": 0, "key": "remote_addr",
                                "rejected_code": 429, "rejected_msg": "slow down"}})"));
    EXPECT_EQ(http_get(t.url("/t/x")).status, 200);
    auto r = http_get(t.url("/t/x"));
    EXPECT_EQ(r.status, 429);
    EXPECT_EQ(r.body, "{\"error_msg\":\"slow down\"}\n");
  }
  {
    // rate 4/s, burst 4: the 2nd request at once waits 250 ms.
    Torii t(route_with(up, R"({"limit-req": {"rate": 4, "burst": 4, "key": "remote_addr"}})"));
    EXPECT_EQ(http_get(t.url("/t/x")).status, 200);
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(http_get(t.url("/t/x")).status, 200);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
    EXPECT_GE(ms, 150);
    EXPECT_LT(ms, 2000);
  }
}

TEST(PluginTraffic, LimitConnHoldsSlotsUntilTheResponseEnds) {
  Upstream up;
  Torii t(route_with(up, R"({"limit-conn": {"conn": 1, "burst": 0, "default_conn_delay": 0.1,
                              "key": "remote_addr", "rejected_code": 503}})",
                     "/*"));
  const int before = up.requests();  // the harness's readiness probe went through
  auto slow = std::async(std::launch::async, [&] { return http_get(t.url("/sleep/800")).status; });
  ASSERT_TRUE(wait_until([&] { return up.requests() > before; }));
  EXPECT_EQ(http_get(t.url("/t/hello")).status, 503);
  EXPECT_EQ(slow.get(), 200);
  // The slot was given back when the slow response ended.
  EXPECT_TRUE(wait_until([&] { return http_get(t.url("/t/hello")).status == 200; },
                         std::chrono::seconds(3)));
}

TEST(PluginTraffic, AClientThatLeavesBeforeTheAnswerFreesItsSlotAt499) {
  // nginx's check_broken_connection: the client gives up while the upstream
  // is still working; the exchange ends (499) and limit-conn's slot comes
  // back then, not when the upstream finally answers.
  Upstream up;
  Torii t(route_with(up, R"({"limit-conn": {"conn": 1, "burst": 0, "default_conn_delay": 0.1,
                              "key": "remote_addr"}})",
                     "/*"));
  const int before = up.requests();
  HttpRequest impatient;
  impatient.url = t.url("/sleep/3000");
  impatient.timeout_ms = 300;
  auto gone = std::async(std::launch::async, [&] { return http(impatient).status; });
  ASSERT_TRUE(wait_until([&] { return up.requests() > before; }));
  EXPECT_EQ(http_get(t.url("/t/hello")).status, 503);  // the slot is taken
  EXPECT_EQ(gone.get(), 0);                              // curl gave up
  // Freed well before the upstream answers (3 s).
  EXPECT_TRUE(wait_until([&] { return http_get(t.url("/t/hello")).status == 200; },
                         std::chrono::milliseconds(2500)));
  EXPECT_TRUE(wait_until([&] {
    return t.access_log().find("\"GET /sleep/3000 HTTP/1.1\" 499 ") != std::string::npos;
  })) << t.access_log();
}

TEST(PluginTraffic, LimitConnRulesCountPerKeyWithConnFromTheRequest) {
  // APISIX 3.16+ limit-conn `rules`: a rule applies when its key resolves;
  // its conn may come from the request.
  Upstream up;
  Torii t(route_with(up, R"({"limit-conn": {"default_conn_delay": 0.1, "rules": [
                              {"conn": "$http_x_conn", "burst": 0, "key": "$http_x_tenant"}]}})",
                     "/*"));
  const int before = up.requests();
  auto slow = std::async(std::launch::async, [&] {
    return http_get(t.url("/sleep/800"), {"X-Tenant: a", "X-Conn: 1"}).status;
  });
  ASSERT_TRUE(wait_until([&] { return up.requests() > before; }));
  EXPECT_EQ(http_get(t.url("/t/hello"), {"X-Tenant: a", "X-Conn: 1"}).status, 503);
  EXPECT_EQ(http_get(t.url("/t/hello"), {"X-Tenant: a", "X-Conn: 2"}).status, 200);
  EXPECT_EQ(http_get(t.url("/t/hello"), {"X-Tenant: b", "X-Conn: 1"}).status, 200);
  EXPECT_EQ(http_get(t.url("/t/hello"), {"X-Tenant: b", "X-Conn: 0"}).status, 500);
  EXPECT_EQ(http_get(t.url("/t/hello")).status, 500);  // no rule applies
  EXPECT_EQ(slow.get(), 200);
  EXPECT_NE(t.error_log().find("limit-conn: failed to get limit conn rules: no rule applies"),
            std::string::npos);
}

TEST(PluginTraffic, ApiBreakerBreaksAfterUpstreamFailures) {
  Upstream up;
  Torii t(route_with(up, R"({"api-breaker": {"break_response_code": 599,
                              "break_response_body": "breaker open",
                              "break_response_headers": [{"key": "X-Breaker", "value": "$uri"}],
                              "unhealthy": {"http_statuses": [500], "failures": 3}}})",
                     "/*"));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(http_get(t.url("/status/500")).status, 500);
  // The log phase counts a status after its response went out: the break
  // starts a moment after the 3rd answer.
  HttpResponse r;
  ASSERT_TRUE(wait_until([&] {
    r = http_get(t.url("/status/500"));
    return r.status == 599;
  }));
  EXPECT_EQ(r.body, "breaker open");
  EXPECT_EQ(r.headers["x-breaker"], "/status/500");
  int before = up.requests();
  EXPECT_EQ(http_get(t.url("/status/500")).status, 599);
  EXPECT_EQ(up.requests(), before);
  // Another path of the route is not broken.
  EXPECT_EQ(http_get(t.url("/t/hello")).status, 200);
}

TEST(PluginTraffic, TrafficSplitWeightsMatchesAndUpstreamIds) {
  Upstream route_up, canary, other;
  ToriiOptions o;
  o.workers = 1;  // one cursor: the 2:1 cycle is exact request by request
  o.routes_yaml = "upstreams:\n  - id: canary\n    nodes:\n      \"" + canary.node() +
                  "\": 1\n    type: roundrobin\n"
                  "routes:\n  - id: r1\n    uri: \"/port\"\n    plugins:\n      traffic-split: "
                  R"({"rules": [{"match": [{"vars": [["http_x-team", "==", "blue"]]}],)"
                  R"( "weighted_upstreams": [{"upstream": {"type": "roundrobin", "nodes": {")" +
                  other.node() +
                  R"(": 1}}}]}, {"weighted_upstreams": [{"upstream_id": "canary", "weight": 2},)"
                  R"( {"weight": 1}]}]})"
                  "\n    upstream:\n      nodes:\n        \"" +
                  route_up.node() + "\": 1\n";
  Torii t(o);
  std::map<std::string, int> seen;
  for (int i = 0; i < 6; ++i) {
    auto r = http_get(t.url("/port"));
    ASSERT_EQ(r.status, 200) << r.body;
    seen[r.body]++;
  }
  EXPECT_EQ(seen[std::to_string(canary.port())], 4);
  EXPECT_EQ(seen[std::to_string(route_up.port())], 2);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(http_get(t.url("/port"), {"X-Team: blue"}).body, std::to_string(other.port()));
  }
}

TEST(PluginTraffic, TrafficSplitUnknownUpstreamIdAnswers500) {
  Upstream up;
  Torii t(route_with(up, R"({"traffic-split": {"rules": [{"weighted_upstreams":
                              [{"upstream_id": "nope"}]}]}})"));
  auto r = http_get(t.url("/t/x"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "failed to fetch upstream info by upstream id: nope");
  EXPECT_EQ(up.requests(), 0);
}

TEST(PluginTraffic, AdminApiRefusesBadConfsWithApisixMessages) {
  Upstream up;
  Torii t(sqlite_node());
  auto put = [&](const std::string& plugins) {
    return t.admin("PUT", "/routes/1",
                   R"({"uri": "/t/x", "plugins": )" + plugins + R"(, "upstream": {"nodes": {")" +
                       up.node() + R"(": 1}}})");
  };
  const std::string p = "failed to check the configuration of plugin ";
  const std::pair<std::string, std::string> cases[] = {
      {R"({"limit-count": {"count": -1, "time_window": 60}})",
       p + "limit-count err: property \"count\" validation failed: value should match only one "
           "schema, but matches none"},
      {R"({"limit-count": {"count": 1, "time_window": 60, "policy": "redis"}})",
       p + "limit-count err: then clause did not match"},
      {R"({"limit-count": {"rules": [{"count": 1, "time_window": 6, "key": "$a"},
                                     {"count": 1, "time_window": 6, "key": "$a"}]}})",
       p + "limit-count err: duplicate key '$a' in rules"},
      {R"({"limit-req": {"rate": 1, "key": "remote_addr"}})",
       p + "limit-req err: value should match only one schema, but matches none"},
      {R"({"limit-req": {"rate": 1, "burst": 0, "key": "remote_addr", "policy": "redis",
                         "redis_host": "127.0.0.1"}})",
       p + "limit-req err: policy \"redis\" is not supported by torii yet, use policy "
           "\"local\""},
      {R"({"limit-conn": {"conn": 1, "burst": 0, "key": "remote_addr"}})",
       p + "limit-conn err: property \"default_conn_delay\" is required"},
      {R"({"api-breaker": {"break_response_code": 600}})",
       p + "api-breaker err: property \"break_response_code\" validation failed: expected 600 to "
           "be at most 599"},
      {R"({"traffic-split": {"rules": [{"weighted_upstreams": [{"weight": -1}]}]}})",
       p + "traffic-split err: property \"rules\" validation failed: failed to validate item 1: "
           "property \"weighted_upstreams\" validation failed: failed to validate item 1: "
           "property \"weight\" validation failed: expected -1 to be at least 0"},
      {R"({"traffic-split": {"rules": [{"match": [{"vars": [["arg_x", "=~", "1"]]}],
                                        "weighted_upstreams": [{"weight": 1}]}]}})",
       p + "traffic-split err: failed to validate the 'vars' expression: invalid operator '=~'"},
  };
  for (const auto& [plugins, msg] : cases) {
    SCOPED_TRACE(plugins);
    auto r = put(plugins);
    EXPECT_EQ(r.status, 400) << r.body;
    boost::json::error_code ec;
    auto body = boost::json::parse(r.body, ec);
    ASSERT_FALSE(ec) << r.body;
    EXPECT_EQ(body.at("error_msg").as_string(), msg);
  }
  // Good confs are stored and served.
  auto ok = put(R"({"limit-req": {"rate": 100, "burst": 10, "key": "remote_addr"},
                   "limit-conn": {"conn": 10, "burst": 0, "default_conn_delay": 0.1,
                                  "key": "remote_addr"},
                   "api-breaker": {"break_response_code": 502},
                   "limit-count": {"count": 100, "time_window": 60}})");
  EXPECT_LT(ok.status, 300) << ok.body;
  EXPECT_TRUE(wait_until([&] {
    auto r = http_get(t.url("/t/x"));
    return r.status == 200 && r.headers["x-ratelimit-limit"] == "100";
  }));
}

}  // namespace
}  // namespace torii::testing

namespace torii::testing {
namespace {

// The route's conf does not change, only the upstream its upstream_id names:
// the instance that resolved the old upstream object must not be reused.
TEST(PluginTraffic, TrafficSplitFollowsAnUpdatedUpstream) {
  Upstream route_up, first, second;
  ToriiOptions o = sqlite_node();
  Torii t(o);
  auto put_up = [&](const Upstream& node) {
    return t.admin("PUT", "/upstreams/1",
                   R"({"type": "roundrobin", "nodes": {")" + node.node() + R"(": 1}})");
  };
  ASSERT_LT(put_up(first).status, 300);
  auto r =
      t.admin("PUT", "/routes/1",
              R"({"uri": "/port", "plugins": {"traffic-split": {"rules": [)"
              R"({"weighted_upstreams": [{"upstream_id": "1"}]}]}}, "upstream": {"nodes": {")" +
                  route_up.node() + R"(": 1}}})");
  ASSERT_LT(r.status, 300) << r.body;
  ASSERT_TRUE(
      wait_until([&] { return http_get(t.url("/port")).body == std::to_string(first.port()); }));
  ASSERT_LT(put_up(second).status, 300);
  EXPECT_TRUE(
      wait_until([&] { return http_get(t.url("/port")).body == std::to_string(second.port()); },
                 std::chrono::seconds(5)));
}

}  // namespace
}  // namespace torii::testing
