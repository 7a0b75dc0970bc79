// saturate<Int>(v): in-range values convert as a cast would (floating
// values truncated toward zero), out-of-range ones clamp to the nearest
// bound, infinities to the bound of their sign, NaN to the minimum; from
// floating and from integral sources, at the edges of each target's range.
#include "core/saturate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

namespace torii::core {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(CoreSaturateTest, in_range_doubles_truncate_toward_zero) {
  EXPECT_EQ(saturate<int>(0.0), 0);
  EXPECT_EQ(saturate<int>(2.9), 2);
  EXPECT_EQ(saturate<int>(-2.9), -2);
  EXPECT_EQ(saturate<int>(503.0), 503);
  EXPECT_EQ(saturate<uint16_t>(6379.0), 6379);
  EXPECT_EQ(saturate<uint64_t>(0.5), 0u);
}

TEST(CoreSaturateTest, out_of_range_doubles_clamp) {
  EXPECT_EQ(saturate<int>(1e24), std::numeric_limits<int>::max());
  EXPECT_EQ(saturate<int>(-1e24), std::numeric_limits<int>::min());
  EXPECT_EQ(saturate<uint16_t>(65536.0), 65535);
  EXPECT_EQ(saturate<uint16_t>(-1.0), 0);
  EXPECT_EQ(saturate<uint32_t>(-0.5), 0u);
  EXPECT_EQ(saturate<int64_t>(1e300), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(saturate<int64_t>(-1e300), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(saturate<uint64_t>(1e20), std::numeric_limits<uint64_t>::max());
}

TEST(CoreSaturateTest, bounds_themselves) {
  // 2^63 is int64's max + 1 and the double nearest to that max.
  EXPECT_EQ(saturate<int64_t>(0x1p63), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(saturate<int64_t>(-0x1p63), std::numeric_limits<int64_t>::min());
  // The largest double below 2^63 converts exactly.
  EXPECT_EQ(saturate<int64_t>(std::nextafter(0x1p63, 0.0)), int64_t{0x7FFFFFFFFFFFFC00});
  EXPECT_EQ(saturate<int>(2147483647.0), 2147483647);
  EXPECT_EQ(saturate<int>(2147483646.5), 2147483646);
  EXPECT_EQ(saturate<int>(-2147483648.0), std::numeric_limits<int>::min());
  EXPECT_EQ(saturate<int>(-2147483648.5), std::numeric_limits<int>::min());
  EXPECT_EQ(saturate<uint16_t>(65535.0), 65535);
  EXPECT_EQ(saturate<uint16_t>(65534.99), 65534);
}

TEST(CoreSaturateTest, infinities_and_nan) {
  EXPECT_EQ(saturate<int>(kInf), std::numeric_limits<int>::max());
  EXPECT_EQ(saturate<int>(-kInf), std::numeric_limits<int>::min());
  EXPECT_EQ(saturate<uint8_t>(kInf), 255);
  EXPECT_EQ(saturate<int>(kNaN), std::numeric_limits<int>::min());
  EXPECT_EQ(saturate<uint32_t>(kNaN), 0u);
}

TEST(CoreSaturateTest, integral_sources) {
  EXPECT_EQ(saturate<int>(int64_t{70000}), 70000);
  EXPECT_EQ(saturate<int>(int64_t{1} << 40), std::numeric_limits<int>::max());
  EXPECT_EQ(saturate<int>(-(int64_t{1} << 40)), std::numeric_limits<int>::min());
  EXPECT_EQ(saturate<uint16_t>(int64_t{70000}), 65535);
  EXPECT_EQ(saturate<uint16_t>(int64_t{-1}), 0);
  EXPECT_EQ(saturate<int64_t>(std::numeric_limits<uint64_t>::max()),
            std::numeric_limits<int64_t>::max());
  EXPECT_EQ(saturate<uint64_t>(std::numeric_limits<int64_t>::min()), 0u);
  EXPECT_EQ(saturate<int64_t>(std::numeric_limits<int64_t>::min()),
            std::numeric_limits<int64_t>::min());
}

TEST(CoreSaturateTest, usable_in_constant_expressions) {
  static_assert(saturate<uint8_t>(300) == 255);
  static_assert(saturate<int8_t>(-1e9) == -128);
  static_assert(saturate<int>(42.7) == 42);
}

}  // namespace
}  // namespace torii::core
