// limit-count: registration, the fixed and sliding windows of the local
// store, keys (var, var_combination, constant, nil fallback), quota headers
// on passes and refusals, rules, groups, exactness across threads, and the
// schema / create errors with APISIX's words. Cases follow
// t/plugin/limit-count*.t.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <thread>

#include "limit_test_support.h"
#include "plugins/limit_count_local.h"
#include "plugins/limit_count_store.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;
using testing::conf_error;
using testing::FakeClock;
using testing::FakePluginContext;
using testing::header_of;
using testing::make_plugin;

std::shared_ptr<const Plugin> make(std::string_view conf, std::string owner = "/apisix/routes/1") {
  PluginScope scope;
  scope.owner_key = std::move(owner);
  return make_plugin("limit-count", conf, scope);
}

// One request from `addr`; the status it gets (200 when it goes on).
struct Outcome {
  int status = 200;
  std::string body;
  std::map<std::string, std::string> headers;  // exit headers, or header_filter's
};

Outcome request(const Plugin& p, std::string addr = "127.0.0.1",
                std::map<std::string, std::string> vars = {}, unsigned worker = 0) {
  FakePluginContext ctx;
  ctx.remote_addr_ = addr;
  ctx.vars = std::move(vars);
  ctx.vars.emplace("remote_addr", addr);
  ctx.worker_ = worker;
  ctx.workers_ = 4;
  Outcome o;
  Step s = p.access(ctx);
  if (s) {
    o.status = s->status;
    o.body = s->body;
    for (auto& [k, v] : s->headers) o.headers[k] = v;
  } else {
    p.header_filter(ctx);
    for (auto& [k, v] : ctx.response_headers) o.headers[k] = v;
  }
  return o;
}

TEST(PluginLimitCountTest, registration_matches_apisix) {
  const PluginInfo* info = find_plugin("limit-count");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->priority, 1002);
  EXPECT_FALSE(info->is_auth);
  EXPECT_FALSE(info->metadata_schema.is_null());
  auto p = make(R"({"count": 2, "time_window": 60})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->phases(), Plugin::bit(Phase::kAccess) | Plugin::bit(Phase::kHeaderFilter));
  EXPECT_FALSE(p->is_async(Phase::kAccess));
  auto quiet = make(R"({"count": 2, "time_window": 60, "show_limit_quota_header": false})");
  EXPECT_EQ(quiet->phases(), Plugin::bit(Phase::kAccess));
}

TEST(PluginLimitCountTest, fixed_window_counts_then_refuses_with_headers) {
  FakeClock clock;
  auto p = make(R"({"count": 2, "time_window": 60, "rejected_code": 503, "key": "remote_addr"})");
  struct Case {
    int status;
    std::string remaining;
    std::string reset;
  };
  const Case cases[] = {{200, "1", "60"}, {200, "0", "59"}, {503, "0", "58"}, {503, "0", "57"}};
  for (const auto& c : cases) {
    Outcome o = request(*p);
    EXPECT_EQ(o.status, c.status);
    EXPECT_EQ(o.headers["X-RateLimit-Limit"], "2");
    EXPECT_EQ(o.headers["X-RateLimit-Remaining"], c.remaining);
    EXPECT_EQ(o.headers["X-RateLimit-Reset"], c.reset);
    clock.advance_ms(1000);
  }
  // The bare refusal has no body: the runtime sends nginx's error page.
  EXPECT_EQ(request(*p).body, "");
  // Another client has its own window.
  EXPECT_EQ(request(*p, "10.0.0.9").status, 200);
  // The window ends 60 s after it opened.
  clock.advance_ms(56'000);
  EXPECT_EQ(request(*p).status, 200);
  EXPECT_EQ(request(*p).headers["X-RateLimit-Remaining"], "0");
}

TEST(PluginLimitCountTest, rejected_msg_is_an_error_msg_body) {
  FakeClock clock;
  auto p = make(R"({"count": 1, "time_window": 60, "rejected_code": 429,
                    "rejected_msg": "Requests are too frequent, please try again later."})");
  EXPECT_EQ(request(*p).status, 200);
  Outcome o = request(*p);
  EXPECT_EQ(o.status, 429);
  EXPECT_EQ(o.body, "{\"error_msg\":\"Requests are too frequent, please try again later.\"}\n");
}

TEST(PluginLimitCountTest, no_quota_headers_when_disabled) {
  FakeClock clock;
  auto p = make(R"({"count": 1, "time_window": 60, "show_limit_quota_header": false})");
  EXPECT_TRUE(request(*p).headers.empty());
  Outcome o = request(*p);
  EXPECT_EQ(o.status, 503);
  EXPECT_TRUE(o.headers.empty());
}

