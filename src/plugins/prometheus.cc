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
// Each instance keeps, per worker, the handles of the series it counted
// into, by the labels that stay put from one request to the next (route,
// service, consumer, node, ...): a request then costs one probe of that
// small map instead of rendering and looking up six label texts.
//
// Security posture: labels carry route/service ids or names, the matched
// host/uri patterns and upstream IPs, never request data, so a client cannot
// create series at will; the registry caps series per shard regardless.
#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <boost/unordered/unordered_flat_map.hpp>
#include <charconv>
#include <cmath>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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
  // find(',') is a memchr; most requests have one attempt and no comma.
  if (upstream_addr.find(',') != std::string_view::npos) {
    if (const size_t comma = upstream_addr.rfind(", "); comma != std::string_view::npos) {
      upstream_addr.remove_prefix(comma + 2);
    }
  }
  if (upstream_addr.starts_with("unix:")) return upstream_addr;
  const size_t colon = upstream_addr.rfind(':');
  if (colon == std::string_view::npos) return upstream_addr;
  // "[::1]:80" -> "[::1]"; a bare IPv6 address has no port to strip.
  if (upstream_addr.front() != '[' && upstream_addr.find(':') != colon) return upstream_addr;
  return upstream_addr.substr(0, colon);
}

using observability::LabelValues;
using observability::Series;

// Counts through a cached handle, fetched on first use (so a series appears
// exactly when the uncached path would create it); without a slot, or when
// the registry gives no handle, through the family's own lookup.
void count(observability::Counter& c, unsigned w, Series* slot, LabelValues labels, uint64_t by) {
  if (slot) {
    if (!*slot) *slot = c.series(w, labels);
    if (*slot) {
      c.inc(*slot, by);
      return;
    }
  }
  c.inc(w, labels, by);
}

void observe(observability::Histogram& h, unsigned w, Series* slot, LabelValues labels,
             double value) {
  if (std::isnan(value)) return;  // never observed, so no series either
  if (slot) {
    if (!*slot) *slot = h.series(w, labels);
    if (*slot) {
      h.observe(*slot, value);
      return;
    }
  }
  h.observe(w, labels, value);
}

// The handles of one combination of the labels that do not vary with the
// status code or the latency / bandwidth type.
struct SeriesSet {
  std::array<Series, 3> latency;                       // request, upstream, apisix
  std::array<Series, 2> bandwidth;                     // ingress, egress
  std::vector<std::pair<std::string, Series>> status;  // by code

  Series& status_of(std::string_view code) {
    for (auto& [c, s] : status) {
      if (c == code) return s;
    }
    return status.emplace_back(std::string(code), Series()).second;
  }
};

// One worker's sets, keyed by those labels (each value length-prefixed).
// Bounded: past kMaxSets it starts afresh (the handles stay valid in the
// registry; only the shortcut is lost).
struct WorkerCache {
  static constexpr size_t kMaxSets = 65536;
  // libstdc++'s string hash takes 8 bytes a step; boost::hash 4, serially.
  struct KeyHash {
    size_t operator()(const std::string& s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  static constexpr size_t kLabels = 9;
  static constexpr size_t kRecent = 4;
  std::string key;  // scratch, reused
  boost::unordered_flat_map<std::string, SeriesSet, KeyHash> sets;
  // The last few lookups: requests with labels seen just before (one route
  // over a few nodes) skip building and hashing the key. `set` points into
  // `sets`; every insertion can move its elements (a flat map rehashes), so
  // an insertion forgets them all first.
  struct Recent {
    std::array<std::string, kLabels> values;
    SeriesSet* set = nullptr;
  };
  std::array<Recent, kRecent> recent;
  size_t next_recent = 0;

  SeriesSet& set_for(const std::array<std::string_view, kLabels>& values) {
    for (const Recent& r : recent) {
      if (r.set != nullptr && std::equal(values.begin(), values.end(), r.values.begin())) {
        return *r.set;
      }
    }
    key.clear();
    for (std::string_view v : values) {
      const auto n = static_cast<uint32_t>(v.size());
      key.append(reinterpret_cast<const char*>(&n), sizeof(n)).append(v);
    }
    SeriesSet* found = nullptr;
    if (auto it = sets.find(key); it != sets.end()) {
      found = &it->second;
    } else {
      for (Recent& r : recent) r.set = nullptr;
      if (sets.size() >= kMaxSets) sets.clear();
      found = &sets.try_emplace(key).first->second;
    }
    Recent& slot = recent[next_recent];
    next_recent = (next_recent + 1) % kRecent;
    for (size_t i = 0; i < kLabels; ++i) slot.values[i].assign(values[i]);
    slot.set = found;
    return *found;
  }
};

// ---- the plugin ----

class Prometheus final : public Plugin {
 public:
  Prometheus(PrometheusConfig conf, unsigned workers)
      : conf_(conf),
        m_(http_metrics()),
        cache_slots_(std::max(1u, workers)),
        caches_(std::make_unique<std::unique_ptr<WorkerCache>[]>(cache_slots_)) {}

