// The Gateway's config-store mode (sqlite / etcd) and its Admin API wiring:
// opening the store, the first full read, rebuilding snapshots on change,
// the Admin API listener and the node status it reports.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <ctime>
#include <set>
#include <thread>

#include "admin/admin_key.h"
#include "admin/json_text.h"
#include "observability/metrics.h"
#include "plugins/plugin_registry.h"
#include "proxy/gateway.h"
#include "store/etcd_store.h"
#include "store/sqlite_store.h"
#include "upstream/health_check.h"

namespace torii::proxy {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr int kStartupAttempts = 3;
constexpr auto kStartupRetryDelay = std::chrono::seconds(1);

const char* provider_name(config::ConfigProvider p) {
  switch (p) {
    case config::ConfigProvider::kSqlite: return "sqlite";
    case config::ConfigProvider::kEtcd: return "etcd";
    case config::ConfigProvider::kJson: return "json";
    case config::ConfigProvider::kYaml: return "yaml";
  }
  return "yaml";
}

double seconds_since(core::Clock::time_point t) {
  if (t == core::Clock::time_point{}) return -1;
  return std::chrono::duration<double>(core::Clock::now() - t).count();
}

net::Task<void> run_load(store::ConfigSync* sync, std::optional<core::Status>* out) {
  *out = co_await sync->load();
}

}  // namespace

bool Gateway::uses_store() const {
  return config_.config_provider == config::ConfigProvider::kSqlite ||
         config_.config_provider == config::ConfigProvider::kEtcd;
}

bool Gateway::open_store() {
  auto ex = control_.get_executor();
  if (config_.config_provider == config::ConfigProvider::kSqlite) {
    auto s = store::SqliteStore::open(ex, config_.sqlite_path);
    if (!s) {
      spdlog::error("deployment.sqlite.path: {}", s.error().message);
      return false;
    }
    store_ = std::move(*s);
  } else {
    store::EtcdOptions opts;
    opts.hosts = config_.etcd.hosts;
    opts.timeout = config_.etcd.timeout;
    opts.user = config_.etcd.user;
    opts.password = config_.etcd.password;
    auto s = store::EtcdStore::create(ex, std::move(opts));
    if (!s) {
      spdlog::error("deployment.etcd: {}", s.error().message);
      return false;
    }
    store_ = std::move(*s);
  }
  sync_ = std::make_unique<store::ConfigSync>(ex, *store_, config_.etcd.prefix,
                                              [this] { schedule_store_rebuild(); });
  for (int attempt = 1;; ++attempt) {
    std::optional<core::Status> result;
    asio::co_spawn(ex, run_load(sync_.get(), &result), asio::detached);
    while (!result && control_.run_one() > 0) {
    }
    control_.restart();
    if (result && result->ok()) break;
    const std::string why = result ? result->error().message : "the read did not complete";
    if (attempt >= kStartupAttempts) {
      spdlog::error("config store {}: cannot read the configuration: {}; not starting",
                    store_->describe(), why);
      return false;
    }
    spdlog::warn("config store {}: cannot read the configuration: {}; retrying",
                 store_->describe(), why);
    std::this_thread::sleep_for(kStartupRetryDelay);
  }
  spdlog::info("config store {}: revision {}", store_->describe(), sync_->status().revision);
  return true;
}

void Gateway::schedule_store_rebuild() {
  if (rebuild_scheduled_) return;
  rebuild_scheduled_ = true;
  asio::post(control_, [this] {
    rebuild_scheduled_ = false;
    if (!shutting_down_) publish_from_store(false);
  });
}

bool Gateway::publish_from_store(bool initial) {
  auto snap = builder_.build(sync_->resources(), config_, config::BuildMode::kSkipInvalid);
  if (!snap) {
    spdlog::error("config store {}: {}; {}", store_->describe(), snap.error().message,
                  initial ? "not starting" : "keeping the previous configuration");
    return false;
  }
  publish(std::move(*snap));
  spdlog::info("configuration {} published (store revision {}, {} routes)", current_->version,
               sync_->status().revision, current_->routes.size());
  return true;
}