TEST(PluginLimitCountTest, keys_by_type) {
  FakeClock clock;
  // var: a header; requests without it fall back to the client address.
  auto by_header = make(R"({"count": 1, "time_window": 60, "key": "http_x_user"})");
  EXPECT_EQ(request(*by_header, "1.1.1.1", {{"http_x_user", "alice"}}).status, 200);
  EXPECT_EQ(request(*by_header, "2.2.2.2", {{"http_x_user", "alice"}}).status, 503);
  EXPECT_EQ(request(*by_header, "2.2.2.2", {{"http_x_user", "bob"}}).status, 200);
  EXPECT_EQ(request(*by_header, "3.3.3.3").status, 200);
  EXPECT_EQ(request(*by_header, "3.3.3.3").status, 503);

  // var_combination: a template; none of its variables set -> client address.
  auto combo = make(R"({"count": 1, "time_window": 60, "key_type": "var_combination",
                        "key": "$http_x_a ${http_x_b}"})");
  EXPECT_EQ(request(*combo, "1.1.1.1", {{"http_x_a", "a"}, {"http_x_b", "b"}}).status, 200);
  EXPECT_EQ(request(*combo, "2.2.2.2", {{"http_x_a", "a"}, {"http_x_b", "b"}}).status, 503);
  EXPECT_EQ(request(*combo, "2.2.2.2", {{"http_x_a", "a"}}).status, 200);  // "a " differs
  EXPECT_EQ(request(*combo, "4.4.4.4").status, 200);
  EXPECT_EQ(request(*combo, "4.4.4.4").status, 503);

  // constant: one counter for everyone.
  auto constant = make(R"({"count": 1, "time_window": 60, "key_type": "constant", "key": "all"})");
  EXPECT_EQ(request(*constant, "1.1.1.1").status, 200);
  EXPECT_EQ(request(*constant, "2.2.2.2").status, 503);
}

TEST(PluginLimitCountTest, count_and_window_from_variables) {
  FakeClock clock;
  auto p = make(R"({"count": "$http_x_count", "time_window": "60", "key_type": "constant",
                    "key": "k"})");
  EXPECT_EQ(request(*p, "1.1.1.1", {{"http_x_count", "2"}}).headers["X-RateLimit-Limit"], "2");
  EXPECT_EQ(request(*p, "1.1.1.1", {{"http_x_count", "2"}}).status, 200);
  EXPECT_EQ(request(*p, "1.1.1.1", {{"http_x_count", "2"}}).status, 503);
  EXPECT_EQ(request(*p, "1.1.1.1", {{"http_x_count", "3"}}).status, 200);
  // Not a positive integer: 500 without body, or through with allow_degradation.
  EXPECT_EQ(request(*p, "1.1.1.1", {{"http_x_count", "abc"}}).status, 500);
  EXPECT_EQ(request(*p, "1.1.1.1", {{"http_x_count", "1.5"}}).status, 500);
  EXPECT_EQ(request(*p, "1.1.1.1", {{"http_x_count", "0"}}).status, 500);
  EXPECT_EQ(request(*p, "1.1.1.1").status, 500);
  auto lenient = make(R"({"count": "$http_x_count", "time_window": 60,
                          "allow_degradation": true})");
  EXPECT_EQ(request(*lenient, "1.1.1.1", {{"http_x_count", "x"}}).status, 200);
}

TEST(PluginLimitCountTest, rules_count_each_matching_key_with_prefixed_headers) {
  FakeClock clock;
  auto p = make(R"({"rules": [
      {"count": 1, "time_window": 60, "key": "${http_user}", "header_prefix": "user"},
      {"count": 3, "time_window": 60, "key": "${http_project}"}]})");
  Outcome a = request(*p, "1.1.1.1", {{"http_user", "u1"}, {"http_project", "p"}});
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.headers["X-user-RateLimit-Limit"], "1");
  EXPECT_EQ(a.headers["X-user-RateLimit-Remaining"], "0");
  EXPECT_EQ(a.headers["X-2-RateLimit-Limit"], "3");
  EXPECT_EQ(a.headers["X-2-RateLimit-Remaining"], "2");
  // The user rule refuses; the headers of both rules so far are on the refusal.
  Outcome b = request(*p, "1.1.1.1", {{"http_user", "u1"}, {"http_project", "p"}});
  EXPECT_EQ(b.status, 503);
  EXPECT_EQ(b.headers["X-user-RateLimit-Remaining"], "0");
  // Only the project rule applies without the user header.
  Outcome c = request(*p, "1.1.1.1", {{"http_project", "p"}});
  EXPECT_EQ(c.status, 200);
  EXPECT_FALSE(c.headers.contains("X-user-RateLimit-Limit"));
  EXPECT_EQ(c.headers["X-2-RateLimit-Remaining"], "1");
  // No rule applies: 500 (APISIX: "failed to get rate limit rules").
  EXPECT_EQ(request(*p, "1.1.1.1").status, 500);
}

