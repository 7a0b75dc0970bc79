// The process: loads config.yaml, compiles the first snapshot, starts the
// workers, then runs the control loop on the calling thread: it polls the
// standalone file and publishes new snapshots, re-reads config.yaml on
// SIGHUP, and drains on SIGTERM/SIGQUIT (SIGINT too; a second stop signal
// ends the drain at once). The control loop never
// blocks a worker: workers only ever receive posted snapshots.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <vector>

#include "config/server_config.h"
#include "config/snapshot_builder.h"
#include "proxy/worker.h"
#include "store/file_watch.h"

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
  void reload_server_config();
  // Waits for the next signal: SIGHUP reloads, the first stop signal
  // drains, a second one ends the drain at once.
  void wait_signal();
  size_t open_connections() const;
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
  std::shared_ptr<const config::Snapshot> current_;
  std::shared_ptr<observability::AccessLogFile> access_log_;
  std::vector<std::unique_ptr<Worker>> workers_;
  core::Clock::time_point drain_deadline_;
  bool shutting_down_ = false;
};

}  // namespace torii::proxy
