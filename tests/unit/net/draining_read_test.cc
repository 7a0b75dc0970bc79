// Draining reads (net/draining_read.h) on real loopback TCP sockets: no
// failed read before a wait, and nothing lost or held back: bytes arriving
// between reads, the rest of a read that filled its buffer, an end of
// stream that came with the last bytes, a cancelled wait. And
// may_have_input(), the no-syscall check built on the same flag.
//
// A binary of its own (tests/CMakeLists.txt): it replaces recv(),
// recvmsg() and syscall() (net/nocancel.h reads through it) to count the
// reads made on the socket under test.
#include "net/draining_read.h"

#include <dlfcn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdarg>

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/buffer.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <optional>
#include <string>

namespace {
std::atomic<int> g_counted_fd{-1};
std::atomic<int> g_reads{0};

void count(int fd) {
  if (fd == g_counted_fd.load(std::memory_order_relaxed))
    g_reads.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

// This binary's own definitions come first in symbol lookup; both forward
// to libc's.
extern "C" ssize_t recv(int fd, void* buf, size_t n, int flags) {
  using Fn = ssize_t (*)(int, void*, size_t, int);
  static const auto real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "recv"));
  count(fd);
  return real(fd, buf, n, flags);
}

extern "C" ssize_t recvmsg(int fd, msghdr* msg, int flags) {
  using Fn = ssize_t (*)(int, msghdr*, int);
  static const auto real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "recvmsg"));
  count(fd);
  return real(fd, msg, flags);
}

// syscall(2) takes up to six register arguments; reading six is what
// glibc's own wrapper does, whatever the call passed.
extern "C" long syscall(long number, ...) noexcept {
  va_list ap;
  va_start(ap, number);
  long a[6];
  for (long& x : a) x = va_arg(ap, long);
  va_end(ap);
  using Fn = long (*)(long, ...);
  static const auto real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "syscall"));
  if (number == SYS_recvmsg || number == SYS_recvfrom) count(static_cast<int>(a[0]));
  return real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
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
    ASSERT_TRUE(enable_drain_hint(reader_.native_handle()));
    g_counted_fd = reader_.native_handle();
    g_reads = 0;
  }
  void TearDown() override { g_counted_fd = -1; }

  // Starts a read; the result lands in `out`.
  template <class Buffers>
  void start(const Buffers& buffers, Read& out) {
    reader_.async_read_some(buffers, [&out](boost::system::error_code ec, size_t n) {
      out.ec = ec;
      out.n = n;
    });
  }
  void start_draining(size_t size, Read& out) { start(draining_buffer(buf_, size), out); }
  void send(const std::string& s) { asio::write(writer_, asio::buffer(s)); }
  // Runs handlers until `r` completed, for at most about 2 s (the loopback
  // delivers at once; a lost wake-up shows as a read that never completes).
  void run_until_done(const Read& r) {
    for (int i = 0; i < 200 && !r.ec; ++i) run_once();
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
  // Lets the reactor wait on epoll and process what it reports, with no
  // operation queued (a context without work would not wait at all).
  void let_the_reactor_poll() {
    auto work = asio::make_work_guard(ctx_);
    for (int i = 0; i < 5; ++i) run_once();
  }

  asio::io_context ctx_;
  TcpSocket reader_{ctx_};
  tcp::socket writer_{ctx_};
  char buf_[1024];
};

#if TORII_DRAINING_READ

TEST_F(DrainingReadTest, after_draining_the_socket_the_next_read_waits_without_trying) {
  send("hello");
  Read first;
  start_draining(sizeof(buf_), first);
  run_until_done(first);
  ASSERT_TRUE(first.ec);
  EXPECT_FALSE(*first.ec);
  EXPECT_EQ(first.n, 5u);
  EXPECT_EQ(g_reads, 1);

  // Nothing to read: the read is queued for the next edge, no recvmsg().
  Read second;
  start_draining(sizeof(buf_), second);
  poll();
  EXPECT_FALSE(second.ec);
  EXPECT_EQ(g_reads, 1);

  send("world!");
  run_until_done(second);
  ASSERT_TRUE(second.ec);
  EXPECT_FALSE(*second.ec);
  EXPECT_EQ(std::string(buf_, second.n), "world!");
  EXPECT_EQ(g_reads, 2);
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
  EXPECT_EQ(g_reads, 2);
  send("world!");
  run_until_done(second);
  EXPECT_EQ(second.n, 6u);
  EXPECT_EQ(g_reads, 3);
}

#endif  // TORII_DRAINING_READ

// Bytes that arrive after a read drained the socket, while no read is
// waiting, must not be lost: their edge re-arms the reactor, so the next
// read finds them.
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

