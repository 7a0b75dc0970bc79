// traffic-split (priority 966): sends a share of a route's requests to
// other upstreams, by weight and by request attributes.
//
// Phase: access. Rules are tried in order; a rule without `match` always
// matches, otherwise one of its `match` entries must hold (OR), each entry's
// `vars` being a lua-resty-expr expression (AND list). The first matching
// rule picks one of its weighted_upstreams by weight: an `upstream_id`, an
// inline `upstream`, or neither (only a weight), which means the route's
// own upstream. No rule matches: the route's own upstream.
//
// Weights: smooth weighted round robin (nginx's), one cursor per rule per
// worker thread, so each worker honours the weights exactly over every
// cycle of sum(weights) requests it serves (2:1 gives A B A, A B A, ...);
// across workers the split is exact in aggregate once each worker has done
// whole cycles. Weight 0 never receives traffic. No lock, no atomic: a
// worker touches only its own cursor (cache-line sized slots).
//
// Upstreams are compiled when the instance is built: inline ones through
// PluginScope::compile_upstream (errors name the field), ids through
// PluginScope::find_upstream; an id the snapshot does not have answers 500
// "failed to fetch upstream info by upstream id: <id>" per request, as
// APISIX does. Security: the plugin only chooses among upstreams the
// configuration names.
#include <boost/json.hpp>

#include <memory>
#include <vector>

#include "core/saturate.h"
#include "plugins/limit_key.h"
#include "plugins/plugin.h"
#include "plugins/plugin_registry.h"
#include "router/expr.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;

// ---- config ----------------------------------------------------------------

struct Target {
  std::shared_ptr<const upstream::Upstream> upstream;  // null: the route's own
  std::string missing_id;                              // set: an unknown upstream_id
  int64_t weight = 1;
};

struct Rule {
  bool always = false;  // no `match`
  std::vector<std::unique_ptr<router::Expr>> matches;
  std::vector<Target> targets;  // weight > 0 only
  int64_t total = 0;
};

// ---- schema (apisix/plugins/traffic-split.lua) ------------------------------
//
// `upstream` is APISIX's schema_def.upstream; the plugin registry cannot
// embed a resource schema yet, so the schema only says "object" and the
// inline upstream is checked when the instance is built (compile_upstream).

json::value make_schema() {
  return json::parse(R"json({
    "type": "object",
    "properties": {
      "rules": {
        "type": "array",
        "items": {
          "type": "object",
          "properties": {
            "match": {
              "type": "array",
              "items": {"type": "object", "properties": {"vars": {"type": "array"}}}
            },
            "weighted_upstreams": {
              "type": "array",
              "items": {
                "type": "object",
                "properties": {
                  "upstream_id": {"anyOf": [
                    {"type": "string", "minLength": 1, "maxLength": 64,
                     "pattern": "^[a-zA-Z0-9-_.]+$"},
                    {"type": "integer", "minimum": 1}]},
                  "upstream": {"type": "object"},
                  "weight": {"description": "used to split traffic between differentupstreams for plugin configuration",
                             "type": "integer", "default": 1, "minimum": 0}
                }
              },
              "default": [{"weight": 1}],
              "minItems": 1,
              "maxItems": 20
            }
          },
          "additionalProperties": false
        }
      }
    },
    "additionalProperties": false
  })json");
}

// ---- the plugin ----------------------------------------------------------------

class TrafficSplit final : public Plugin {
 public:
  TrafficSplit(std::vector<Rule> rules, unsigned workers) : rules_(std::move(rules)) {
    slots_.resize(std::max(1u, workers));
    for (auto& s : slots_) {
      s.current.resize(rules_.size());
      for (size_t i = 0; i < rules_.size(); ++i) s.current[i].assign(rules_[i].targets.size(), 0);
    }
  }

  uint8_t phases() const override { return bit(Phase::kAccess); }

  Step access(PluginContext& ctx) const override {
    for (size_t r = 0; r < rules_.size(); ++r) {
      const Rule& rule = rules_[r];
      if (!matches(rule, ctx)) continue;
      if (rule.targets.empty()) return kContinue;  // every weight 0: the route's upstream
      const Target& t = rule.targets[pick(ctx.worker(), r)];
      if (!t.missing_id.empty()) {
        return Exit{500, "failed to fetch upstream info by upstream id: " + t.missing_id, {}, {}};
      }
      if (t.upstream) ctx.set_upstream(t.upstream);
      return kContinue;
    }
    return kContinue;
  }