TEST(PluginLimitCountTest, sliding_window_weighs_the_previous_window) {
  FakeClock clock;
  clock.set_ms(1'000'000'000);  // a window boundary for 10 s windows
  auto p = make(R"({"count": 2, "time_window": 10, "window_type": "sliding"})");
  EXPECT_EQ(request(*p).status, 200);
  EXPECT_EQ(request(*p).headers["X-RateLimit-Remaining"], "0");
  Outcome refused = request(*p);
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.headers["X-RateLimit-Reset"], "10");
  clock.advance_ms(10'000);  // next window: the previous 2 weigh fully
  EXPECT_EQ(request(*p).status, 503);
  clock.advance_ms(5'000);  // half way: the previous window weighs 1
  Outcome half = request(*p);
  EXPECT_EQ(half.status, 200);
  EXPECT_EQ(half.headers["X-RateLimit-Remaining"], "0");
  EXPECT_EQ(half.headers["X-RateLimit-Reset"], "5");
  EXPECT_EQ(request(*p).status, 503);
}

TEST(PluginLimitCountTest, one_counter_across_workers_and_threads) {
  auto p = make(R"({"count": 4000, "time_window": 60, "key_type": "constant", "key": "k",
                    "show_limit_quota_header": false})");
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (unsigned w = 0; w < 8; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < 1000; ++i) {
        FakePluginContext ctx;
        ctx.worker_ = w;
        ctx.workers_ = 8;
        if (!p->access(ctx)) allowed.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 4000);
}

TEST(PluginLimitCountTest, group_shares_one_counter_between_resources) {
  FakeClock clock;
  const char* conf = R"({"count": 2, "time_window": 60, "group": "g-shared"})";
  auto r1 = make(conf, "/apisix/routes/1");
  auto r2 = make(conf, "/apisix/routes/2");
  EXPECT_EQ(request(*r1).status, 200);
  EXPECT_EQ(request(*r2).status, 200);
  EXPECT_EQ(request(*r1).status, 503);
  EXPECT_EQ(request(*r2).status, 503);
  // Another resource with a different conf for the group is refused; the
  // resource holding the group alone may change its conf.
  EXPECT_EQ(conf_error("limit-count", R"({"count": 3, "time_window": 60, "group": "g-shared"})",
                       "/apisix/routes/3"),
            "group conf mismatched");
  r2.reset();
  EXPECT_EQ(conf_error("limit-count", R"({"count": 3, "time_window": 60, "group": "g-shared"})",
                       "/apisix/routes/1"),
            "");
}

TEST(PluginLimitCountTest, per_instance_counters) {
  FakeClock clock;
  const char* conf = R"({"count": 1, "time_window": 60})";
  auto a = make(conf, "/apisix/routes/1");
  auto b = make(conf, "/apisix/services/1");
  EXPECT_EQ(request(*a).status, 200);
  EXPECT_EQ(request(*b).status, 200);
  EXPECT_EQ(request(*a).status, 503);
}

// A stand-in for limit_count_redis.cc's store, to check the hook.
class ScriptedStore final : public limit_count::CountStore {
 public:
  net::Task<core::Result<limit_count::Decision>> incoming(std::string key, int64_t count,
                                                          std::chrono::seconds window,
                                                          int64_t cost) override {
    keys.push_back(key);
    if (fail) {
      co_return core::Error{core::ErrorKind::kUnavailable, core::ErrorSource::kUpstream, false,
                            "redis 127.0.0.1:1: connection refused"};
    }
    co_return limit_count::Decision{true, count - 1, 12.345};
  }
  static inline std::vector<std::string> keys;
  static inline bool fail = false;
};

core::Result<std::unique_ptr<limit_count::CountStore>> make_scripted(const json::object&) {
  return std::unique_ptr<limit_count::CountStore>(std::make_unique<ScriptedStore>());
}

TEST(PluginLimitCountTest, redis_policies_use_the_registered_store) {
  auto previous = limit_count::redis_count_store_factory();
  limit_count::register_redis_count_store_factory(nullptr);
  EXPECT_EQ(conf_error("limit-count", R"({"count": 1, "time_window": 60, "policy": "redis",
                                          "redis_host": "127.0.0.1"})"),
            "policy \"redis\" is not available in this build");

  limit_count::register_redis_count_store_factory(&make_scripted);
  auto p = make(R"({"count": 5, "time_window": 60, "policy": "redis",
                    "redis_host": "127.0.0.1"})");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->is_async(Phase::kAccess));
  boost::asio::io_context io;
  FakePluginContext ctx;
  ctx.remote_addr_ = "1.2.3.4";
  ctx.vars["remote_addr"] = "1.2.3.4";
  Step step;
  boost::asio::co_spawn(io, p->access_async(ctx), [&](std::exception_ptr, Step s) { step = s; });
  io.run();
  EXPECT_FALSE(step.has_value());
  ASSERT_EQ(ScriptedStore::keys.size(), 1u);
  EXPECT_EQ(ScriptedStore::keys[0].rfind("/apisix/routes/1:", 0), 0u) << ScriptedStore::keys[0];
  EXPECT_TRUE(ScriptedStore::keys[0].ends_with(":1.2.3.4"));
  p->header_filter(ctx);
  EXPECT_EQ(ctx.response_header("X-RateLimit-Remaining").value_or(""), "4");
  EXPECT_EQ(ctx.response_header("X-RateLimit-Reset").value_or(""), "12.34");

  // A store failure: 500 {"error_msg":"failed to limit count"}.
  ScriptedStore::fail = true;
  io.restart();
  FakePluginContext ctx2;
  boost::asio::co_spawn(io, p->access_async(ctx2), [&](std::exception_ptr, Step s) { step = s; });
  io.run();
  ASSERT_TRUE(step.has_value());
  EXPECT_EQ(step->status, 500);
  EXPECT_EQ(step->body, "{\"error_msg\":\"failed to limit count\"}\n");
  ScriptedStore::fail = false;
  limit_count::register_redis_count_store_factory(previous);
}

