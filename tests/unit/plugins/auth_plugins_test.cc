// key-auth, basic-auth and consumer-restriction against a FakePluginContext
// with a hand-built ConsumerDirectory; and the directory's merged chains.
// Cases follow APISIX's t/plugin/key-auth.t, basic-auth.t and
// consumer-restriction.t.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "fake_plugin_context.h"
#include "plugins/consumer.h"
#include "plugins/plugin_chain.h"
#include "plugins/plugin_registry.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;
using testing::FakePluginContext;

std::shared_ptr<const Plugin> make(std::string_view name, std::string_view conf) {
  auto parsed = json::parse(conf);
  auto st = check_plugin_conf(name, parsed, SchemaType::kRoute);
  EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message);
  auto p = find_plugin(name)->create(parsed.as_object(), PluginScope{});
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? *p : nullptr;
}

std::shared_ptr<const Consumer> consumer(std::string name, std::string group = "") {
  auto c = std::make_shared<Consumer>();
  c->username = std::move(name);
  c->group_id = std::move(group);
  return c;
}

void add(FakePluginContext& ctx, std::shared_ptr<const Consumer> c, std::string_view plugin,
         std::string_view key, std::string_view conf, std::string credential = "") {
  ctx.directory->add_consumer(c);
  Credential cred{c, std::move(credential), json::parse(conf).as_object(), nullptr};
  ASSERT_TRUE(ctx.directory->add_credential(plugin, key, std::move(cred)));
}

TEST(AuthPlugins, registrations_match_apisix) {
  EXPECT_EQ(find_plugin("key-auth")->priority, 2500);
  EXPECT_TRUE(find_plugin("key-auth")->is_auth);
  EXPECT_EQ(find_plugin("key-auth")->consumer_key_field, "key");
  EXPECT_EQ(find_plugin("basic-auth")->priority, 2520);
  EXPECT_EQ(find_plugin("basic-auth")->consumer_key_field, "username");
  EXPECT_EQ(find_plugin("consumer-restriction")->priority, 2400);
  EXPECT_FALSE(find_plugin("consumer-restriction")->is_auth);
  // Consumer confs use the consumer schema.
  EXPECT_TRUE(check_plugin_conf("key-auth", json::parse(R"({"key":"k"})"), SchemaType::kConsumer).ok());
  auto st = check_plugin_conf("key-auth", json::parse("{}"), SchemaType::kConsumer);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message,
            "failed to check the configuration of plugin key-auth err: property \"key\" is required");
  st = check_plugin_conf("basic-auth", json::parse(R"({"username":"u"})"), SchemaType::kConsumer);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message,
            "failed to check the configuration of plugin basic-auth err: property \"password\" is "
            "required");
}

TEST(AuthPlugins, key_auth_header_then_query) {
  auto p = make("key-auth", "{}");
  FakePluginContext ctx;
  add(ctx, consumer("jack"), "key-auth", "k1", R"({"key":"k1"})");
  auto none = p->rewrite(ctx);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->body, "{\"message\":\"Missing API key in request\"}\n");
  ASSERT_EQ(none->headers.size(), 1u);
  EXPECT_EQ(none->headers[0].second, "apikey realm=\"key\"");

  ctx.query_ = "apikey=k1";
  EXPECT_FALSE(p->rewrite(ctx));
  ASSERT_TRUE(ctx.attached);
  EXPECT_EQ(ctx.attached->username, "jack");

  // The header wins over the query, even when it is wrong.
  ctx.request_headers_.emplace_back("apikey", "nope");
  auto bad = p->rewrite(ctx);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->body, "{\"message\":\"Invalid API key in request\"}\n");
}

TEST(AuthPlugins, key_auth_keys_are_exact_bytes) {
  auto p = make("key-auth", "{}");
  FakePluginContext ctx;
  add(ctx, consumer("jack"), "key-auth", "Secret", R"({"key":"Secret"})", "cred-1");
  for (const char* wrong : {"secret", "Secret ", "Secre", ""}) {
    ctx.request_headers_ = {{"apikey", wrong}};
    EXPECT_TRUE(p->rewrite(ctx)) << wrong;
  }
  ctx.request_headers_ = {{"apikey", "Secret"}};
  EXPECT_FALSE(p->rewrite(ctx));
  EXPECT_EQ(ctx.attached_credential, "cred-1");
}

TEST(AuthPlugins, basic_auth_decisions) {
  auto p = make("basic-auth", R"({"realm":"r"})");
  FakePluginContext ctx;
  add(ctx, consumer("foo"), "basic-auth", "foo", R"({"username":"foo","password":"bar:baz"})");
  struct Case {
    const char* header;  // nullptr: none
    const char* message;  // nullptr: authenticated
  };
  const Case cases[] = {
      {nullptr, "Missing authorization in request"},
      {"Bearer Zm9vOmJhcg==", "Invalid authorization in request"},
      {"Basic", "Invalid authorization in request"},
      {"Basic ====", "Invalid authorization in request"},
      {"Basic Zm9v", "Invalid authorization in request"},            // "foo": no ':'
      {"Basic Zm9vOmJhcg==", "Invalid user authorization"},          // foo:bar
      {"Basic YmFyOmJhcjpiYXo=", "Invalid user authorization"},      // bar:bar:baz
      {"Basic Zm9vOmJhcjpiYXo=", nullptr},                           // foo:bar:baz
      {"basic   Zm9vOmJhcjpiYXo=  ", nullptr},                       // scheme any case
      {"Basic IGZvbyA6IGJhcjpiYXog", nullptr},                       // " foo : bar:baz "
  };
  for (const Case& c : cases) {
    ctx.request_headers_.clear();
    ctx.attached.reset();
    if (c.header) ctx.request_headers_.emplace_back("Authorization", c.header);
    auto step = p->rewrite(ctx);
    if (!c.message) {
      EXPECT_FALSE(step) << c.header;
      EXPECT_TRUE(ctx.attached) << c.header;
      continue;
    }
    ASSERT_TRUE(step) << (c.header ? c.header : "(none)");
    EXPECT_EQ(step->status, 401);
    EXPECT_EQ(step->body, std::string("{\"message\":\"") + c.message + "\"}\n");
    ASSERT_EQ(step->headers.size(), 1u);
    EXPECT_EQ(step->headers[0].second, "Basic realm=\"r\"");
  }
}

