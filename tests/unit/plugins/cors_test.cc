// cors plugin: registration, the preflight answer in rewrite, the headers
// header_filter adds for each way of choosing the allowed origin (list,
// "**", regex, metadata fallback, timing), and the schema and build-time
// checks with APISIX's messages. Cases follow t/plugin/cors*.t.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <optional>
#include <string>

#include "fake_plugin_context.h"
#include "plugins/plugin_registry.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;
using testing::FakePluginContext;

const PluginInfo& info() {
  const PluginInfo* p = find_plugin("cors");
  EXPECT_NE(p, nullptr);
  return *p;
}

std::shared_ptr<const Plugin> make(std::string_view conf) {
  auto p = info().create(json::parse(conf).as_object(), PluginScope{});
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? *p : nullptr;
}

std::string check(std::string_view conf) {
  auto st = check_plugin_conf("cors", json::parse(conf), SchemaType::kRoute);
  if (!st) return st.error().message;
  auto made = info().create(json::parse(conf).as_object(), PluginScope{});
  return made ? "" : made.error().message;
}

using Headers = std::map<std::string, std::string>;

// Runs header_filter for a GET with that Origin; returns the response
// headers (only the ones cors may set; absent = not set).
Headers respond(const Plugin& p, std::optional<std::string> origin, Headers request = {}) {
  FakePluginContext ctx;
  if (origin) ctx.request_headers_.emplace_back("Origin", *origin);
  for (auto& [k, v] : request) ctx.request_headers_.emplace_back(k, v);
  p.header_filter(ctx);
  Headers out;
  for (auto& [k, v] : ctx.response_headers) {
    EXPECT_FALSE(out.contains(k)) << "duplicate " << k;
    out[k] = v;
  }
  return out;
}

TEST(PluginCorsTest, registration_matches_apisix) {
  const PluginInfo& p = info();
  EXPECT_EQ(p.priority, 4000);
  EXPECT_FALSE(p.is_auth);
  EXPECT_FALSE(p.metadata_schema.is_null());
  auto plugin = make("{}");
  ASSERT_TRUE(plugin);
  EXPECT_EQ(plugin->phases(), Plugin::bit(Phase::kRewrite) | Plugin::bit(Phase::kHeaderFilter));
}

TEST(PluginCorsTest, options_request_is_answered_in_rewrite) {
  auto p = make("{}");
  FakePluginContext options;
  options.method_ = http::Method::kOptions;
  options.method_token_ = "OPTIONS";
  Step s = p->rewrite(options);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->status, 200);
  EXPECT_EQ(s->body, "");

  FakePluginContext get;
  EXPECT_FALSE(p->rewrite(get).has_value());
}

struct Case {
  const char* name;
  const char* conf;
  std::optional<std::string> origin;
  Headers request;
  Headers expected;
};

