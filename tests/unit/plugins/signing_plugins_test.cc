// anti-tamper and anti-replay against a FakePluginContext: registration
// (priorities, auth type, encrypted secret), the order of checks (no body
// byte read before the signature holds), the error reply and its counter.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <ctime>
#include <string>
#include <vector>

#include "fake_plugin_context.h"
#include "limit_test_support.h"
#include "observability/metrics.h"
#include "plugins/consumer.h"
#include "plugins/plugin_registry.h"
#include "plugins/signed_request.h"
#include "plugins/signing_reject.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;
using testing::FakePluginContext;
using testing::make_plugin;

constexpr std::string_view kSecret = "jack-secret-0123456789";

Step run_rewrite(const Plugin& p, PluginContext& ctx) {
  if (!p.is_async(Phase::kRewrite)) return p.rewrite(ctx);
  boost::asio::io_context io;
  Step step;
  boost::asio::co_spawn(io, p.rewrite_async(ctx), [&](std::exception_ptr e, Step s) {
    if (e) std::rethrow_exception(e);
    step = std::move(s);
  });
  io.run();
  return step;
}

std::string header(const Exit& e, std::string_view name) {
  for (const auto& [n, v] : e.headers) {
    if (n == name) return v;
  }
  return "";
}

// A context with jack's credential and a request signed over `body`.
void sign(FakePluginContext& ctx, const std::string& body, const std::string& secret = std::string(kSecret)) {
  auto jack = std::make_shared<Consumer>();
  jack->username = "jack";
  if (ctx.directory->empty()) {
    ctx.directory->add_consumer(jack);
    Credential cred{jack, "", json::parse(R"({"key":"jack-key","secret":"jack-secret-0123456789"})")
                                   .as_object(),
                    nullptr};
    ASSERT_TRUE(ctx.directory->add_credential("anti-tamper", "jack-key", std::move(cred)));
  }
  ctx.method_token_ = "POST";
  ctx.request_uri_ = "/orders?b=2&a=1";
  ctx.body_ = body;
  const std::string ts = std::to_string(std::time(nullptr));
  const std::string nonce = "0123456789abcdef0123";
  const std::string digest = signing::sha256_hex(body);
  const std::vector<std::string_view> names = {"content-type", "host"};
  const std::vector<std::string> values = {"application/json", "api.example.com"};
  signing::CanonicalRequest r{ts, nonce, "POST", ctx.request_uri_, digest, names, values};
  ctx.request_headers_ = {
      {"Host", "api.example.com"},
      {"Content-Type", "application/json"},
      {"Content-Length", std::to_string(body.size())},
      {"X-Torii-Key", "jack-key"},
      {"X-Torii-Timestamp", ts},
      {"X-Torii-Nonce", nonce},
      {"X-Torii-Content-SHA256", digest},
      {"X-Torii-Signed-Headers", "host;content-type"},
      {"X-Torii-Signature", signing::hmac_sha256_hex(secret, signing::canonical_string(r))},
  };
}

TEST(SigningPlugins, registrations) {
  const PluginInfo* tamper = find_plugin("anti-tamper");
  const PluginInfo* replay = find_plugin("anti-replay");
  ASSERT_TRUE(tamper && replay);
  EXPECT_TRUE(tamper->is_auth);
  EXPECT_EQ(tamper->consumer_key_field, "key");
  EXPECT_EQ(tamper->encrypt_fields, std::vector<std::string>{"secret"});
  EXPECT_FALSE(replay->is_auth);
  // anti-replay runs after every auth plugin of the chain (same phase).
  for (const PluginInfo* p : all_plugins()) {
    if (p->is_auth) {
      EXPECT_GT(p->priority, replay->priority) << p->name;
    }
  }
}

