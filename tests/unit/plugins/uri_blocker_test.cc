// uri-blocker plugin: block_rules on the raw $request_uri, case_insensitive,
// rejected_code / rejected_msg, the empty-list quirk, and APISIX's schema
// messages. Cases follow t/plugin/uri-blocker.t.
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
  const PluginInfo* p = find_plugin("uri-blocker");
  EXPECT_NE(p, nullptr);
  return *p;
}

std::shared_ptr<const Plugin> make(std::string_view conf) {
  auto parsed = json::parse(conf);
  EXPECT_TRUE(check_plugin_conf("uri-blocker", parsed, SchemaType::kRoute).ok());
  auto p = info().create(parsed.as_object(), PluginScope{});
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? *p : nullptr;
}

std::string check(std::string_view conf) {
  auto st = check_plugin_conf("uri-blocker", json::parse(conf), SchemaType::kRoute);
  if (!st) return st.error().message;
  auto made = info().create(json::parse(conf).as_object(), PluginScope{});
  return made ? "" : made.error().message;
}

TEST(PluginUriBlockerTest, registration_matches_apisix) {
  EXPECT_EQ(info().priority, 2900);
  auto p = make(R"({"block_rules":["root.exe"]})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->phases(), Plugin::bit(Phase::kRewrite));
}

struct Case {
  const char* conf;
  const char* request_uri;
  int status;  // 0: continue
  const char* body = "";
};

TEST(PluginUriBlockerTest, decisions) {
  const char* rules = R"({"block_rules":["root.exe","root.m+"]})";
  const Case cases[] = {
      {rules, "/root.exe", 403},
      {rules, "/hello?x=root.exe", 403},  // the query is part of $request_uri
      {rules, "/root.mmm", 403},
      {rules, "/hello", 0},
      {rules, "/ROOT.EXE", 0},
      {R"({"block_rules":["root.exe"],"case_insensitive":true})", "/ROOT.EXE", 403},
      {R"({"block_rules":["^/admin"]})", "/admin/x", 403},
      {R"({"block_rules":["^/admin"]})", "/%61dmin/x", 0},  // raw, not decoded
      {R"({"block_rules":["aa"],"rejected_code":401})", "/aa", 401},
      {R"({"block_rules":["aa"],"rejected_msg":"access is not allowed"})", "/aa", 403,
       "{\"error_msg\":\"access is not allowed\"}\n"},
      // The empty list is the empty regex: everything is blocked.
      {R"({"block_rules":[]})", "/anything", 403},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.conf) + " " + c.request_uri);
    auto p = make(c.conf);
    ASSERT_TRUE(p);
    FakePluginContext ctx;
    ctx.request_uri_ = c.request_uri;
    Step s = p->rewrite(ctx);
    if (c.status == 0) {
      EXPECT_FALSE(s.has_value());
    } else {
      ASSERT_TRUE(s.has_value());
      EXPECT_EQ(s->status, c.status);
      EXPECT_EQ(s->body, c.body);
    }
  }
}

TEST(PluginUriBlockerTest, schema_errors_use_apisix_messages) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({})",
       "failed to check the configuration of plugin uri-blocker err: property "
       "\"block_rules\" is required"},
      {R"({"block_rules":["a","a"]})",
       "failed to check the configuration of plugin uri-blocker err: property \"block_rules\" "
       "validation failed: expected unique items but items 1 and 2 are equal"},
      {R"({"block_rules":["a"],"rejected_code":199})",
       "failed to check the configuration of plugin uri-blocker err: property "
       "\"rejected_code\" validation failed: expected 199 to be at least 200"},
      {R"({"block_rules":["a"],"rejected_msg":""})",
       "failed to check the configuration of plugin uri-blocker err: property \"rejected_msg\" "
       "validation failed: string too short, expected at least 1, got 0"},
      {R"({"block_rules":["a","^b(a"]})",
       "property \"block_rules\" validation failed: failed to validate item 2: invalid regex "
       "\"^b(a\": missing ): ^b(a"},
  };
  for (const auto& [conf, msg] : cases) {
    SCOPED_TRACE(conf);
    EXPECT_EQ(check(conf), msg);
  }
}

}  // namespace
}  // namespace torii::plugins