bool Gateway::start_admin() {
  if (!config_.enable_admin) return true;
  config::AdminSettings settings = config_.admin;
  if (!settings.admin_key_required) {
    spdlog::warn("deployment.admin.admin_key_required is false: the Admin API checks no key; "
                 "only allow_admin protects it");
  }
  if (settings.admin_key_required && settings.keys.empty()) {
    bool generated = false;
    auto key = admin::load_or_generate_admin_key(settings.admin_key_file, generated);
    if (!key) {
      spdlog::error("deployment.admin: {}", key.error().message);
      return false;
    }
    if (generated) {
      // Printed once, to the terminal only: a secret does not go into logs.
      std::fprintf(stderr,
                   "torii: generated the Admin API key (role admin), kept in %s (mode 0600):\n"
                   "  X-API-KEY: %s\n",
                   settings.admin_key_file.c_str(), key->c_str());
    }
    settings.keys.push_back(config::AdminKey{"admin", *key, false});
  }
  auto encryption = config::DataEncryption::create(config_.data_encryption_keyring);
  if (!encryption) {
    spdlog::error("apisix.data_encryption: {}", encryption.error().message);
    return false;
  }
  encryption_ = std::make_unique<config::DataEncryption>(std::move(*encryption));

  admin::ResourceApiOptions opts;
  opts.prefix = config_.etcd.prefix;
  opts.encryption = encryption_.get();
  opts.encrypt_plugin_fields = config_.encrypt_plugin_fields;
  if (!uses_store()) {
    opts.read_only_reason = "the Admin API is read-only: this node's configuration comes from " +
                            config_.standalone_file + " (config_provider: " +
                            provider_name(config_.config_provider) + "); edit that file instead";
  } else if (config_.role == "data_plane") {
    opts.read_only_reason =
        "the Admin API is read-only on a data plane (deployment.role: data_plane); "
        "write through a traditional or control_plane node";
  }
  store::ConfigStore& view = store_ ? *store_ : static_cast<store::ConfigStore&>(*file_view_);
  resource_api_ = std::make_unique<admin::ResourceApi>(view, std::move(opts));

  admin::AdminServerOptions server_opts;
  server_opts.settings = settings;
  server_opts.server_header = config_.http.server_header;
  auto server = admin::AdminServer::start(
      control_.get_executor(), std::move(server_opts),
      [this](admin::AdminRequest r) { return handle_admin(std::move(r)); });
  if (!server) {
    spdlog::error("{}", server.error().message);
    return false;
  }
  admin_server_ = std::move(*server);
  spdlog::info("Admin API on {}:{} ({} config)", settings.ip, admin_server_->port(),
               provider_name(config_.config_provider));
  return true;
}

bool Gateway::start_metrics_export() {
  if (!plugins::find_plugin("prometheus") || !config_.prometheus.enable_export_server) return true;
  observability::MetricsRegistry::global().set_connection_stats([this] {
    observability::ConnectionStats st;
    st.active = open_connections();
    st.requests = requests_read();
    return st;
  });
  observability::PrometheusSettings s;
  s.ip = config_.prometheus.ip;
  s.port = config_.prometheus.port;
  s.export_uri = config_.prometheus.export_uri;
  s.metric_prefix = config_.prometheus.metric_prefix;
  auto exporter = observability::PrometheusExporter::start(control_.get_executor(), s,
                                                           observability::MetricsRegistry::global());
  if (!exporter) {
    // Serving traffic matters more than exporting metrics: log and go on.
    spdlog::error("plugin_attr.prometheus: {}; metrics are not exported", exporter.error().message);
    return true;
  }
  exporter_ = std::move(*exporter);
  // The node's config-store series ride along on every scrape.
  exporter_->add_text_provider([this](std::string& out) {
    out += metrics_response().body;
  });
  // The health of every checked upstream's nodes (APISIX: 1 for healthy,
  // 0 for unhealthy), read at scrape time.
  exporter_->add_text_provider([prefix = s.metric_prefix](std::string& out) {
    const auto checkers = upstream::HealthCheckers::global().live();
    if (checkers.empty()) return;
    const std::string name = prefix + "upstream_status";
    observability::append_family_header(out, name, "Upstream status from health check", "gauge");
    // While a config change swaps an upstream, its old checker may still
    // be alive: newest first, one series per name, ip and port (Prometheus
    // refuses a scrape with a series twice).
    std::set<std::string> written;
    for (auto c = checkers.rbegin(); c != checkers.rend(); ++c) {
      for (size_t i = 0; i < (*c)->targets().size(); ++i) {
        const upstream::NodeSpec& node = (*c)->targets()[i].spec;
        const std::string port = std::to_string(node.port);
        if (!written.insert((*c)->name() + '\n' + node.host + '\n' + port).second) continue;
        observability::append_sample(out, name,
                                     {{"name", (*c)->name()}, {"ip", node.host}, {"port", port}},
                                     (*c)->target_healthy(i) ? 1 : 0);
      }
    }
  });
  spdlog::info("prometheus metrics on {}:{}{}", s.ip, s.port, s.export_uri);
  return true;
}

