// ua-restriction plugin: allowlist / denylist regexes on User-Agent, missing
// and repeated headers, whitespace stripping, and APISIX's schema messages.
// Cases follow t/plugin/ua-restriction.t.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "fake_plugin_context.h"
#include "plugins/plugin_registry.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;
using testing::FakePluginContext;

const PluginInfo& info() {
  const PluginInfo* p = find_plugin("ua-restriction");
  EXPECT_NE(p, nullptr);
  return *p;
}

std::shared_ptr<const Plugin> make(std::string_view conf) {
  auto parsed = json::parse(conf);
  EXPECT_TRUE(check_plugin_conf("ua-restriction", parsed, SchemaType::kRoute).ok());
  auto p = info().create(parsed.as_object(), PluginScope{});
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? *p : nullptr;
}

std::string check(std::string_view conf) {
  auto st = check_plugin_conf("ua-restriction", json::parse(conf), SchemaType::kRoute);
  if (!st) return st.error().message;
  auto made = info().create(json::parse(conf).as_object(), PluginScope{});
  return made ? "" : made.error().message;
}

TEST(PluginUaRestrictionTest, registration_matches_apisix) {
  EXPECT_EQ(info().priority, 2999);
  auto p = make(R"({"denylist":["curl"]})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->phases(), Plugin::bit(Phase::kAccess));
}

struct Case {
  const char* conf;
  std::vector<const char*> agents;  // one User-Agent header each
  int status;                       // 0: continue
  const char* body = "{\"message\":\"Not allowed\"}\n";
};

TEST(PluginUaRestrictionTest, decisions) {
  const Case cases[] = {
      {R"j({"denylist":["(Baiduspider)/(\\d+)\\.(\\d+)","bad-bot-1"]})j", {"Baiduspider/3.0"}, 403},
      {R"j({"denylist":["(Baiduspider)/(\\d+)\\.(\\d+)","bad-bot-1"]})j", {"bad-bot-1"}, 403},
      {R"j({"denylist":["(Baiduspider)/(\\d+)\\.(\\d+)","bad-bot-1"]})j", {"Mozilla/5.0"}, 0},
      // Unanchored search, as ngx.re.find.
      {R"({"denylist":["bot"]})", {"Mozilla/5.0 (compatible; somebot)"}, 403},
      {R"j({"allowlist":["my-bot1","(Baiduspider)/(\\d+)\\.(\\d+)"]})j", {"my-bot1"}, 0},
      {R"j({"allowlist":["my-bot1","(Baiduspider)/(\\d+)\\.(\\d+)"]})j", {"Baiduspider/1.0"}, 0},
      {R"({"allowlist":["my-bot1"]})", {"other"}, 403},
      // Case matters, as in PCRE without "i".
      {R"({"allowlist":["my-bot1"]})", {"MY-BOT1"}, 403},
      // Surrounding whitespace is stripped before matching.
      {R"({"allowlist":["^my-bot1$"]})", {"  my-bot1\t"}, 0},
      // Missing User-Agent: refused unless bypass_missing.
      {R"({"denylist":["bad"]})", {}, 403},
      {R"({"allowlist":["good"]})", {}, 403},
      {R"({"denylist":["bad"],"bypass_missing":true})", {}, 0},
      {R"({"allowlist":["good"],"bypass_missing":true})", {}, 0},
      // Several headers: any allowed value passes; any denied value refuses.
      {R"({"allowlist":["good"]})", {"other", "good"}, 0},
      {R"({"allowlist":["good"]})", {"other", "another"}, 403},
      {R"({"denylist":["bad"]})", {"fine", "bad"}, 403},
      {R"({"denylist":["bad"]})", {"fine", "also-fine"}, 0},
      {R"({"denylist":["bad"],"message":"Do you want to do something bad?"})",
       {"bad"},
       403,
       "{\"message\":\"Do you want to do something bad?\"}\n"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.conf) + " " + std::to_string(c.agents.size()));
    auto p = make(c.conf);
    ASSERT_TRUE(p);
    FakePluginContext ctx;
    for (const char* a : c.agents) ctx.request_headers_.emplace_back("User-Agent", a);
    Step s = p->access(ctx);
    if (c.status == 0) {
      EXPECT_FALSE(s.has_value());
    } else {
      ASSERT_TRUE(s.has_value());
      EXPECT_EQ(s->status, c.status);
      EXPECT_EQ(s->body, c.body);
    }
  }
}

TEST(PluginUaRestrictionTest, schema_errors_use_apisix_messages) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({})",
       "failed to check the configuration of plugin ua-restriction err: value should "
       "match only one schema, but matches none"},
      {R"({"allowlist":["a"],"denylist":["b"]})",
       "failed to check the configuration of plugin ua-restriction err: value should match only "
       "one schema, but matches both schemas 1 and 2"},
      {R"({"denylist":[]})",
       "failed to check the configuration of plugin ua-restriction err: property \"denylist\" "
       "validation failed: expect array to have at least 1 items"},
      {R"({"denylist":[""]})",
       "failed to check the configuration of plugin ua-restriction err: property \"denylist\" "
       "validation failed: failed to validate item 1: string too short, expected at least 1, got "
       "0"},
      {R"({"denylist":["a"],"bypass_missing":"yes"})",
       "failed to check the configuration of plugin ua-restriction err: property "
       "\"bypass_missing\" validation failed: wrong type: expected boolean, got string"},
      {R"({"denylist":["a"],"message":""})",
       "failed to check the configuration of plugin ua-restriction err: property \"message\" "
       "validation failed: string too short, expected at least 1, got 0"},
      {R"({"allowlist":["ok","[a-"]})",
       "property \"allowlist\" validation failed: failed to validate item 2: invalid regex "
       "\"[a-\": missing ]: [a-"},
      {R"j({"denylist":["(a)\\1"]})j",
       "property \"denylist\" validation failed: failed to validate item 1: regex \"(a)\\1\" is "
       "not supported: RE2 has no back-references"},
  };
  for (const auto& [conf, msg] : cases) {
    SCOPED_TRACE(conf);
    EXPECT_EQ(check(conf), msg);
  }
}

}  // namespace
}  // namespace torii::plugins
