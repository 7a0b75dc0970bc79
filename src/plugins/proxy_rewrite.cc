// proxy-rewrite (APISIX priority 1008, rewrite phase): changes what is sent
// upstream: the request-target (`uri` with `$var`s, or the first matching
// `regex_uri` pair), the Host, the method and request headers (add, set,
// remove; or the legacy flat map, which sets). Query strings follow APISIX:
// the client's query is appended to the new URI (with '&' when the new URI
// has its own '?'), and the path part is %-escaped with nginx's URI rules.
//
// Security posture: `use_real_request_uri_unsafe` forwards the raw client
// request-target without normalisation or escaping (path traversal reaches
// the upstream as sent); it is off by default, as in APISIX. Header names
// and values from the legacy map are checked for forbidden bytes when the
// conf is built; values produced by variables ($arg_x and $uri are
// percent-decoded, so a client chooses their bytes) have control bytes
// escaped as %XX where they enter the head (http/safe_field.h), so they
// cannot add headers or a request.
#include <boost/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "plugins/plugin.h"
#include "plugins/plugin_registry.h"
#include "plugins/regex_sub.h"
#include "plugins/var_template.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;

struct HeaderOp {
  std::string name;
  VarTemplate value;  // `$N` are regex_uri captures, `$name` variables
};

struct ProxyRewriteConfig {
  std::optional<VarTemplate> uri;
  std::vector<RegexSub> regex_uri;  // one per [pattern, template] pair
  std::optional<std::string> method;
  std::optional<std::string> host;
  bool use_real_request_uri_unsafe = false;  // default false
  std::vector<HeaderOp> add, set;
  std::vector<std::string> remove;
};

constexpr const char* kSchema = R"json({
  "type": "object",
  "properties": {
    "uri": {
      "description": "new uri for upstream",
      "type": "string", "minLength": 1, "maxLength": 4096, "pattern": "^\\/.*"
    },
    "method": {
      "description": "proxy route method",
      "type": "string",
      "enum": ["GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "MKCOL", "COPY", "MOVE",
               "PROPFIND", "LOCK", "UNLOCK", "PATCH", "TRACE"]
    },
    "regex_uri": {
      "description": "new uri that substitute from client uri for upstream, lower priority than uri property",
      "type": "array", "minItems": 2,
      "items": {"description": "regex uri", "type": "string"}
    },
    "host": {
      "description": "new host for upstream",
      "type": "string", "pattern": "^[0-9a-zA-Z-.]+(:\\d{1,5})?$"
    },
    "headers": {
      "description": "new headers for request",
      "oneOf": [
        {
          "type": "object", "minProperties": 1, "additionalProperties": false,
          "properties": {
            "add": {
              "type": "object", "minProperties": 1,
              "patternProperties": {"^[^:]+$": {"oneOf": [{"type": "string"}, {"type": "number"}]}}
            },
            "set": {
              "type": "object", "minProperties": 1,
              "patternProperties": {"^[^:]+$": {"oneOf": [{"type": "string"}, {"type": "number"}]}}
            },
            "remove": {
              "type": "array", "minItems": 1,
              "items": {"type": "string", "pattern": "^[^:]+$"}
            }
          }
        },
        {
          "type": "object", "minProperties": 1,
          "patternProperties": {"^[^:]+$": {"oneOf": [{"type": "string"}, {"type": "number"}]}}
        }
      ]
    },
    "use_real_request_uri_unsafe": {
      "description": "use real_request_uri instead, THIS IS VERY UNSAFE.",
      "type": "boolean", "default": false
    }
  },
  "minProperties": 1
})json";

// core.utils.validate_header_field / validate_header_value.
bool valid_header_field(std::string_view f) {
  for (unsigned char b : f) {
    if (!(b > 32 && b < 127) || b == ':') return false;
  }
  return true;
}
bool valid_header_value(std::string_view v) {
  for (unsigned char b : v) {
    if (b < 32 || b >= 127) return false;
  }
  return true;
}

// APISIX's is_new_headers_conf: an add/set/remove key holding a table.
bool is_new_headers_conf(const json::object& h) {
  for (const char* k : {"add", "set", "remove"}) {
    const auto* v = h.if_contains(k);
    if (v && (v->is_object() || v->is_array())) return true;
  }
  return false;
}

// A `$var` value in the upstream URI cannot introduce a query separator.
void escape_separator(std::string_view value, std::string& out) {
  for (char c : value) {
    if (c == '?') {
      out.append("%3F");
    } else {
      out.push_back(c);
    }
  }
}

class ProxyRewrite final : public Plugin {
 public:
  explicit ProxyRewrite(ProxyRewriteConfig conf) : conf_(std::move(conf)) {}

  uint8_t phases() const override { return bit(Phase::kRewrite); }

