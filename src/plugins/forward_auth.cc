// forward-auth (priority 2002): asks an external authorization service
// whether a request may go on, as APISIX 3.x's plugin.
//
// Phase: access (asynchronous). For each request torii sends the service
// `request_method` (GET, or POST with the client's body) to `uri` with
//   X-Forwarded-Proto / -Method / -Host / -Uri / -For  (scheme, method,
//       $host, $request_uri, $remote_addr after real-ip),
//   `extra_headers` (values may hold $var / ${var}; they replace a header
//       above of the same name),
//   the client's `request_headers` (first value; not one set above),
//   for POST Content-Length and the client's Content-Encoding,
//   Host: the uri's host[:port] unless one of the lists sets Host.
// Then, by the answer:
//   2xx  the request goes on; each `upstream_headers` header is set on the
//        upstream request from the answer, or removed from it when the
//        answer lacks it (so a client cannot forge it).
//   >=300  the client gets the service's status and body, plus the
//        `client_headers` headers of the answer.
//   none (connect, TLS, timeout, bad or oversized answer)  the request is
//        refused with `status_on_error` and no body, or goes on unchanged
//        with `allow_degradation`.
// The call never blocks the worker: see forward_auth_client.h for
// connections, keep-alive (`keepalive*`), `timeout` and TLS (`ssl_verify`).
//
// Security posture: the service sees whatever the lists forward, the body
// included with POST (at most kMaxForwardedBody; over it the request gets
// 413). Header names in the lists must be HTTP tokens; framing headers
// (Content-Length, Transfer-Encoding, Connection, ...) are never copied in
// either direction, and an extra_headers value that renders with CR, LF or
// NUL is dropped, so neither config nor client can split a request.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <charconv>
#include <chrono>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/deadline.h"
#include "core/saturate.h"
#include "http/request.h"
#include "plugins/auth_common.h"
#include "plugins/forward_auth_client.h"
#include "plugins/limit_key.h"
#include "plugins/plugin.h"
#include "plugins/plugin_registry.h"
#include "plugins/var_template.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;
namespace fa = forward_auth;
using std::chrono::milliseconds;

// Largest client body forwarded with request_method POST.
constexpr uint64_t kMaxForwardedBody = 8 << 20;
// Failures are logged at most once per worker per this interval; the rest
// are counted in the next line (a service that is down fails every call).
constexpr auto kLogInterval = std::chrono::seconds(5);
constexpr milliseconds kMaxIdleTimeout = std::chrono::hours(24 * 7);

// ---- config ----------------------------------------------------------------

struct ExtraHeader {
  std::string name;
  VarTemplate value;
};

struct Config {
  std::shared_ptr<const fa::Service> service;
  bool post = false;  // request_method POST
  std::vector<std::string> request_headers;
  std::vector<std::string> upstream_headers;
  std::vector<std::string> client_headers;
  std::vector<ExtraHeader> extra_headers;
  milliseconds timeout{3000};
  fa::KeepAlive keepalive;
  bool allow_degradation = false;
  int status_on_error = 403;
};

// ---- schema (apisix/plugins/forward-auth.lua, APISIX 3.x) -------------------

constexpr std::string_view kSchema = R"json({
  "type": "object",
  "properties": {
    "uri": {"type": "string"},
    "allow_degradation": {"type": "boolean", "default": false},
    "status_on_error": {"type": "integer", "minimum": 200, "maximum": 599, "default": 403},
    "ssl_verify": {"type": "boolean", "default": true},
    "request_method": {
      "type": "string",
      "default": "GET",
      "enum": ["GET", "POST"],
      "description": "the method for client to request the authorization service"
    },
    "request_headers": {
      "type": "array",
      "default": [],
      "items": {"type": "string"},
      "description": "client request header that will be sent to the authorization service"
    },
    "extra_headers": {
      "type": "object",
      "minProperties": 1,
      "patternProperties": {
        "^[^:]+$": {
          "type": "string",
          "description": "header value as a string; may contain variables like $remote_addr, $request_uri"
        }
      },
      "description": "extra headers sent to the authorization service; values must be strings and can include variables like $remote_addr, $request_uri."
    },
    "upstream_headers": {
      "type": "array",
      "default": [],
      "items": {"type": "string"},
      "description": "authorization response header that will be sent to the upstream"
    },
    "client_headers": {
      "type": "array",
      "default": [],
      "items": {"type": "string"},
      "description": "authorization response header that will be sent to the client when authorizing failed"
    },
    "timeout": {
      "type": "integer",
      "minimum": 1,
      "maximum": 60000,
      "default": 3000,
      "description": "timeout in milliseconds"
    },
    "keepalive": {"type": "boolean", "default": true},
    "keepalive_timeout": {"type": "integer", "minimum": 1000, "default": 60000},
    "keepalive_pool": {"type": "integer", "minimum": 1, "default": 5}
  },
  "required": ["uri"]
})json";

