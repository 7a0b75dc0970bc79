// The Redis Cluster client against a real 3-master cluster: slot routing,
// MOVED after a slot changed owner, ASK during a migration, and the
// limit-count store with policy "redis-cluster".
#include "net/redis_cluster.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <optional>

#include "harness.h"
#include "plugins/limit_count_redis.h"
#include "redis_process.h"

namespace torii::net::redis {
namespace {

using testing::RedisCluster;
using Result = core::Result<Reply>;

// co_spawn's completion: an exception escaping a test coroutine fails the
// test (boost::asio::detached would swallow it).
constexpr auto kRethrow = [](std::exception_ptr e) {
  if (e) std::rethrow_exception(e);
};

// Runs `task` and hands its result to `done` (co_spawn's own completion
// handler needs a default-constructible result, which Result is not).
template <class T, class F>
Task<void> then(Task<T> task, F done) {
  done(co_await std::move(task));
}

// Runs `task` on `io` until it completes (the client's connections keep the
// loop busy forever, so run() would not return).
template <class T>
T run_task(boost::asio::io_context& io, Task<T> task) {
  std::optional<T> out;
  boost::asio::co_spawn(io, then(std::move(task), [&](T value) { out.emplace(std::move(value)); }),
                        kRethrow);
  io.restart();  // a loop that ran out of work earlier stays stopped until restarted
  while (!out && io.run_one() > 0) {
  }
  EXPECT_TRUE(out) << "the loop ran out of work before the task completed";
  if (!out) std::abort();
  return std::move(*out);
}

TEST(RedisClusterSlots, key_slot_matches_redis) {
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("123456789"), 0x31C3 & 16383);
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
  EXPECT_EQ(key_slot("foo{}{bar}"), key_slot("foo{}{bar}"));  // empty tag: whole key
  EXPECT_NE(key_slot("foo{}{bar}"), key_slot("bar"));
  EXPECT_EQ(key_slot("foo{{bar}}zap"), key_slot("{bar"));
}

TEST(RedisClusterSlots, node_addresses) {
  auto a = parse_node_address("10.0.0.1:7000");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "10.0.0.1");
  EXPECT_EQ(a->port, 7000);
  a = parse_node_address("[::1]:7001");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "::1");
  EXPECT_FALSE(parse_node_address("host").ok());
  EXPECT_FALSE(parse_node_address("host:0").ok());
  EXPECT_FALSE(parse_node_address("host:70000").ok());
  EXPECT_FALSE(parse_node_address(":7000").ok());
}

class RedisClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new RedisCluster(3);
    cluster_->start();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    ASSERT_FALSE(HasFailure());
    for (size_t i = 0; i < cluster_->size(); ++i) cluster_->node(i).cli({"FLUSHALL"});
  }
  ClusterOptions options() const {
    ClusterOptions o;
    o.name = "test";
    // Only one seed: the client learns the others from CLUSTER SLOTS.
    o.seeds.push_back(NodeAddress{"127.0.0.1", cluster_->node(0).port()});
    return o;
  }
  // A key whose slot node `i` serves, and that slot.
  static std::pair<std::string, int> key_on(size_t i, const std::string& prefix) {
    for (int n = 0;; ++n) {
      std::string k = prefix + std::to_string(n);
      const int slot = key_slot(k);
      if (cluster_->owner(slot) == i) return {k, slot};
    }
  }
  static RedisCluster* cluster_;
  boost::asio::io_context io_;
};
RedisCluster* RedisClusterTest::cluster_ = nullptr;

TEST_F(RedisClusterTest, routes_every_key_to_its_master) {
  ClusterClient c(io_.get_executor(), options());
  for (int i = 0; i < 60; ++i) {
    const std::string k = "key:" + std::to_string(i);
    Result r = run_task(io_, c.command(k, {"SET", k, std::to_string(i)}));
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_FALSE(r->is_error()) << r->str;  // no MOVED left over
  }
  EXPECT_EQ(c.known_masters(), 3u);
  // Every node holds exactly the keys of its slots.
  int total = 0;
  for (size_t n = 0; n < cluster_->size(); ++n) {
    total += std::stoi(cluster_->node(n).cli({"DBSIZE"}));
  }
  EXPECT_EQ(total, 60);
  const auto [k, slot] = key_on(2, "probe");
  ASSERT_TRUE(run_task(io_, c.command(k, {"SET", k, "x"})).ok());
  EXPECT_EQ(cluster_->node(2).cli({"GET", k}), "x");
}

