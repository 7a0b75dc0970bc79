#include "config/server_config.h"

#include "config/client_limits_config.h"
#include "config/deployment_config.h"
#include "config/yaml_read.h"
#include "core/config_duration.h"
#include "router/ip_matcher.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <set>
#include <thread>

namespace torii::config {
namespace {

using core::Error;
using core::config_error;

constexpr const char* kDefaultAccessLogFormat =
    "$remote_addr - $remote_user [$time_local] $http_host \"$request\" $status "
    "$body_bytes_sent $request_time \"$http_referer\" \"$http_user_agent\" $upstream_addr "
    "$upstream_status $upstream_response_time \"$upstream_scheme://$upstream_host$upstream_uri\"";

// Keys Torii reads. A key ending in ".*" accepts any sub-keys (free-form
// blocks owned by plugins, discovery or stores added later).
const std::set<std::string>& known_keys() {
  static const std::set<std::string> keys = {
      "apisix", "apisix.node_listen", "apisix.router", "apisix.router.http",
      "apisix.show_upstream_status_in_response_header", "apisix.enable_admin",
      "apisix.enable_ipv6", "apisix.id", "apisix.ssl", "apisix.ssl.enable", "apisix.ssl.listen",
      "apisix.ssl.ssl_protocols", "apisix.ssl.ssl_ciphers", "apisix.ssl.ssl_session_tickets",
      "apisix.ssl.ssl_session_timeout", "apisix.ssl.fallback_sni",
      "apisix.ssl.ssl_trusted_certificate", "apisix.data_encryption",
      "apisix.data_encryption.enable_encrypt_fields", "apisix.data_encryption.keyring",
      "apisix.enable_server_tokens", "apisix.trusted_addresses",
      "nginx_config", "nginx_config.worker_processes", "nginx_config.error_log",
      "nginx_config.error_log_level", "nginx_config.worker_shutdown_timeout",
      "nginx_config.event.*", "nginx_config.http", "nginx_config.http.enable_access_log",
      "nginx_config.http.access_log", "nginx_config.http.access_log_format",
      "nginx_config.http.access_log_buffer", "nginx_config.http.access_log_format_escape",
      "nginx_config.http.keepalive_timeout", "nginx_config.http.client_header_timeout",
      "nginx_config.http.client_body_timeout", "nginx_config.http.send_timeout",
      "nginx_config.http.client_max_body_size", "nginx_config.http.keepalive_requests",
      "nginx_config.http.client_header_buffer_size", "nginx_config.http.max_request_line_size",
      "nginx_config.http.max_header_size", "nginx_config.http.upstream.*",
      "deployment", "deployment.role", "deployment.role_traditional.*",
      "deployment.role_data_plane.*", "deployment.role_control_plane.*",
      "deployment.admin", "deployment.admin.admin_listen", "deployment.admin.admin_listen.ip",
      "deployment.admin.admin_listen.port", "deployment.admin.allow_admin",
      "deployment.admin.admin_key", "deployment.admin.admin_key_required",
      "deployment.admin.enable_admin_cors", "deployment.admin.admin_key_file",
      "deployment.admin.admin_api_version", "deployment.etcd", "deployment.etcd.host",
      "deployment.etcd.prefix", "deployment.etcd.timeout", "deployment.etcd.user",
      "deployment.etcd.password", "deployment.sqlite", "deployment.sqlite.path",
      "deployment.standalone.*", "plugins", "plugin_attr.*", "discovery.*",
      "stream_plugins", "torii", "torii.client_limits", "torii.splice_response_body",
      "torii.client_limits.max_connections", "torii.client_limits.max_connections_per_ip",
      "torii.client_limits.requests_per_second_per_ip", "torii.client_limits.burst",
      "torii.client_limits.max_tracked_ips", "torii.client_limits.ban",
      "torii.client_limits.ban.after_violations", "torii.client_limits.ban.within",
      "torii.client_limits.ban.duration",
  };
  return keys;
}

void collect_unknown(const YAML::Node& node, const std::string& prefix,
                     std::vector<std::string>& warnings) {
  if (!node.IsMap()) return;
  const auto& keys = known_keys();
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>("");
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    if (keys.count(path + ".*")) continue;
    if (!keys.count(path)) {
      warnings.push_back("config.yaml: unknown key " + path + " (ignored)");
      continue;
    }
    collect_unknown(kv.second, path, warnings);
  }
}

// Reads a scalar as T or returns an error naming the key.
template <class T>
core::Result<T> scalar(const YAML::Node& n, const std::string& key) {
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    return config_error("config.yaml: " + key + ": wrong type or value \"" + n.Scalar() + "\"");
  }
}

