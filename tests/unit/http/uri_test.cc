// Request-target helpers: $uri normalisation as nginx computes it (decode,
// merge "//", resolve "." and ".."), percent-decoding of arguments, and
// query / cookie lookup.
#include "http/uri.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace torii::http {
namespace {

std::optional<std::string> norm(std::string_view raw) {
  std::string out = "garbage";
  if (!normalize_path(raw, out)) return std::nullopt;
  return out;
}

TEST(HttpUriTest, clean_path_is_copied_unchanged) {
  EXPECT_EQ(norm("/"), "/");
  EXPECT_EQ(norm("/a/b/c"), "/a/b/c");
  EXPECT_EQ(norm("/a.b/c..d/.e"), "/a.b/c..d/.e");
  EXPECT_EQ(norm("/a/b/"), "/a/b/");
}

TEST(HttpUriTest, percent_escapes_are_decoded) {
  EXPECT_EQ(norm("/a%20b"), "/a b");
  EXPECT_EQ(norm("/%41%62c"), "/Abc");
  EXPECT_EQ(norm("/caf%C3%A9"), "/caf\xC3\xA9");
  EXPECT_EQ(norm("/a%2fb"), "/a/b");
  // '+' is not a space in a path.
  EXPECT_EQ(norm("/a+b%2B"), "/a+b+");
}

TEST(HttpUriTest, repeated_slashes_are_merged) {
  EXPECT_EQ(norm("//a"), "/a");
  EXPECT_EQ(norm("/a//b///c"), "/a/b/c");
  EXPECT_EQ(norm("/a//"), "/a/");
}

TEST(HttpUriTest, dot_segments_are_resolved) {
  EXPECT_EQ(norm("/a/./b"), "/a/b");
  EXPECT_EQ(norm("/a/../b"), "/b");
  EXPECT_EQ(norm("/a/b/../../c"), "/c");
  EXPECT_EQ(norm("/a/b/.."), "/a/");
  EXPECT_EQ(norm("/a/."), "/a/");
  EXPECT_EQ(norm("/."), "/");
  EXPECT_EQ(norm("/a/.."), "/");
  EXPECT_EQ(norm("/a/%2e%2e/b"), "/b");
  EXPECT_EQ(norm("/a/%2E/b"), "/a/b");
}

TEST(HttpUriTest, trailing_slash_is_kept) {
  EXPECT_EQ(norm("/a/b//"), "/a/b/");
  EXPECT_EQ(norm("/a/./"), "/a/");
  EXPECT_EQ(norm("/a/b/../"), "/a/");
}

TEST(HttpUriTest, dot_dot_above_the_root_is_refused) {
  EXPECT_EQ(norm("/.."), std::nullopt);
  EXPECT_EQ(norm("/../a"), std::nullopt);
  EXPECT_EQ(norm("/a/../../b"), std::nullopt);
  EXPECT_EQ(norm("/%2e%2e/etc/passwd"), std::nullopt);
}

TEST(HttpUriTest, encoded_nul_is_refused) {
  EXPECT_EQ(norm("/a%00b"), std::nullopt);
  EXPECT_EQ(norm("/%00"), std::nullopt);
}

TEST(HttpUriTest, bad_escape_is_refused) {
  EXPECT_EQ(norm("/a%zz"), std::nullopt);
  EXPECT_EQ(norm("/a%2"), std::nullopt);
  EXPECT_EQ(norm("/a%"), std::nullopt);
  EXPECT_EQ(norm("/a%g0/b"), std::nullopt);
}

TEST(HttpUriTest, path_not_starting_with_slash_is_refused) {
  EXPECT_EQ(norm(""), std::nullopt);
  EXPECT_EQ(norm("a/b"), std::nullopt);
  EXPECT_EQ(norm("*"), std::nullopt);
}

TEST(HttpUriTest, escape_at_the_very_end_is_decoded) {
  EXPECT_EQ(norm("/a%41"), "/aA");
  EXPECT_EQ(norm("/%2F"), "/");
}

TEST(HttpUriTest, percent_decode_handles_plus_per_flag) {
  EXPECT_EQ(percent_decode("a+b%20c", true), "a b c");
  EXPECT_EQ(percent_decode("a+b%20c", false), "a+b c");
  EXPECT_EQ(percent_decode("%2B", true), "+");
}

TEST(HttpUriTest, percent_decode_keeps_invalid_escapes) {
  EXPECT_EQ(percent_decode("100%", false), "100%");
  EXPECT_EQ(percent_decode("%zz%4", false), "%zz%4");
  EXPECT_EQ(percent_decode("%4g%41", false), "%4gA");
  EXPECT_EQ(percent_decode("%41", false), "A");
  EXPECT_EQ(percent_decode("", true), "");
}

TEST(HttpUriTest, percent_decode_keeps_encoded_nul_as_a_byte) {
  const std::string out = percent_decode("a%00b", false);
  EXPECT_EQ(out, std::string("a\0b", 3));
}

TEST(HttpUriTest, find_query_arg_returns_the_first_raw_value) {
  EXPECT_EQ(find_query_arg("a=1&b=2&a=3", "a"), std::optional<std::string_view>("1"));
  EXPECT_EQ(find_query_arg("a=1&b=2&a=3", "b"), std::optional<std::string_view>("2"));
  EXPECT_EQ(find_query_arg("x=a%20b", "x"), std::optional<std::string_view>("a%20b"));
  EXPECT_EQ(find_query_arg("x=a=b", "x"), std::optional<std::string_view>("a=b"));
}

TEST(HttpUriTest, find_query_arg_empty_value_and_bare_key) {
  EXPECT_EQ(find_query_arg("a=&b=2", "a"), std::optional<std::string_view>(""));
  EXPECT_EQ(find_query_arg("flag&b=2", "flag"), std::optional<std::string_view>(""));
  EXPECT_EQ(find_query_arg("b=2&flag", "flag"), std::optional<std::string_view>(""));
}

TEST(HttpUriTest, find_query_arg_absent) {
  EXPECT_EQ(find_query_arg("a=1&b=2", "c"), std::nullopt);
  EXPECT_EQ(find_query_arg("", "a"), std::nullopt);
  EXPECT_EQ(find_query_arg("ab=1", "a"), std::nullopt);
  EXPECT_EQ(find_query_arg("a=1", "ab"), std::nullopt);
  EXPECT_EQ(find_query_arg("xa=1", "a"), std::nullopt);
}

TEST(HttpUriTest, find_cookie_skips_spaces) {
  const std::string_view h = "a=1; b=2;c=3 ;  d = 4 ";
  EXPECT_EQ(find_cookie(h, "a"), std::optional<std::string_view>("1"));
  EXPECT_EQ(find_cookie(h, "b"), std::optional<std::string_view>("2"));
  EXPECT_EQ(find_cookie(h, "c"), std::optional<std::string_view>("3"));
  EXPECT_EQ(find_cookie(h, "d"), std::optional<std::string_view>("4"));
}

TEST(HttpUriTest, find_cookie_absent) {
  EXPECT_EQ(find_cookie("a=1; b=2", "c"), std::nullopt);
  EXPECT_EQ(find_cookie("", "a"), std::nullopt);
  EXPECT_EQ(find_cookie("ab=1", "a"), std::nullopt);
  EXPECT_EQ(find_cookie("a", "a"), std::nullopt);
}

TEST(HttpUriTest, find_cookie_first_occurrence_and_empty_value) {
  EXPECT_EQ(find_cookie("a=1; a=2", "a"), std::optional<std::string_view>("1"));
  EXPECT_EQ(find_cookie("a=; b=2", "a"), std::optional<std::string_view>(""));
}

}  // namespace
}  // namespace torii::http
