// InputBuffer: growth within a limit, exact reservation, releasing the
// front (pipelined leftovers), truncation and shrinking of idle buffers,
// always preserving the bytes still held.
#include "core/buffer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace torii::core {
namespace {

void append(InputBuffer& b, std::string_view s) {
  ASSERT_GE(b.free_space(), s.size());
  std::memcpy(b.write_area().data(), s.data(), s.size());
  b.commit(s.size());
}

std::string content(const InputBuffer& b) { return std::string(b.view(0, b.size())); }

TEST(CoreBufferTest, starts_empty_with_the_initial_capacity) {
  InputBuffer b(64);
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(b.capacity(), 64u);
  EXPECT_EQ(b.free_space(), 64u);
  EXPECT_EQ(b.write_area().size(), 64u);
}

TEST(CoreBufferTest, commit_makes_bytes_readable) {
  InputBuffer b(16);
  append(b, "hello");
  append(b, " world");
  EXPECT_EQ(content(b), "hello world");
  EXPECT_EQ(b.free_space(), 5u);
  EXPECT_EQ(b.write_area().size(), 5u);
}

TEST(CoreBufferTest, grow_doubles_and_preserves_content) {
  InputBuffer b(8);
  append(b, "abcdefgh");
  EXPECT_TRUE(b.write_area().empty());
  ASSERT_TRUE(b.grow(1024));
  EXPECT_EQ(b.capacity(), 16u);
  EXPECT_EQ(content(b), "abcdefgh");
  append(b, "ijkl");
  EXPECT_EQ(content(b), "abcdefghijkl");
}

TEST(CoreBufferTest, grow_is_capped_at_the_limit) {
  InputBuffer b(8);
  append(b, "12345678");
  ASSERT_TRUE(b.grow(12));
  EXPECT_EQ(b.capacity(), 12u);
  EXPECT_FALSE(b.grow(12));
  EXPECT_EQ(b.capacity(), 12u);
  EXPECT_EQ(content(b), "12345678");
}

TEST(CoreBufferTest, grow_before_first_use) {
  InputBuffer b(4);
  ASSERT_TRUE(b.grow(100));
  EXPECT_EQ(b.capacity(), 8u);
  append(b, "12345678");
  EXPECT_EQ(content(b), "12345678");
}

TEST(CoreBufferTest, reserve_grows_to_exactly_the_request) {
  InputBuffer b(8);
  append(b, "abc");
  b.reserve(100);
  EXPECT_EQ(b.capacity(), 100u);
  EXPECT_EQ(content(b), "abc");
  b.reserve(50);  // never shrinks
  EXPECT_EQ(b.capacity(), 100u);
  EXPECT_EQ(content(b), "abc");
}

TEST(CoreBufferTest, consume_front_moves_the_rest_to_the_front) {
  InputBuffer b(32);
  append(b, "first|second");
  b.consume_front(6);
  EXPECT_EQ(content(b), "second");
  EXPECT_EQ(b.free_space(), 26u);
  append(b, "+more");
  EXPECT_EQ(content(b), "second+more");
}

TEST(CoreBufferTest, consume_front_of_everything_empties) {
  InputBuffer b(16);
  append(b, "abc");
  b.consume_front(3);
  EXPECT_EQ(b.size(), 0u);
  append(b, "x");
  b.consume_front(100);
  EXPECT_EQ(b.size(), 0u);
}

TEST(CoreBufferTest, consume_front_zero_keeps_everything) {
  InputBuffer b(16);
  append(b, "abc");
  b.consume_front(0);
  EXPECT_EQ(content(b), "abc");
}

TEST(CoreBufferTest, truncate_forgets_the_tail) {
  InputBuffer b(16);
  append(b, "head+body");
  b.truncate(4);
  EXPECT_EQ(content(b), "head");
  append(b, "!");
  EXPECT_EQ(content(b), "head!");
}

TEST(CoreBufferTest, shrink_if_larger_only_when_empty) {
  InputBuffer b(8);
  append(b, "12345678");
  ASSERT_TRUE(b.grow(64));
  ASSERT_TRUE(b.grow(64));
  EXPECT_EQ(b.capacity(), 32u);
  b.shrink_if_larger(8);  // holds bytes: must keep them
  EXPECT_EQ(b.capacity(), 32u);
  EXPECT_EQ(content(b), "12345678");

  b.consume_front(8);
  b.shrink_if_larger(8);
  EXPECT_EQ(b.capacity(), 8u);
  EXPECT_EQ(b.size(), 0u);
  append(b, "again");
  EXPECT_EQ(content(b), "again");
}

TEST(CoreBufferTest, shrink_if_larger_keeps_a_small_buffer) {
  InputBuffer b(8);
  b.shrink_if_larger(16);
  EXPECT_EQ(b.capacity(), 8u);
}


TEST(CoreBufferTest, large_content_survives_many_grows) {
  InputBuffer b(4);
  std::string expected;
  for (int i = 0; i < 1000; ++i) {
    const std::string chunk = std::to_string(i) + ",";
    while (b.free_space() < chunk.size()) ASSERT_TRUE(b.grow(1 << 20));
    append(b, chunk);
    expected += chunk;
  }
  EXPECT_EQ(content(b), expected);
}

}  // namespace
}  // namespace torii::core
