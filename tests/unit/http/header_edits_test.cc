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

}  // namespace
}  // namespace torii::http
