// HealthChecker's state machine (lua-resty-healthcheck's counters) and the
// reading of `checks` with APISIX's defaults.
#include "upstream/health_check.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace torii::upstream {
namespace {

namespace json = boost::json;

std::vector<HealthChecker::Target> targets_of(size_t nodes) {
  std::vector<HealthChecker::Target> targets;
  for (size_t i = 0; i < nodes; ++i) {
    NodeSpec spec;
    spec.host = "127.0.0.1";
    spec.port = static_cast<uint16_t>(8000 + i);
    targets.push_back({spec, "127.0.0.1:" + std::to_string(8000 + i)});
  }
  return targets;
}

HealthChecker make(const std::string& checks_json,
                   const std::vector<HealthChecker::Target>& nodes) {
  return HealthChecker("/apisix/upstreams/1",
                       parse_health_checks(json::parse(checks_json).as_object()), nodes);
}

HealthChecker make(const std::string& checks_json, size_t nodes = 2) {
  return make(checks_json, targets_of(nodes));
}

TEST(HealthCheckConf, DefaultsAreApisixs) {
  const HealthCheckConf c = parse_health_checks(json::parse(R"({"active": {}})").as_object());
  EXPECT_EQ(c.active.type, ProbeType::kHttp);
  EXPECT_EQ(c.active.timeout.count(), 1000);
  EXPECT_EQ(c.active.concurrency, 10u);
  EXPECT_EQ(c.active.http_path, "/");
  EXPECT_TRUE(c.active.https_verify_certificate);
  EXPECT_EQ(c.active.healthy_interval.count(), 1);
  EXPECT_EQ(c.active.thresholds.successes, 2u);
  EXPECT_EQ(c.active.thresholds.http_failures, 5u);
  EXPECT_EQ(c.active.thresholds.tcp_failures, 2u);
  EXPECT_EQ(c.active.thresholds.timeouts, 3u);
  EXPECT_TRUE(c.active.thresholds.healthy_statuses.test(302));
  EXPECT_FALSE(c.active.thresholds.healthy_statuses.test(201));
  EXPECT_TRUE(c.active.thresholds.unhealthy_statuses.test(404));
  EXPECT_FALSE(c.passive.has_value());

  const HealthCheckConf p =
      parse_health_checks(json::parse(R"({"active": {}, "passive": {}})").as_object());
  ASSERT_TRUE(p.passive.has_value());
  EXPECT_EQ(p.passive->thresholds.successes, 5u);
  EXPECT_EQ(p.passive->thresholds.timeouts, 7u);
  EXPECT_TRUE(p.passive->thresholds.healthy_statuses.test(226));
  EXPECT_TRUE(p.passive->thresholds.unhealthy_statuses.test(429));
  EXPECT_FALSE(p.passive->thresholds.unhealthy_statuses.test(502));
}

TEST(HealthCheckConf, GivenValuesWin) {
  const HealthCheckConf c = parse_health_checks(json::parse(R"({"active": {
      "type": "tcp", "timeout": 0.25, "port": 9000, "host": "svc.local",
      "req_headers": ["X-A: 1"],
      "healthy": {"interval": 5, "successes": 1, "http_statuses": [204]},
      "unhealthy": {"interval": 2, "tcp_failures": 4}}})")
                                                    .as_object());
  EXPECT_EQ(c.active.type, ProbeType::kTcp);
  EXPECT_EQ(c.active.timeout.count(), 250);
  EXPECT_EQ(c.active.port, 9000);
  EXPECT_EQ(c.active.host, "svc.local");
  ASSERT_EQ(c.active.req_headers.size(), 1u);
  EXPECT_EQ(c.active.healthy_interval.count(), 5);
  EXPECT_EQ(c.active.unhealthy_interval.count(), 2);
  EXPECT_EQ(c.active.thresholds.successes, 1u);
  EXPECT_TRUE(c.active.thresholds.healthy_statuses.test(204));
  EXPECT_FALSE(c.active.thresholds.healthy_statuses.test(200));
  EXPECT_EQ(c.active.thresholds.tcp_failures, 4u);
}

TEST(HealthChecker, FailuresInARowFlipANodeAndSuccessesBringItBack) {
  HealthChecker c = make(R"({"active": {"healthy": {"successes": 2},
                                        "unhealthy": {"tcp_failures": 2}}})");
  EXPECT_TRUE(c.healthy(0));
  EXPECT_FALSE(c.report(0, HealthEvent::kTcpFailure, HealthSource::kActive));
  EXPECT_TRUE(c.healthy(0));
  EXPECT_TRUE(c.report(0, HealthEvent::kTcpFailure, HealthSource::kActive));
  EXPECT_FALSE(c.healthy(0));
  EXPECT_TRUE(c.healthy(1)) << "another node is not touched";
  EXPECT_FALSE(c.report(0, HealthEvent::kSuccess, HealthSource::kActive));
  EXPECT_FALSE(c.healthy(0));
  EXPECT_TRUE(c.report(0, HealthEvent::kSuccess, HealthSource::kActive));
  EXPECT_TRUE(c.healthy(0));
}

