// RadixTree: longest-first enumeration of stored prefixes.
#include "router/radix_tree.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace torii::router {
namespace {

std::vector<uint32_t> prefixes_of(const RadixTree& t, std::string_view s) {
  std::vector<uint32_t> out;
  for (uint32_t n = t.longest_prefix(ForwardKey{s}); n != RadixTree::kNone; n = t.shorter(n)) {
    out.push_back(t.value(n));
  }
  return out;
}

TEST(RouterRadixTreeTest, stored_prefixes_come_back_longest_first) {
  RadixTree t;
  t.insert("/api/v1/", 3);
  t.insert("/", 1);
  t.insert("/api/", 2);
  t.insert("/apx", 4);
  t.insert("/api/v1/users", 5);
  t.finish();
  EXPECT_EQ(prefixes_of(t, "/api/v1/users/7"), (std::vector<uint32_t>{5, 3, 2, 1}));
  EXPECT_EQ(prefixes_of(t, "/api/v2"), (std::vector<uint32_t>{2, 1}));
  EXPECT_EQ(prefixes_of(t, "/apx"), (std::vector<uint32_t>{4, 1}));
  EXPECT_EQ(prefixes_of(t, "/ap"), (std::vector<uint32_t>{1}));
  EXPECT_EQ(prefixes_of(t, "x"), (std::vector<uint32_t>{}));
}

TEST(RouterRadixTreeTest, inserting_an_existing_key_keeps_its_value) {
  RadixTree t;
  EXPECT_EQ(t.insert("/a", 1), 1u);
  EXPECT_EQ(t.insert("/a", 2), 1u);
  EXPECT_EQ(t.insert("", 7), 7u);
  t.finish();
  EXPECT_EQ(prefixes_of(t, "/ab"), (std::vector<uint32_t>{1, 7}));
}

TEST(RouterRadixTreeTest, reversed_key_walks_from_the_end) {
  RadixTree t;
  t.insert("moc.elpmaxe.", 1);
  t.insert("moc.", 2);
  t.finish();
  std::vector<uint32_t> out;
  for (uint32_t n = t.longest_prefix(ReversedKey{"a.example.com"}); n != RadixTree::kNone;
       n = t.shorter(n)) {
    out.push_back(t.value(n));
  }
  EXPECT_EQ(out, (std::vector<uint32_t>{1, 2}));
}

}  // namespace
}  // namespace torii::router
