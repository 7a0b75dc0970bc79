// Ends of stream that arrive together with the last bytes, through the real
// binary. Reads that drained a socket wait for the next epoll edge without
// trying (net/draining_read.h); a FIN that came with the last bytes raises
// no further edge, so these check that it is still read at once: a body
// that ends with the upstream's close is finished, and a client that
// half-closes after its request gets its answer and the connection's end,
// long before any timeout the test configures.
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

#include "harness.h"
#include "http_wire.h"
#include "test_server.h"

namespace torii::testing {
namespace {

using namespace std::chrono_literals;
using wire::Conn;

// An upstream that answers with a body delimited by its close (no
// Content-Length, no chunking): the head and the first part, then, once
// torii is waiting for more, the last part and the FIN back to back, or,
// with `reset`, the last part and a reset (RST).
class CloseDelimitedUpstream {
 public:
  explicit CloseDelimitedUpstream(bool reset = false)
      : reset_(reset), server_([this](TestConn& c) { serve(c); }) {}
  ~CloseDelimitedUpstream() { server_.stop(); }
  std::string node() const { return "127.0.0.1:" + std::to_string(server_.port()); }

  static constexpr const char* kFirst = "first part, ";
  static constexpr const char* kLast = "last part";

 private:
  void serve(TestConn& c) {
    std::string buf, head;
    if (!wire::read_request_head(c.fd(), buf, head)) return;
    if (head.find(" /__torii_ready ") != std::string::npos) {
      c.send_all("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      return;
    }
    if (!c.send_all(std::string("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n") + kFirst)) {
      return;
    }
    std::this_thread::sleep_for(200ms);  // torii reads the first part and waits
    c.send_all(kLast);
    if (reset_) {
      // On loopback the bytes are in torii's queue when send() returns; a
      // zero linger turns TestServer's close, as this returns, into a reset
      // right behind them.
      const linger zero{1, 0};
      ::setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &zero, sizeof(zero));
    } else {
      ::shutdown(c.fd(), SHUT_WR);  // the FIN right behind the last bytes
    }
  }

  bool reset_;
  TestServer server_;
};

TEST(EndOfStream, ABodyEndingWithTheUpstreamCloseIsFinishedAtOnce) {
  CloseDelimitedUpstream up;
  // A read timeout far longer than the test waits: the response must end
  // because the upstream closed, not because torii gave up waiting.
  Torii t(
      "routes:\n  - id: r1\n    uri: \"/*\"\n    upstream:\n      timeout:\n"
      "        connect: 5\n        send: 5\n        read: 60\n      nodes:\n        \"" +
          up.node() + "\": 1\n",
      "", 1);
  for (int i = 0; i < 3; ++i) {
    Conn c(t.port());
    ASSERT_TRUE(c.send("GET /stream HTTP/1.1\r\nHost: a\r\n\r\n"));
    const auto r = c.read_response(15s);
    ASSERT_TRUE(r) << "no complete response; pending: " << c.pending();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, std::string(CloseDelimitedUpstream::kFirst) + CloseDelimitedUpstream::kLast);
  }
  EXPECT_EQ(t.error_log().find("mid-response"), std::string::npos) << t.error_log();
}

// A reset that comes with the last bytes of such a body ends the response
// at once (as an upstream failure), not when timeout.read runs out.
TEST(EndOfStream, ABodyCutByAResetEndsAtOnce) {
  CloseDelimitedUpstream up(/*reset=*/true);
  Torii t(
      "routes:\n  - id: r1\n    uri: \"/*\"\n    upstream:\n      timeout:\n"
      "        connect: 5\n        send: 5\n        read: 60\n      nodes:\n        \"" +
          up.node() + "\": 1\n",
      "", 1);
  Conn c(t.port());
  ASSERT_TRUE(c.send("GET /cut HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_TRUE(c.closed_within(15s)) << "the cut response did not end; pending: " << c.pending();
  EXPECT_NE(c.pending().find(CloseDelimitedUpstream::kFirst), std::string::npos) << c.pending();
  EXPECT_TRUE(wait_until(
      [&] { return t.error_log().find("failed mid-response") != std::string::npos; }, 5s))
      << t.error_log();
  EXPECT_EQ(t.error_log().find("timed out"), std::string::npos) << t.error_log();
}

TEST(EndOfStream, AClientThatHalfClosesGetsItsAnswerAndTheEnd) {
  TestServer up([](TestConn& c) {
    std::string buf, head;
    while (wire::read_request_head(c.fd(), buf, head)) {
      if (!c.send_all("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")) return;
    }
  });
  // Keep-alive far longer than the test waits: the connection must end
  // because the client's FIN was read.
  Torii t(
      "routes:\n  - id: r1\n    uri: \"/*\"\n    upstream:\n      nodes:\n        \"127.0.0.1:" +
          std::to_string(up.port()) + "\": 1\n",
      "nginx_config:\n  http:\n    keepalive_timeout: 300s\n", 1);
  for (int i = 0; i < 3; ++i) {
    Conn c(t.port());
    std::this_thread::sleep_for(100ms);  // torii's first read is waiting for the request
    ASSERT_TRUE(c.send("GET /half HTTP/1.1\r\nHost: a\r\n\r\n"));
    ::shutdown(c.fd(), SHUT_WR);  // the FIN right behind the request
    const auto r = c.read_response(15s);
    ASSERT_TRUE(r) << "no response; pending: " << c.pending();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "hello");
    EXPECT_TRUE(c.closed_within(15s)) << "torii kept a half-closed connection open";
  }
  up.stop();
}

}  // namespace
}  // namespace torii::testing
