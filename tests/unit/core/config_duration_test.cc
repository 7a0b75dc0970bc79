// duration_from_seconds / clamp_ms: configured numbers bounded from below
// only become durations that can be added to any steady_clock reading.
#include "core/config_duration.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace torii::core {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

TEST(CoreConfigDurationTest, ordinary_values_convert_exactly) {
  EXPECT_EQ(duration_from_seconds(1.5), milliseconds(1500));
  EXPECT_EQ(duration_from_seconds(0.001), milliseconds(1));
  EXPECT_EQ(duration_from_seconds(60), std::chrono::seconds(60));
  EXPECT_EQ(clamp_ms(2500), milliseconds(2500));
}

TEST(CoreConfigDurationTest, nan_zero_and_negatives_are_zero) {
  EXPECT_EQ(duration_from_seconds(std::nan("")), steady_clock::duration::zero());
  EXPECT_EQ(duration_from_seconds(0), steady_clock::duration::zero());
  EXPECT_EQ(duration_from_seconds(-3), steady_clock::duration::zero());
  EXPECT_EQ(clamp_ms(-1), milliseconds::zero());
}

TEST(CoreConfigDurationTest, huge_values_are_capped_and_still_add_to_now) {
  for (double s : {1e10, 1e20, 1e300, std::numeric_limits<double>::infinity()}) {
    const auto d = duration_from_seconds(s);
    EXPECT_EQ(d, kMaxConfigDuration) << s;
    EXPECT_GT(steady_clock::now() + d, steady_clock::now()) << s;
  }
  EXPECT_EQ(clamp_ms(std::numeric_limits<int64_t>::max()), kMaxConfigDuration);
  const steady_clock::duration as_clock = clamp_ms(std::numeric_limits<int64_t>::max());
  EXPECT_GT(steady_clock::now() + as_clock, steady_clock::now());
}

}  // namespace
}  // namespace torii::core
