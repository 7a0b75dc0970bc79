#include "proxy/gateway.h"

#include <spdlog/spdlog.h>

#include "config/standalone_file.h"
#include "net/listener.h"
#include "observability/error_log.h"

namespace torii::proxy {

namespace asio = boost::asio;

Gateway::Gateway(config::ServerConfig config)
    : config_(std::move(config)),
      signals_(control_, SIGTERM, SIGQUIT, SIGINT),
      poll_timer_(control_),
      drain_timer_(control_),
      watch_(config_.standalone_file) {
  signals_.add(SIGHUP);
  signals_.add(SIGUSR1);
}

Gateway::~Gateway() { observability::MetricsRegistry::global().set_connection_stats(nullptr); }

bool Gateway::load_and_publish(const std::string& content, bool initial) {
  const bool json = config_.config_provider == config::ConfigProvider::kJson;
  auto set = config::parse_standalone(content, json ? config::FileFormat::kJson : config::FileFormat::kYaml);
  if (!set) {
    spdlog::error("{}: {}; {}", config_.standalone_file, set.error().message,
                  initial ? "not starting" : "keeping the previous configuration");
    return false;
  }
  auto snap = builder_.build(*set, config_);
  if (!snap) {
    spdlog::error("{}: {}; {}", config_.standalone_file, snap.error().message,
                  initial ? "not starting" : "keeping the previous configuration");
    return false;
  }
  if (file_view_) file_view_->replace(*set);
  publish(std::move(*snap));
  if (!initial) {
    spdlog::info("{}: configuration {} published ({} routes)", config_.standalone_file,
                 current_->version, current_->routes.size());
  }
  return true;
}

void Gateway::publish(std::shared_ptr<const config::Snapshot> snapshot) {
  current_ = std::move(snapshot);
  last_publish_ = core::Clock::now();
  for (auto& w : workers_) w->publish(current_);
}

void Gateway::poll_config_file() {
  if (auto content = watch_.poll()) load_and_publish(*content, false);
}

void Gateway::arm_poll() {
  poll_timer_.expires_after(config_.standalone_poll_interval);
  poll_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || shutting_down_) return;
    poll_config_file();
    arm_poll();
  });
}

void Gateway::reload_server_config() {
  std::vector<std::string> warnings;
  auto fresh = config::load_server_config(config_.path, warnings);
  for (const auto& w : warnings) spdlog::warn("{}", w);
  if (!fresh) {
    spdlog::error("SIGHUP: {}; keeping the running configuration", fresh.error().message);
    return;
  }
  if (fresh->empty_document) {
    spdlog::error("SIGHUP: config.yaml: {} holds no settings (a file being rewritten?); keeping "
                  "the running configuration",
                  config_.path);
    return;
  }
  if (fresh->worker_processes != config_.worker_processes ||
      fresh->node_listen.size() != config_.node_listen.size()) {
    spdlog::warn("SIGHUP: worker_processes and node_listen changes need a restart");
  }
  if (fresh->access_log != config_.access_log || fresh->error_log != config_.error_log ||
      (fresh->http.access_log_enabled && !access_log_)) {
    spdlog::warn("SIGHUP: log file paths and turning the access log on need a restart");
  }
  observability::set_error_log_level(fresh->error_log_level);
  config_.router = fresh->router;  // the next snapshot is built with it
  config_.http = fresh->http;
  if (!access_log_) config_.http.access_log_enabled = false;
  config_.error_log_level = fresh->error_log_level;
  config_.worker_shutdown_timeout = fresh->worker_shutdown_timeout;
  config_.client_limits = fresh->client_limits;
  if (client_limits_) client_limits_->configure(config_.client_limits);
  spdlog::info("SIGHUP: config.yaml re-read");
  // Re-publish so the new HTTP settings reach the workers with the routes.
  if (uses_store()) {
    publish_from_store(false);
    return;
  }
  store::FileWatch fresh_watch(config_.standalone_file);
  if (auto content = fresh_watch.poll()) load_and_publish(*content, false);
}

void Gateway::wait_signal() {
  signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      if (!shutting_down_) reload_server_config();
    } else if (sig == SIGUSR1) {
      reopen_logs();
    } else if (shutting_down_) {
      // A second stop signal during the drain: stop now, like nginx's fast stop.
      spdlog::warn("second stop signal: closing {} connections now", open_connections());
      drain_deadline_ = core::Clock::now();
    } else {
      begin_shutdown(true);
    }
    wait_signal();
  });
}

// SIGUSR1, as nginx's `-s reopen`: after logrotate moved the files away,
// both logs continue in new files at their configured paths.
void Gateway::reopen_logs() {
  bool ok = true;
  if (auto st = observability::reopen_error_log(); !st) {
    spdlog::error("SIGUSR1: {}", st.error().message);
    ok = false;
  }
  if (access_log_) {
    if (auto st = access_log_->reopen(); !st) {
      spdlog::error("SIGUSR1: {}", st.error().message);
      ok = false;
    }
  }
  if (ok) spdlog::warn("SIGUSR1: log files reopened");
}

