// uri-blocker (priority 2900): refuses requests whose URI matches one of the
// `block_rules` regexes, as APISIX's plugin.
//
// Phase: rewrite. The subject is $request_uri: the raw request-target as the
// client sent it, query string included, not decoded. Rules are unanchored
// searches, all tried in one pass (RE2::Set; APISIX joins them with '|');
// `case_insensitive` applies to every rule. A match answers
// `rejected_code` (default 403) with {"error_msg":"<rejected_msg>"} when
// rejected_msg is set, else the status's default error page.
//
// As in APISIX, an empty `block_rules` is the empty regex, which matches
// every URI: the route is blocked entirely.
//
// Security posture: match on the raw target means a rule for "/admin" does
// not see "/%61dmin"; write rules for the encoded forms too, or block on
// route matching (which uses the decoded path) instead. Patterns run on RE2
// (linear time); PCRE-only constructs are refused when the plugin is built.
#include <boost/json.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/plugin.h"
#include "plugins/plugin_registry.h"
#include "plugins/regex_set.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;

struct UriBlockerConfig {
  bool block_all = false;  // block_rules is empty
  RegexSet block_rules;
  int rejected_code = 403;
  std::optional<std::string> rejected_msg;
  bool case_insensitive = false;
};

constexpr std::string_view kSchema = R"json({
  "type": "object",
  "properties": {
    "block_rules": {
      "type": "array",
      "items": {"type": "string", "minLength": 1, "maxLength": 4096},
      "uniqueItems": true
    },
    "rejected_code": {
      "type": "integer",
      "minimum": 200,
      "default": 403
    },
    "rejected_msg": {
      "type": "string",
      "minLength": 1
    },
    "case_insensitive": {
      "type": "boolean",
      "default": false
    }
  },
  "required": ["block_rules"]
})json";

class UriBlocker final : public Plugin {
 public:
  explicit UriBlocker(UriBlockerConfig conf) : conf_(std::move(conf)) {
    if (conf_.rejected_msg) {
      json::object body;
      body["error_msg"] = *conf_.rejected_msg;
      reject_ = Exit::json(conf_.rejected_code, body);
    } else {
      reject_.status = conf_.rejected_code;
    }
  }

  uint8_t phases() const override { return bit(Phase::kRewrite); }

  Step rewrite(PluginContext& ctx) const override {
    if (conf_.block_all || conf_.block_rules.matches(ctx.request_uri())) return reject_;
    return kContinue;
  }

 private:
  UriBlockerConfig conf_;
  Exit reject_;  // built once
};

core::Result<std::shared_ptr<const Plugin>> create(const json::object& conf, const PluginScope&) {
  UriBlockerConfig c;
  if (const auto* v = conf.if_contains("rejected_code"); v && v->is_number()) {
    double d = v->to_number<double>();
    // No maximum in APISIX's schema; a status line has three digits.
    c.rejected_code = d > 999 ? 999 : static_cast<int>(d);
  }
  if (const auto* v = conf.if_contains("rejected_msg"); v && v->is_string()) {
    c.rejected_msg = std::string(v->get_string());
  }
  if (const auto* v = conf.if_contains("case_insensitive"); v && v->is_bool()) {
    c.case_insensitive = v->get_bool();
  }
  std::vector<std::string> rules;
  if (const auto* v = conf.if_contains("block_rules"); v && v->is_array()) {
    for (const auto& item : v->get_array()) {
      if (item.is_string()) rules.emplace_back(item.get_string());
    }
  }
  c.block_all = rules.empty();
  auto set = RegexSet::build(rules, "block_rules", c.case_insensitive);
  if (!set) return set.error();
  c.block_rules = std::move(*set);
  return std::shared_ptr<const Plugin>(std::make_shared<UriBlocker>(std::move(c)));
}

PluginInfo make_info() {
  PluginInfo info;
  info.name = "uri-blocker";
  info.priority = 2900;
  info.schema = json::parse(kSchema);
  info.create = create;
  return info;
}

}  // namespace

namespace {
const plugins::PluginRegistration kRegistration{make_info()};
}

}  // namespace torii::plugins
