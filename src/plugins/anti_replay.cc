// anti-replay (priority 2490; a Torii plugin, not in APISIX): proves a
// request is fresh and unique. It accepts a request once: its timestamp
// must be within allowed_clock_skew of the gateway's clock and its nonce
// must not have been seen for the same key within that window.
//
// Phase: rewrite, after every auth plugin (their priorities are 2500 and
// up, anti-tamper's 2535), so with anti-tamper only correctly signed
// requests reach the nonce store: a client that cannot sign cannot fill it.
// Alone (or after another auth plugin) the timestamp and nonce are NOT
// signed: anyone can send a fresh pair, and a captured request replays
// with a new nonce. The docs say so.
//
// Scope: the nonce key is torii:nonce:{key}:{nonce}, where key is the
// attached consumer's name, else the X-Torii-Key header. It is remembered
// for ts + skew - now + 1 seconds: as long as the timestamp is accepted.
//
// Stores (nonce_store.h, nonce_store_redis.h):
//   policy "local"  one table for the whole node (every worker, every
//                   route: a nonce spent on one route is a replay on
//                   another), at most local_max_entries nonces recorded
//                   through this conf; full: 503, never eviction.
//   policy "redis"  the local table first (a hit is a replay without a
//                   round trip), then SET NX EX in Redis, shared by every
//                   node; the answer is recorded locally too. Redis
//                   unreachable: on_store_error "reject" answers 503,
//                   "allow" falls back to the local table (logged and
//                   counted in anti_replay_store_errors_total).
// Refusals go through signing_reject.h (JSON error, X-Torii-Error-Code,
// auth_reject_total{plugin="anti-replay"}).
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <ctime>
#include <memory>
#include <string>

#include "plugins/consumer.h"
#include "plugins/nonce_store.h"
#include "plugins/nonce_store_redis.h"
#include "plugins/plugin.h"
#include "plugins/plugin_registry.h"
#include "plugins/signed_request.h"
#include "plugins/signing_reject.h"
#include "observability/metrics.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;
using signing::Reject;
using signing::Rejection;

constexpr std::string_view kName = "anti-replay";
constexpr std::string_view kKeyPrefix = "torii:nonce:";

constexpr std::string_view kSchema = R"json({
  "type": "object",
  "properties": {
    "allowed_clock_skew": {"type": "integer", "minimum": 1, "maximum": 900, "default": 300},
    "policy": {"type": "string", "enum": ["local", "redis"], "default": "local"},
    "local_max_entries": {"type": "integer", "minimum": 1, "maximum": 100000000, "default": 100000},
    "on_store_error": {"type": "string", "enum": ["reject", "allow"], "default": "reject"},
    "redis_host": {"type": "string", "minLength": 2},
    "redis_port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 6379},
    "redis_username": {"type": "string", "minLength": 1},
    "redis_password": {"type": "string", "minLength": 0},
    "redis_database": {"type": "integer", "minimum": 0, "default": 0},
    "redis_timeout": {"type": "integer", "minimum": 1, "maximum": 60000, "default": 100}
  },
  "if": {"properties": {"policy": {"enum": ["redis"]}}, "required": ["policy"]},
  "then": {"required": ["redis_host"]},
  "additionalProperties": false
})json";

const Rejection kReplayed{Reject::kNonceReplayed, "nonce has already been used"};
const Rejection kUnavailable{Reject::kNonceStoreUnavailable, "replay protection store unavailable"};

observability::Counter& store_error_counter() {
  static observability::Counter& c = observability::MetricsRegistry::global().counter(
      "anti_replay_store_errors_total",
      "anti-replay requests that met a Redis error, by what on_store_error did",
      {"route", "action"});
  return c;
}

struct AntiReplayConfig {
  int64_t allowed_clock_skew = 300;
  size_t local_max_entries = 100000;
  bool allow_on_store_error = false;
};

// What the header checks give the store step.
struct Fresh {
  std::string store_key;  // torii:nonce:{key}:{nonce}
  int64_t ttl = 1;
  std::string_view key;
  std::string_view nonce;
};

class AntiReplay final : public Plugin {
 public:
  AntiReplay(AntiReplayConfig conf, std::shared_ptr<nonce::NonceQuota> quota,
             std::unique_ptr<nonce::RedisNonceStore> redis)
      : conf_(conf), quota_(std::move(quota)), redis_(std::move(redis)) {}

  uint8_t phases() const override { return bit(Phase::kRewrite); }
  bool is_async(Phase p) const override { return p == Phase::kRewrite && redis_ != nullptr; }

  // policy "local"
  Step rewrite(PluginContext& ctx) const override {
    Fresh f;
    if (auto refused = check_headers(ctx, f)) return refused;
    return local_only(ctx, f);
  }