TEST(PluginCorsTest, header_filter_cases) {
  const Case cases[] = {
      {"defaults",
       "{}",
       std::nullopt,
       {},
       {{"Access-Control-Allow-Origin", "*"},
        {"Access-Control-Allow-Methods", "*"},
        {"Access-Control-Allow-Headers", "*"},
        {"Access-Control-Max-Age", "5"}}},
      {"defaults with an origin still send *",
       "{}",
       "http://a.com",
       {},
       {{"Access-Control-Allow-Origin", "*"},
        {"Access-Control-Allow-Methods", "*"},
        {"Access-Control-Allow-Headers", "*"},
        {"Access-Control-Max-Age", "5"}}},
      {"explicit values",
       R"({"allow_origins":"http://sub.domain.com","allow_methods":"GET,POST",
           "allow_headers":"request-h","expose_headers":"expose-h","max_age":10})",
       "http://sub.domain.com",
       {},
       {{"Access-Control-Allow-Origin", "http://sub.domain.com"},
        {"Vary", "Origin"},
        {"Access-Control-Allow-Methods", "GET,POST"},
        {"Access-Control-Allow-Headers", "request-h"},
        {"Access-Control-Expose-Headers", "expose-h"},
        {"Access-Control-Max-Age", "10"}}},
      {"a single origin that differs gets nothing but Vary",
       R"({"allow_origins":"http://sub.domain.com"})",
       "http://other.domain.com",
       {},
       {{"Vary", "Origin"}}},
      {"a list echoes the matching origin",
       R"({"allow_origins":"http://a.com,http://sub2.domain.com","allow_methods":"GET,POST",
           "allow_headers":"headr1,headr2","expose_headers":"ex-headr1,ex-headr2",
           "max_age":50,"allow_credential":true})",
       "http://sub2.domain.com",
       {},
       {{"Access-Control-Allow-Origin", "http://sub2.domain.com"},
        {"Vary", "Origin"},
        {"Access-Control-Allow-Methods", "GET,POST"},
        {"Access-Control-Allow-Headers", "headr1,headr2"},
        {"Access-Control-Expose-Headers", "ex-headr1,ex-headr2"},
        {"Access-Control-Max-Age", "50"},
        {"Access-Control-Allow-Credentials", "true"}}},
      {"a list without the origin",
       R"({"allow_origins":"http://a.com,http://b.com"})",
       "http://c.com",
       {},
       {{"Vary", "Origin"}}},
      {"a list and no Origin",
       R"({"allow_origins":"http://a.com,http://b.com"})",
       std::nullopt,
       {},
       {{"Vary", "Origin"}}},
      {"** reflects the origin, methods and requested headers",
       R"({"allow_origins":"**","allow_methods":"**","allow_headers":"**",
           "allow_credential":true,"expose_headers":"","max_age":3500})",
       "http://sub.domain.com",
       {{"Access-Control-Request-Headers", "x-a,x-b"}},
       {{"Access-Control-Allow-Origin", "http://sub.domain.com"},
        {"Vary", "Origin"},
        {"Access-Control-Allow-Methods", "GET,POST,PUT,DELETE,PATCH,HEAD,OPTIONS,CONNECT,TRACE"},
        {"Access-Control-Allow-Headers", "x-a,x-b"},
        {"Access-Control-Max-Age", "3500"},
        {"Access-Control-Allow-Credentials", "true"}}},
      {"** without Origin sends *",
       R"({"allow_origins":"**"})",
       std::nullopt,
       {},
       {{"Access-Control-Allow-Origin", "*"},
        {"Vary", "Origin"},
        {"Access-Control-Allow-Methods", "*"},
        {"Access-Control-Allow-Headers", "*"},
        {"Access-Control-Max-Age", "5"}}},
      {"the null origin",
       R"({"allow_origins":"null"})",
       "null",
       {},
       {{"Access-Control-Allow-Origin", "null"},
        {"Vary", "Origin"},
        {"Access-Control-Allow-Methods", "*"},
        {"Access-Control-Allow-Headers", "*"},
        {"Access-Control-Max-Age", "5"}}},
      {"regex match",
       R"({"allow_origins_by_regex":["http://.*?\\.domain\\.com"],"allow_methods":"GET,POST"})",
       "http://sub.domain.com",
       {},
       {{"Access-Control-Allow-Origin", "http://sub.domain.com"},
        {"Vary", "Origin"},
        {"Access-Control-Allow-Methods", "GET,POST"},
        {"Access-Control-Allow-Headers", "*"},
        {"Access-Control-Max-Age", "5"}}},
      {"regex replaces allow_origins, even its default *",
       R"({"allow_origins_by_regex":["http://.*?\\.domain\\.com"]})",
       "http://other.newdomain.com",
       {},
       {{"Vary", "Origin"}}},
      {"regex and no Origin",
       R"({"allow_origins_by_regex":[".*"]})",
       std::nullopt,
       {},
       {{"Vary", "Origin"}}},
      {"any of several regexes",
       R"({"allow_origins_by_regex":["^http://a\\.com$","^http://b\\.com$"]})",
       "http://b.com",
       {},
       {{"Access-Control-Allow-Origin", "http://b.com"},
        {"Vary", "Origin"},
        {"Access-Control-Allow-Methods", "*"},
        {"Access-Control-Allow-Headers", "*"},
        {"Access-Control-Max-Age", "5"}}},
      {"metadata keys without metadata and default allow_origins: nothing",
       R"({"allow_origins_by_metadata":["key_1"]})",
       "http://a.com",
       {},
       {{"Vary", "Origin"}}},
      {"metadata keys fall back to a non-* allow_origins",
       R"({"allow_origins_by_metadata":["key_1"],"allow_origins":"http://a.com"})",
       "http://a.com",
       {},
       {{"Access-Control-Allow-Origin", "http://a.com"},
        {"Vary", "Origin"},
        {"Access-Control-Allow-Methods", "*"},
        {"Access-Control-Allow-Headers", "*"},
        {"Access-Control-Max-Age", "5"}}},
      {"timing origin matches",
       R"({"timing_allow_origins":"http://sub.domain.com"})",
       "http://sub.domain.com",
       {},
       {{"Access-Control-Allow-Origin", "*"},
        {"Access-Control-Allow-Methods", "*"},
        {"Access-Control-Allow-Headers", "*"},
        {"Access-Control-Max-Age", "5"},
        {"Timing-Allow-Origin", "http://sub.domain.com"}}},
      {"timing origin does not match",
       R"({"timing_allow_origins":"http://sub.domain.com"})",
       "http://other.domain.com",
       {},
       {{"Access-Control-Allow-Origin", "*"},
        {"Access-Control-Allow-Methods", "*"},
        {"Access-Control-Allow-Headers", "*"},
        {"Access-Control-Max-Age", "5"}}},
      {"timing alone, CORS refused",
       R"({"allow_origins":"http://one.domain.com,http://two.domain.com",
           "timing_allow_origins":"http://one.domain.com,http://three.domain.com"})",
       "http://three.domain.com",
       {},
       {{"Vary", "Origin"}, {"Timing-Allow-Origin", "http://three.domain.com"}}},
      {"timing * without Origin",
       R"({"timing_allow_origins":"*"})",
       std::nullopt,
       {},
       {{"Access-Control-Allow-Origin", "*"},
        {"Access-Control-Allow-Methods", "*"},
        {"Access-Control-Allow-Headers", "*"},
        {"Access-Control-Max-Age", "5"},
        {"Timing-Allow-Origin", "*"}}},
      {"timing regex wins over the timing list",
       R"({"allow_origins_by_regex":["http://.*?\\.domain\\.com"],
           "timing_allow_origins_by_regex":["http://test.*?\\.domain\\.com"],
           "timing_allow_origins":"http://nonexistent.newdomain.com"})",
       "http://testurl.domain.com",
       {},
       {{"Access-Control-Allow-Origin", "http://testurl.domain.com"},
        {"Vary", "Origin"},
        {"Access-Control-Allow-Methods", "*"},
        {"Access-Control-Allow-Headers", "*"},
        {"Access-Control-Max-Age", "5"},
        {"Timing-Allow-Origin", "http://testurl.domain.com"}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto p = make(c.conf);
    ASSERT_TRUE(p);
    EXPECT_EQ(respond(*p, c.origin, c.request), c.expected);
  }
}

