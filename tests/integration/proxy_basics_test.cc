// Basic proxying through the real binary: routing to an upstream, the 404
// body, headers sent upstream and back, keep-alive and pipelining.
#include <gtest/gtest.h>

#include <csignal>
#include <regex>

#include "harness.h"

namespace torii::testing {
namespace {

std::string one_route(const Upstream& up, const std::string& uri = "/*") {
  return "routes:\n  - id: r1\n    uri: \"" + uri + "\"\n    upstream:\n      nodes:\n        \"" +
         up.node() + "\": 1\n";
}

TEST(ProxyBasics, ProxiesToTheUpstreamAndBack) {
  Upstream up;
  Torii t(one_route(up));
  auto r = http_get(t.url("/hello"));
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello from " + std::to_string(up.port()));
  EXPECT_EQ(r.headers["x-upstream-port"], std::to_string(up.port()));
  EXPECT_EQ(r.headers["server"], "APISIX");
}

TEST(ProxyBasics, UnmatchedRouteAnswersApisix404Body) {
  Upstream up;
  Torii t(one_route(up, "/only"));
  auto r = http_get(t.url("/other"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "{\"error_msg\":\"404 Route Not Found\"}\n");
}

TEST(ProxyBasics, SetsForwardedHeadersLikeApisix) {
  Upstream up;
  Torii t(one_route(up));
  auto r = http_get(t.url("/echo?a=1"), {"X-Forwarded-For: 10.0.0.1", "Host: Example.com:8080",
                                         "Connection: keep-alive, X-Secret", "X-Secret: s",
                                         "Forwarded: for=1.2.3.4"});
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("uri=/echo?a=1"), std::string::npos);
  const std::string head = up.last_head();
  EXPECT_NE(head.find("Host: Example.com:8080\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("X-Real-IP: 127.0.0.1\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("X-Forwarded-For: 10.0.0.1, 127.0.0.1\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("X-Forwarded-Proto: http\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("X-Forwarded-Host: example.com\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("X-Forwarded-Port: " + std::to_string(t.port()) + "\r\n"), std::string::npos);
  EXPECT_EQ(head.find("X-Secret"), std::string::npos) << "listed in Connection: hop-by-hop";
  EXPECT_EQ(head.find("Forwarded: for"), std::string::npos) << head;
}

TEST(ProxyBasics, PipelinedRequestsAreAnsweredInOrder) {
  Upstream up;
  Torii t(one_route(up));
  std::string reqs;
  for (int i = 0; i < 5; ++i) {
    reqs += "GET /echo/" + std::to_string(i) + " HTTP/1.1\r\nHost: a\r\n\r\n";
  }
  reqs += "GET /echo/last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
  const std::string out = raw_exchange(t.port(), reqs);
  size_t pos = 0;
  for (int i = 0; i < 5; ++i) {
    pos = out.find("uri=/echo/" + std::to_string(i) + "\n", pos);
    ASSERT_NE(pos, std::string::npos) << i << "\n" << out;
  }
  EXPECT_NE(out.find("uri=/echo/last", pos), std::string::npos);
}

TEST(ProxyBasics, HeadAnd204And304HaveNoBody) {
  Upstream up;
  Torii t(one_route(up));
  const std::string out = raw_exchange(
      t.port(),
      "HEAD /bytes/100 HTTP/1.1\r\nHost: a\r\n\r\nGET /status/204 HTTP/1.1\r\nHost: a\r\n\r\n"
      "GET /status/304 HTTP/1.1\r\nHost: a\r\n\r\nGET /port HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_NE(out.find("Content-Length: 100\r\n"), std::string::npos) << out;
  const size_t p204 = out.find("HTTP/1.1 204");
  const size_t p304 = out.find("HTTP/1.1 304");
  const size_t p200 = out.find("HTTP/1.1 200", p304);
  ASSERT_NE(p204, std::string::npos) << out;
  ASSERT_NE(p304, std::string::npos) << out;
  ASSERT_NE(p200, std::string::npos) << out;
  EXPECT_EQ(out.find("xxxx"), std::string::npos) << "HEAD response carried a body";
  EXPECT_EQ(out.substr(p304 - 4, 4), "\r\n\r\n");
  EXPECT_NE(out.find(std::to_string(up.port()), p200), std::string::npos);
}

TEST(ProxyBasics, KeepAliveReusesUpstreamConnections) {
  Upstream up;
  Torii t(one_route(up), "", 1);
  const int before = up.requests();
  for (int i = 0; i < 20; ++i) ASSERT_EQ(http_get(t.url("/x")).status, 200);
  EXPECT_EQ(up.requests() - before, 20);
  EXPECT_LE(up.connections(), 2) << "upstream keepalive pool not used";
}

TEST(ProxyBasics, RouteWithoutUpstreamAnswers503AndKeepsServing) {
  Upstream up;
  Torii t("routes:\n  - uri: /noup\n    plugins: {}\n" + one_route(up).substr(8));
  for (int i = 0; i < 5; ++i) {
    auto r = http_get(t.url("/noup"));
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.status, 503);
  }
  EXPECT_EQ(http_get(t.url("/x")).status, 200);
  EXPECT_TRUE(t.running());
  EXPECT_NE(t.error_log().find("missing upstream configuration in Route or Service"),
            std::string::npos)
      << t.error_log();
}

TEST(ProxyBasics, AccessLogRecordsWhoCausedAnError) {
  const uint16_t dead = free_port();
  Torii t("routes:\n  - uri: /*\n    upstream:\n      nodes:\n        \"127.0.0.1:" +
              std::to_string(dead) + "\": 1\n",
          "    access_log_format: \"$status $torii_error_source [$torii_error]\"\n");
  EXPECT_EQ(http_get(t.url("/x")).status, 502);
  EXPECT_EQ(raw_exchange(t.port(), "GET / HTTP/1.1\r\n\r\n").substr(0, 12), "HTTP/1.1 400");
  ASSERT_TRUE(wait_until([&] { return t.access_log().find("400 downstream") != std::string::npos; }))
      << t.access_log();
  const std::string log = t.access_log();
  EXPECT_NE(log.find("502 upstream [connect failed to 127.0.0.1:" + std::to_string(dead)),
            std::string::npos)
      << log;
}

TEST(ProxyBasics, IdleWebSocketTunnelClosesAfterTheReadTimeout) {
  Upstream up;
  Torii t("routes:\n  - uri: /ws\n    enable_websocket: true\n    upstream:\n      timeout:\n"
          "        connect: 1\n        send: 1\n        read: 0.5\n      nodes:\n        \"" +
          up.node() + "\": 1\n");
  const auto start = std::chrono::steady_clock::now();
  const std::string out = raw_exchange(
      t.port(),
      "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nping",
      std::chrono::seconds(5));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(out.substr(0, 12), "HTTP/1.1 101") << out;
  EXPECT_NE(out.find("ping"), std::string::npos) << out;
  EXPECT_LT(elapsed, std::chrono::seconds(4)) << "the idle tunnel was not closed";
}

TEST(ProxyBasics, ForwardedHeadersFromTrustedAddressesArePassedOthersReplaced) {
  Upstream up;
  Torii t(one_route(up));
  const std::vector<std::string> sent = {"X-Forwarded-Proto: https", "X-Forwarded-Host: api.example.com",
                                         "X-Forwarded-Port: 443", "Forwarded: for=10.0.0.1"};
  ASSERT_EQ(http_get(t.url("/echo"), sent).status, 200);
  std::string head = up.last_head();
  EXPECT_NE(head.find("X-Forwarded-Proto: http\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("X-Forwarded-Port: " + std::to_string(t.port()) + "\r\n"), std::string::npos);
  EXPECT_EQ(head.find("api.example.com"), std::string::npos) << head;
  EXPECT_EQ(head.find("Forwarded: for"), std::string::npos) << head;

  // apisix.trusted_addresses covering the client, applied by SIGHUP.
  const std::string conf = t.dir().read("config.yaml");
  const size_t line_end = conf.find('\n', conf.find("node_listen:"));
  t.dir().write("config.yaml", conf.substr(0, line_end + 1) + "  trusted_addresses:\n    - 127.0.0.0/8\n" +
                                   conf.substr(line_end + 1));
  t.signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] {
    http_get(t.url("/echo"), sent);
    return up.last_head().find("X-Forwarded-Proto: https\r\n") != std::string::npos;
  })) << up.last_head();
  head = up.last_head();
  EXPECT_NE(head.find("X-Forwarded-Host: api.example.com\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("X-Forwarded-Port: 443\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("Forwarded: for=10.0.0.1\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.find("X-Forwarded-Proto: http\r\n"), std::string::npos) << "sent twice";
}

TEST(ProxyBasics, TimeIso8601IsWrittenLikeNginx) {
  Upstream up;
  Torii t(one_route(up), "    access_log_format: \"[$time_iso8601] $status\"\n");
  ASSERT_EQ(http_get(t.url("/x")).status, 200);
  ASSERT_TRUE(wait_until([&] { return t.access_log().find("] 200") != std::string::npos; }))
      << t.access_log();
  const std::regex iso(R"(\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d\] 200)");
  EXPECT_TRUE(std::regex_search(t.access_log(), iso)) << t.access_log();
}

TEST(ProxyBasics, Http10RequestWithoutHostSendsTheNodeHostUpstream) {
  Upstream up;
  Torii t(one_route(up));
  const std::string out = raw_exchange(t.port(), "GET /echo HTTP/1.0\r\n\r\n");
  EXPECT_EQ(out.substr(0, 12), "HTTP/1.1 200") << out;
  EXPECT_NE(up.last_head().find("Host: " + up.node() + "\r\n"), std::string::npos) << up.last_head();
}

}  // namespace
}  // namespace torii::testing
