// Peak-EWMA: faster nodes win, failures and in-flight requests count against
// a node, unmeasured nodes get probed, exclusions respected.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "upstream/balancer.h"

namespace torii::upstream {
namespace {

using std::chrono::milliseconds;

std::vector<NodeSpec> nodes_with_weights(const std::vector<int>& weights) {
  std::vector<NodeSpec> nodes;
  for (size_t i = 0; i < weights.size(); ++i) {
    nodes.push_back(NodeSpec{"10.0.2." + std::to_string(i + 1), 80, weights[i], 0});
  }
  return nodes;
}

TEST(LbEwmaTest, prefers_the_faster_node) {
  auto nodes = nodes_with_weights({1, 1});
  auto lb = make_balancer(BalancerType::kEwma, nodes);
  lb->on_finish(0, milliseconds(100), false);
  lb->on_finish(1, milliseconds(10), false);
  ExcludeSet none(nodes.size());
  for (int k = 0; k < 100; ++k) EXPECT_EQ(lb->pick("", none), 1);
}

TEST(LbEwmaTest, fastest_of_many_gets_the_most_traffic) {
  auto nodes = nodes_with_weights({1, 1, 1, 1, 1});
  auto lb = make_balancer(BalancerType::kEwma, nodes);
  for (int i = 0; i < 5; ++i) lb->on_finish(i, milliseconds(10 * (i + 1)), false);
  ExcludeSet none(nodes.size());
  std::map<int, int> counts;
  for (int k = 0; k < 2000; ++k) ++counts[lb->pick("", none)];
  // Power of two choices: the fastest wins every draw it is in (2/5), the
  // slowest never wins.
  EXPECT_NEAR(counts[0], 800, 120);
  EXPECT_EQ(counts[4], 0);
  EXPECT_GT(counts[0], counts[1]);
  EXPECT_GT(counts[1], counts[3]);
}

TEST(LbEwmaTest, a_fast_failure_makes_the_node_look_slow) {
  auto nodes = nodes_with_weights({1, 1});
  auto lb = make_balancer(BalancerType::kEwma, nodes);
  lb->on_finish(0, milliseconds(5), false);
  lb->on_finish(1, milliseconds(50), false);
  lb->on_start(0);
  lb->on_finish(0, milliseconds(1), /*failed=*/true);  // connection refused
  ExcludeSet none(nodes.size());
  for (int k = 0; k < 20; ++k) EXPECT_EQ(lb->pick("", none), 1);
}

TEST(LbEwmaTest, requests_in_flight_raise_the_cost) {
  auto nodes = nodes_with_weights({1, 1});
  auto lb = make_balancer(BalancerType::kEwma, nodes);
  lb->on_finish(0, milliseconds(10), false);
  lb->on_finish(1, milliseconds(15), false);
  ExcludeSet none(nodes.size());
  EXPECT_EQ(lb->pick("", none), 0);
  lb->on_start(0);  // 10 ms * 2 in flight > 15 ms * 1
  EXPECT_EQ(lb->pick("", none), 1);
}

TEST(LbEwmaTest, unmeasured_node_is_probed) {
  auto nodes = nodes_with_weights({1, 1});
  auto lb = make_balancer(BalancerType::kEwma, nodes);
  lb->on_finish(0, milliseconds(1), false);
  EXPECT_EQ(lb->pick("", ExcludeSet(nodes.size())), 1);
}

TEST(LbEwmaTest, retry_never_returns_a_tried_node) {
  auto nodes = nodes_with_weights({1, 1, 1, 1});
  auto lb = make_balancer(BalancerType::kEwma, nodes);
  lb->on_finish(2, milliseconds(1), false);
  for (int round = 0; round < 50; ++round) {
    ExcludeSet tried(nodes.size());
    std::vector<bool> seen(nodes.size(), false);
    for (size_t attempt = 0; attempt < nodes.size(); ++attempt) {
      int i = lb->pick("", tried);
      ASSERT_GE(i, 0);
      EXPECT_FALSE(seen[static_cast<size_t>(i)]);
      seen[static_cast<size_t>(i)] = true;
      tried.add(static_cast<size_t>(i));
    }
    EXPECT_EQ(lb->pick("", tried), -1);
  }
}

TEST(LbEwmaTest, weight_zero_and_single_node_upstreams) {
  auto nodes = nodes_with_weights({0, 1, 0});
  auto lb = make_balancer(BalancerType::kEwma, nodes);
  ExcludeSet none(nodes.size());
  for (int k = 0; k < 20; ++k) EXPECT_EQ(lb->pick("", none), 1);
  ExcludeSet tried(nodes.size());
  tried.add(1);
  EXPECT_EQ(lb->pick("", tried), -1);
}

}  // namespace
}  // namespace torii::upstream
