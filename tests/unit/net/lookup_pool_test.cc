// LookupPool: a job never waits behind one that does not end while the cap
// allows another thread, also when it comes right after a job that woke an
// idle thread not yet running; past the cap, jobs wait in order.
#include "net/lookup_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

namespace torii::net {
namespace {

bool within(std::future<void>& f, std::chrono::seconds s) {
  return f.wait_for(s) == std::future_status::ready;
}

TEST(LookupPoolTest, a_job_never_waits_behind_a_stuck_one_below_the_cap) {
  auto* pool = new LookupPool(4);  // never destroyed (its contract)
  // Warm-up: one thread, idle afterwards.
  std::promise<void> warm;
  auto warm_done = warm.get_future();
  pool->run([&warm] { warm.set_value(); });
  ASSERT_TRUE(within(warm_done, std::chrono::seconds(5)));
  while (pool->threads() < 1) std::this_thread::yield();

  for (int round = 0; round < 20; ++round) {
    // A stuck job and, right behind it, one that must still run: the idle
    // thread notified for the first has not taken it yet.
    auto release = std::make_shared<std::promise<void>>();
    auto released = release->get_future().share();
    auto fast = std::make_shared<std::promise<void>>();
    auto fast_done = fast->get_future();
    pool->run([released] { released.wait(); });
    pool->run([fast] { fast->set_value(); });
    EXPECT_TRUE(within(fast_done, std::chrono::seconds(5))) << "round " << round;
    release->set_value();
  }
  EXPECT_LE(pool->threads(), 4u);
}

TEST(LookupPoolTest, past_the_cap_jobs_wait_in_order) {
  auto* pool = new LookupPool(2);
  auto release = std::make_shared<std::promise<void>>();
  auto released = release->get_future().share();
  std::atomic<int> started{0};
  for (int i = 0; i < 2; ++i) {
    pool->run([released, &started] {
      ++started;
      released.wait();
    });
  }
  std::promise<void> third;
  auto third_done = third.get_future();
  pool->run([&third] { third.set_value(); });
  EXPECT_FALSE(within(third_done, std::chrono::seconds(0)));
  EXPECT_EQ(pool->threads(), 2u);
  release->set_value();
  EXPECT_TRUE(within(third_done, std::chrono::seconds(5)));
}

}  // namespace
}  // namespace torii::net
