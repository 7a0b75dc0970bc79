// A compiled upstream: everything the proxy needs to pick a node and talk to
// it, with APISIX's run-time defaults applied. Immutable once built; shared
// by routes of one snapshot (and reused across snapshots when unchanged, so
// worker-local balancer state survives config changes that do not touch it).
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http/variables.h"
#include "upstream/balancer.h"
#include "upstream/health_check.h"

namespace boost::asio::ssl {
class context;
}

namespace torii::upstream {

enum class PassHost : uint8_t { kPass, kNode, kRewrite };
enum class Scheme : uint8_t { kHttp, kHttps };
enum class HashOn : uint8_t { kVars, kHeader, kCookie, kConsumer, kVarsCombinations };

struct Timeouts {
  std::chrono::milliseconds connect{60000};
  std::chrono::milliseconds send{60000};
  std::chrono::milliseconds read{60000};
};

struct KeepalivePool {
  uint32_t size = 320;
  std::chrono::milliseconds idle_timeout{60000};
  uint32_t requests = 1000;
};

struct Node {
  NodeSpec spec;
  // Set when `spec.host` is an IP literal; domains are resolved at connect.
  std::optional<boost::asio::ip::address> address;
  std::string host_header;  // for pass_host=node: host, plus :port when not default
  std::string name;         // "host:port" as shown in logs ($upstream_addr)
};

struct Upstream {
  std::string id;  // empty for an inline upstream
  BalancerType type = BalancerType::kRoundRobin;
  std::vector<Node> nodes;
  HashOn hash_on = HashOn::kVars;
  http::VarRef hash_key;                 // kVars/kHeader/kCookie
  std::vector<http::VarRef> hash_combo;  // kVarsCombinations: pieces ($a$b)
  std::vector<std::string> hash_literals;  // literal text between combo vars
  int retries = -1;                        // -1: nodes - 1 (APISIX default)
  std::chrono::milliseconds retry_timeout{0};  // 0: no limit
  Timeouts timeout;
  Scheme scheme = Scheme::kHttp;
  PassHost pass_host = PassHost::kPass;
  std::string upstream_host;
  KeepalivePool keepalive;
  bool tls_verify = false;  // verify the upstream certificate (https)
  // tls.client_cert(+key) or tls.client_cert_id: the certificate presented
  // to the upstream (mTLS); null: the worker's context, no certificate.
  std::shared_ptr<boost::asio::ssl::context> tls_client;
  // `checks`: the nodes' health, shared by every worker (null without).
  std::shared_ptr<HealthChecker> health;

  int effective_retries() const {
    if (retries >= 0) return retries;
    return nodes.empty() ? 0 : static_cast<int>(nodes.size()) - 1;
  }
};

}  // namespace torii::upstream
