// Upstream health checks (`checks`) through the real binary: active probes
// take a failing node out of the balancer and bring it back, passive checks
// take it out after failed requests, every node is used when none is
// healthy, and apisix_upstream_status reports each node on the export
// server.
//
// Probes run every second at the fastest (`interval` is whole seconds), so
// these tests wait for states by scraping (bounded), never by sleeping a
// guessed time.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "harness.h"
#include "http_wire.h"
#include "test_server.h"

namespace torii::testing {
namespace {

// A node whose answers the test changes: `health_status` for GET /health,
// `status` for anything else (body "b"). Keep-alive HTTP/1.1.
struct ScriptedNode {
  std::atomic<int> health_status{200};
  std::atomic<int> status{200};
  std::atomic<int> health_probes{0};
  std::atomic<int> requests{0};
  TestServer server{[this](TestConn& c) { serve(c); }};

  ~ScriptedNode() { server.stop(); }
  uint16_t port() const { return server.port(); }
  std::string node() const { return "127.0.0.1:" + std::to_string(port()); }

  void serve(TestConn& c) {
    std::string buf, head;
    while (wire::read_request_head(c.fd(), buf, head)) {
      const bool health = head.rfind("GET /health ", 0) == 0;
      const int code = health ? health_status.load() : status.load();
      ++(health ? health_probes : requests);
      const std::string body = health ? "health" : "b";
      const std::string reply = "HTTP/1.1 " + std::to_string(code) +
                                " X\r\nContent-Length: " + std::to_string(body.size()) +
                                "\r\n\r\n" + body;
      if (!c.send_all(reply)) return;
    }
  }
};

struct Exporter : MetricsExport {
  // apisix_upstream_status of one node, or -1 when the series is missing.
  int status_of(const std::string& name, uint16_t node_port) const {
    const std::string prefix = "apisix_upstream_status{name=\"" + name +
                               "\",ip=\"127.0.0.1\",port=\"" + std::to_string(node_port) + "\"} ";
    std::istringstream in(scrape());
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(prefix, 0) == 0) return std::stoi(line.substr(prefix.size()));
    }
    return -1;
  }
  bool wait_status(const std::string& name, uint16_t node_port, int want) const {
    return wait_until([&] { return status_of(name, node_port) == want; },
                      std::chrono::seconds(15));
  }
};

std::string route(const std::string& nodes_yaml, const std::string& checks_yaml) {
  return "routes:\n  - id: \"1\"\n    uri: /*\n    upstream:\n      retries: 0\n      nodes:\n" +
         nodes_yaml + "      checks:\n" + checks_yaml;
}

// Which node answered each of `n` GET /x: body "b" or the harness
// upstream's default body.
std::map<std::string, int> tally(const Torii& t, int n) {
  std::map<std::string, int> seen;
  for (int i = 0; i < n; ++i) {
    const auto r = http_get(t.url("/x"));
    ++seen[std::to_string(r.status) + " " + (r.body == "b" ? "b" : "a")];
  }
  return seen;
}

TEST(UpstreamHealth, ActiveChecksTakeAFailingNodeOutAndBringItBack) {
  Upstream a;
  ScriptedNode b;
  b.health_status = 500;
  Exporter ex;
  Torii t(route("        \"" + a.node() + "\": 1\n        \"" + b.node() + "\": 1\n",
                "        active:\n          http_path: /health\n"
                "          healthy: {interval: 1, successes: 1}\n"
                "          unhealthy: {interval: 1, http_failures: 1}\n"),
          ex.config(), 1);
  ASSERT_TRUE(ex.wait_status("/apisix/routes/1", b.port(), 0)) << ex.scrape();
  EXPECT_EQ(ex.status_of("/apisix/routes/1", a.port()), 1);
  const auto only_a = tally(t, 12);
  EXPECT_EQ(only_a.at("200 a"), 12) << "an unhealthy node was picked";

  b.health_status = 200;
  ASSERT_TRUE(ex.wait_status("/apisix/routes/1", b.port(), 1)) << ex.scrape();
  const auto both = tally(t, 12);
  EXPECT_EQ(both.at("200 a"), 6);
  EXPECT_EQ(both.at("200 b"), 6);
  EXPECT_GE(b.health_probes.load(), 2);
  EXPECT_NE(t.error_log().find("is now unhealthy"), std::string::npos) << t.error_log();
}

