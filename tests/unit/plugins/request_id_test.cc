// request-id: the id a request and its response get (generated or kept),
// each algorithm's shape, and the conf errors APISIX gives.
#include <gtest/gtest.h>

#include <re2/re2.h>
#include <boost/json.hpp>
#include <set>

#include "fake_plugin_context.h"
#include "plugins/plugin_registry.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;
using testing::FakePluginContext;

std::shared_ptr<const Plugin> make(std::string_view conf) {
  const PluginInfo* info = find_plugin("request-id");
  EXPECT_NE(info, nullptr);
  if (!info) return nullptr;
  EXPECT_TRUE(check_plugin_conf("request-id", json::parse(conf), SchemaType::kRoute).ok()) << conf;
  auto p = info->create(json::parse(conf).as_object(), PluginScope{});
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? *p : nullptr;
}

// Runs rewrite then header_filter; returns (id sent upstream, id in the response).
std::pair<std::string, std::string> run(const Plugin& p, FakePluginContext& ctx) {
  EXPECT_FALSE(p.rewrite(ctx).has_value());
  p.header_filter(ctx);
  std::string up;
  for (const auto& [n, v] : ctx.set_request_headers) up = v;
  std::string down;
  for (const auto& [n, v] : ctx.response_headers) down = v;
  return {up, down};
}

bool full_match(const std::string& s, const char* re) { return RE2::FullMatch(s, re); }

TEST(RequestIdTest, generates_a_uuid_v4_for_upstream_and_response) {
  auto p = make("{}");
  FakePluginContext ctx;
  auto [up, down] = run(*p, ctx);
  EXPECT_TRUE(full_match(up, "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"))
      << up;
  EXPECT_EQ(up, down);
  ASSERT_EQ(ctx.set_request_headers.size(), 1u);
  EXPECT_EQ(ctx.set_request_headers[0].first, "X-Request-Id");
  EXPECT_EQ(ctx.response_headers[0].first, "X-Request-Id");
}

TEST(RequestIdTest, ids_differ) {
  auto p = make("{}");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    FakePluginContext ctx;
    seen.insert(run(*p, ctx).first);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(RequestIdTest, a_client_id_is_kept) {
  auto p = make(R"js({"header_name":"X-Trace"})js");
  FakePluginContext ctx;
  ctx.request_headers_ = {{"x-trace", "abc-123"}};
  auto [up, down] = run(*p, ctx);
  EXPECT_TRUE(ctx.set_request_headers.empty());  // forwarded as received
  EXPECT_EQ(down, "abc-123");
  EXPECT_EQ(ctx.response_headers[0].first, "X-Trace");
}

TEST(RequestIdTest, an_upstream_response_header_wins) {
  auto p = make("{}");
  FakePluginContext ctx;
  ctx.response_headers = {{"x-request-id", "from-upstream"}};
  run(*p, ctx);
  ASSERT_EQ(ctx.response_headers.size(), 1u);
  EXPECT_EQ(ctx.response_headers[0].second, "from-upstream");
}

TEST(RequestIdTest, include_in_response_false) {
  auto p = make(R"js({"include_in_response":false})js");
  EXPECT_EQ(p->phases(), Plugin::bit(Phase::kRewrite));
  FakePluginContext ctx;
  auto [up, down] = run(*p, ctx);
  EXPECT_FALSE(up.empty());
  EXPECT_TRUE(ctx.response_headers.empty());
}

TEST(RequestIdTest, nanoid_and_range_id_shapes) {
  {
    auto p = make(R"js({"algorithm":"nanoid"})js");
    FakePluginContext ctx;
    EXPECT_TRUE(full_match(run(*p, ctx).first, "[a-zA-Z0-9_-]{21}"));
  }
  {
    auto p = make(R"js({"algorithm":"nanoid","nanoid":{"length":8,"char_set":"abcdef"}})js");
    FakePluginContext ctx;
    EXPECT_TRUE(full_match(run(*p, ctx).first, "[a-f]{8}"));
  }
  {
    auto p = make(R"js({"algorithm":"range_id"})js");
    FakePluginContext ctx;
    EXPECT_TRUE(full_match(run(*p, ctx).first, "[a-zA-Z0-9]{16}"));
  }
  {
    auto p = make(R"js({"algorithm":"range_id","range_id":{"length":6,"char_set":"xyzXYZ"}})js");
    FakePluginContext ctx;
    EXPECT_TRUE(full_match(run(*p, ctx).first, "[xyzXYZ]{6}"));
  }
}

struct ErrorCase {
  const char* conf;
  const char* message;
};

TEST(RequestIdTest, schema_errors_read_like_apisix) {
  const ErrorCase cases[] = {
      {R"js({"header_name":1})js",
       "property \"header_name\" validation failed: wrong type: expected string, got number"},
      {R"js({"algorithm":"snowflake"})js",
       "property \"algorithm\" validation failed: matches none of the enum values"},
      {R"js({"range_id":{"length":5}})js",
       "property \"range_id\" validation failed: property \"length\" validation failed: expected 5 "
       "to be at least 6"},
      {R"js({"nanoid":{"char_set":"abc"}})js",
       "property \"nanoid\" validation failed: property \"char_set\" validation failed: string too "
       "short, expected at least 6, got 3"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.conf);
    auto st = check_plugin_conf("request-id", json::parse(c.conf), SchemaType::kRoute);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(
        st.error().message,
        std::string("failed to check the configuration of plugin request-id err: ") + c.message);
  }
}

TEST(RequestIdTest, registration) {
  const PluginInfo* info = find_plugin("request-id");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->priority, 12015);
  EXPECT_EQ(make("{}")->phases(), Plugin::bit(Phase::kRewrite) | Plugin::bit(Phase::kHeaderFilter));
}

}  // namespace
}  // namespace torii::plugins
