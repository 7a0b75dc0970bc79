// proxy-mirror (priority 1010): sends a copy of a sample of a route's
// requests to another server, APISIX's `proxy-mirror`. The mirror's answer
// is read and dropped; the client only ever sees the upstream's.
//
// Phases: access (asynchronous) samples the request and reads its body;
// before_proxy, when the other plugins have settled what goes upstream and
// only for requests about to be proxied, sends the copy (a request another
// plugin answered is not mirrored; in APISIX nginx's mirror fires with
// proxy_pass too). A sampled request (`sample_ratio`) is copied: the
// upstream method, the upstream request-target (or `path`, see below), the
// head torii sends upstream (Host per pass_host, plugin header edits,
// X-Forwarded-*), and the body. The copy goes to the worker's mirror sender
// (mirror_client.h), which sends it on a coroutine of its own: the request
// never waits for the mirror, and a mirror that is down, slow or resets
// changes nothing for it. The sender's per-worker in-flight cap and
// timeouts bound the work (plugin_attr.proxy-mirror in config.yaml).
//
// Bodies: a request whose Content-Length is at most kMaxMirrorBody (1 MiB)
// is read whole into memory first (PluginContext::read_request_body; the
// proxy then sends those bytes upstream) and the copy carries it. A longer
// body, or a chunked one (its size is known only once read, too late to
// stream it instead), goes to the upstream as usual and is not mirrored:
// counted as result "skipped".
//
// `path`: replace mode sends `path` plus the client's query; prefix mode
// sends `path` followed by the upstream request-target.
//
// Security posture: the mirror receives everything the upstream does,
// credentials and cookies included; point it only at hosts trusted as much
// as the upstream. TLS mirrors are not verified (nginx's default).
#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <string>

#include "plugins/fast_random.h"
#include "plugins/mirror_client.h"
#include "plugins/plugin.h"
#include "plugins/plugin_registry.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;

// Largest request body copied to the mirror.
constexpr uint64_t kMaxMirrorBody = 1 << 20;

// ---- config ----------------------------------------------------------------

struct Config {
  std::shared_ptr<const mirror::Endpoint> endpoint;
  std::optional<std::string> path;
  bool prefix = false;  // path_concat_mode "prefix"
  double sample_ratio = 1;
};

// ---- schema (apisix/plugins/proxy-mirror.lua, APISIX 3.x) -------------------

constexpr const char* kSchema = R"json({
  "type": "object",
  "properties": {
    "host": {
      "type": "string",
      "pattern": "^(http(s)?|grpc(s)?):\\/\\/([\\da-zA-Z.-]+|\\[[\\da-fA-F:]+\\])(:\\d+)?$"
    },
    "path": {"type": "string", "pattern": "^/[^?&]+$"},
    "path_concat_mode": {
      "type": "string",
      "default": "replace",
      "enum": ["replace", "prefix"],
      "description": "the concatenation mode for custom path"
    },
    "sample_ratio": {"type": "number", "minimum": 0.00001, "maximum": 1, "default": 1}
  },
  "required": ["host"]
})json";

// ---- the plugin ----------------------------------------------------------------

// A sampled request between access and before_proxy: the body (when
// mirrored) and the worker's executor the copy is launched on.
struct PendingCopy final : RequestState {
  std::optional<net::Executor> executor;
  std::string body;
};

class ProxyMirror final : public Plugin {
 public:
  explicit ProxyMirror(Config conf) : conf_(std::move(conf)) {}

  uint8_t phases() const override { return bit(Phase::kAccess) | bit(Phase::kBeforeProxy); }
  bool is_async(Phase p) const override { return p == Phase::kAccess; }

  // Samples the request and reads its body (the body can be read only in
  // rewrite/access).
  net::Task<Step> access_async(PluginContext& ctx) const override {
    if (!sampled()) co_return kContinue;
    auto copy = std::make_unique<PendingCopy>();
    if (has_body(ctx)) {
      if (!body_fits(ctx)) {
        mirror::count(ctx.worker(), ctx.route_id(), mirror::kResultSkipped);
        co_return kContinue;
      }
      // A read error is the proxy's to answer (it would have hit it while
      // streaming too); the mirror just goes without.
      auto read = co_await ctx.read_request_body(kMaxMirrorBody);
      if (!read) {
        mirror::count(ctx.worker(), ctx.route_id(), mirror::kResultSkipped);
        co_return kContinue;
      }
      copy->body.assign(*read);
    }
    const net::Executor ex = co_await boost::asio::this_coro::executor;
    copy->executor.emplace(ex);
    ctx.state() = std::move(copy);
    co_return kContinue;
  }

