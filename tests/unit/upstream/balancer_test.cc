// make_balancer/parse_balancer_type: APISIX type names and priority groups
// (higher priority first, lower groups only when the higher are exhausted).
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "upstream/balancer.h"

namespace torii::upstream {
namespace {

constexpr BalancerType kAllTypes[] = {BalancerType::kRoundRobin, BalancerType::kChash,
                                      BalancerType::kLeastConn, BalancerType::kEwma};

TEST(LbBalancerTest, apisix_type_names_parse) {
  EXPECT_EQ(parse_balancer_type("roundrobin"), BalancerType::kRoundRobin);
  EXPECT_EQ(parse_balancer_type("chash"), BalancerType::kChash);
  EXPECT_EQ(parse_balancer_type("least_conn"), BalancerType::kLeastConn);
  EXPECT_EQ(parse_balancer_type("ewma"), BalancerType::kEwma);
  EXPECT_FALSE(parse_balancer_type("RoundRobin").has_value());
  EXPECT_FALSE(parse_balancer_type("").has_value());
  EXPECT_FALSE(parse_balancer_type("random").has_value());
}

// Nodes listed low, high, backup, high: indices returned must be these.
std::vector<NodeSpec> mixed_priority_nodes() {
  return {{"10.0.3.1", 80, 1, 0},
          {"10.0.3.2", 80, 1, 10},
          {"10.0.3.3", 80, 1, -1},
          {"10.0.3.4", 80, 1, 10}};
}

TEST(LbBalancerTest, highest_priority_group_takes_all_traffic_while_available) {
  auto nodes = mixed_priority_nodes();
  for (BalancerType type : kAllTypes) {
    auto lb = make_balancer(type, nodes);
    ExcludeSet none(nodes.size());
    for (int k = 0; k < 40; ++k) {
      int i = lb->pick("key-" + std::to_string(k), none);
      EXPECT_TRUE(i == 1 || i == 3) << "type " << static_cast<int>(type) << " picked " << i;
    }
  }
}

TEST(LbBalancerTest, retries_fall_back_to_lower_groups_in_order) {
  auto nodes = mixed_priority_nodes();
  for (BalancerType type : kAllTypes) {
    auto lb = make_balancer(type, nodes);
    ExcludeSet tried(nodes.size());
    std::vector<int> order;
    for (int attempt = 0; attempt < 4; ++attempt) {
      int i = lb->pick("user-1", tried);
      ASSERT_GE(i, 0);
      order.push_back(i);
      tried.add(static_cast<size_t>(i));
    }
    EXPECT_EQ(std::set<int>(order.begin(), order.begin() + 2), (std::set<int>{1, 3}));
    EXPECT_EQ(order[2], 0);
    EXPECT_EQ(order[3], 2);
    EXPECT_EQ(lb->pick("user-1", tried), -1);
  }
}

TEST(LbBalancerTest, unhealthy_high_group_sends_traffic_to_backup_then_recovers) {
  auto nodes = mixed_priority_nodes();
  auto lb = make_balancer(BalancerType::kRoundRobin, nodes);
  ExcludeSet unhealthy(nodes.size());
  unhealthy.add(1);
  unhealthy.add(3);
  unhealthy.add(0);
  EXPECT_EQ(lb->pick("", unhealthy), 2);
  ExcludeSet healthy(nodes.size());
  int i = lb->pick("", healthy);
  EXPECT_TRUE(i == 1 || i == 3);
}

TEST(LbBalancerTest, group_of_only_weight_zero_nodes_is_skipped) {
  std::vector<NodeSpec> nodes{{"10.0.4.1", 80, 0, 5}, {"10.0.4.2", 80, 2, 0}};
  for (BalancerType type : kAllTypes) {
    auto lb = make_balancer(type, nodes);
    EXPECT_EQ(lb->pick("k", ExcludeSet(nodes.size())), 1);
  }
}

TEST(LbBalancerTest, connection_counts_reach_the_right_group) {
  auto nodes = mixed_priority_nodes();
  auto lb = make_balancer(BalancerType::kLeastConn, nodes);
  lb->on_start(1);
  ExcludeSet none(nodes.size());
  EXPECT_EQ(lb->pick("", none), 3);
  lb->on_start(3);
  lb->on_start(3);
  EXPECT_EQ(lb->pick("", none), 1);
  lb->on_finish(3, std::chrono::milliseconds(1), false);
  lb->on_finish(3, std::chrono::milliseconds(1), false);
  lb->on_start(0);  // a lower group's node: must not disturb the high group
  lb->on_finish(42, std::chrono::milliseconds(1), false);
  EXPECT_EQ(lb->pick("", none), 3);
}

TEST(LbBalancerTest, no_usable_nodes_gives_no_pick_for_every_type) {
  std::vector<NodeSpec> empty;
  std::vector<NodeSpec> zeros{{"10.0.5.1", 80, 0, 0}, {"10.0.5.2", 80, 0, 1}};
  for (BalancerType type : kAllTypes) {
    EXPECT_EQ(make_balancer(type, empty)->pick("k", ExcludeSet(0)), -1);
    EXPECT_EQ(make_balancer(type, zeros)->pick("k", ExcludeSet(zeros.size())), -1);
  }
}

}  // namespace
}  // namespace torii::upstream
