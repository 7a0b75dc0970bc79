// Response bodies moved with splice(2) (proxy/splice_body.cc), through the
// real binary: the bytes arrive intact and in order, both connections stay
// usable afterwards, a slow client gets everything, and every way the
// transfer can break (upstream closes, upstream stalls, client leaves) ends
// the one response without harming the gateway. torii.splice_response_body
// false takes the copying path, which the same bodies pass as well.
#include <dirent.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

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
using wire::pattern_body;
using wire::SteadyClock;

// A keep-alive upstream (RFC 9112 framing only) that answers every request
// with Content-Length `declared` and a pattern body, of which it sends
// `sent` bytes. Short of `declared` it then closes the connection, or, with
// `stall`, keeps it open and silent until the test ends. `trailing` bytes
// are sent after a whole body: bytes no response declared. The harness's
// readiness probe gets a small answer, so it opens no pipe.
class BodyUpstream {
 public:
  BodyUpstream(size_t declared, size_t sent, bool stall = false, std::string trailing = "")
      : body_(pattern_body(sent, 7)),
        declared_(declared),
        stall_(stall),
        trailing_(std::move(trailing)),
        server_([this](TestConn& c) { serve(c); }) {}
  ~BodyUpstream() { server_.stop(); }

  std::string node() const { return "127.0.0.1:" + std::to_string(server_.port()); }
  int connections() const { return server_.accepted(); }
  int requests() const { return requests_.load(); }
  const std::string& body() const { return body_; }

 private:
  void serve(TestConn& c) {
    std::string buf, head;
    while (wire::read_request_head(c.fd(), buf, head)) {
      if (head.find(" /__torii_ready ") != std::string::npos) {
        if (!c.send_all("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")) return;
        continue;
      }
      ++requests_;
      const std::string answer = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                               "Content-Length: " + std::to_string(declared_) + "\r\n\r\n";
      if (!c.send_all(answer + body_ + trailing_)) return;
      if (body_.size() == declared_) continue;
      if (!stall_) return;  // closes mid-body
      while (!server_.stopping()) std::this_thread::sleep_for(20ms);
      return;
    }
  }

  std::string body_;
  size_t declared_;
  bool stall_;
  std::string trailing_;
  std::atomic<int> requests_{0};
  TestServer server_;  // last: its connection threads use the members above
};

// `extra`: lines under the route (plugins), indented by 4.
std::string route_to(const BodyUpstream& up, const std::string& timeouts = "",
                     const std::string& extra = "") {
  return "routes:\n  - id: r1\n    uri: \"/*\"\n" + extra + "    upstream:\n" + timeouts +
         "      nodes:\n        \"" + up.node() + "\": 1\n";
}

// The process's open pipe ends: a worker keeps the pipe of a spliced body
// for the next one, so they show whether splicing happened.
int open_pipes(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return -1;
  int pipes = 0;
  while (const dirent* e = ::readdir(d)) {
    char target[256];
    const std::string link = dir + "/" + e->d_name;
    const ssize_t n = ::readlink(link.c_str(), target, sizeof(target) - 1);
    if (n > 0 && std::string_view(target, static_cast<size_t>(n)).starts_with("pipe:")) ++pipes;
  }
  ::closedir(d);
  return pipes;
}

// Reads a response head from `c`, then exactly `length` body bytes (less
// when the connection ends first).
struct RawResponse {
  std::string head;
  std::string body;
};
RawResponse read_raw(Conn& c, size_t length, std::chrono::milliseconds limit) {
  RawResponse r;
  const auto deadline = SteadyClock::now() + limit;
  size_t end;
  while ((end = c.pending().find("\r\n\r\n")) == std::string::npos) {
    if (!c.fill(deadline)) return r;
  }
  r.head = c.pending().substr(0, end + 4);
  c.pending().erase(0, end + 4);
  while (c.pending().size() < length && c.fill(deadline)) {
  }
  const size_t take = std::min(length, c.pending().size());
  r.body = c.pending().substr(0, take);
  c.pending().erase(0, take);
  return r;
}

