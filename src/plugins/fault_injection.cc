// fault-injection (APISIX priority 11000, rewrite phase): makes requests
// slow or fail on purpose, to test how clients cope. `delay` waits
// `duration` seconds before the request goes on; `abort` answers with
// `http_status`, an optional `body` and `headers` (both may use `$var`s)
// instead of proxying. Each applies to `percentage` % of the requests
// (absent: all) and, when `vars` is given, only to requests matching one of
// its lua-resty-expr lists (an OR of ANDs). The delay comes before the abort.
//
// Security posture: a delay holds the client connection and its request
// state for `duration` on a timer of the worker's loop (no thread blocks);
// a large duration on a busy route ties up connections, as in APISIX.
#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/saturate.h"
#include "net/io.h"
#include "plugins/fast_random.h"
#include "plugins/plugin.h"
#include "plugins/plugin_registry.h"
#include "plugins/var_template.h"
#include "router/expr.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;

// `vars`: absent means "always"; present means "one of these lists matches"
// (an empty list never matches, as APISIX's vars_match returns nil).
struct Condition {
  std::optional<int> percentage;  // 0..100; absent: every request
  bool has_vars = false;
  std::vector<std::shared_ptr<const router::Expr>> vars;
};

struct AbortConfig {
  int http_status = 0;
  std::optional<VarTemplate> body;
  std::vector<std::pair<std::string, VarTemplate>> headers;
  Condition when;
};

struct DelayConfig {
  std::chrono::nanoseconds duration{0};
  Condition when;
};

struct FaultInjectionConfig {
  std::optional<AbortConfig> abort;
  std::optional<DelayConfig> delay;
};

constexpr const char* kSchema = R"json({
  "type": "object",
  "properties": {
    "abort": {
      "type": "object",
      "properties": {
        "http_status": {"type": "integer", "minimum": 200},
        "body": {"type": "string", "minLength": 0},
        "headers": {
          "type": "object",
          "minProperties": 1,
          "patternProperties": {
            "^[^:]+$": {"oneOf": [{"type": "string"}, {"type": "number"}]}
          }
        },
        "percentage": {"type": "integer", "minimum": 0, "maximum": 100},
        "vars": {"type": "array", "maxItems": 20, "items": {"type": "array"}}
      },
      "required": ["http_status"]
    },
    "delay": {
      "type": "object",
      "properties": {
        "duration": {"type": "number", "minimum": 0},
        "percentage": {"type": "integer", "minimum": 0, "maximum": 100},
        "vars": {"type": "array", "maxItems": 20, "items": {"type": "array"}}
      },
      "required": ["duration"]
    }
  },
  "minProperties": 1
})json";

// APISIX's sample_hit: random(1, 100) <= percentage.
bool sample_hit(const std::optional<int>& percentage) {
  if (!percentage) return true;
  return static_cast<int>(FastRandom::local().below(100)) + 1 <= *percentage;
}

bool vars_match(const Condition& c, const http::VarSource& vars) {
  if (!c.has_vars) return true;
  for (const auto& e : c.vars) {
    if (e->eval(vars)) return true;
  }
  return false;
}

class FaultInjection final : public Plugin {
 public:
  explicit FaultInjection(FaultInjectionConfig conf) : conf_(std::move(conf)) {}

  uint8_t phases() const override { return bit(Phase::kRewrite); }

  // Only a delay needs to wait; an abort-only conf answers synchronously.
  bool is_async(Phase p) const override {
    return p == Phase::kRewrite && conf_.delay && conf_.delay->duration.count() > 0;
  }

  Step rewrite(PluginContext& ctx) const override {
    // Reached without a wait: no delay, or a zero one.
    const bool abort_vars = conf_.abort && vars_match(conf_.abort->when, ctx);
    return maybe_abort(ctx, abort_vars);
  }