TEST(SigningPlugins, anti_tamper_checks_the_signature_before_reading_the_body) {
  auto p = make_plugin("anti-tamper", R"({"max_body_bytes": 100})");
  FakePluginContext ok;
  sign(ok, "{\"amount\":100}");
  EXPECT_FALSE(run_rewrite(*p, ok));
  ASSERT_TRUE(ok.attached);
  EXPECT_EQ(ok.attached->username, "jack");
  EXPECT_EQ(ok.body_reads, 1);

  FakePluginContext forged;
  sign(forged, "{\"amount\":100}", "not-the-secret-at-all");
  auto r = run_rewrite(*p, forged);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(header(*r, "X-Torii-Error-Code"), "TORII_SIGNATURE_MISMATCH");
  EXPECT_EQ(forged.body_reads, 0);
  EXPECT_FALSE(forged.attached);

  FakePluginContext tampered;
  sign(tampered, "{\"amount\":100}");
  tampered.body_ = "{\"amount\":999}";
  r = run_rewrite(*p, tampered);
  ASSERT_TRUE(r);
  EXPECT_EQ(header(*r, "X-Torii-Error-Code"), "TORII_BODY_DIGEST_MISMATCH");
  EXPECT_FALSE(tampered.attached);

  FakePluginContext big;
  sign(big, std::string(101, 'x'));
  r = run_rewrite(*p, big);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(header(*r, "X-Torii-Error-Code"), "TORII_BODY_TOO_LARGE");

  FakePluginContext gone;
  sign(gone, "{}");
  gone.body_error_ = core::Error{core::ErrorKind::kTimeout, core::ErrorSource::kDownstream, false,
                                 "client_body_timeout"};
  r = run_rewrite(*p, gone);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_FALSE(gone.attached);
}

TEST(SigningPlugins, anti_replay_scopes_nonces_by_the_attached_consumer) {
  PluginScope scope;
  scope.owner_key = "/apisix/routes/unit-replay";
  auto p = make_plugin("anti-replay", "{}", scope);
  ASSERT_FALSE(p->is_async(Phase::kRewrite));
  FakePluginContext ctx;
  ctx.request_headers_ = {{"X-Torii-Timestamp", std::to_string(std::time(nullptr))},
                          {"X-Torii-Nonce", "nonce-0123456789abc"}};
  auto jack = std::make_shared<Consumer>();
  jack->username = "jack";
  ctx.attached = jack;
  EXPECT_FALSE(run_rewrite(*p, ctx));  // no X-Torii-Key needed with a consumer
  auto again = run_rewrite(*p, ctx);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 403);
  EXPECT_EQ(again->body,
            "{\"error_code\":\"TORII_NONCE_REPLAYED\",\"message\":\"nonce has already been used\"}\n");
  auto rose = std::make_shared<Consumer>();
  rose->username = "rose";
  ctx.attached = rose;
  EXPECT_FALSE(run_rewrite(*p, ctx));
}

TEST(SigningPlugins, redis_policy_needs_a_host_and_runs_asynchronously) {
  EXPECT_EQ(testing::conf_error("anti-replay", R"({"policy": "redis"})"),
            "failed to check the configuration of plugin anti-replay err: then clause did not match");
  auto p = make_plugin("anti-replay", R"({"policy": "redis", "redis_host": "127.0.0.1"})");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->is_async(Phase::kRewrite));
}

TEST(SigningPlugins, refusals_have_one_shape_and_are_counted) {
  const signing::Rejection r{signing::Reject::kTimestampExpired, "request timestamp outside allowed skew of 300s"};
  Exit e = signing::reject_reply(r, 1700000000);
  EXPECT_EQ(e.status, 401);
  EXPECT_EQ(e.content_type, "application/json");
  EXPECT_EQ(e.body,
            "{\"error_code\":\"TORII_TIMESTAMP_EXPIRED\",\"message\":\"request timestamp outside "
            "allowed skew of 300s\"}\n");
  EXPECT_EQ(header(e, "X-Torii-Error-Code"), "TORII_TIMESTAMP_EXPIRED");
  EXPECT_EQ(header(e, "X-Torii-Server-Time"), "1700000000");
  EXPECT_EQ(signing::status_of(signing::Reject::kNonceReplayed), 403);
  EXPECT_EQ(signing::status_of(signing::Reject::kAuthMalformed), 400);
  EXPECT_EQ(signing::status_of(signing::Reject::kBodyTooLarge), 413);
  EXPECT_EQ(signing::status_of(signing::Reject::kNonceStoreUnavailable), 503);

  auto& counter = observability::MetricsRegistry::global().counter(
      "auth_reject_total", "Requests refused by anti-tamper and anti-replay, by reason",
      {"plugin", "reason", "route"});
  const std::string_view labels[] = {"anti-replay", "timestamp_expired", "unit-route"};
  const uint64_t before = counter.value(labels);
  FakePluginContext ctx;
  ctx.route_id_ = "unit-route";
  signing::refuse(ctx, "anti-replay", r, "jack", "nonce-0123456789abc");
  EXPECT_EQ(counter.value(labels), before + 1);
}

}  // namespace
}  // namespace torii::plugins
