// traffic-split: rule matching (no match = always; entries ORed, each an
// expr AND list), weights honoured exactly per worker cycle (smooth WRR),
// weight 0, the route's own upstream, upstream_id lookups (an unknown id
// answers 500), inline upstreams compiled at create, and schema errors.
// Cases follow t/plugin/traffic-split*.t.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>

#include "limit_test_support.h"
#include "upstream/upstream.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;
using testing::FakePluginContext;

std::shared_ptr<const upstream::Upstream> upstream_named(std::string id) {
  auto u = std::make_shared<upstream::Upstream>();
  u->id = std::move(id);
  return u;
}

PluginScope scope(unsigned workers = 2) {
  PluginScope s;
  s.owner_key = "/apisix/routes/1";
  s.workers = workers;
  static const std::map<std::string, std::shared_ptr<const upstream::Upstream>> ups = {
      {"1", upstream_named("1")}, {"2", upstream_named("2")}};
  s.find_upstream = [](std::string_view id) -> std::shared_ptr<const upstream::Upstream> {
    auto it = ups.find(std::string(id));
    return it == ups.end() ? nullptr : it->second;
  };
  s.compile_upstream =
      [](const json::object& o) -> core::Result<std::shared_ptr<const upstream::Upstream>> {
    if (!o.contains("nodes")) return core::config_error("nodes is required");
    // Names the inline upstream by its first node for the test.
    return upstream_named("inline:" + json::serialize(o.at("nodes")));
  };
  return s;
}

std::shared_ptr<const Plugin> make(std::string_view conf, unsigned workers = 2) {
  return testing::make_plugin("traffic-split", conf, scope(workers));
}

// Which upstream a request goes to: its id, "route" for the route's own,
// or "500:<body>" for an error.
std::string route_of(const Plugin& p, std::map<std::string, std::string> vars = {},
                     unsigned worker = 0) {
  FakePluginContext ctx;
  ctx.vars = std::move(vars);
  ctx.worker_ = worker;
  ctx.workers_ = 2;
  Step s = p.access(ctx);
  if (s) return std::to_string(s->status) + ":" + s->body;
  return ctx.upstream ? ctx.upstream->id : "route";
}

TEST(PluginTrafficSplitTest, registration_matches_apisix) {
  const PluginInfo* info = find_plugin("traffic-split");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->priority, 966);
  auto p = make(R"({"rules": [{"weighted_upstreams": [{"upstream_id": "1"}]}]})");
  EXPECT_EQ(p->phases(), Plugin::bit(Phase::kAccess));
}

TEST(PluginTrafficSplitTest, weights_are_exact_over_each_cycle) {
  // APISIX's test: plugin upstream weight 2, route upstream weight 1.
  auto p = make(R"({"rules": [{"weighted_upstreams": [
      {"upstream_id": "1", "weight": 2}, {"weight": 1}]}]})");
  std::vector<std::string> seq;
  for (int i = 0; i < 6; ++i) seq.push_back(route_of(*p));
  EXPECT_EQ(seq, (std::vector<std::string>{"1", "route", "1", "1", "route", "1"}));
  // Each worker has its own cursor: worker 1 starts its own cycle.
  EXPECT_EQ(route_of(*p, {}, 1), "1");
  EXPECT_EQ(route_of(*p, {}, 1), "route");

  auto three = make(R"({"rules": [{"weighted_upstreams": [
      {"upstream_id": "1", "weight": 5}, {"upstream_id": "2", "weight": 3}, {"weight": 2}]}]})");
  std::map<std::string, int> counts;
  for (int i = 0; i < 100; ++i) counts[route_of(*three)]++;
  EXPECT_EQ(counts["1"], 50);
  EXPECT_EQ(counts["2"], 30);
  EXPECT_EQ(counts["route"], 20);
}

TEST(PluginTrafficSplitTest, weight_zero_gets_nothing) {
  auto p = make(R"({"rules": [{"weighted_upstreams": [
      {"upstream_id": "1", "weight": 0}, {"weight": 1}]}]})");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(route_of(*p), "route");
  auto none = make(R"({"rules": [{"weighted_upstreams": [{"upstream_id": "1", "weight": 0}]}]})");
  EXPECT_EQ(route_of(*none), "route");
}