constexpr size_t kBody = 3 * 1024 * 1024 + 17;  // not a multiple of any buffer or pipe size

TEST(SpliceBody, BodiesArriveIntactAndBothConnectionsAreReused) {
  BodyUpstream up(kBody, kBody);
  Torii t(route_to(up), "", 1);
  const int pipes_before = open_pipes(t.pid());
  Conn c(t.port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send("GET /big HTTP/1.1\r\nHost: a\r\n\r\n"));
    const RawResponse r = read_raw(c, kBody, 20s);
    ASSERT_NE(r.head.find("HTTP/1.1 200"), std::string::npos) << r.head;
    EXPECT_NE(r.head.find("Content-Length: " + std::to_string(kBody)), std::string::npos) << r.head;
    ASSERT_EQ(r.body.size(), kBody) << "response " << i;
    EXPECT_TRUE(r.body == up.body()) << "response " << i << " differs from what the upstream sent";
  }
  EXPECT_EQ(up.requests(), 3);  // the readiness probe is not counted (BodyUpstream)
  EXPECT_EQ(up.connections(), 1) << "the upstream connection was not kept after a spliced body";
  // One worker spliced all three through one pooled pipe (two descriptors).
  EXPECT_EQ(open_pipes(t.pid()), pipes_before + 2);
  // $body_bytes_sent counts the spliced bytes.
  EXPECT_TRUE(wait_until(
      [&] { return t.access_log().find("\" 200 " + std::to_string(kBody) + " ") != std::string::npos; },
      5s))
      << t.access_log();
}

TEST(SpliceBody, SwitchedOffTheBodyIsCopiedAndNoPipeIsOpened) {
  BodyUpstream up(kBody, kBody);
  Torii t(route_to(up), "torii:\n  splice_response_body: false\n", 1);
  const int pipes_before = open_pipes(t.pid());
  Conn c(t.port());
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(c.send("GET /big HTTP/1.1\r\nHost: a\r\n\r\n"));
    const RawResponse r = read_raw(c, kBody, 20s);
    ASSERT_EQ(r.body.size(), kBody) << r.head;
    EXPECT_TRUE(r.body == up.body());
  }
  EXPECT_EQ(up.connections(), 1);
  EXPECT_EQ(open_pipes(t.pid()), pipes_before);
}

TEST(SpliceBody, SmallBodiesAreNotSpliced) {
  // Under 16 KiB the first read takes the whole response.
  BodyUpstream up(10000, 10000);
  Torii t(route_to(up), "", 1);
  const int pipes_before = open_pipes(t.pid());
  auto r = http_get(t.url("/small"));
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.body, up.body());
  EXPECT_EQ(open_pipes(t.pid()), pipes_before);
}

TEST(SpliceBody, ASlowClientGetsTheWholeBodyAndKeepsTheConnection) {
  constexpr size_t kSlowBody = 8 * 1024 * 1024;
  BodyUpstream up(kSlowBody, kSlowBody);
  Torii t(route_to(up), "", 1);
  Conn c(t.port());
  const int small = 16 * 1024;
  ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  ASSERT_TRUE(c.send("GET /big HTTP/1.1\r\nHost: a\r\n\r\n"));
  // Stop reading for a while: the pipe and both socket buffers fill, and
  // torii must wait for the client instead of failing or spinning.
  std::this_thread::sleep_for(300ms);
  const RawResponse r = read_raw(c, kSlowBody, 60s);
  ASSERT_EQ(r.body.size(), kSlowBody) << r.head;
  EXPECT_TRUE(r.body == up.body());
  ASSERT_TRUE(c.send("GET /again HTTP/1.1\r\nHost: a\r\n\r\n"));
  const RawResponse again = read_raw(c, kSlowBody, 60s);
  EXPECT_EQ(again.body.size(), kSlowBody);
}