// Headers that frame a message or a connection: never copied from a list.
bool is_framing(std::string_view name) {
  for (std::string_view f : {"content-length", "transfer-encoding", "connection", "keep-alive",
                             "upgrade", "te", "trailer", "expect", "proxy-connection"}) {
    if (http::iequals(name, f)) return true;
  }
  return false;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool safe_value(std::string_view v) {
  return v.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// ---- the plugin ----------------------------------------------------------------

// Per-worker log throttle for failed calls.
struct LogThrottle {
  core::Clock::time_point last{};
  uint64_t unlogged = 0;
};

void log_failure(const fa::Service& s, const core::Error& e) {
  thread_local LogThrottle t;
  const auto now = core::Clock::now();
  if (now - t.last < kLogInterval) {
    ++t.unlogged;
    return;
  }
  if (t.unlogged > 0) {
    spdlog::warn(
        "forward-auth: failed to process forward auth to {}, err: {} ({} more failures "
        "since the last message)",
        s.name, e.message, t.unlogged);
  } else {
    spdlog::warn("forward-auth: failed to process forward auth to {}, err: {}", s.name, e.message);
  }
  t.last = now;
  t.unlogged = 0;
}

class ForwardAuth final : public Plugin {
 public:
  explicit ForwardAuth(Config conf) : conf_(std::move(conf)) {}

  uint8_t phases() const override { return bit(Phase::kAccess); }
  bool is_async(Phase p) const override { return p == Phase::kAccess; }

  net::Task<Step> access_async(PluginContext& ctx) const override {
    std::string_view body;
    if (conf_.post) {
      auto read = co_await ctx.read_request_body(kMaxForwardedBody);
      if (!read) co_return body_error(read.error());
      body = *read;
    }
    fa::Call call;
    call.service = conf_.service;
    call.head = request_head(ctx, body);
    call.body = body;
    call.timeout = conf_.timeout;
    call.keepalive = conf_.keepalive;
    auto reply = co_await fa::send(std::move(call));
    if (!reply) {
      log_failure(*conf_.service, reply.error());
      if (conf_.allow_degradation) co_return kContinue;
      Exit e;
      e.status = conf_.status_on_error;
      co_return e;
    }
    if (reply->status >= 300) co_return refusal(*reply);
    for (const std::string& name : conf_.upstream_headers) {
      const auto values = reply->header_values(name);
      if (values.empty()) {
        ctx.remove_request_header(name);
        continue;
      }
      ctx.set_request_header(name, std::string(values[0]));
      for (size_t i = 1; i < values.size(); ++i)
        ctx.add_request_header(name, std::string(values[i]));
    }
    co_return kContinue;
  }

 private:
  // The authorization request's head (see the file comment for its headers).
  std::string request_head(PluginContext& ctx, std::string_view body) const {
    std::vector<std::pair<std::string_view, std::string>> h;
    h.reserve(8 + conf_.extra_headers.size() + conf_.request_headers.size());
    auto find = [&h](std::string_view name) {
      for (auto& entry : h) {
        if (http::iequals(entry.first, name)) return &entry;
      }
      return static_cast<std::pair<std::string_view, std::string>*>(nullptr);
    };
    h.emplace_back("X-Forwarded-Proto", std::string(ctx.scheme()));
    h.emplace_back("X-Forwarded-Method", std::string(ctx.method_token()));
    h.emplace_back("X-Forwarded-Host", std::string(ctx.host()));
    h.emplace_back("X-Forwarded-Uri", std::string(ctx.request_uri()));
    h.emplace_back("X-Forwarded-For", std::string(ctx.remote_addr()));
    for (const ExtraHeader& x : conf_.extra_headers) {
      std::string value = x.value.render(ctx);
      if (!safe_value(value)) continue;  // a $var carried a line break
      if (auto* e = find(x.name)) {
        e->second = std::move(value);
      } else {
        h.emplace_back(x.name, std::move(value));
      }
    }
    for (const std::string& name : conf_.request_headers) {
      if (find(name) != nullptr) continue;
      if (auto v = ctx.request_header(name)) h.emplace_back(name, std::string(*v));
    }
    std::string head;
    head.reserve(256 + conf_.service->target.size());
    head.append(conf_.post ? "POST " : "GET ")
        .append(conf_.service->target)
        .append(" HTTP/1.1\r\n");
    if (find("host") == nullptr)
      head.append("Host: ").append(conf_.service->authority).append("\r\n");
    for (const auto& [name, value] : h) {
      head.append(name).append(": ").append(value).append("\r\n");
    }
    if (conf_.post) {
      head.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
      if (find("content-encoding") == nullptr) {
        if (auto ce = ctx.request_header("content-encoding")) {
          head.append("Content-Encoding: ").append(*ce).append("\r\n");
        }
      }
    }
    if (!conf_.keepalive.enabled) head.append("Connection: close\r\n");
    head.append("\r\n");
    return head;
  }

  // The service said no: its status and body, with `client_headers`.
  Exit refusal(fa::Reply& reply) const {
    Exit e;
    e.status = reply.status;
    e.body = std::move(reply.body);
    for (const std::string& name : conf_.client_headers) {
      const auto values = reply.header_values(name);
      if (http::iequals(name, "content-type")) {
        if (!values.empty()) e.content_type = std::string(values[0]);
        continue;
      }
      for (std::string_view v : values) e.headers.emplace_back(name, std::string(v));
    }
    return e;
  }

  // The body could not be read for a POST authorization request.
  static Exit body_error(const core::Error& err) {
    Exit e;
    switch (err.kind) {
      case core::ErrorKind::kTooLarge:
        e.status = 413;
        break;
      case core::ErrorKind::kTimeout:
        e.status = 408;
        break;
      default:
        e.status = 400;
        break;
    }
    return e;
  }

  Config conf_;
};

// ---- create ----------------------------------------------------------------

bool is_host_name(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '-' || c == '_')) {
      return false;
    }
  }
  return true;
}

