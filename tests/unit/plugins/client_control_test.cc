// client-control plugin: max_body_size checked against Content-Length (413)
// and handed to the proxy for bodies without one; APISIX's schema messages.
// Cases follow t/plugin/client-control.t.
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
  const PluginInfo* p = find_plugin("client-control");
  EXPECT_NE(p, nullptr);
  return *p;
}

std::shared_ptr<const Plugin> make(std::string_view conf) {
  auto parsed = json::parse(conf);
  EXPECT_TRUE(check_plugin_conf("client-control", parsed, SchemaType::kRoute).ok());
  auto p = info().create(parsed.as_object(), PluginScope{});
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? *p : nullptr;
}

TEST(PluginClientControlTest, registration_matches_apisix) {
  EXPECT_EQ(info().priority, 22000);
  auto p = make("{}");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->phases(), Plugin::bit(Phase::kRewrite));
}

struct Case {
  const char* conf;
  std::optional<const char*> content_length;
  int status;                         // 0: continue
  std::optional<uint64_t> limit_set;  // what the proxy is told
};

TEST(PluginClientControlTest, decisions) {
  const Case cases[] = {
      {R"({"max_body_size":5})", "5", 0, 5},
      {R"({"max_body_size":5})", "6", 413, std::nullopt},
      {R"({"max_body_size":5})", std::nullopt, 0, 5},  // chunked: the proxy enforces it
      {R"({"max_body_size":0})", "1000000000", 0, 0},  // 0: unlimited
      {R"({"max_body_size":5})", "abc", 0, 5},         // not a number: left to the proxy
      {R"({"max_body_size":1024.0})", "1025", 413, std::nullopt},
      {R"({})", "1000000000", 0, std::nullopt},  // no field: the node's limit stays
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.conf) + " " + (c.content_length ? *c.content_length : "-"));
    auto p = make(c.conf);
    ASSERT_TRUE(p);
    FakePluginContext ctx;
    if (c.content_length) ctx.request_headers_.emplace_back("Content-Length", *c.content_length);
    Step s = p->rewrite(ctx);
    if (c.status == 0) {
      EXPECT_FALSE(s.has_value());
    } else {
      ASSERT_TRUE(s.has_value());
      EXPECT_EQ(s->status, c.status);
      EXPECT_EQ(s->body, "");  // nginx's 413 page
    }
    EXPECT_EQ(ctx.max_body_size, c.limit_set);
  }
}

TEST(PluginClientControlTest, schema_errors_use_apisix_messages) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"max_body_size":-1})",
       "failed to check the configuration of plugin client-control err: property "
       "\"max_body_size\" validation failed: expected -1 to be at least 0"},
      {R"({"max_body_size":"1"})",
       "failed to check the configuration of plugin client-control err: property "
       "\"max_body_size\" validation failed: wrong type: expected integer, got string"},
      {R"({"max_body_size":1.5})",
       "failed to check the configuration of plugin client-control err: property "
       "\"max_body_size\" validation failed: wrong type: expected integer, got number"},
  };
  for (const auto& [conf, msg] : cases) {
    SCOPED_TRACE(conf);
    auto st = check_plugin_conf("client-control", json::parse(conf), SchemaType::kRoute);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().message, msg);
  }
}

}  // namespace
}  // namespace torii::plugins
