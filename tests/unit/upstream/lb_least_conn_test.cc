// Least connections: idle nodes first, weight scales capacity, ties rotate,
// exclusions respected.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "upstream/balancer.h"

namespace torii::upstream {
namespace {

std::vector<NodeSpec> nodes_with_weights(const std::vector<int>& weights) {
  std::vector<NodeSpec> nodes;
  for (size_t i = 0; i < weights.size(); ++i) {
    nodes.push_back(NodeSpec{"10.0.1." + std::to_string(i + 1), 80, weights[i], 0});
  }
  return nodes;
}

TEST(LbLeastConnTest, picks_the_idle_node) {
  auto nodes = nodes_with_weights({1, 1, 1});
  auto lb = make_balancer(BalancerType::kLeastConn, nodes);
  ExcludeSet none(nodes.size());
  lb->on_start(0);
  lb->on_start(2);
  EXPECT_EQ(lb->pick("", none), 1);
}

TEST(LbLeastConnTest, finished_requests_free_the_node) {
  auto nodes = nodes_with_weights({1, 1});
  auto lb = make_balancer(BalancerType::kLeastConn, nodes);
  ExcludeSet none(nodes.size());
  lb->on_start(0);
  lb->on_start(0);
  lb->on_start(1);
  EXPECT_EQ(lb->pick("", none), 1);
  lb->on_finish(0, std::chrono::milliseconds(5), false);
  lb->on_finish(0, std::chrono::milliseconds(5), true);
  EXPECT_EQ(lb->pick("", none), 0);
}

TEST(LbLeastConnTest, heavier_node_takes_proportionally_more_connections) {
  auto nodes = nodes_with_weights({3, 1});
  auto lb = make_balancer(BalancerType::kLeastConn, nodes);
  ExcludeSet none(nodes.size());
  // Requests that never finish: the steady state is 3:1.
  std::map<int, int> active;
  for (int k = 0; k < 40; ++k) {
    int i = lb->pick("", none);
    lb->on_start(i);
    ++active[i];
  }
  EXPECT_EQ(active[0], 30);
  EXPECT_EQ(active[1], 10);
}

TEST(LbLeastConnTest, equal_idle_nodes_are_used_in_turn) {
  auto nodes = nodes_with_weights({1, 1, 1});
  auto lb = make_balancer(BalancerType::kLeastConn, nodes);
  ExcludeSet none(nodes.size());
  std::vector<int> picks;
  for (int k = 0; k < 6; ++k) picks.push_back(lb->pick("", none));
  EXPECT_EQ(picks, (std::vector<int>{0, 1, 2, 0, 1, 2}));
}

TEST(LbLeastConnTest, retry_skips_the_tried_idle_node) {
  auto nodes = nodes_with_weights({1, 1, 1});
  auto lb = make_balancer(BalancerType::kLeastConn, nodes);
  lb->on_start(0);
  lb->on_start(0);
  lb->on_start(1);
  ExcludeSet tried(nodes.size());
  tried.add(2);
  EXPECT_EQ(lb->pick("", tried), 1);
  tried.add(1);
  EXPECT_EQ(lb->pick("", tried), 0);
  tried.add(0);
  EXPECT_EQ(lb->pick("", tried), -1);
}

TEST(LbLeastConnTest, weight_zero_node_is_never_picked_even_when_idle) {
  auto nodes = nodes_with_weights({1, 0});
  auto lb = make_balancer(BalancerType::kLeastConn, nodes);
  ExcludeSet none(nodes.size());
  for (int k = 0; k < 5; ++k) lb->on_start(0);
  EXPECT_EQ(lb->pick("", none), 0);
}

TEST(LbLeastConnTest, unknown_or_unbalanced_bookkeeping_is_ignored) {
  auto nodes = nodes_with_weights({1, 1});
  auto lb = make_balancer(BalancerType::kLeastConn, nodes);
  lb->on_start(-1);
  lb->on_start(7);
  lb->on_finish(1, std::chrono::milliseconds(1), false);  // never started
  lb->on_start(0);
  EXPECT_EQ(lb->pick("", ExcludeSet(nodes.size())), 1);
}

}  // namespace
}  // namespace torii::upstream
