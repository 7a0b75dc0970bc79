// limit-req: resty.limit.req's leaky bucket (excess in milli-requests,
// delay = excess / rate), refusals and their bodies, nodelay, keys, rules,
// the asynchronous delay, exactness across threads, and schema / create
// errors. Cases follow t/plugin/limit-req*.t.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <thread>

#include "limit_test_support.h"

namespace torii::plugins {
namespace {

using testing::conf_error;
using testing::FakeClock;
using testing::FakePluginContext;
using testing::make_plugin;

std::shared_ptr<const Plugin> make(std::string_view conf) { return make_plugin("limit-req", conf); }

FakePluginContext context(std::string addr = "127.0.0.1",
                          std::map<std::string, std::string> vars = {}) {
  FakePluginContext ctx;
  ctx.remote_addr_ = addr;
  ctx.vars = std::move(vars);
  ctx.vars.emplace("remote_addr", addr);
  return ctx;
}

// Runs the access phase to completion; returns its Step and how long the
// coroutine waited (real time, the delay is a timer).
Step run(const Plugin& p, FakePluginContext& ctx, std::chrono::milliseconds* waited = nullptr) {
  if (!p.is_async(Phase::kAccess)) return p.access(ctx);
  boost::asio::io_context io;
  Step out;
  auto start = std::chrono::steady_clock::now();
  boost::asio::co_spawn(io, p.access_async(ctx), [&](std::exception_ptr, Step s) { out = s; });
  io.run();
  if (waited) {
    *waited = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
  }
  return out;
}

TEST(PluginLimitReqTest, registration_matches_apisix) {
  const PluginInfo* info = find_plugin("limit-req");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->priority, 1001);
  auto p = make(R"({"rate": 1, "burst": 0, "key": "remote_addr"})");
  EXPECT_EQ(p->phases(), Plugin::bit(Phase::kAccess));
  EXPECT_TRUE(p->is_async(Phase::kAccess));
  auto nodelay = make(R"({"rate": 1, "burst": 0, "key": "remote_addr", "nodelay": true})");
  EXPECT_FALSE(nodelay->is_async(Phase::kAccess));
}

TEST(PluginLimitReqTest, leaky_bucket_refuses_over_burst) {
  FakeClock clock;
  // rate 1/s, burst 1, nodelay: the 1st passes (excess 0), the 2nd is
  // within the burst (excess 1000), the 3rd is over (2000 > 1000).
  auto p = make(R"({"rate": 1, "burst": 1, "key": "remote_addr", "nodelay": true,
                    "rejected_code": 429})");
  struct Case {
    int64_t at_ms;
    int status;
  };
  const Case cases[] = {{0, 200},    {0, 200},    {0, 429},    {500, 429}, {1000, 200},
                        {1000, 429}, {3000, 200}, {3000, 200}, {3000, 429}};
  int64_t base = 1'000'000'000;
  for (const auto& c : cases) {
    clock.set_ms(base + c.at_ms);
    auto ctx = context();
    Step s = p->access(ctx);
    EXPECT_EQ(s ? s->status : 200, c.status) << "at " << c.at_ms;
    if (s) {
      EXPECT_EQ(s->body, "");
    }
  }
  // Another key has its own bucket.
  auto other = context("10.0.0.2");
  EXPECT_FALSE(p->access(other).has_value());
}

TEST(PluginLimitReqTest, rates_below_one_per_thousand_seconds_still_drain) {
  // One request an hour (0.28 milli-requests/s): resty computes in doubles,
  // so the bucket is empty again after 3600 s, not never.
  FakeClock clock;
  auto p = make(R"({"rate": 0.000277777777778, "burst": 0, "key": "remote_addr",
                    "nodelay": true})");
  const int64_t base = 1'000'000'000;
  const std::pair<int64_t, int> cases[] = {
      {0, 200}, {1'000, 503}, {3'599'000, 503}, {3'600'000, 200}, {3'601'000, 503}};
  for (const auto& [at_ms, status] : cases) {
    clock.set_ms(base + at_ms);
    auto ctx = context();
    Step s = p->access(ctx);
    EXPECT_EQ(s ? s->status : 200, status) << "at " << at_ms;
  }
}

TEST(PluginLimitReqTest, huge_rates_and_bursts_do_not_overflow) {
  FakeClock clock;
  auto fast = make(R"({"rate": 1e14, "burst": 10, "key": "remote_addr", "nodelay": true})");
  auto endless = make(R"({"rate": 1e300, "burst": 1e300, "key": "remote_addr", "nodelay": true})");
  const int64_t base = 1'000'000'000;
  for (int64_t at_ms : {0, 150, 300, 450, 600, 9'000'000}) {
    clock.set_ms(base + at_ms);
    auto a = context();
    EXPECT_FALSE(fast->access(a).has_value()) << "at " << at_ms;
    auto b = context();
    EXPECT_FALSE(endless->access(b).has_value()) << "at " << at_ms;
  }
}

TEST(PluginLimitReqTest, rejected_msg_body) {
  FakeClock clock;
  auto p = make(R"({"rate": 1, "burst": 0, "key": "remote_addr", "rejected_msg": "slow down"})");
  auto a = context();
  EXPECT_FALSE(run(*p, a).has_value());
  auto b = context();
  Step s = run(*p, b);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->status, 503);
  EXPECT_EQ(s->body, "{\"error_msg\":\"slow down\"}\n");
}