TEST_F(RedisClusterTest, follows_moved_when_a_slot_changes_owner) {
  ClusterClient c(io_.get_executor(), options());
  const auto [k, slot] = key_on(0, "moving");
  ASSERT_TRUE(run_task(io_, c.command(k, {"SET", k, "before"})).ok());
  ASSERT_TRUE(run_task(io_, c.command(k, {"DEL", k})).ok());

  // Hand the (now empty) slot to node 1 behind the client's back.
  const std::string to = cluster_->id(1);
  cluster_->node(1).cli({"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", to});
  cluster_->node(0).cli({"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", to});
  cluster_->node(2).cli({"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", to});

  Result r = run_task(io_, c.command(k, {"SET", k, "after"}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->str, "OK");
  EXPECT_EQ(cluster_->node(1).cli({"GET", k}), "after");
  r = run_task(io_, c.command(k, {"GET", k}));  // the map was reloaded
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->str, "after");

  // Give it back for the other tests.
  const std::string back = cluster_->id(0);
  run_task(io_, c.command(k, {"DEL", k}));
  cluster_->node(0).cli({"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", back});
  cluster_->node(1).cli({"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", back});
  cluster_->node(2).cli({"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", back});
}

TEST_F(RedisClusterTest, follows_ask_during_a_migration) {
  ClusterClient c(io_.get_executor(), options());
  const auto [k, slot] = key_on(0, "migrating");
  ASSERT_TRUE(run_task(io_, c.command(k, {"GET", k})).ok());  // map loaded

  const std::string s = std::to_string(slot);
  cluster_->node(1).cli({"CLUSTER", "SETSLOT", s, "IMPORTING", cluster_->id(0)});
  cluster_->node(0).cli({"CLUSTER", "SETSLOT", s, "MIGRATING", cluster_->id(1)});

  // The key is not on node 0: it answers ASK, the client asks node 1.
  Result r = run_task(io_, c.command(k, {"SET", k, "v"}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->str, "OK") << r->str;
  EXPECT_EQ(cluster_->node(1).cli({"CLUSTER", "COUNTKEYSINSLOT", s}), "1");

  // A script too (EVALSHA, then EVAL on NOSCRIPT, each after ASKING).
  static const Script kGet("return redis.call('get', KEYS[1])");
  r = run_task(io_, c.eval(kGet, k, {}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->str, "v");

  // Finish the migration: node 1 owns the slot.
  cluster_->on_all({"CLUSTER", "SETSLOT", s, "NODE", cluster_->id(1)});
  r = run_task(io_, c.command(k, {"GET", k}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->str, "v");

  run_task(io_, c.command(k, {"DEL", k}));
  cluster_->on_all({"CLUSTER", "SETSLOT", s, "NODE", cluster_->id(0)});
}

TEST_F(RedisClusterTest, limit_count_store_with_policy_redis_cluster) {
  std::string nodes;
  for (const auto& a : cluster_->addresses()) nodes += (nodes.empty() ? "\"" : ",\"") + a + "\"";
  auto made = plugins::limit_count::make_redis_count_store(
      boost::json::parse(
          R"({"policy":"redis-cluster","redis_cluster_name":"c","redis_cluster_nodes":[)" + nodes +
          "]}")
          .as_object());
  ASSERT_TRUE(made.ok()) << made.error().message;
  auto& store = **made;
  // Keys spread over every master; each counts on its own.
  for (int key = 0; key < 12; ++key) {
    const std::string k = "/apisix/routes/" + std::to_string(key) + ":1:127.0.0.1";
    for (int i = 0; i < 3; ++i) {
      auto d = run_task(io_, store.incoming(k, 2, std::chrono::seconds(60), 1));
      ASSERT_TRUE(d.ok()) << d.error().message;
      EXPECT_EQ(d->allowed, i < 2) << k << " #" << i;
    }
  }
  int keys = 0;
  for (size_t n = 0; n < cluster_->size(); ++n) {
    const int here = std::stoi(cluster_->node(n).cli({"DBSIZE"}));
    EXPECT_GT(here, 0) << "node " << n;
    keys += here;
  }
  EXPECT_EQ(keys, 12);
}

TEST(RedisClusterDown, no_reachable_seed_is_unavailable) {
  boost::asio::io_context io;
  ClusterOptions o;
  o.name = "gone";
  o.seeds.push_back(NodeAddress{"127.0.0.1", testing::free_port()});
  ClusterClient c(io.get_executor(), o);
  Result r = run_task(io, c.command("k", {"GET", "k"}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, core::ErrorKind::kUnavailable);
  EXPECT_NE(r.error().message.find("redis cluster gone: cannot load the slot map"),
            std::string::npos)
      << r.error().message;
}

}  // namespace
}  // namespace torii::net::redis
