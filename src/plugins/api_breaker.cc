// api-breaker (priority 1005): a circuit breaker on upstream statuses.
//
// Phases: log counts the upstream's status. A status in
// unhealthy.http_statuses adds a failure (and clears the success streak);
// each time the failures reach a multiple of unhealthy.failures the break
// (re)starts now. While a break lasts, access answers `break_response_code`
// itself (with break_response_body and, when a body is set,
// break_response_headers whose values may hold $vars), without touching
// the upstream. A break lasts 2^ceil(failures / unhealthy.failures)
// seconds (2, 4, 8, ...), at most max_breaker_sec. Once failures exist,
// healthy.successes statuses from healthy.http_statuses in a row reset
// everything. A request answered without an upstream (no upstream_status)
// counts for nothing.
//
// State: per instance (per route conf), then per host + uri inside it as
// APISIX keys its shared dict, so one prefix route breaks per path. One
// mutex-guarded table shared by every worker of the node: a break seen by
// one worker is seen by all. Times are whole seconds of a monotonic clock
// (APISIX compares ngx.time() seconds: `last + break >= now`).
//
// Security: the break answer is static text from the conf plus header
// values from request variables (they are sent back to the same client).
#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <mutex>
#include <unordered_map>

#include "core/saturate.h"
#include "plugins/limit_key.h"
#include "plugins/limit_shards.h"
#include "plugins/plugin.h"
#include "plugins/plugin_registry.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;

// ---- config ----------------------------------------------------------------

struct Config {
  int break_response_code = 503;
  std::optional<std::string> break_response_body;
  std::vector<std::pair<std::string, limits::VarTemplate>> break_response_headers;
  int64_t max_breaker_sec = 300;
  std::vector<int> unhealthy_statuses{500};
  int64_t unhealthy_failures = 3;
  std::vector<int> healthy_statuses{200};
  int64_t healthy_successes = 3;
};

// ---- schema (apisix/plugins/api-breaker.lua, APISIX 3.x) ---------------------

json::value make_schema() {
  return json::parse(R"json({
    "type": "object",
    "properties": {
      "break_response_code": {"type": "integer", "minimum": 200, "maximum": 599},
      "break_response_body": {"type": "string"},
      "break_response_headers": {
        "type": "array",
        "items": {
          "type": "object",
          "properties": {
            "key": {"type": "string", "minLength": 1},
            "value": {"type": "string", "minLength": 1}
          },
          "required": ["key", "value"]
        }
      },
      "max_breaker_sec": {"type": "integer", "minimum": 3, "default": 300},
      "unhealthy": {
        "type": "object",
        "properties": {
          "http_statuses": {
            "type": "array", "minItems": 1,
            "items": {"type": "integer", "minimum": 500, "maximum": 599},
            "uniqueItems": true, "default": [500]
          },
          "failures": {"type": "integer", "minimum": 1, "default": 3}
        },
        "default": {"http_statuses": [500], "failures": 3}
      },
      "healthy": {
        "type": "object",
        "properties": {
          "http_statuses": {
            "type": "array", "minItems": 1,
            "items": {"type": "integer", "minimum": 200, "maximum": 499},
            "uniqueItems": true, "default": [200]
          },
          "successes": {"type": "integer", "minimum": 1, "default": 3}
        },
        "default": {"http_statuses": [200], "successes": 3}
      }
    },
    "required": ["break_response_code"]
  })json");
}

// ---- state -------------------------------------------------------------------

struct Health {
  int64_t unhealthy = 0;
  int64_t healthy = 0;
  std::optional<int64_t> last_break_s;  // when the current break started (ngx.time())
  // APISIX's ttl on that record: max_breaker_sec from the failure, to the
  // millisecond as the shared dict keeps it.
  int64_t last_break_until_ms = 0;
};


class ApiBreaker final : public Plugin {
 public:
  explicit ApiBreaker(Config conf)
      : conf_(std::move(conf)), upstream_status_(http::VarRef::parse("upstream_status")) {}

  uint8_t phases() const override { return bit(Phase::kAccess) | bit(Phase::kLog); }

  Step access(PluginContext& ctx) const override {
    std::string key = key_of(ctx);
    bool broken = false;
    {
      std::lock_guard lock(mu_);
      auto it = table_.find(key);
      if (it == table_.end() || it->second.unhealthy == 0) return kContinue;
      const Health& h = it->second;
      const int64_t now_ms = limits::now_ms();
      if (!h.last_break_s || now_ms >= h.last_break_until_ms) return kContinue;
      const int64_t now = now_ms / 1000;
      int64_t times = std::max<int64_t>(
          1, (h.unhealthy + conf_.unhealthy_failures - 1) / conf_.unhealthy_failures);
      int64_t breaker = times >= 62 ? conf_.max_breaker_sec
                                    : std::min<int64_t>(int64_t{1} << times, conf_.max_breaker_sec);
      broken = *h.last_break_s + breaker >= now;
    }
    if (!broken) return kContinue;
    Exit e;
    e.status = conf_.break_response_code;
    if (conf_.break_response_body) {
      e.body = *conf_.break_response_body;
      for (const auto& [name, tpl] : conf_.break_response_headers) {
        e.headers.emplace_back(name, tpl.render(ctx));
      }
    }
    return e;
  }

