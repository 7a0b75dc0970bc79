// prometheus through the real binary: requests on a route carrying the
// plugin show up on the export server (plugin_attr.prometheus.export_addr)
// as apisix_http_status / apisix_http_latency / apisix_bandwidth series;
// a global rule plus a route copy counts once (prefer_route); the Admin
// API refuses a bad conf with APISIX's message; and a measurement of
// request latency while 10,000 routes' series are scraped again and again
// (prints figures, asserts nothing about time).
//
// prometheus counts in the log phase, which runs after the response is sent
// (as nginx's does), so a client may see its answer before the count lands:
// assertions scrape until the expected series are there (bounded), then
// check exact values. The harness's readiness probe (GET /__torii_ready) is
// an unmatched request, counted by a global rule: those tests start from
// the count it left.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace torii::testing {
namespace {

struct Exporter : MetricsExport {
  // Scrapes until `settled` holds on the body or 10 s pass; returns the
  // last body.
  std::string scrape_until(const std::function<bool(const std::string&)>& settled) const {
    std::string body;
    wait_until([&] {
      body = scrape();
      return settled(body);
    });
    return body;
  }
};

// The value of the first sample whose line starts with `prefix`, or nullopt.
std::optional<double> sample(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return std::nullopt;
}

std::string route_yaml(const std::string& id, const std::string& uri, const Upstream& up,
                       const std::string& plugins) {
  return "  - id: \"" + id + "\"\n    uri: \"" + uri + "\"\n    plugins: " + plugins +
         "\n    upstream:\n      nodes:\n        \"" + up.node() + "\": 1\n";
}

TEST(PluginPrometheus, RouteRequestsAreCountedOnTheExportServer) {
  Upstream up;
  Exporter ex;
  Torii t("routes:\n" + route_yaml("1", "/hello", up, "{\"prometheus\": {}}") +
              route_yaml("2", "/plain", up, "{}"),
          ex.config());
  constexpr int kRequests = 5;
  for (int i = 0; i < kRequests; ++i) ASSERT_EQ(http_get(t.url("/hello")).status, 200);
  ASSERT_EQ(http_get(t.url("/plain")).status, 200);  // no plugin: not counted

  auto r = ex.scrape_response();
  ASSERT_EQ(r.error, "") << t.error_log();
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "text/plain; version=0.0.4");
  const std::string labels = "route=\"1\",service=\"\",consumer=\"\",node=\"127.0.0.1\","
                             "request_type=\"traditional_http\",request_llm_model=\"\","
                             "llm_model=\"\"";
  // The apisix latency is the last series a request's log phase observes.
  const std::string m = ex.scrape_until([&](const std::string& text) {
    return sample(text, "apisix_http_latency_count{type=\"apisix\"," + labels + "}").value_or(0) >=
           kRequests;
  });
  EXPECT_EQ(sample(m, "apisix_http_status{code=\"200\",route=\"1\","), kRequests) << m;
  EXPECT_NE(m.find("# HELP apisix_http_status HTTP status codes per service in APISIX\n"
                   "# TYPE apisix_http_status counter\n"),
            std::string::npos);
  EXPECT_FALSE(sample(m, "apisix_http_status{code=\"200\",route=\"2\","));
  for (const char* type : {"request", "upstream", "apisix"}) {
    EXPECT_EQ(sample(m, std::string("apisix_http_latency_count{type=\"") + type + "\"," + labels +
                            "}"),
              kRequests)
        << type << "\n"
        << m;
    EXPECT_EQ(sample(m, std::string("apisix_http_latency_bucket{type=\"") + type + "\"," +
                            labels + ",le=\"+Inf\"}"),
              kRequests);
  }
  auto ingress = sample(m, "apisix_bandwidth{type=\"ingress\"," + labels + "}");
  auto egress = sample(m, "apisix_bandwidth{type=\"egress\"," + labels + "}");
  ASSERT_TRUE(ingress && egress) << m;
  EXPECT_GT(*ingress, kRequests * 30);  // "GET /hello HTTP/1.1" + Host + ...
  EXPECT_GT(*egress, 0);
  EXPECT_NE(m.find("apisix_node_info{hostname=\""), std::string::npos);

  // nginx's request count (every request read, with or without the plugin):
  // the readiness probe, the 6 above and any probe since.
  const auto total = sample(m, "apisix_http_requests_total ");
  ASSERT_TRUE(total) << m;
  EXPECT_GE(*total, kRequests + 1);
  const std::string later = ex.scrape_until([&](const std::string& text) {
    for (int i = 0; i < 3; ++i) http_get(t.url("/plain"));
    return sample(text, "apisix_http_requests_total ").value_or(0) >= *total + 3;
  });
  EXPECT_NE(later.find("# TYPE apisix_http_requests_total gauge\n"), std::string::npos) << later;

