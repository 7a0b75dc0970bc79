// Strict HTTP/1.1 request handling through the real binary: malformed or
// ambiguous requests (RFC 9112 framing, smuggling shapes, bad fields, size
// limits) get a clear 4xx/501, "Connection: close" and EOF, and never reach
// the upstream; slow or idle clients are cut off by the configured timeouts.
#include <gtest/gtest.h>

#include <thread>

#include "harness.h"
#include "http_wire.h"

namespace torii::testing {
namespace {

using namespace std::chrono_literals;
using wire::Conn;

std::string route_to(const Upstream& up) {
  return "routes:\n  - id: r1\n    uri: \"/*\"\n    upstream:\n      nodes:\n        \"" +
         up.node() + "\": 1\n";
}

// Asserts the shape every refused request must have: the expected status,
// "Connection: close", then EOF with nothing after the reply.
void expect_refused_and_closed(Conn& c, int status) {
  auto r = c.read_response(5s);
  ASSERT_TRUE(r.has_value()) << "no response; got: " << c.pending();
  EXPECT_EQ(r->status, status) << r->head;
  EXPECT_EQ(r->headers["connection"], "close") << r->head;
  EXPECT_TRUE(c.closed_within(3s)) << "connection left open after " << r->status;
  EXPECT_EQ(c.pending(), "") << "bytes after the refusal (a second, smuggled response?)";
}

// ------------------------------------------------------------ malformed heads

struct BadRequest {
  const char* name;
  std::string bytes;
  int status;
};

void PrintTo(const BadRequest& b, std::ostream* os) { *os << b.name; }

// Every request below is sent in one write; a second request follows where
// a lenient parser would see one (request smuggling).
const std::string kSmuggled = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";

std::vector<BadRequest> bad_requests() {
  using namespace std::string_literals;
  const std::string post = "POST /echo HTTP/1.1\r\nHost: a\r\n";
  const std::string chunked = post + "Transfer-Encoding: chunked\r\n\r\n";
  return {
      // Framing: Content-Length and Transfer-Encoding together (CL.TE / TE.CL).
      {"cl_then_te",
       post + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + kSmuggled, 400},
      {"te_then_cl",
       post + "Transfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n" + kSmuggled, 400},
      {"cl_zero_with_te",
       post + "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
       400},
      // Framing: duplicate or malformed Content-Length.
      {"duplicate_identical_cl", post + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400},
      {"conflicting_cl", post + "Content-Length: 3\r\nContent-Length: 40\r\n\r\nabc" + kSmuggled,
       400},
      {"cl_list", post + "Content-Length: 3, 3\r\n\r\nabc", 400},
      {"cl_negative", post + "Content-Length: -1\r\n\r\n", 400},
      {"cl_plus_sign", post + "Content-Length: +3\r\n\r\nabc", 400},
      {"cl_not_a_number", post + "Content-Length: abc\r\n\r\n", 400},
      {"cl_overflow", post + "Content-Length: 99999999999999999999999\r\n\r\n", 400},
      // Framing: bad chunks.
      {"chunk_size_not_hex", chunked + "zz\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk_size_negative", chunked + "-5\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk_size_0x_prefix", chunked + "0x5\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk_size_overflow", chunked + "1ffffffffffffffff\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk_data_longer_than_size", chunked + "3\r\nhello\r\n0\r\n\r\n" + kSmuggled, 400},
      {"chunk_size_line_bare_lf", chunked + "5\nhello\r\n0\r\n\r\n", 400},
      {"chunk_data_bare_lf", chunked + "5\r\nhello\n0\r\n\r\n", 400},
      // llhttp's default build skips the two bytes after chunk data unread.
      {"chunk_data_then_junk", chunked + "5\r\nhelloXX0\r\n\r\n" + kSmuggled, 400},
      {"chunk_data_then_cr_junk", chunked + "5\r\nhello\rX0\r\n\r\n", 400},
      {"chunk_data_then_lf_cr", chunked + "5\r\nhello\n\r0\r\n\r\n", 400},
      // ... and takes any byte after a CR as its LF.
      {"chunk_size_line_cr_junk", chunked + "5\rXhello\r\n0\r\n\r\n", 400},
      {"trailer_end_cr_junk", chunked + "0\r\n\rX" + kSmuggled, 400},
      {"head_end_cr_junk", "GET /echo HTTP/1.1\r\nHost: a\r\n\rX" + kSmuggled, 400},
      // Unsupported transfer codings (nginx: "client sent unknown Transfer-Encoding").
      {"te_gzip", post + "Transfer-Encoding: gzip\r\n\r\nabc", 501},
      {"te_gzip_chunked", post + "Transfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
       501},
      // RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 means faulty framing (nginx >= 1.21.1: 400).
      {"te_in_http10",
       "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 400},
      // Request line.
      {"space_in_target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"ctl_in_target", "GET /a\x01b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      // The two control characters llhttp's default build lets into a target
      // (nginx >= 1.21.1 refuses them: an upstream could split the line there).
      {"tab_in_target", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"tab_in_query", "GET /a?x=\t HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"form_feed_in_target", "GET /a\fb HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      // Versions llhttp passes that are not HTTP/1.x (nginx: 400 and 505).
      {"version_0_9", "GET /echo HTTP/0.9\r\nHost: a\r\n\r\n", 400},
      {"version_2_0", "GET /echo HTTP/2.0\r\nHost: a\r\n\r\n", 505},
      {"connect_method", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 405},
      // Line shapes RFC 9112 forbids.
      {"obs_fold", "GET /echo HTTP/1.1\r\nHost: a\r\nX-A: a\r\n folded\r\n\r\n", 400},
      {"obs_fold_tab", "GET /echo HTTP/1.1\r\nHost: a\r\nX-A: a\r\n\tfolded\r\n\r\n", 400},
      {"whitespace_before_first_field", "GET /echo HTTP/1.1\r\n Host: a\r\n\r\n", 400},
      {"bare_lf_everywhere", "GET /echo HTTP/1.1\nHost: a\n\n", 400},
      {"bare_lf_in_one_field", "GET /echo HTTP/1.1\r\nHost: a\nX-B: b\r\n\r\n", 400},
      {"bare_cr_in_field", "GET /echo HTTP/1.1\r\nHost: a\rX-B: b\r\n\r\n", 400},
      // Field names and values.
      {"space_before_colon", "GET /echo HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n", 400},
      {"te_with_space_before_colon",
       post + "Content-Length: 5\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + kSmuggled, 400},
      {"space_in_name", "GET /echo HTTP/1.1\r\nHost: a\r\nX A: b\r\n\r\n", 400},
      {"non_token_char_in_name", "GET /echo HTTP/1.1\r\nHost: a\r\nX@A: b\r\n\r\n", 400},
      {"empty_name", "GET /echo HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", 400},
      {"nul_in_value", "GET /echo HTTP/1.1\r\nHost: a\r\nX-A: a\0b\r\n\r\n"s, 400},
      {"nul_in_name", "GET /echo HTTP/1.1\r\nHost: a\r\nX-\0A: b\r\n\r\n"s, 400},
      {"ctl_in_value", "GET /echo HTTP/1.1\r\nHost: a\r\nX-A: a\x01z\r\n\r\n", 400},
      // Host.
      {"missing_host_http11", "GET /echo HTTP/1.1\r\nX-A: b\r\n\r\n", 400},
      {"duplicate_host", "GET /echo HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400},
      {"duplicate_host_other_case", "GET /echo HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400},
      {"host_with_space", "GET /echo HTTP/1.1\r\nHost: exa mple.com\r\n\r\n", 400},
      // Paths that climb above the root.
      {"dotdot_above_root", "GET /../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"dotdot_twice_above_root", "GET /a/../../etc HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"encoded_dotdot_above_root", "GET /%2e%2e/etc HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"mixed_case_encoded_dotdot", "GET /a/%2E%2e/%2e%2E/etc HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"target_not_origin_form", "GET echo HTTP/1.1\r\nHost: a\r\n\r\n", 400},
  };
}

class HttpStrictnessMalformed : public ::testing::TestWithParam<BadRequest> {
 protected:
  static void SetUpTestSuite() {
    up_ = new Upstream();
    torii_ = new Torii(route_to(*up_));
  }
  static void TearDownTestSuite() {
    delete torii_;
    delete up_;
    torii_ = nullptr;
    up_ = nullptr;
  }
  static Upstream* up_;
  static Torii* torii_;
};

Upstream* HttpStrictnessMalformed::up_ = nullptr;
Torii* HttpStrictnessMalformed::torii_ = nullptr;

TEST_P(HttpStrictnessMalformed, IsRefusedClosedAndNeverForwarded) {
  const BadRequest& bad = GetParam();
  const int before = up_->requests();
  Conn c(torii_->port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send(bad.bytes));
  expect_refused_and_closed(c, bad.status);
  EXPECT_EQ(up_->requests(), before) << "upstream saw: " << up_->last_head();
  // The gateway keeps serving well-formed requests.
  EXPECT_EQ(http_get(torii_->url("/echo")).status, 200);
  EXPECT_EQ(up_->requests(), before + 1);
}

INSTANTIATE_TEST_SUITE_P(Requests, HttpStrictnessMalformed, ::testing::ValuesIn(bad_requests()),
                         [](const ::testing::TestParamInfo<BadRequest>& i) {
                           return i.param.name;
                         });

// ------------------------------------------------------------ size limits

TEST(HttpStrictnessLimits, RequestLineOverTheLimitGets414) {
  Upstream up;
  Torii t(route_to(up), "    max_request_line_size: 1k\n");
  const std::string ok_path = "/echo/" + std::string(900, 'a');
  auto fine = http_get(t.url(ok_path));
  EXPECT_EQ(fine.status, 200) << "a request line under the limit is served";
  const int before = up.requests();

  Conn c(t.port());
  ASSERT_TRUE(c.send("GET /echo/" + std::string(3000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n"));
  expect_refused_and_closed(c, 414);
  EXPECT_EQ(up.requests(), before);
}

TEST(HttpStrictnessLimits, RequestLineOverTheDefaultLimitGets414) {
  Upstream up;
  Torii t(route_to(up));
  const int before = up.requests();
  Conn c(t.port());
  ASSERT_TRUE(c.send("GET /echo/" + std::string(20000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n"));
  expect_refused_and_closed(c, 414);
  EXPECT_EQ(up.requests(), before);
}

TEST(HttpStrictnessLimits, HeadersOverTheLimitGet431) {
  Upstream up;
  Torii t(route_to(up), "    max_header_size: 4k\n");
  auto fine = http_get(t.url("/echo"), {"X-Big: " + std::string(2500, 'b')});
  EXPECT_EQ(fine.status, 200) << "a head under the limit is served";
  const int before = up.requests();

  Conn c(t.port());
  std::string req = "GET /echo HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 10; ++i)
    req += "X-Big-" + std::to_string(i) + ": " + std::string(800, 'b') + "\r\n";
  ASSERT_TRUE(c.send(req + "\r\n"));
  expect_refused_and_closed(c, 431);
  EXPECT_EQ(up.requests(), before);
}

TEST(HttpStrictnessLimits, ContentLengthOverClientMaxBodySizeGets413WithoutForwarding) {
  Upstream up;
  Torii t(route_to(up), "    client_max_body_size: 1k\n");
  const int before = up.requests();
  Conn c(t.port());
  // Only the head is sent: the refusal must not wait for the body.
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n"));
  expect_refused_and_closed(c, 413);
  EXPECT_EQ(up.requests(), before);
}

TEST(HttpStrictnessLimits, BodyAtExactlyTheLimitIsForwarded) {
  Upstream up;
  Torii t(route_to(up), "    client_max_body_size: 1k\n");
  const std::string body(1024, 'q');
  Conn c(t.port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" +
                     body + "\r\n0\r\n\r\n"));
  auto r = c.read_response(5s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(wire::echo_field(r->body, "body_size"), "1024");
  EXPECT_EQ(wire::echo_field(r->body, "body_hash"), std::to_string(wire::fnv1a(body)));
}

TEST(HttpStrictnessLimits, SmallChunkedBodyOverClientMaxBodySizeGets413WithoutForwarding) {
  Upstream up;
  Torii t(route_to(up), "    client_max_body_size: 100\n");
  const int before = up.requests();
  Conn c(t.port());
  // Head and the whole (too large) body arrive in one segment.
  ASSERT_TRUE(
      c.send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
             "c8\r\n" +
             std::string(200, 'q') + "\r\n0\r\n\r\n"));
  expect_refused_and_closed(c, 413);
  EXPECT_EQ(up.requests(), before) << "upstream saw: " << up.last_head();
}

TEST(HttpStrictnessLimits, StreamedChunkedBodyOverClientMaxBodySizeGets413AndCloses) {
  Upstream up;
  Torii t(route_to(up), "    client_max_body_size: 64k\n");
  Conn c(t.port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk = "1000\r\n" + std::string(4096, 'q') + "\r\n";
  // 64 chunks of 4 KiB = 256 KiB, well past the limit; stop once refused.
  for (int i = 0; i < 64; ++i) {
    if (!c.send(chunk)) break;
    pollfd p{c.fd(), POLLIN, 0};
    if (::poll(&p, 1, 5) > 0) break;
  }
  expect_refused_and_closed(c, 413);
}

TEST(HttpStrictnessLimits, ExpectContinueOverTheLimitGets413WithoutContinue) {
  Upstream up;
  Torii t(route_to(up), "    client_max_body_size: 1k\n");
  const int before = up.requests();
  Conn c(t.port());
  ASSERT_TRUE(
      c.send("POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
             "Content-Length: 5000\r\n\r\n"));
  expect_refused_and_closed(c, 413);
  EXPECT_EQ(up.requests(), before);
}

// A chunked POST whose body starts with `first`: once the upstream has the
// head (and those chunks), `rest` breaks the framing. 400 and the close.
void expect_refused_mid_body(const std::string& first, const std::string& rest) {
  Upstream up;
  Torii t(route_to(up));
  Conn c(t.port());
  ASSERT_TRUE(
      c.send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + first));
  ASSERT_TRUE(wait_until([&] { return up.last_head().rfind("POST /echo", 0) == 0; }, 3s));
  ASSERT_TRUE(c.send(rest + kSmuggled));
  expect_refused_and_closed(c, 400);
}

TEST(HttpStrictnessLimits, BadChunkMidStreamGets400AndCloses) {
  expect_refused_mid_body("5\r\nhello\r\n", "zz\r\nworld\r\n0\r\n\r\n");
}

// The CRLF after a chunk's data arrives in a later read than the data.
TEST(HttpStrictnessLimits, ChunkDataWithoutItsCrlfInALaterReadGets400AndCloses) {
  expect_refused_mid_body("5\r\nhello\r", "X0\r\n\r\n");
}

// nginx accepts raw bytes >= 0x80 in a target (UTF-8 paths); so does Torii.
TEST(HttpStrictnessLimits, Utf8BytesInTheTargetAreProxied) {
  Upstream up;
  Torii t(route_to(up));
  Conn c(t.port());
  ASSERT_TRUE(c.send("GET /echo/caf\xc3\xa9?q=\xe4\xb8\xad HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto r = c.read_response(5s);
  ASSERT_TRUE(r.has_value()) << c.pending();
  EXPECT_EQ(r->status, 200) << r->head;
  EXPECT_EQ(up.last_head().rfind("GET /echo/caf\xc3\xa9?q=\xe4\xb8\xad HTTP/1.1\r\n", 0), 0u)
      << up.last_head();
}

// ------------------------------------------------------------ timeouts

// Sends `bytes` one at a time every `gap` until the server answers or closes;
// returns how long after the first byte that happened (or nullopt if never).
std::optional<std::chrono::milliseconds> trickle(Conn& c, const std::string& bytes,
                                                 std::chrono::milliseconds gap) {
  const auto start = std::chrono::steady_clock::now();
  for (const char ch : bytes) {
    if (!c.send(std::string_view(&ch, 1))) break;
    if (c.fill(std::chrono::steady_clock::now() + gap) || c.eof()) break;
  }
  if (c.pending().empty() && !c.eof()) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start);
}

// nginx closes without a response when client_header_timeout fires and logs
// 408; a 408 reply before the close is fine too. Anything else is not.
void expect_nothing_or_408(Conn& c) {
  if (!c.pending().empty()) {
    EXPECT_EQ(c.pending().rfind("HTTP/1.1 408", 0), 0u) << c.pending();
  }
}

TEST(HttpStrictnessTimeouts, SlowlorisHeadersAreCutOffByClientHeaderTimeout) {
  Upstream up;
  Torii t(route_to(up), "    client_header_timeout: 1s\n");
  const int before = up.requests();
  Conn c(t.port());
  ASSERT_TRUE(c.send("GET /echo HTTP/1.1\r\nHost: a\r\n"));
  // 35 more bytes at 100 ms each would take 3.5 s: progress must not extend
  // the timeout, which runs from the first byte of the head.
  const auto took = trickle(c, "X-Slow: " + std::string(27, 's'), 100ms);
  ASSERT_TRUE(took.has_value()) << "the slow client was never cut off";
  EXPECT_LT(took->count(), 2000) << "cut off only after " << took->count() << " ms";
  EXPECT_GE(took->count(), 700) << "cut off before the timeout";
  expect_nothing_or_408(c);
  EXPECT_TRUE(c.closed_within(2s));
  EXPECT_EQ(up.requests(), before);
}

TEST(HttpStrictnessTimeouts, SilentPartialHeadIsClosedByClientHeaderTimeoutAndLogged408) {
  Upstream up;
  Torii t(route_to(up), "    client_header_timeout: 1s\n");
  const int before = up.requests();
  Conn c(t.port());
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.send("GET /echo HTTP/1.1\r\nHost: a\r\n"));
  ASSERT_TRUE(c.closed_within(4s));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 800ms);
  EXPECT_LT(took, 2500ms);
  expect_nothing_or_408(c);
  EXPECT_TRUE(wait_until([&] { return t.access_log().find("\" 408 ") != std::string::npos; }, 3s))
      << "access log:\n"
      << t.access_log();
  EXPECT_EQ(up.requests(), before);
}

TEST(HttpStrictnessTimeouts, IdleKeepAliveConnectionIsClosedAfterKeepaliveTimeout) {
  Upstream up;
  Torii t(route_to(up), "    keepalive_timeout: 1s\n");
  Conn c(t.port());
  ASSERT_TRUE(c.send("GET /echo HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto r = c.read_response(5s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->headers.count("connection"), 0u) << "kept alive: " << r->head;
  const auto idle_from = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.closed_within(4s)) << "idle keep-alive connection never closed";
  const auto idle = std::chrono::steady_clock::now() - idle_from;
  EXPECT_GE(idle, 800ms);
  EXPECT_LT(idle, 2500ms);
  EXPECT_EQ(c.pending(), "") << "nothing is sent when an idle connection is closed";
}

TEST(HttpStrictnessTimeouts, StalledBodyIsClosedAfterClientBodyTimeout) {
  Upstream up;
  Torii t(route_to(up), "    client_body_timeout: 1s\n");
  Conn c(t.port());
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n" +
                     std::string(10, 'b')));
  ASSERT_TRUE(c.closed_within(4s)) << "a stalled body kept the connection open";
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 800ms);
  EXPECT_LT(took, 2500ms);
  expect_nothing_or_408(c);
  // The gateway is still serving.
  EXPECT_EQ(http_get(t.url("/echo")).status, 200);
}

}  // namespace
}  // namespace torii::testing
