// cors (priority 4000): Cross-Origin Resource Sharing, as APISIX's plugin.
//
// Phases: rewrite answers every OPTIONS request itself (200, empty body), so
// a preflight never reaches authentication or the upstream; header_filter
// adds the Access-Control-* headers to every response of the route, early
// answers included (a 401 from key-auth, this plugin's own 200).
//
// Origin selection (APISIX 3.x header_filter): `allow_origins_by_regex`, when
// set, replaces `allow_origins`; `allow_origins_by_metadata` comes first and
// falls back to a non-"*" `allow_origins`. The header is only sent when the
// selected value is "*" or equals the request's Origin; otherwise the
// response carries no CORS header at all. `Timing-Allow-Origin` is chosen the
// same way from `timing_allow_origins(_by_regex)`, independently.
//
// Security posture: "**" reflects any Origin (and with allow_credential that
// lets every site read credentialed responses); "*" together with
// allow_credential is refused, as the CORS spec forbids it. Origins are
// compared exactly (byte for byte), regexes are unanchored searches as in
// APISIX, so write `^https://(.*\.)?example\.com$`, not `example.com`.
//
// `allow_origins_by_metadata` names keys of the plugin_metadata of cors
// (`allow_origins`: {key: "<origins as in allow_origins>"}); the lists are
// resolved when the instance is built and the first that selects the Origin
// wins. A metadata change rebuilds the instances.
#include <algorithm>
#include <boost/json.hpp>
#include <cstdint>
#include <functional>
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

constexpr std::string_view kAllMethods = "GET,POST,PUT,DELETE,PATCH,HEAD,OPTIONS,CONNECT,TRACE";

// An `allow_origins`-style value, split once: "*", "**", one origin, or a
// comma list (matched as a set of exact strings).
struct OriginList {
  bool configured = false;
  std::string value;                  // as configured
  bool any = false;                   // "*"
  bool reflect = false;               // "**"
  std::vector<std::string> multiple;  // sorted; non-empty for a comma list

  static OriginList parse(std::string v) {
    OriginList o;
    o.configured = true;
    o.any = v == "*";
    o.reflect = v == "**";
    if (v.find(',') != std::string::npos) {
      size_t start = 0;
      while (start <= v.size()) {
        size_t comma = v.find(',', start);
        if (comma == std::string::npos) comma = v.size();
        if (comma > start) o.multiple.push_back(v.substr(start, comma - start));
        start = comma + 1;
      }
      std::sort(o.multiple.begin(), o.multiple.end());
    }
    o.value = std::move(v);
    return o;
  }

  // APISIX process_with_allow_origins: the value to send, or nothing.
  std::optional<std::string_view> select(std::optional<std::string_view> origin) const {
    if (reflect) return origin ? *origin : std::string_view("*");
    if (!multiple.empty()) {
      if (origin && std::binary_search(multiple.begin(), multiple.end(), *origin, std::less<>())) {
        return *origin;
      }
      return std::nullopt;
    }
    return std::string_view(value);
  }
};

// APISIX match_origins: the selected value may be sent for this Origin.
bool origin_matches(std::optional<std::string_view> origin,
                    std::optional<std::string_view> selected) {
  if (!selected) return false;
  return *selected == "*" || (origin && *origin == *selected);
}

struct CorsConfig {
  OriginList allow_origins = OriginList::parse("*");
  std::string allow_methods = "*";
  std::string allow_headers = "*";
  std::optional<std::string> expose_headers;  // no default: header not sent
  int64_t max_age = 5;
  bool allow_credential = false;
  bool has_origin_regex = false;
  RegexSet allow_origins_by_regex;
  bool has_metadata_keys = false;  // allow_origins_by_metadata (see header)
  std::vector<OriginList> metadata_origins;  // its keys' values, in conf order
  OriginList timing_allow_origins;
  bool has_timing_regex = false;
  RegexSet timing_allow_origins_by_regex;
};

