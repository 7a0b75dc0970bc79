// ip-restriction plugin: whitelist / blacklist of IPs and CIDRs (v4, v6,
// IPv4-mapped), the 403/404 answer with APISIX's body, schema errors with
// APISIX's messages, and a 10,000-CIDR list (compiled into hash sets per
// prefix length: see router/cidr_set.h). Cases follow
// t/plugin/ip-restriction.t.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "fake_plugin_context.h"
#include "plugins/plugin_registry.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;
using testing::FakePluginContext;

const PluginInfo& info() {
  const PluginInfo* p = find_plugin("ip-restriction");
  EXPECT_NE(p, nullptr);
  return *p;
}

std::shared_ptr<const Plugin> make(const json::object& conf) {
  EXPECT_TRUE(check_plugin_conf("ip-restriction", conf, SchemaType::kRoute).ok());
  auto p = info().create(conf, PluginScope{});
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? *p : nullptr;
}

std::shared_ptr<const Plugin> make(std::string_view conf) {
  return make(json::parse(conf).as_object());
}

Step run(const Plugin& p, std::string addr) {
  FakePluginContext ctx;
  ctx.remote_addr_ = std::move(addr);
  return p.access(ctx);
}

std::string check(std::string_view conf) {
  auto st = check_plugin_conf("ip-restriction", json::parse(conf), SchemaType::kRoute);
  if (!st) return st.error().message;
  auto made = info().create(json::parse(conf).as_object(), PluginScope{});
  return made ? "" : made.error().message;
}

TEST(PluginIpRestrictionTest, registration_matches_apisix) {
  EXPECT_EQ(info().priority, 3000);
  auto p = make(R"({"whitelist":["127.0.0.1"]})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->phases(), Plugin::bit(Phase::kAccess));
}

struct Case {
  const char* conf;
  const char* addr;
  int status;  // 0: continue
};

TEST(PluginIpRestrictionTest, decisions) {
  const Case cases[] = {
      {R"({"whitelist":["127.0.0.1","113.74.26.106/24"]})", "127.0.0.1", 0},
      {R"({"whitelist":["127.0.0.1","113.74.26.106/24"]})", "113.74.26.1", 0},
      {R"({"whitelist":["127.0.0.1","113.74.26.106/24"]})", "113.74.27.1", 403},
      {R"({"whitelist":["127.0.0.1"]})", "127.0.0.2", 403},
      {R"({"blacklist":["127.0.0.0/24"]})", "127.0.0.9", 403},
      {R"({"blacklist":["127.0.0.0/24"]})", "10.0.0.1", 0},
      {R"({"whitelist":["::1"]})", "::1", 0},
      {R"({"whitelist":["::1"]})", "::2", 403},
      {R"({"blacklist":["2001:db8::/32"]})", "2001:db8:1::5", 403},
      {R"({"blacklist":["2001:db8::/32"]})", "2001:db9::5", 0},
      {R"({"whitelist":["0.0.0.0/0"]})", "203.0.113.9", 0},
      // An IPv4-mapped client matches IPv4 entries.
      {R"({"whitelist":["10.1.0.0/16"]})", "::ffff:10.1.2.3", 0},
      {R"({"blacklist":["10.1.0.0/16"]})", "::ffff:10.1.2.3", 403},
      // An address that does not parse matches nothing.
      {R"({"whitelist":["127.0.0.1"]})", "unix:", 403},
      {R"({"blacklist":["127.0.0.1"]})", "unix:", 0},
      {R"({"whitelist":["127.0.0.1"],"response_code":404})", "10.0.0.1", 404},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.conf) + " " + c.addr);
    auto p = make(c.conf);
    ASSERT_TRUE(p);
    Step s = run(*p, c.addr);
    if (c.status == 0) {
      EXPECT_FALSE(s.has_value());
    } else {
      ASSERT_TRUE(s.has_value());
      EXPECT_EQ(s->status, c.status);
      EXPECT_EQ(s->body, "{\"message\":\"Your IP address is not allowed\"}\n");
    }
  }
}

TEST(PluginIpRestrictionTest, custom_message) {
  auto p = make(R"({"blacklist":["127.0.0.1"],"message":"Do you want to do something bad?"})");
  Step s = run(*p, "127.0.0.1");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->status, 403);
  EXPECT_EQ(s->body, "{\"message\":\"Do you want to do something bad?\"}\n");
}

TEST(PluginIpRestrictionTest, schema_errors_use_apisix_messages) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({})",
       "failed to check the configuration of plugin ip-restriction err: value should "
       "match only one schema, but matches none"},
      {R"({"whitelist":["127.0.0.1"],"blacklist":["10.0.0.1"]})",
       "failed to check the configuration of plugin ip-restriction err: value should match only "
       "one schema, but matches both schemas 1 and 2"},
      {R"({"whitelist":[]})",
       "failed to check the configuration of plugin ip-restriction err: property \"whitelist\" "
       "validation failed: expect array to have at least 1 items"},
      {R"({"whitelist":["127.0.0.1"],"message":""})",
       "failed to check the configuration of plugin ip-restriction err: property \"message\" "
       "validation failed: string too short, expected at least 1, got 0"},
      {R"({"whitelist":["127.0.0.1"],"response_code":401})",
       "failed to check the configuration of plugin ip-restriction err: property "
       "\"response_code\" validation failed: expected 401 to be at least 403"},
      {R"({"whitelist":["127.0.0.1"],"response_code":500})",
       "failed to check the configuration of plugin ip-restriction err: property "
       "\"response_code\" validation failed: expected 500 to be at most 404"},
      // Passes the loose IPv6/CIDR pattern, refused by the address check.
      {R"({"whitelist":["::1/129"]})", "invalid ip address: ::1/129"},
  };
  for (const auto& [conf, msg] : cases) {
    SCOPED_TRACE(conf);
    EXPECT_EQ(check(conf), msg);
  }
  EXPECT_NE(check(R"({"whitelist":["127.0.0.ab"]})"), "");
  EXPECT_NE(check(R"({"blacklist":["10.0.0.0/33"]})"), "");
}

TEST(PluginIpRestrictionTest, ten_thousand_cidrs) {
  json::array list;
  for (int i = 0; i < 10000; ++i) {
    // 10.x.y.0/24 for 10,000 distinct (x, y), plus some IPv6 ranges.
    list.emplace_back("10." + std::to_string(i / 200) + "." + std::to_string(i % 200) + ".0/24");
  }
  list.emplace_back("2001:db8::/48");
  json::object conf{{"blacklist", list}};
  auto p = make(conf);
  ASSERT_TRUE(p);
  EXPECT_TRUE(run(*p, "10.49.199.77").has_value());
  EXPECT_TRUE(run(*p, "10.0.0.1").has_value());
  EXPECT_FALSE(run(*p, "10.0.200.1").has_value());
  EXPECT_FALSE(run(*p, "10.50.0.1").has_value());
  EXPECT_TRUE(run(*p, "2001:db8:0:1::1").has_value());
}

}  // namespace
}  // namespace torii::plugins
