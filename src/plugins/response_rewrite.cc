// response-rewrite (APISIX priority 899, header_filter + body_filter):
// changes the response the client gets, from the upstream or from torii
// itself (a 401 from an auth plugin too): `status_code`, `headers` (add /
// set / remove, or the legacy flat map, which sets; values may use `$var`s),
// and the body: either a fixed `body` (optionally base64) or `filters`,
// regex substitutions run over the whole upstream body. All of it applies
// only when `vars` (lua-resty-expr over the request and response
// variables, e.g. [["status","==",500]]) holds.
//
// Body buffering: `filters` need the whole body, so it is held in memory up
// to `max_resp_body_size` bytes (default 64 MiB, APISIX's); bytes beyond
// that are dropped (the response is truncated), as APISIX does. A gzip,
// deflate or br body is decoded first (APISIX 3.8+ inflates gzip and br),
// the limit counting decoded bytes; a coding Torii cannot decode leaves the
// body and its headers untouched (filters do not run on it).
//
// Security posture: substitutions run on RE2 (linear time, no catastrophic
// backtracking); a regex RE2 cannot run is refused when the conf is built.
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/saturate.h"
#include "core/base64.h"
#include "http/body_decoder.h"
#include "http/request.h"
#include "plugins/plugin.h"
#include "plugins/plugin_registry.h"
#include "plugins/regex_sub.h"
#include "plugins/var_template.h"
#include "router/expr.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;

struct Filter {
  std::optional<RegexSub> regex;  // empty: a replacement ngx.re could not compile
  bool global = false;            // scope "global" (gsub) or "once" (sub, default)
};

struct ResponseRewriteConfig {
  std::optional<int> status_code;
  std::optional<std::string> body;  // already base64-decoded
  bool headers_usable = true;       // false: APISIX could not parse `headers.add`
  std::vector<std::pair<std::string, VarTemplate>> add, set;
  std::vector<std::string> remove;
  std::shared_ptr<const router::Expr> vars;  // null: always
  std::vector<Filter> filters;
  uint64_t max_resp_body_size = 67108864;  // default 64 MiB
};

constexpr const char* kSchema = R"json({
  "type": "object",
  "properties": {
    "headers": {
      "description": "new headers for response",
      "anyOf": [
        {
          "type": "object",
          "minProperties": 1,
          "patternProperties": {
            "^[^:]+$": {"oneOf": [{"type": "string"}, {"type": "number"}]}
          }
        },
        {
          "properties": {
            "add": {
              "type": "array", "minItems": 1,
              "items": {"type": "string", "pattern": "^[^:]+:[^:]+[^/]$"}
            },
            "set": {
              "type": "object", "minProperties": 1,
              "patternProperties": {
                "^[^:]+$": {"oneOf": [{"type": "string"}, {"type": "number"}]}
              }
            },
            "remove": {
              "type": "array", "minItems": 1,
              "items": {"type": "string", "pattern": "^[^:]+$"}
            }
          }
        }
      ]
    },
    "body": {"description": "new body for response", "type": "string"},
    "body_base64": {
      "description": "whether new body for response need base64 decode before return",
      "type": "boolean", "default": false
    },
    "status_code": {
      "description": "new status code for response",
      "type": "integer", "minimum": 200, "maximum": 598
    },
    "vars": {"type": "array"},
    "filters": {
      "description": "a group of filters that modify response bodyby replacing one specified string by another",
      "type": "array",
      "minItems": 1,
      "items": {
        "description": "filter that modifies response body",
        "type": "object",
        "required": ["regex", "replace"],
        "properties": {
          "regex": {"description": "match pattern on response body", "type": "string", "minLength": 1},
          "scope": {
            "description": "regex substitution range",
            "type": "string", "enum": ["once", "global"], "default": "once"
          },
          "replace": {"description": "regex substitution content", "type": "string"},
          "options": {"description": "regex options", "type": "string", "default": "jo"}
        }
      }
    },
    "max_resp_body_size": {
      "description": "maximum response body size in bytes buffered into memory for filters; larger responses are truncated",
      "type": "integer", "minimum": 1, "default": 67108864
    }
  },
  "dependencies": {
    "body": {"not": {"required": ["filters"]}},
    "filters": {"not": {"required": ["body"]}}
  }
})json";


