// ua-restriction (priority 2999): allows or denies a request by its
// User-Agent, as APISIX's plugin.
//
// Phase: access. Exactly one of `allowlist` / `denylist` (regexes, each an
// unanchored search, as APISIX's ngx.re.find "jo") is set. The User-Agent is
// stripped of surrounding whitespace first. A request without User-Agent is
// refused unless `bypass_missing`. A refused request gets 403 with
// {"message":"<message>"} (default "Not allowed").
//
// Several User-Agent headers: allowlist passes when any of them matches;
// denylist refuses when any of them matches. (APISIX 3.x inverts the latter
// by mistake, letting a denied agent through behind a second, innocent
// header; Torii does not reproduce that.)
//
// Security posture: patterns run on RE2 (linear time, no catastrophic
// backtracking) as one set; PCRE-only constructs (look-around,
// back-references) are refused when the plugin is built, naming the item.
#include <boost/json.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/plugin.h"
#include "plugins/plugin_registry.h"
#include "plugins/regex_set.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;

struct UaRestrictionConfig {
  bool bypass_missing = false;
  bool is_allowlist = false;  // else denylist
  RegexSet patterns;
  std::string message = "Not allowed";
};

constexpr std::string_view kSchema = R"json({
  "type": "object",
  "properties": {
    "bypass_missing": {
      "type": "boolean",
      "default": false
    },
    "allowlist": {
      "type": "array",
      "minItems": 1,
      "items": {"type": "string", "minLength": 1}
    },
    "denylist": {
      "type": "array",
      "minItems": 1,
      "items": {"type": "string", "minLength": 1}
    },
    "message": {
      "type": "string",
      "minLength": 1,
      "maxLength": 1024,
      "default": "Not allowed"
    }
  },
  "oneOf": [
    {"required": ["allowlist"]},
    {"required": ["denylist"]}
  ]
})json";

// pl.stringx.strip: Lua's %s (space, \t, \n, \v, \f, \r) on both ends.
std::string_view strip(std::string_view s) {
  constexpr std::string_view kSpace = " \t\n\v\f\r";
  size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(kSpace);
  return s.substr(b, e - b + 1);
}

class UaRestriction final : public Plugin {
 public:
  explicit UaRestriction(UaRestrictionConfig conf)
      : conf_(std::move(conf)), reject_(Exit::message(403, conf_.message)) {}

  uint8_t phases() const override { return bit(Phase::kAccess); }

  Step access(PluginContext& ctx) const override {
    std::vector<std::string_view> agents = ctx.request_headers("User-Agent");
    if (agents.empty()) {
      if (conf_.bypass_missing) return kContinue;
      return reject_;
    }
    bool any_match = false;
    for (std::string_view ua : agents) {
      if (conf_.patterns.matches(strip(ua))) {
        any_match = true;
        break;
      }
    }
    bool pass = conf_.is_allowlist ? any_match : !any_match;
    if (!pass) return reject_;
    return kContinue;
  }

 private:
  UaRestrictionConfig conf_;
  Exit reject_;  // serialised once
};

core::Result<std::shared_ptr<const Plugin>> create(const json::object& conf, const PluginScope&) {
  UaRestrictionConfig c;
  if (const auto* v = conf.if_contains("bypass_missing"); v && v->is_bool()) {
    c.bypass_missing = v->get_bool();
  }
  if (const auto* v = conf.if_contains("message"); v && v->is_string()) {
    c.message = std::string(v->get_string());
  }
  c.is_allowlist = conf.contains("allowlist");
  std::string_view field = c.is_allowlist ? "allowlist" : "denylist";
  std::vector<std::string> patterns;
  if (const auto* v = conf.if_contains(field); v && v->is_array()) {
    for (const auto& item : v->get_array()) {
      if (item.is_string()) patterns.emplace_back(item.get_string());
    }
  }
  auto set = RegexSet::build(patterns, field, false);
  if (!set) return set.error();
  c.patterns = std::move(*set);
  return std::shared_ptr<const Plugin>(std::make_shared<UaRestriction>(std::move(c)));
}

PluginInfo make_info() {
  PluginInfo info;
  info.name = "ua-restriction";
  info.priority = 2999;
  info.schema = json::parse(kSchema);
  info.create = create;
  return info;
}

}  // namespace

namespace {
const plugins::PluginRegistration kRegistration{make_info()};
}

}  // namespace torii::plugins
