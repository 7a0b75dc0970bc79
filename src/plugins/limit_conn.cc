// limit-conn (priority 1003): at most `conn` concurrent requests per key,
// plus `burst` more that are delayed; beyond that, `rejected_code` (503;
// {"error_msg": rejected_msg} when set). resty.limit.conn's arithmetic.
// `conn` and `burst` may be variable expressions ("$http_x_conn"), resolved
// per request; `rules` (APISIX 3.16+) is a list of {conn, burst, key}, each
// applying when its key (a variable combination) resolves, each with its
// own counters: a request takes a slot in every rule that applies.
//
// Phases: access takes a slot (delaying the request by `default_conn_delay`
// x floor((n - 1) / conn) seconds when it is the n-th over `conn`, on a
// timer, without blocking the worker); log gives it back and, unless
// only_use_default_delay, folds the request's latency into the unit delay
// (unit = (latency + unit) / 2, APISIX). The held slot lives in the
// request's plugin state, whose destructor releases it too, so a request
// that ends without a log phase (client gone) cannot leak a slot.
//
// State: one counter table per instance (a new conf starts at zero),
// shared by every worker of the node (limits::ShardedTable): the limit is
// exact across workers. policy "redis" / "redis-cluster" pass the schema
// (APISIX's) but are refused at create: Torii keeps these counters local.
//
// Security: the key is what the conf names; a header key is chosen by the
// client. A nil key falls back to the client address.
#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>

#include <boost/container/small_vector.hpp>
#include <spdlog/spdlog.h>
#include <atomic>
#include <charconv>
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
  limits::NumberSpec conn;      // > 0, whole
  limits::NumberSpec burst;     // >= 0, whole
  limits::LimitKey key;         // plain conf
  limits::VarTemplate key_tpl;  // `rules` entry
};

struct Config {
  std::vector<RuleConf> rules;  // the plain conf is one rule
  bool has_rules = false;
  double default_conn_delay = 0.1;  // seconds (required by the schema)
  bool only_use_default_delay = false;
  int rejected_code = 503;
  std::optional<std::string> rejected_msg;
  bool allow_degradation = false;
};

// ---- schema (apisix/plugins/limit-conn.lua, APISIX 3.16+) --------------------