// A read that leaves bytes behind must not mark the socket drained: the
// bytes arrive in one edge, which the first read consumes, so the second
// read only gets them by trying at once.
TEST_F(DrainingReadTest, bytes_left_behind_are_read_without_a_new_edge) {
  Read first;
  start_draining(1000, first);
  poll();  // queued: nothing to read yet
  send(std::string(1500, 'x'));
  run_until_done(first);
  ASSERT_TRUE(first.ec);
  ASSERT_EQ(first.n, 1000u);
  Read second;
  start_draining(sizeof(buf_), second);
  run_until_done(second);
  ASSERT_TRUE(second.ec) << "the 500 bytes left behind were never read";
  EXPECT_FALSE(*second.ec);
  EXPECT_EQ(second.n, 500u);
}

// The peer's last bytes and its FIN in one edge: the read that takes the
// bytes does not drain the socket (the end of stream is still to be read),
// so the next read reports it at once.
TEST_F(DrainingReadTest, an_end_of_stream_that_came_with_the_last_bytes_is_read) {
  Read first;
  start_draining(sizeof(buf_), first);
  poll();  // queued before anything arrives
  send("last");
  writer_.shutdown(tcp::socket::shutdown_send);
  run_until_done(first);
  ASSERT_TRUE(first.ec);
  EXPECT_FALSE(*first.ec);
  EXPECT_EQ(std::string(buf_, first.n), "last");
  Read second;
  start_draining(sizeof(buf_), second);
  run_until_done(second);
  ASSERT_TRUE(second.ec) << "the end of stream was never reported";
  EXPECT_EQ(*second.ec, asio::error::eof);
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

// Without the kernel's hint the reads are asio's: correct, trying first.
TEST_F(DrainingReadTest, without_the_hint_reads_behave_as_asio) {
  const int off = 0;
  ASSERT_EQ(::setsockopt(reader_.native_handle(), IPPROTO_TCP, TCP_INQ, &off, sizeof(off)), 0);
  send("hello");
  Read first;
  start_draining(sizeof(buf_), first);
  run_until_done(first);
  ASSERT_EQ(first.n, 5u);
  Read second;
  start_draining(sizeof(buf_), second);
  poll();
  EXPECT_EQ(g_reads, 2);  // tried, found nothing, waits
  send("again");
  run_until_done(second);
  EXPECT_EQ(std::string(buf_, second.n), "again");
}

#if TORII_DRAINING_READ

// may_have_input() answers from the reactor's flag: false only between a
// read that emptied the socket and the next edge the reactor processes.
TEST_F(DrainingReadTest, may_have_input_is_false_only_while_drained_and_quiet) {
  EXPECT_TRUE(may_have_input(reader_)) << "a socket never read may hold anything";
  send("hello");
  Read first;
  start_draining(sizeof(buf_), first);
  run_until_done(first);
  ASSERT_EQ(first.n, 5u);
  EXPECT_FALSE(may_have_input(reader_)) << "the read emptied the socket";
  const int reads = g_reads;
  EXPECT_FALSE(may_have_input(reader_));
  EXPECT_EQ(g_reads, reads) << "asking made a read";

  send("unasked");
  let_the_reactor_poll();
  EXPECT_TRUE(may_have_input(reader_)) << "bytes came after the drain";
  Read second;
  start_draining(sizeof(buf_), second);
  run_until_done(second);
  ASSERT_EQ(std::string(buf_, second.n), "unasked");
  EXPECT_FALSE(may_have_input(reader_));

  writer_.shutdown(tcp::socket::shutdown_send);
  let_the_reactor_poll();
  EXPECT_TRUE(may_have_input(reader_)) << "the peer's end came after the drain";
}

TEST_F(DrainingReadTest, may_have_input_is_true_after_a_read_that_left_bytes) {
  Read first;
  start_draining(100, first);
  poll();
  send(std::string(300, 'x'));
  run_until_done(first);
  ASSERT_EQ(first.n, 100u);
  EXPECT_TRUE(may_have_input(reader_));
}

TEST_F(DrainingReadTest, may_have_input_is_true_after_asio_own_reads_and_once_closed) {
  send("hello");
  Read first;
  start(asio::buffer(buf_, sizeof(buf_)), first);
  run_until_done(first);
  ASSERT_EQ(first.n, 5u);
  EXPECT_TRUE(may_have_input(reader_)) << "asio's own read never says the socket is empty";
  reader_.close();
  EXPECT_TRUE(may_have_input(reader_));
}

#endif  // TORII_DRAINING_READ

}  // namespace
}  // namespace torii::net
