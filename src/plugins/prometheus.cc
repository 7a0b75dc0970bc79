// prometheus (priority 500, log phase; run_policy prefer_route): counts
// every request it sees into APISIX's metric families in the process
// registry (observability/metrics.h), served by the export server
// (observability/prometheus_exporter.h):
//   apisix_http_status{code,route,matched_uri,matched_host,service,consumer,
//                      node,request_type,request_llm_model,llm_model}
//   apisix_http_latency{type=request|upstream|apisix,route,service,consumer,
//                       node,request_type,request_llm_model,llm_model}  (ms)
//   apisix_bandwidth{type=ingress|egress,route,service,consumer,node,
//                    request_type,request_llm_model,llm_model}  (bytes)
// with APISIX 3.14's label sets and default buckets. The log phase also runs
// for requests another plugin answered early (a 401 is counted).
//
// Counting is per worker without locks (a worker only touches its own
// shard); series survive config changes, as APISIX's shared dict does.
//
// Security posture: labels carry route/service ids or names, the matched
// host/uri patterns and upstream IPs, never request data, so a client cannot
// create series at will; the registry caps series per shard regardless.
#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <charconv>
#include <string_view>

#include "http/variables.h"
#include "observability/metrics.h"
#include "plugins/plugin.h"
#include "plugins/plugin_registry.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;

// ---- config ----

struct PrometheusConfig {
  // Label routes and services by name instead of id (falls back to the id
  // when the resource has no name).
  bool prefer_name = false;
};

// ---- schema (APISIX apisix/plugins/prometheus.lua) ----

constexpr std::string_view kSchema = R"({
  "type": "object",
  "properties": {
    "prefer_name": {"type": "boolean", "default": false}
  }
})";

// ---- metric families (APISIX apisix/plugins/prometheus/exporter.lua) ----

// 1 ms to 60 s.
const std::vector<double> kDefaultBuckets = {1,    2,    5,    10,    20,    50,    100,  200,
                                             500,  1000, 2000, 5000, 10000, 30000, 60000};

struct HttpMetrics {
  observability::Counter& status;
  observability::Histogram& latency;
  observability::Counter& bandwidth;
};

const HttpMetrics& http_metrics() {
  static const HttpMetrics m = [] {
    auto& r = observability::MetricsRegistry::global();
    return HttpMetrics{
        r.counter("http_status", "HTTP status codes per service in APISIX",
                  {"code", "route", "matched_uri", "matched_host", "service", "consumer", "node",
                   "request_type", "request_llm_model", "llm_model"}),
        r.histogram("http_latency", "HTTP request latency in milliseconds per service in APISIX",
                    {"type", "route", "service", "consumer", "node", "request_type",
                     "request_llm_model", "llm_model"},
                    kDefaultBuckets),
        r.counter("bandwidth", "Total bandwidth in bytes consumed per service in APISIX",
                  {"type", "route", "service", "consumer", "node", "request_type",
                   "request_llm_model", "llm_model"}),
    };
  }();
  return m;
}

// ---- helpers ----

// nginx's $upstream_addr lists every attempt ("a:80, b:80"); APISIX's node
// label is the balancer's last pick, without the port.
std::string_view node_of(std::string_view upstream_addr) {
  if (const size_t comma = upstream_addr.rfind(", "); comma != std::string_view::npos) {
    upstream_addr.remove_prefix(comma + 2);
  }
  if (upstream_addr.starts_with("unix:")) return upstream_addr;
  const size_t colon = upstream_addr.rfind(':');
  if (colon == std::string_view::npos) return upstream_addr;
  // "[::1]:80" -> "[::1]"; a bare IPv6 address has no port to strip.
  if (upstream_addr.front() != '[' && upstream_addr.find(':') != colon) return upstream_addr;
  return upstream_addr.substr(0, colon);
}