// A node nothing listens on: a tcp check fails on connect.
TEST(UpstreamHealth, TcpChecksFindANodeThatRefusesConnections) {
  Upstream a;
  const uint16_t dead = free_port();
  Exporter ex;
  Torii t(route("        \"" + a.node() + "\": 1\n        \"127.0.0.1:" + std::to_string(dead) +
                    "\": 1\n",
                "        active:\n          type: tcp\n"
                "          unhealthy: {interval: 1, tcp_failures: 1}\n"),
          ex.config());
  ASSERT_TRUE(ex.wait_status("/apisix/routes/1", dead, 0)) << ex.scrape();
  EXPECT_EQ(ex.status_of("/apisix/routes/1", a.port()), 1);
  const auto seen = tally(t, 10);
  EXPECT_EQ(seen.at("200 a"), 10) << "retries: 0 and a dead node in the pick give 502s";
}

// Real requests answered 500 count against the node; the active checks of
// unhealthy nodes are an hour apart, so it stays out for the test.
TEST(UpstreamHealth, PassiveChecksTakeANodeOutAfterFailedRequests) {
  Upstream a;
  ScriptedNode b;
  b.status = 500;
  Exporter ex;
  Torii t(route("        \"" + a.node() + "\": 1\n        \"" + b.node() + "\": 1\n",
                "        active:\n          http_path: /health\n"
                "          healthy: {interval: 3600}\n"
                "          unhealthy: {interval: 3600}\n"
                "        passive:\n"
                "          unhealthy: {http_statuses: [500], http_failures: 2}\n"),
          ex.config(), 1);
  ASSERT_TRUE(ex.wait_status("/apisix/routes/1", b.port(), 1)) << ex.scrape();
  int failures = 0;
  for (int i = 0; i < 8 && failures < 2; ++i) {
    if (http_get(t.url("/x")).status == 500) ++failures;
  }
  ASSERT_EQ(failures, 2);
  EXPECT_EQ(ex.status_of("/apisix/routes/1", b.port()), 0);
  const auto seen = tally(t, 10);
  EXPECT_EQ(seen.at("200 a"), 10);
  EXPECT_EQ(b.requests.load(), 2);
}

// When no node is healthy, all are used (APISIX falls back the same way).
TEST(UpstreamHealth, EveryNodeUnhealthyMeansEveryNodeIsUsed) {
  ScriptedNode b, c;
  b.health_status = 503;
  c.health_status = 503;
  Exporter ex;
  Torii t(route("        \"" + b.node() + "\": 1\n        \"" + c.node() + "\": 1\n",
                "        active:\n          http_path: /health\n"
                "          unhealthy: {interval: 1, http_failures: 1}\n"),
          ex.config());
  ASSERT_TRUE(ex.wait_status("/apisix/routes/1", b.port(), 0)) << ex.scrape();
  ASSERT_TRUE(ex.wait_status("/apisix/routes/1", c.port(), 0)) << ex.scrape();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(http_get(t.url("/x")).status, 200);
  EXPECT_GT(b.requests.load(), 0);
  EXPECT_GT(c.requests.load(), 0);
}

// A weight-0 node is never picked, healthy or not: with the only weighted
// node unhealthy, that node still gets the requests (not a 502 for "no
// node could be picked").
TEST(UpstreamHealth, AHealthyNodeOfWeightZeroDoesNotBlockTheFallback) {
  Upstream a;
  ScriptedNode b;
  b.health_status = 500;
  Exporter ex;
  Torii t(route("        \"" + a.node() + "\": 0\n        \"" + b.node() + "\": 1\n",
                "        active:\n          http_path: /health\n"
                "          unhealthy: {interval: 1, http_failures: 1}\n"),
          ex.config(), 1);
  ASSERT_TRUE(ex.wait_status("/apisix/routes/1", b.port(), 0)) << ex.scrape();
  const auto seen = tally(t, 4);
  EXPECT_EQ(seen.at("200 b"), 4);
}

// An upstream object's checker is named by its key, and its state is
// dropped with it: after the upstream is removed from the config, its
// series are gone.
TEST(UpstreamHealth, UpstreamObjectIsNamedByItsKeyAndForgottenWhenRemoved) {
  Upstream a;
  Exporter ex;
  const std::string upstream_yaml =
      "upstreams:\n  - id: \"u1\"\n    nodes:\n      \"" + a.node() +
      "\": 1\n    checks:\n      active:\n        type: tcp\n";
  Torii t(upstream_yaml + "routes:\n  - id: \"1\"\n    uri: /*\n    upstream_id: \"u1\"\n",
          ex.config());
  ASSERT_TRUE(ex.wait_status("/apisix/upstreams/u1", a.port(), 1)) << ex.scrape();
  EXPECT_EQ(http_get(t.url("/x")).status, 200);
  t.set_routes("routes:\n  - id: \"1\"\n    uri: /*\n    upstream:\n      nodes:\n        \"" +
               a.node() + "\": 1\n");
  EXPECT_TRUE(wait_until([&] { return ex.scrape().find("apisix_upstream_status") ==
                                      std::string::npos; },
                         std::chrono::seconds(15)))
      << ex.scrape();
}

}  // namespace
}  // namespace torii::testing