constexpr std::string_view kSchema = R"json({
  "type": "object",
  "properties": {
    "allow_origins": {
      "description": "you can use '*' to allow all origins when no credentials,'**' to allow forcefully(it will bring some security risks, be carefully),multiple origin use ',' to split. default: *.",
      "type": "string",
      "pattern": "^(\\*|\\*\\*|null|\\w+://[^,]+(,\\w+://[^,]+)*)$",
      "default": "*"
    },
    "allow_methods": {
      "description": "you can use '*' to allow all methods when no credentials,'**' to allow forcefully(it will bring some security risks, be carefully),multiple method use ',' to split. default: *.",
      "type": "string",
      "default": "*"
    },
    "allow_headers": {
      "description": "you can use '*' to allow all header when no credentials,'**' to allow forcefully(it will bring some security risks, be carefully),multiple header use ',' to split. default: *.",
      "type": "string",
      "default": "*"
    },
    "expose_headers": {
      "description": "you can use '*' to expose all header when no credentials,'**' to allow forcefully(it will bring some security risks, be carefully),multiple header use ',' to split. default: nil.",
      "type": "string"
    },
    "max_age": {
      "description": "maximum number of seconds the results can be cached.-1 means no cached, the max value is depend on browser,more details plz check MDN. default: 5.",
      "type": "integer",
      "default": 5
    },
    "allow_credential": {
      "description": "allow client append credential. according to CORS specification,if you set this option to 'true', you can not use '*' for other options.",
      "type": "boolean",
      "default": false
    },
    "allow_origins_by_regex": {
      "type": "array",
      "description": "you can use regex to allow specific origins when no credentials,for example use [.*\\.test.com$] to allow a.test.com and b.test.com",
      "items": {"type": "string", "minLength": 1, "maxLength": 4096},
      "minItems": 1,
      "uniqueItems": true
    },
    "allow_origins_by_metadata": {
      "type": "array",
      "description": "set allowed origins by referencing origins in plugin metadata",
      "items": {"type": "string", "minLength": 1, "maxLength": 4096},
      "minItems": 1,
      "uniqueItems": true
    },
    "timing_allow_origins": {
      "description": "you can use '*' to allow all origins which can view timing information when no credentials,'**' to allow forcefully (it will bring some security risks, be careful),multiple origin use ',' to split. default: nil",
      "type": "string",
      "pattern": "^(\\*|\\*\\*|null|\\w+://[^,]+(,\\w+://[^,]+)*)$"
    },
    "timing_allow_origins_by_regex": {
      "type": "array",
      "description": "you can use regex to allow specific origins which can view timing information,for example use [.*\\.test.com] to allow a.test.com and b.test.com",
      "items": {"type": "string", "minLength": 1, "maxLength": 4096},
      "minItems": 1,
      "uniqueItems": true
    }
  }
})json";

constexpr std::string_view kMetadataSchema = R"json({
  "type": "object",
  "properties": {
    "allow_origins": {
      "type": "object",
      "additionalProperties": {
        "type": "string",
        "pattern": "^(\\*|\\*\\*|null|\\w+://[^,]+(,\\w+://[^,]+)*)$"
      }
    }
  }
})json";

std::optional<std::string> opt_string(const json::object& conf, std::string_view key) {
  const auto* v = conf.if_contains(key);
  if (!v || !v->is_string()) return std::nullopt;
  return std::string(v->get_string());
}

std::vector<std::string> string_list(const json::object& conf, std::string_view key) {
  std::vector<std::string> out;
  const auto* v = conf.if_contains(key);
  if (!v || !v->is_array()) return out;
  for (const auto& item : v->get_array()) {
    if (item.is_string()) out.emplace_back(item.get_string());
  }
  return out;
}

class Cors final : public Plugin {
 public:
  explicit Cors(CorsConfig conf) : conf_(std::move(conf)) {
    // The answer depends on the request's Origin unless it is a plain "*".
    vary_origin_ = !conf_.allow_origins.any || conf_.has_origin_regex || conf_.has_metadata_keys;
    max_age_ = std::to_string(conf_.max_age);
    allow_methods_ = conf_.allow_methods == "**" ? std::string(kAllMethods) : conf_.allow_methods;
  }

  uint8_t phases() const override { return bit(Phase::kRewrite) | bit(Phase::kHeaderFilter); }

  Step rewrite(PluginContext& ctx) const override {
    if (ctx.method_token() == "OPTIONS") {
      Exit e;
      e.status = 200;
      return e;
    }
    return kContinue;
  }

  void header_filter(PluginContext& ctx) const override {
    std::optional<std::string_view> origin = ctx.request_header("Origin");
    if (vary_origin_) ctx.add_response_header("Vary", "Origin");

    std::optional<std::string_view> allow;
    bool use_local = true;
    if (conf_.has_metadata_keys) {
      for (const OriginList& list : conf_.metadata_origins) {
        allow = list.select(origin);
        if (allow) break;
      }
      // Nothing selected: APISIX falls back to a non-"*" allow_origins only.
      use_local = !allow && !conf_.allow_origins.any;
    }
    if (use_local) {
      if (conf_.has_origin_regex) {
        if (origin && conf_.allow_origins_by_regex.matches(*origin)) allow = origin;
      } else {
        allow = conf_.allow_origins.select(origin);
      }
    }
    if (origin_matches(origin, allow)) set_cors_headers(ctx, *allow);

    std::optional<std::string_view> timing;
    if (conf_.has_timing_regex) {
      if (origin && conf_.timing_allow_origins_by_regex.matches(*origin)) timing = origin;
    } else if (conf_.timing_allow_origins.configured) {
      timing = conf_.timing_allow_origins.select(origin);
    }
    if (origin_matches(origin, timing)) {
      ctx.set_response_header("Timing-Allow-Origin", std::string(*timing));
    }
  }

