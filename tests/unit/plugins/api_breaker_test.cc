// api-breaker: breaks after `failures` unhealthy upstream statuses, for
// 2, 4, 8 ... seconds capped at max_breaker_sec; healthy streaks reset it;
// the break answer (code, body, headers with $vars); state per host + uri;
// schema errors. Cases follow t/plugin/api-breaker.t.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "limit_test_support.h"

namespace torii::plugins {
namespace {

using testing::conf_error;
using testing::FakeClock;
using testing::FakePluginContext;
using testing::make_plugin;

std::shared_ptr<const Plugin> make(std::string_view conf) {
  return make_plugin("api-breaker", conf);
}

// A request to `uri`: its access status (0 when it went on), and when it
// went on, the upstream answering `upstream_status` (log phase).
int exchange(const Plugin& p, std::optional<int> upstream_status, std::string uri = "/hello") {
  FakePluginContext ctx;
  ctx.uri_ = uri;
  Step s = p.access(ctx);
  if (s) {
    p.log(ctx);  // no upstream_status: counts for nothing
    return s->status;
  }
  if (upstream_status) ctx.vars["upstream_status"] = std::to_string(*upstream_status);
  p.log(ctx);
  return 0;
}

TEST(PluginApiBreakerTest, registration_matches_apisix) {
  const PluginInfo* info = find_plugin("api-breaker");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->priority, 1005);
  auto p = make(R"({"break_response_code": 599})");
  EXPECT_EQ(p->phases(), Plugin::bit(Phase::kAccess) | Plugin::bit(Phase::kLog));
}

TEST(PluginApiBreakerTest, breaks_after_failures_and_doubles) {
  FakeClock clock;
  clock.set_ms(1'000'000'000);
  auto p = make(R"({"break_response_code": 599, "unhealthy": {"http_statuses": [500, 503],
                    "failures": 3}, "max_breaker_sec": 10})");
  // The break lasts 2^ceil(failures / 3) s from the last multiple of 3
  // failures (APISIX's arithmetic, so one failure after a break ends
  // re-opens it at once), capped at 10 s, and is forgotten 10 s after it
  // started (the record's ttl).
  struct Step_ {
    int at_s;
    int upstream;  // what the upstream answers if reached
    int expect;    // 0: reached the upstream; else the break code
  };
  const Step_ steps[] = {
      {0, 500, 0},    {0, 503, 0},   {0, 500, 0},                 // 3 failures: break, 2 s
      {0, 200, 599},  {2, 200, 599},                              // last + 2 >= now
      {3, 500, 0},                                                // over; 4th failure
      {3, 200, 599},                                              // ceil(4/3) = 2: 4 s from t=0
      {5, 500, 0},    {5, 503, 0},                                // 6th: break restarts at 5, 4 s
      {5, 200, 599},  {9, 200, 599}, {10, 200, 0}, {10, 500, 0},  // 7th: ceil = 3, 8 s from 5
      {13, 200, 599}, {14, 500, 0},  {14, 500, 0},                // 9th: restarts at 14, 8 s
      {22, 200, 599}, {23, 500, 0},                               // 10th: 16 s capped at 10
      {23, 200, 599}, {24, 200, 0},                               // the record expired
  };
  for (const auto& s : steps) {
    clock.set_ms(1'000'000'000 + int64_t{s.at_s} * 1000);
    EXPECT_EQ(exchange(*p, s.upstream), s.expect) << "at " << s.at_s << " s";
  }
}

TEST(PluginApiBreakerTest, a_capped_break_lasts_max_breaker_sec_to_the_millisecond) {
  // APISIX's lasttime record lives max_breaker_sec from the failure, to the
  // millisecond: a failure at ...3.900 s keeps a 3 s break until ...6.900,
  // not ...6.000.
  FakeClock clock;
  auto p = make(R"({"break_response_code": 599, "unhealthy": {"http_statuses": [500],
                    "failures": 1}, "max_breaker_sec": 3})");
  const int64_t t0 = 1'000'000'000'000;
  clock.set_ms(t0 + 900);
  EXPECT_EQ(exchange(*p, 500), 0);    // 1st failure: 2 s
  clock.set_ms(t0 + 3900);
  EXPECT_EQ(exchange(*p, 500), 0);    // break over; 2nd failure: 4 s capped at 3
  clock.set_ms(t0 + 6500);
  EXPECT_EQ(exchange(*p, 200), 599);  // ngx.time() 6 <= 3 + 3, record alive
  clock.set_ms(t0 + 6900);
  EXPECT_EQ(exchange(*p, 200), 0);    // the record expired
}