  // The data plane does not serve the metrics; other paths on the exporter 404.
  EXPECT_EQ(http_get("http://127.0.0.1:" + std::to_string(ex.port) + "/metrics").status, 404);
}

TEST(PluginPrometheus, ErrorsAndUnmatchedRequestsAreCountedByAGlobalRule) {
  Upstream up;
  Exporter ex;
  Torii t("routes:\n" + route_yaml("1", "/hello", up, "{}") +
              "global_rules:\n  - id: g\n    plugins:\n      prometheus: {}\n",
          ex.config());
  const std::string ok = "apisix_http_status{code=\"200\",route=\"1\",";
  const std::string unmatched =
      "apisix_http_status{code=\"404\",route=\"\",matched_uri=\"\",matched_host=\"\","
      "service=\"\",consumer=\"\",node=\"\",";
  // The probe closed its connection after the log phase ran: this is settled.
  const std::string at_start = ex.scrape();
  const double probes = sample(at_start, unmatched).value_or(0);
  EXPECT_GE(probes, 1) << at_start;
  EXPECT_FALSE(sample(at_start, ok));

  ASSERT_EQ(http_get(t.url("/hello")).status, 200);
  ASSERT_EQ(http_get(t.url("/nowhere")).status, 404);
  const std::string m = ex.scrape_until([&](const std::string& text) {
    return sample(text, ok).value_or(0) >= 1 && sample(text, unmatched).value_or(0) >= probes + 1;
  });
  EXPECT_EQ(sample(m, ok), 1) << m;
  EXPECT_EQ(sample(m, unmatched), probes + 1) << m;
}

TEST(PluginPrometheus, GlobalRuleAndRouteCopyCountOnce) {
  Upstream up;
  Exporter ex;
  Torii t("routes:\n" + route_yaml("1", "/hello", up, "{\"prometheus\": {\"prefer_name\": true}}") +
              "    name: hello-route\n" +
              "global_rules:\n  - id: g\n    plugins:\n      prometheus: {}\n",
          ex.config());
  for (int i = 0; i < 3; ++i) ASSERT_EQ(http_get(t.url("/hello")).status, 200);
  const std::string m = ex.scrape_until([](const std::string& text) {
    const auto status = sample(text, "apisix_http_status{code=\"200\",route=\"hello-route\",");
    const auto latency =
        sample(text, "apisix_http_latency_count{type=\"request\",route=\"hello-route\",");
    return status.value_or(0) >= 3 && latency.value_or(0) >= 3;
  });
  // Only the route's copy ran (prefer_name: the route's name is the label).
  EXPECT_EQ(sample(m, "apisix_http_status{code=\"200\",route=\"hello-route\","), 3) << m;
  EXPECT_FALSE(sample(m, "apisix_http_status{code=\"200\",route=\"1\","));
  EXPECT_EQ(sample(m, "apisix_http_latency_count{type=\"request\",route=\"hello-route\","), 3);
}

TEST(PluginPrometheus, AConsumersCopyAndTheGlobalRuleCountOnce) {
  // prefer_route is decided against the chain that runs: once jack's
  // prometheus joins the route, the global copy stands aside.
  Upstream up;
  Exporter ex;
  Torii t("consumers:\n  - username: jack\n    plugins:\n      key-auth: {key: jack-key}\n"
          "      prometheus: {prefer_name: true}\n"
          "routes:\n" + route_yaml("1", "/hello", up, "{\"key-auth\": {}}") +
              "    name: hello-route\n" +
              "global_rules:\n  - id: g\n    plugins:\n      prometheus: {}\n",
          "plugins:\n  - key-auth\n" + ex.config().substr(std::string("plugins:\n").size()));
  constexpr int kRequests = 5;
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_EQ(http_get(t.url("/hello"), {"apikey: jack-key"}).status, 200) << t.stderr_text()
                                                                          << t.error_log();
  }
  const std::string consumer_copy = "apisix_http_status{code=\"200\",route=\"hello-route\",";
  const std::string global_copy = "apisix_http_status{code=\"200\",route=\"1\",";
  const std::string m = ex.scrape_until([&](const std::string& text) {
    return sample(text, consumer_copy).value_or(0) + sample(text, global_copy).value_or(0) >=
           kRequests;
  });
  EXPECT_EQ(sample(m, consumer_copy), kRequests) << m;
  EXPECT_FALSE(sample(m, global_copy)) << m;
}