TEST(PluginLimitReqTest, requests_within_burst_are_delayed) {
  // Real clock: the delay is a real timer. rate 10/s: the 2nd request at
  // once has excess 1000 -> waits 100 ms.
  auto p = make(R"({"rate": 10, "burst": 5, "key": "remote_addr"})");
  auto a = context();
  std::chrono::milliseconds waited{0};
  EXPECT_FALSE(run(*p, a, &waited).has_value());
  EXPECT_LT(waited.count(), 50);
  auto b = context();
  EXPECT_FALSE(run(*p, b, &waited).has_value());
  EXPECT_GE(waited.count(), 80);
  EXPECT_LT(waited.count(), 1000);
}

TEST(PluginLimitReqTest, key_falls_back_to_client_address) {
  FakeClock clock;
  auto p = make(R"({"rate": 1, "burst": 0, "key": "http_x_user", "nodelay": true})");
  auto a = context("1.1.1.1", {{"http_x_user", "u"}});
  auto b = context("2.2.2.2", {{"http_x_user", "u"}});
  auto c = context("2.2.2.2");
  EXPECT_FALSE(p->access(a).has_value());
  EXPECT_TRUE(p->access(b).has_value());
  EXPECT_FALSE(p->access(c).has_value());
  auto combo = make(R"({"rate": 1, "burst": 0, "key_type": "var_combination",
                        "key": "$http_x_a-$http_x_b", "nodelay": true})");
  auto d = context("1.1.1.1", {{"http_x_a", "1"}});
  auto e = context("2.2.2.2", {{"http_x_a", "1"}});
  EXPECT_FALSE(combo->access(d).has_value());
  EXPECT_TRUE(combo->access(e).has_value());
}

TEST(PluginLimitReqTest, rules_apply_when_their_key_resolves) {
  FakeClock clock;
  auto p = make(R"({"nodelay": true, "rules": [
      {"rate": 1, "burst": 0, "key": "$http_user"},
      {"rate": "$http_rate", "burst": 0, "key": "$http_project"}]})");
  auto a = context("1.1.1.1", {{"http_user", "u"}});
  EXPECT_FALSE(p->access(a).has_value());
  auto b = context("1.1.1.1", {{"http_user", "u"}});
  EXPECT_EQ(p->access(b)->status, 503);
  auto c = context("1.1.1.1", {{"http_project", "p"}, {"http_rate", "2"}});
  EXPECT_FALSE(p->access(c).has_value());
  // No rule applies: 500 (APISIX), or through with allow_degradation.
  auto d = context("1.1.1.1");
  EXPECT_EQ(p->access(d)->status, 500);
}

TEST(PluginLimitReqTest, one_bucket_across_threads) {
  FakeClock clock;  // frozen: nothing drains
  auto p = make(R"({"rate": 1, "burst": 999, "key": "remote_addr", "nodelay": true})");
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (unsigned w = 0; w < 8; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < 500; ++i) {
        auto ctx = context();
        ctx.worker_ = w;
        if (!p->access(ctx)) allowed.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 1000);  // excess 0, 1000, ..., 999000
}

TEST(PluginLimitReqTest, schema_and_create_errors_use_apisix_words) {
  const std::string prefix = "failed to check the configuration of plugin limit-req err: ";
  struct Case {
    const char* conf;
    std::string error;
  };
  const Case cases[] = {
      {R"({"rate": 1, "burst": 0, "key": "remote_addr"})", ""},
      {R"({"rate": 0.5, "burst": 0.5, "key": "remote_addr"})", ""},
      {R"({"burst": 0, "key": "remote_addr"})",
       prefix + "value should match only one schema, but matches none"},
      {R"({"rate": 0, "burst": 0, "key": "remote_addr"})",
       prefix + "property \"rate\" validation failed: value should match only one schema, but "
                "matches none"},
      {R"({"rate": 1, "burst": -1, "key": "remote_addr"})",
       prefix + "property \"burst\" validation failed: value should match only one schema, but "
                "matches none"},
      {R"({"rate": 1, "burst": 0, "key": "remote_addr", "key_type": "constant"})",
       prefix + "property \"key_type\" validation failed: matches none of the enum values"},
      {R"({"rate": 1, "burst": 0, "key": "remote_addr", "rejected_code": 199})",
       prefix + "property \"rejected_code\" validation failed: expected 199 to be at least 200"},
      {R"({"rate": 1, "burst": 0, "key": "remote_addr", "policy": "redis"})",
       prefix + "then clause did not match"},
      {R"({"rate": 1, "burst": 0, "key": "remote_addr", "policy": "redis",
           "redis_host": "127.0.0.1"})",
       "policy \"redis\" is not supported by torii yet, use policy \"local\""},
      {R"({"rules": [{"rate": 1, "burst": 0, "key": "$a"}, {"rate": 1, "burst": 0, "key": "$a"}]})",
       "duplicate key '$a' in rules"},
  };
  for (const auto& c : cases) EXPECT_EQ(conf_error("limit-req", c.conf), c.error) << c.conf;
}

}  // namespace
}  // namespace torii::plugins