net::Task<admin::AdminResponse> Gateway::handle_admin(admin::AdminRequest request) {
  if (request.path == "/torii/status" || request.path == "/torii/metrics") {
    if (request.method != "GET") {
      admin::AdminResponse r;
      r.status = 405;
      r.body = R"({"error_msg":"not supported `)" + request.method + R"(` method for torii"})";
      co_return r;
    }
    co_return request.path == "/torii/status" ? status_response() : metrics_response();
  }
  // GET /routes/{id}/plugins: the effective chain (a Torii addition).
  constexpr std::string_view kRoutes = "/routes/", kPlugins = "/plugins";
  if (request.method == "GET" && request.path.starts_with(kRoutes) &&
      request.path.ends_with(kPlugins) &&
      request.path.size() > kRoutes.size() + kPlugins.size()) {
    const std::string id = request.path.substr(
        kRoutes.size(), request.path.size() - kRoutes.size() - kPlugins.size());
    if (id.find('/') == std::string::npos) co_return route_plugins_response(id);
  }
  co_return co_await resource_api_->handle(std::move(request));
}

admin::AdminResponse Gateway::route_plugins_response(const std::string& id) const {
  admin::AdminResponse r;
  const config::Route* route = nullptr;
  for (const auto& candidate : current_->routes) {
    if (candidate.id == id) route = &candidate;
  }
  if (!route) {
    r.status = 404;
    r.body = R"({"message":"Key not found"})";
    return r;
  }
  auto entries = [](const plugins::PluginChain* chain, bool global, const config::Route* rt) {
    json::array out;
    if (!chain) return out;
    for (const auto& e : chain->entries) {
      json::object o;
      o["name"] = e.info->name;
      o["priority"] = e.priority;
      o["source"] = e.source;
      o["source_id"] = e.source_id;
      if (e.filter) o["filtered"] = true;
      if (global && e.info->prefer_route && rt->plugins && rt->plugins->contains(e.info->name)) {
        o["skipped"] = "prefer_route: the route has its own copy";
      }
      out.push_back(std::move(o));
    }
    return out;
  };
  json::object o;
  o["route_id"] = id;
  o["snapshot_version"] = current_->version;
  o["global_rules"] = entries(current_->global_plugins.get(), true, route);
  o["plugins"] = entries(route->plugins.get(), false, route);
  r.body = admin::to_json(o);
  return r;
}

admin::AdminResponse Gateway::status_response() const {
  json::object o;
  o["version"] = TORII_VERSION;
  o["role"] = config_.role;
  o["config_provider"] = provider_name(config_.config_provider);
  json::object cfg;
  if (sync_) {
    const auto st = sync_->status();
    cfg["store"] = store_->describe();
    cfg["revision"] = st.revision;
    cfg["connected"] = st.connected;
    cfg["seconds_since_sync"] = seconds_since(st.last_sync);
    cfg["full_reads"] = st.full_reads;
    cfg["last_error"] = st.last_error;
  } else {
    cfg["store"] = config_.standalone_file;
  }
  o["config"] = std::move(cfg);
  json::object snap;
  snap["version"] = current_ ? current_->version : 0;
  snap["routes"] = current_ ? current_->routes.size() : 0;
  snap["seconds_since_publish"] = seconds_since(last_publish_);
  o["snapshot"] = std::move(snap);
  admin::AdminResponse r;
  r.body = admin::to_json(o);
  return r;
}

admin::AdminResponse Gateway::metrics_response() const {
  // Prometheus text format; the prometheus plugin's exporter carries the
  // same series once it exists.
  std::string out;
  auto gauge = [&out](const char* name, const char* help, double value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n" + name +
           " " + fmt::format("{}", value) + "\n";
  };
  if (sync_) {
    const auto st = sync_->status();
    gauge("torii_config_revision", "Config store revision this node has applied.",
          static_cast<double>(st.revision));
    gauge("torii_config_seconds_since_sync",
          "Seconds since this node last knew its config copy was current.",
          seconds_since(st.last_sync));
    gauge("torii_config_store_connected", "1 when the watch on the config store is established.",
          st.connected ? 1 : 0);
    if (config_.config_provider == config::ConfigProvider::kEtcd) {
      gauge("apisix_etcd_reachable", "Config server etcd can be reached by APISIX, 0 is unreachable",
            st.connected ? 1 : 0);
    }
  }
  gauge("torii_config_snapshot_version", "Version of the configuration snapshot being served.",
        current_ ? static_cast<double>(current_->version) : 0);
  admin::AdminResponse r;
  r.body = std::move(out);
  r.content_type = "text/plain; version=0.0.4";
  return r;
}

}  // namespace torii::proxy