 private:
  static bool matches(const Rule& rule, const PluginContext& ctx) {
    if (rule.always) return true;
    for (const auto& m : rule.matches) {
      if (!m || m->eval(ctx)) return true;
    }
    return false;
  }

  // nginx's smooth weighted round robin on this worker's cursor.
  size_t pick(unsigned worker, size_t rule) const {
    auto& cur = slots_[worker % slots_.size()].current[rule];
    const auto& targets = rules_[rule].targets;
    size_t best = 0;
    for (size_t i = 0; i < targets.size(); ++i) {
      cur[i] += targets[i].weight;
      if (cur[i] > cur[best]) best = i;
    }
    cur[best] -= rules_[rule].total;
    return best;
  }

  struct alignas(64) Slot {
    std::vector<std::vector<int64_t>> current;  // [rule][target]
  };

  std::vector<Rule> rules_;
  mutable std::vector<Slot> slots_;  // one per worker; a worker touches only its own
};

// ---- create ----------------------------------------------------------------

// The fields APISIX does not carry over from an inline upstream.
constexpr const char* kDroppedUpstreamFields[] = {
    "service_name", "discovery_type", "checks", "retries", "retry_timeout", "desc", "labels"};

core::Result<std::shared_ptr<const Plugin>> create(const json::object& o,
                                                   const PluginScope& scope) {
  std::vector<Rule> rules;
  const auto* rs = o.if_contains("rules");
  if (rs && rs->is_array()) {
    size_t ri = 0;
    for (const auto& rv : rs->get_array()) {
      ++ri;
      if (!rv.is_object()) continue;
      const auto& ro = rv.get_object();
      Rule rule;
      const auto* match = ro.if_contains("match");
      if (!match || !match->is_array() || match->get_array().empty()) {
        rule.always = true;
      } else {
        for (const auto& m : match->get_array()) {
          const json::value* vars = m.is_object() ? m.get_object().if_contains("vars") : nullptr;
          if (!vars || (vars->is_array() && vars->get_array().empty())) {
            rule.matches.push_back(nullptr);  // no condition: matches
            continue;
          }
          auto expr = router::Expr::compile(*vars);
          if (!expr) {
            return core::config_error("failed to validate the 'vars' expression: " +
                                      expr.error().message);
          }
          rule.matches.push_back(std::move(*expr));
        }
      }
      json::array defaults{json::object{{"weight", 1}}};
      const auto* wus = ro.if_contains("weighted_upstreams");
      const json::array& list = wus && wus->is_array() ? wus->get_array() : defaults;
      size_t wi = 0;
      for (const auto& wv : list) {
        ++wi;
        if (!wv.is_object()) continue;
        const auto& w = wv.get_object();
        Target t;
        // Bounded so that a rule's sum of at most 20 weights cannot overflow.
        t.weight = core::saturate<int32_t>(limits::conf_int(w, "weight", 1));
        if (t.weight <= 0) continue;
        if (const auto* id = w.if_contains("upstream_id")) {
          std::string sid;
          if (id->is_string()) {
            sid = std::string(id->get_string());
          } else if (id->is_int64()) {
            sid = std::to_string(id->get_int64());
          } else if (id->is_number()) {  // 1.0 or 1e30: an integral double
            sid = std::to_string(core::saturate<int64_t>(id->to_number<double>()));
          }
          t.upstream = scope.find_upstream ? scope.find_upstream(sid) : nullptr;
          if (!t.upstream) t.missing_id = sid;
        } else if (const auto* up = w.if_contains("upstream"); up && up->is_object()) {
          if (!scope.compile_upstream) {
            return core::config_error("traffic-split: inline upstreams cannot be compiled here");
          }
          json::object inline_up = up->get_object();
          for (const char* f : kDroppedUpstreamFields) inline_up.erase(f);
          auto compiled = scope.compile_upstream(inline_up);
          if (!compiled) {
            return core::config_error("rules[" + std::to_string(ri) + "].weighted_upstreams[" +
                                      std::to_string(wi) +
                                      "].upstream: " + compiled.error().message);
          }
          t.upstream = std::move(*compiled);
        }
        rule.total += t.weight;
        rule.targets.push_back(std::move(t));
      }
      rules.push_back(std::move(rule));
    }
  }
  return std::shared_ptr<const Plugin>(
      std::make_shared<TrafficSplit>(std::move(rules), scope.workers));
}

PluginInfo make_info() {
  PluginInfo info;
  info.name = "traffic-split";
  info.priority = 966;
  info.schema = make_schema();
  info.create = &create;
  return info;
}

const PluginRegistration kRegistration{make_info()};

}  // namespace
}  // namespace torii::plugins