TEST(AuthPlugins, consumer_restriction_order) {
  FakePluginContext ctx;
  auto p = make("consumer-restriction",
                R"({"blacklist":["bad"],"whitelist":["jack"],
                    "allowed_by_methods":[{"user":"rose","methods":["POST"]}]})");
  auto missing = p->access(ctx);
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 401);
  ctx.attached = consumer("jack");
  EXPECT_FALSE(p->access(ctx));
  ctx.attached = consumer("bad");
  ASSERT_TRUE(p->access(ctx));
  EXPECT_EQ(p->access(ctx)->status, 403);
  // Not whitelisted: allowed_by_methods is consulted, but the whitelist
  // already blocks (APISIX).
  ctx.attached = consumer("rose");
  ctx.method_token_ = "POST";
  EXPECT_TRUE(p->access(ctx));

  auto by_method = make("consumer-restriction",
                        R"({"allowed_by_methods":[{"user":"rose","methods":["POST"]}]})");
  EXPECT_FALSE(by_method->access(ctx));
  ctx.method_token_ = "GET";
  EXPECT_TRUE(by_method->access(ctx));

  auto group = make("consumer-restriction",
                    R"({"type":"consumer_group_id","whitelist":["gold"],"rejected_msg":"m"})");
  ctx.attached = consumer("x", "gold");
  EXPECT_FALSE(group->access(ctx));
  ctx.attached = consumer("x", "silver");
  ASSERT_TRUE(group->access(ctx));
  EXPECT_EQ(group->access(ctx)->body, "{\"message\":\"m\"}\n");
}

TEST(ConsumerDirectory, merged_chain_overlays_the_consumer_and_keeps_route_indexes) {
  ChainBuilder builder;
  json::object route_plugins = json::parse(
      R"({"key-auth":{},"limit-count":{"count":100,"time_window":60},"request-id":{}})")
                                   .as_object();
  auto route = builder.route_chain({{&route_plugins, "route", "1", "/apisix/routes/1"}});
  ASSERT_TRUE(route.ok());
  json::object consumer_plugins =
      json::parse(R"({"key-auth":{"key":"k"},"limit-count":{"count":2,"time_window":60},
                      "cors":{}})")
          .as_object();
  auto chain = builder.consumer_chain({{&consumer_plugins, "consumer", "jack", "/apisix/consumers/jack"}});
  ASSERT_TRUE(chain.ok()) << chain.error().message;
  ASSERT_TRUE(*chain);
  // key-auth is identity on a consumer, not a plugin to run.
  EXPECT_FALSE((*chain)->contains("key-auth"));

  auto jack = std::make_shared<Consumer>();
  jack->username = "jack";
  jack->plugins = *chain;
  ConsumerDirectory dir;
  auto merged = dir.merged(route->get(), *jack);
  std::vector<std::string> names;
  for (const auto& e : merged->chain->entries) names.push_back(e.info->name);
  // Descending priority: cors 4000, key-auth 2500, limit-count 1002; request-id 12015 first.
  EXPECT_EQ(names, (std::vector<std::string>{"request-id", "cors", "key-auth", "limit-count"}));
  const auto& route_entries = (*route)->entries;
  for (size_t i = 0; i < names.size(); ++i) {
    const int from = merged->route_index[i];
    if (names[i] == "cors" || names[i] == "limit-count") {
      EXPECT_EQ(from, -1) << names[i];
      EXPECT_EQ(merged->chain->entries[i].source, "consumer");
    } else {
      ASSERT_GE(from, 0) << names[i];
      EXPECT_EQ(route_entries[static_cast<size_t>(from)].info->name, names[i]);
    }
  }
  // Computed once per (route chain, consumer).
  EXPECT_EQ(dir.merged(route->get(), *jack), merged);
}

TEST(ConsumerDirectory, lookups_by_plugin_and_key) {
  ConsumerDirectory dir;
  auto jack = consumer("jack");
  dir.add_consumer(jack);
  EXPECT_TRUE(dir.add_credential("key-auth", "k", Credential{jack, "", {}, nullptr}));
  EXPECT_FALSE(dir.add_credential("key-auth", "k", Credential{jack, "c2", {}, nullptr}));
  EXPECT_NE(dir.find("key-auth", "k"), nullptr);
  EXPECT_EQ(dir.find("basic-auth", "k"), nullptr);
  EXPECT_EQ(dir.find("key-auth", "K"), nullptr);
  EXPECT_EQ(dir.consumer("jack"), jack);
  EXPECT_EQ(dir.consumer("rose"), nullptr);
  EXPECT_TRUE(secrets_equal("abc", "abc"));
  EXPECT_FALSE(secrets_equal("abc", "abd"));
  EXPECT_FALSE(secrets_equal("abc", "abcd"));
}

}  // namespace
}  // namespace torii::plugins