TEST(HealthChecker, ASuccessClearsTheFailuresAndAFailureTheSuccesses) {
  HealthChecker c = make(R"({"active": {"healthy": {"successes": 2},
                                        "unhealthy": {"timeouts": 2}}})");
  c.report(0, HealthEvent::kTimeout, HealthSource::kActive);
  c.report(0, HealthEvent::kSuccess, HealthSource::kActive);
  EXPECT_FALSE(c.report(0, HealthEvent::kTimeout, HealthSource::kActive));
  EXPECT_TRUE(c.healthy(0)) << "the timeouts were not in a row";
  EXPECT_TRUE(c.report(0, HealthEvent::kTimeout, HealthSource::kActive));
  c.report(0, HealthEvent::kSuccess, HealthSource::kActive);
  c.report(0, HealthEvent::kTimeout, HealthSource::kActive);
  EXPECT_FALSE(c.report(0, HealthEvent::kSuccess, HealthSource::kActive));
  EXPECT_FALSE(c.healthy(0)) << "the successes were not in a row";
}

TEST(HealthChecker, EachKindOfFailureCountsOnItsOwn) {
  HealthChecker c = make(R"({"active": {"unhealthy": {"http_failures": 2, "tcp_failures": 2,
                                                      "timeouts": 2}}})");
  c.report(0, HealthEvent::kHttpFailure, HealthSource::kActive);
  c.report(0, HealthEvent::kTcpFailure, HealthSource::kActive);
  c.report(0, HealthEvent::kTimeout, HealthSource::kActive);
  EXPECT_TRUE(c.healthy(0));
  EXPECT_TRUE(c.report(0, HealthEvent::kHttpFailure, HealthSource::kActive));
}

TEST(HealthChecker, StatusesAreClassifiedByTheSourcesLists) {
  HealthChecker c = make(R"({"active": {"unhealthy": {"http_failures": 1}},
                             "passive": {"unhealthy": {"http_failures": 1,
                                                       "http_statuses": [502]}}})");
  EXPECT_FALSE(c.report_status(0, 418, HealthSource::kActive)) << "in neither list";
  EXPECT_TRUE(c.healthy(0));
  EXPECT_TRUE(c.report_status(0, 502, HealthSource::kPassive));
  EXPECT_FALSE(c.healthy(0));
  c.report_passive_status(1, 404);  // unhealthy for active checks, not for passive ones
  EXPECT_TRUE(c.healthy(1));
}

TEST(HealthChecker, PassiveThresholdZeroNeverFlipsAndTcpTypeIgnoresStatuses) {
  HealthChecker c = make(R"({"active": {}, "passive": {"type": "tcp",
                             "unhealthy": {"tcp_failures": 0, "http_failures": 1}}})");
  for (int i = 0; i < 5; ++i) c.report_passive_failure(0, false);
  EXPECT_TRUE(c.healthy(0));
  c.report_passive_status(0, 500);
  EXPECT_TRUE(c.healthy(0));
  HealthChecker no_passive = make(R"({"active": {"unhealthy": {"tcp_failures": 1}}})");
  no_passive.report_passive_failure(0, false);
  EXPECT_TRUE(no_passive.healthy(0)) << "requests count only with checks.passive";
}

TEST(HealthChecker, UnhealthyNodesAreExcludedUnlessNoneIsHealthy) {
  HealthChecker c = make(R"({"active": {"unhealthy": {"tcp_failures": 1}}})", 3);
  c.report(1, HealthEvent::kTcpFailure, HealthSource::kActive);
  ExcludeSet some(3);
  c.exclude_unhealthy(some);
  EXPECT_FALSE(some.has(0));
  EXPECT_TRUE(some.has(1));
  EXPECT_FALSE(some.has(2));
  c.report(0, HealthEvent::kTcpFailure, HealthSource::kActive);
  c.report(2, HealthEvent::kTcpFailure, HealthSource::kActive);
  ExcludeSet all(3);
  c.exclude_unhealthy(all);
  EXPECT_FALSE(all.has(0));
  EXPECT_FALSE(all.has(1));
  EXPECT_FALSE(all.has(2));
}

TEST(HealthChecker, ANodeListedTwiceIsOneTarget) {
  std::vector<HealthChecker::Target> nodes = targets_of(2);
  nodes.push_back(nodes[0]);  // 127.0.0.1:8000 again, as node 2
  HealthChecker c = make(R"({"active": {"unhealthy": {"tcp_failures": 1}}})", nodes);
  EXPECT_EQ(c.targets().size(), 2u);
  c.report(2, HealthEvent::kTcpFailure, HealthSource::kActive);
  EXPECT_FALSE(c.healthy(0));
  EXPECT_FALSE(c.healthy(2));
  EXPECT_TRUE(c.healthy(1));
}

// A healthy node of weight 0 can never be picked: it does not stop the
// fall back to every node.
TEST(HealthChecker, AHealthyNodeOfWeightZeroDoesNotCountAsPickable) {
  std::vector<HealthChecker::Target> nodes = targets_of(2);
  nodes[1].spec.weight = 0;
  HealthChecker c = make(R"({"active": {"unhealthy": {"tcp_failures": 1}}})", nodes);
  c.report(0, HealthEvent::kTcpFailure, HealthSource::kActive);
  ExcludeSet exclude(2);
  c.exclude_unhealthy(exclude);
  EXPECT_FALSE(exclude.has(0));
}

TEST(HealthCheckers, ListsLiveCheckersOnly) {
  HealthCheckers registry;
  auto a = std::make_shared<HealthChecker>(
      "a", parse_health_checks(json::parse(R"({"active": {}})").as_object()), targets_of(1));
  auto b = std::make_shared<HealthChecker>(
      "b", parse_health_checks(json::parse(R"({"active": {}})").as_object()), targets_of(1));
  registry.add(a);
  registry.add(b);
  ASSERT_EQ(registry.live().size(), 2u);
  a.reset();
  const auto live = registry.live();
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0]->name(), "b");
}

}  // namespace
}  // namespace torii::upstream