// `uri`: http:// or https://, a host, an optional port, path and query.
core::Result<std::shared_ptr<const fa::Service>> parse_service(std::string_view uri, bool verify) {
  const auto bad = [&](std::string_view why) {
    return core::config_error("invalid uri \"" + std::string(uri) + "\": " + std::string(why));
  };
  auto parsed = boost::urls::parse_uri(uri);
  if (!parsed) return bad("not an absolute http or https URL");
  const boost::urls::url_view u = *parsed;
  auto svc = std::make_shared<fa::Service>();
  if (u.scheme_id() == boost::urls::scheme::https) {
    svc->tls = true;
  } else if (u.scheme_id() != boost::urls::scheme::http) {
    return bad("the scheme must be http or https");
  }
  if (u.has_userinfo()) return bad("user information is not supported");
  svc->verify = verify;
  svc->port = svc->tls ? 443 : 80;
  switch (u.host_type()) {
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::ipv6: {
      svc->host = std::string(u.host_address());
      boost::system::error_code ec;
      svc->address = boost::asio::ip::make_address(svc->host, ec);
      if (ec) return bad("invalid IP address");
      break;
    }
    case boost::urls::host_type::name:
      svc->host = std::string(u.host_address());
      if (!is_host_name(svc->host)) return bad("invalid host");
      svc->sni = svc->host;
      break;
    default:
      return bad("invalid host");
  }
  const bool v6 = svc->address && svc->address->is_v6();
  const std::string bracketed = v6 ? "[" + svc->host + "]" : svc->host;
  svc->authority = bracketed;
  if (u.has_port()) {
    const std::string_view text = u.port();
    unsigned port = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || port == 0 ||
        port > 65535) {
      return bad("invalid port");
    }
    svc->port = static_cast<uint16_t>(port);
    if (svc->port != (svc->tls ? 443 : 80)) svc->authority += ":" + std::to_string(svc->port);
  }
  svc->target = u.encoded_path().empty() ? "/" : std::string(u.encoded_path());
  if (svc->target.front() != '/') return bad("invalid path");
  if (u.has_query()) svc->target += "?" + std::string(u.encoded_query());
  if (!safe_value(svc->target) || svc->target.find(' ') != std::string::npos)
    return bad("invalid path");
  svc->name = bracketed + ":" + std::to_string(svc->port);
  svc->pool_key =
      std::string(svc->tls ? "https" : "http") + (verify ? "+verify" : "") + "://" + svc->name;
  return std::shared_ptr<const fa::Service>(std::move(svc));
}