// Per request: whether `vars` held (decided in header_filter) and the body
// held back for `filters`.
struct ResponseRewriteState final : RequestState {
  bool matched = false;
  bool truncated = false;
  // Content-Encoding is one filters cannot read and the plugin does not
  // undo: the body passes as it is, with its encoding headers.
  bool passthrough = false;
  std::unique_ptr<http::BodyDecoder> decoder;  // the upstream body's coding, when encoded
  bool decode_failed = false;
  std::string body;
};

bool is_identity(std::string_view coding) {
  while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t')) coding.remove_prefix(1);
  while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t')) coding.remove_suffix(1);
  return coding.empty() || http::iequals(coding, "identity");
}

class ResponseRewrite final : public Plugin {
 public:
  explicit ResponseRewrite(ResponseRewriteConfig conf) : conf_(std::move(conf)) {}

  uint8_t phases() const override {
    return conf_.filters.empty() ? bit(Phase::kHeaderFilter)
                                 : bit(Phase::kHeaderFilter) | bit(Phase::kBodyFilter);
  }

  void header_filter(PluginContext& ctx) const override {
    const bool matched = !conf_.vars || conf_.vars->eval(ctx);
    bool passthrough = false;
    if (!conf_.filters.empty()) {
      auto state = std::make_unique<ResponseRewriteState>();
      state->matched = matched;
      if (matched) filters_read_encoding(ctx, *state);
      passthrough = state->passthrough;
      ctx.state() = std::move(state);
    }
    if (!matched) return;

    if (conf_.status_code) ctx.set_response_status(*conf_.status_code);

    if ((!conf_.filters.empty() && !passthrough) || conf_.body) {
      // core.response.clear_header_as_body_modified
      ctx.remove_response_header("Content-Length");
      ctx.remove_response_header("Content-Encoding");
      ctx.remove_response_header("Last-Modified");
      ctx.remove_response_header("ETag");
    }
    if (conf_.body) ctx.replace_response_body(*conf_.body);

    if (!conf_.headers_usable) return;
    for (const auto& [name, value] : conf_.add) ctx.add_response_header(name, value.render(ctx));
    for (const auto& [name, value] : conf_.set) {
      std::string v = value.render(ctx);
      // ngx.header[name] = "" clears the header.
      if (v.empty()) {
        ctx.remove_response_header(name);
      } else {
        ctx.set_response_header(name, std::move(v));
      }
    }
    for (const auto& name : conf_.remove) ctx.remove_response_header(name);
  }

  void body_filter(PluginContext& ctx, std::string& chunk, bool last) const override {
    auto* state = static_cast<ResponseRewriteState*>(ctx.state().get());
    if (state == nullptr || !state->matched || state->passthrough) return;
    // Hold every chunk back (decoded) until the last one.
    if (state->decoder) {
      decode_piece(*state, chunk, last);
    } else {
      const uint64_t room = conf_.max_resp_body_size > state->body.size()
                                ? conf_.max_resp_body_size - state->body.size()
                                : 0;
      if (chunk.size() > room) {
        warn_truncated(*state);
        state->body.append(chunk, 0, static_cast<size_t>(room));
      } else {
        state->body.append(chunk);
      }
    }
    chunk.clear();
    if (!last) return;

    std::string body = std::move(state->body);
    std::string next;
    for (const auto& f : conf_.filters) {
      if (!f.regex) continue;
      next.clear();
      next.reserve(body.size());
      f.regex->substitute(body, next, f.global);
      body.swap(next);
    }
    chunk = std::move(body);
  }

