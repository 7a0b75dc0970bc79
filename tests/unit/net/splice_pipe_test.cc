#include "net/splice_pipe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <csignal>
#include <string>

namespace torii::net {
namespace {

// A connected pair of loopback TCP sockets, non-blocking: what splice(2)
// moves between in production (an upstream and a client connection).
struct TcpPair {
  int a = -1, b = -1;
  TcpPair() {
    const int l = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (::bind(l, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(l, 1) != 0 ||
        ::getsockname(l, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ::close(l);
      return;
    }
    a = ::socket(AF_INET, SOCK_STREAM, 0);
    if (::connect(a, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) b = ::accept(l, nullptr, nullptr);
    ::close(l);
    for (int fd : {a, b}) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  ~TcpPair() {
    if (a >= 0) ::close(a);
    if (b >= 0) ::close(b);
  }
};

bool send_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string recv_available(int fd) {
  std::string got;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + i / 251) & 0xff);
  return s;
}

TEST(SplicePipe, MovesBytesFromOneSocketToAnotherIntact) {
  TcpPair up, client;
  ASSERT_GE(up.b, 0);
  ASSERT_GE(client.b, 0);
  auto pipe = SplicePipe::open(PipePool::kPipeCapacity);
  ASSERT_NE(pipe, nullptr);
  EXPECT_GE(pipe->capacity(), 65536u);
  const std::string body = pattern(40000);
  ASSERT_TRUE(send_all(up.a, body));
  std::string got;
  size_t left = body.size();
  for (int i = 0; i < 1000 && got.size() < body.size(); ++i) {
    const SpliceStep in = pipe->fill(up.b, left);
    if (in.result == SpliceStep::Result::kMoved) left -= in.bytes;
    const SpliceStep out = pipe->drain(client.a);
    ASSERT_NE(out.result, SpliceStep::Result::kFailed);
    got += recv_available(client.b);
  }
  EXPECT_EQ(left, 0u);
  EXPECT_EQ(pipe->buffered(), 0u);
  EXPECT_TRUE(got == body);
}

TEST(SplicePipe, FillTakesNoMoreThanAskedOrThanFits) {
  TcpPair up;
  auto pipe = SplicePipe::open(PipePool::kPipeCapacity);
  ASSERT_NE(pipe, nullptr);
  ASSERT_TRUE(send_all(up.a, pattern(5000)));
  SpliceStep s = pipe->fill(up.b, 1000);
  for (int i = 0; i < 100 && s.result == SpliceStep::Result::kWouldBlock; ++i) {
    ::usleep(1000);
    s = pipe->fill(up.b, 1000);
  }
  ASSERT_EQ(s.result, SpliceStep::Result::kMoved);
  EXPECT_LE(s.bytes, 1000u);
  EXPECT_EQ(pipe->buffered(), s.bytes);
  EXPECT_EQ(pipe->room(), pipe->capacity() - s.bytes);
  // Asking for nothing moves nothing and is no error.
  EXPECT_EQ(pipe->fill(up.b, 0).result, SpliceStep::Result::kWouldBlock);
}

TEST(SplicePipe, AnEmptySocketWouldBlockAndAClosedOneEnds) {
  TcpPair up;
  auto pipe = SplicePipe::open(PipePool::kPipeCapacity);
  ASSERT_NE(pipe, nullptr);
  EXPECT_EQ(pipe->fill(up.b, 4096).result, SpliceStep::Result::kWouldBlock);
  ::shutdown(up.a, SHUT_WR);
  SpliceStep s = pipe->fill(up.b, 4096);
  for (int i = 0; i < 100 && s.result == SpliceStep::Result::kWouldBlock; ++i) {
    ::usleep(1000);
    s = pipe->fill(up.b, 4096);
  }
  EXPECT_EQ(s.result, SpliceStep::Result::kEndOfStream);
  EXPECT_EQ(pipe->buffered(), 0u);
}

TEST(SplicePipe, DrainWaitsForAFullSocketAndFailsOnAClosedOne) {
  std::signal(SIGPIPE, SIG_IGN);  // as main() does: EPIPE comes back as an error
  TcpPair up, client;
  auto pipe = SplicePipe::open(PipePool::kPipeCapacity);
  ASSERT_NE(pipe, nullptr);
  const int small = 4096;
  ::setsockopt(client.a, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
  ::setsockopt(client.b, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  // Keep the upstream sending, fill the pipe and drain it until the client
  // socket is full (nobody reads it).
  const std::string chunk = pattern(65536);
  bool blocked = false;
  for (int i = 0; i < 10000 && !blocked; ++i) {
    (void)::send(up.a, chunk.data(), chunk.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    pipe->fill(up.b, chunk.size());
    const SpliceStep out = pipe->drain(client.a);
    ASSERT_NE(out.result, SpliceStep::Result::kFailed);
    blocked = out.result == SpliceStep::Result::kWouldBlock;
  }
  ASSERT_TRUE(blocked);
  const size_t held = pipe->buffered();
  EXPECT_GT(held, 0u);
  // The client goes away: the next drain fails and the bytes stay in the pipe.
  ::close(client.b);
  client.b = -1;
  SpliceStep out = pipe->drain(client.a);
  for (int i = 0; i < 100 && out.result != SpliceStep::Result::kFailed; ++i) {
    ::usleep(1000);
    out = pipe->drain(client.a);
  }
  EXPECT_EQ(out.result, SpliceStep::Result::kFailed);
  EXPECT_TRUE(out.error == EPIPE || out.error == ECONNRESET) << out.error;
}

TEST(PipePool, KeepsEmptyPipesAndClosesOnesHoldingBytes) {
  PipePool pool;
  auto p = pool.acquire();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(pool.in_use(), 1u);
  const SplicePipe* first = p.get();
  pool.release(std::move(p));
  EXPECT_EQ(pool.idle(), 1u);
  EXPECT_EQ(pool.in_use(), 0u);
  auto again = pool.acquire();
  EXPECT_EQ(again.get(), first) << "an idle pipe is reused";
  EXPECT_EQ(pool.idle(), 0u);

  TcpPair up;
  ASSERT_TRUE(send_all(up.a, "leftover"));
  SpliceStep s = again->fill(up.b, 100);
  for (int i = 0; i < 100 && s.result == SpliceStep::Result::kWouldBlock; ++i) {
    ::usleep(1000);
    s = again->fill(up.b, 100);
  }
  ASSERT_EQ(s.result, SpliceStep::Result::kMoved);
  pool.release(std::move(again));
  EXPECT_EQ(pool.idle(), 0u) << "a pipe with bytes of a failed transfer must not be reused";
}

TEST(PipePool, UnsupportedSpliceSwitchesThePoolOff) {
  PipePool pool;
  pool.release(pool.acquire());
  EXPECT_TRUE(pool.available());
  pool.mark_unsupported(EINVAL);
  EXPECT_FALSE(pool.available());
  EXPECT_EQ(pool.idle(), 0u);
  EXPECT_TRUE(splice_unsupported(EINVAL));
  EXPECT_TRUE(splice_unsupported(ENOSYS));
  EXPECT_FALSE(splice_unsupported(ECONNRESET));
  EXPECT_FALSE(splice_unsupported(EPIPE));
}

}  // namespace
}  // namespace torii::net