size_t Gateway::open_connections() const {
  size_t open = 0;
  for (const auto& w : workers_) open += w->open_connections();
  return open;
}

uint64_t Gateway::requests_read() const {
  uint64_t n = 0;
  for (const auto& w : workers_) n += w->requests_read();
  return n;
}

void Gateway::begin_shutdown(bool graceful) {
  if (shutting_down_) return;
  shutting_down_ = true;
  poll_timer_.cancel();
  if (admin_server_) admin_server_->stop();
  exporter_.reset();
  if (health_prober_) health_prober_->stop();
  if (sync_) sync_->stop();
  if (store_) store_->close();
  spdlog::info("shutting down ({})", graceful ? "draining" : "immediate");
  for (auto& w : workers_) w->drain();
  drain_deadline_ = core::Clock::now() + config_.worker_shutdown_timeout;
  watch_drain();
}

void Gateway::watch_drain() {
  const size_t open = open_connections();
  if (open == 0 || core::Clock::now() >= drain_deadline_) {
    if (open > 0) spdlog::warn("drain timeout: closing {} connections", open);
    for (auto& w : workers_) w->stop();
    signals_.cancel();
    control_.stop();
    return;
  }
  drain_timer_.expires_after(std::chrono::milliseconds(20));
  drain_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) watch_drain();
  });
}

int Gateway::run() {
  if (config_.http.access_log_enabled) {
    auto log = observability::AccessLogFile::open(config_.access_log);
    if (!log) {
      spdlog::error("{}", log.error().message);
      return 1;
    }
    access_log_ = *log;
  }
  if (uses_store()) {
    if (!open_store() || !publish_from_store(true)) return 1;
  } else {
    auto first = watch_.poll();
    if (!first) {
      spdlog::error("cannot read the standalone configuration {}", config_.standalone_file);
      return 1;
    }
    file_view_ = std::make_unique<store::ResourceSetStore>(config_.etcd.prefix);
    if (!load_and_publish(*first, true)) return 1;
  }

  if (config_.ssl.enable) {
    auto tls = tls::TlsServer::create(config_.ssl);
    if (!tls) {
      spdlog::error("{}", tls.error().message);
      return 1;
    }
    tls_server_ = std::move(*tls);
  }
  // Before the workers' SO_REUSEPORT sockets exist: one of another process
  // on the same port would silently share its connections with ours.
  std::vector<std::pair<std::string, uint16_t>> addresses;
  for (const auto& a : config_.node_listen) addresses.emplace_back(a.ip, a.port);
  if (tls_server_) {
    for (const auto& a : config_.ssl.listen) addresses.emplace_back(a.ip, a.port);
  }
  for (const auto& [ip, port] : addresses) {
    if (auto st = net::ensure_not_listened(ip, port); !st) {
      spdlog::error("{}", st.error().message);
      return 1;
    }
  }
  for (int i = 0; i < config_.worker_processes; ++i) {
    auto w = std::make_unique<Worker>(i, access_log_, config_.access_log_buffer);
    if (auto st = w->listen(config_.node_listen); !st) {
      spdlog::error("{}", st.error().message);
      return 1;
    }
    if (tls_server_) {
      if (auto st = w->listen_tls(config_.ssl.listen, &tls_server_->context()); !st) {
        spdlog::error("{}", st.error().message);
        return 1;
      }
    }
    workers_.push_back(std::move(w));
  }
  client_limits_ = std::make_shared<net::ClientLimiter>(config_.client_limits);
  for (auto& w : workers_) {
    w->set_worker_count(static_cast<unsigned>(workers_.size()));
    w->set_upstream_trusted_ca(config_.ssl.trusted_certificate);
    w->set_client_limits(client_limits_);
  }
  for (auto& w : workers_) w->start(current_);
  std::string listen;
  for (const auto& a : config_.node_listen) {
    listen += (listen.empty() ? "" : ", ") + a.ip + ":" + std::to_string(a.port);
  }
  if (tls_server_) {
    for (const auto& a : config_.ssl.listen) {
      listen += ", " + a.ip + ":" + std::to_string(a.port) + " (TLS)";
    }
  }
  spdlog::info("torii {} serving on {} with {} workers, {} routes", TORII_VERSION, listen,
               workers_.size(), current_->routes.size());

  if (!start_admin() || !start_metrics_export()) {
    for (auto& w : workers_) w->stop();
    for (auto& w : workers_) w->join();
    return 1;
  }
  health_prober_ =
      std::make_unique<upstream::HealthProber>(control_, config_.ssl.trusted_certificate);
  health_prober_->start();
  wait_signal();
  if (sync_) {
    sync_->start();
  } else {
    arm_poll();
  }
  control_.run();
  for (auto& w : workers_) w->join();
  spdlog::info("torii stopped");
  spdlog::default_logger()->flush();
  return 0;
}

}  // namespace torii::proxy
