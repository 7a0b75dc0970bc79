#include "config/ssl_settings.h"

#include <fstream>
#include <sstream>

#include "config/yaml_read.h"
#include "tls/pem.h"

namespace torii::config {

using core::config_error;

namespace {

core::Result<SslListen> listen_entry(const YAML::Node& n, const std::string& key) {
  SslListen l;
  if (n.IsScalar()) {
    auto p = yaml_scalar<int>(n, key);
    if (!p) return p.error();
    if (*p < 1 || *p > 65535) return config_error("config.yaml: " + key + ": invalid port");
    l.port = static_cast<uint16_t>(*p);
    return l;
  }
  if (!n.IsMap()) return config_error("config.yaml: " + key + ": expected a port or {ip, port}");
  for (const auto& kv : n) {
    const std::string field = kv.first.as<std::string>("");
    if (field != "ip" && field != "port" && field != "enable_http3") {
      return config_error("config.yaml: " + key + "." + field + ": unknown key");
    }
  }
  if (n["ip"]) {
    auto ip = yaml_scalar<std::string>(n["ip"], key + ".ip");
    if (!ip) return ip.error();
    l.ip = *ip;
  }
  if (n["enable_http3"]) {
    auto h3 = yaml_scalar<bool>(n["enable_http3"], key + ".enable_http3");
    if (!h3) return h3.error();
    if (*h3) return config_error("config.yaml: " + key + ".enable_http3: HTTP/3 is not supported");
  }
  if (!n["port"]) return config_error("config.yaml: " + key + ".port: required");
  auto p = yaml_scalar<int>(n["port"], key + ".port");
  if (!p) return p.error();
  if (*p < 1 || *p > 65535) return config_error("config.yaml: " + key + ".port: invalid port");
  l.port = static_cast<uint16_t>(*p);
  return l;
}

}  // namespace

core::Status read_ssl_settings(const YAML::Node& node, SslSettings& out) {
  if (!node) return core::ok_status();
  if (!node.IsMap()) return config_error("config.yaml: apisix.ssl: expected a map");
  if (node["enable"]) {
    auto v = yaml_scalar<bool>(node["enable"], "apisix.ssl.enable");
    if (!v) return v.error();
    out.enable = *v;
  }
  if (const YAML::Node l = node["listen"]) {
    out.listen.clear();
    if (l.IsSequence()) {
      for (size_t i = 0; i < l.size(); ++i) {
        auto e = listen_entry(l[i], "apisix.ssl.listen[" + std::to_string(i) + "]");
        if (!e) return e.error();
        out.listen.push_back(*e);
      }
    } else {
      auto e = listen_entry(l, "apisix.ssl.listen");
      if (!e) return e.error();
      out.listen.push_back(*e);
    }
    if (out.listen.empty()) return config_error("config.yaml: apisix.ssl.listen: empty");
  }
  if (node["ssl_protocols"]) {
    auto v = yaml_scalar<std::string>(node["ssl_protocols"], "apisix.ssl.ssl_protocols");
    if (!v) return v.error();
    std::istringstream words(*v);
    std::vector<std::string> protocols;
    for (std::string w; words >> w;) {
      if (w != "TLSv1.1" && w != "TLSv1.2" && w != "TLSv1.3") {
        return config_error("config.yaml: apisix.ssl.ssl_protocols: unknown protocol \"" + w +
                            "\" (TLSv1.1, TLSv1.2, TLSv1.3)");
      }
      protocols.push_back(w);
    }
    if (protocols.empty()) return config_error("config.yaml: apisix.ssl.ssl_protocols: empty");
    out.protocols = std::move(protocols);
  }
  if (node["ssl_ciphers"]) {
    auto v = yaml_scalar<std::string>(node["ssl_ciphers"], "apisix.ssl.ssl_ciphers");
    if (!v) return v.error();
    out.ciphers = *v;
  }
  if (node["ssl_session_tickets"]) {
    auto v = yaml_scalar<bool>(node["ssl_session_tickets"], "apisix.ssl.ssl_session_tickets");
    if (!v) return v.error();
    out.session_tickets = *v;
  }
  if (node["ssl_session_timeout"]) {
    auto v = yaml_scalar<int>(node["ssl_session_timeout"], "apisix.ssl.ssl_session_timeout");
    if (!v) return v.error();
    if (*v < 0 || *v > 86400) {
      return config_error("config.yaml: apisix.ssl.ssl_session_timeout: 0..86400 seconds");
    }
    out.session_timeout = std::chrono::seconds(*v);
  }
  if (node["fallback_sni"]) {
    auto v = yaml_scalar<std::string>(node["fallback_sni"], "apisix.ssl.fallback_sni");
    if (!v) return v.error();
    out.fallback_sni = *v;
  }
  if (node["ssl_trusted_certificate"]) {
    auto v = yaml_scalar<std::string>(node["ssl_trusted_certificate"],
                                      "apisix.ssl.ssl_trusted_certificate");
    if (!v) return v.error();
    out.trusted_certificate = *v;
    if (*v != "system") {
      std::ifstream in(*v, std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      if (!in) {
        return config_error("config.yaml: apisix.ssl.ssl_trusted_certificate: cannot read " + *v);
      }
      if (auto cas = tls::parse_ca_bundle(text.str()); !cas) {
        return config_error("config.yaml: apisix.ssl.ssl_trusted_certificate: " + *v + ": " +
                            cas.error().message);
      }
    }
  }
  return core::ok_status();
}

uint16_t https_redirect_port(const SslSettings& ssl, std::optional<uint16_t> https_port) {
  if (https_port) return *https_port;
  if (ssl.enable && !ssl.listen.empty()) return ssl.listen.front().port;
  return 443;
}

}  // namespace torii::config
