#include "net/send_now.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace torii::net {
namespace {

namespace asio = boost::asio;

struct SocketPair {
  int a = -1, b = -1;
  SocketPair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0) {
      a = fds[0];
      b = fds[1];
    }
  }
  ~SocketPair() {
    if (a >= 0) ::close(a);
    if (b >= 0) ::close(b);
  }
  std::string read_all_available() const {
    std::string got;
    char buf[65536];
    for (;;) {
      const ssize_t n = ::recv(b, buf, sizeof(buf), MSG_DONTWAIT);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    return got;
  }
};

TEST(SendNowTest, writes_a_gather_at_once_and_skips_empty_buffers) {
  SocketPair s;
  ASSERT_GE(s.a, 0);
  const std::vector<asio::const_buffer> bufs = {asio::buffer("GET / ", 6), asio::const_buffer(),
                                                asio::buffer("HTTP/1.1\r\n\r\n", 12)};
  const WriteProgress p = send_now(s.a, bufs);
  EXPECT_FALSE(p.error);
  EXPECT_EQ(p.total, 18u);
  EXPECT_EQ(p.written, 18u);
  EXPECT_TRUE(p.finished());
  EXPECT_EQ(s.read_all_available(), "GET / HTTP/1.1\r\n\r\n");
}

TEST(SendNowTest, nothing_to_write_is_finished) {
  SocketPair s;
  const std::vector<asio::const_buffer> bufs = {asio::const_buffer()};
  const WriteProgress p = send_now(s.a, bufs);
  EXPECT_TRUE(p.finished());
  EXPECT_EQ(p.written, 0u);
}

// A full send buffer is no error: the write stops where the socket did, and
// remaining_after() names exactly the bytes still to send.
TEST(SendNowTest, full_socket_buffer_reports_progress_not_an_error) {
  SocketPair s;
  int small = 4096;
  ::setsockopt(s.a, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
  std::string first(3000, 'a'), second(200000, 'b'), third(5000, 'c');
  const std::vector<asio::const_buffer> bufs = {asio::buffer(first), asio::buffer(second),
                                                asio::buffer(third)};
  WriteProgress p = send_now(s.a, bufs);
  EXPECT_FALSE(p.error);
  EXPECT_EQ(p.total, 208000u);
  ASSERT_LT(p.written, p.total);
  EXPECT_FALSE(p.finished());
  std::string got = s.read_all_available();
  // Drain and continue from where it stopped until everything went.
  std::vector<asio::const_buffer> rest;
  while (!p.finished()) {
    remaining_after(bufs, p.written, rest);
    const WriteProgress more = send_now(s.a, rest);
    ASSERT_FALSE(more.error);
    p.written += more.written;
    got += s.read_all_available();
  }
  EXPECT_EQ(got, first + second + third);
}

// sendmsg takes at most 64 buffers at once: the rest is left for a second
// call, from the right byte.
TEST(SendNowTest, more_than_64_buffers_go_in_several_calls_in_order) {
  SocketPair s;
  std::vector<std::string> pieces;
  for (int i = 0; i < 150; ++i) pieces.push_back(std::to_string(i) + ",");
  std::vector<asio::const_buffer> bufs;
  std::string expected;
  for (const auto& p : pieces) {
    bufs.push_back(asio::buffer(p));
    expected += p;
  }
  WriteProgress p = send_now(s.a, bufs);
  ASSERT_FALSE(p.error);
  EXPECT_EQ(p.total, expected.size());
  EXPECT_LT(p.written, p.total);
  std::vector<asio::const_buffer> rest;
  while (!p.finished()) {
    remaining_after(bufs, p.written, rest);
    const WriteProgress more = send_now(s.a, rest);
    ASSERT_FALSE(more.error);
    p.written += more.written;
  }
  EXPECT_EQ(s.read_all_available(), expected);
}

TEST(SendNowTest, a_closed_peer_is_an_error) {
  SocketPair s;
  ::close(s.b);
  s.b = -1;
  const std::vector<asio::const_buffer> bufs = {asio::buffer("x", 1)};
  const WriteProgress p = send_now(s.a, bufs);
  EXPECT_TRUE(p.error);
  EXPECT_TRUE(p.finished());
}

TEST(SendNowTest, remaining_after_skips_whole_and_partial_buffers) {
  const std::string a = "abc", b = "defg", c = "h";
  const std::vector<asio::const_buffer> bufs = {asio::buffer(a), asio::buffer(b), asio::buffer(c)};
  std::vector<asio::const_buffer> rest;
  auto joined = [&] {
    std::string s;
    for (const auto& r : rest) s.append(static_cast<const char*>(r.data()), r.size());
    return s;
  };
  remaining_after(bufs, 0, rest);
  EXPECT_EQ(joined(), "abcdefgh");
  remaining_after(bufs, 3, rest);
  EXPECT_EQ(joined(), "defgh");
  EXPECT_EQ(rest.size(), 2u);
  remaining_after(bufs, 5, rest);
  EXPECT_EQ(joined(), "fgh");
  remaining_after(bufs, 8, rest);
  EXPECT_TRUE(rest.empty());
}

}  // namespace
}  // namespace torii::net
