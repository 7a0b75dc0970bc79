// Least connections: picks the node with the lowest (active + 1) / weight,
// APISIX's least_conn score. Ties go to the first candidate after the last
// pick, so idle equal nodes are used in turn rather than always the first.
// A linear scan (as nginx's least_conn) beats a heap for the small node
// counts upstreams have, and exclusions need no pop/push dance.
#include <cstdint>
#include <memory>
#include <vector>

#include "upstream/lb_algorithms.h"

namespace torii::upstream {
namespace {

class LeastConnBalancer final : public Balancer {
 public:
  LeastConnBalancer(std::span<const NodeSpec> nodes, std::span<const int> members)
      : slots_(slots_by_node(nodes.size(), members)) {
    peers_.reserve(members.size());
    for (int i : members) {
      peers_.push_back(Peer{i, static_cast<uint64_t>(nodes[static_cast<size_t>(i)].weight), 0});
    }
  }

  int pick(std::string_view /*hash_key*/, const ExcludeSet& exclude) override {
    size_t n = peers_.size();
    const Peer* best = nullptr;
    size_t best_slot = 0;
    size_t slot = next_;
    for (size_t k = 0; k < n; ++k, slot = slot + 1 == n ? 0 : slot + 1) {
      const Peer& peer = peers_[slot];
      if (exclude.has(static_cast<size_t>(peer.node))) continue;
      // (a+1)/wa < (b+1)/wb without division: exact for any weights.
      if (best == nullptr || (peer.active + 1) * best->weight < (best->active + 1) * peer.weight) {
        best = &peer;
        best_slot = slot;
      }
    }
    if (best == nullptr) return -1;
    next_ = best_slot + 1 == n ? 0 : best_slot + 1;
    return best->node;
  }

  void on_start(int i) override {
    int slot = slot_of(slots_, i);
    if (slot >= 0) ++peers_[static_cast<size_t>(slot)].active;
  }

  void on_finish(int i, std::chrono::nanoseconds /*latency*/, bool /*failed*/) override {
    int slot = slot_of(slots_, i);
    if (slot >= 0 && peers_[static_cast<size_t>(slot)].active > 0)
      --peers_[static_cast<size_t>(slot)].active;
  }

 private:
  struct Peer {
    int node;
    uint64_t weight;
    uint64_t active;  // requests started and not finished on this worker
  };
  std::vector<Peer> peers_;
  std::vector<int> slots_;  // node index -> position in peers_
  size_t next_ = 0;         // where the next scan starts, for fair ties
};

}  // namespace

std::unique_ptr<Balancer> make_least_conn(std::span<const NodeSpec> nodes,
                                          std::span<const int> members) {
  return std::make_unique<LeastConnBalancer>(nodes, members);
}

}  // namespace torii::upstream
