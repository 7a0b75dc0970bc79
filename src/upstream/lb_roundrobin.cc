// Weighted round robin: nginx's smooth algorithm
// (ngx_http_upstream_get_peer). Over any sum(weights) consecutive picks
// without exclusions each node is picked exactly `weight` times, and the
// picks of a heavy node are spread out instead of bunched (5,1,1 gives
// a a b a c a a).
#include <cstdint>
#include <memory>
#include <vector>

#include "upstream/lb_algorithms.h"

namespace torii::upstream {
namespace {

class RoundRobinBalancer final : public Balancer {
 public:
  RoundRobinBalancer(std::span<const NodeSpec> nodes, std::span<const int> members) {
    peers_.reserve(members.size());
    for (int i : members) peers_.push_back(Peer{i, nodes[static_cast<size_t>(i)].weight, 0});
  }

  int pick(std::string_view /*hash_key*/, const ExcludeSet& exclude) override {
    // Excluded nodes neither gain nor pay weight, so a retry does not shift
    // the long-run proportions of the others.
    Peer* best = nullptr;
    int64_t total = 0;
    for (Peer& peer : peers_) {
      if (exclude.has(static_cast<size_t>(peer.node))) continue;
      peer.current += peer.weight;
      total += peer.weight;
      if (best == nullptr || peer.current > best->current) best = &peer;
    }
    if (best == nullptr) return -1;
    best->current -= total;
    return best->node;
  }

 private:
  struct Peer {
    int node;
    int64_t weight;
    int64_t current;  // nginx's current_weight
  };
  std::vector<Peer> peers_;
};

}  // namespace

std::unique_ptr<Balancer> make_roundrobin(std::span<const NodeSpec> nodes,
                                          std::span<const int> members) {
  return std::make_unique<RoundRobinBalancer>(nodes, members);
}

}  // namespace torii::upstream
