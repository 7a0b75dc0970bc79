// safe_field / safe_target: the word-at-a-time scan finds exactly the bytes
// the byte-wise rules refuse, at every position of short and long texts.
#include "http/safe_field.h"

#include <gtest/gtest.h>

#include <string>

namespace torii::http {
namespace {

std::string escaped_bytewise(std::string_view v, bool (*unsafe)(unsigned char)) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : v) {
    const auto b = static_cast<unsigned char>(c);
    if (unsafe(b)) {
      out += '%';
      out += kHex[b >> 4];
      out += kHex[b & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

TEST(SafeFieldTest, every_byte_at_every_position_matches_the_bytewise_rule) {
  for (size_t len : {1u, 7u, 8u, 9u, 16u, 23u}) {
    for (size_t pos = 0; pos < len; ++pos) {
      for (int b = 0; b < 256; ++b) {
        std::string v(len, 'a');
        v[pos] = static_cast<char>(b);
        std::string scratch;
        EXPECT_EQ(safe_field(v, scratch), escaped_bytewise(v, unsafe_in_field)) << len << " " << pos << " " << b;
        EXPECT_EQ(safe_target(v, scratch), escaped_bytewise(v, unsafe_in_target)) << len << " " << pos << " " << b;
      }
    }
  }
}

TEST(SafeFieldTest, clean_text_is_returned_as_it_is_without_a_copy) {
  const std::string v = "X-RateLimit-Remaining\t99 (high bytes \xc3\xa9 pass)";
  std::string scratch;
  EXPECT_EQ(safe_field(v, scratch).data(), v.data());
  EXPECT_TRUE(scratch.empty());
  const std::string t = "/a/b?c=%0d%0a&d=\xc3\xa9";
  EXPECT_EQ(safe_target(t, scratch).data(), t.data());
}

TEST(SafeFieldTest, tab_passes_in_fields_but_not_in_targets) {
  std::string scratch;
  EXPECT_EQ(safe_field("a\tb\tc\td\te\tf", scratch), "a\tb\tc\td\te\tf");
  EXPECT_EQ(safe_target("/a\tb", scratch), "/a%09b");
  EXPECT_EQ(safe_field("12345678\r\nX-Injected: 1", scratch), "12345678%0D%0AX-Injected: 1");
  EXPECT_EQ(safe_target("/abcdefg hij\x7f", scratch), "/abcdefg%20hij%7F");
}

}  // namespace
}  // namespace torii::http