// Seconds as nginx prints them ("0.004"; a list "0.002, 0.001" for retries,
// summed; "-" for an attempt without a response counts 0). Nullopt when
// nothing parses.
std::optional<double> parse_seconds(std::string_view s) {
  std::optional<double> total;
  while (!s.empty()) {
    const size_t comma = s.find(',');
    std::string_view item = s.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    double v = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (ec == std::errc() && end == item.data() + item.size()) total = total.value_or(0) + v;
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return total;
}

uint64_t parse_uint(std::optional<std::string_view> s) {
  uint64_t v = 0;
  if (s) std::from_chars(s->data(), s->data() + s->size(), v);
  return v;
}

// ---- the plugin ----

class Prometheus final : public Plugin {
 public:
  explicit Prometheus(PrometheusConfig conf) : conf_(conf), m_(http_metrics()) {}

  uint8_t phases() const override { return bit(Phase::kLog); }

  void log(PluginContext& ctx) const override {
    std::string_view route = ctx.route_id();
    std::string_view service = ctx.service_id();
    if (conf_.prefer_name) {
      if (!route.empty()) route = ctx.get(route_name_).value_or(route);
      if (!service.empty()) service = ctx.get(service_name_).value_or(service);
    }
    const std::string_view consumer = ctx.get(consumer_name_).value_or("");
    std::string_view node = ctx.get(balancer_ip_).value_or("");
    if (node.empty()) {
      if (auto addr = ctx.get(upstream_addr_)) node = node_of(*addr);
    }
    const std::string_view request_type = ctx.get(request_type_).value_or("traditional_http");
    const std::string_view request_llm_model = ctx.get(request_llm_model_).value_or("");
    const std::string_view llm_model = ctx.get(llm_model_).value_or("");

    char code_buf[8];
    std::string_view code;
    if (auto s = ctx.get(status_)) {
      code = *s;
    } else {
      const auto [end, ec] = std::to_chars(code_buf, code_buf + sizeof(code_buf), ctx.response_status());
      code = std::string_view(code_buf, static_cast<size_t>(end - code_buf));
    }

    const std::array<std::string_view, 10> status_labels = {
        code,     route, ctx.get(matched_uri_).value_or(""), ctx.get(matched_host_).value_or(""),
        service,  consumer, node, request_type, request_llm_model, llm_model};
    const unsigned w = ctx.worker();
    m_.status.inc(w, status_labels);

    // APISIX log-util latency_details_in_ms: request, upstream (when an
    // upstream answered), apisix = request - upstream, never negative.
    std::array<std::string_view, 8> labels = {"request", route, service, consumer, node,
                                              request_type, request_llm_model, llm_model};
    const double latency = parse_seconds(ctx.get(request_time_).value_or("")).value_or(0) * 1000;
    double apisix_latency = latency;
    m_.latency.observe(w, labels, latency);
    if (auto up = ctx.get(upstream_response_time_)) {
      if (auto secs = parse_seconds(*up)) {
        const double upstream_latency = *secs * 1000;
        apisix_latency = std::max(0.0, latency - upstream_latency);
        labels[0] = "upstream";
        m_.latency.observe(w, labels, upstream_latency);
      }
    }
    labels[0] = "apisix";
    m_.latency.observe(w, labels, apisix_latency);

    labels[0] = "ingress";
    m_.bandwidth.inc(w, labels, parse_uint(ctx.get(request_length_)));
    auto sent = ctx.get(bytes_sent_);
    if (!sent) sent = ctx.get(body_bytes_sent_);
    labels[0] = "egress";
    m_.bandwidth.inc(w, labels, parse_uint(sent));
  }

 private:
  PrometheusConfig conf_;
  const HttpMetrics& m_;
  // Parsed once. Names the runtime does not provide yet resolve to nil and
  // fall back as documented in docs/plugins/prometheus.md.
  http::VarRef status_ = http::VarRef::parse("status");
  http::VarRef route_name_ = http::VarRef::parse("route_name");
  http::VarRef service_name_ = http::VarRef::parse("service_name");
  http::VarRef consumer_name_ = http::VarRef::parse("consumer_name");
  http::VarRef balancer_ip_ = http::VarRef::parse("balancer_ip");
  http::VarRef upstream_addr_ = http::VarRef::parse("upstream_addr");
  http::VarRef matched_uri_ = http::VarRef::parse("matched_uri");
  http::VarRef matched_host_ = http::VarRef::parse("matched_host");
  http::VarRef request_type_ = http::VarRef::parse("request_type");
  http::VarRef request_llm_model_ = http::VarRef::parse("request_llm_model");
  http::VarRef llm_model_ = http::VarRef::parse("llm_model");
  http::VarRef request_time_ = http::VarRef::parse("request_time");
  http::VarRef upstream_response_time_ = http::VarRef::parse("upstream_response_time");
  http::VarRef request_length_ = http::VarRef::parse("request_length");
  http::VarRef bytes_sent_ = http::VarRef::parse("bytes_sent");
  http::VarRef body_bytes_sent_ = http::VarRef::parse("body_bytes_sent");
};

core::Result<std::shared_ptr<const Plugin>> create(const json::object& conf, const PluginScope&) {
  PrometheusConfig c;
  if (const auto* v = conf.if_contains("prefer_name"); v && v->is_bool()) c.prefer_name = v->get_bool();
  return std::shared_ptr<const Plugin>(std::make_shared<Prometheus>(c));
}

PluginInfo make_info() {
  PluginInfo info;
  info.name = "prometheus";
  info.priority = 500;
  info.prefer_route = true;
  info.schema = json::parse(kSchema);
  info.create = create;
  return info;
}

const PluginRegistration kRegistration{make_info()};

}  // namespace
}  // namespace torii::plugins