TEST(PluginApiBreakerTest, healthy_streak_resets) {
  FakeClock clock;
  auto p = make(R"({"break_response_code": 502, "healthy": {"http_statuses": [200],
                    "successes": 2}})");
  for (int i = 0; i < 2; ++i) EXPECT_EQ(exchange(*p, 500), 0);
  EXPECT_EQ(exchange(*p, 200), 0);
  EXPECT_EQ(exchange(*p, 500), 0);  // resets the streak, 3rd failure: break
  EXPECT_EQ(exchange(*p, 200), 502);
  clock.advance_ms(3000);
  EXPECT_EQ(exchange(*p, 200), 0);
  EXPECT_EQ(exchange(*p, 200), 0);  // 2 successes: everything forgotten
  EXPECT_EQ(exchange(*p, 500), 0);
  EXPECT_EQ(exchange(*p, 500), 0);
  EXPECT_EQ(exchange(*p, 200), 0);  // only 2 failures since the reset
  // Statuses in neither list change nothing.
  EXPECT_EQ(exchange(*p, 404), 0);
}

TEST(PluginApiBreakerTest, state_is_per_host_and_uri) {
  FakeClock clock;
  auto p = make(R"({"break_response_code": 599, "unhealthy": {"failures": 1}})");
  EXPECT_EQ(exchange(*p, 500, "/a"), 0);
  EXPECT_EQ(exchange(*p, 200, "/a"), 599);
  EXPECT_EQ(exchange(*p, 200, "/b"), 0);
  // A request that never reached an upstream counts for nothing.
  EXPECT_EQ(exchange(*p, std::nullopt, "/c"), 0);
  EXPECT_EQ(exchange(*p, 200, "/c"), 0);
}

TEST(PluginApiBreakerTest, break_answer_has_body_and_headers) {
  FakeClock clock;
  auto p = make(R"({"break_response_code": 599, "break_response_body": "breaker opened",
                    "break_response_headers": [{"key": "X-Breaker", "value": "on $uri"},
                                               {"key": "Retry-After", "value": "2"}],
                    "unhealthy": {"failures": 1}})");
  exchange(*p, 500);
  FakePluginContext ctx;
  ctx.uri_ = "/hello";
  ctx.vars["uri"] = "/hello";
  Step s = p->access(ctx);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->status, 599);
  EXPECT_EQ(s->body, "breaker opened");
  ASSERT_EQ(s->headers.size(), 2u);
  EXPECT_EQ(s->headers[0], (std::pair<std::string, std::string>{"X-Breaker", "on /hello"}));
  EXPECT_EQ(s->headers[1], (std::pair<std::string, std::string>{"Retry-After", "2"}));
  // Without a body the headers are not sent (APISIX).
  auto bare = make(R"({"break_response_code": 503, "unhealthy": {"failures": 1},
                       "break_response_headers": [{"key": "X-Breaker", "value": "on"}]})");
  exchange(*bare, 500);
  FakePluginContext ctx2;
  ctx2.uri_ = "/hello";
  Step s2 = bare->access(ctx2);
  ASSERT_TRUE(s2.has_value());
  EXPECT_EQ(s2->status, 503);
  EXPECT_EQ(s2->body, "");
  EXPECT_TRUE(s2->headers.empty());
}

TEST(PluginApiBreakerTest, schema_errors_use_apisix_words) {
  const std::string prefix = "failed to check the configuration of plugin api-breaker err: ";
  struct Case {
    const char* conf;
    std::string error;
  };
  const Case cases[] = {
      {R"({"break_response_code": 502})", ""},
      {R"({})", prefix + "property \"break_response_code\" is required"},
      {R"({"break_response_code": 199})",
       prefix +
           "property \"break_response_code\" validation failed: expected 199 to be at least 200"},
      {R"({"break_response_code": 502, "max_breaker_sec": 2})",
       prefix + "property \"max_breaker_sec\" validation failed: expected 2 to be at least 3"},
      {R"({"break_response_code": 502, "unhealthy": {"http_statuses": [500, 500]}})",
       prefix + "property \"unhealthy\" validation failed: property \"http_statuses\" validation "
                "failed: expected unique items but items 1 and 2 are equal"},
      {R"({"break_response_code": 502, "unhealthy": {"http_statuses": [404]}})",
       prefix + "property \"unhealthy\" validation failed: property \"http_statuses\" validation "
                "failed: failed to validate item 1: expected 404 to be at least 500"},
      {R"({"break_response_code": 502, "healthy": {"successes": 0}})",
       prefix + "property \"healthy\" validation failed: property \"successes\" validation "
                "failed: expected 0 to be at least 1"},
      {R"({"break_response_code": 502, "break_response_headers": [{"key": "X"}]})",
       prefix + "property \"break_response_headers\" validation failed: failed to validate item "
                "1: property \"value\" is required"},
  };
  for (const auto& c : cases) EXPECT_EQ(conf_error("api-breaker", c.conf), c.error) << c.conf;
}

}  // namespace
}  // namespace torii::plugins
