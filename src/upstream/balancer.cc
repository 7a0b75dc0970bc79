// Balancer construction: maps APISIX `type` names to algorithms, drops nodes
// of weight 0 and splits the rest into priority groups.
#include "upstream/balancer.h"

#include <algorithm>
#include <map>
#include <vector>

#include "upstream/lb_algorithms.h"

namespace torii::upstream {

std::optional<BalancerType> parse_balancer_type(std::string_view name) {
  if (name == "roundrobin") return BalancerType::kRoundRobin;
  if (name == "chash") return BalancerType::kChash;
  if (name == "least_conn") return BalancerType::kLeastConn;
  if (name == "ewma") return BalancerType::kEwma;
  return std::nullopt;
}

std::unique_ptr<Balancer> make_algorithm(BalancerType type, std::span<const NodeSpec> nodes,
                                         std::span<const int> members) {
  switch (type) {
    case BalancerType::kChash:
      return make_chash(nodes, members);
    case BalancerType::kLeastConn:
      return make_least_conn(nodes, members);
    case BalancerType::kEwma:
      return make_ewma(nodes, members);
    case BalancerType::kRoundRobin:
      break;
  }
  return make_roundrobin(nodes, members);
}

std::unique_ptr<Balancer> make_balancer(BalancerType type, std::span<const NodeSpec> nodes) {
  // Highest priority first. Weight-0 nodes are left out here so no algorithm
  // has to special-case them.
  std::map<int, std::vector<int>, std::greater<>> by_priority;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].weight > 0) by_priority[nodes[i].priority].push_back(static_cast<int>(i));
  }
  // The common single-group upstream skips the wrapper and its extra
  // virtual call per pick.
  if (by_priority.size() <= 1) {
    std::vector<int> members;
    if (!by_priority.empty()) members = std::move(by_priority.begin()->second);
    return make_algorithm(type, nodes, members);
  }
  std::vector<std::vector<int>> groups;
  groups.reserve(by_priority.size());
  for (auto& [priority, members] : by_priority) groups.push_back(std::move(members));
  return make_priority_groups(type, nodes, groups);
}

}  // namespace torii::upstream
