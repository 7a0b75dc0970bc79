// Consistent hashing: same key -> same node, minimal remapping when a node
// goes away or is excluded, weights respected, retries walk the ring.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "upstream/balancer.h"
#include "upstream/lb_algorithms.h"

namespace torii::upstream {
namespace {

constexpr int kKeys = 10000;

std::vector<NodeSpec> nodes_with_weights(const std::vector<int>& weights) {
  std::vector<NodeSpec> nodes;
  for (size_t i = 0; i < weights.size(); ++i) {
    nodes.push_back(NodeSpec{"10.0.0." + std::to_string(i + 1), 8080, weights[i], 0});
  }
  return nodes;
}

std::string key(int k) { return "client-" + std::to_string(k); }

// Host each key lands on, so rings over different node lists compare.
std::vector<std::string> hosts_of_keys(std::span<const NodeSpec> nodes, const ExcludeSet& exclude) {
  auto lb = make_balancer(BalancerType::kChash, nodes);
  std::vector<std::string> hosts;
  for (int k = 0; k < kKeys; ++k) {
    int i = lb->pick(key(k), exclude);
    hosts.push_back(i < 0 ? "" : nodes[static_cast<size_t>(i)].host);
  }
  return hosts;
}

TEST(LbChashTest, key_hash_is_standard_crc32_like_nginx) {
  EXPECT_EQ(crc32_ieee("123456789"), 0xcbf43926u);
  EXPECT_EQ(crc32_ieee(""), 0u);
}

TEST(LbChashTest, same_key_always_reaches_the_same_node_on_every_worker) {
  auto nodes = nodes_with_weights({1, 1, 1, 1});
  auto worker1 = make_balancer(BalancerType::kChash, nodes);
  auto worker2 = make_balancer(BalancerType::kChash, nodes);
  ExcludeSet none(nodes.size());
  for (int k = 0; k < 200; ++k) {
    int first = worker1->pick(key(k), none);
    ASSERT_GE(first, 0);
    EXPECT_EQ(worker1->pick(key(k), none), first);
    EXPECT_EQ(worker2->pick(key(k), none), first);
  }
}

TEST(LbChashTest, removing_a_node_only_moves_the_keys_it_owned) {
  auto nodes = nodes_with_weights({1, 1, 1, 1, 1});
  auto before = hosts_of_keys(nodes, ExcludeSet(nodes.size()));
  std::string removed = nodes[2].host;
  nodes.erase(nodes.begin() + 2);
  auto after = hosts_of_keys(nodes, ExcludeSet(nodes.size()));

  int moved_from_removed = 0;
  for (int k = 0; k < kKeys; ++k) {
    if (before[k] == removed) {
      EXPECT_NE(after[k], removed);
      ++moved_from_removed;
    } else {
      EXPECT_EQ(after[k], before[k]) << key(k);
    }
  }
  // The removed node held about a fifth of the keys.
  EXPECT_GT(moved_from_removed, kKeys / 5 - kKeys / 20);
  EXPECT_LT(moved_from_removed, kKeys / 5 + kKeys / 20);
}

TEST(LbChashTest, excluded_node_keys_move_and_all_other_keys_stay) {
  auto nodes = nodes_with_weights({1, 1, 1, 1});
  auto before = hosts_of_keys(nodes, ExcludeSet(nodes.size()));
  ExcludeSet unhealthy(nodes.size());
  unhealthy.add(1);
  auto after = hosts_of_keys(nodes, unhealthy);
  std::map<std::string, int> new_homes;
  for (int k = 0; k < kKeys; ++k) {
    if (before[k] == nodes[1].host) {
      EXPECT_NE(after[k], nodes[1].host);
      ++new_homes[after[k]];
    } else {
      EXPECT_EQ(after[k], before[k]);
    }
  }
  // The orphaned keys spread over the survivors instead of piling on one.
  EXPECT_EQ(new_homes.size(), 3u);
}

TEST(LbChashTest, keys_spread_in_proportion_to_weight) {
  auto nodes = nodes_with_weights({1, 1, 2});
  auto hosts = hosts_of_keys(nodes, ExcludeSet(nodes.size()));
  std::map<std::string, int> counts;
  for (const std::string& h : hosts) ++counts[h];
  EXPECT_NEAR(counts[nodes[0].host], kKeys / 4, kKeys / 20);
  EXPECT_NEAR(counts[nodes[1].host], kKeys / 4, kKeys / 20);
  EXPECT_NEAR(counts[nodes[2].host], kKeys / 2, kKeys / 20);
}

TEST(LbChashTest, retries_walk_to_a_new_node_each_time_then_give_up) {
  auto nodes = nodes_with_weights({1, 1, 1});
  auto lb = make_balancer(BalancerType::kChash, nodes);
  for (int k = 0; k < 50; ++k) {
    ExcludeSet tried(nodes.size());
    std::set<int> seen;
    for (int attempt = 0; attempt < 3; ++attempt) {
      int i = lb->pick(key(k), tried);
      ASSERT_GE(i, 0);
      EXPECT_TRUE(seen.insert(i).second);
      tried.add(static_cast<size_t>(i));
    }
    EXPECT_EQ(lb->pick(key(k), tried), -1);
  }
}

TEST(LbChashTest, retry_order_is_the_same_for_the_same_key) {
  auto nodes = nodes_with_weights({1, 2, 1, 3});
  auto lb = make_balancer(BalancerType::kChash, nodes);
  ExcludeSet tried(nodes.size());
  int first = lb->pick("user-42", tried);
  tried.add(static_cast<size_t>(first));
  int second = lb->pick("user-42", tried);
  EXPECT_NE(second, first);
  EXPECT_EQ(lb->pick("user-42", tried), second);
}

TEST(LbChashTest, weight_zero_node_never_gets_keys) {
  auto nodes = nodes_with_weights({1, 0, 1});
  auto hosts = hosts_of_keys(nodes, ExcludeSet(nodes.size()));
  for (const std::string& h : hosts) EXPECT_NE(h, nodes[1].host);
}

TEST(LbChashTest, huge_weights_still_balance) {
  auto nodes = nodes_with_weights({100000, 100000, 200000});
  auto hosts = hosts_of_keys(nodes, ExcludeSet(nodes.size()));
  std::map<std::string, int> counts;
  for (const std::string& h : hosts) ++counts[h];
  EXPECT_NEAR(counts[nodes[2].host], kKeys / 2, kKeys / 20);
}

TEST(LbChashTest, ipv6_and_empty_key_still_pick_a_node) {
  std::vector<NodeSpec> nodes{{"::1", 80, 1, 0}, {"fe80::2", 80, 1, 0}};
  auto lb = make_balancer(BalancerType::kChash, nodes);
  int i = lb->pick("", ExcludeSet(nodes.size()));
  EXPECT_TRUE(i == 0 || i == 1);
}

}  // namespace
}  // namespace torii::upstream
