// conf/config.yaml: APISIX's keys for everything Torii supports, loaded into
// typed settings with APISIX's defaults. Unknown keys produce warnings (never
// silently ignored); wrong types and values produce errors naming the key.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/ssl_settings.h"
#include "core/result.h"
#include "net/client_limit_settings.h"
#include "router/router.h"

namespace torii::config {

struct ListenAddress {
  std::string ip = "0.0.0.0";
  uint16_t port = 9080;
};

// Settings the data plane reads per request; replaced whole on SIGHUP.
struct HttpSettings {
  std::chrono::milliseconds client_header_timeout{60000};
  std::chrono::milliseconds client_body_timeout{60000};
  std::chrono::milliseconds keepalive_timeout{60000};
  std::chrono::milliseconds send_timeout{10000};
  uint64_t client_max_body_size = 0;      // 0: unlimited (APISIX default)
  uint32_t client_header_buffer_size = 1024;
  uint32_t max_request_line_size = 8192;  // longer: 414
  uint32_t max_header_size = 32768;       // whole head longer: 431
  uint32_t keepalive_requests = 1000;     // per client connection
  bool access_log_enabled = true;
  std::string access_log_format;          // nginx-style $variables
  bool show_upstream_status_in_response_header = false;
  // apisix.trusted_addresses: peers whose X-Forwarded-Proto/-Host/-Port (and
  // Forwarded) are passed upstream as sent; from anyone else they are replaced.
  std::vector<std::string> trusted_addresses;
  std::string server_header = "APISIX";  // `Server:` value ("APISIX" for compatibility)
  // torii.splice_response_body: plain-HTTP Content-Length bodies move from
  // the upstream to the client with splice(2) (proxy/splice_body.cc).
  bool splice_response_body = true;
};

enum class ConfigProvider : uint8_t { kYaml, kJson, kSqlite, kEtcd };

struct AdminKey {
  std::string name;
  std::string key;
  bool viewer = false;  // role: viewer (GET only); otherwise admin
};

// deployment.admin.*
struct AdminSettings {
  std::string ip = "127.0.0.1";  // admin_listen.ip
  uint16_t port = 9180;          // admin_listen.port
  // allow_admin: CIDRs allowed to talk to the Admin API (APISIX's default).
  std::vector<std::string> allow_admin{"127.0.0.0/24"};
  // admin_key entries with a non-empty key. Empty while admin_key_required:
  // the gateway generates one at first start (admin_key_file).
  std::vector<AdminKey> keys;
  bool admin_key_required = true;
  bool enable_admin_cors = true;
  std::string admin_key_file;    // torii: where a generated key is kept (0600)
};

// deployment.etcd.*
struct EtcdSettings {
  std::vector<std::string> hosts{"http://127.0.0.1:2379"};
  std::string prefix = "/apisix";
  std::chrono::milliseconds timeout{30000};
  std::string user;
  std::string password;
};

struct ServerConfig {
  std::string path;        // config.yaml as given
  std::string conf_dir;    // its directory: relative paths resolve against it
  // The file held no YAML document (empty, or only comments): every key is
  // at its default. Fine for a first start, not for a SIGHUP (a file being
  // rewritten would switch every limit off).
  bool empty_document = false;
  std::vector<ListenAddress> node_listen{ListenAddress{}};
  SslSettings ssl;  // apisix.ssl: the TLS listener
  int worker_processes = 0;  // 0: auto (one per core)
  router::RouterKind router = router::RouterKind::kRadixtreeHostUri;
  std::string role = "traditional";
  ConfigProvider config_provider = ConfigProvider::kSqlite;
  std::string standalone_file;  // apisix.yaml / apisix.json path
  AdminSettings admin;
  EtcdSettings etcd;
  std::string sqlite_path = "torii.db";  // deployment.sqlite.path (relative: to conf_dir)
  // apisix.data_encryption: keyring used to encrypt SSL keys (and, with
  // enable_encrypt_fields, plugins' secret fields) at rest; empty: off.
  std::vector<std::string> data_encryption_keyring{"qeddd145sfvddff3", "edd1c9f0985e76a2"};
  bool encrypt_plugin_fields = true;
  bool enable_admin = true;  // apisix.enable_admin
  // config.yaml `plugins`: the enabled plugins; empty optional: every plugin
  // this build has.
  std::optional<std::vector<std::string>> plugins;
  // plugin_attr.prometheus: the exporter listener (started when the
  // prometheus plugin is enabled and enable_export_server is true).
  struct Prometheus {
    bool enable_export_server = true;
    std::string ip = "127.0.0.1";
    uint16_t port = 9091;
    std::string export_uri = "/apisix/prometheus/metrics";
    std::string metric_prefix = "apisix_";
  } prometheus;
  // plugin_attr.proxy-mirror: timeout.{connect,send,read} (APISIX's, 60s
  // each) and torii's max_inflight (mirrors in flight per worker).
  struct ProxyMirror {
    std::chrono::milliseconds connect_timeout{60000};
    std::chrono::milliseconds send_timeout{60000};
    std::chrono::milliseconds read_timeout{60000};
    uint32_t max_inflight = 128;
  } proxy_mirror;
  // plugin_attr.redirect.https_port: where http_to_https sends clients.
  std::optional<uint16_t> redirect_https_port;
  std::string error_log = "logs/error.log";  // "stderr" allowed; relative to the working dir
  std::string error_log_level = "warn";
  std::string access_log = "logs/access.log";
  uint32_t access_log_buffer = 16384;
  std::chrono::milliseconds worker_shutdown_timeout{240000};
  std::chrono::milliseconds standalone_poll_interval{200};
  HttpSettings http;
  // torii.client_limits: the listener's abuse limits (all off by default).
  net::ClientLimitSettings client_limits;
};

// Loads and validates `path`. `warnings` receives one line per unknown key
// ("config.yaml: unknown key apisix.foo"); errors name the key.
core::Result<ServerConfig> load_server_config(const std::string& path,
                                              std::vector<std::string>& warnings);

// "10s", "500ms", "1m", "2h", or a bare number of seconds.
core::Result<std::chrono::milliseconds> parse_duration(std::string_view text);
// "8k", "1m", "1g", or a bare number of bytes.
core::Result<uint64_t> parse_size(std::string_view text);

}  // namespace torii::config