core::Result<std::chrono::milliseconds> duration_key(const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar()) return config_error("config.yaml: " + key + ": expected a duration");
  auto d = parse_duration(n.Scalar());
  if (!d) return config_error("config.yaml: " + key + ": " + d.error().message);
  return d;
}

core::Result<uint64_t> size_key(const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar()) return config_error("config.yaml: " + key + ": expected a size");
  auto s = parse_size(n.Scalar());
  if (!s) return config_error("config.yaml: " + key + ": " + s.error().message);
  return s;
}

core::Result<ListenAddress> listen_item(const YAML::Node& n, const std::string& key) {
  ListenAddress a;
  if (n.IsScalar()) {
    auto p = scalar<int>(n, key);
    if (!p) return p.error();
    if (*p < 1 || *p > 65535) return config_error("config.yaml: " + key + ": invalid port");
    a.port = static_cast<uint16_t>(*p);
    return a;
  }
  if (!n.IsMap()) return config_error("config.yaml: " + key + ": expected a port or {ip, port}");
  if (n["ip"]) {
    auto ip = scalar<std::string>(n["ip"], key + ".ip");
    if (!ip) return ip.error();
    a.ip = *ip;
  }
  if (!n["port"]) return config_error("config.yaml: " + key + ".port: required");
  auto p = scalar<int>(n["port"], key + ".port");
  if (!p) return p.error();
  if (*p < 1 || *p > 65535) return config_error("config.yaml: " + key + ".port: invalid port");
  a.port = static_cast<uint16_t>(*p);
  return a;
}