TEST(SpliceBody, UpstreamClosingMidBodyEndsTheClientConnection) {
  // 6 MiB of 8 come, then the upstream closes while the client is not
  // reading: the pipe and the client's socket hold bytes when torii sees
  // the end, and they must still be delivered before the connection ends.
  constexpr size_t kSent = 6 * 1024 * 1024;
  BodyUpstream up(8 * 1024 * 1024, kSent);
  Torii t(route_to(up), "", 1);
  Conn c(t.port());
  const int small = 16 * 1024;
  ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  ASSERT_TRUE(c.send("GET /cut HTTP/1.1\r\nHost: a\r\n\r\n"));
  std::this_thread::sleep_for(500ms);
  const RawResponse r = read_raw(c, kBody * 3, 30s);
  ASSERT_NE(r.head.find("HTTP/1.1 200"), std::string::npos) << r.head;
  EXPECT_EQ(r.body.size(), kSent) << "the bytes that came must pass, and nothing else";
  EXPECT_TRUE(r.body == up.body());
  EXPECT_TRUE(c.eof()) << "a cut body must end the client connection";
  EXPECT_TRUE(wait_until([&] { return t.error_log().find("closed mid-response") != std::string::npos; },
                         5s))
      << t.error_log();
  // The gateway still serves.
  BodyUpstream whole(kBody, kBody);
  t.set_routes(route_to(whole));
  EXPECT_TRUE(wait_until(
      [&] {
        auto g = http_get(t.url("/whole"));
        return g.error.empty() && g.body == whole.body();
      },
      10s));
}

TEST(SpliceBody, UpstreamStallingMidBodyTimesOut) {
  BodyUpstream up(kBody, 100000, /*stall=*/true);
  Torii t(route_to(up, "      timeout:\n        connect: 1\n        send: 1\n        read: 0.5\n"),
          "", 1);
  Conn c(t.port());
  ASSERT_TRUE(c.send("GET /stall HTTP/1.1\r\nHost: a\r\n\r\n"));
  const auto start = SteadyClock::now();
  const RawResponse r = read_raw(c, kBody, 15s);
  EXPECT_EQ(r.body, up.body());
  EXPECT_TRUE(c.eof()) << "a stalled body must end the client connection at the read timeout";
  EXPECT_LT(SteadyClock::now() - start, 10s);
  EXPECT_TRUE(wait_until([&] { return t.error_log().find("timed out mid-response") != std::string::npos; },
                         5s))
      << t.error_log();
}

TEST(SpliceBody, AClientLeavingMidBodyLeavesTheGatewayServing) {
  constexpr size_t kHuge = 64 * 1024 * 1024;
  BodyUpstream up(kHuge, kHuge);
  Torii t(route_to(up), "", 1);
  {
    Conn c(t.port());
    ASSERT_TRUE(c.send("GET /huge HTTP/1.1\r\nHost: a\r\n\r\n"));
    const RawResponse r = read_raw(c, 100000, 10s);
    ASSERT_EQ(r.body, up.body().substr(0, 100000));
  }  // closed with most of the body still coming
  // The next request gets a whole body: the upstream connection that was
  // cut mid-body is not reused.
  Conn c2(t.port());
  ASSERT_TRUE(c2.send("GET /huge HTTP/1.1\r\nHost: a\r\n\r\n"));
  const RawResponse r2 = read_raw(c2, kHuge, 60s);
  ASSERT_EQ(r2.body.size(), kHuge) << r2.head;
  EXPECT_TRUE(r2.body == up.body());
  EXPECT_EQ(up.connections(), 2);
}

TEST(SpliceBody, BytesPastContentLengthKeepTheConnectionOutOfThePool) {
  BodyUpstream up(kBody, kBody, false, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nforge");
  Torii t(route_to(up), "", 1);
  const int before = up.connections();
  Conn c(t.port());
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(c.send("GET /big HTTP/1.1\r\nHost: a\r\n\r\n"));
    const RawResponse r = read_raw(c, kBody, 20s);
    ASSERT_EQ(r.body.size(), kBody) << "response " << i << ": " << r.head;
    EXPECT_TRUE(r.body == up.body()) << "response " << i;
  }
  // The trailing bytes (a forged response) were never taken for the second
  // response: the first request's connection (the readiness probe's, reused)
  // was not pooled again, so the second needed a new one.
  EXPECT_EQ(up.connections() - before, 1);
  EXPECT_EQ(up.requests(), 2);
}