  // policy "redis"
  net::Task<Step> rewrite_async(PluginContext& ctx) const override {
    Fresh f;
    Step refused = check_headers(ctx, f);
    if (refused) co_return refused;
    if (local_.contains(f.store_key)) co_return signing::refuse(ctx, kName, kReplayed, f.key, f.nonce);
    auto task = redis_->insert(f.store_key, f.ttl);
    core::Result<bool> first_use = co_await std::move(task);
    if (first_use.ok()) {
      local_.insert(f.store_key, f.ttl, quota_);  // a cache: full only means no shortcut
      if (*first_use) co_return kContinue;
      co_return signing::refuse(ctx, kName, kReplayed, f.key, f.nonce);
    }
    const std::string_view action = conf_.allow_on_store_error ? "allowed" : "rejected";
    const std::string_view labels[] = {ctx.route_id(), action};
    store_error_counter().inc(ctx.worker(), labels);
    spdlog::warn("anti-replay: nonce store error, request {} (on_store_error): {}", action,
                 first_use.error().message);
    if (!conf_.allow_on_store_error) co_return signing::refuse(ctx, kName, kUnavailable, f.key, f.nonce);
    co_return local_only(ctx, f);
  }

 private:
  // Key, timestamp window and nonce syntax. An Exit when refused, else `f`
  // is filled.
  Step check_headers(PluginContext& ctx, Fresh& f) const {
    std::string_view key;
    if (const Consumer* c = ctx.consumer()) {
      key = c->username;
    } else {
      const auto header = ctx.request_header(signing::kKeyHeader);
      if (auto r = signing::check_key(header)) return signing::refuse(ctx, kName, *r, {}, {});
      key = *header;
    }
    int64_t ts = 0;
    if (auto r = signing::check_timestamp(ctx.request_header(signing::kTimestampHeader), ts)) {
      return signing::refuse(ctx, kName, *r, key, {});
    }
    const auto nonce = ctx.request_header(signing::kNonceHeader);
    if (auto r = signing::check_nonce(nonce)) return signing::refuse(ctx, kName, *r, key, {});
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    if (!signing::within_skew(ts, now, conf_.allowed_clock_skew)) {
      const Rejection r{Reject::kTimestampExpired, "request timestamp outside allowed skew of " +
                                                       std::to_string(conf_.allowed_clock_skew) +
                                                       "s"};
      return signing::refuse(ctx, kName, r, key, *nonce, now);
    }
    f.key = key;
    f.nonce = *nonce;
    f.ttl = signing::nonce_ttl(ts, now, conf_.allowed_clock_skew);
    f.store_key.reserve(kKeyPrefix.size() + key.size() + 1 + nonce->size());
    f.store_key.append(kKeyPrefix).append(key).append(":").append(*nonce);
    return kContinue;
  }

  Step local_only(PluginContext& ctx, const Fresh& f) const {
    switch (local_.insert(f.store_key, f.ttl, quota_)) {
      case nonce::Outcome::kFresh:
        return kContinue;
      case nonce::Outcome::kReplayed:
        return signing::refuse(ctx, kName, kReplayed, f.key, f.nonce);
      case nonce::Outcome::kFull:
        break;
    }
    spdlog::warn("anti-replay: local nonce store full ({} entries): raise local_max_entries",
                 quota_->max_entries());
    return signing::refuse(ctx, kName, kUnavailable, f.key, f.nonce);
  }

  AntiReplayConfig conf_;
  // The node's one table (a nonce spent on any route is spent here) and
  // this conf's share of it.
  nonce::LocalNonceStore& local_ = nonce::node_store();
  std::shared_ptr<nonce::NonceQuota> quota_;
  std::unique_ptr<nonce::RedisNonceStore> redis_;  // null: policy "local"
};

int64_t int_conf(const json::object& conf, std::string_view key, int64_t fallback) {
  const auto* v = conf.if_contains(key);
  return v && v->is_number() ? static_cast<int64_t>(v->to_number<double>()) : fallback;
}

std::string string_conf(const json::object& conf, std::string_view key, std::string fallback) {
  const auto* v = conf.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : fallback;
}

core::Result<std::shared_ptr<const Plugin>> create(const json::object& conf,
                                                   const PluginScope& scope) {
  AntiReplayConfig c;
  c.allowed_clock_skew = int_conf(conf, "allowed_clock_skew", c.allowed_clock_skew);
  c.local_max_entries = static_cast<size_t>(
      int_conf(conf, "local_max_entries", static_cast<int64_t>(c.local_max_entries)));
  c.allow_on_store_error = string_conf(conf, "on_store_error", "reject") == "allow";
  std::unique_ptr<nonce::RedisNonceStore> redis;
  if (string_conf(conf, "policy", "local") == "redis") {
    auto options = nonce::redis_options_from_conf(conf);
    if (!options) return options.error();
    redis = std::make_unique<nonce::RedisNonceStore>(std::move(*options));
  }
  auto quota = nonce::quota_for(scope.owner_key, c.local_max_entries);
  return std::shared_ptr<const Plugin>(
      std::make_shared<AntiReplay>(c, std::move(quota), std::move(redis)));
}

PluginInfo make_info() {
  PluginInfo info;
  info.name = std::string(kName);
  // Below every auth plugin (key-auth 2500 is the lowest), above
  // consumer-restriction (2400): runs once the request is authenticated.
  info.priority = 2490;
  info.schema = json::parse(kSchema);
  info.create = create;
  return info;
}

const PluginRegistration kRegistration{make_info()};

}  // namespace
}  // namespace torii::plugins