TEST(PluginTrafficSplitTest, first_matching_rule_wins) {
  auto p = make(R"({"rules": [
      {"match": [{"vars": [["arg_name", "==", "jack"], ["http_user-id", ">", "23"]]},
                 {"vars": [["http_x-canary", "==", "1"]]}],
       "weighted_upstreams": [{"upstream_id": "1"}]},
      {"match": [{"vars": [["arg_name", "==", "rose"]]}],
       "weighted_upstreams": [{"upstream_id": "2"}]}]})");
  // The first entry is an AND.
  EXPECT_EQ(route_of(*p, {{"arg_name", "jack"}, {"http_user-id", "30"}}), "1");
  EXPECT_EQ(route_of(*p, {{"arg_name", "jack"}, {"http_user-id", "3"}}), "route");
  // Entries are ORed.
  EXPECT_EQ(route_of(*p, {{"http_x-canary", "1"}}), "1");
  EXPECT_EQ(route_of(*p, {{"arg_name", "rose"}}), "2");
  EXPECT_EQ(route_of(*p), "route");
}

TEST(PluginTrafficSplitTest, inline_and_missing_upstreams) {
  auto p = make(R"({"rules": [{"weighted_upstreams": [
      {"upstream": {"type": "roundrobin", "nodes": {"127.0.0.1:1981": 1}}}]}]})");
  EXPECT_EQ(route_of(*p), "inline:{\"127.0.0.1:1981\":1}");

  auto missing = make(R"({"rules": [{"weighted_upstreams": [{"upstream_id": "404"}]}]})");
  EXPECT_EQ(route_of(*missing), "500:failed to fetch upstream info by upstream id: 404");

  // An inline upstream that does not compile fails at create, naming it.
  auto made = find_plugin("traffic-split")
                  ->create(json::parse(R"({"rules": [{"weighted_upstreams": [
                               {"weight": 1}, {"upstream": {"type": "roundrobin"}}]}]})")
                               .as_object(),
                           scope());
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.error().message, "rules[1].weighted_upstreams[2].upstream: nodes is required");
}

TEST(PluginTrafficSplitTest, schema_and_create_errors_use_apisix_words) {
  const std::string prefix = "failed to check the configuration of plugin traffic-split err: ";
  auto err = [&](std::string_view conf) {
    auto st = check_plugin_conf("traffic-split", json::parse(conf), SchemaType::kRoute);
    if (!st) return st.error().message;
    auto made = find_plugin("traffic-split")->create(json::parse(conf).as_object(), scope());
    return made ? std::string() : made.error().message;
  };
  EXPECT_EQ(err(R"({})"), "");
  EXPECT_EQ(err(R"({"rules": [{"weighted_upstreams": [{"upstream_id": "1"}]}]})"), "");
  EXPECT_EQ(err(R"({"foo": 1})"), prefix + "additional properties forbidden, found foo");
  EXPECT_EQ(err(R"({"rules": [{"weighted_upstreams": []}]})"),
            prefix +
                "property \"rules\" validation failed: failed to validate item 1: property "
                "\"weighted_upstreams\" validation failed: expect array to have at least 1 "
                "items");
  EXPECT_EQ(err(R"({"rules": [{"weighted_upstreams": [{"weight": -1}]}]})"),
            prefix +
                "property \"rules\" validation failed: failed to validate item 1: property "
                "\"weighted_upstreams\" validation failed: failed to validate item 1: "
                "property \"weight\" validation failed: expected -1 to be at least 0");
  EXPECT_EQ(err(R"({"rules": [{"match": [{"vars": [["arg_x", "=~", "1"]]}],
                               "weighted_upstreams": [{"weight": 1}]}]})"),
            "failed to validate the 'vars' expression: invalid operator '=~'");
}

}  // namespace
}  // namespace torii::plugins