core::Status apply(const YAML::Node& root, ServerConfig& c) {
  const YAML::Node apisix = root["apisix"];
  if (apisix && apisix.IsMap()) {
    if (const YAML::Node nl = apisix["node_listen"]) {
      c.node_listen.clear();
      if (nl.IsSequence()) {
        for (size_t i = 0; i < nl.size(); ++i) {
          auto a = listen_item(nl[i], "apisix.node_listen[" + std::to_string(i) + "]");
          if (!a) return a.error();
          c.node_listen.push_back(*a);
        }
      } else {
        auto a = listen_item(nl, "apisix.node_listen");
        if (!a) return a.error();
        c.node_listen.push_back(*a);
      }
      if (c.node_listen.empty()) return config_error("config.yaml: apisix.node_listen: empty");
    }
    if (auto st = read_ssl_settings(apisix["ssl"], c.ssl); !st) return st;
    if (const YAML::Node r = apisix["router"]; r && r["http"]) {
      auto name = scalar<std::string>(r["http"], "apisix.router.http");
      if (!name) return name.error();
      auto kind = router::parse_router_kind(*name);
      if (!kind) {
        return config_error("config.yaml: apisix.router.http: unknown router \"" + *name +
                            "\" (radixtree_host_uri, radixtree_uri, radixtree_uri_with_parameter)");
      }
      c.router = *kind;
    }
    if (const YAML::Node ta = apisix["trusted_addresses"]) {
      if (!ta.IsSequence()) {
        return config_error("config.yaml: apisix.trusted_addresses: expected a list of IPs or CIDRs");
      }
      std::vector<std::string> list;
      for (size_t i = 0; i < ta.size(); ++i) {
        auto v = scalar<std::string>(ta[i], "apisix.trusted_addresses[" + std::to_string(i) + "]");
        if (!v) return v.error();
        list.push_back(*v);
      }
      if (auto m = router::IpMatcher::build(list); !m) {
        return config_error("config.yaml: apisix.trusted_addresses: " + m.error().message);
      }
      c.http.trusted_addresses = std::move(list);
    }
    if (const YAML::Node s = apisix["show_upstream_status_in_response_header"]) {
      auto v = scalar<bool>(s, "apisix.show_upstream_status_in_response_header");
      if (!v) return v.error();
      c.http.show_upstream_status_in_response_header = *v;
    }
  }

  const YAML::Node nginx = root["nginx_config"];
  if (nginx && nginx.IsMap()) {
    if (const YAML::Node wp = nginx["worker_processes"]) {
      if (wp.Scalar() == "auto") {
        c.worker_processes = 0;
      } else {
        auto n = scalar<int>(wp, "nginx_config.worker_processes");
        if (!n) return n.error();
        if (*n < 1 || *n > 1024) {
          return config_error("config.yaml: nginx_config.worker_processes: must be auto or 1..1024");
        }
        c.worker_processes = *n;
      }
    }
    if (nginx["error_log"]) {
      auto v = scalar<std::string>(nginx["error_log"], "nginx_config.error_log");
      if (!v) return v.error();
      c.error_log = *v;
    }
    if (nginx["error_log_level"]) {
      auto v = scalar<std::string>(nginx["error_log_level"], "nginx_config.error_log_level");
      if (!v) return v.error();
      static const std::set<std::string> levels = {"debug", "info",  "notice", "warn",
                                                   "error", "crit", "alert",  "emerg"};
      if (!levels.count(*v)) {
        return config_error("config.yaml: nginx_config.error_log_level: unknown level \"" + *v + "\"");
      }
      c.error_log_level = *v;
    }
    if (nginx["worker_shutdown_timeout"]) {
      auto d = duration_key(nginx["worker_shutdown_timeout"], "nginx_config.worker_shutdown_timeout");
      if (!d) return d.error();
      c.worker_shutdown_timeout = *d;
    }
    const YAML::Node http = nginx["http"];
    if (http && http.IsMap()) {
      HttpSettings& h = c.http;
      if (http["enable_access_log"]) {
        auto v = scalar<bool>(http["enable_access_log"], "nginx_config.http.enable_access_log");
        if (!v) return v.error();
        h.access_log_enabled = *v;
      }
      if (http["access_log"]) {
        auto v = scalar<std::string>(http["access_log"], "nginx_config.http.access_log");
        if (!v) return v.error();
        c.access_log = *v;
      }
      if (http["access_log_format"]) {
        auto v = scalar<std::string>(http["access_log_format"], "nginx_config.http.access_log_format");
        if (!v) return v.error();
        h.access_log_format = *v;
      }
      if (http["access_log_buffer"]) {
        auto v = size_key(http["access_log_buffer"], "nginx_config.http.access_log_buffer");
        if (!v) return v.error();
        c.access_log_buffer = static_cast<uint32_t>(std::min<uint64_t>(*v, 1 << 24));
      }
      struct DurationKey { const char* name; std::chrono::milliseconds* out; };
      for (auto [name, out] : {DurationKey{"keepalive_timeout", &h.keepalive_timeout},
                               DurationKey{"client_header_timeout", &h.client_header_timeout},
                               DurationKey{"client_body_timeout", &h.client_body_timeout},
                               DurationKey{"send_timeout", &h.send_timeout}}) {
        if (!http[name]) continue;
        auto d = duration_key(http[name], std::string("nginx_config.http.") + name);
        if (!d) return d.error();
        *out = *d;
      }
      if (http["client_max_body_size"]) {
        auto v = size_key(http["client_max_body_size"], "nginx_config.http.client_max_body_size");
        if (!v) return v.error();
        h.client_max_body_size = *v;
      }
      struct SizeKey { const char* name; uint32_t* out; uint64_t min, max; };
      for (auto [name, out, lo, hi] :
           {SizeKey{"client_header_buffer_size", &h.client_header_buffer_size, 256, 1 << 20},
            SizeKey{"max_request_line_size", &h.max_request_line_size, 256, 1 << 20},
            SizeKey{"max_header_size", &h.max_header_size, 1024, 1 << 20}}) {
        if (!http[name]) continue;
        auto v = size_key(http[name], std::string("nginx_config.http.") + name);
        if (!v) return v.error();
        if (*v < lo || *v > hi) {
          return config_error(std::string("config.yaml: nginx_config.http.") + name +
                              ": must be between " + std::to_string(lo) + " and " +
                              std::to_string(hi) + " bytes");
        }
        *out = static_cast<uint32_t>(*v);
      }
      if (http["keepalive_requests"]) {
        auto v = scalar<uint32_t>(http["keepalive_requests"], "nginx_config.http.keepalive_requests");
        if (!v) return v.error();
        h.keepalive_requests = std::max<uint32_t>(*v, 1);
      }
    }
  }

  if (auto st = apply_deployment(root["deployment"], c); !st) return st;
  if (const YAML::Node t = root["torii"]; t && !t.IsNull()) {
    if (!t.IsMap()) return config_error("config.yaml: torii: expected a map");
    if (auto st = apply_client_limits(t["client_limits"], c); !st) return st;
    if (const YAML::Node sp = t["splice_response_body"]) {
      auto v = scalar<bool>(sp, "torii.splice_response_body");
      if (!v) return v.error();
      c.http.splice_response_body = *v;
    }
  }
  if (const YAML::Node pa = root["plugin_attr"]; pa && pa.IsMap() && pa["redirect"] &&
                                                  pa["redirect"]["https_port"]) {
    auto v = yaml_scalar<int>(pa["redirect"]["https_port"], "plugin_attr.redirect.https_port");
    if (!v) return v.error();
    if (*v < 1 || *v > 65535) {
      return config_error("config.yaml: plugin_attr.redirect.https_port: invalid port");
    }
    c.redirect_https_port = static_cast<uint16_t>(*v);
  }
  if (const YAML::Node pa = root["plugin_attr"]; pa && pa.IsMap() && pa["prometheus"]) {
    const YAML::Node pr = pa["prometheus"];
    if (pr["enable_export_server"]) {
      auto v = yaml_scalar<bool>(pr["enable_export_server"], "plugin_attr.prometheus.enable_export_server");
      if (!v) return v.error();
      c.prometheus.enable_export_server = *v;
    }
    if (const YAML::Node a = pr["export_addr"]; a && a.IsMap()) {
      if (a["ip"]) {
        auto v = yaml_scalar<std::string>(a["ip"], "plugin_attr.prometheus.export_addr.ip");
        if (!v) return v.error();
        c.prometheus.ip = *v;
      }
      if (a["port"]) {
        auto v = yaml_scalar<int>(a["port"], "plugin_attr.prometheus.export_addr.port");
        if (!v) return v.error();
        if (*v < 0 || *v > 65535) {
          return config_error("config.yaml: plugin_attr.prometheus.export_addr.port: invalid port");
        }
        c.prometheus.port = static_cast<uint16_t>(*v);
      }
    }
    if (pr["export_uri"]) {
      auto v = yaml_scalar<std::string>(pr["export_uri"], "plugin_attr.prometheus.export_uri");
      if (!v) return v.error();
      c.prometheus.export_uri = *v;
    }
    if (pr["metric_prefix"]) {
      auto v = yaml_scalar<std::string>(pr["metric_prefix"], "plugin_attr.prometheus.metric_prefix");
      if (!v) return v.error();
      c.prometheus.metric_prefix = *v;
    }
  }
  if (const YAML::Node pa = root["plugin_attr"]; pa && pa.IsMap() && pa["proxy-mirror"]) {
    const YAML::Node pm = pa["proxy-mirror"];
    if (const YAML::Node t = pm["timeout"]; t && t.IsMap()) {
      const std::pair<const char*, std::chrono::milliseconds*> keys[] = {
          {"connect", &c.proxy_mirror.connect_timeout},
          {"send", &c.proxy_mirror.send_timeout},
          {"read", &c.proxy_mirror.read_timeout}};
      for (const auto& [name, slot] : keys) {
        if (!t[name]) continue;
        auto d = duration_key(t[name], std::string("plugin_attr.proxy-mirror.timeout.") + name);
        if (!d) return d.error();
        if (d->count() <= 0) {
          return config_error(std::string("config.yaml: plugin_attr.proxy-mirror.timeout.") +
                              name + ": must be greater than 0");
        }
        *slot = *d;
      }
    }
    if (pm["max_inflight"]) {
      auto v = scalar<uint32_t>(pm["max_inflight"], "plugin_attr.proxy-mirror.max_inflight");
      if (!v) return v.error();
      if (*v == 0) {
        return config_error("config.yaml: plugin_attr.proxy-mirror.max_inflight: must be at least 1");
      }
      c.proxy_mirror.max_inflight = *v;
    }
  }
  if (const YAML::Node p = root["plugins"]; p && !p.IsNull()) {
    auto list = yaml_string_list(p, "plugins");
    if (!list) return list.error();
    c.plugins = std::move(*list);
  }
  if (apisix && apisix.IsMap()) {
    if (auto st = apply_data_encryption(apisix["data_encryption"], c); !st) return st;
    if (apisix["enable_admin"]) {
      auto v = scalar<bool>(apisix["enable_admin"], "apisix.enable_admin");
      if (!v) return v.error();
      c.enable_admin = *v;
    }
  }
  return core::ok_status();
}