// The same, when the head comes first and the rest of the body, with a
// forged response behind it, a little later: the head's read emptied the
// socket, and splice(2) reads past the event loop, which may never hear of
// the forged bytes. The check at the end of the body must look at the
// socket itself. Pipelined pairs over a range of gaps; the second answer
// must always be the upstream's answer to the second request.
TEST(SpliceBody, AForgedResponseBehindASplicedBodyIsNeverTheNextAnswer) {
  constexpr size_t kFirst = 100, kRest = 20000;
  const std::string forged = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nFORGED";
  std::atomic<int> gap_us{0};
  TestServer server([&](TestConn& c) {
    const int one = 1;  // each piece leaves at once
    ::setsockopt(c.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    std::string buf, head;
    while (wire::read_request_head(c.fd(), buf, head)) {
      if (head.rfind("GET /big ", 0) != 0) {
        if (!c.send_all("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond")) return;
        continue;
      }
      if (!c.send_all("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(kFirst + kRest) +
                      "\r\n\r\n" + std::string(kFirst, 'a'))) {
        return;
      }
      const auto until = SteadyClock::now() + std::chrono::microseconds(gap_us.load());
      while (SteadyClock::now() < until) {
      }
      if (!c.send_all(std::string(kRest, 'b') + forged)) return;
    }
  });
  Torii t("routes:\n  - id: r1\n    uri: \"/*\"\n    upstream:\n      nodes:\n        \"127.0.0.1:" +
              std::to_string(server.port()) + "\": 1\n",
          "", 1);
  const int gaps[] = {0, 5, 10, 20, 40, 80, 120, 200};
  for (int i = 0; i < 64; ++i) {
    gap_us = gaps[i % 8];
    Conn c(t.port());
    ASSERT_TRUE(c.send("GET /big HTTP/1.1\r\nHost: a\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\n\r\n"));
    const auto big = c.read_response(10s);
    ASSERT_TRUE(big.has_value()) << "round " << i;
    ASSERT_EQ(big->body.size(), kFirst + kRest);
    const auto second = c.read_response(10s);
    ASSERT_TRUE(second.has_value()) << "round " << i;
    EXPECT_EQ(second->body, "second") << "round " << i << ", gap " << gaps[i % 8] << " us";
  }
  server.stop();
}

TEST(SpliceBody, AStatusRewrittenTo204SendsNoBody) {
  BodyUpstream up(kBody, kBody);
  Torii t(route_to(up, "", "    plugins:\n      response-rewrite:\n        status_code: 204\n"), "", 1);
  Conn c(t.port());
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(c.send("GET /big HTTP/1.1\r\nHost: a\r\n\r\n"));
    const RawResponse r = read_raw(c, 0, 20s);
    ASSERT_EQ(r.head.rfind("HTTP/1.1 204", 0), 0u)
        << "response " << i << " does not start where the head should: " << r.head.substr(0, 80);
  }
  // Nothing follows the second head.
  EXPECT_FALSE(c.fill(SteadyClock::now() + 300ms));
  EXPECT_TRUE(c.pending().empty()) << c.pending().size() << " stray bytes";
}

TEST(SpliceBody, ABodyFilterGetsTheWholeBodyAndNothingIsSpliced) {
  BodyUpstream up(kBody, kBody);
  Torii t(route_to(up, "",
                   "    plugins:\n      response-rewrite:\n        filters:\n"
                   "          - regex: \"^\"\n            replace: \"filtered:\"\n"),
          "", 1);
  const int pipes_before = open_pipes(t.pid());
  auto r = http_get(t.url("/big"));
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body == "filtered:" + up.body()) << r.body.size();
  EXPECT_EQ(open_pipes(t.pid()), pipes_before);
}

}  // namespace
}  // namespace torii::testing
