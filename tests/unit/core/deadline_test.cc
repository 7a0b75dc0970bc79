// Deadlines checked by a periodic sweep: a deadline fires after its time and
// not before, disarm() prevents it, re-arming resets expired(), and a
// callback may destroy other deadlines (or its own) safely.
#include "core/deadline.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>

namespace torii::core {
namespace {

using namespace std::chrono_literals;

// Runs the loop until `done()` or `limit` passes.
template <class Pred>
void run_until(boost::asio::io_context& io, Pred done, std::chrono::milliseconds limit = 2000ms) {
  const auto end = Clock::now() + limit;
  while (!done() && Clock::now() < end) {
    io.run_for(10ms);
    if (io.stopped()) io.restart();
  }
}

class CoreDeadlineTest : public ::testing::Test {
 protected:
  void SetUp() override { sweeper_.start(nullptr); }
  void TearDown() override { sweeper_.stop(); }

  boost::asio::io_context io_;
  DeadlineSweeper sweeper_{io_};
};

TEST_F(CoreDeadlineTest, fires_after_its_time) {
  int fired = 0;
  Deadline d(sweeper_, [&] { ++fired; });
  EXPECT_FALSE(d.armed());
  const auto start = Clock::now();
  d.arm(50ms);
  EXPECT_TRUE(d.armed());
  EXPECT_FALSE(d.expired());
  run_until(io_, [&] { return fired > 0; });
  EXPECT_EQ(fired, 1);
  EXPECT_GE(Clock::now() - start, 40ms);  // coarse clock: a few ms of slack
  EXPECT_TRUE(d.expired());
  EXPECT_FALSE(d.armed());
  // Fires once per arming.
  io_.run_for(250ms);
  EXPECT_EQ(fired, 1);
}

TEST_F(CoreDeadlineTest, does_not_fire_before_its_time) {
  int fired = 0;
  Deadline d(sweeper_, [&] { ++fired; });
  d.arm(10s);
  io_.run_for(300ms);
  EXPECT_EQ(fired, 0);
  EXPECT_TRUE(d.armed());
  EXPECT_FALSE(d.expired());
}

TEST_F(CoreDeadlineTest, disarm_prevents_firing) {
  int fired = 0;
  Deadline d(sweeper_, [&] { ++fired; });
  d.arm(20ms);
  d.disarm();
  EXPECT_FALSE(d.armed());
  io_.run_for(300ms);
  EXPECT_EQ(fired, 0);
  EXPECT_FALSE(d.expired());
}

TEST_F(CoreDeadlineTest, rearming_resets_expired) {
  int fired = 0;
  Deadline d(sweeper_, [&] { ++fired; });
  d.arm(0ms);
  run_until(io_, [&] { return fired == 1; });
  ASSERT_TRUE(d.expired());
  d.arm(10s);
  EXPECT_FALSE(d.expired());
  d.arm_at(Clock::now());
  run_until(io_, [&] { return fired == 2; });
  EXPECT_EQ(fired, 2);
}

TEST_F(CoreDeadlineTest, only_expired_deadlines_fire) {
  int early = 0, late = 0;
  Deadline a(sweeper_, [&] { ++early; });
  Deadline b(sweeper_, [&] { ++late; });
  a.arm(10ms);
  b.arm(10s);
  run_until(io_, [&] { return early > 0; });
  EXPECT_EQ(early, 1);
  EXPECT_EQ(late, 0);
}

TEST_F(CoreDeadlineTest, sweeper_counts_linked_deadlines) {
  EXPECT_EQ(sweeper_.size(), 0u);
  {
    Deadline a(sweeper_, [] {});
    Deadline b(sweeper_, [] {});
    EXPECT_EQ(sweeper_.size(), 2u);
  }
  EXPECT_EQ(sweeper_.size(), 0u);
}

TEST_F(CoreDeadlineTest, destroying_other_deadlines_inside_a_callback_is_safe) {
  // Deadlines are linked head-first, so the one created last is swept first;
  // its callback destroys the next in line (the sweep's cursor) and another.
  std::unique_ptr<Deadline> first, second, third;
  int fired_first = 0, fired_second = 0, fired_third = 0;
  first = std::make_unique<Deadline>(sweeper_, [&] { ++fired_first; });
  second = std::make_unique<Deadline>(sweeper_, [&] { ++fired_second; });
  third = std::make_unique<Deadline>(sweeper_, [&] {
    ++fired_third;
    second.reset();
    first.reset();
  });
  first->arm(0ms);
  second->arm(0ms);
  third->arm(0ms);
  run_until(io_, [&] { return fired_third > 0; });
  EXPECT_EQ(fired_third, 1);
  EXPECT_EQ(fired_second, 0);
  EXPECT_EQ(fired_first, 0);
  EXPECT_EQ(sweeper_.size(), 1u);
  // The sweeper keeps working afterwards.
  int later = 0;
  Deadline d(sweeper_, [&] { ++later; });
  d.arm(0ms);
  run_until(io_, [&] { return later > 0; });
  EXPECT_EQ(later, 1);
}

TEST_F(CoreDeadlineTest, destroying_itself_inside_its_callback_is_safe) {
  std::unique_ptr<Deadline> self;
  int fired = 0, other_fired = 0;
  Deadline other(sweeper_, [&] { ++other_fired; });
  self = std::make_unique<Deadline>(sweeper_, [&] {
    ++fired;
    self.reset();
  });
  self->arm(0ms);
  other.arm(0ms);
  run_until(io_, [&] { return fired > 0 && other_fired > 0; });
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(other_fired, 1);
  EXPECT_EQ(self, nullptr);
  EXPECT_EQ(sweeper_.size(), 1u);
}

TEST_F(CoreDeadlineTest, creating_a_deadline_inside_a_callback_is_safe) {
  std::unique_ptr<Deadline> created;
  int fired = 0, created_fired = 0;
  Deadline d(sweeper_, [&] {
    ++fired;
    created = std::make_unique<Deadline>(sweeper_, [&] { ++created_fired; });
    created->arm(0ms);
  });
  d.arm(0ms);
  run_until(io_, [&] { return created_fired > 0; });
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(created_fired, 1);
}

TEST_F(CoreDeadlineTest, on_tick_runs_after_each_sweep) {
  sweeper_.stop();
  int ticks = 0;
  sweeper_.start([&] { ++ticks; });
  run_until(io_, [&] { return ticks >= 2; });
  EXPECT_GE(ticks, 2);
}

TEST_F(CoreDeadlineTest, stop_halts_sweeping) {
  int fired = 0;
  Deadline d(sweeper_, [&] { ++fired; });
  sweeper_.stop();
  d.arm(0ms);
  io_.restart();
  io_.run_for(300ms);
  EXPECT_EQ(fired, 0);
}

TEST(CoreCoarseNowTest, tracks_steady_clock) {
  const auto a = Clock::now();
  const auto c = coarse_now();
  const auto b = Clock::now();
  EXPECT_LE(c, b + 1ms);
  EXPECT_GE(c, a - 20ms);
}

}  // namespace
}  // namespace torii::core