  // Sends the copy once nothing can change the upstream request any more.
  Step before_proxy(PluginContext& ctx) const override {
    auto* copy = dynamic_cast<PendingCopy*>(ctx.state().get());
    if (!copy || !copy->executor) return kContinue;
    std::string head = ctx.upstream_head_copy(mirror_target(ctx), copy->body.size());
    if (head.empty()) return kContinue;  // no upstream: the request fails anyway
    mirror::Request req;
    req.endpoint = conf_.endpoint;
    req.head = std::move(head);
    req.body = std::move(copy->body);
    req.head_method = ctx.method() == http::Method::kHead;
    req.worker = ctx.worker();
    req.route = std::string(ctx.route_id());
    const net::Executor ex = *copy->executor;
    ctx.state().reset();
    mirror::launch(ex, std::move(req));
    return kContinue;
  }

 private:
  // APISIX: `math.random() < sample_ratio`, every request at 1.
  bool sampled() const {
    if (conf_.sample_ratio >= 1) return true;
    const double u = static_cast<double>(FastRandom::local().next() >> 11) * 0x1p-53;
    return u < conf_.sample_ratio;
  }

  std::string mirror_target(const PluginContext& ctx) const {
    if (!conf_.path) return std::string(ctx.upstream_target());
    std::string t = *conf_.path;
    if (conf_.prefix) {
      t.append(ctx.upstream_target());
    } else if (!ctx.query().empty()) {
      t.append("?").append(ctx.query());
    }
    return t;
  }

  static bool has_body(const PluginContext& ctx) {
    if (ctx.request_header("transfer-encoding")) return true;
    const auto cl = ctx.request_header("content-length");
    return cl && *cl != "0";
  }

  // Whether reading the body cannot change the request's fate: only a
  // Content-Length body within kMaxMirrorBody is read (over the limit,
  // nothing is read and it streams as usual). A chunked body's size is known
  // only once read, and one found too large could no longer be sent
  // upstream, so it is never read.
  static bool body_fits(const PluginContext& ctx) {
    if (ctx.request_header("transfer-encoding")) return false;
    const auto cl = ctx.request_header("content-length");
    if (!cl) return false;
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(cl->data(), cl->data() + cl->size(), n);
    return ec == std::errc() && end == cl->data() + cl->size() && n <= kMaxMirrorBody;
  }

  Config conf_;
};

// ---- create ----------------------------------------------------------------

// "scheme://host[:port]", already matched by the schema's pattern.
core::Result<std::shared_ptr<const mirror::Endpoint>> parse_host(std::string_view url) {
  auto ep = std::make_shared<mirror::Endpoint>();
  const size_t sep = url.find("://");
  const std::string_view scheme = url.substr(0, sep);
  if (scheme == "grpc" || scheme == "grpcs") {
    return core::config_error("proxy-mirror: scheme \"" + std::string(scheme) +
                              "\" is not supported by torii yet, use http or https");
  }
  ep->tls = scheme == "https";
  ep->port = ep->tls ? 443 : 80;
  std::string_view rest = url.substr(sep + 3);
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    ep->host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty()) port_text = rest.substr(1);
  } else {
    const size_t colon = rest.find(':');
    ep->host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port_text = rest.substr(colon + 1);
  }
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      return core::config_error("proxy-mirror: invalid port in host \"" + std::string(url) + "\"");
    }
    ep->port = static_cast<uint16_t>(port);
  }
  boost::system::error_code aec;
  const auto addr = boost::asio::ip::make_address(ep->host, aec);
  if (!aec) {
    ep->address = addr;
  } else {
    ep->sni = ep->host;
  }
  ep->name = (ep->address && ep->address->is_v6() ? "[" + ep->host + "]" : ep->host) + ":" +
             std::to_string(ep->port);
  return std::shared_ptr<const mirror::Endpoint>(std::move(ep));
}

core::Result<std::shared_ptr<const Plugin>> create(const json::object& conf, const PluginScope&) {
  Config c;
  auto ep = parse_host(std::string_view(conf.at("host").get_string()));
  if (!ep) return ep.error();
  c.endpoint = std::move(*ep);
  if (const auto* p = conf.if_contains("path"); p && p->is_string()) {
    c.path = std::string(p->get_string());
  }
  if (const auto* m = conf.if_contains("path_concat_mode"); m && m->is_string()) {
    c.prefix = m->get_string() == "prefix";
  }
  if (const auto* r = conf.if_contains("sample_ratio"); r && r->is_number()) {
    c.sample_ratio = r->to_number<double>();
  }
  return std::shared_ptr<const Plugin>(std::make_shared<ProxyMirror>(std::move(c)));
}

PluginInfo make_info() {
  PluginInfo info;
  info.name = "proxy-mirror";
  info.priority = 1010;
  info.schema = json::parse(kSchema);
  info.create = &create;
  return info;
}

const PluginRegistration kRegistration{make_info()};

}  // namespace
}  // namespace torii::plugins
