// The immutable configuration a worker serves from. Built on the control
// thread by SnapshotBuilder, published to every worker, swapped between
// requests; a request keeps the snapshot it started with (shared_ptr).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/server_config.h"
#include "observability/log_format.h"
#include "plugins/consumer.h"
#include "plugins/plugin_chain.h"
#include "router/ip_matcher.h"
#include "router/router.h"
#include "tls/server_cert.h"
#include "upstream/upstream.h"

namespace torii::config {

struct Route {
  std::string id;
  std::string name;
  std::string service_id;
  std::string service_name;
  std::shared_ptr<const upstream::Upstream> upstream;  // null: no upstream (503)
  std::optional<upstream::Timeouts> timeout;           // route-level override
  bool enable_websocket = false;
  // Route + plugin_config + service plugins, merged and ordered; null: none.
  std::shared_ptr<const plugins::PluginChain> plugins;
  // Non-zero: the route cannot serve (a store holds it with a reference or
  // plugin Torii cannot resolve; kSkipInvalid builds only). It still matches
  // its requests, which its plugins (when they could be built) and the
  // global rules see, and then answers them with this status, as APISIX
  // does: 404 service, 503 plugin_config or plugins, 502 upstream. Falling
  // through to a broader route instead would skip this route's plugins.
  int unusable_status = 0;
  std::string unusable_reason;  // logged with each refused request
};

struct Snapshot {
  uint64_t version = 0;  // increases with every published snapshot
  std::shared_ptr<const HttpSettings> http;  // the reloadable part of config.yaml
  std::shared_ptr<const observability::LogFormat> access_log_format;
  std::shared_ptr<const router::IpMatcher> trusted_addresses;  // null: nobody is trusted
  std::vector<Route> routes;
  std::unique_ptr<router::Router> router;
  // Every global rule's plugins, merged and ordered; null: none. They run
  // for every request, also when no route matches.
  std::shared_ptr<const plugins::PluginChain> global_plugins;
  // Consumers and credentials for auth plugins; null: none configured.
  std::shared_ptr<const plugins::ConsumerDirectory> consumers;
  // The `ssls` objects: server certificates by SNI for the TLS listener,
  // client certificates for upstream mTLS. Never null.
  std::shared_ptr<const tls::CertIndex> certs;
};

}  // namespace torii::config