json::value make_schema() {
  json::value v = json::parse(R"json({
    "type": "object",
    "properties": {
      "conn": {"oneOf": [{"type": "integer", "exclusiveMinimum": 0}, {"type": "string"}]},
      "burst": {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string"}]},
      "default_conn_delay": {"type": "number", "exclusiveMinimum": 0},
      "only_use_default_delay": {"type": "boolean", "default": false},
      "key": {"type": "string"},
      "key_type": {"type": "string", "enum": ["var", "var_combination"], "default": "var"},
      "rules": {
        "type": "array",
        "items": {
          "type": "object",
          "properties": {
            "conn": {"oneOf": [{"type": "integer", "exclusiveMinimum": 0}, {"type": "string"}]},
            "burst": {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string"}]},
            "key": {"type": "string"}
          },
          "required": ["conn", "burst", "key"]
        }
      },
      "policy": {"type": "string", "enum": ["redis", "redis-cluster", "local"], "default": "local"},
      "redis_prefix": {"type": "string", "minLength": 0, "default": "limit_conn",
                       "pattern": "^[0-9a-zA-Z|_]+$"},
      "rejected_code": {"type": "integer", "minimum": 200, "maximum": 599, "default": 503},
      "rejected_msg": {"type": "string", "minLength": 1},
      "allow_degradation": {"type": "boolean", "default": false}
    },
    "required": ["default_conn_delay"],
    "oneOf": [{"required": ["conn", "burst", "key"]}, {"required": ["rules"]}]
  })json");
  limits::add_redis_policy_branches(v.as_object(), /*sentinel=*/false);
  return v;
}

// ---- state -------------------------------------------------------------------

struct Counter {
  int64_t conn = 0;
  bool expired(int64_t) const { return conn <= 0; }
};
using Table = limits::ShardedTable<Counter>;

// The slots a request holds (one per rule that applied), from access to
// log (or to its end).
struct HeldSlot final : RequestState {
  std::shared_ptr<Table> table;
  boost::container::small_vector<std::string, 1> keys;
  double delay = 0;  // seconds this request was delayed
  bool held = true;

  void release() {
    if (!held) return;
    held = false;
    for (const std::string& key : keys) {
      table->update_existing(key, [](Counter& c) {
        --c.conn;
        return c.conn <= 0;
      });
    }
  }
  ~HeldSlot() override { release(); }
};

std::optional<double> var_seconds(const PluginContext& ctx, const http::VarRef& ref) {
  auto v = ctx.get(ref);
  if (!v || v->empty()) return std::nullopt;
  // upstream_response_time may list several attempts ("0.002, 0.010"): the
  // last one is the answer that was sent.
  std::string_view s = *v;
  if (auto comma = s.rfind(','); comma != std::string_view::npos) s = s.substr(comma + 1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  double out = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc()) return std::nullopt;
  return out;
}

class LimitConn final : public Plugin {
 public:
  explicit LimitConn(Config conf)
      : conf_(std::move(conf)),
        table_(std::make_shared<Table>()),
        unit_delay_(conf_.default_conn_delay),
        upstream_response_time_(http::VarRef::parse("upstream_response_time")),
        request_time_(http::VarRef::parse("request_time")) {}

  uint8_t phases() const override { return bit(Phase::kAccess) | bit(Phase::kLog); }
  bool is_async(Phase p) const override { return p == Phase::kAccess; }

  Step access(PluginContext& ctx) const override {
    double delay = 0;
    return take(ctx, delay);
  }

  net::Task<Step> access_async(PluginContext& ctx) const override {
    double delay = 0;
    if (auto exit = take(ctx, delay)) co_return exit;
    if (delay >= 0.001) {
      net::Timer timer(co_await boost::asio::this_coro::executor);
      timer.expires_after(core::duration_from_seconds(delay));
      co_await timer.async_wait(net::kNoThrow);
    }
    co_return kContinue;
  }

  void log(PluginContext& ctx) const override {
    auto* slot = dynamic_cast<HeldSlot*>(ctx.state().get());
    if (!slot || !slot->held) return;
    if (!conf_.only_use_default_delay) {
      std::optional<double> latency = var_seconds(ctx, upstream_response_time_);
      if (!latency) {
        if (auto total = var_seconds(ctx, request_time_)) latency = *total - slot->delay;
      }
      if (latency) {
        // A relaxed read-modify-write: concurrent updates may lose one
        // sample, which only nudges an average.
        double unit = unit_delay_.load(std::memory_order_relaxed);
        unit_delay_.store((*latency + unit) / 2, std::memory_order_relaxed);
      }
    }
    slot->release();
  }

  // Tests.
  size_t live_keys() const { return table_->size(); }
  double unit_delay() const { return unit_delay_.load(); }

 private:
  // Takes a slot in every rule that applies; `delay` gets the sum of their
  // delays. A refusal gives back the slots taken before it.
  Step take(PluginContext& ctx, double& delay) const {
    auto slot = std::make_unique<HeldSlot>();
    slot->table = table_;
    std::string err;
    for (size_t i = 0; i < conf_.rules.size(); ++i) {
      const RuleConf& rule = conf_.rules[i];
      std::string key;
      if (conf_.has_rules) {
        // The rule's index keeps two rules whose keys render alike apart.
        key = std::to_string(i) + ':';
        if (rule.key_tpl.render(ctx, key) == 0) continue;  // the rule does not apply
      } else {
        rule.key.append(ctx, key);
      }
      const auto conn = resolve_whole(rule.conn, ctx, 1, err);
      const auto burst = conn ? resolve_whole(rule.burst, ctx, 0, err) : std::nullopt;
      if (!conn || !burst) {
        slot->release();
        spdlog::error("limit-conn: failed to get limit conn rules: {}", err);
        return degrade();
      }
      const int64_t taken = table_->with(key, [&](Counter& c, bool) {
        if (c.conn + 1 > *conn + *burst) return int64_t{-1};
        return ++c.conn;
      });
      if (taken < 0) {
        slot->release();
        if (conf_.rejected_msg) {
          json::object body;
          body["error_msg"] = *conf_.rejected_msg;
          return Exit::json(conf_.rejected_code, body);
        }
        return Exit{conf_.rejected_code, {}, {}, {}};
      }
      slot->keys.push_back(std::move(key));
      if (taken > *conn) {
        delay += unit_delay_.load(std::memory_order_relaxed) *
                 static_cast<double>((taken - 1) / *conn);
      }
    }
    if (slot->keys.empty()) {
      spdlog::error("limit-conn: failed to get limit conn rules: no rule applies");
      return degrade();
    }
    slot->delay = delay;
    ctx.state() = std::move(slot);
    return kContinue;
  }

  Step degrade() const {
    if (conf_.allow_degradation) return kContinue;
    return Exit{500, {}, {}, {}};
  }

  // `spec` for this request as a whole number >= `min` (conn 1, burst 0)
  // within Lua's exact integers; nullopt with `err` set otherwise (a
  // variable a client sends must not become 0 or 1e300 connections).
  static std::optional<int64_t> resolve_whole(const limits::NumberSpec& spec,
                                              const PluginContext& ctx, int64_t min,
                                              std::string& err) {
    auto v = spec.resolve(ctx, err);
    if (!v) return std::nullopt;
    if (*v < static_cast<double>(min) || *v != std::floor(*v) || *v > kMaxSafeInteger) {
      err = std::string("resolved value must be ") + (min > 0 ? "a positive" : "a non-negative") +
            " integer within 2^53-1, got: " + limits::lua_number(*v);
      return std::nullopt;
    }
    return static_cast<int64_t>(*v);
  }

  static constexpr double kMaxSafeInteger = 9007199254740991.0;

  Config conf_;
  std::shared_ptr<Table> table_;
  mutable std::atomic<double> unit_delay_;
  http::VarRef upstream_response_time_;
  http::VarRef request_time_;
};

// ---- create ----------------------------------------------------------------

core::Result<std::shared_ptr<const Plugin>> create(const json::object& o, const PluginScope&) {
  std::string policy = limits::conf_string(o, "policy", "local");
  if (policy != "local") {
    return core::config_error("policy \"" + policy +
                              "\" is not supported by torii yet, use policy \"local\"");
  }
  Config c;
  c.default_conn_delay = limits::conf_number(o, "default_conn_delay", 0.1);
  c.only_use_default_delay = limits::conf_bool(o, "only_use_default_delay", false);
  c.rejected_code = core::saturate<int>(limits::conf_int(o, "rejected_code", 503));
  if (const auto* m = o.if_contains("rejected_msg"); m && m->is_string()) {
    c.rejected_msg = std::string(m->get_string());
  }
  c.allow_degradation = limits::conf_bool(o, "allow_degradation", false);
  if (const auto* rules = o.if_contains("rules"); rules && rules->is_array()) {
    c.has_rules = true;
    auto st = limits::for_each_rule(
        rules->get_array(), [&c](const json::object& r, limits::VarTemplate key, size_t) {
          RuleConf rule;
          rule.conn = limits::NumberSpec::from_conf(r.at("conn"));
          rule.burst = limits::NumberSpec::from_conf(r.at("burst"));
          rule.key_tpl = std::move(key);
          c.rules.push_back(std::move(rule));
        });
    if (!st) return st.error();
  } else {
    RuleConf rule;
    rule.conn = limits::NumberSpec::from_conf(o.at("conn"));
    rule.burst = limits::NumberSpec::from_conf(o.at("burst"));
    rule.key = limits::LimitKey::from_conf(o);
    c.rules.push_back(std::move(rule));
  }
  return std::shared_ptr<const Plugin>(std::make_shared<LimitConn>(std::move(c)));
}

PluginInfo make_info() {
  PluginInfo info;
  info.name = "limit-conn";
  info.priority = 1003;
  info.schema = make_schema();
  info.create = &create;
  return info;
}

const PluginRegistration kRegistration{make_info()};

}  // namespace
}  // namespace torii::plugins
