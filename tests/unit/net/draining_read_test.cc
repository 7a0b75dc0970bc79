#include "net/draining_read.h"

#include <dlfcn.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <unistd.h>

#include <optional>
#include <string>

// Counts recv() calls on one descriptor: the reads asio makes for us. This
// binary's own recv() comes first in symbol lookup and forwards to libc's.
namespace {
int g_counted_fd = -1;
int g_recv_calls = 0;
}  // namespace

extern "C" ssize_t recv(int fd, void* buf, size_t n, int flags) {
  using RecvFn = ssize_t (*)(int, void*, size_t, int);
  static const auto real = reinterpret_cast<RecvFn>(dlsym(RTLD_NEXT, "recv"));
  if (fd == g_counted_fd) ++g_recv_calls;
  return real(fd, buf, n, flags);
}

namespace torii::net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

struct Read {
  std::optional<boost::system::error_code> ec;
  size_t n = 0;
};

class DrainingReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(ctx_, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    writer_.connect(acceptor.local_endpoint());
    acceptor.accept(reader_);
    reader_.non_blocking(true);
    g_counted_fd = reader_.native_handle();
    g_recv_calls = 0;
  }
  void TearDown() override { g_counted_fd = -1; }

  // Starts a read into buf_ (`size` bytes); the result lands in `out`.
  template <class Buffers>
  void start(const Buffers& buffers, Read& out) {
    reader_.async_read_some(buffers, [&out](boost::system::error_code ec, size_t n) {
      out.ec = ec;
      out.n = n;
    });
  }
  void start_draining(size_t size, Read& out) { start(draining_buffer(buf_, size), out); }
  void send(const std::string& s) { asio::write(writer_, asio::buffer(s)); }
  // Runs handlers until `r` completed (bounded: the loopback delivers at once).
  void run_until_done(const Read& r) {
    for (int i = 0; i < 1000 && !r.ec; ++i) run_once();
  }
  // One handler or 10 ms; restart() first: a run that found no work left
  // stops the context.
  void run_once() {
    ctx_.restart();
    ctx_.run_one_for(std::chrono::milliseconds(10));
  }
  void poll() {
    ctx_.restart();
    ctx_.poll();
  }

  asio::io_context ctx_;
  tcp::socket reader_{ctx_};
  tcp::socket writer_{ctx_};
  char buf_[1024];
};

#if TORII_DRAINING_READ

TEST_F(DrainingReadTest, after_a_short_read_the_next_read_waits_without_trying) {
  send("hello");
  Read first;
  start_draining(sizeof(buf_), first);
  run_until_done(first);
  ASSERT_TRUE(first.ec);
  EXPECT_FALSE(*first.ec);
  EXPECT_EQ(first.n, 5u);
  EXPECT_EQ(g_recv_calls, 1);

  // Nothing to read: the read is queued for the next edge, no recv() made.
  Read second;
  start_draining(sizeof(buf_), second);
  poll();
  EXPECT_FALSE(second.ec);
  EXPECT_EQ(g_recv_calls, 1);

  send("world!");
  run_until_done(second);
  ASSERT_TRUE(second.ec);
  EXPECT_FALSE(*second.ec);
  EXPECT_EQ(std::string(buf_, second.n), "world!");
  EXPECT_EQ(g_recv_calls, 2);
}

// The same exchange through asio's own buffer: a failed recv() (EAGAIN)
// before every wait. This is what the draining read removes.
TEST_F(DrainingReadTest, asio_plain_reads_try_and_fail_before_waiting) {
  send("hello");
  Read first;
  start(asio::buffer(buf_), first);
  run_until_done(first);
  ASSERT_EQ(first.n, 5u);
  Read second;
  start(asio::buffer(buf_), second);
  poll();
  EXPECT_FALSE(second.ec);
  EXPECT_EQ(g_recv_calls, 2);
  send("world!");
  run_until_done(second);
  EXPECT_EQ(second.n, 6u);
  EXPECT_EQ(g_recv_calls, 3);
}

#endif  // TORII_DRAINING_READ

// Bytes that arrive after a short read, while no read is waiting, must not
// be lost: their edge re-arms the reactor, so the next read finds them.
TEST_F(DrainingReadTest, bytes_arriving_between_reads_are_read) {
  send("one");
  Read first;
  start_draining(sizeof(buf_), first);
  run_until_done(first);
  ASSERT_EQ(first.n, 3u);

  send("two");
  // Let the reactor see the edge while no read is queued.
  for (int i = 0; i < 5; ++i) run_once();

  Read second;
  start_draining(sizeof(buf_), second);
  run_until_done(second);
  ASSERT_TRUE(second.ec);
  EXPECT_FALSE(*second.ec);
  EXPECT_EQ(std::string(buf_, second.n), "two");
}

// A read that fills its buffer leaves the socket possibly non-empty: the
// next read tries at once and gets the rest.
TEST_F(DrainingReadTest, a_full_read_lets_the_next_read_try_at_once) {
  send(std::string(1500, 'x'));
  // Both halves are queued before the first read.
  ::usleep(20000);
  Read first;
  start_draining(1000, first);
  run_until_done(first);
  ASSERT_EQ(first.n, 1000u);
  Read second;
  start_draining(sizeof(buf_), second);
  run_until_done(second);
  ASSERT_TRUE(second.ec);
  EXPECT_EQ(second.n, 500u);
}

TEST_F(DrainingReadTest, end_of_stream_reads_as_eof) {
  send("last");
  writer_.shutdown(tcp::socket::shutdown_send);
  std::string got;
  for (int i = 0; i < 3; ++i) {
    Read r;
    start_draining(sizeof(buf_), r);
    run_until_done(r);
    ASSERT_TRUE(r.ec);
    if (*r.ec) {
      EXPECT_EQ(*r.ec, asio::error::eof);
      EXPECT_EQ(got, "last");
      return;
    }
    got.append(buf_, r.n);
  }
  ADD_FAILURE() << "no end of stream after " << got;
}

// Cancelling the socket (a deadline) aborts a read queued for the next edge.
TEST_F(DrainingReadTest, a_waiting_read_is_cancelled_with_the_socket) {
  send("x");
  Read first;
  start_draining(sizeof(buf_), first);
  run_until_done(first);
  Read second;
  start_draining(sizeof(buf_), second);
  poll();
  reader_.cancel();
  run_until_done(second);
  ASSERT_TRUE(second.ec);
  EXPECT_EQ(*second.ec, asio::error::operation_aborted);
}

}  // namespace
}  // namespace torii::net