TEST(PluginLimitCountTest, schema_and_create_errors_use_apisix_words) {
  const std::string prefix = "failed to check the configuration of plugin limit-count err: ";
  struct Case {
    const char* conf;
    std::string error;
  };
  const Case cases[] = {
      {R"({"count": 2, "time_window": 60})", ""},
      {R"({"count": "$http_count", "time_window": "${arg_w}"})", ""},
      {R"({})", prefix + "value should match only one schema, but matches none"},
      {R"({"count": 2})", prefix + "value should match only one schema, but matches none"},
      {R"({"count": -1, "time_window": 60})",
       prefix + "property \"count\" validation failed: value should match only one schema, "
                "but matches none"},
      {R"({"count": 2, "time_window": 60, "rejected_code": 600})",
       prefix + "property \"rejected_code\" validation failed: expected 600 to be at most 599"},
      {R"({"count": 2, "time_window": 60, "key_type": "header"})",
       prefix + "property \"key_type\" validation failed: matches none of the enum values"},
      {R"({"count": 2, "time_window": 60, "rejected_msg": ""})",
       prefix + "property \"rejected_msg\" validation failed: string too short, expected at "
                "least 1, got 0"},
      {R"({"count": 2, "time_window": 60, "policy": "redis"})",
       prefix + "then clause did not match"},
      {R"({"count": 2, "time_window": 60, "policy": "redis-cluster",
           "redis_cluster_nodes": ["127.0.0.1:5000"]})",
       prefix + "else clause did not match"},
      {R"({"rules": [{"count": 1, "time_window": 60, "key": "$a"},
                     {"count": 2, "time_window": 60, "key": "$a"}]})",
       "duplicate key '$a' in rules"},
      {R"({"rules": [{"count": 1, "time_window": 60, "key": "$a"}], "group": "g"})",
       "group and rules cannot be specified at the same time"},
      {R"({"count": 2, "time_window": 60, "policy": "redis", "redis_host": "127.0.0.1",
           "sync_interval": 0.05})",
       "sync_interval should not be smaller than 0.1"},
      {R"({"count": 2, "time_window": 60, "policy": "redis", "redis_host": "127.0.0.1",
           "sync_interval": 60})",
       "sync_interval should be smaller than time_window"},
  };
  for (const auto& c : cases) {
    if (c.error.starts_with("sync_interval")) {
      // Needs a Redis store to get past the policy check.
      auto previous = limit_count::redis_count_store_factory();
      limit_count::register_redis_count_store_factory(&make_scripted);
      EXPECT_EQ(conf_error("limit-count", c.conf), c.error) << c.conf;
      limit_count::register_redis_count_store_factory(previous);
      continue;
    }
    EXPECT_EQ(conf_error("limit-count", c.conf), c.error) << c.conf;
  }
}

TEST(PluginLimitCountTest, local_store_drops_closed_windows) {
  FakeClock clock;
  limit_count::LocalCountStore store(limit_count::LocalCountStore::Window::kFixed);
  for (int i = 0; i < 5000; ++i) {
    auto d = store.incoming_now("k" + std::to_string(i), 1, std::chrono::seconds(1), 1);
    ASSERT_TRUE(d.ok());
    EXPECT_TRUE(d->allowed);
  }
  clock.advance_ms(2000);
  for (int i = 0; i < 5000; ++i) {
    (void)store.incoming_now("n" + std::to_string(i), 1, std::chrono::seconds(1), 1);
  }
  EXPECT_LT(store.size(), 9000u);
}

}  // namespace
}  // namespace torii::plugins