TEST(PluginCorsTest, headers_replace_the_upstream_ones_and_vary_is_appended) {
  auto p = make(R"({"allow_origins":"http://a.com"})");
  FakePluginContext ctx;
  ctx.response_status_ = 401;  // an early exit from an auth plugin
  ctx.request_headers_.emplace_back("Origin", "http://a.com");
  ctx.response_headers = {{"Access-Control-Allow-Origin", "http://evil.com"},
                          {"Vary", "Accept-Encoding"}};
  p->header_filter(ctx);
  EXPECT_EQ(ctx.response_header("Access-Control-Allow-Origin"), "http://a.com");
  int vary = 0;
  for (auto& [k, v] : ctx.response_headers) vary += k == "Vary";
  EXPECT_EQ(vary, 2);
}

TEST(PluginCorsTest, reflected_allow_headers_without_a_request_clears_the_upstream_one) {
  auto p = make(R"({"allow_headers":"**"})");
  FakePluginContext ctx;
  ctx.response_headers = {{"Access-Control-Allow-Headers", "x-upstream"}};
  p->header_filter(ctx);
  EXPECT_FALSE(ctx.response_header("Access-Control-Allow-Headers").has_value());
  EXPECT_EQ(ctx.response_header("Access-Control-Allow-Origin"), "*");
}

TEST(PluginCorsTest, schema_and_build_errors_use_apisix_messages) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"allow_credential":true})",
       "you can not set '*' for other option when 'allow_credential' is true"},
      {R"({"allow_credential":true,"allow_origins":"http://a.com","allow_methods":"GET",
           "allow_headers":"x","expose_headers":"*"})",
       "you can not set '*' for other option when 'allow_credential' is true"},
      {R"({"allow_credential":true,"allow_origins":"http://a.com","allow_methods":"GET",
           "allow_headers":"x","timing_allow_origins":"*"})",
       "you can not set '*' for other option when 'allow_credential' is true"},
      {R"({"allow_credential":true,"allow_origins":"**","allow_methods":"**",
           "allow_headers":"**"})",
       ""},
      {R"({"max_age":"5"})",
       "failed to check the configuration of plugin cors err: property \"max_age\" validation "
       "failed: wrong type: expected integer, got string"},
      {R"({"allow_origins":"x.com"})",
       "failed to check the configuration of plugin cors err: property \"allow_origins\" "
       "validation failed: failed to match pattern "
       "\"^(\\\\*|\\\\*\\\\*|null|\\\\w+://[^,]+(,\\\\w+://[^,]+)*)$\" with \"x.com\""},
      {R"({"allow_origins_by_regex":[]})",
       "failed to check the configuration of plugin cors err: property "
       "\"allow_origins_by_regex\" validation failed: expect array to have at least 1 items"},
      {R"({"allow_origins_by_regex":["(a"]})",
       "property \"allow_origins_by_regex\" validation failed: failed to validate item 1: "
       "invalid regex \"(a\": missing ): (a"},
      {R"({"timing_allow_origins_by_regex":["ok","(?<=a)b"]})",
       "property \"timing_allow_origins_by_regex\" validation failed: failed to validate item 2: "
       "regex \"(?<=a)b\" is not supported: RE2 has no look-around"},
  };
  for (const auto& [conf, msg] : cases) {
    SCOPED_TRACE(conf);
    EXPECT_EQ(check(conf), msg);
  }
}