  void log(PluginContext& ctx) const override {
    auto status = upstream_status(ctx);
    if (!status) return;
    bool unhealthy = std::find(conf_.unhealthy_statuses.begin(), conf_.unhealthy_statuses.end(),
                               *status) != conf_.unhealthy_statuses.end();
    bool healthy =
        !unhealthy && std::find(conf_.healthy_statuses.begin(), conf_.healthy_statuses.end(),
                                *status) != conf_.healthy_statuses.end();
    if (!unhealthy && !healthy) return;
    std::string key = key_of(ctx);
    std::lock_guard lock(mu_);
    if (unhealthy) {
      if (table_.size() >= kMaxKeys && !table_.contains(key)) forget_idle(limits::now_ms());
      Health& h = table_[key];
      ++h.unhealthy;
      h.healthy = 0;
      if (h.unhealthy % conf_.unhealthy_failures == 0) {
        const int64_t now_ms = limits::now_ms();
        h.last_break_s = now_ms / 1000;
        h.last_break_until_ms = now_ms + conf_.max_breaker_sec * 1000;
      }
      return;
    }
    auto it = table_.find(key);
    if (it == table_.end() || it->second.unhealthy == 0) return;
    if (++it->second.healthy >= conf_.healthy_successes) table_.erase(it);
  }

 private:
  // Paths are client-chosen: past this many, entries not in a break go.
  static constexpr size_t kMaxKeys = 65536;

  void forget_idle(int64_t now_ms) const {
    std::erase_if(table_, [now_ms](const auto& kv) {
      return !kv.second.last_break_s || now_ms >= kv.second.last_break_until_ms;
    });
  }

  // APISIX: host .. uri.
  static std::string key_of(const PluginContext& ctx) {
    std::string key(ctx.host());
    key += ctx.uri();
    return key;
  }

  // The status of the last upstream attempt (the last 3 characters of
  // $upstream_status, "502, 200" after a retry), or nullopt when the
  // request never reached an upstream.
  std::optional<int> upstream_status(const PluginContext& ctx) const {
    auto v = ctx.get(upstream_status_);
    if (!v || v->size() < 3) return std::nullopt;
    std::string_view last = v->substr(v->size() - 3);
    int out = 0;
    auto [p, ec] = std::from_chars(last.data(), last.data() + last.size(), out);
    if (ec != std::errc() || p != last.data() + last.size()) return std::nullopt;
    return out;
  }

  Config conf_;
  http::VarRef upstream_status_;
  mutable std::mutex mu_;
  mutable std::unordered_map<std::string, Health> table_;
};

// ---- create ----------------------------------------------------------------

std::vector<int> int_list(const json::object& o, std::string_view field, std::vector<int> def) {
  const auto* v = o.if_contains(field);
  if (!v || !v->is_array()) return def;
  std::vector<int> out;
  for (const auto& x : v->get_array()) {
    if (x.is_number()) out.push_back(core::saturate<int>(x.to_number<double>()));
  }
  return out;
}

core::Result<std::shared_ptr<const Plugin>> create(const json::object& o, const PluginScope&) {
  Config c;
  c.break_response_code = core::saturate<int>(limits::conf_int(o, "break_response_code", 503));
  if (const auto* b = o.if_contains("break_response_body"); b && b->is_string()) {
    c.break_response_body = std::string(b->get_string());
  }
  if (const auto* hs = o.if_contains("break_response_headers"); hs && hs->is_array()) {
    for (const auto& h : hs->get_array()) {
      if (!h.is_object()) continue;
      c.break_response_headers.emplace_back(
          limits::conf_string(h.get_object(), "key", ""),
          limits::VarTemplate::parse(limits::conf_string(h.get_object(), "value", "")));
    }
  }
  // The schemas bound these from below only; int32 keeps the arithmetic on
  // them (now + seconds, count + failures) clear of overflow.
  c.max_breaker_sec = core::saturate<int32_t>(limits::conf_int(o, "max_breaker_sec", 300));
  if (const auto* u = o.if_contains("unhealthy"); u && u->is_object()) {
    c.unhealthy_statuses = int_list(u->get_object(), "http_statuses", {500});
    c.unhealthy_failures =
        core::saturate<int32_t>(limits::conf_int(u->get_object(), "failures", 3));
  }
  if (const auto* h = o.if_contains("healthy"); h && h->is_object()) {
    c.healthy_statuses = int_list(h->get_object(), "http_statuses", {200});
    c.healthy_successes =
        core::saturate<int32_t>(limits::conf_int(h->get_object(), "successes", 3));
  }
  return std::shared_ptr<const Plugin>(std::make_shared<ApiBreaker>(std::move(c)));
}

PluginInfo make_info() {
  PluginInfo info;
  info.name = "api-breaker";
  info.priority = 1005;
  info.schema = make_schema();
  info.create = &create;
  return info;
}

const PluginRegistration kRegistration{make_info()};

}  // namespace
}  // namespace torii::plugins
