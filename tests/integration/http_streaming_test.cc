// Message framing and streaming through the real binary: keep-alive and its
// quota, HTTP/1.0 clients, Expect: 100-continue, chunked and Content-Length
// bodies both ways, WebSocket tunnels, hop-by-hop headers, and 1 GiB bodies
// in both directions with bounded gateway memory.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "harness.h"
#include "http_wire.h"

namespace torii::testing {
namespace {

using namespace std::chrono_literals;
using wire::Conn;
using wire::pattern_body;

std::string route_to(const Upstream& up, const std::string& extra = "") {
  return "routes:\n  - id: r1\n    uri: \"/*\"\n" + extra +
         "    upstream:\n      nodes:\n        \"" + up.node() + "\": 1\n";
}

// Field names of the head the upstream received, lower-cased.
std::vector<std::string> field_names(const std::string& head) {
  std::vector<std::string> out;
  size_t pos = head.find("\r\n");
  while (pos != std::string::npos && pos + 2 < head.size()) {
    pos += 2;
    const size_t colon = head.find(':', pos);
    const size_t eol = head.find("\r\n", pos);
    if (colon == std::string::npos || colon > eol) break;
    std::string name = head.substr(pos, colon - pos);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.push_back(name);
    pos = eol;
  }
  return out;
}

bool has_field(const std::string& head, const std::string& lower_name) {
  for (const std::string& n : field_names(head)) {
    if (n == lower_name) return true;
  }
  return false;
}

// ------------------------------------------------------------ keep-alive

TEST(HttpStreamingKeepAlive, ManyRequestsShareOneClientConnection) {
  Upstream up;
  Torii t(route_to(up));
  const int before = up.requests();  // the harness readiness probe is proxied too
  Conn c(t.port());
  for (int i = 0; i < 100; ++i) {
    const std::string body = i % 3 == 0 ? pattern_body(static_cast<size_t>(i) * 37, i) : "";
    std::string req = "POST /echo/" + std::to_string(i) + " HTTP/1.1\r\nHost: a\r\n";
    if (!body.empty()) req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    ASSERT_TRUE(c.send(req + "\r\n" + body)) << "connection closed before request " << i;
    auto r = c.read_response(5s);
    ASSERT_TRUE(r.has_value()) << "no response to request " << i;
    ASSERT_EQ(r->status, 200);
    EXPECT_EQ(wire::echo_field(r->body, "uri"), "/echo/" + std::to_string(i));
    EXPECT_EQ(wire::echo_field(r->body, "body_size"), std::to_string(body.size()));
    EXPECT_EQ(r->headers.count("connection"), 0u) << r->head;
  }
  EXPECT_FALSE(c.eof());
  EXPECT_EQ(up.requests(), before + 100);
}

TEST(HttpStreamingKeepAlive, KeepaliveRequestsQuotaAnnouncesCloseOnTheLastResponse) {
  Upstream up;
  Torii t(route_to(up), "    keepalive_requests: 3\n");
  Conn c(t.port());
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(c.send("GET /echo HTTP/1.1\r\nHost: a\r\n\r\n"));
    auto r = c.read_response(5s);
    ASSERT_TRUE(r.has_value()) << "request " << i;
    EXPECT_EQ(r->status, 200);
    if (i < 3) {
      EXPECT_EQ(r->headers.count("connection"), 0u) << "request " << i << ": " << r->head;
    } else {
      EXPECT_EQ(r->headers["connection"], "close") << r->head;
    }
  }
  EXPECT_TRUE(c.closed_within(3s));
  EXPECT_EQ(c.pending(), "");
}

TEST(HttpStreamingKeepAlive, LocalRepliesKeepTheConnectionAlive) {
  Upstream up;
  Torii t("routes:\n  - id: r1\n    uri: /echo\n    upstream:\n      nodes:\n        \"" +
          up.node() + "\": 1\n");
  Conn c(t.port());
  ASSERT_TRUE(c.send("GET /nope HTTP/1.1\r\nHost: a\r\n\r\nGET /echo HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto r1 = c.read_response(5s);
  ASSERT_TRUE(r1.has_value());
  EXPECT_EQ(r1->status, 404);
  auto r2 = c.read_response(5s);
  ASSERT_TRUE(r2.has_value());
  EXPECT_EQ(r2->status, 200);
}

// ------------------------------------------------------------ HTTP/1.0

TEST(HttpStreamingHttp10, ChunkedUpstreamBodyIsDelimitedByClose) {
  Upstream up;
  Torii t(route_to(up));
  Conn c(t.port());
  ASSERT_TRUE(c.send("GET /chunked/5000 HTTP/1.0\r\nHost: a\r\n\r\n"));
  auto r = c.read_response(5s);
  ASSERT_TRUE(r.has_value()) << c.pending();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->headers.count("transfer-encoding"), 0u)
      << "HTTP/1.0 has no chunked coding: " << r->head;
  EXPECT_FALSE(r->chunked);
  EXPECT_EQ(r->body, std::string(5000, 'y'));
  EXPECT_TRUE(c.eof());
}

TEST(HttpStreamingHttp10, ConnectionClosesAfterTheResponseByDefault) {
  Upstream up;
  Torii t(route_to(up));
  Conn c(t.port());
  ASSERT_TRUE(c.send("GET /echo HTTP/1.0\r\n\r\n"));
  auto r = c.read_response(5s);
  ASSERT_TRUE(r.has_value()) << c.pending();
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->headers["connection"], "keep-alive") << r->head;
  EXPECT_TRUE(c.closed_within(3s)) << "HTTP/1.0 without keep-alive must close";
  EXPECT_EQ(c.pending(), "");
}

TEST(HttpStreamingHttp10, KeepAliveIsHonouredWhenAsked) {
  Upstream up;
  Torii t(route_to(up));
  Conn c(t.port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send("GET /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto r = c.read_response(5s);
    ASSERT_TRUE(r.has_value()) << "request " << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->headers["connection"], "keep-alive") << r->head;
    EXPECT_EQ(r->headers.count("transfer-encoding"), 0u);
  }
  EXPECT_FALSE(c.eof());
}

TEST(HttpStreamingHttp10, LibcurlHttp10ClientGetsTheWholeChunkedBody) {
  Upstream up;
  Torii t(route_to(up));
  HttpRequest req;
  req.url = t.url("/chunked/123456");
  req.http10 = true;
  auto r = http(req);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), 123456u);
  EXPECT_EQ(r.headers.count("transfer-encoding"), 0u);
}

