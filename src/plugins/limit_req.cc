// limit-req (priority 1001): request rate limiting with nginx's leaky
// bucket, exactly as resty.limit.req computes it (APISIX's limit-req).
//
// Phase: access. Per key, `excess` (in milli-requests) drains at `rate`
// requests per second and each request adds one: excess = max(excess -
// rate * elapsed + 1, 0). Over `burst` the request is refused with
// `rejected_code` (503; {"error_msg": rejected_msg} when set) and leaves the
// bucket as it was; otherwise it is delayed by excess / rate seconds (when
// that is at least 1 ms) unless `nodelay`. The delay is a timer on the
// worker's executor: the worker keeps serving other requests meanwhile.
// With `rules`, every rule whose key template resolves is applied in order.
//
// State: one table per instance (a new conf starts empty), shared by every
// worker of the node (limits::ShardedTable), so the rate is exact across
// workers. policy "redis" / "redis-cluster" are accepted by the schema (as
// in APISIX) but refused at create: Torii has no Redis leaky bucket yet.
//
// Security: the key is what the conf names; a header key is chosen by the
// client. A nil key falls back to the client address.
#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>

#include <spdlog/spdlog.h>
#include <chrono>
#include <cmath>

#include "core/config_duration.h"
#include "core/saturate.h"
#include "plugins/limit_key.h"
#include "plugins/limit_redis_schema.h"
#include "plugins/limit_shards.h"
#include "plugins/plugin.h"
#include "plugins/plugin_registry.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;

// ---- config ----------------------------------------------------------------

struct RuleConf {
  limits::NumberSpec rate;      // requests per second
  limits::NumberSpec burst;     // requests
  limits::LimitKey key;         // plain conf
  limits::VarTemplate key_tpl;  // `rules` entry
};

struct Config {
  std::vector<RuleConf> rules;
  bool has_rules = false;
  int rejected_code = 503;
  std::optional<std::string> rejected_msg;
  bool nodelay = false;
  bool allow_degradation = false;
};

// ---- schema (apisix/plugins/limit-req.lua, APISIX 3.18) ----------------------

json::value make_schema() {
  json::value v = json::parse(R"json({
    "type": "object",
    "properties": {
      "rate": {"oneOf": [{"type": "number", "exclusiveMinimum": 0}, {"type": "string"}]},
      "burst": {"oneOf": [{"type": "number", "minimum": 0}, {"type": "string"}]},
      "key": {"type": "string"},
      "key_type": {"type": "string", "enum": ["var", "var_combination"], "default": "var"},
      "rules": {
        "type": "array",
        "items": {
          "type": "object",
          "properties": {
            "rate": {"oneOf": [{"type": "number", "exclusiveMinimum": 0}, {"type": "string"}]},
            "burst": {"oneOf": [{"type": "number", "minimum": 0}, {"type": "string"}]},
            "key": {"type": "string"}
          },
          "required": ["rate", "burst", "key"]
        }
      },
      "policy": {"type": "string", "enum": ["redis", "redis-cluster", "local"], "default": "local"},
      "rejected_code": {"type": "integer", "minimum": 200, "maximum": 599, "default": 503},
      "rejected_msg": {"type": "string", "minLength": 1},
      "nodelay": {"type": "boolean", "default": false},
      "allow_degradation": {"type": "boolean", "default": false}
    },
    "oneOf": [{"required": ["rate", "burst", "key"]}, {"required": ["rules"]}]
  })json");
  limits::add_redis_policy_branches(v.as_object(), /*sentinel=*/false);
  return v;
}

// ---- the bucket -------------------------------------------------------------------

struct Bucket {
  // Milli-requests, whole (resty keeps it in an unsigned long), but held
  // in a double: with a burst of 1e300 it does not fit an integer.
  double excess = 0;
  int64_t last_ms = 0;
  int64_t drained_ms = 0;  // from here on the entry is the same as no entry
  bool expired(int64_t now) const { return now >= drained_ms; }
};

class LimitReq final : public Plugin {
 public:
  explicit LimitReq(Config conf) : conf_(std::move(conf)) {}

  uint8_t phases() const override { return bit(Phase::kAccess); }
  bool is_async(Phase p) const override { return p == Phase::kAccess && !conf_.nodelay; }

  Step access(PluginContext& ctx) const override {
    double delay = 0;
    return decide(ctx, delay);
  }

  net::Task<Step> access_async(PluginContext& ctx) const override {
    double delay = 0;
    if (auto exit = decide(ctx, delay)) co_return exit;
    if (delay >= 0.001) {
      net::Timer timer(co_await boost::asio::this_coro::executor);
      timer.expires_after(core::duration_from_seconds(delay));
      co_await timer.async_wait(net::kNoThrow);
    }
    co_return kContinue;
  }

  // Tests.
  size_t live_keys() const { return table_.size(); }

