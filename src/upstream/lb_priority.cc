// Priority groups: one algorithm instance per `priority` value; a lower group
// is used only when no node of any higher group can be picked (all excluded
// because they were tried already or are unhealthy), as APISIX's
// balancer/priority.lua does.
#include <memory>
#include <vector>

#include "upstream/lb_algorithms.h"

namespace torii::upstream {
namespace {

class PriorityBalancer final : public Balancer {
 public:
  PriorityBalancer(BalancerType type, std::span<const NodeSpec> nodes,
                   const std::vector<std::vector<int>>& groups)
      : group_of_(nodes.size(), -1) {
    groups_.reserve(groups.size());
    for (const std::vector<int>& members : groups) {
      for (int i : members) group_of_[static_cast<size_t>(i)] = static_cast<int>(groups_.size());
      groups_.push_back(make_algorithm(type, nodes, members));
    }
  }

  int pick(std::string_view hash_key, const ExcludeSet& exclude) override {
    for (const std::unique_ptr<Balancer>& group : groups_) {
      int picked = group->pick(hash_key, exclude);
      if (picked >= 0) return picked;
    }
    return -1;
  }

  void on_start(int i) override {
    if (Balancer* group = group_for(i)) group->on_start(i);
  }

  void on_finish(int i, std::chrono::nanoseconds latency, bool failed) override {
    if (Balancer* group = group_for(i)) group->on_finish(i, latency, failed);
  }

 private:
  Balancer* group_for(int i) const {
    int g = slot_of(group_of_, i);
    return g < 0 ? nullptr : groups_[static_cast<size_t>(g)].get();
  }

  std::vector<std::unique_ptr<Balancer>> groups_;  // highest priority first
  std::vector<int> group_of_;                      // node index -> group, -1 for weight 0
};

}  // namespace

std::unique_ptr<Balancer> make_priority_groups(BalancerType type, std::span<const NodeSpec> nodes,
                                               const std::vector<std::vector<int>>& groups) {
  return std::make_unique<PriorityBalancer>(type, nodes, groups);
}

}  // namespace torii::upstream