 private:
  // Filters read text: a gzip / deflate / br body is decoded as it comes;
  // any other coding passes through untouched, headers included.
  static void filters_read_encoding(const PluginContext& ctx, ResponseRewriteState& state) {
    const auto encoding = ctx.response_header("Content-Encoding");
    if (!encoding || is_identity(*encoding)) return;
    if (auto coding = http::parse_content_coding(*encoding)) {
      state.decoder = std::make_unique<http::BodyDecoder>(*coding);
      return;
    }
    state.passthrough = true;
    spdlog::warn("response-rewrite: filters not applied: Content-Encoding \"{}\" cannot be decoded",
                 *encoding);
  }

  void decode_piece(ResponseRewriteState& state, std::string_view piece, bool last) const {
    if (state.decode_failed || state.truncated) return;
    auto r = state.decoder->feed(piece, state.body, static_cast<size_t>(conf_.max_resp_body_size));
    if (r && *r == http::BodyDecoder::Outcome::kLimit) {
      warn_truncated(state);
    } else if (!r) {
      state.decode_failed = true;
      spdlog::error("response-rewrite: upstream body cannot be decoded ({}); filters run on the {} bytes decoded before",
                    r.error().message, state.body.size());
    } else if (last) {
      if (auto st = state.decoder->finish(); !st) {
        spdlog::error("response-rewrite: upstream body cannot be decoded ({}); filters run on the {} bytes decoded before",
                      st.error().message, state.body.size());
      }
    }
  }

  void warn_truncated(ResponseRewriteState& state) const {
    if (!state.truncated) {
      spdlog::warn("response-rewrite: response body over max_resp_body_size ({} bytes), truncated",
                   conf_.max_resp_body_size);
    }
    state.truncated = true;
  }

  ResponseRewriteConfig conf_;
};

bool is_new_headers_conf(const json::object& h) {
  for (const char* k : {"add", "set", "remove"}) {
    const auto* v = h.if_contains(k);
    if (v && (v->is_object() || v->is_array())) return true;
  }
  return false;
}

// APISIX's `^([^:\s]+)\s*:\s*([^:]+)$` on a headers.add item.
bool split_add_header(std::string_view item, std::string& name, std::string& value) {
  auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  size_t i = 0;
  while (i < item.size() && item[i] != ':' && !is_space(item[i])) ++i;
  if (i == 0) return false;
  name.assign(item.substr(0, i));
  while (i < item.size() && is_space(item[i])) ++i;
  if (i >= item.size() || item[i] != ':') return false;
  ++i;
  while (i < item.size() && is_space(item[i])) ++i;
  const std::string_view rest = item.substr(i);
  if (rest.empty() || rest.find(':') != std::string_view::npos) return false;
  value.assign(rest);
  return true;
}

core::Status parse_headers(const json::object& h, ResponseRewriteConfig& c) {
  auto add_set = [&](const json::object& o) {
    for (const auto& [name, value] : o) {
      c.set.emplace_back(std::string(name), VarTemplate::compile(lua_tostring(value)));
    }
  };
  if (!is_new_headers_conf(h)) {
    for (const auto& [name, value] : h) {
      if (!value.is_string() && !value.is_number()) {
        return core::config_error("invalid type as header value");
      }
      if (name.empty()) return core::config_error("invalid field length in header");
    }
    add_set(h);
    return core::ok_status();
  }
  if (const auto* a = h.if_contains("add"); a && a->is_array()) {
    for (const auto& item : a->get_array()) {
      std::string name, value;
      if (!item.is_string() || !split_add_header(item.get_string(), name, value)) {
        // APISIX fails to build its header operations at run time and then
        // skips all of them; keep that, and say so now.
        spdlog::warn(
            "response-rewrite: headers.add item {} is not \"Name: value\"; the "
            "headers of this conf are ignored, as in APISIX",
            json::serialize(item));
        c.headers_usable = false;
        continue;
      }
      c.add.emplace_back(std::move(name), VarTemplate::compile(value));
    }
  }
  if (const auto* s = h.if_contains("set"); s && s->is_object()) add_set(s->get_object());
  if (const auto* r = h.if_contains("remove"); r && r->is_array()) {
    for (const auto& n : r->get_array()) {
      if (n.is_string()) c.remove.emplace_back(n.get_string());
    }
  }
  return core::ok_status();
}

