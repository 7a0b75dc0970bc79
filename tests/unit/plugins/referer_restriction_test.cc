// referer-restriction plugin: whitelist / blacklist of Referer hosts with
// '*' suffixes, missing and malformed Referers, bypass_missing, and
// APISIX's schema messages. Cases follow t/plugin/referer-restriction.t.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <optional>
#include <string>

#include "fake_plugin_context.h"
#include "plugins/plugin_registry.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;
using testing::FakePluginContext;

const PluginInfo& info() {
  const PluginInfo* p = find_plugin("referer-restriction");
  EXPECT_NE(p, nullptr);
  return *p;
}

std::shared_ptr<const Plugin> make(std::string_view conf) {
  auto parsed = json::parse(conf);
  EXPECT_TRUE(check_plugin_conf("referer-restriction", parsed, SchemaType::kRoute).ok());
  auto p = info().create(parsed.as_object(), PluginScope{});
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? *p : nullptr;
}

TEST(PluginRefererRestrictionTest, registration_matches_apisix) {
  EXPECT_EQ(info().priority, 2990);
  auto p = make(R"({"whitelist":["a.com"]})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->phases(), Plugin::bit(Phase::kAccess));
}

struct Case {
  const char* conf;
  std::optional<const char*> referer;
  int status;  // 0: continue
};

TEST(PluginRefererRestrictionTest, decisions) {
  const char* white = R"({"whitelist":["*.xx.com","yy.com"]})";
  const char* black = R"({"blacklist":["*.xx.com","yy.com"]})";
  const Case cases[] = {
      {white, "http://www.xx.com", 0},
      {white, "https://yy.com/path?q=1", 0},
      {white, "http://yy.com:8080/x", 0},
      {white, "//yy.com/x", 0},       // scheme-relative: the request's scheme
      {white, "http://xx.com", 403},  // '*.' needs a subdomain
      {white, "http://www.yy.com", 403},
      {white, "http://yy.com.evil.org", 403},
      {white, "HTTP://yy.com", 403},  // parse_uri's scheme is lower-case only
      {white, "ftp://yy.com", 403},
      {white, "yy.com", 403},  // no "//": malformed
      {white, "http://", 403},
      {white, std::nullopt, 403},
      {white, "http://YY.Com/", 0},  // host names compare case-insensitively
      {black, "http://www.xx.com", 403},
      {black, "http://a.b.xx.com", 403},
      {black, "http://yy.com", 403},
      {black, "http://zz.com", 0},
      {black, "http://WWW.XX.COM", 403},
      {black, std::nullopt, 403},
      {R"({"blacklist":["yy.com"],"bypass_missing":true})", std::nullopt, 0},
      {R"({"whitelist":["yy.com"],"bypass_missing":true})", std::nullopt, 0},
      // Malformed counts as missing.
      {R"({"whitelist":["yy.com"],"bypass_missing":true})", "not a url", 0},
      {R"({"whitelist":["[::1]"]})", "http://[::1]:8080/", 0},
      {R"({"whitelist":["127.0.0.1"]})", "http://127.0.0.1:8080/", 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.conf) + " " + (c.referer ? *c.referer : "<none>"));
    auto p = make(c.conf);
    ASSERT_TRUE(p);
    FakePluginContext ctx;
    if (c.referer) ctx.request_headers_.emplace_back("Referer", *c.referer);
    Step s = p->access(ctx);
    if (c.status == 0) {
      EXPECT_FALSE(s.has_value());
    } else {
      ASSERT_TRUE(s.has_value());
      EXPECT_EQ(s->status, c.status);
      EXPECT_EQ(s->body, "{\"message\":\"Your referer host is not allowed\"}\n");
    }
  }
}

TEST(PluginRefererRestrictionTest, custom_message) {
  auto p = make(R"({"whitelist":["yy.com"],"message":"Your referer host is deny"})");
  FakePluginContext ctx;
  ctx.request_headers_.emplace_back("Referer", "http://zz.com");
  Step s = p->access(ctx);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->body, "{\"message\":\"Your referer host is deny\"}\n");
}

TEST(PluginRefererRestrictionTest, schema_errors_use_apisix_messages) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({})",
       "failed to check the configuration of plugin referer-restriction err: value "
       "should match only one schema, but matches none"},
      {R"({"whitelist":["a.com"],"blacklist":["b.com"]})",
       "failed to check the configuration of plugin referer-restriction err: value should match "
       "only one schema, but matches both schemas 1 and 2"},
      {R"({"whitelist":["a/b"]})",
       "failed to check the configuration of plugin referer-restriction err: property "
       "\"whitelist\" validation failed: failed to validate item 1: failed to match pattern "
       "\"^\\\\*?[0-9a-zA-Z-._\\\\[\\\\]:]+$\" with \"a/b\""},
      {R"({"blacklist":[]})",
       "failed to check the configuration of plugin referer-restriction err: property "
       "\"blacklist\" validation failed: expect array to have at least 1 items"},
  };
  for (const auto& [conf, msg] : cases) {
    SCOPED_TRACE(conf);
    auto st = check_plugin_conf("referer-restriction", json::parse(conf), SchemaType::kRoute);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().message, msg);
  }
}

}  // namespace
}  // namespace torii::plugins
