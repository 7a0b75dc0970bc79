// PathPattern: `:name` / `*name` route paths as radixtree's compare_param
// matches them (whole path, greedy wildcards, trailing slash kept).
#include "router/path_pattern.h"

#include <gtest/gtest.h>

#include <string>

namespace torii::router {
namespace {

TEST(RouterPathPatternTest, plain_paths_and_trailing_bare_star_need_no_pattern) {
  EXPECT_FALSE(PathPattern::compile("/a/b").has_value());
  EXPECT_FALSE(PathPattern::compile("/a/*").has_value());
  EXPECT_FALSE(PathPattern::compile("*").has_value());
  EXPECT_FALSE(PathPattern::compile("/a:b").has_value()) << "':' inside a segment is literal";
  EXPECT_TRUE(PathPattern::compile("/a/*/c").has_value());
  EXPECT_TRUE(PathPattern::compile("/a/*rest").has_value());
  EXPECT_TRUE(PathPattern::compile("/a/:id").has_value());
}

TEST(RouterPathPatternTest, wildcards_are_greedy_like_pcre) {
  auto p = PathPattern::compile("/*first/x/*second");
  ASSERT_TRUE(p.has_value());
  const std::string path = "/a/x/b/x/c";
  PathPattern::Params params;
  ASSERT_TRUE(p->match(path, params));
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0].first, "first");
  EXPECT_EQ(params[0].second, "a/x/b");
  EXPECT_EQ(params[1].second, "c");
}

TEST(RouterPathPatternTest, trailing_slash_of_the_route_is_required) {
  auto p = PathPattern::compile("/u/:id/");
  ASSERT_TRUE(p.has_value());
  PathPattern::Params params;
  EXPECT_TRUE(p->match("/u/1/", params));
  params.clear();
  EXPECT_FALSE(p->match("/u/1", params));
  EXPECT_TRUE(params.empty());
}

TEST(RouterPathPatternTest, failed_match_leaves_existing_params_untouched) {
  auto p = PathPattern::compile("/u/:id/z");
  ASSERT_TRUE(p.has_value());
  PathPattern::Params params{{"keep", "me"}};
  EXPECT_FALSE(p->match("/u/1/y", params));
  ASSERT_EQ(params.size(), 1u);
  EXPECT_EQ(params[0].first, "keep");
}

TEST(RouterPathPatternTest, many_wildcards_on_a_hostile_path_finish_quickly) {
  auto p = PathPattern::compile("/*a/*b/*c/*d/*e/end");
  ASSERT_TRUE(p.has_value());
  std::string hostile(20000, '/');  // over the memo's stack budget
  PathPattern::Params params;
  EXPECT_FALSE(p->match(hostile, params));
  EXPECT_TRUE(p->match("/1/2/3/4/5/end", params));
}

}  // namespace
}  // namespace torii::router
