// real-ip plugin: the address taken from a variable or X-Forwarded-For
// (last header, last entry; recursive skips trusted proxies), the
// trusted_addresses gate, address and port validation, and APISIX's schema
// messages. Cases follow t/plugin/real-ip.t.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <string>
#include <vector>

#include "fake_plugin_context.h"
#include "plugins/plugin_registry.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;
using testing::FakePluginContext;

const PluginInfo& info() {
  const PluginInfo* p = find_plugin("real-ip");
  EXPECT_NE(p, nullptr);
  return *p;
}

std::shared_ptr<const Plugin> make(std::string_view conf) {
  auto parsed = json::parse(conf);
  EXPECT_TRUE(check_plugin_conf("real-ip", parsed, SchemaType::kRoute).ok());
  auto p = info().create(parsed.as_object(), PluginScope{});
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? *p : nullptr;
}

TEST(PluginRealIpTest, registration_matches_apisix) {
  EXPECT_EQ(info().priority, 23000);
  auto p = make(R"({"source":"http_x_real_ip"})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->phases(), Plugin::bit(Phase::kRewrite));
}

struct Case {
  const char* conf;
  const char* peer;
  std::map<std::string, std::string> vars;  // by variable name
  std::vector<const char*> xff;             // X-Forwarded-For headers
  const char* expected;                     // remote_addr afterwards
};

TEST(PluginRealIpTest, decisions) {
  const char* arg = R"({"source":"arg_realip"})";
  const char* xff = R"({"source":"http_x_forwarded_for"})";
  const char* xff_trusted = R"({"source":"http_x_forwarded_for",
                                "trusted_addresses":["127.0.0.0/24","10.0.0.0/8"]})";
  const char* xff_recursive = R"({"source":"http_x_forwarded_for","recursive":true,
                                  "trusted_addresses":["127.0.0.0/24","10.0.0.0/8"]})";
  const Case cases[] = {
      {arg, "127.0.0.1", {{"arg_realip", "1.2.3.4"}}, {}, "1.2.3.4"},
      {arg, "127.0.0.1", {{"arg_realip", "1.2.3.4:9080"}}, {}, "1.2.3.4"},
      {arg, "127.0.0.1", {{"arg_realip", "[::2]:9080"}}, {}, "::2"},
      {arg, "127.0.0.1", {{"arg_realip", "[::2]"}}, {}, "::2"},
      {arg, "127.0.0.1", {{"arg_realip", "2001:db8::7"}}, {}, "2001:db8::7"},
      {arg, "127.0.0.1", {{"arg_realip", "1.2.3.4:abc"}}, {}, "1.2.3.4"},  // tonumber: nil
      {arg, "127.0.0.1", {{"arg_realip", "1.2.3.4:0"}}, {}, "127.0.0.1"},
      {arg, "127.0.0.1", {{"arg_realip", "1.2.3.4:65536"}}, {}, "127.0.0.1"},
      {arg, "127.0.0.1", {{"arg_realip", "1.2.3.256"}}, {}, "127.0.0.1"},
      {arg, "127.0.0.1", {{"arg_realip", "localhost"}}, {}, "127.0.0.1"},
      {arg, "127.0.0.1", {{"arg_realip", "[::2"}}, {}, "127.0.0.1"},
      {arg, "127.0.0.1", {}, {}, "127.0.0.1"},
      {R"({"source":"http_x_real_ip"})",
       "127.0.0.1",
       {{"http_x_real_ip", "1.2.3.4"}},
       {},
       "1.2.3.4"},
      {R"({"source":"arg_realip","trusted_addresses":["127.0.0.0/24"]})",
       "127.0.0.2",
       {{"arg_realip", "1.2.3.4"}},
       {},
       "1.2.3.4"},
      {R"({"source":"arg_realip","trusted_addresses":["127.0.0.0/24"]})",
       "192.168.0.1",
       {{"arg_realip", "1.2.3.4"}},
       {},
       "192.168.0.1"},
      {xff, "127.0.0.1", {}, {"1.2.3.4"}, "1.2.3.4"},
      {xff, "127.0.0.1", {}, {"1.1.1.1, 2.2.2.2,   3.3.3.3"}, "3.3.3.3"},
      {xff, "127.0.0.1", {}, {"1.1.1.1", "2.2.2.2, 4.4.4.4"}, "4.4.4.4"},  // last header
      {xff, "127.0.0.1", {}, {}, "127.0.0.1"},
      {xff_trusted, "127.0.0.1", {}, {"1.1.1.1, 10.0.0.1"}, "10.0.0.1"},
      {xff_trusted, "8.8.8.8", {}, {"1.1.1.1"}, "8.8.8.8"},
      {xff_recursive, "127.0.0.1", {}, {"1.1.1.1, 2.2.2.2, 10.0.0.1, 127.0.0.5"}, "2.2.2.2"},
      {xff_recursive, "127.0.0.1", {}, {"10.0.0.2, 10.0.0.1"}, "10.0.0.2"},
      {xff_recursive, "127.0.0.1", {}, {" 10.0.0.2 "}, "127.0.0.1"},  // single: not stripped
      {xff_recursive, "127.0.0.1", {}, {"1.1.1.1"}, "1.1.1.1"},
      // recursive without trusted_addresses: the last entry.
      {R"({"source":"http_x_forwarded_for","recursive":true})",
       "127.0.0.1",
       {},
       {"1.1.1.1, 10.0.0.1"},
       "10.0.0.1"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.conf) + " peer " + c.peer);
    auto p = make(c.conf);
    ASSERT_TRUE(p);
    FakePluginContext ctx;
    ctx.remote_addr_ = c.peer;
    ctx.vars = c.vars;
    for (const char* h : c.xff) ctx.request_headers_.emplace_back("X-Forwarded-For", h);
    EXPECT_FALSE(p->rewrite(ctx).has_value());
    EXPECT_EQ(ctx.remote_addr_, c.expected);
  }
}

TEST(PluginRealIpTest, schema_errors_use_apisix_messages) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({})",
       "failed to check the configuration of plugin real-ip err: property \"source\" "
       "is required"},
      {R"({"source":""})",
       "failed to check the configuration of plugin real-ip err: property \"source\" validation "
       "failed: string too short, expected at least 1, got 0"},
      {R"({"source":"arg_x","trusted_addresses":[]})",
       "failed to check the configuration of plugin real-ip err: property \"trusted_addresses\" "
       "validation failed: expect array to have at least 1 items"},
      {R"({"source":"arg_x","recursive":1})",
       "failed to check the configuration of plugin real-ip err: property \"recursive\" "
       "validation failed: wrong type: expected boolean, got number"},
  };
  for (const auto& [conf, msg] : cases) {
    SCOPED_TRACE(conf);
    auto st = check_plugin_conf("real-ip", json::parse(conf), SchemaType::kRoute);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().message, msg);
  }
  auto made = info().create(
      json::parse(R"({"source":"arg_x","trusted_addresses":["::1/200"]})").as_object(),
      PluginScope{});
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.error().message, "invalid ip address: ::1/200");
}

}  // namespace
}  // namespace torii::plugins
