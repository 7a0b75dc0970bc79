// Smooth weighted round robin: exact nginx sequences and proportions,
// exclusions for retries, weight 0.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "upstream/balancer.h"

namespace torii::upstream {
namespace {

std::vector<NodeSpec> nodes_with_weights(const std::vector<int>& weights) {
  std::vector<NodeSpec> nodes;
  for (size_t i = 0; i < weights.size(); ++i) {
    nodes.push_back(NodeSpec{"10.0.0." + std::to_string(i + 1), 80, weights[i], 0});
  }
  return nodes;
}

std::string picks_as_letters(Balancer& lb, size_t count, const ExcludeSet& exclude) {
  std::string out;
  for (size_t k = 0; k < count; ++k) {
    int i = lb.pick("", exclude);
    out += i < 0 ? '-' : static_cast<char>('a' + i);
  }
  return out;
}

TEST(LbRoundRobinTest, weights_5_1_1_follow_nginx_smooth_sequence) {
  auto nodes = nodes_with_weights({5, 1, 1});
  auto lb = make_balancer(BalancerType::kRoundRobin, nodes);
  ExcludeSet none(nodes.size());
  EXPECT_EQ(picks_as_letters(*lb, 14, none), "aabacaaaabacaa");
}

TEST(LbRoundRobinTest, every_cycle_picks_each_node_exactly_weight_times) {
  std::vector<int> weights{3, 7, 2, 5, 1};
  auto nodes = nodes_with_weights(weights);
  auto lb = make_balancer(BalancerType::kRoundRobin, nodes);
  ExcludeSet none(nodes.size());
  for (int cycle = 0; cycle < 5; ++cycle) {
    std::map<int, int> counts;
    for (int k = 0; k < 18; ++k) ++counts[lb->pick("", none)];
    for (size_t i = 0; i < weights.size(); ++i) EXPECT_EQ(counts[static_cast<int>(i)], weights[i]);
  }
}

TEST(LbRoundRobinTest, equal_weights_alternate) {
  auto nodes = nodes_with_weights({1, 1, 1});
  auto lb = make_balancer(BalancerType::kRoundRobin, nodes);
  ExcludeSet none(nodes.size());
  EXPECT_EQ(picks_as_letters(*lb, 6, none), "abcabc");
}

TEST(LbRoundRobinTest, retry_skips_tried_nodes_until_none_is_left) {
  auto nodes = nodes_with_weights({5, 1, 1});
  auto lb = make_balancer(BalancerType::kRoundRobin, nodes);
  ExcludeSet tried(nodes.size());
  std::vector<int> order;
  for (int attempt = 0; attempt < 3; ++attempt) {
    int i = lb->pick("", tried);
    ASSERT_GE(i, 0);
    order.push_back(i);
    tried.add(static_cast<size_t>(i));
  }
  std::sort(order.begin(), order.end());
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(lb->pick("", tried), -1);
}

TEST(LbRoundRobinTest, excluded_node_leaves_others_in_weight_proportion) {
  auto nodes = nodes_with_weights({4, 2, 1});
  auto lb = make_balancer(BalancerType::kRoundRobin, nodes);
  ExcludeSet unhealthy(nodes.size());
  unhealthy.add(0);
  std::map<int, int> counts;
  for (int k = 0; k < 30; ++k) ++counts[lb->pick("", unhealthy)];
  EXPECT_EQ(counts[0], 0);
  EXPECT_EQ(counts[1], 20);
  EXPECT_EQ(counts[2], 10);
}

TEST(LbRoundRobinTest, weight_zero_node_is_never_picked) {
  auto nodes = nodes_with_weights({0, 1, 0, 2});
  auto lb = make_balancer(BalancerType::kRoundRobin, nodes);
  ExcludeSet none(nodes.size());
  for (int k = 0; k < 30; ++k) {
    int i = lb->pick("", none);
    EXPECT_TRUE(i == 1 || i == 3) << i;
  }
}

TEST(LbRoundRobinTest, no_nodes_or_only_weight_zero_gives_no_pick) {
  std::vector<NodeSpec> empty;
  EXPECT_EQ(make_balancer(BalancerType::kRoundRobin, empty)->pick("", ExcludeSet(0)), -1);
  auto zeros = nodes_with_weights({0, 0});
  EXPECT_EQ(make_balancer(BalancerType::kRoundRobin, zeros)->pick("", ExcludeSet(2)), -1);
}

TEST(LbRoundRobinTest, large_upstream_exclusion_beyond_64_nodes) {
  auto nodes = nodes_with_weights(std::vector<int>(100, 1));
  auto lb = make_balancer(BalancerType::kRoundRobin, nodes);
  ExcludeSet tried(nodes.size());
  for (size_t i = 0; i < 100; ++i) {
    if (i != 77) tried.add(i);
  }
  for (int k = 0; k < 5; ++k) EXPECT_EQ(lb->pick("", tried), 77);
  tried.add(77);
  EXPECT_EQ(lb->pick("", tried), -1);
}

}  // namespace
}  // namespace torii::upstream