  net::Task<Step> rewrite_async(PluginContext& ctx) const override {
    // APISIX evaluates both conditions before sleeping.
    const bool abort_vars = conf_.abort && vars_match(conf_.abort->when, ctx);
    const DelayConfig& delay = *conf_.delay;
    if (sample_hit(delay.when.percentage) && vars_match(delay.when, ctx)) {
      net::Timer timer(co_await boost::asio::this_coro::executor);
      timer.expires_after(
          std::chrono::duration_cast<std::chrono::steady_clock::duration>(delay.duration));
      co_await timer.async_wait(net::kNoThrow);
    }
    co_return maybe_abort(ctx, abort_vars);
  }

 private:
  Step maybe_abort(PluginContext& ctx, bool abort_vars) const {
    if (!conf_.abort || !abort_vars || !sample_hit(conf_.abort->when.percentage)) {
      return kContinue;
    }
    const AbortConfig& a = *conf_.abort;
    Exit e;
    e.status = a.http_status;
    if (a.body) e.body = a.body->render(ctx);
    e.headers.reserve(a.headers.size());
    for (const auto& [name, value] : a.headers) e.headers.emplace_back(name, value.render(ctx));
    return e;
  }

  FaultInjectionConfig conf_;
};

core::Status read_condition(const json::object& o, Condition& c) {
  if (const auto* p = o.if_contains("percentage"); p && p->is_number()) {
    c.percentage = core::saturate<int>(p->to_number<double>());
  }
  const auto* vars = o.if_contains("vars");
  if (vars == nullptr) return core::ok_status();
  c.has_vars = true;
  if (!vars->is_array()) return core::ok_status();  // `{}`: Lua's empty table, no list
  for (const auto& v : vars->get_array()) {
    auto e = router::Expr::compile(v);
    if (!e) return e.error();  // APISIX returns expr.new's message as is
    c.vars.emplace_back(std::move(*e));
  }
  return core::ok_status();
}

core::Result<std::shared_ptr<const Plugin>> create(const json::object& conf, const PluginScope&) {
  FaultInjectionConfig c;
  if (const auto* v = conf.if_contains("abort"); v && v->is_object()) {
    const auto& o = v->get_object();
    AbortConfig a;
    if (const auto* s = o.if_contains("http_status"); s && s->is_number()) {
      a.http_status = core::saturate<int>(s->to_number<double>());
    }
    if (const auto* b = o.if_contains("body"); b && b->is_string()) {
      a.body = VarTemplate::compile(b->get_string());
    }
    if (const auto* h = o.if_contains("headers"); h && h->is_object()) {
      for (const auto& [name, value] : h->get_object()) {
        a.headers.emplace_back(std::string(name), VarTemplate::compile(lua_tostring(value)));
      }
    }
    if (auto st = read_condition(o, a.when); !st) return st.error();
    c.abort = std::move(a);
  }
  if (const auto* v = conf.if_contains("delay"); v && v->is_object()) {
    const auto& o = v->get_object();
    DelayConfig d;
    if (const auto* s = o.if_contains("duration"); s && s->is_number()) {
      const double seconds = s->to_number<double>();
      // A week is far beyond any test; it also keeps the nanosecond count in range.
      if (seconds > 7 * 24 * 3600) {
        return core::config_error("delay.duration: at most 604800 seconds is supported");
      }
      d.duration = std::chrono::nanoseconds(core::saturate<int64_t>(seconds * 1e9));
    }
    if (auto st = read_condition(o, d.when); !st) return st.error();
    c.delay = std::move(d);
  }
  return std::shared_ptr<const Plugin>(std::make_shared<FaultInjection>(std::move(c)));
}

PluginInfo make_info() {
  PluginInfo info;
  info.name = "fault-injection";
  info.priority = 11000;
  info.schema = json::parse(kSchema);
  info.create = create;
  return info;
}

const PluginRegistration kRegistration{make_info()};

}  // namespace
}  // namespace torii::plugins
