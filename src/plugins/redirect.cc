// redirect (APISIX priority 900, rewrite phase): answers with a redirect
// instead of proxying. The Location is one of: `uri` (with `$var` / `${var}`),
// the first match of `regex_uri` (no match: the request goes on upstream),
// or, with `http_to_https`, https://$host$request_uri for plain-HTTP
// requests (301 for GET/HEAD, 308 otherwise; `ret_code` is ignored then),
// with the TLS port of redirect.h unless it is 443.
// `encode_uri` %-escapes the path part; `append_query_string` appends the
// client's query. The body is nginx's HTML page for the status.
//
// Security posture: Location values built from `$var`s carry client input
// (host, args) into the response header as received; `encode_uri` escapes
// the path part only. X-Forwarded-Proto from the client is trusted for
// http_to_https, as in APISIX.
#include "plugins/redirect.h"

#include <boost/json.hpp>
#include <atomic>
#include <optional>
#include <string>

#include "core/saturate.h"
#include "http/local_reply.h"
#include "plugins/plugin.h"
#include "plugins/plugin_registry.h"
#include "plugins/regex_sub.h"
#include "plugins/var_template.h"

namespace torii::plugins {

namespace {
std::atomic<uint16_t> g_https_port{443};

std::string https_location_template() {
  const uint16_t port = g_https_port.load(std::memory_order_relaxed);
  if (port == 443) return "https://$host$request_uri";
  return "https://$host:" + std::to_string(port) + "$request_uri";
}
}  // namespace

void redirect::set_https_port(uint16_t port) {
  g_https_port.store(port, std::memory_order_relaxed);
}

namespace {

namespace json = boost::json;

struct RedirectConfig {
  int ret_code = 302;
  std::optional<VarTemplate> uri;
  std::optional<RegexSub> regex_uri;
  bool http_to_https = false;
  bool encode_uri = false;
  bool append_query_string = false;
};

// `uri.pattern` is APISIX's segment regex: \$name | ${name} | $name | $ | others.
constexpr const char* kSchema = R"json({
  "type": "object",
  "properties": {
    "ret_code": {"type": "integer", "minimum": 200, "default": 302},
    "uri": {
      "type": "string", "minLength": 2,
      "pattern": "(\\\\\\$[0-9a-zA-Z_]+)|\\$\\{([0-9a-zA-Z_]+)\\}|\\$([0-9a-zA-Z_]+)|(\\$|[^$\\\\]+)"
    },
    "regex_uri": {
      "description": "params for generating new uri that substitute from client uri, first param is regular expression, the second one is uri template",
      "type": "array", "maxItems": 2, "minItems": 2,
      "items": {"description": "regex uri", "type": "string"}
    },
    "http_to_https": {"type": "boolean"},
    "encode_uri": {"type": "boolean", "default": false},
    "append_query_string": {"type": "boolean", "default": false}
  },
  "oneOf": [
    {"required": ["uri"]},
    {"required": ["regex_uri"]},
    {"required": ["http_to_https"]}
  ]
})json";

// nginx sends an HTML page with these redirects; other codes below 400
// go out with an empty body (>= 400: the runtime's error page).
bool has_nginx_page(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

class Redirect final : public Plugin {
 public:
  explicit Redirect(RedirectConfig conf)
      : conf_(std::move(conf)),
        https_uri_(
            VarTemplate::compile(https_location_template(), VarTemplate::Grammar::kRedirect)) {}

  uint8_t phases() const override { return bit(Phase::kRewrite); }

  Step rewrite(PluginContext& ctx) const override {
    int ret_code = conf_.ret_code;
    const VarTemplate* tpl = conf_.uri ? &*conf_.uri : nullptr;
    if (conf_.http_to_https) {
      auto proto = ctx.request_header("X-Forwarded-Proto");
      const std::string_view scheme = proto ? *proto : ctx.scheme();
      if (scheme == "http") {
        tpl = &https_uri_;
        const auto m = ctx.method_token();
        ret_code = (m == "GET" || m == "HEAD") ? 301 : 308;
      }
    }

    std::string location;
    if (tpl) {
      tpl->render(ctx, location);
    } else if (conf_.regex_uri) {
      thread_local std::vector<std::string_view> caps;
      const std::string_view uri = ctx.uri();
      if (!conf_.regex_uri->match(uri, caps)) return kContinue;
      const auto start = static_cast<size_t>(caps[0].data() - uri.data());
      location.append(uri.substr(0, start));
      conf_.regex_uri->expand(caps, location);
      location.append(uri.substr(start + caps[0].size()));
    } else {
      return kContinue;  // http_to_https on a request that is already https
    }

    const size_t index = location.find('?');
    if (conf_.encode_uri) {
      std::string encoded;
      if (index != std::string::npos) {
        uri_safe_encode(std::string_view(location).substr(0, index), encoded);
        encoded.append(std::string_view(location).substr(index));
      } else {
        uri_safe_encode(location, encoded);
      }
      location = std::move(encoded);
    }
    if (conf_.append_query_string && ctx.request_uri().find('?') != std::string_view::npos) {
      location.push_back(index != std::string::npos ? '&' : '?');
      location.append(ctx.query());
    }

    Exit e;
    e.status = ret_code;
    if (has_nginx_page(ret_code)) {
      e.body = http::html_error_page(ret_code);
      e.content_type = "text/html";
    }
    e.headers.emplace_back("Location", std::move(location));
    return e;
  }

 private:
  RedirectConfig conf_;
  VarTemplate https_uri_;
};

core::Result<std::shared_ptr<const Plugin>> create(const json::object& conf, const PluginScope&) {
  RedirectConfig c;
  if (const auto* v = conf.if_contains("ret_code"); v && v->is_number()) {
    c.ret_code = core::saturate<int>(v->to_number<double>());
  }
  if (const auto* v = conf.if_contains("uri"); v && v->is_string()) {
    c.uri = VarTemplate::compile(v->get_string(), VarTemplate::Grammar::kRedirect);
  }
  if (const auto* v = conf.if_contains("regex_uri");
      v && v->is_array() && v->get_array().size() == 2) {
    const auto& a = v->get_array();
    const std::string_view pattern = a[0].is_string() ? std::string_view(a[0].get_string()) : std::string_view("");
    const std::string_view tpl = a[1].is_string() ? std::string_view(a[1].get_string()) : std::string_view("");
    auto rx = RegexSub::compile(pattern, tpl, "jo");
    if (!rx) {
      return core::config_error("invalid regex_uri (" + std::string(pattern) + ", " +
                                std::string(tpl) + "), err:" + rx.error().message);
    }
    c.regex_uri = std::move(*rx);
  }
  if (const auto* v = conf.if_contains("http_to_https"); v && v->is_bool()) {
    c.http_to_https = v->get_bool();
  }
  if (const auto* v = conf.if_contains("encode_uri"); v && v->is_bool()) {
    c.encode_uri = v->get_bool();
  }
  if (const auto* v = conf.if_contains("append_query_string"); v && v->is_bool()) {
    c.append_query_string = v->get_bool();
  }
  if (c.http_to_https && c.append_query_string) {
    return core::config_error(
        "only one of `http_to_https` and `append_query_string` can be configured.");
  }
  return std::shared_ptr<const Plugin>(std::make_shared<Redirect>(std::move(c)));
}

PluginInfo make_info() {
  PluginInfo info;
  info.name = "redirect";
  info.priority = 900;
  info.schema = json::parse(kSchema);
  info.create = create;
  return info;
}

const PluginRegistration kRegistration{make_info()};

}  // namespace
}  // namespace torii::plugins