core::Result<std::shared_ptr<const Plugin>> create(const json::object& conf, const PluginScope&) {
  ResponseRewriteConfig c;
  if (const auto* v = conf.if_contains("headers"); v && v->is_object()) {
    if (auto st = parse_headers(v->get_object(), c); !st) return st.error();
  }
  const auto* body = conf.if_contains("body");
  const auto* b64 = conf.if_contains("body_base64");
  if (b64 && b64->is_bool() && b64->get_bool()) {
    if (!body || !body->is_string() || body->get_string().empty()) {
      return core::config_error("invalid base64 content");
    }
    auto decoded = core::base64_decode(body->get_string());
    if (!decoded) return core::config_error("invalid base64 content");
    c.body = std::move(*decoded);
  } else if (body && body->is_string()) {
    c.body = std::string(body->get_string());
  }
  if (const auto* v = conf.if_contains("status_code"); v && v->is_number()) {
    c.status_code = core::saturate<int>(v->to_number<double>());
  }
  // `{}` is Lua's empty table, which the schema lets through as an array.
  if (const auto* v = conf.if_contains("vars"); v && v->is_array()) {
    auto e = router::Expr::compile(*v);
    if (!e) {
      return core::config_error("failed to validate the 'vars' expression: " + e.error().message);
    }
    c.vars = std::move(*e);
  }
  if (const auto* v = conf.if_contains("filters"); v && v->is_array()) {
    for (const auto& item : v->get_array()) {
      if (!item.is_object()) continue;
      const auto& f = item.get_object();
      const auto* rx = f.if_contains("regex");
      const auto* rep = f.if_contains("replace");
      const auto* scope = f.if_contains("scope");
      const auto* opts = f.if_contains("options");
      const std::string_view regex = rx && rx->is_string() ? std::string_view(rx->get_string()) : std::string_view("");
      const std::string_view replace = rep && rep->is_string() ? std::string_view(rep->get_string()) : std::string_view("");
      const std::string_view options = opts && opts->is_string() ? std::string_view(opts->get_string()) : std::string_view("jo");
      Filter filter;
      filter.global = scope && scope->is_string() && scope->get_string() == "global";
      // Validate the regex alone first: that is what APISIX checks.
      if (auto only = RegexSub::compile(regex, "", options); !only) {
        return core::config_error("regex \"" + std::string(regex) +
                                  "\" validation failed: " + only.error().message);
      }
      auto compiled = RegexSub::compile(regex, replace, options);
      if (compiled) {
        filter.regex = std::move(*compiled);
      } else {
        // APISIX accepts the conf and fails at run time; the body passes
        // through this filter unchanged here.
        spdlog::warn(
            "response-rewrite: filter regex \"{}\": replace \"{}\": {}; the filter is "
            "skipped",
            regex, replace, compiled.error().message);
      }
      c.filters.push_back(std::move(filter));
    }
  }
  if (const auto* v = conf.if_contains("max_resp_body_size"); v && v->is_number()) {
    c.max_resp_body_size = core::saturate<uint64_t>(v->to_number<double>());
  }
  return std::shared_ptr<const Plugin>(std::make_shared<ResponseRewrite>(std::move(c)));
}

PluginInfo make_info() {
  PluginInfo info;
  info.name = "response-rewrite";
  info.priority = 899;
  info.schema = json::parse(kSchema);
  info.create = create;
  return info;
}

const PluginRegistration kRegistration{make_info()};

}  // namespace
}  // namespace torii::plugins
