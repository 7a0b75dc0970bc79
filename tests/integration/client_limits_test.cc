// torii.client_limits through the real binary, clients on distinct loopback
// source addresses (127.0.0.0/8): the per-IP and node-wide connection caps
// reset the extra connection at accept, the per-IP request rate answers 429
// and closes, repeated violations ban the IP at accept until the ban
// expires, SIGHUP applies new limits, the header/body timeouts are counted,
// and a bounded flood from one IP leaves another IP's requests all served.
// Every refusal is checked on the prometheus export server as well.
//
// Waits poll for a condition (wait_until); nothing asserts on time.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "http_wire.h"

namespace torii::testing {
namespace {

using namespace std::chrono_literals;
using wire::Conn;

const std::string kGet = "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n";

using Exporter = MetricsExport;

// The value of the sample named exactly `series` (with its labels), or 0.
double sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return 0;
}

std::string rejected(const std::string& reason) {
  return "apisix_client_limit_rejected_total{reason=\"" + reason + "\"}";
}

// Waits until the exporter shows `series` at `at_least` or more; returns its value.
double scrape_until(const Exporter& ex, const std::string& series, double at_least) {
  double v = 0;
  wait_until([&] {
    v = sample(ex.scrape(), series);
    return v >= at_least;
  });
  return v;
}

std::string routes(const Upstream& up) {
  return "routes:\n  - id: all\n    uri: \"/*\"\n    upstream:\n      nodes:\n        \"" +
         up.node() + "\": 1\n";
}

// A gateway with `limits` under torii.client_limits (indented by 4) and
// `http` under nginx_config.http, plus the prometheus exporter.
struct Gateway {
  Gateway(const std::string& limits, const std::string& http = "")
      : torii(routes(up), http + "torii:\n  client_limits:\n" + limits + ex.config()) {}
  Upstream up;
  Exporter ex;
  Torii torii;
};

// One request on `c` (kept alive); the status, or 0 when none came.
int request_on(Conn& c) {
  if (!c.connected() || !c.send(kGet)) return 0;
  auto r = c.read_response(5s);
  return r ? r->status : 0;
}

// A new connection from `ip` that got a 200 and stays open.
std::unique_ptr<Conn> served_conn(uint16_t port, const char* ip) {
  auto c = std::make_unique<Conn>(port, ip);
  return request_on(*c) == 200 ? std::move(c) : nullptr;
}

// Waits until a connection from `ip` is served (a slot freed, a ban ended).
std::unique_ptr<Conn> served_conn_eventually(uint16_t port, const char* ip) {
  std::unique_ptr<Conn> c;
  wait_until([&] {
    c = served_conn(port, ip);
    return c != nullptr;
  });
  return c;
}

// A connection from `ip` the gateway drops at accept: no byte of any reply,
// then EOF or reset.
bool refused_at_accept(uint16_t port, const char* ip) {
  Conn c(port, ip);
  if (!c.connected()) return false;
  c.send(kGet);  // may fail: the reset can come first
  const bool answered = c.read_response(5s).has_value();
  return !answered && c.eof() && c.pending().empty();
}

TEST(ClientLimits, PerIpConnectionCapResetsTheExtraConnectionAtAccept) {
  Gateway g("    max_connections_per_ip: 2\n");
  const uint16_t port = g.torii.port();
  const int base = g.up.requests();  // the harness's readiness probe
  auto a1 = served_conn(port, "127.0.0.2");
  auto a2 = served_conn(port, "127.0.0.2");
  ASSERT_TRUE(a1 && a2);
  EXPECT_TRUE(refused_at_accept(port, "127.0.0.2"));
  // Other clients are not affected; the two connections still work.
  EXPECT_TRUE(served_conn(port, "127.0.0.1"));
  EXPECT_TRUE(served_conn(port, "127.0.0.3"));
  EXPECT_EQ(request_on(*a1), 200);
  // A closed connection frees its slot.
  a1.reset();
  EXPECT_TRUE(served_conn_eventually(port, "127.0.0.2"));
  // 1, plus any attempt of served_conn_eventually() before the close landed.
  EXPECT_GE(scrape_until(g.ex, rejected("connections_per_ip"), 1), 1);
  EXPECT_EQ(g.up.requests() - base, 6);  // the refused connection never reached it
}

TEST(ClientLimits, NodeWideCapRefusesPastItWhateverTheIp) {
  Gateway g("    max_connections: 3\n");
  const uint16_t port = g.torii.port();
  // Eventually: the readiness probe's connection may still be closing.
  auto c1 = served_conn_eventually(port, "127.0.0.2");
  auto c2 = served_conn_eventually(port, "127.0.0.3");
  auto c3 = served_conn_eventually(port, "127.0.0.4");
  ASSERT_TRUE(c1 && c2 && c3);
  EXPECT_TRUE(refused_at_accept(port, "127.0.0.5"));
  EXPECT_TRUE(refused_at_accept(port, "127.0.0.1"));
  c2.reset();
  EXPECT_TRUE(served_conn_eventually(port, "127.0.0.5"));
  EXPECT_GE(scrape_until(g.ex, rejected("connections"), 2), 2);
  EXPECT_EQ(sample(g.ex.scrape(), rejected("connections_per_ip")), 0);
}

TEST(ClientLimits, RequestRateOverTheBurstGets429WithRetryAfterAndClose) {
  // One request per 100 s after a burst of 2: the 4th request is refused.
  Gateway g("    requests_per_second_per_ip: 0.01\n    burst: 2\n");
  const uint16_t port = g.torii.port();
  const int base = g.up.requests();
  Conn c(port, "127.0.0.3");
  for (int i = 0; i < 3; ++i) ASSERT_EQ(request_on(c), 200) << i;
  ASSERT_TRUE(c.send(kGet));
  auto r = c.read_response(5s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(r->headers["connection"], "close");
  EXPECT_EQ(r->headers["content-type"], "application/json");
  EXPECT_EQ(r->body, "{\"error_msg\":\"429 Too Many Requests\"}\n");
  ASSERT_FALSE(r->headers["retry-after"].empty());
  EXPECT_GE(std::stoi(r->headers["retry-after"]), 1);
  EXPECT_TRUE(c.closed_within(5s));
  // A new connection is accepted (no connection limit) but still refused.
  Conn again(port, "127.0.0.3");
  EXPECT_EQ(request_on(again), 429);
  // Another IP has its own rate.
  Conn other(port, "127.0.0.4");
  EXPECT_EQ(request_on(other), 200);
  EXPECT_EQ(scrape_until(g.ex, rejected("rate"), 2), 2);
  EXPECT_EQ(g.up.requests() - base, 4);
  EXPECT_TRUE(wait_until([&] { return g.torii.access_log().find("\" 429 ") != std::string::npos; }))
      << g.torii.access_log();
}

TEST(ClientLimits, RepeatedViolationsBanTheIpAtAcceptUntilTheBanExpires) {
  Gateway g(
      "    max_connections_per_ip: 1\n    ban:\n      after_violations: 2\n"
      "      within: 60s\n      duration: 2s\n");
  const uint16_t port = g.torii.port();
  auto held = served_conn(port, "127.0.0.4");
  ASSERT_TRUE(held);
  EXPECT_TRUE(refused_at_accept(port, "127.0.0.4"));
  EXPECT_TRUE(refused_at_accept(port, "127.0.0.4"));  // the 2nd violation: banned
  EXPECT_TRUE(refused_at_accept(port, "127.0.0.4"));  // refused as banned
  EXPECT_TRUE(served_conn(port, "127.0.0.1"));        // others are served meanwhile
  const std::string m = g.ex.scrape();
  EXPECT_EQ(sample(m, "apisix_client_limit_bans_total"), 1);
  EXPECT_EQ(sample(m, rejected("connections_per_ip")), 2);
  EXPECT_EQ(sample(m, rejected("banned")), 1);
  EXPECT_NE(g.torii.error_log().find("client 127.0.0.4 banned"), std::string::npos)
      << g.torii.error_log();
  // The connection admitted before the ban keeps working; once it is closed
  // and the ban is over, the IP is served again.
  EXPECT_EQ(request_on(*held), 200);
  held.reset();
  EXPECT_TRUE(served_conn_eventually(port, "127.0.0.4"));
  EXPECT_EQ(sample(g.ex.scrape(), "apisix_client_limit_bans_total"), 1);
}

TEST(ClientLimits, SighupAppliesNewLimits) {
  Gateway g("    max_connections_per_ip: 1\n");
  const uint16_t port = g.torii.port();
  auto a1 = served_conn(port, "127.0.0.2");
  ASSERT_TRUE(a1);
  EXPECT_TRUE(refused_at_accept(port, "127.0.0.2"));

  std::string cfg = g.torii.dir().read("config.yaml");
  const std::string from = "max_connections_per_ip: 1\n";
  ASSERT_NE(cfg.find(from), std::string::npos);
  cfg.replace(cfg.find(from), from.size(), "max_connections_per_ip: 3\n");
  g.torii.dir().write("config.yaml", cfg);
  g.torii.signal(SIGHUP);
  // Refused until the reload lands, then served.
  auto a2 = served_conn_eventually(port, "127.0.0.2");
  auto a3 = served_conn(port, "127.0.0.2");
  EXPECT_TRUE(a2 && a3);
  EXPECT_TRUE(refused_at_accept(port, "127.0.0.2"));
}

TEST(ClientLimits, HeaderAndBodyTimeoutsAreCounted) {
  Gateway g("    max_connections: 1000\n",
            "    client_header_timeout: 1s\n    client_body_timeout: 1s\n");
  const uint16_t port = g.torii.port();
  {
    Conn c(port);
    ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\nHost: a\r\n"));  // never finished
    auto r = c.read_response(10s);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 408);
  }
  {
    Conn c(port);
    ASSERT_TRUE(c.send("POST /hello HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nab"));
    EXPECT_TRUE(c.closed_within(10s));
  }
  EXPECT_EQ(scrape_until(g.ex, "apisix_client_timeouts_total{phase=\"header\"}", 1), 1);
  EXPECT_EQ(scrape_until(g.ex, "apisix_client_timeouts_total{phase=\"body\"}", 1), 1);
}

// The acceptance test: a flood from 127.0.0.2 (bounded: 4 threads,
// at most 5000 connections of up to 20 requests each, about a second on
// loopback once the IP is banned; a thread also stops after 3 s once it saw
// refusals) while a well-behaved client on 127.0.0.1 sends a request every
// 100 ms: every one of its requests is served, during and after the flood.
TEST(ClientLimits, FloodFromOneIpLeavesAnotherIpServed) {
  Gateway g(
      "    max_connections: 10000\n    max_connections_per_ip: 16\n"
      "    requests_per_second_per_ip: 20\n    burst: 20\n"
      "    ban:\n      after_violations: 100\n      within: 10s\n      duration: 1s\n");
  const uint16_t port = g.torii.port();
  std::atomic<int> ok{0}, limited{0}, reset{0}, attempts{0}, flooding{4};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> flood;
  for (int t = 0; t < 4; ++t) {
    flood.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) {
        Conn c(port, "127.0.0.2");
        for (int k = 0; k < 20; ++k) {  // keep-alive until refused or closed
          attempts.fetch_add(1);
          const int status = request_on(c);
          if (status == 200) {
            ok.fetch_add(1);
            continue;
          }
          (status == 429 ? limited : reset).fetch_add(1);
          break;
        }
        if (std::chrono::steady_clock::now() - start > 3s && limited + reset > 0) break;
      }
      flooding.fetch_sub(1);
    });
  }
  int good = 0;
  std::vector<std::string> failures;
  double slowest_ms = 0;
  auto good_request = [&] {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = http_get(g.torii.url("/hello"));
    slowest_ms = std::max(
        slowest_ms,
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    ++good;
    if (r.status != 200) failures.push_back(std::to_string(r.status) + " " + r.error);
  };
  while (flooding > 0) {
    good_request();
    std::this_thread::sleep_for(100ms);
  }
  for (auto& th : flood) th.join();
  good_request();  // and after the flood
  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << good
                                << " requests from 127.0.0.1 failed, first: "
                                << (failures.empty() ? "" : failures.front());
  EXPECT_GT(limited + reset, 0);
  const std::string m = g.ex.scrape();
  EXPECT_GT(sample(m, rejected("rate")) + sample(m, rejected("banned")), 0);
  std::printf(
      "[ figures ] flood from 127.0.0.2: %d requests, %d served, %d got 429, %d reset; "
      "127.0.0.1: %d requests, slowest %.1f ms\n",
      attempts.load(), ok.load(), limited.load(), reset.load(), good, slowest_ms);
}

}  // namespace
}  // namespace torii::testing
