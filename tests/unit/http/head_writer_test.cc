#include "http/head_writer.h"

#include <gtest/gtest.h>

#include <string>

namespace torii::http {
namespace {

TEST(HeadWriterTest, writes_pieces_fields_and_numbers_then_trims) {
  std::string out;
  {
    HeadWriter w(out, 256);
    w.put("HTTP/1.1 ").put_uint(200).put(" OK\r\n");
    w.field("Content-Length", "1024").field("X-Empty", "");
    w.put("\r\n");
    EXPECT_EQ(w.written(), 52u);
    w.finish();
  }
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Length: 1024\r\nX-Empty: \r\n\r\n");
}

TEST(HeadWriterTest, keeps_what_the_string_held_before) {
  std::string out = "GET / HTTP/1.1\r\n";
  HeadWriter w(out, 8);
  w.field("Host", "a");
  w.finish();
  EXPECT_EQ(out, "GET / HTTP/1.1\r\nHost: a\r\n");
}

// The estimate is a hint: pieces beyond it grow the string, whatever their
// size, and nothing written earlier is lost.
TEST(HeadWriterTest, grows_past_a_wrong_estimate) {
  std::string out;
  std::string expected;
  HeadWriter w(out, 0);
  for (int i = 0; i < 500; ++i) {
    const std::string value(static_cast<size_t>(i % 97), static_cast<char>('a' + i % 26));
    w.field("X-Header-" + std::to_string(i), value);
    w.put_uint(static_cast<uint64_t>(i) * 1000003u);
    expected += "X-Header-" + std::to_string(i) + ": " + value + "\r\n" +
                std::to_string(static_cast<uint64_t>(i) * 1000003u);
  }
  const std::string big(100000, 'z');
  w.put(big);
  expected += big;
  EXPECT_EQ(w.written(), expected.size());
  w.finish();
  EXPECT_EQ(out, expected);
}

TEST(HeadWriterTest, writes_the_largest_numbers) {
  std::string out;
  HeadWriter w(out, 4);
  w.put_uint(0).put(" ").put_uint(UINT64_MAX);
  w.finish();
  EXPECT_EQ(out, "0 18446744073709551615");
}

}  // namespace
}  // namespace torii::http
