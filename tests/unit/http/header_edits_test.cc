// HeaderEdits: set / add / remove semantics, the order heads get, reuse of
// entries across requests (clear()), and views into its own entries.
#include "http/header_edits.h"

#include <gtest/gtest.h>

#include <string>

namespace torii::http {
namespace {

std::string applied(const HeaderEdits& e) {
  std::string out;
  e.append_to(out);
  return out;
}

TEST(HeaderEditsTest, set_replaces_add_appends_remove_drops) {
  HeaderEdits e;
  e.add("X-A", "1");
  e.add("x-a", "2");
  EXPECT_EQ(applied(e), "X-A: 1\r\nx-a: 2\r\n");
  EXPECT_FALSE(e.drops("X-A"));  // adds keep the originals
  e.set("X-A", "3");             // replaces both adds
  EXPECT_EQ(applied(e), "X-A: 3\r\n");
  EXPECT_TRUE(e.drops("x-a"));
  bool decided = false;
  EXPECT_EQ(e.value("x-a", decided), "3");
  EXPECT_TRUE(decided);
  e.remove("X-A");
  EXPECT_EQ(applied(e), "");
  EXPECT_EQ(e.value("X-A", decided), std::nullopt);
  EXPECT_TRUE(decided);
  EXPECT_TRUE(e.drops("X-A"));
  e.add("X-A", "4");  // an add after a remove is kept
  EXPECT_EQ(applied(e), "X-A: 4\r\n");
  EXPECT_EQ(e.value("X-B", decided), std::nullopt);
  EXPECT_FALSE(decided);
}

TEST(HeaderEditsTest, clear_reuses_entries_and_forgets_them) {
  HeaderEdits e;
  e.set("X-RateLimit-Remaining", "99");
  e.set("X-Consumer-Username", "jack");
  e.clear();
  EXPECT_TRUE(e.empty());
  EXPECT_EQ(applied(e), "");
  EXPECT_FALSE(e.drops("X-RateLimit-Remaining"));
  e.set("X-RateLimit-Remaining", "98");
  EXPECT_EQ(applied(e), "X-RateLimit-Remaining: 98\r\n");
  EXPECT_EQ(e.edits().size(), 1u);
}

TEST(HeaderEditsTest, a_view_into_its_own_entries_is_copied_safely) {
  HeaderEdits e;
  e.set("X-Short", "v");  // short strings live inside the entry (no heap buffer)
  bool decided = false;
  for (int i = 0; i < 64; ++i) {  // grows the entry vector many times
    const std::string_view v = *e.value("X-Short", decided);
    e.add("X-Copy-" + std::to_string(i), v);
  }
  const std::string_view last = *e.value("X-Copy-63", decided);
  e.set("X-Short", last);  // replaces the entry the view came from
  EXPECT_EQ(*e.value("X-Short", decided), "v");
  EXPECT_EQ(*e.value("X-Copy-0", decided), "v");
}

// drops(), set() and value() skip names whose length no edit has; names
// that share a length (or a length modulo 64) are still told apart.
TEST(HeaderEditsTest, names_of_the_same_length_are_told_apart) {
  HeaderEdits e;
  const std::string long_name(67, 'y');  // 67 % 64 == 3, as "X-A"
  e.set("X-A", "1");
  EXPECT_TRUE(e.drops("x-a"));
  EXPECT_FALSE(e.drops("X-B"));
  EXPECT_FALSE(e.drops(long_name));
  EXPECT_FALSE(e.drops("X-AB"));
  e.add(long_name, "2");
  EXPECT_FALSE(e.drops(long_name));  // an add drops nothing
  e.set("X-B", "3");                 // same length as X-A: X-A stays
  EXPECT_EQ(applied(e), "X-A: 1\r\n" + long_name + ": 2\r\nX-B: 3\r\n");
  bool decided = true;
  EXPECT_EQ(e.value("X-C", decided), std::nullopt);
  EXPECT_FALSE(decided);
  EXPECT_EQ(e.value("X-Long", decided), std::nullopt);
  EXPECT_FALSE(decided);
  e.remove(long_name);
  EXPECT_TRUE(e.drops(long_name));
  EXPECT_EQ(applied(e), "X-A: 1\r\nX-B: 3\r\n");
}

}  // namespace
}  // namespace torii::http
