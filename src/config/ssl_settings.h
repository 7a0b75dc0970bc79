// config.yaml `apisix.ssl`: the TLS listener of the data plane, with
// APISIX's keys and defaults (TLS on 9443, TLSv1.2 + TLSv1.3, APISIX's
// cipher list, session tickets off, a server-side session cache on), and
// `plugin_attr.redirect.https_port`.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace torii::config {

// APISIX's default `ssl_ciphers` (conf/config-default.yaml).
inline constexpr const char* kDefaultSslCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";

struct SslListen {
  std::string ip = "0.0.0.0";
  uint16_t port = 9443;
};

struct SslSettings {
  bool enable = true;                       // apisix.ssl.enable
  std::vector<SslListen> listen{SslListen{}};  // apisix.ssl.listen
  // apisix.ssl.ssl_protocols, split: a subset of TLSv1.1, TLSv1.2, TLSv1.3.
  std::vector<std::string> protocols{"TLSv1.2", "TLSv1.3"};
  std::string ciphers = kDefaultSslCiphers;  // apisix.ssl.ssl_ciphers (TLS <= 1.2)
  bool session_tickets = false;              // apisix.ssl.ssl_session_tickets
  // Server-side session cache lifetime (nginx's ssl_session_timeout in
  // APISIX's template: 10m); torii key apisix.ssl.ssl_session_timeout.
  std::chrono::seconds session_timeout{600};
  // The certificate served to a client that sends no SNI; empty: the
  // handshake fails, as in APISIX.
  std::string fallback_sni;
  // CA bundle for verifying upstream certificates (`tls.verify`, upstream
  // mTLS): "system" (the default paths) or a PEM file, read and checked
  // when config.yaml is loaded.
  std::string trusted_certificate = "system";
};

// Reads `node` (apisix.ssl) into `out`; errors name the key.
core::Status read_ssl_settings(const YAML::Node& node, SslSettings& out);

// The port `redirect`'s http_to_https sends clients to: https_port when
// set, else the first TLS listen port when TLS is enabled, else 443.
uint16_t https_redirect_port(const SslSettings& ssl, std::optional<uint16_t> https_port);

}  // namespace torii::config
