// anti-replay's local nonce store: insert-if-absent, lazy expiry on a
// driven clock, the exact bound per quota without eviction, sharing across
// threads and quotas, and one quota per owner across conf changes.
#include "plugins/nonce_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "limit_test_support.h"

namespace torii::plugins::nonce {
namespace {

using plugins::testing::FakeClock;

TEST(NonceStore, a_nonce_is_fresh_once_within_its_ttl) {
  FakeClock clock;
  LocalNonceStore store;
  auto q = std::make_shared<NonceQuota>(10);
  EXPECT_EQ(store.insert("torii:nonce:jack:n1", 5, q), Outcome::kFresh);
  EXPECT_EQ(store.insert("torii:nonce:jack:n1", 5, q), Outcome::kReplayed);
  EXPECT_TRUE(store.contains("torii:nonce:jack:n1"));
  EXPECT_EQ(store.insert("torii:nonce:rose:n1", 5, q), Outcome::kFresh);
  clock.advance_ms(4999);
  EXPECT_EQ(store.insert("torii:nonce:jack:n1", 5, q), Outcome::kReplayed);
  clock.advance_ms(1);
  EXPECT_FALSE(store.contains("torii:nonce:jack:n1"));
  EXPECT_EQ(store.insert("torii:nonce:jack:n1", 5, q), Outcome::kFresh);
  EXPECT_EQ(store.size(), 2u);  // the expired entry was reused, not added
}

TEST(NonceStore, full_refuses_new_nonces_and_never_evicts_live_ones) {
  FakeClock clock;
  LocalNonceStore store;
  auto q = std::make_shared<NonceQuota>(3);
  EXPECT_EQ(store.insert("a", 10, q), Outcome::kFresh);
  EXPECT_EQ(store.insert("b", 10, q), Outcome::kFresh);
  EXPECT_EQ(store.insert("c", 100, q), Outcome::kFresh);
  EXPECT_EQ(store.insert("d", 10, q), Outcome::kFull);
  EXPECT_EQ(store.insert("a", 10, q), Outcome::kReplayed);  // still there
  EXPECT_EQ(store.size(), 3u);
  // Once "a" and "b" expire, the sweep before refusing frees their room.
  clock.advance_ms(10'000);
  EXPECT_EQ(store.insert("d", 10, q), Outcome::kFresh);
  EXPECT_EQ(store.insert("e", 10, q), Outcome::kFresh);
  EXPECT_EQ(store.insert("f", 10, q), Outcome::kFull);
  EXPECT_EQ(store.insert("c", 10, q), Outcome::kReplayed);
  // A larger bound (a conf change) applies at once.
  q->set_max_entries(4);
  EXPECT_EQ(store.insert("f", 10, q), Outcome::kFresh);
}

// A full quota sweeps the whole table before refusing, but at most every
// 100 ms: a flood of refused requests does not scan every shard each time.
TEST(NonceStore, refusals_while_full_sweep_the_table_at_most_every_100_ms) {
  FakeClock clock;
  LocalNonceStore store;
  auto full = std::make_shared<NonceQuota>(1);
  auto other = std::make_shared<NonceQuota>(100);
  ASSERT_EQ(store.insert("live", 60, full), Outcome::kFresh);
  ASSERT_EQ(store.insert("soon", 1, other), Outcome::kFresh);  // expires at 1000 ms
  clock.advance_ms(950);
  EXPECT_EQ(store.insert("a", 60, full), Outcome::kFull);  // sweeps: "soon" still live
  EXPECT_EQ(store.size(), 2u);
  clock.advance_ms(60);  // "soon" expired, 60 ms after the last sweep
  EXPECT_EQ(store.insert("b", 60, full), Outcome::kFull);
  EXPECT_EQ(store.size(), 2u) << "swept again within 100 ms";
  clock.advance_ms(50);
  EXPECT_EQ(store.insert("c", 60, full), Outcome::kFull);
  EXPECT_EQ(store.size(), 1u) << "not swept 110 ms after the last sweep";
}

TEST(NonceStore, shards_sweep_themselves_so_memory_follows_live_nonces) {
  FakeClock clock;
  LocalNonceStore store;
  auto q = std::make_shared<NonceQuota>(1'000'000);
  for (int i = 0; i < 20'000; ++i) store.insert("old-" + std::to_string(i), 1, q);
  clock.advance_ms(2000);
  for (int i = 0; i < 20'000; ++i) store.insert("new-" + std::to_string(i), 1, q);
  EXPECT_LT(store.size(), 40'000u);
}

TEST(NonceStore, concurrent_workers_see_one_store) {
  LocalNonceStore store;
  auto q = std::make_shared<NonceQuota>(1000);
  constexpr int kThreads = 8;
  std::atomic<int> fresh_same{0}, fresh_distinct{0}, full{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        // Everyone races on the same 100 nonces: each is fresh exactly once.
        if (store.insert("same-" + std::to_string(i % 100), 60, q) == Outcome::kFresh) ++fresh_same;
        switch (store.insert("t" + std::to_string(t) + "-" + std::to_string(i), 60, q)) {
          case Outcome::kFresh: ++fresh_distinct; break;
          case Outcome::kFull: ++full; break;
          case Outcome::kReplayed: ADD_FAILURE() << "distinct nonce replayed"; break;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(fresh_same.load(), 100);
  // The bound is exact under contention: 1000 entries, 100 of them "same-*".
  EXPECT_EQ(fresh_distinct.load(), 900);
  EXPECT_EQ(full.load(), kThreads * 500 - 900);
  EXPECT_EQ(store.size(), 1000u);
}

TEST(NonceStore, one_quota_per_owner_survives_a_conf_change) {
  FakeClock clock;
  LocalNonceStore store;
  auto first = quota_for("/apisix/routes/nonce-test", 5);
  EXPECT_EQ(store.insert("k", 60, first), Outcome::kFresh);
  auto replaced = quota_for("/apisix/routes/nonce-test", 7);
  EXPECT_EQ(first.get(), replaced.get());
  EXPECT_EQ(replaced->max_entries(), 7u);
  EXPECT_EQ(replaced->size(), 1u);
  auto other = quota_for("/apisix/routes/nonce-other", 5);
  EXPECT_NE(other.get(), first.get());
  // The entry keeps its quota alive after the last conf holding it is gone.
  const NonceQuota* held = first.get();
  first.reset();
  replaced.reset();
  EXPECT_EQ(quota_for("/apisix/routes/nonce-test", 5).get(), held);
  // Once the entry is swept, the quota goes too.
  clock.advance_ms(60'000);
  auto fill = quota_for("/apisix/routes/nonce-fill", 1);
  EXPECT_EQ(store.insert("x", 1, fill), Outcome::kFresh);
  EXPECT_EQ(store.insert("y", 1, fill), Outcome::kFull);  // sweeps every shard
  auto fresh = quota_for("/apisix/routes/nonce-test", 5);
  EXPECT_EQ(fresh->size(), 0u);
}

// One table for every owner: a nonce recorded through one route's quota is
// a replay through another's; each quota bounds only its own entries.
TEST(NonceStore, a_nonce_is_spent_for_every_quota_and_each_quota_bounds_its_own) {
  FakeClock clock;
  LocalNonceStore store;
  auto shop = std::make_shared<NonceQuota>(2);
  auto admin = std::make_shared<NonceQuota>(2);
  EXPECT_EQ(store.insert("torii:nonce:jack:n1", 60, shop), Outcome::kFresh);
  EXPECT_EQ(store.insert("torii:nonce:jack:n1", 60, admin), Outcome::kReplayed);
  EXPECT_EQ(store.insert("torii:nonce:jack:n2", 60, shop), Outcome::kFresh);
  EXPECT_EQ(store.insert("torii:nonce:jack:n3", 60, shop), Outcome::kFull);
  EXPECT_EQ(store.insert("torii:nonce:jack:n3", 60, admin), Outcome::kFresh);
  EXPECT_EQ(shop->size(), 2u);
  EXPECT_EQ(admin->size(), 1u);
  EXPECT_EQ(store.size(), 3u);
  // An expired entry reused through another quota moves its count.
  clock.advance_ms(60'000);
  EXPECT_EQ(store.insert("torii:nonce:jack:n1", 60, admin), Outcome::kFresh);
  EXPECT_EQ(admin->size(), 2u);
  EXPECT_LE(shop->size(), 1u);
}

}  // namespace
}  // namespace torii::plugins::nonce