  uint8_t phases() const override { return bit(Phase::kLog); }

  void log(PluginContext& ctx) const override {
    const auto label = [&ctx](const http::VarRef& ref, std::string_view fallback) {
      return ctx.get(ref).value_or(fallback);
    };
    std::string_view route = ctx.route_id();
    std::string_view service = ctx.service_id();
    if (conf_.prefer_name) {
      if (!route.empty()) route = label(route_name_, route);
      if (!service.empty()) service = label(service_name_, service);
    }
    const std::string_view consumer = label(consumer_name_, "");
    std::string_view node = label(balancer_ip_, "");
    if (node.empty()) {
      if (auto addr = ctx.get(upstream_addr_)) node = node_of(*addr);
    }
    const std::string_view request_type = label(request_type_, "traditional_http");
    const std::string_view request_llm_model = label(request_llm_model_, "");
    const std::string_view llm_model = label(llm_model_, "");

    // $status without its text round trip through the context: the status
    // sent (0 before one was chosen, as nginx prints it).
    char code_buf[8];
    const auto [code_end, ec] =
        std::to_chars(code_buf, code_buf + sizeof(code_buf), ctx.response_status());
    const std::string_view code(code_buf, static_cast<size_t>(code_end - code_buf));
    const std::string_view matched_uri = label(matched_uri_, "");
    const std::string_view matched_host = label(matched_host_, "");
    const unsigned w = ctx.worker();
    SeriesSet* set = nullptr;
    if (w < cache_slots_) {
      std::unique_ptr<WorkerCache>& cache = caches_[w];
      if (!cache) cache = std::make_unique<WorkerCache>();
      const std::array<std::string_view, 9> fixed = {route,        matched_uri,       matched_host,
                                                     service,      consumer,          node,
                                                     request_type, request_llm_model, llm_model};
      set = &cache->set_for(fixed);
    }

    const std::array<std::string_view, 10> status_labels = {
        code,     route, matched_uri,  matched_host,      service,
        consumer, node,  request_type, request_llm_model, llm_model};
    count(m_.status, w, set ? &set->status_of(code) : nullptr, status_labels, 1);

    // APISIX log-util latency_details_in_ms: request, upstream (when an
    // upstream answered), apisix = request - upstream, never negative.
    const PluginContext::LogFigures fig = ctx.log_figures();
    std::array<std::string_view, 8> labels = {
        "request", route, service, consumer, node, request_type, request_llm_model, llm_model};
    const double latency = fig.request_time.value_or(0) * 1000;
    double apisix_latency = latency;
    observe(m_.latency, w, set ? &set->latency[0] : nullptr, labels, latency);
    if (fig.upstream_response_time) {
      const double upstream_latency = *fig.upstream_response_time * 1000;
      apisix_latency = std::max(0.0, latency - upstream_latency);
      labels[0] = "upstream";
      observe(m_.latency, w, set ? &set->latency[1] : nullptr, labels, upstream_latency);
    }
    labels[0] = "apisix";
    observe(m_.latency, w, set ? &set->latency[2] : nullptr, labels, apisix_latency);

    labels[0] = "ingress";
    count(m_.bandwidth, w, set ? &set->bandwidth[0] : nullptr, labels, fig.request_length);
    labels[0] = "egress";
    count(m_.bandwidth, w, set ? &set->bandwidth[1] : nullptr, labels, fig.bytes_sent);
  }

 private:
  PrometheusConfig conf_;
  const HttpMetrics& m_;
  // Per worker (index = worker()), created by that worker on first use and
  // only ever touched by it; workers past the slots count uncached.
  const unsigned cache_slots_;
  const std::unique_ptr<std::unique_ptr<WorkerCache>[]> caches_;
  // Parsed once. Names the runtime does not provide yet resolve to nil and
  // fall back as documented in docs/plugins/prometheus.md.
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
};

core::Result<std::shared_ptr<const Plugin>> create(const json::object& conf,
                                                   const PluginScope& scope) {
  PrometheusConfig c;
  if (const auto* v = conf.if_contains("prefer_name"); v && v->is_bool()) c.prefer_name = v->get_bool();
  return std::shared_ptr<const Plugin>(std::make_shared<Prometheus>(c, scope.workers));
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