TEST(PluginPrometheus, AdminApiRefusesABadConfWithApisixMessage) {
  ToriiOptions o;
  o.deployment =
      "deployment:\n  role: traditional\n  role_traditional:\n    config_provider: sqlite\n";
  Torii t(o);
  auto r = t.admin("PUT", "/routes/1",
                   R"({"uri":"/hello","plugins":{"prometheus":{"prefer_name":"yes"}},)"
                   R"("upstream":{"nodes":{"127.0.0.1:1980":1}}})");
  EXPECT_EQ(r.status, 400);
  boost::json::error_code ec;
  const auto body = boost::json::parse(r.body, ec);
  ASSERT_FALSE(ec) << r.body;
  EXPECT_EQ(body.at("error_msg").as_string(),
            "failed to check the configuration of plugin prometheus err: property "
            "\"prefer_name\" validation failed: wrong type: expected boolean, got string");
  auto ok = t.admin("PUT", "/routes/1",
                    R"({"uri":"/hello","plugins":{"prometheus":{"prefer_name":true}},)"
                    R"("upstream":{"nodes":{"127.0.0.1:1980":1}}})");
  EXPECT_EQ(ok.status, 201) << ok.body;
}

// A blocking keep-alive HTTP/1.1 client: one connection for many requests,
// a new one when the server ends it with "Connection: close" (as it does
// after keepalive_requests, nginx's 1000), as any real client would.
class KeepAliveClient {
 public:
  explicit KeepAliveClient(uint16_t port) : port_(port) { connect(); }
  ~KeepAliveClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  // Status of GET `path`, 0 on a connection error.
  int get(const std::string& path) {
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
    if (fd_ < 0 || ::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
      return 0;
    }
    size_t head_end;
    while ((head_end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return 0;
    }
    const int status = std::stoi(buf_.substr(9, 3));
    size_t len = 0;
    std::string head = buf_.substr(0, head_end);
    std::transform(head.begin(), head.end(), head.begin(), ::tolower);
    if (auto p = head.find("content-length: "); p != std::string::npos) {
      len = std::stoul(head.substr(p + 16));
    }
    while (buf_.size() < head_end + 4 + len) {
      if (!fill()) return 0;
    }
    buf_.erase(0, head_end + 4 + len);
    if (head.find("\r\nconnection: close") != std::string::npos) connect();
    return status;
  }

 private:
  void connect() {
    if (fd_ >= 0) ::close(fd_);
    buf_.clear();
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
    int one = 1;
    if (fd_ >= 0) ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  bool fill() {
    char tmp[16384];
    const ssize_t n = ::recv(fd_, tmp, sizeof(tmp), 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }
  uint16_t port_;
  int fd_ = -1;
  std::string buf_;
};

struct Percentiles {
  double p50_ms, p99_ms, max_ms;
};

Percentiles percentiles(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v[v.size() * 99 / 100], v.back()};
}

// Measurement: 10,000 routes with prometheus, every one requested so each
// has its series; then request p99 without and during back-to-back scrapes.
TEST(PluginPrometheus, ScrapeOf10000RoutesUnderLoadPrintsFigures) {
  constexpr int kRoutes = 10000;
  Upstream up;
  Exporter ex;
  std::string yaml = "routes:\n";
  yaml.reserve(kRoutes * 160);
  for (int i = 0; i < kRoutes; ++i) {
    yaml += route_yaml(std::to_string(i), "/r/" + std::to_string(i), up, "{\"prometheus\": {}}");
  }
  Torii t(yaml, ex.config());
  {
    KeepAliveClient c(t.port());
    for (int i = 0; i < kRoutes; ++i) ASSERT_EQ(c.get("/r/" + std::to_string(i)), 200) << i;
  }
  auto measure = [&](int requests) {
    std::vector<double> ms;
    KeepAliveClient c(t.port());
    for (int n = 0; n < requests; ++n) {
      const auto t0 = std::chrono::steady_clock::now();
      EXPECT_EQ(c.get("/r/" + std::to_string((n * 7919) % kRoutes)), 200);
      ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    return ms;
  };
  const Percentiles quiet = percentiles(measure(3000));

  std::atomic<bool> done{false};
  int scrapes = 0;
  double scrape_ms = 0;
  size_t scrape_bytes = 0;
  std::thread scraper([&] {
    while (!done.load()) {
      const auto t0 = std::chrono::steady_clock::now();
      auto r = ex.scrape_response();
      scrape_ms +=
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (r.status != 200) break;
      scrape_bytes = r.body.size();
      ++scrapes;
    }
  });
  const Percentiles busy = percentiles(measure(3000));
  done = true;
  scraper.join();
  EXPECT_GT(scrapes, 0);
  std::printf(
      "[ figures ] %d routes with prometheus, 2 workers\n"
      "[ figures ] request latency without scrapes: p50 %.3f ms, p99 %.3f ms, max %.2f ms\n"
      "[ figures ] request latency during scrapes:  p50 %.3f ms, p99 %.3f ms, max %.2f ms\n"
      "[ figures ] %d scrapes, %.0f ms each, %.1f MiB each\n",
      kRoutes, quiet.p50_ms, quiet.p99_ms, quiet.max_ms, busy.p50_ms, busy.p99_ms, busy.max_ms,
      scrapes, scrapes ? scrape_ms / scrapes : 0.0,
      static_cast<double>(scrape_bytes) / (1024.0 * 1024.0));
}

}  // namespace
}  // namespace torii::testing