TEST(PluginCorsTest, timing_allow_origins_values_follow_apisix) {
  for (const char* good : {"*", "**", "null", "http://y.com.uk", "https://x.com",
                           "https://x.com,http://y.com.uk,http://c.tv",
                           "https://x.com,http://y.com.uk:12000,http://c.tv"}) {
    json::object conf{{"timing_allow_origins", good}};
    EXPECT_TRUE(check_plugin_conf("cors", conf, SchemaType::kRoute).ok()) << good;
  }
  for (const char* bad :
       {"", "*a", "*,http://y.com", "nulll", "http//y.com.uk", "x.com", "https://x.com,y.com.uk",
        "https://x.com,*,https://y.com.uk", "https://x.com,http://y.com.uk,http:c.tv"}) {
    json::object conf{{"timing_allow_origins", bad}};
    EXPECT_FALSE(check_plugin_conf("cors", conf, SchemaType::kRoute).ok()) << bad;
  }
}

TEST(PluginCorsTest, metadata_schema_checks_the_origin_map) {
  EXPECT_TRUE(check_plugin_conf("cors", json::parse(R"({"allow_origins":{"k":"https://a.com"}})"),
                                SchemaType::kMetadata)
                  .ok());
  auto st = check_plugin_conf("cors", json::parse(R"({"allow_origins":{"k":"a.com"}})"),
                              SchemaType::kMetadata);
  EXPECT_FALSE(st.ok());
}

}  // namespace
}  // namespace torii::plugins
