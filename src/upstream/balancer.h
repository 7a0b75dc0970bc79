// Load balancers: pick one node of an upstream for one attempt.
//
// A Balancer is created per upstream per worker when a snapshot is installed
// on that worker, so its state (smooth weights, active counts, EWMA scores)
// is worker-local and needs no locks; across workers the balance is the
// sum of per-worker balances, as in nginx. One file per algorithm:
// lb_roundrobin.cc, lb_chash.cc, lb_least_conn.cc, lb_ewma.cc.
//
// Priority groups: nodes with a higher `priority` are used first; a lower
// group is only used when every node of all higher groups is excluded
// (already tried in this request, or unhealthy). Nodes of weight 0 are never
// picked.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace torii::upstream {

enum class BalancerType : uint8_t { kRoundRobin, kChash, kLeastConn, kEwma };

// nullopt for an unknown type name ("roundrobin", "chash", "least_conn", "ewma").
std::optional<BalancerType> parse_balancer_type(std::string_view name);

struct NodeSpec {
  std::string host;  // IP literal or domain, without brackets
  uint16_t port = 0;
  int weight = 1;
  int priority = 0;
};

// Which nodes must not be picked for this attempt. Index = node index in the
// NodeSpec list given to make_balancer(). Small upstreams are the norm, so a
// 64-bit mask covers them; bigger ones use the vector.
class ExcludeSet {
 public:
  explicit ExcludeSet(size_t node_count) : big_(node_count > 64 ? node_count : 0, false) {}
  void add(size_t i) {
    if (big_.empty()) mask_ |= (uint64_t{1} << i);
    else big_[i] = true;
  }
  bool has(size_t i) const { return big_.empty() ? (mask_ >> i) & 1 : big_[i]; }

 private:
  uint64_t mask_ = 0;
  std::vector<bool> big_;
};

class Balancer {
 public:
  virtual ~Balancer() = default;

  // Picks a node index, skipping `exclude`. `hash_key` is used by chash only
  // (the caller resolves hash_on/key; empty falls back to the client address
  // the caller passes). Returns -1 when every node is excluded or weight 0.
  virtual int pick(std::string_view hash_key, const ExcludeSet& exclude) = 0;

  // Called when a request starts using node `i` (after pick) and when it
  // finishes with it. `latency` is the upstream response time; `failed` is
  // true for connect/read failures. Default: no bookkeeping.
  virtual void on_start(int i) {}
  virtual void on_finish(int i, std::chrono::nanoseconds latency, bool failed) {}
};

// Builds the balancer for `type` over `nodes` (already validated: weight >= 0).
// The result is owned by one worker and used only from its thread.
std::unique_ptr<Balancer> make_balancer(BalancerType type, std::span<const NodeSpec> nodes);

}  // namespace torii::upstream
