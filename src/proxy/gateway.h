// The process: loads config.yaml, compiles the first snapshot, starts the
// workers, then runs the control loop on the calling thread: it follows the
// config source (the standalone file, polled; or a config store, watched
// through ConfigSync) and publishes new snapshots, serves the Admin API,
// re-reads config.yaml on SIGHUP, and drains on SIGTERM/SIGQUIT (SIGINT too;
// a second stop signal ends the drain at once). The control loop never
// blocks a worker: workers only ever receive posted snapshots.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <vector>

#include "admin/admin_server.h"
#include "admin/resource_api.h"
#include "config/data_encryption.h"
#include "observability/prometheus_exporter.h"
#include "config/server_config.h"
#include "config/snapshot_builder.h"
#include "proxy/worker.h"
#include "tls/tls_server.h"
#include "upstream/health_prober.h"
#include "store/config_store.h"
#include "store/config_sync.h"
#include "store/file_watch.h"
#include "store/resource_set_store.h"

namespace torii::proxy {

class Gateway {
 public:
  explicit Gateway(config::ServerConfig config);
  ~Gateway();
  // Starts serving and blocks until shutdown. Returns the process exit code.
  int run();

 private:
  void poll_config_file();
  bool load_and_publish(const std::string& content, bool initial);
  bool uses_store() const;
  // Store mode: opens the store and does the first full read (with retries).
  bool open_store();
  // Builds and publishes a snapshot from the store copy (coalesced: many
  // changes in one loop turn give one rebuild).
  void schedule_store_rebuild();
  bool publish_from_store(bool initial);
  void publish(std::shared_ptr<const config::Snapshot> snapshot);
  // The Admin API: key bootstrap, resource handlers, listener.
  bool start_admin();
  // The prometheus exporter, when the prometheus plugin is enabled.
  bool start_metrics_export();
  net::Task<admin::AdminResponse> handle_admin(admin::AdminRequest request);
  admin::AdminResponse status_response() const;
  admin::AdminResponse metrics_response() const;
  admin::AdminResponse route_plugins_response(const std::string& id) const;
  void reload_server_config();
  // Waits for the next signal: SIGHUP reloads, the first stop signal
  // drains, a second one ends the drain at once.
  void wait_signal();
  void reopen_logs();
  size_t open_connections() const;
  // The sum of the workers' Worker::requests_read().
  uint64_t requests_read() const;
  void begin_shutdown(bool graceful);
  void watch_drain();
  void arm_poll();

  config::ServerConfig config_;
  boost::asio::io_context control_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer poll_timer_;
  boost::asio::steady_timer drain_timer_;
  config::SnapshotBuilder builder_;
  store::FileWatch watch_;
  std::unique_ptr<config::DataEncryption> encryption_;
  std::unique_ptr<store::ConfigStore> store_;       // sqlite / etcd
  std::unique_ptr<store::ResourceSetStore> file_view_;  // standalone: read-only Admin view
  std::unique_ptr<store::ConfigSync> sync_;
  std::unique_ptr<admin::ResourceApi> resource_api_;
  std::unique_ptr<admin::AdminServer> admin_server_;
  std::unique_ptr<observability::PrometheusExporter> exporter_;
  // Active health checks of upstreams with `checks`, on the control loop.
  std::unique_ptr<upstream::HealthProber> health_prober_;
  bool rebuild_scheduled_ = false;
  core::Clock::time_point last_publish_;
  std::shared_ptr<const config::Snapshot> current_;
  std::shared_ptr<observability::AccessLogFile> access_log_;
  // torii.client_limits, shared by every worker; outlives them.
  std::shared_ptr<net::ClientLimiter> client_limits_;
  // The TLS listener's context (apisix.ssl); null when TLS is off.
  std::unique_ptr<tls::TlsServer> tls_server_;
  std::vector<std::unique_ptr<Worker>> workers_;
  core::Clock::time_point drain_deadline_;
  bool shutting_down_ = false;
};

}  // namespace torii::proxy