core::Result<std::vector<std::string>> header_list(const json::object& conf,
                                                   std::string_view field) {
  std::vector<std::string> out;
  const auto* v = conf.if_contains(field);
  if (v == nullptr || !v->is_array()) return out;
  for (const auto& item : v->get_array()) {
    if (!item.is_string()) continue;
    std::string name(item.get_string());
    if (!is_token(name)) {
      return core::config_error(std::string(field) + ": invalid header name \"" + name + "\"");
    }
    if (!is_framing(name)) out.push_back(std::move(name));
  }
  return out;
}

core::Result<std::shared_ptr<const Plugin>> create(const json::object& conf, const PluginScope&) {
  Config c;
  // Newer APISIX (master) attaches a consumer named by the answer; refused
  // rather than ignored, so nobody relies on it silently doing nothing.
  if (conf.contains("consumer_header")) {
    return core::config_error("consumer_header is not supported by torii");
  }
  const bool verify = conf_bool(conf, "ssl_verify", true);
  const std::string uri = conf_string(conf, "uri");
  auto svc = parse_service(uri, verify);
  if (!svc) return svc.error();
  c.service = std::move(*svc);
  // APISIX's check_https / check_tls_bool: allowed, with a warning.
  if (!c.service->tls) {
    spdlog::warn(
        "forward-auth: uri {} does not use https: the authorization request is sent in "
        "clear text",
        uri);
  } else if (!verify) {
    spdlog::warn("forward-auth: ssl_verify is false: the certificate of {} is not checked", uri);
  }
  c.post = conf_string(conf, "request_method", "GET") == "POST";
  for (auto [field, list] : {std::pair{"request_headers", &c.request_headers},
                             std::pair{"upstream_headers", &c.upstream_headers},
                             std::pair{"client_headers", &c.client_headers}}) {
    auto names = header_list(conf, field);
    if (!names) return names.error();
    *list = std::move(*names);
  }
  if (const auto* x = conf.if_contains("extra_headers"); x && x->is_object()) {
    for (const auto& [name, value] : x->get_object()) {
      if (!is_token(name)) {
        return core::config_error("extra_headers: invalid header name \"" + std::string(name) +
                                  "\"");
      }
      if (!value.is_string()) {
        return core::config_error("extra_headers: the value of \"" + std::string(name) +
                                  "\" must be a string");
      }
      if (is_framing(name)) continue;
      const std::string_view text = value.get_string();
      if (!safe_value(text)) {
        return core::config_error("extra_headers: the value of \"" + std::string(name) +
                                  "\" holds a line break");
      }
      c.extra_headers.push_back({std::string(name), VarTemplate::compile(text)});
    }
  }
  c.timeout = milliseconds(limits::conf_int(conf, "timeout", 3000));
  c.keepalive.enabled = conf_bool(conf, "keepalive", true);
  // No upper bound in the schema; a week keeps time arithmetic in range.
  c.keepalive.idle_timeout = milliseconds(
      std::min<int64_t>(limits::conf_int(conf, "keepalive_timeout", 60000), kMaxIdleTimeout.count()));
  c.keepalive.pool_size = static_cast<uint32_t>(
      std::min<int64_t>(limits::conf_int(conf, "keepalive_pool", 5), std::numeric_limits<uint32_t>::max()));
  c.allow_degradation = conf_bool(conf, "allow_degradation", false);
  c.status_on_error = static_cast<int>(limits::conf_int(conf, "status_on_error", 403));
  return std::shared_ptr<const Plugin>(std::make_shared<ForwardAuth>(std::move(c)));
}

PluginInfo make_info() {
  PluginInfo info;
  info.name = "forward-auth";
  info.priority = 2002;
  info.schema = json::parse(kSchema);
  info.create = &create;
  return info;
}

const PluginRegistration kRegistration{make_info()};

}  // namespace
}  // namespace torii::plugins
