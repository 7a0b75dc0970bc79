// Upstream health checks (APISIX `checks`, lua-resty-healthcheck's model).
//
// A HealthChecker belongs to one compiled upstream with `checks` and holds
// one state per node, shared by every worker of the process (APISIX keeps
// it in a shared dict): healthy or not, and the counters that move it.
// Reports come from two sources, each with its own thresholds:
//   - active: probes the prober (upstream/health_prober.h) sends on its own
//     schedule, healthy nodes every `healthy.interval` s, unhealthy ones
//     every `unhealthy.interval` s;
//   - passive: the outcome of real requests (`checks.passive`).
// A success counts towards `healthy.successes` and clears the failure
// counters; a failure (an unhealthy HTTP status, a TCP failure, a timeout)
// counts towards its own threshold and clears the success counter. Reaching
// a threshold flips the node's state and clears every counter. A threshold
// of 0 (passive only) never flips. Every node starts healthy.
//
// Workers read the state without a lock (one relaxed atomic per node) and
// leave unhealthy nodes out of the balancer's pick, unless every node is
// unhealthy: then all are used, as APISIX does. Reports take the checker's
// mutex (one per upstream), except a success on a node that is healthy with
// no failure counted, which changes nothing.
//
// Checkers are registered process-wide (HealthCheckers::global()) so the
// prober finds new ones and the metrics export lists their states
// (apisix_upstream_status); a checker leaves when its upstream is gone.
#pragma once

#include <atomic>
#include <bitset>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/fwd.hpp>

#include "upstream/balancer.h"

namespace torii::upstream {

// HTTP statuses 0..599 as a set.
using StatusSet = std::bitset<600>;

struct HealthThresholds {
  StatusSet healthy_statuses;
  StatusSet unhealthy_statuses;
  uint32_t successes = 0;
  uint32_t http_failures = 0;
  uint32_t tcp_failures = 0;
  uint32_t timeouts = 0;
};

enum class ProbeType : uint8_t { kHttp, kHttps, kTcp };

struct ActiveCheckConf {
  ProbeType type = ProbeType::kHttp;
  std::chrono::milliseconds timeout{1000};
  uint32_t concurrency = 10;
  std::string host;             // Host header / SNI; empty: the node's host
  std::optional<uint16_t> port;  // probes go to this port instead of the node's
  std::string http_path = "/";
  bool https_verify_certificate = true;
  std::vector<std::string> req_headers;  // "Name: value"
  std::chrono::seconds healthy_interval{1};
  std::chrono::seconds unhealthy_interval{1};
  HealthThresholds thresholds;
};

struct PassiveCheckConf {
  ProbeType type = ProbeType::kHttp;  // tcp: HTTP statuses are not counted
  HealthThresholds thresholds;
};

struct HealthCheckConf {
  ActiveCheckConf active;
  std::optional<PassiveCheckConf> passive;
};

// Reads an upstream's `checks` (already valid against APISIX's schema),
// applying APISIX's defaults.
HealthCheckConf parse_health_checks(const boost::json::object& checks);

enum class HealthSource : uint8_t { kActive, kPassive };
enum class HealthEvent : uint8_t { kSuccess, kHttpFailure, kTcpFailure, kTimeout };

class HealthChecker {
 public:
  struct Target {
    NodeSpec spec;     // host (IP or domain) and port of the node
    std::string name;  // "host:port"
  };

  // `name` is the upstream's resource key ("/apisix/upstreams/1",
  // "/apisix/routes/1"), the `name` label of apisix_upstream_status.
  // `nodes`: the upstream's nodes in order; a host:port listed twice is one
  // target with one state (as lua-resty-healthcheck keys them).
  HealthChecker(std::string name, HealthCheckConf conf, const std::vector<Target>& nodes);
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  const std::string& name() const { return name_; }
  const HealthCheckConf& conf() const { return conf_; }
  // The distinct targets, for the prober and the metrics.
  const std::vector<Target>& targets() const { return targets_; }
  bool target_healthy(size_t target) const {
    return states_[target].healthy.load(std::memory_order_relaxed);
  }

  // By node index (the upstream's node list), for workers.
  bool healthy(size_t node) const { return target_healthy(target_of_[node]); }
  // Adds every unhealthy node to `exclude`, unless that would leave no node
  // the balancer can pick (a healthy node of weight > 0): then all stay
  // usable. Lock-free.
  void exclude_unhealthy(ExcludeSet& exclude) const;

  // Counts one outcome for `node`; returns true when it flipped the state.
  bool report(size_t node, HealthEvent event, HealthSource source) {
    return node < target_of_.size() && report_target(target_of_[node], event, source);
  }
  // An HTTP status: a success when it is in the source's healthy statuses,
  // an HTTP failure when in its unhealthy ones, nothing otherwise.
  bool report_status(size_t node, int status, HealthSource source) {
    return node < target_of_.size() && report_target_status(target_of_[node], status, source);
  }
  // The same, by target index (the prober's).
  bool report_target(size_t target, HealthEvent event, HealthSource source);
  bool report_target_status(size_t target, int status, HealthSource source);
  // A request to `node` failed before a status: a timeout or a TCP failure
  // (passive checks only; nothing without them).
  void report_passive_failure(size_t node, bool timeout);
  void report_passive_status(size_t node, int status);

  bool has_passive() const { return conf_.passive.has_value(); }

 private:
  struct NodeState {
    std::atomic<bool> healthy{true};
    // Healthy with no failure counted: a success changes nothing, so it is
    // counted without the mutex (every proxied request with passive checks).
    std::atomic<bool> clean{true};
    uint32_t successes = 0;  // these under mu_
    uint32_t http_failures = 0;
    uint32_t tcp_failures = 0;
    uint32_t timeouts = 0;
  };
  const HealthThresholds& thresholds(HealthSource source) const;

  const std::string name_;
  const HealthCheckConf conf_;
  std::vector<Target> targets_;     // distinct host:port
  std::vector<size_t> target_of_;   // node index -> target index
  std::vector<int> weights_;        // node index -> weight
  std::unique_ptr<NodeState[]> states_;
  std::mutex mu_;
};

// Every live checker of the process. Thread-safe.
class HealthCheckers {
 public:
  static HealthCheckers& global();

  void add(const std::shared_ptr<HealthChecker>& checker);
  // The live checkers, in the order they were added; forgets dead ones.
  std::vector<std::shared_ptr<HealthChecker>> live();

 private:
  std::mutex mu_;
  std::vector<std::weak_ptr<HealthChecker>> checkers_;
};

}  // namespace torii::upstream
