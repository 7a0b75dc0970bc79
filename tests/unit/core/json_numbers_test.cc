// json_numbers_finite: Boost.JSON reads 1e400 as infinity and would write it
// back as `inf`; the check finds such a number at any depth.
#include "core/json_numbers.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace torii::core {
namespace {

boost::json::value parse(const char* text) { return boost::json::parse(text); }

TEST(CoreJsonNumbersTest, numbers_a_double_holds_are_finite) {
  EXPECT_TRUE(json_numbers_finite(parse(R"({"a":1,"b":-2.5,"c":1e308,"d":[0,1e-400],"e":"1e400"})")));
  EXPECT_TRUE(json_numbers_finite(parse("18446744073709551615")));
  EXPECT_TRUE(json_numbers_finite(parse("8888888888888888888888881")));  // a double, finite
}

TEST(CoreJsonNumbersTest, an_out_of_range_number_is_found_at_any_depth) {
  EXPECT_FALSE(json_numbers_finite(parse("1e400")));
  EXPECT_FALSE(json_numbers_finite(parse("-1e400")));
  EXPECT_FALSE(json_numbers_finite(parse(R"({"timeout":{"connect":1e370}})")));
  EXPECT_FALSE(json_numbers_finite(parse(R"([1,[2,[3,{"x":[1e999]}]]])")));
}

// Why it matters: what Boost.JSON writes for it is not JSON.
TEST(CoreJsonNumbersTest, boost_json_writes_infinity_as_text_no_reader_accepts) {
  const std::string written = boost::json::serialize(parse(R"({"a":1e400})"));
  boost::system::error_code ec;
  boost::json::parse(written, ec);
  EXPECT_TRUE(ec) << written;
}

}  // namespace
}  // namespace torii::core