  Step rewrite(PluginContext& ctx) const override {
    if (conf_.host) ctx.set_upstream_host(*conf_.host);

    const std::string_view base = conf_.use_real_request_uri_unsafe ? ctx.request_uri() : ctx.uri();
    // Captures of the matching regex_uri (views into `base`), for headers.
    thread_local std::vector<std::string_view> caps;
    caps.clear();
    bool separator_escaped = false;
    std::string uri;
    if (conf_.uri) {
      separator_escaped = true;
      conf_.uri->render(ctx, uri, {}, escape_separator);
    } else if (!conf_.regex_uri.empty()) {
      separator_escaped = base.find('?') == std::string_view::npos;
      bool matched = false;
      for (const auto& rx : conf_.regex_uri) {
        if (!rx.match(base, caps)) continue;
        // ngx.re.sub: the first match replaced, the rest kept.
        const auto start = static_cast<size_t>(caps[0].data() - base.data());
        uri.append(base.substr(0, start));
        rx.expand(caps, uri);
        uri.append(base.substr(start + caps[0].size()));
        matched = true;
        break;
      }
      if (!matched) {
        caps.clear();
        uri.assign(base);
      }
    } else {
      uri.assign(base);
    }

    if (conf_.use_real_request_uri_unsafe) {
      ctx.set_upstream_uri(std::move(uri));
    } else {
      const size_t index = separator_escaped ? uri.find('?') : std::string::npos;
      std::string target;
      target.reserve(uri.size() + ctx.query().size() + 16);
      if (index != std::string::npos) {
        uri_safe_encode(std::string_view(uri).substr(0, index), target);
        target.append(std::string_view(uri).substr(index));
      } else {
        uri_safe_encode(uri, target);
      }
      // nginx's $is_args: the client sent a '?', even with nothing after it.
      if (ctx.request_uri().find('?') != std::string_view::npos) {
        target.push_back(index != std::string::npos ? '&' : '?');
        target.append(ctx.query());
      }
      ctx.set_upstream_uri(std::move(target));
    }

    for (const auto& h : conf_.add) {
      ctx.add_request_header(h.name, h.value.render(ctx, caps));
    }
    for (const auto& h : conf_.set) {
      std::string v = h.value.render(ctx, caps);
      // ngx.req.set_header with an empty value removes the header.
      if (v.empty()) {
        ctx.remove_request_header(h.name);
      } else {
        ctx.set_request_header(h.name, std::move(v));
      }
    }
    for (const auto& name : conf_.remove) ctx.remove_request_header(name);

    if (conf_.method) ctx.set_upstream_method(*conf_.method);
    return kContinue;
  }

 private:
  ProxyRewriteConfig conf_;
};

core::Status parse_headers(const json::object& h, ProxyRewriteConfig& c) {
  auto add_ops = [](const json::value& v, std::vector<HeaderOp>& out) {
    if (!v.is_object()) return;
    for (const auto& [name, value] : v.get_object()) {
      out.push_back({std::string(name),
                     VarTemplate::compile(lua_tostring(value), VarTemplate::Grammar::kResolveVar,
                                          /*captures=*/true)});
    }
  };
  if (is_new_headers_conf(h)) {
    if (const auto* a = h.if_contains("add")) add_ops(*a, c.add);
    if (const auto* s = h.if_contains("set")) add_ops(*s, c.set);
    if (const auto* r = h.if_contains("remove"); r && r->is_array()) {
      for (const auto& n : r->get_array()) {
        if (n.is_string()) c.remove.emplace_back(n.get_string());
      }
    }
    return core::ok_status();
  }
  // The legacy flat map: every entry is a `set`, checked like APISIX's
  // check_set_headers.
  for (const auto& [name, value] : h) {
    if (!value.is_string() && !value.is_number()) {
      return core::config_error("invalid type as header value");
    }
    if (name.empty()) return core::config_error("invalid field length in header");
    if (!valid_header_field(name)) return core::config_error("invalid field character in header");
    if (value.is_string() && !valid_header_value(value.get_string())) {
      return core::config_error("invalid value character in header");
    }
  }
  add_ops(json::value(h), c.set);
  return core::ok_status();
}

core::Result<std::shared_ptr<const Plugin>> create(const json::object& conf, const PluginScope&) {
  ProxyRewriteConfig c;
  if (const auto* v = conf.if_contains("uri"); v && v->is_string()) {
    c.uri = VarTemplate::compile(v->get_string());
  }
  if (const auto* v = conf.if_contains("regex_uri"); v && v->is_array()) {
    const auto& arr = v->get_array();
    if (arr.size() % 2 != 0) {
      return core::config_error("The length of regex_uri should be an even number");
    }
    for (size_t i = 0; i + 1 < arr.size(); i += 2) {
      const std::string_view pattern = arr[i].get_string();
      const std::string_view tpl = arr[i + 1].get_string();
      auto rx = RegexSub::compile(pattern, tpl, "jo");
      if (!rx) {
        return core::config_error("invalid regex_uri(" + std::string(pattern) + ", " +
                                  std::string(tpl) + "): " + rx.error().message);
      }
      c.regex_uri.push_back(std::move(*rx));
    }
  }
  if (const auto* v = conf.if_contains("method"); v && v->is_string()) {
    c.method = std::string(v->get_string());
  }
  if (const auto* v = conf.if_contains("host"); v && v->is_string()) {
    c.host = std::string(v->get_string());
  }
  if (const auto* v = conf.if_contains("use_real_request_uri_unsafe"); v && v->is_bool()) {
    c.use_real_request_uri_unsafe = v->get_bool();
  }
  if (const auto* v = conf.if_contains("headers"); v && v->is_object()) {
    if (auto st = parse_headers(v->get_object(), c); !st) return st.error();
  }
  return std::shared_ptr<const Plugin>(std::make_shared<ProxyRewrite>(std::move(c)));
}

PluginInfo make_info() {
  PluginInfo info;
  info.name = "proxy-rewrite";
  info.priority = 1008;
  info.schema = json::parse(kSchema);
  info.create = create;
  return info;
}

const PluginRegistration kRegistration{make_info()};

}  // namespace
}  // namespace torii::plugins
