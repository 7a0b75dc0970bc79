// The Prometheus export server: APISIX's plugin_attr.prometheus listener
// (default http://127.0.0.1:9091/apisix/prometheus/metrics). Plain HTTP/1.1
// with keep-alive, on the CONTROL thread's io_context, never a worker's: a
// scrape renders the whole text there (MetricsRegistry::render reads the
// workers' shards without stopping them), so a large scrape delays control
// work (config sync, Admin API) but never a request.
//
// Requests: `GET <export_uri>` -> 200, Content-Type
// "text/plain; version=0.0.4", the registry's families, apisix_node_info,
// then every text provider's output. Anything else -> 404 (nginx's page), as
// APISIX's export server answers. A request with a body is answered and the
// connection closed. Limits: 8 KiB request head, 64 connections, 30 s per
// read or write.
//
// Started by the gateway only when `prometheus` is in config.yaml's
// `plugins` list and plugin_attr.prometheus.enable_export_server is true.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "net/io.h"
#include "observability/metrics.h"

namespace torii::observability {

// config.yaml plugin_attr.prometheus (the gateway parses it).
struct PrometheusSettings {
  std::string ip = "127.0.0.1";                          // export_addr.ip
  uint16_t port = 9091;                                  // export_addr.port (0: kernel picks)
  std::string export_uri = "/apisix/prometheus/metrics";  // export_uri
  std::string metric_prefix = "apisix_";                 // metric_prefix
};

// Appends Prometheus text for extra series (the gateway's config-store
// gauges: apisix_etcd_*, torii_config_*). Called on the control thread for
// every scrape; must not block.
using TextProvider = std::function<void(std::string& out)>;

class PrometheusExporter {
 public:
  // Binds settings.ip:settings.port (SO_REUSEADDR, no SO_REUSEPORT: a second
  // node on the same port fails here) and starts accepting on `control`.
  // Errors name the address: "prometheus export_addr 127.0.0.1:9091: Address
  // already in use". `registry` must outlive the exporter. Call on the
  // executor's thread or before its io_context runs.
  static core::Result<std::unique_ptr<PrometheusExporter>> start(
      net::Executor control, PrometheusSettings settings, const MetricsRegistry& registry);
  ~PrometheusExporter();  // stop()
  PrometheusExporter(const PrometheusExporter&) = delete;
  PrometheusExporter& operator=(const PrometheusExporter&) = delete;

  // Adds a provider; its text follows the registry's in every scrape. Call on
  // the control thread.
  void add_text_provider(TextProvider provider);

  // The scrape body, as GET <export_uri> returns it (public-api, tests).
  std::string render() const;

  uint16_t port() const;
  // Closes the listener and every connection. Idempotent. Control thread.
  void stop();

  struct State;  // shared with the connection coroutines

 private:
  explicit PrometheusExporter(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

// The scrape body for `registry` with `settings.metric_prefix`, node info and
// providers: what the exporter serves, usable without a listener.
std::string render_prometheus(const MetricsRegistry& registry, const PrometheusSettings& settings,
                              const std::vector<TextProvider>& providers);

}  // namespace torii::observability
