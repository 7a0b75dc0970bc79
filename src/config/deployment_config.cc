#include "config/deployment_config.h"

#include "config/yaml_read.h"
#include "router/ip_matcher.h"

namespace torii::config {
namespace {

using core::config_error;

core::Status apply_admin(const YAML::Node& a, AdminSettings& admin) {
  if (const YAML::Node l = a["admin_listen"]) {
    if (!l.IsMap()) return config_error("config.yaml: deployment.admin.admin_listen: expected {ip, port}");
    if (l["ip"]) {
      auto v = yaml_scalar<std::string>(l["ip"], "deployment.admin.admin_listen.ip");
      if (!v) return v.error();
      admin.ip = *v;
    }
    if (l["port"]) {
      auto v = yaml_scalar<int>(l["port"], "deployment.admin.admin_listen.port");
      if (!v) return v.error();
      if (*v < 1 || *v > 65535) {
        return config_error("config.yaml: deployment.admin.admin_listen.port: invalid port");
      }
      admin.port = static_cast<uint16_t>(*v);
    }
  }
  if (const YAML::Node allow = a["allow_admin"]) {
    auto list = yaml_string_list(allow, "deployment.admin.allow_admin");
    if (!list) return list.error();
    if (list->empty()) {
      // APISIX turns [] into nginx `deny all`; an Admin API nobody can reach
      // is a mistake, not a setting.
      return config_error(
          "config.yaml: deployment.admin.allow_admin: an empty list denies everyone; list the "
          "CIDRs allowed (0.0.0.0/0 and ::/0 for all) or set apisix.enable_admin: false");
    }
    if (auto m = router::IpMatcher::build(*list); !m) {
      return config_error("config.yaml: deployment.admin.allow_admin: " + m.error().message);
    }
    admin.allow_admin = std::move(*list);
  }
  if (const YAML::Node keys = a["admin_key"]) {
    if (!keys.IsSequence()) {
      return config_error("config.yaml: deployment.admin.admin_key: expected a list of {name, key, role}");
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      const std::string where = "deployment.admin.admin_key[" + std::to_string(i) + "]";
      const YAML::Node k = keys[i];
      if (!k.IsMap()) return config_error("config.yaml: " + where + ": expected {name, key, role}");
      AdminKey key;
      if (k["name"]) {
        auto v = yaml_scalar<std::string>(k["name"], where + ".name");
        if (!v) return v.error();
        key.name = *v;
      }
      if (k["key"] && !k["key"].IsNull()) {
        auto v = yaml_scalar<std::string>(k["key"], where + ".key");
        if (!v) return v.error();
        key.key = *v;
      }
      if (k["role"]) {
        auto v = yaml_scalar<std::string>(k["role"], where + ".role");
        if (!v) return v.error();
        if (*v != "admin" && *v != "viewer") {
          return config_error("config.yaml: " + where + ".role: must be admin or viewer");
        }
        key.viewer = *v == "viewer";
      }
      // An empty key means "generate one" in APISIX; Torii generates it
      // into admin_key_file instead of writing config.yaml back.
      if (!key.key.empty()) admin.keys.push_back(std::move(key));
    }
  }
  struct BoolKey { const char* name; bool* out; };
  for (auto [name, out] : {BoolKey{"admin_key_required", &admin.admin_key_required},
                           BoolKey{"enable_admin_cors", &admin.enable_admin_cors}}) {
    if (!a[name]) continue;
    auto v = yaml_scalar<bool>(a[name], std::string("deployment.admin.") + name);
    if (!v) return v.error();
    *out = *v;
  }
  if (a["admin_key_file"]) {
    auto v = yaml_scalar<std::string>(a["admin_key_file"], "deployment.admin.admin_key_file");
    if (!v) return v.error();
    admin.admin_key_file = *v;
  }
  return core::ok_status();
}

core::Status apply_etcd(const YAML::Node& e, EtcdSettings& etcd) {
  if (e["host"]) {
    auto hosts = yaml_string_list(e["host"], "deployment.etcd.host");
    if (!hosts) return hosts.error();
    if (hosts->empty()) return config_error("config.yaml: deployment.etcd.host: empty");
    for (const auto& h : *hosts) {
      if (h.rfind("http://", 0) != 0) {
        return config_error("config.yaml: deployment.etcd.host: \"" + h +
                            "\": only http:// endpoints are supported");
      }
    }
    etcd.hosts = std::move(*hosts);
  }
  if (e["prefix"]) {
    auto v = yaml_scalar<std::string>(e["prefix"], "deployment.etcd.prefix");
    if (!v) return v.error();
    std::string p = *v;
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    if (p.empty() || p[0] != '/') {
      return config_error("config.yaml: deployment.etcd.prefix: must start with /");
    }
    etcd.prefix = p;
  }
  if (e["timeout"]) {
    auto v = yaml_scalar<double>(e["timeout"], "deployment.etcd.timeout");
    if (!v) return v.error();
    if (!(*v > 0) || *v > 3600) {
      return config_error("config.yaml: deployment.etcd.timeout: seconds, between 0 and 3600");
    }
    etcd.timeout = std::chrono::milliseconds(static_cast<int64_t>(*v * 1000));
  }
  for (auto [name, out] : {std::pair<const char*, std::string*>{"user", &etcd.user},
                           std::pair<const char*, std::string*>{"password", &etcd.password}}) {
    if (!e[name]) continue;
    auto v = yaml_scalar<std::string>(e[name], std::string("deployment.etcd.") + name);
    if (!v) return v.error();
    *out = *v;
  }
  return core::ok_status();
}

}  // namespace

core::Status apply_deployment(const YAML::Node& dep, ServerConfig& c) {
  if (!dep || !dep.IsMap()) {
    c.config_provider = ConfigProvider::kSqlite;
    return core::ok_status();
  }
  if (dep["role"]) {
    auto v = yaml_scalar<std::string>(dep["role"], "deployment.role");
    if (!v) return v.error();
    if (*v != "traditional" && *v != "data_plane" && *v != "control_plane") {
      return config_error("config.yaml: deployment.role: unknown role \"" + *v + "\"");
    }
    c.role = *v;
  }
  // A data plane reads the standalone file unless told otherwise; the other
  // roles keep their config in the embedded store unless told otherwise.
  c.config_provider = c.role == "data_plane" ? ConfigProvider::kYaml : ConfigProvider::kSqlite;
  const std::string role_key = "role_" + c.role;
  if (const YAML::Node r = dep[role_key]; r && r["config_provider"]) {
    const std::string key = "deployment." + role_key + ".config_provider";
    auto v = yaml_scalar<std::string>(r["config_provider"], key);
    if (!v) return v.error();
    if (*v == "yaml") c.config_provider = ConfigProvider::kYaml;
    else if (*v == "json") c.config_provider = ConfigProvider::kJson;
    else if (*v == "sqlite") c.config_provider = ConfigProvider::kSqlite;
    else if (*v == "etcd") c.config_provider = ConfigProvider::kEtcd;
    else return config_error("config.yaml: " + key + ": unknown provider \"" + *v + "\" (sqlite, etcd, yaml, json)");
  }
  if (const YAML::Node a = dep["admin"]; a && a.IsMap()) {
    if (auto st = apply_admin(a, c.admin); !st) return st;
  }
  if (const YAML::Node e = dep["etcd"]; e && e.IsMap()) {
    if (auto st = apply_etcd(e, c.etcd); !st) return st;
  }
  if (const YAML::Node s = dep["sqlite"]; s && s.IsMap() && s["path"]) {
    auto v = yaml_scalar<std::string>(s["path"], "deployment.sqlite.path");
    if (!v) return v.error();
    if (v->empty()) return config_error("config.yaml: deployment.sqlite.path: empty");
    c.sqlite_path = *v;
  }
  if (const YAML::Node s = dep["standalone"]; s && s["file"]) {
    auto v = yaml_scalar<std::string>(s["file"], "deployment.standalone.file");
    if (!v) return v.error();
    c.standalone_file = *v;
  }
  return core::ok_status();
}

core::Status apply_data_encryption(const YAML::Node& de, ServerConfig& c) {
  if (!de || !de.IsMap()) return core::ok_status();
  bool enabled = true;
  if (de["enable_encrypt_fields"]) {
    auto v = yaml_scalar<bool>(de["enable_encrypt_fields"], "apisix.data_encryption.enable_encrypt_fields");
    if (!v) return v.error();
    enabled = *v;
  }
  if (de["keyring"]) {
    auto list = yaml_string_list(de["keyring"], "apisix.data_encryption.keyring");
    if (!list) return list.error();
    for (size_t i = 0; i < list->size(); ++i) {
      if ((*list)[i].size() != 16) {
        return config_error("config.yaml: apisix.data_encryption.keyring[" + std::to_string(i) +
                            "]: must be 16 characters (AES-128)");
      }
    }
    c.data_encryption_keyring = std::move(*list);
  }
  // As in APISIX, the flag governs plugin fields only: SSL private keys are
  // encrypted whenever a keyring is set.
  c.encrypt_plugin_fields = enabled;
  return core::ok_status();
}

}  // namespace torii::config