 private:
  void set_cors_headers(PluginContext& ctx, std::string_view allow_origin) const {
    ctx.set_response_header("Access-Control-Allow-Origin", std::string(allow_origin));
    ctx.set_response_header("Access-Control-Allow-Methods", allow_methods_);
    ctx.set_response_header("Access-Control-Max-Age", max_age_);
    if (conf_.expose_headers && !conf_.expose_headers->empty()) {
      ctx.set_response_header("Access-Control-Expose-Headers", *conf_.expose_headers);
    }
    if (conf_.allow_headers == "**") {
      // Reflects the preflight's request; absent: no header at all (APISIX
      // sets nil, which also clears the upstream's).
      if (auto requested = ctx.request_header("Access-Control-Request-Headers")) {
        ctx.set_response_header("Access-Control-Allow-Headers", std::string(*requested));
      } else {
        ctx.remove_response_header("Access-Control-Allow-Headers");
      }
    } else {
      ctx.set_response_header("Access-Control-Allow-Headers", conf_.allow_headers);
    }
    if (conf_.allow_credential) ctx.set_response_header("Access-Control-Allow-Credentials", "true");
  }

  CorsConfig conf_;
  bool vary_origin_ = false;
  std::string max_age_;
  std::string allow_methods_;
};

core::Result<std::shared_ptr<const Plugin>> create(const json::object& conf, const PluginScope& scope) {
  CorsConfig c;
  if (auto v = opt_string(conf, "allow_origins"))
    c.allow_origins = OriginList::parse(std::move(*v));
  if (auto v = opt_string(conf, "allow_methods")) c.allow_methods = std::move(*v);
  if (auto v = opt_string(conf, "allow_headers")) c.allow_headers = std::move(*v);
  c.expose_headers = opt_string(conf, "expose_headers");
  if (const auto* v = conf.if_contains("max_age")) {
    if (v->is_int64()) {
      c.max_age = v->get_int64();
    } else if (v->is_number()) {  // 5.0, or beyond int64: clamp
      double d = v->to_number<double>();
      c.max_age = d >= 9.2e18 ? INT64_MAX : (d <= -9.2e18 ? INT64_MIN : static_cast<int64_t>(d));
    }
  }
  if (const auto* v = conf.if_contains("allow_credential"); v && v->is_bool()) {
    c.allow_credential = v->get_bool();
  }
  auto timing = opt_string(conf, "timing_allow_origins");
  // APISIX's check_schema, with the defaults applied first.
  if (c.allow_credential &&
      (c.allow_origins.value == "*" || c.allow_methods == "*" || c.allow_headers == "*" ||
       (c.expose_headers && *c.expose_headers == "*") || (timing && *timing == "*"))) {
    return core::config_error(
        "you can not set '*' for other option when 'allow_credential' is true");
  }
  if (timing) c.timing_allow_origins = OriginList::parse(std::move(*timing));

  if (conf.contains("allow_origins_by_regex")) {
    auto set = RegexSet::build(string_list(conf, "allow_origins_by_regex"),
                               "allow_origins_by_regex", false);
    if (!set) return set.error();
    c.allow_origins_by_regex = std::move(*set);
    c.has_origin_regex = true;
  }
  if (conf.contains("timing_allow_origins_by_regex")) {
    auto set = RegexSet::build(string_list(conf, "timing_allow_origins_by_regex"),
                               "timing_allow_origins_by_regex", false);
    if (!set) return set.error();
    c.timing_allow_origins_by_regex = std::move(*set);
    c.has_timing_regex = true;
  }
  const std::vector<std::string> metadata_keys = string_list(conf, "allow_origins_by_metadata");
  c.has_metadata_keys = !metadata_keys.empty();
  const json::value* map = scope.metadata ? scope.metadata->if_contains("allow_origins") : nullptr;
  if (map && map->is_object()) {
    for (const std::string& key : metadata_keys) {
      const auto* v = map->get_object().if_contains(key);
      if (v && v->is_string()) c.metadata_origins.push_back(OriginList::parse(std::string(v->get_string())));
    }
  }
  return std::shared_ptr<const Plugin>(std::make_shared<Cors>(std::move(c)));
}

PluginInfo make_info() {
  PluginInfo info;
  info.name = "cors";
  info.priority = 4000;
  info.schema = json::parse(kSchema);
  info.metadata_schema = json::parse(kMetadataSchema);
  info.create = create;
  return info;
}

}  // namespace

namespace {
const plugins::PluginRegistration kRegistration{make_info()};
}

}  // namespace torii::plugins
