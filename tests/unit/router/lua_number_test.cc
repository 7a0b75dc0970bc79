// lua_tonumber: the string-to-number rules behind the vars operators.
#include "router/lua_number.h"

#include <gtest/gtest.h>

#include <cmath>

namespace torii::router {
namespace {

TEST(RouterLuaNumberTest, decimal_forms_convert) {
  EXPECT_EQ(lua_tonumber("18"), 18.0);
  EXPECT_EQ(lua_tonumber("-1.5"), -1.5);
  EXPECT_EQ(lua_tonumber("+2"), 2.0);
  EXPECT_EQ(lua_tonumber(".5"), 0.5);
  EXPECT_EQ(lua_tonumber("5."), 5.0);
  EXPECT_EQ(lua_tonumber("1e3"), 1000.0);
  EXPECT_EQ(lua_tonumber("1E-2"), 0.01);
  EXPECT_EQ(lua_tonumber(" \t7\n"), 7.0);
}

TEST(RouterLuaNumberTest, hexadecimal_forms_convert) {
  EXPECT_EQ(lua_tonumber("0x1F"), 31.0);
  EXPECT_EQ(lua_tonumber("-0x10"), -16.0);
  EXPECT_EQ(lua_tonumber("0x1p4"), 16.0);
  EXPECT_EQ(lua_tonumber("0x.8"), 0.5);
}

TEST(RouterLuaNumberTest, non_numbers_give_nothing) {
  for (const char* s : {"", " ", "abc", "1a", "1e", "1e+", ".", "0x", "0xg", "inf", "nan",
                        "infinity", "1 2", "--1", "1.2.3"}) {
    EXPECT_FALSE(lua_tonumber(s).has_value()) << s;
  }
}

TEST(RouterLuaNumberTest, overflow_gives_infinity) {
  auto v = lua_tonumber("1e999");
  ASSERT_TRUE(v.has_value());
  EXPECT_TRUE(std::isinf(*v));
}

}  // namespace
}  // namespace torii::router