 private:
  // Applies every rule; `delay` gets the sum of their delays (APISIX sleeps
  // after each rule in turn).
  Step decide(PluginContext& ctx, double& delay) const {
    std::string key;
    std::string err;
    bool any = false;
    for (const auto& rule : conf_.rules) {
      key.clear();
      if (conf_.has_rules) {
        if (rule.key_tpl.render(ctx, key) == 0) continue;
      } else {
        rule.key.append(ctx, key);
      }
      auto rate = rule.rate.resolve(ctx, err);
      auto burst = rate ? rule.burst.resolve(ctx, err) : std::nullopt;
      if (!rate || !burst) {
        if (conf_.has_rules) continue;  // APISIX skips a rule it cannot resolve
        spdlog::error("limit-req: failed to get limit req rules: {}", err);
        return degrade();
      }
      if (*rate <= 0 || *burst < 0) {
        spdlog::error("limit-req: invalid rate {} or burst {}", *rate, *burst);
        return degrade();
      }
      any = true;
      double d = 0;
      if (!incoming(key, *rate, *burst, d)) {
        if (conf_.rejected_msg) {
          json::object body;
          body["error_msg"] = *conf_.rejected_msg;
          return Exit::json(conf_.rejected_code, body);
        }
        return Exit{conf_.rejected_code, {}, {}, {}};
      }
      if (!conf_.nodelay && d >= 0.001) delay += d;
    }
    if (!any) {
      spdlog::error("limit-req: failed to get limit req rules: no rule applies");
      return degrade();
    }
    return kContinue;
  }

  Step degrade() const {
    if (conf_.allow_degradation) return kContinue;
    return Exit{500, {}, {}, {}};
  }

  // resty.limit.req's incoming(key, commit=true): false when rejected. Its
  // arithmetic is Lua's, in doubles: a rate of 1/3600 req/s (0.28
  // milli-requests per second) drains, and 1e14 does not overflow.
  bool incoming(std::string_view key, double rate_rps, double burst_req, double& delay) const {
    const double rate = rate_rps * 1000;  // milli-requests per second
    const double burst = burst_req * 1000;
    int64_t now = limits::now_ms();
    return table_.with(key, [&](Bucket& b, bool inserted) {
      double excess = 0;
      if (!inserted) {
        const double elapsed = static_cast<double>(std::llabs(now - b.last_ms));
        excess = std::max(b.excess - rate * elapsed / 1000 + 1000, 0.0);
        if (excess > burst) return false;
      }
      b.excess = std::trunc(excess);
      b.last_ms = now;
      // The next request sees excess' = max(excess - rate*t + 1000, 0): 0
      // (an absent entry) once t >= (excess + 1000) / rate seconds.
      const double drain_ms = (b.excess + 1000) * 1000 / rate + 1;
      constexpr double kNever = 9.0e18;  // past any int64 now_ms()
      b.drained_ms = drain_ms >= kNever - static_cast<double>(now)
                         ? static_cast<int64_t>(kNever)
                         : now + static_cast<int64_t>(std::ceil(drain_ms));
      delay = b.excess / rate;
      return true;
    });
  }

  Config conf_;
  mutable limits::ShardedTable<Bucket> table_;
};

// ---- create ----------------------------------------------------------------

core::Result<std::shared_ptr<const Plugin>> create(const json::object& o, const PluginScope&) {
  std::string policy = limits::conf_string(o, "policy", "local");
  if (policy != "local") {
    return core::config_error("policy \"" + policy +
                              "\" is not supported by torii yet, use policy \"local\"");
  }
  Config c;
  c.rejected_code = core::saturate<int>(limits::conf_int(o, "rejected_code", 503));
  if (const auto* m = o.if_contains("rejected_msg"); m && m->is_string()) {
    c.rejected_msg = std::string(m->get_string());
  }
  c.nodelay = limits::conf_bool(o, "nodelay", false);
  c.allow_degradation = limits::conf_bool(o, "allow_degradation", false);
  if (const auto* rules = o.if_contains("rules"); rules && rules->is_array()) {
    c.has_rules = true;
    auto st = limits::for_each_rule(
        rules->get_array(), [&c](const json::object& r, limits::VarTemplate key, size_t) {
          RuleConf rule;
          rule.rate = limits::NumberSpec::from_conf(r.at("rate"));
          rule.burst = limits::NumberSpec::from_conf(r.at("burst"));
          rule.key_tpl = std::move(key);
          c.rules.push_back(std::move(rule));
        });
    if (!st) return st.error();
  } else {
    RuleConf rule;
    rule.rate = limits::NumberSpec::from_conf(o.at("rate"));
    rule.burst = limits::NumberSpec::from_conf(o.at("burst"));
    rule.key = limits::LimitKey::from_conf(o);
    c.rules.push_back(std::move(rule));
  }
  return std::shared_ptr<const Plugin>(std::make_shared<LimitReq>(std::move(c)));
}

PluginInfo make_info() {
  PluginInfo info;
  info.name = "limit-req";
  info.priority = 1001;
  info.schema = make_schema();
  info.create = &create;
  return info;
}

const PluginRegistration kRegistration{make_info()};

}  // namespace
}  // namespace torii::plugins