// ------------------------------------------------------------ Expect: 100-continue

TEST(HttpStreamingExpect, ContinueIsSentThenTheBodyReachesTheUpstream) {
  Upstream up;
  Torii t(route_to(up));
  const std::string body = pattern_body(100000, 7);
  Conn c(t.port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n"));
  auto interim = c.read_response(5s);
  ASSERT_TRUE(interim.has_value()) << "no 100 Continue: the client would wait forever";
  ASSERT_EQ(interim->status, 100) << interim->head;
  ASSERT_TRUE(c.send(body));
  auto r = c.read_response(5s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(wire::echo_field(r->body, "body_size"), std::to_string(body.size()));
  EXPECT_EQ(wire::echo_field(r->body, "body_hash"), std::to_string(wire::fnv1a(body)));
  EXPECT_FALSE(has_field(up.last_head(), "expect")) << up.last_head();
}

TEST(HttpStreamingExpect, ChunkedBodyAfterContinueReachesTheUpstream) {
  Upstream up;
  Torii t(route_to(up));
  const std::string body = pattern_body(50000, 8);
  Conn c(t.port());
  ASSERT_TRUE(
      c.send("PUT /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
             "Transfer-Encoding: chunked\r\n\r\n"));
  auto interim = c.read_response(5s);
  ASSERT_TRUE(interim.has_value());
  ASSERT_EQ(interim->status, 100);
  ASSERT_TRUE(c.send("c350\r\n" + body + "\r\n0\r\n\r\n"));
  auto r = c.read_response(5s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(wire::echo_field(r->body, "body_size"), "50000");
  EXPECT_EQ(wire::echo_field(r->body, "body_hash"), std::to_string(wire::fnv1a(body)));
}

TEST(HttpStreamingExpect, UnmatchedRouteAnswersWithoutContinue) {
  Upstream up;
  Torii t("routes:\n  - id: r1\n    uri: /only\n    upstream:\n      nodes:\n        \"" +
          up.node() + "\": 1\n");
  Conn c(t.port());
  ASSERT_TRUE(c.send(
      "POST /nope HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n"));
  auto r = c.read_response(5s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 404) << "the final status comes without a 100 Continue";
  EXPECT_EQ(up.requests(), 0);
}

// ------------------------------------------------------------ bodies

TEST(HttpStreamingBodies, ChunkedRequestBodyIsStreamedToTheUpstreamIntact) {
  Upstream up;
  Torii t(route_to(up));
  const std::string body = pattern_body(1 << 20, 3);
  // Odd chunk sizes, chunk extensions and a trailer; sent in 1000-byte
  // pieces so chunk-size lines and CRLFs are split across reads.
  std::string wire = "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  const size_t sizes[] = {1, 7, 100, 4096, 65536, 3, 10000};
  size_t off = 0;
  for (int i = 0; off < body.size(); ++i) {
    const size_t n = std::min(sizes[i % 7], body.size() - off);
    char line[64];
    std::snprintf(line, sizeof(line), i % 5 == 0 ? "%zx;name=\"v\"\r\n" : "%zX\r\n", n);
    wire += line + body.substr(off, n) + "\r\n";
    off += n;
  }
  wire += "0\r\nX-Trailer: t\r\n\r\n";
  Conn c(t.port());
  for (size_t p = 0; p < wire.size(); p += 1000) {
    ASSERT_TRUE(c.send(std::string_view(wire).substr(p, 1000)));
  }
  auto r = c.read_response(10s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(wire::echo_field(r->body, "body_size"), std::to_string(body.size()));
  EXPECT_EQ(wire::echo_field(r->body, "body_hash"), std::to_string(wire::fnv1a(body)));
  EXPECT_NE(up.last_head().find("Transfer-Encoding: chunked\r\n"), std::string::npos)
      << up.last_head();
  // The connection is still usable afterwards.
  ASSERT_TRUE(c.send("GET /echo HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto r2 = c.read_response(5s);
  ASSERT_TRUE(r2.has_value());
  EXPECT_EQ(r2->status, 200);
}

TEST(HttpStreamingBodies, ContentLengthRequestBodyReachesTheUpstreamIntact) {
  Upstream up;
  Torii t(route_to(up));
  const std::string body = pattern_body(300000, 4);
  HttpRequest req;
  req.method = "POST";
  req.url = t.url("/echo");
  req.body = body;
  auto r = http(req);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(wire::echo_field(r.body, "body_size"), "300000");
  EXPECT_EQ(wire::echo_field(r.body, "body_hash"), std::to_string(wire::fnv1a(body)));
  EXPECT_NE(up.last_head().find("Content-Length: 300000\r\n"), std::string::npos) << up.last_head();
}

TEST(HttpStreamingBodies, ChunkedResponsePassesIntact) {
  Upstream up;
  Torii t(route_to(up));
  Conn c(t.port());
  ASSERT_TRUE(c.send("GET /chunked/100000 HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto r = c.read_response(5s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->chunked) << r->head;
  EXPECT_EQ(r->body, std::string(100000, 'y'));
  // Keep-alive survives a chunked response.
  ASSERT_TRUE(c.send("GET /chunked/0 HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto r2 = c.read_response(5s);
  ASSERT_TRUE(r2.has_value());
  EXPECT_EQ(r2->body, "");
}

TEST(HttpStreamingBodies, LargeResponsePassesIntact) {
  Upstream up;
  Torii t(route_to(up));
  auto r = http_get(t.url("/bytes/5000000"));
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-length"], "5000000");
  ASSERT_EQ(r.body.size(), 5000000u);
  EXPECT_EQ(r.body.find_first_not_of('x'), std::string::npos);
}

// ------------------------------------------------------------ WebSocket

const std::string kUpgrade =
    "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

TEST(HttpStreamingWebSocket, UpgradeIsTunneledWhenEnabled) {
  Upstream up;
  Torii t(route_to(up, "    enable_websocket: true\n"));
  Conn c(t.port());
  ASSERT_TRUE(c.send(kUpgrade));
  auto r = c.read_response(5s);
  ASSERT_TRUE(r.has_value()) << c.pending();
  ASSERT_EQ(r->status, 101) << r->head;
  EXPECT_EQ(r->headers["upgrade"], "websocket") << r->head;
  const std::string head = up.last_head();
  EXPECT_TRUE(has_field(head, "upgrade")) << head;
  EXPECT_NE(head.find("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"), std::string::npos)
      << head;
  for (const std::string msg : {"hello", "binary\x01\x02\x03", "a longer frame of bytes"}) {
    c.pending().clear();
    ASSERT_TRUE(c.send(msg));
    ASSERT_TRUE(c.read_until(msg, 3s))
        << "echo of '" << msg << "' not received; got " << c.pending();
  }
  const std::string big = pattern_body(200000, 9);
  c.pending().clear();
  ASSERT_TRUE(c.send(big));
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (c.pending().size() < big.size() && c.fill(deadline)) {
  }
  EXPECT_EQ(c.pending().size(), big.size());
  EXPECT_TRUE(c.pending() == big) << "tunnelled bytes were altered";
}

// Bytes a client sends right after its upgrade request reach the upstream
// only once it answered 101. Without a 101 they are the client's next
// request, routed by Torii like any other: before, they were written to the
// upstream at once, which parsed them as a request no route or plugin saw.
TEST(HttpStreamingWebSocket, BytesAfterTheUpgradeRequestWaitForThe101) {
  Upstream up;
  Torii t(route_to(up, "    enable_websocket: true\n"));
  {
    Conn c(t.port());
    ASSERT_TRUE(c.send(kUpgrade + "early bytes"));
    auto r = c.read_response(5s);
    ASSERT_TRUE(r.has_value()) << c.pending();
    ASSERT_EQ(r->status, 101) << r->head;
    ASSERT_TRUE(c.read_until("early bytes", 3s)) << "early bytes not tunnelled: " << c.pending();
  }
  Conn c(t.port());
  std::string req = kUpgrade;
  req.replace(req.find("/ws"), 3, "/echo");  // the upstream answers 200, not 101
  ASSERT_TRUE(c.send(req + "GET /echo/smuggled HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto first = c.read_response(5s);
  ASSERT_TRUE(first.has_value()) << c.pending();
  EXPECT_EQ(first->status, 200) << first->head;
  auto second = c.read_response(5s);
  ASSERT_TRUE(second.has_value()) << c.pending();
  EXPECT_EQ(second->status, 200) << second->head;
  // Routed by Torii: the upstream got it with the headers Torii adds.
  const std::string head = up.last_head();
  EXPECT_NE(head.find("GET /echo/smuggled HTTP/1.1\r\n"), std::string::npos) << head;
  EXPECT_TRUE(has_field(head, "x-forwarded-for")) << head;
}

TEST(HttpStreamingWebSocket, UpgradeIsNotForwardedWhenNotEnabled) {
  Upstream up;
  Torii t(route_to(up));
  Conn c(t.port());
  std::string req = kUpgrade;
  req.replace(req.find("/ws"), 3, "/echo");
  ASSERT_TRUE(c.send(req));
  auto r = c.read_response(5s);
  ASSERT_TRUE(r.has_value()) << c.pending();
  EXPECT_EQ(r->status, 200) << r->head;
  const std::string head = up.last_head();
  EXPECT_FALSE(has_field(head, "upgrade")) << head;
  EXPECT_EQ(head.find("pgrade\r\n"), std::string::npos) << "Connection: upgrade forwarded\n"
                                                        << head;
  EXPECT_FALSE(has_field(head, "connection")) << head;
}

// ------------------------------------------------------------ hop-by-hop

TEST(HttpStreamingHopByHop, HopByHopHeadersAreNotForwarded) {
  Upstream up;
  Torii t(route_to(up));
  Conn c(t.port());
  ASSERT_TRUE(
      c.send("GET /echo HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Listed\r\nKeep-Alive: "
             "timeout=5\r\n"
             "TE: trailers\r\nTrailer: X-T\r\nProxy-Connection: keep-alive\r\nUpgrade: h2c\r\n"
             "X-Listed: secret\r\nX-End-To-End: kept\r\n\r\n"));
  auto r = c.read_response(5s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  const std::string head = up.last_head();
  for (const char* h :
       {"connection", "keep-alive", "te", "trailer", "proxy-connection", "upgrade", "x-listed"}) {
    EXPECT_FALSE(has_field(head, h)) << h << " forwarded:\n" << head;
  }
  EXPECT_NE(head.find("X-End-To-End: kept\r\n"), std::string::npos) << head;
}

TEST(HttpStreamingHopByHop, HeaderNamedInConnectionIsDroppedWhateverTheFieldOrder) {
  Upstream up;
  Torii t(route_to(up));
  Conn c(t.port());
  // The listed field comes before the Connection field that names it.
  ASSERT_TRUE(
      c.send("GET /echo HTTP/1.1\r\nHost: a\r\nX-Listed: secret\r\nX-Other: kept\r\n"
             "Connection: X-Listed\r\n\r\n"));
  auto r = c.read_response(5s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  const std::string head = up.last_head();
  EXPECT_FALSE(has_field(head, "x-listed")) << head;
  EXPECT_NE(head.find("X-Other: kept\r\n"), std::string::npos) << head;
}

// An upstream that answers every request with a fixed response, for headers
// the test Upstream never sends. Built from RFC 9112 framing only.
class FakeFixedUpstream {
 public:
  explicit FakeFixedUpstream(std::string response) : response_(std::move(response)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    ::listen(fd_, 16);
    socklen_t len = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        pollfd p{fd_, POLLIN, 0};
        if (stop_) return;
        if (::poll(&p, 1, 50) <= 0) continue;
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) continue;
        // One request (no body) per connection, then close.
        std::string in;
        char buf[4096];
        while (in.find("\r\n\r\n") == std::string::npos) {
          pollfd q{c, POLLIN, 0};
          if (::poll(&q, 1, 2000) <= 0) break;
          const ssize_t n = ::recv(c, buf, sizeof(buf), 0);
          if (n <= 0) break;
          in.append(buf, static_cast<size_t>(n));
        }
        ::send(c, response_.data(), response_.size(), MSG_NOSIGNAL);
        ::shutdown(c, SHUT_RDWR);
        ::close(c);
      }
    });
  }
  ~FakeFixedUpstream() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string node() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  std::string response_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(HttpStreamingHopByHop, HopByHopResponseHeadersAreNotReturned) {
  FakeFixedUpstream fake(
      "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5, max=100\r\n"
      "Proxy-Connection: keep-alive\r\nTE: trailers\r\nTrailer: X-T\r\nUpgrade: h2c\r\n"
      "X-Kept: yes\r\nContent-Length: 2\r\n\r\nok");
  Torii t("routes:\n  - id: r1\n    uri: \"/*\"\n    upstream:\n      nodes:\n        \"" +
          fake.node() + "\": 1\n");
  Conn c(t.port());
  ASSERT_TRUE(c.send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto r = c.read_response(5s);
  ASSERT_TRUE(r.has_value()) << c.pending();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok");
  EXPECT_EQ(r->headers["x-kept"], "yes") << r->head;
  for (const char* h : {"keep-alive", "proxy-connection", "te", "trailer", "upgrade"}) {
    EXPECT_EQ(r->headers.count(h), 0u) << h << " returned:\n" << r->head;
  }
  EXPECT_NE(r->headers["connection"], "keep-alive") << "the upstream's Connection leaked:\n"
                                                    << r->head;
}

// ------------------------------------------------------------ 1 GiB, bounded memory

constexpr uint64_t kGiB = 1ull << 30;
constexpr long kRssSlackKib = 64 * 1024;

// Samples the gateway's resident memory until destroyed; max_kib() is the peak.
class RssSampler {
 public:
  explicit RssSampler(const Torii& t) : t_(t) {
    thread_ = std::thread([this] {
      while (!stop_) {
        const long v = t_.rss_kib();
        if (v > max_) max_ = v;
        std::this_thread::sleep_for(20ms);
      }
    });
  }
  ~RssSampler() {
    stop_ = true;
    thread_.join();
  }
  long max_kib() const { return max_; }

 private:
  const Torii& t_;
  std::atomic<bool> stop_{false};
  std::atomic<long> max_{0};
  std::thread thread_;
};

TEST(HttpStreamingGiB, OneGibUploadIsStreamedWithBoundedMemory) {
  Upstream up;
  Torii t(route_to(up));
  ASSERT_EQ(http_get(t.url("/echo")).status, 200);  // warm up pools and buffers
  const long base_kib = t.rss_kib();
  ASSERT_GT(base_kib, 0);

  const std::string block = pattern_body(1 << 20, 11);
  constexpr int kBlocks = static_cast<int>(kGiB >> 20);
  // The expected hash is computed while the body is on the wire.
  auto expected = std::async(std::launch::async, [&block] {
    uint64_t h = wire::kFnvOffset;
    for (int i = 0; i < kBlocks; ++i) h = wire::fnv1a(block, h);
    return h;
  });

  const auto start = std::chrono::steady_clock::now();
  std::optional<wire::Response> r;
  long peak = 0;
  {
    RssSampler rss(t);
    Conn c(t.port());
    ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(kGiB) +
                       "\r\n\r\n"));
    for (int i = 0; i < kBlocks; ++i) {
      ASSERT_TRUE(c.send(block)) << "gateway closed after " << i << " MiB";
    }
    r = c.read_response(30s);
    peak = rss.max_kib();
  }
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(wire::echo_field(r->body, "body_size"), std::to_string(kGiB));
  EXPECT_EQ(wire::echo_field(r->body, "body_hash"), std::to_string(expected.get()));
  EXPECT_LT(peak - base_kib, kRssSlackKib)
      << "RSS grew from " << base_kib << " to " << peak << " KiB";
  RecordProperty(
      "upload_ms",
      static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
}

TEST(HttpStreamingGiB, OneGibDownloadIsStreamedWithBoundedMemory) {
  Upstream up;
  Torii t(route_to(up));
  ASSERT_EQ(http_get(t.url("/echo")).status, 200);
  const long base_kib = t.rss_kib();
  ASSERT_GT(base_kib, 0);

  uint64_t received = 0;
  bool all_x = true;
  long peak = 0;
  {
    RssSampler rss(t);
    Conn c(t.port());
    ASSERT_TRUE(c.send("GET /bytes/" + std::to_string(kGiB) + " HTTP/1.1\r\nHost: a\r\n\r\n"));
    ASSERT_TRUE(c.read_until("\r\n\r\n", 5s));
    const size_t end = c.pending().find("\r\n\r\n") + 4;
    const std::string head = c.pending().substr(0, end);
    ASSERT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
    ASSERT_NE(head.find("Content-Length: " + std::to_string(kGiB) + "\r\n"), std::string::npos)
        << head;
    auto count = [&](const char* p, size_t n) {
      received += n;
      if (all_x && std::string_view(p, n).find_first_not_of('x') != std::string_view::npos)
        all_x = false;
    };
    count(c.pending().data() + end, c.pending().size() - end);
    // Count the rest straight off the socket: nothing is kept in memory.
    std::vector<char> buf(1 << 20);
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (received < kGiB && std::chrono::steady_clock::now() < deadline) {
      pollfd p{c.fd(), POLLIN, 0};
      if (::poll(&p, 1, 1000) <= 0) continue;
      const ssize_t n = ::recv(c.fd(), buf.data(), buf.size(), 0);
      if (n <= 0) break;
      count(buf.data(), static_cast<size_t>(n));
    }
    peak = rss.max_kib();
  }
  EXPECT_EQ(received, kGiB);
  EXPECT_TRUE(all_x) << "body bytes were altered";
  EXPECT_LT(peak - base_kib, kRssSlackKib)
      << "RSS grew from " << base_kib << " to " << peak << " KiB";
}

}  // namespace
}  // namespace torii::testing

namespace torii::testing {
namespace {

// A body that arrives after the head is read through its own window: the
// request head (the access log's $request, headers plugins read after the
// upstream answered) must still be intact afterwards, and bytes the client
// pipelined after the body start the next request.
TEST(HttpStreamingBody, LateBodyKeepsTheRequestHeadAndThePipelinedRequest) {
  Upstream up;
  Torii t(route_to(up));
  wire::Conn c(t.port());
  const std::string body(100000, 'b');
  ASSERT_TRUE(c.send("POST /echo/late?x=1 HTTP/1.1\r\nHost: a\r\nX-Marker: keep-me\r\n"
                     "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n"));
  std::this_thread::sleep_for(50ms);  // the head is proxied before the body exists
  ASSERT_TRUE(c.send(body.substr(0, 40000)));
  std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(c.send(body.substr(40000) + "GET /echo/next HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto first = c.read_response();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  EXPECT_NE(first->body.find("body_size=100000"), std::string::npos) << first->body;
  EXPECT_NE(first->body.find("body_hash=" + std::to_string(wire::fnv1a(body))), std::string::npos);
  auto second = c.read_response();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200);
  EXPECT_NE(second->body.find("uri=/echo/next"), std::string::npos) << second->body;
  EXPECT_TRUE(wait_until([&] {
    return t.access_log().find("\"POST /echo/late?x=1 HTTP/1.1\" 200") != std::string::npos;
  })) << t.access_log();
}

}  // namespace
}  // namespace torii::testing