std::string resolve(const std::string& dir, const std::string& p) {
  if (p.empty() || p == "stderr" || p == "stdout" || p[0] == '/') return p;
  return (std::filesystem::path(dir) / p).lexically_normal().string();
}

}  // namespace

core::Result<std::chrono::milliseconds> parse_duration(std::string_view t) {
  double value = 0;
  const char* end = t.data() + t.size();
  auto [ptr, ec] = std::from_chars(t.data(), end, value);
  if (ec != std::errc() || !std::isfinite(value) || value < 0) {
    return config_error("invalid duration \"" + std::string(t) + "\"");
  }
  const std::string_view unit(ptr, static_cast<size_t>(end - ptr));
  double ms = 0;
  if (unit.empty() || unit == "s") ms = value * 1000;
  else if (unit == "ms") ms = value;
  else if (unit == "m") ms = value * 60000;
  else if (unit == "h") ms = value * 3600000;
  else if (unit == "d") ms = value * 86400000;
  else return config_error("invalid duration \"" + std::string(t) + "\" (units: ms, s, m, h, d)");
  // Deadlines add durations to steady_clock readings in nanoseconds.
  constexpr auto kMaxMs = static_cast<double>(core::kMaxConfigDuration.count());
  if (ms > kMaxMs) {
    return config_error("invalid duration \"" + std::string(t) + "\" (too large: at most 100 years)");
  }
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

core::Result<uint64_t> parse_size(std::string_view t) {
  uint64_t value = 0;
  const char* end = t.data() + t.size();
  auto [ptr, ec] = std::from_chars(t.data(), end, value);
  if (ec != std::errc()) return config_error("invalid size \"" + std::string(t) + "\"");
  const std::string_view unit(ptr, static_cast<size_t>(end - ptr));
  uint64_t mul = 1;
  if (unit.empty()) mul = 1;
  else if (unit == "k" || unit == "K") mul = 1024;
  else if (unit == "m" || unit == "M") mul = 1024 * 1024;
  else if (unit == "g" || unit == "G") mul = 1024ull * 1024 * 1024;
  else return config_error("invalid size \"" + std::string(t) + "\" (units: k, m, g)");
  if (value > UINT64_MAX / mul) return config_error("invalid size \"" + std::string(t) + "\" (too large)");
  return value * mul;
}

core::Result<ServerConfig> load_server_config(const std::string& path,
                                              std::vector<std::string>& warnings) {
  ServerConfig c;
  c.path = path;
  c.conf_dir = std::filesystem::path(path).parent_path().string();
  if (c.conf_dir.empty()) c.conf_dir = ".";
  c.http.access_log_format = kDefaultAccessLogFormat;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return config_error("config.yaml: cannot read " + path);
  } catch (const YAML::Exception& e) {
    return config_error("config.yaml: " + path + ": " + e.what());
  }
  if (root && !root.IsNull() && !root.IsMap()) {
    return config_error("config.yaml: " + path + ": the top level must be a map");
  }
  c.empty_document = !root || root.IsNull();
  if (root.IsMap()) {
    // yaml-cpp throws where a key the code walks into is a scalar (e.g.
    // `router: radixtree_uri` instead of `router: {http: ...}`).
    try {
      collect_unknown(root, "", warnings);
      if (auto st = apply(root, c); !st) return st.error();
    } catch (const YAML::Exception& e) {
      return config_error("config.yaml: " + path + ": " + e.what());
    }
  }
  if (c.worker_processes == 0) {
    c.worker_processes = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  if (c.standalone_file.empty()) {
    c.standalone_file = c.config_provider == ConfigProvider::kJson ? "apisix.json" : "apisix.yaml";
  }
  c.standalone_file = resolve(c.conf_dir, c.standalone_file);
  c.sqlite_path = resolve(c.conf_dir, c.sqlite_path);
  if (c.admin.admin_key_file.empty()) c.admin.admin_key_file = "admin_key";
  c.admin.admin_key_file = resolve(c.conf_dir, c.admin.admin_key_file);
  return c;
}

}  // namespace torii::config
