// fault-injection: aborts (status, body and headers with variables),
// percentages, `vars` as an OR of AND-lists, the delay on the worker's
// loop, and the conf errors APISIX gives.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <chrono>

#include "fake_plugin_context.h"
#include "plugins/plugin_registry.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;
using testing::FakePluginContext;

std::shared_ptr<const Plugin> make(std::string_view conf) {
  const PluginInfo* info = find_plugin("fault-injection");
  EXPECT_NE(info, nullptr);
  if (!info) return nullptr;
  EXPECT_TRUE(check_plugin_conf("fault-injection", json::parse(conf), SchemaType::kRoute).ok())
      << conf;
  auto p = info->create(json::parse(conf).as_object(), PluginScope{});
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? *p : nullptr;
}

// Runs rewrite the way the runtime does: the async variant on a loop when
// the plugin asks for it.
Step run(const Plugin& p, FakePluginContext& ctx) {
  if (!p.is_async(Phase::kRewrite)) return p.rewrite(ctx);
  boost::asio::io_context io;
  Step out;
  boost::asio::co_spawn(io.get_executor(), p.rewrite_async(ctx), [&](std::exception_ptr e, Step s) {
    ASSERT_FALSE(e);
    out = std::move(s);
  });
  io.run();
  return out;
}

TEST(FaultInjectionTest, abort_with_body_and_headers) {
  auto p = make(R"js({"abort":{"http_status":403,"body":"Fault Injection! $remote_addr\n",
                    "headers":{"X-Fault":"yes $arg_a","X-Num":42}}})js");
  FakePluginContext ctx;
  ctx.vars = {{"remote_addr", "127.0.0.1"}, {"arg_a", "1"}};
  auto step = run(*p, ctx);
  ASSERT_TRUE(step.has_value());
  EXPECT_EQ(step->status, 403);
  EXPECT_EQ(step->body, "Fault Injection! 127.0.0.1\n");
  EXPECT_EQ(step->content_type, "");
  using H = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(step->headers, (H{{"X-Fault", "yes 1"}, {"X-Num", "42"}}));
  EXPECT_FALSE(p->is_async(Phase::kRewrite));
}

TEST(FaultInjectionTest, abort_without_body) {
  auto p = make(R"js({"abort":{"http_status":500}})js");
  FakePluginContext ctx;
  auto step = run(*p, ctx);
  ASSERT_TRUE(step.has_value());
  EXPECT_EQ(step->status, 500);
  EXPECT_EQ(step->body, "");
}

TEST(FaultInjectionTest, percentages_zero_and_hundred) {
  auto never = make(R"js({"abort":{"http_status":500,"percentage":0}})js");
  auto always = make(R"js({"abort":{"http_status":500,"percentage":100}})js");
  for (int i = 0; i < 200; ++i) {
    FakePluginContext ctx;
    EXPECT_FALSE(run(*never, ctx).has_value());
    EXPECT_TRUE(run(*always, ctx).has_value());
  }
}

TEST(FaultInjectionTest, percentage_fifty_hits_about_half) {
  auto p = make(R"js({"abort":{"http_status":500,"percentage":50}})js");
  int hits = 0;
  for (int i = 0; i < 4000; ++i) {
    FakePluginContext ctx;
    hits += run(*p, ctx).has_value() ? 1 : 0;
  }
  EXPECT_GT(hits, 1700);
  EXPECT_LT(hits, 2300);
}

TEST(FaultInjectionTest, vars_are_an_or_of_and_lists) {
  auto p = make(R"js({"abort":{"http_status":403,"vars":[
      [["arg_name","==","jack"],["arg_age","!","<",18]],
      [["http_apikey","==","api-key"]]]}})js");
  struct Case {
    std::map<std::string, std::string> vars;
    bool aborts;
  };
  const Case cases[] = {
      {{{"arg_name", "jack"}, {"arg_age", "18"}}, true},
      {{{"arg_name", "jack"}, {"arg_age", "17"}}, false},
      {{{"arg_name", "rose"}, {"arg_age", "20"}}, false},
      {{{"http_apikey", "api-key"}}, true},
      {{}, false},
  };
  for (const auto& c : cases) {
    FakePluginContext ctx;
    ctx.vars = c.vars;
    EXPECT_EQ(run(*p, ctx).has_value(), c.aborts);
  }
}

TEST(FaultInjectionTest, an_empty_vars_list_never_matches) {
  auto p = make(R"js({"abort":{"http_status":403,"vars":[]}})js");
  FakePluginContext ctx;
  EXPECT_FALSE(run(*p, ctx).has_value());
}

TEST(FaultInjectionTest, delay_waits_on_the_loop_then_aborts) {
  auto p = make(R"js({"delay":{"duration":0.2},"abort":{"http_status":503,"body":"late"}})js");
  EXPECT_TRUE(p->is_async(Phase::kRewrite));
  FakePluginContext ctx;
  const auto start = std::chrono::steady_clock::now();
  auto step = run(*p, ctx);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, std::chrono::milliseconds(200));
  ASSERT_TRUE(step.has_value());
  EXPECT_EQ(step->status, 503);
  EXPECT_EQ(step->body, "late");
}

TEST(FaultInjectionTest, delay_skipped_when_vars_do_not_match) {
  auto p = make(R"js({"delay":{"duration":5,"vars":[[["arg_slow","==","1"]]]}})js");
  FakePluginContext ctx;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(run(*p, ctx).has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

struct ErrorCase {
  const char* conf;
  const char* message;
};

TEST(FaultInjectionTest, errors_read_like_apisix) {
  const ErrorCase schema_cases[] = {
      {R"js({})js", "expect object to have at least 1 properties"},
      {R"js({"abort":{}})js",
       "property \"abort\" validation failed: property \"http_status\" is required"},
      {R"js({"abort":{"http_status":100}})js",
       "property \"abort\" validation failed: property \"http_status\" validation failed: expected "
       "100 to be at least 200"},
      {R"js({"abort":{"http_status":200,"percentage":101}})js",
       "property \"abort\" validation failed: property \"percentage\" validation failed: expected "
       "101 to be at most 100"},
      {R"js({"delay":{"duration":-1}})js",
       "property \"delay\" validation failed: property \"duration\" validation failed: expected -1 "
       "to be at least 0"},
      {R"js({"delay":{"duration":"1"}})js",
       "property \"delay\" validation failed: property \"duration\" validation failed: wrong type: "
       "expected number, got string"},
      {R"js({"abort":{"http_status":200,"vars":["a"]}})js",
       "property \"abort\" validation failed: property \"vars\" validation failed: failed to "
       "validate item 1: wrong type: expected array, got string"},
  };
  for (const auto& c : schema_cases) {
    SCOPED_TRACE(c.conf);
    auto st = check_plugin_conf("fault-injection", json::parse(c.conf), SchemaType::kRoute);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().message,
              std::string("failed to check the configuration of plugin fault-injection err: ") +
                  c.message);
  }
  const auto conf =
      json::parse(R"js({"abort":{"http_status":403,"vars":[[["arg_a","=~","x"]]]}})js");
  ASSERT_TRUE(check_plugin_conf("fault-injection", conf, SchemaType::kRoute).ok());
  auto p = find_plugin("fault-injection")->create(conf.as_object(), PluginScope{});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().message, "invalid operator '=~'");
}

TEST(FaultInjectionTest, registration) {
  const PluginInfo* info = find_plugin("fault-injection");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->priority, 11000);
}

}  // namespace
}  // namespace torii::plugins
