// The upstream object through the real binary: node forms and weights,
// priority groups, upstream_id / service upstreams, chash keys, least_conn,
// retries and retry_timeout, timeouts, pass_host, the keep-alive pool, and
// upstreams that misbehave (garbage, a cut body).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "harness.h"
#include "http_wire.h"
#include "test_server.h"

namespace torii::testing {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------- helpers

std::string quoted_node(uint16_t port) { return "\"127.0.0.1:" + std::to_string(port) + "\""; }

// `nodes:` in map form, indented for an upstream at 6 spaces.
std::string map_nodes(const std::vector<std::pair<uint16_t, int>>& nodes) {
  std::string y = "      nodes:\n";
  for (const auto& [port, weight] : nodes) {
    y += "        " + quoted_node(port) + ": " + std::to_string(weight) + "\n";
  }
  return y;
}

// One route for every path these tests use, whose inline upstream is
// `upstream_body` (6-space lines). Not a catch-all, so the harness's
// readiness probe gets a 404 and never reaches the upstream servers.
std::string route_with(const std::string& upstream_body) {
  return "routes:\n  - id: r1\n"
         "    uris: [\"/port\", \"/echo\", \"/close\", \"/sleep/*\", \"/x\", \"/y\", \"/big\"]\n"
         "    upstream:\n" +
         upstream_body;
}

// Sends `n` GETs and counts answers by X-Upstream-Port (non-200s by status).
std::map<std::string, int> tally(const Torii& t, int n, const std::string& path = "/port",
                                 const std::vector<std::string>& headers = {}) {
  std::map<std::string, int> seen;
  for (int i = 0; i < n; ++i) {
    HttpResponse r = http_get(t.url(path), headers);
    if (r.status == 200) {
      ++seen[r.headers["x-upstream-port"]];
    } else {
      ++seen["status " + std::to_string(r.status) + " " + r.error];
    }
  }
  return seen;
}

std::string port_str(uint16_t p) { return std::to_string(p); }

bool log_has(const Torii& t, const std::string& needle) {
  return wait_until([&] { return t.access_log().find(needle) != std::string::npos; },
                    std::chrono::seconds(3));
}

// A loopback TCP server that runs `handler` for each connection on its own
// thread (TestServer). Unlike the harness Upstream it joins its threads on
// stop, so slow handlers cannot outlive the test, and it counts connections
// the peer (torii) closed.
class ScriptedServer {
 public:
  using Handler = std::function<void(ScriptedServer&, int fd)>;

  explicit ScriptedServer(Handler handler)
      : handler_(std::move(handler)),
        server_([this](TestConn& c) { handler_(*this, c.fd()); }) {}
  ~ScriptedServer() { stop(); }
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  uint16_t port() const { return server_.port(); }
  int accepted() const { return server_.accepted(); }
  int requests() const { return requests_.load(); }
  int peer_closed() const { return peer_closed_.load(); }
  bool stopping() const { return server_.stopping(); }
  void count_request() { ++requests_; }
  void count_peer_close() {
    if (!stopping()) ++peer_closed_;
  }
  void stop() { server_.stop(); }

 private:
  Handler handler_;
  std::atomic<int> requests_{0};
  std::atomic<int> peer_closed_{0};
  TestServer server_;  // last: its connection threads use the members above
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

std::string path_of(const std::string& head) {
  const size_t sp1 = head.find(' ');
  const size_t sp2 = head.find(' ', sp1 + 1);
  return head.substr(sp1 + 1, sp2 - sp1 - 1);
}

// Keep-alive HTTP/1.1: "/sleep/MS" answers after MS (early out when torii
// closes the connection), anything else at once; the body is the port.
void serve_http(ScriptedServer& s, int fd) {
  std::string buf, head;
  while (wire::read_request_head(fd, buf, head)) {
    s.count_request();
    const std::string path = path_of(head);
    if (path.rfind("/sleep/", 0) == 0) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, std::atoi(path.c_str() + 7)) > 0) {
        char c;
        if (::recv(fd, &c, 1, MSG_PEEK) <= 0) {
          s.count_peer_close();
          return;
        }
      }
    }
    const std::string body = port_str(s.port());
    if (!send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                          "\r\nX-Upstream-Port: " + body + "\r\n\r\n" + body)) {
      return;
    }
  }
  s.count_peer_close();
}

// ---------------------------------------------------------------- balancing

TEST(UpstreamBalancing, RoundRobinSplitsExactlyByMapWeightsOverACycle) {
  Upstream a, b;
  Torii t(route_with(map_nodes({{a.port(), 3}, {b.port(), 1}})), "", 1);
  auto seen = tally(t, 40);
  EXPECT_EQ(seen[port_str(a.port())], 30);
  EXPECT_EQ(seen[port_str(b.port())], 10);
  EXPECT_EQ(seen.size(), 2u);
}

TEST(UpstreamBalancing, RoundRobinSplitsExactlyByListWeightsOverACycle) {
  Upstream a, b;
  Torii t(route_with("      type: roundrobin\n      nodes:\n"
                     "        - host: 127.0.0.1\n          port: " +
                     port_str(a.port()) +
                     "\n          weight: 1\n"
                     "        - host: 127.0.0.1\n          port: " +
                     port_str(b.port()) + "\n          weight: 3\n"),
          "", 1);
  auto seen = tally(t, 40);
  EXPECT_EQ(seen[port_str(a.port())], 10);
  EXPECT_EQ(seen[port_str(b.port())], 30);
  EXPECT_EQ(seen.size(), 2u);
}

TEST(UpstreamBalancing, NodeWithWeightZeroIsNeverPicked) {
  Upstream a, b;
  Torii t(route_with(map_nodes({{a.port(), 1}, {b.port(), 0}})));
  auto seen = tally(t, 20);
  EXPECT_EQ(seen[port_str(a.port())], 20);
  EXPECT_EQ(b.requests(), 0);
}

TEST(UpstreamBalancing, HigherPriorityGroupTakesAllTrafficWhileItIsUp) {
  Upstream high, low, backup;
  auto node = [](uint16_t port, int weight, int priority) {
    return "        - host: 127.0.0.1\n          port: " + port_str(port) +
           "\n          weight: " + std::to_string(weight) +
           "\n          priority: " + std::to_string(priority) + "\n";
  };
  Torii t(route_with("      nodes:\n" + node(low.port(), 5, 0) + node(high.port(), 1, 1) +
                     node(backup.port(), 5, -1)),
          "", 1);
  auto seen = tally(t, 10);
  EXPECT_EQ(seen[port_str(high.port())], 10);
  EXPECT_EQ(low.requests(), 0);
  EXPECT_EQ(backup.requests(), 0);

  // The higher group goes down (port closed): the next group serves, every
  // request still succeeds, and the backup group stays unused.
  high.stop();
  seen = tally(t, 10);
  EXPECT_EQ(seen[port_str(low.port())], 10);
  EXPECT_EQ(seen.size(), 1u);
  EXPECT_EQ(backup.requests(), 0);
}

TEST(UpstreamBalancing, BackupGroupServesOnlyWhenEveryHigherNodeIsDown) {
  Upstream backup;
  const uint16_t dead1 = free_port(), dead2 = free_port();
  auto node = [](uint16_t port, int priority) {
    return "        - host: 127.0.0.1\n          port: " + port_str(port) +
           "\n          weight: 1\n          priority: " + std::to_string(priority) + "\n";
  };
  Torii t(route_with("      nodes:\n" + node(dead1, 0) + node(dead2, 0) + node(backup.port(), -1)),
          "", 1);
  auto seen = tally(t, 4);
  EXPECT_EQ(seen[port_str(backup.port())], 4);
  EXPECT_EQ(seen.size(), 1u);
  EXPECT_TRUE(log_has(t, "127.0.0.1:" + port_str(dead1) + ", 127.0.0.1:" + port_str(dead2) +
                             ", 127.0.0.1:" + port_str(backup.port())) ||
              log_has(t, "127.0.0.1:" + port_str(dead2) + ", 127.0.0.1:" + port_str(dead1) +
                             ", 127.0.0.1:" + port_str(backup.port())))
      << t.access_log();
}

// ---------------------------------------------------------------- where the upstream comes from

TEST(UpstreamReference, RouteUpstreamIdUsesTheTopLevelUpstream) {
  Upstream a, b;
  Torii t("upstreams:\n  - id: u1\n    nodes:\n      " + quoted_node(a.port()) +
          ": 1\n  - id: u2\n    nodes:\n      " + quoted_node(b.port()) +
          ": 1\nroutes:\n  - id: r1\n    uri: /one\n    upstream_id: u1\n"
          "  - id: r2\n    uri: /two\n    upstream_id: u2\n");
  auto r1 = http_get(t.url("/one"));
  EXPECT_EQ(r1.status, 200);
  EXPECT_EQ(r1.headers["x-upstream-port"], port_str(a.port()));
  auto r2 = http_get(t.url("/two"));
  EXPECT_EQ(r2.status, 200);
  EXPECT_EQ(r2.headers["x-upstream-port"], port_str(b.port()));
}

TEST(UpstreamReference, RouteWithServiceIdUsesTheServiceUpstream) {
  Upstream a;
  Torii t("services:\n  - id: s1\n    upstream:\n      nodes:\n        " + quoted_node(a.port()) +
          ": 1\nroutes:\n  - id: r1\n    uri: /svc\n    service_id: s1\n");
  auto r = http_get(t.url("/svc"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["x-upstream-port"], port_str(a.port()));
}

TEST(UpstreamReference, ServiceUsingUpstreamIdIsFollowed) {
  Upstream a;
  Torii t("upstreams:\n  - id: u1\n    nodes:\n      " + quoted_node(a.port()) +
          ": 1\nservices:\n  - id: s1\n    upstream_id: u1\n"
          "routes:\n  - id: r1\n    uri: /svc\n    service_id: s1\n");
  auto r = http_get(t.url("/svc"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["x-upstream-port"], port_str(a.port()));
}

TEST(UpstreamReference, RouteInlineUpstreamAndUpstreamIdOverrideTheServiceUpstream) {
  Upstream svc, inl, byid;
  Torii t(
      "upstreams:\n  - id: u9\n    nodes:\n      " + quoted_node(byid.port()) +
      ": 1\nservices:\n  - id: s1\n    upstream:\n      nodes:\n        " +
      quoted_node(svc.port()) +
      ": 1\nroutes:\n"
      "  - id: r1\n    uri: /plain\n    service_id: s1\n"
      "  - id: r2\n    uri: /inline\n    service_id: s1\n    upstream:\n      nodes:\n        " +
      quoted_node(inl.port()) +
      ": 1\n"
      "  - id: r3\n    uri: /byid\n    service_id: s1\n    upstream_id: u9\n");
  EXPECT_EQ(http_get(t.url("/plain")).headers["x-upstream-port"], port_str(svc.port()));
  EXPECT_EQ(http_get(t.url("/inline")).headers["x-upstream-port"], port_str(inl.port()));
  EXPECT_EQ(http_get(t.url("/byid")).headers["x-upstream-port"], port_str(byid.port()));
}

// ---------------------------------------------------------------- chash

// Three nodes hashed on `hash_lines`; every key in `keys` is sent three
// times (two workers: the ring is the same in each) and must stay on one
// node, and the keys together must reach more than one node.
void expect_sticky_and_spread(const std::string& hash_lines,
                              const std::function<HttpRequest(const Torii&, int)>& request_for) {
  Upstream a, b, c;
  Torii t(route_with("      type: chash\n" + hash_lines +
                     map_nodes({{a.port(), 1}, {b.port(), 1}, {c.port(), 1}})));
  std::set<std::string> used;
  for (int key = 0; key < 24; ++key) {
    std::string first;
    for (int rep = 0; rep < 3; ++rep) {
      HttpResponse r = http(request_for(t, key));
      ASSERT_EQ(r.status, 200) << r.error;
      const std::string port = r.headers["x-upstream-port"];
      if (rep == 0) first = port;
      EXPECT_EQ(port, first) << "key " << key << " moved between nodes";
    }
    used.insert(first);
  }
  EXPECT_GE(used.size(), 2u) << "24 different keys all hashed to one node";
}

TEST(UpstreamChash, SameQueryArgKeyAlwaysReachesTheSameNode) {
  expect_sticky_and_spread("      hash_on: vars\n      key: arg_user\n", [](const Torii& t, int k) {
    return HttpRequest{"GET", t.url("/port?user=u" + std::to_string(k)), {}, "", false, 10000};
  });
}

TEST(UpstreamChash, SameHeaderKeyAlwaysReachesTheSameNode) {
  expect_sticky_and_spread("      hash_on: header\n      key: X-User\n", [](const Torii& t, int k) {
    return HttpRequest{"GET", t.url("/port"), {"X-User: user-" + std::to_string(k)},
                       "",    false,          10000};
  });
}

TEST(UpstreamChash, SameCookieKeyAlwaysReachesTheSameNode) {
  expect_sticky_and_spread("      hash_on: cookie\n      key: sid\n", [](const Torii& t, int k) {
    return HttpRequest{
        "GET", t.url("/port"), {"Cookie: theme=dark; sid=s" + std::to_string(k) + "; lang=en"},
        "",    false,          10000};
  });
}

TEST(UpstreamChash, SameVarsCombinationAlwaysReachesTheSameNode) {
  expect_sticky_and_spread("      hash_on: vars_combinations\n      key: \"$arg_a-$http_x_b\"\n",
                           [](const Torii& t, int k) {
                             return HttpRequest{"GET",
                                                t.url("/port?a=" + std::to_string(k % 5)),
                                                {"X-B: " + std::to_string(k / 5)},
                                                "",
                                                false,
                                                10000};
                           });
}

TEST(UpstreamChash, MissingKeyFallsBackToTheClientAddress) {
  Upstream a, b, c;
  Torii t(route_with("      type: chash\n      hash_on: header\n      key: X-User\n" +
                     map_nodes({{a.port(), 1}, {b.port(), 1}, {c.port(), 1}})));
  auto seen = tally(t, 12);
  EXPECT_EQ(seen.size(), 1u) << "all requests come from 127.0.0.1";
  EXPECT_EQ(seen.begin()->second, 12) << seen.begin()->first;
}

// vars_combinations with none of its variables set falls back to the client
// address, as APISIX's chash (n_resolved == 0): before, the key was the
// literal text between them ("u-"), so every such client went to one node.
TEST(UpstreamChash, UnresolvedVarsCombinationFallsBackToTheClientAddress) {
  Upstream a, b, c;
  Torii t(route_with("      type: chash\n      hash_on: vars_combinations\n"
                     "      key: \"u-$http_x_uid\"\n" +
                     map_nodes({{a.port(), 1}, {b.port(), 1}, {c.port(), 1}})));
  std::set<std::string> used;
  for (int i = 2; i < 26; ++i) {
    const std::string source = "127.0.0." + std::to_string(i);
    wire::Conn conn(t.port(), source.c_str());
    ASSERT_TRUE(conn.send("GET /port HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
    auto r = conn.read_response(std::chrono::seconds(5));
    ASSERT_TRUE(r.has_value()) << source;
    used.insert(r->headers["x-upstream-port"]);
  }
  EXPECT_GE(used.size(), 2u) << "24 client addresses all hashed to one node";
}

// ---------------------------------------------------------------- least_conn

TEST(UpstreamLeastConn, NextRequestAvoidsTheNodeBusyWithASlowRequest) {
  Upstream a, b;
  Torii t(route_with("      type: least_conn\n" + map_nodes({{a.port(), 1}, {b.port(), 1}})), "",
          1);
  HttpResponse slow;
  std::thread th([&] { slow = http_get(t.url("/sleep/1000")); });
  ASSERT_TRUE(
      wait_until([&] { return a.requests() + b.requests() == 1; }, std::chrono::seconds(3)));
  const Upstream& idle = a.requests() == 1 ? b : a;
  auto seen = tally(t, 4);
  th.join();
  EXPECT_EQ(slow.status, 200);
  EXPECT_EQ(seen[port_str(idle.port())], 4) << "the busy node got a request";
}

// ---------------------------------------------------------------- retries

TEST(UpstreamRetries, ConnectFailureIsRetriedOnTheLiveNode) {
  Upstream live;
  const uint16_t dead = free_port();
  Torii t(route_with(map_nodes({{dead, 1}, {live.port(), 1}})), "", 1);
  auto seen = tally(t, 6);
  EXPECT_EQ(seen[port_str(live.port())], 6);
  EXPECT_EQ(seen.size(), 1u);
  // Round robin starts half of them on the dead node; the log names both.
  EXPECT_TRUE(log_has(
      t, "127.0.0.1:" + port_str(dead) + ", 127.0.0.1:" + port_str(live.port()) + " 502, 200"))
      << t.access_log();
}

// ewma learns from a node it cannot connect to: before, a failed connect
// recorded nothing, a node without samples cost 0, and the dead node won
// every pick (57 of 58 requests answered 502 with retries: 0).
TEST(UpstreamRetries, EwmaStopsPickingANodeItCannotConnectTo) {
  Upstream live;
  const uint16_t dead = free_port();
  Torii t(route_with(map_nodes({{dead, 1}, {live.port(), 1}}) + "      type: ewma\n      retries: 0\n"),
          "", 1);
  int ok = 0;
  for (int i = 0; i < 40; ++i) ok += http_get(t.url("/port")).status == 200;
  EXPECT_GE(ok, 30) << "of 40";
}

// $upstream_response_time (and prometheus' upstream latency) sum every try:
// the half second spent on a node that never answered is upstream time, not
// the gateway's. Before, only the successful try counted.
TEST(UpstreamRetries, UpstreamResponseTimeSumsEveryTry) {
  Upstream live;
  ScriptedServer silent([](ScriptedServer& s, int fd) {
    std::string buf, head;
    if (!wire::read_request_head(fd, buf, head)) return;
    s.count_request();
    char tmp[256];
    while (::recv(fd, tmp, sizeof(tmp), 0) > 0) {
    }
  });
  Torii t(route_with(map_nodes({{silent.port(), 1}, {live.port(), 1}}) +
                     "      retries: 1\n      timeout: {connect: 1, send: 1, read: 0.5}\n"),
          "", 1);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(http_get(t.url("/port")).status, 200);
  ASSERT_TRUE(log_has(t, "504, 200 ")) << t.access_log();
  const std::string log = t.access_log();
  const size_t at = log.find("504, 200 ") + 9;
  // The read timeout is armed on the coarse clock (a few ms of slack): the
  // point is the silent node's half second, where the last try alone is ~0.
  EXPECT_GE(std::stod(log.substr(at, log.find(' ', at) - at)), 0.4) << log;
}

TEST(UpstreamRetries, RetriesZeroWithADeadNodeGives502) {
  const uint16_t dead = free_port();
  Torii t(route_with(map_nodes({{dead, 1}}) + "      retries: 0\n"));
  auto r = http_get(t.url("/x"));
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.headers["x-apisix-upstream-status"], "502");
}

TEST(UpstreamRetries, RetriesZeroDoesNotFallOverToTheLiveNode) {
  Upstream live;
  const uint16_t dead = free_port();
  Torii t(route_with(map_nodes({{dead, 1}, {live.port(), 1}}) + "      retries: 0\n"), "", 1);
  int ok = 0, bad = 0;
  for (int i = 0; i < 6; ++i) {
    auto r = http_get(t.url("/port"));
    if (r.status == 200) {
      ++ok;
    } else {
      EXPECT_EQ(r.status, 502);
      EXPECT_EQ(r.headers["x-apisix-upstream-status"], "502");
      ++bad;
    }
  }
  EXPECT_EQ(ok, 3);
  EXPECT_EQ(bad, 3);
}

TEST(UpstreamRetries, AllNodesDeadGives502HtmlPageAfterTryingEach) {
  const uint16_t dead1 = free_port(), dead2 = free_port();
  Torii t(route_with(map_nodes({{dead1, 1}, {dead2, 1}})));
  auto r = http_get(t.url("/x"));
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find("502 Bad Gateway"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("<html>"), std::string::npos) << r.body;
  EXPECT_NE(r.headers["content-type"].find("text/html"), std::string::npos);
  EXPECT_EQ(r.headers["x-apisix-upstream-status"], "502, 502");
  EXPECT_TRUE(log_has(t, port_str(dead1) + ", 127.0.0.1:") ||
              log_has(t, port_str(dead2) + ", 127.0.0.1:"))
      << t.access_log();
}

TEST(UpstreamRetries, PostIsNotRetriedOnceItWasSent) {
  Upstream a, b;
  Torii t(route_with(map_nodes({{a.port(), 1}, {b.port(), 1}})), "", 1);
  auto r = http(HttpRequest{"POST", t.url("/close"), {}, "payload", false, 10000});
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.headers["x-apisix-upstream-status"], "502");
  EXPECT_EQ(a.requests() + b.requests(), 1) << "a non-idempotent request was sent twice";
}

// A keep-alive connection is in the pool; the POST goes over it, reaches
// the upstream, which closes without answering. nginx does not replay a
// non-idempotent request that was sent, reused connection or not.
TEST(UpstreamRetries, PostOnAReusedConnectionIsNotReplayed) {
  Upstream a;
  Torii t(route_with(map_nodes({{a.port(), 1}})), "", 1);
  ASSERT_EQ(http_get(t.url("/port")).status, 200);
  ASSERT_EQ(a.connections(), 1);
  auto r = http(HttpRequest{"POST", t.url("/close"), {}, "payload", false, 10000});
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(a.requests(), 2) << "the POST reached the upstream more than once";
}

// Keep-alive "200 ok" to every request; the first connection, after its
// first answer, waits until `close_now` is set, then the server closes it
// (idle, from Torii's side: in its pool).
ScriptedServer::Handler first_connection_closes_when(
    std::shared_ptr<std::atomic<bool>> close_now) {
  return [close_now](ScriptedServer& s, int fd) {
    std::string buf, head;
    const bool first = s.accepted() == 1;
    while (wire::read_request_head(fd, buf, head)) {
      s.count_request();
      if (!send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")) return;
      if (!first) continue;
      while (!close_now->load() && !s.stopping()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      return;
    }
  };
}

// The upstream closes a keep-alive connection while it sits in Torii's
// pool (its own idle timeout, a restart). A POST that comes later must not
// be sent over it: it would fail and could not be replayed. Torii notices
// the close (the reactor saw the end, or a peek finds it) and connects anew.
TEST(UpstreamKeepalive, PostAfterTheUpstreamClosedAnIdleConnectionGoesOnAFreshOne) {
  auto close_idle = std::make_shared<std::atomic<bool>>(false);
  ScriptedServer up(first_connection_closes_when(close_idle));
  Torii t(route_with(map_nodes({{up.port(), 1}})), "", 1);
  ASSERT_EQ(http_get(t.url("/x")).status, 200);
  close_idle->store(true);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  auto r = http(HttpRequest{"POST", t.url("/y"), {}, "", false, 10000});
  EXPECT_EQ(r.status, 200) << r.body << t.error_log();
  EXPECT_EQ(up.accepted(), 2);
  EXPECT_EQ(up.requests(), 2);
}

// The upstream answers and resets the connection at once (SO_LINGER 0),
// while Torii is stopped: the reset comes with the response's bytes, in
// the same event, and a read does not count it, so the connection goes
// back to the pool looking quiet. The POST that takes it next fails to
// write a single byte: nothing reached the upstream, so it goes on a fresh
// connection instead of failing with 502.
TEST(UpstreamKeepalive, APostNoByteOfWhichWasSentIsTriedOnAFreshConnection) {
  auto go = std::make_shared<std::atomic<bool>>(false);
  ScriptedServer up([go](ScriptedServer& s, int fd) {
    std::string buf, head;
    while (wire::read_request_head(fd, buf, head)) {
      s.count_request();
      const std::string body = path_of(head);
      const bool reset = body == "/x";
      while (reset && !go->load() && !s.stopping()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      if (!send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                            "\r\n\r\n" + body)) {
        return;
      }
      if (reset) {
        const linger reset_now{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset_now, sizeof(reset_now));
        return;  // the server closes the socket after the handler: a reset
      }
    }
  });
  Torii t(route_with(map_nodes({{up.port(), 1}})), "", 1);
  HttpResponse first;
  std::thread client([&] { first = http_get(t.url("/x")); });
  ASSERT_TRUE(wait_until([&] { return up.requests() == 1; }));
  t.signal(SIGSTOP);
  go->store(true);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // answer and reset arrive
  t.signal(SIGCONT);
  client.join();
  ASSERT_EQ(first.body, "/x");
  const auto r = http(HttpRequest{"POST", t.url("/y"), {}, "", false, 10000});
  EXPECT_EQ(r.status, 200) << r.body << t.error_log();
  EXPECT_EQ(r.body, "/y");
  EXPECT_EQ(up.accepted(), 2);
}

// An upstream closes a pooled connection while a request for it is already
// waiting in Torii's socket (Torii is stopped meanwhile, so both reach it in
// one turn of its event loop). The connection sat in the pool longer than
// kQuietReuse (100 ms), so it is checked with a peek, which sees the close:
// the POST goes on a fresh connection.
TEST(UpstreamKeepalive, AConnectionClosedWhileTheRequestWaitedIsNotUsed) {
  auto close_idle = std::make_shared<std::atomic<bool>>(false);
  ScriptedServer up(first_connection_closes_when(close_idle));
  Torii t(route_with(map_nodes({{up.port(), 1}})), "", 1);
  wire::Conn c(t.port());
  ASSERT_TRUE(c.send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto first = c.read_response();
  ASSERT_TRUE(first && first->status == 200);
  // Torii pools the connection right after the answer went out: give it
  // ample time to (a busy machine may hold the worker for a while).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  t.signal(SIGSTOP);
  ASSERT_TRUE(c.send("POST /y HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"));
  close_idle->store(true);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  t.signal(SIGCONT);
  auto second = c.read_response();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->status, 200) << second->body << t.error_log();
  EXPECT_EQ(up.accepted(), 2);
}

TEST(UpstreamRetries, GetToAnUpstreamThatClosesIsRetriedOnTheNextNode) {
  Upstream a, b;
  Torii t(route_with(map_nodes({{a.port(), 1}, {b.port(), 1}})), "", 1);
  auto r = http_get(t.url("/close"));
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.headers["x-apisix-upstream-status"], "502, 502");
  EXPECT_EQ(a.requests(), 1);
  EXPECT_EQ(b.requests(), 1);
}

// Three slow nodes, read timeout 0.4 s: each try times out. retry_timeout
// 0.6 s allows a second try (0.4 s elapsed) but not a third (0.8 s).
TEST(UpstreamRetries, RetryTimeoutStopsFurtherTries) {
  ScriptedServer a(serve_http), b(serve_http), c(serve_http);
  Torii t(route_with(map_nodes({{a.port(), 1}, {b.port(), 1}, {c.port(), 1}}) +
                     "      retries: 2\n      retry_timeout: 0.6\n"
                     "      timeout:\n        connect: 1\n        send: 1\n        read: 0.4\n"),
          "", 1);
  const auto start = Clock::now();
  auto r = http_get(t.url("/sleep/3000"));
  const auto took = Clock::now() - start;
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(r.headers["x-apisix-upstream-status"], "504, 504");
  EXPECT_EQ(a.requests() + b.requests() + c.requests(), 2);
  EXPECT_LT(took, milliseconds(1150));
}

TEST(UpstreamRetries, WithoutRetryTimeoutEveryNodeIsTried) {
  ScriptedServer a(serve_http), b(serve_http), c(serve_http);
  Torii t(route_with(map_nodes({{a.port(), 1}, {b.port(), 1}, {c.port(), 1}}) +
                     "      timeout:\n        connect: 1\n        send: 1\n        read: 0.3\n"),
          "", 1);
  auto r = http_get(t.url("/sleep/3000"));
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(r.headers["x-apisix-upstream-status"], "504, 504, 504");
  EXPECT_EQ(a.requests(), 1);
  EXPECT_EQ(b.requests(), 1);
  EXPECT_EQ(c.requests(), 1);
}

// ---------------------------------------------------------------- timeouts

// Timeouts are bounded from below only. 1e300 seconds (or 1e10: 317 years)
// does not fit steady_clock's nanoseconds; converted as is, the deadline
// wrapped into the past and every request got 504 at once. Capped, it is
// "never".
TEST(UpstreamTimeouts, HugeTimeoutsMeanNeverNotAlreadyExpired) {
  ScriptedServer slow(serve_http);
  for (const char* huge : {"1e300", "10000000000"}) {
    Torii t(route_with(map_nodes({{slow.port(), 1}}) + "      timeout:\n        connect: " + huge +
                       "\n        send: " + huge + "\n        read: " + huge +
                       "\n      keepalive_pool:\n        idle_timeout: " + huge + "\n"));
    auto r = http_get(t.url("/sleep/300"));
    EXPECT_EQ(r.status, 200) << huge << ": " << r.body;
  }
}

TEST(UpstreamTimeouts, ReadTimeoutShorterThanTheResponseGives504) {
  ScriptedServer slow(serve_http);
  Torii t(route_with(map_nodes({{slow.port(), 1}}) +
                     "      timeout:\n        connect: 1\n        send: 1\n        read: 0.3\n"));
  const auto start = Clock::now();
  auto r = http_get(t.url("/sleep/3000"));
  const auto took = Clock::now() - start;
  EXPECT_EQ(r.status, 504);
  EXPECT_NE(r.body.find("504 Gateway Time-out"), std::string::npos) << r.body;
  EXPECT_EQ(r.headers["x-apisix-upstream-status"], "504");
  EXPECT_GE(took, milliseconds(250));
  EXPECT_LT(took, milliseconds(2000));
  // torii gave up on the connection.
  EXPECT_TRUE(wait_until([&] { return slow.peer_closed() == 1; }, std::chrono::seconds(3)));
}

TEST(UpstreamTimeouts, RouteTimeoutOverridesTheUpstreamTimeout) {
  ScriptedServer slow(serve_http);
  const std::string n = quoted_node(slow.port());
  Torii t(
      "routes:\n"
      "  - id: longer\n    uri: /sleep/600\n"
      "    timeout:\n      connect: 1\n      send: 1\n      read: 3\n"
      "    upstream:\n      nodes:\n        " +
      n +
      ": 1\n"
      "      timeout:\n        connect: 1\n        send: 1\n        read: 0.2\n"
      "  - id: shorter\n    uri: /sleep/1500\n"
      "    timeout:\n      connect: 1\n      send: 1\n      read: 0.3\n"
      "    upstream:\n      nodes:\n        " +
      n +
      ": 1\n"
      "      timeout:\n        connect: 5\n        send: 5\n        read: 5\n");
  auto longer = http_get(t.url("/sleep/600"));
  EXPECT_EQ(longer.status, 200) << "the route's 3 s read timeout applies, not the upstream's 0.2 s";
  const auto start = Clock::now();
  auto shorter = http_get(t.url("/sleep/1500"));
  EXPECT_EQ(shorter.status, 504)
      << "the route's 0.3 s read timeout applies, not the upstream's 5 s";
  EXPECT_LT(Clock::now() - start, milliseconds(1400));
}

// ---------------------------------------------------------------- pass_host

TEST(UpstreamPassHost, PassForwardsTheClientHostIncludingThePort) {
  Upstream up;
  Torii t(route_with(map_nodes({{up.port(), 1}}) + "      pass_host: pass\n"));
  auto r = http_get(t.url("/echo"), {"Host: api.example.com:8443"});
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(up.last_head().find("\r\nHost: api.example.com:8443\r\n"), std::string::npos)
      << up.last_head();
}

TEST(UpstreamPassHost, NodeSendsTheNodeAddressAndPort) {
  Upstream up;
  Torii t(route_with(map_nodes({{up.port(), 1}}) + "      pass_host: node\n"));
  auto r = http_get(t.url("/echo"), {"Host: api.example.com"});
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(up.last_head().find("\r\nHost: 127.0.0.1:" + port_str(up.port()) + "\r\n"),
            std::string::npos)
      << up.last_head();
}

TEST(UpstreamPassHost, NodeSendsTheNodeDomainName) {
  Upstream up;
  Torii t(route_with("      pass_host: node\n      nodes:\n        \"localhost:" +
                     port_str(up.port()) + "\": 1\n"));
  auto r = http_get(t.url("/echo"), {"Host: api.example.com"});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(up.last_head().find("\r\nHost: localhost:" + port_str(up.port()) + "\r\n"),
            std::string::npos)
      << up.last_head();
}

TEST(UpstreamPassHost, RewriteSendsUpstreamHost) {
  Upstream up;
  Torii t(route_with(map_nodes({{up.port(), 1}}) +
                     "      pass_host: rewrite\n      upstream_host: backend.internal\n"));
  auto r = http_get(t.url("/echo"), {"Host: api.example.com"});
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(up.last_head().find("\r\nHost: backend.internal\r\n"), std::string::npos)
      << up.last_head();
}

// ---------------------------------------------------------------- keepalive_pool

TEST(UpstreamKeepalive, ConnectionsAreReusedByDefault) {
  Upstream up;
  Torii t(route_with(map_nodes({{up.port(), 1}})), "", 1);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(http_get(t.url("/port")).status, 200);
  EXPECT_EQ(up.requests(), 5);
  EXPECT_EQ(up.connections(), 1);
}

// APISIX's schema requires keepalive_pool.size >= 1; `requests: 1` is how a
// user turns reuse off.
TEST(UpstreamKeepalive, RequestsLimitOfOneMeansNoReuse) {
  Upstream up;
  Torii t(route_with(map_nodes({{up.port(), 1}}) + "      keepalive_pool:\n        requests: 1\n"),
          "", 1);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(http_get(t.url("/port")).status, 200);
  EXPECT_EQ(up.requests(), 5);
  EXPECT_EQ(up.connections(), 5);
}

TEST(UpstreamKeepalive, RequestsLimitCapsRequestsPerConnection) {
  Upstream up;
  Torii t(route_with(map_nodes({{up.port(), 1}}) + "      keepalive_pool:\n        requests: 2\n"),
          "", 1);
  for (int i = 0; i < 6; ++i) ASSERT_EQ(http_get(t.url("/port")).status, 200);
  EXPECT_EQ(up.connections(), 3);
}

TEST(UpstreamKeepalive, IdleTimeoutClosesIdleUpstreamConnections) {
  ScriptedServer up(serve_http);
  Torii t(
      route_with(map_nodes({{up.port(), 1}}) + "      keepalive_pool:\n        idle_timeout: 1\n"),
      "", 1);
  ASSERT_EQ(http_get(t.url("/port")).status, 200);
  const auto idle_from = Clock::now();
  ASSERT_TRUE(wait_until([&] { return up.peer_closed() == 1; }, std::chrono::seconds(4)))
      << "the idle upstream connection was never closed";
  const auto idle_for = Clock::now() - idle_from;
  EXPECT_GE(idle_for, milliseconds(900));
  EXPECT_LT(idle_for, milliseconds(2500));
  ASSERT_EQ(http_get(t.url("/port")).status, 200);
  EXPECT_EQ(up.accepted(), 2);
}

TEST(UpstreamKeepalive, ConnectionWithinIdleTimeoutIsReused) {
  ScriptedServer up(serve_http);
  Torii t(
      route_with(map_nodes({{up.port(), 1}}) + "      keepalive_pool:\n        idle_timeout: 5\n"),
      "", 1);
  ASSERT_EQ(http_get(t.url("/port")).status, 200);
  ASSERT_EQ(http_get(t.url("/port")).status, 200);
  EXPECT_EQ(up.accepted(), 1);
  EXPECT_EQ(up.peer_closed(), 0);
}

// ---------------------------------------------------------------- broken upstreams

TEST(UpstreamBadResponses, NonHttpAnswerGives502) {
  ScriptedServer garbage([](ScriptedServer& s, int fd) {
    std::string buf, head;
    if (!wire::read_request_head(fd, buf, head)) return;
    s.count_request();
    send_all(fd, "SSH-2.0-OpenSSH_9.6\r\n\x01\x02garbage\r\n\r\n");
    ::shutdown(fd, SHUT_WR);
    char tmp[256];
    while (::recv(fd, tmp, sizeof(tmp), 0) > 0) {
    }
  });
  Torii t(route_with(map_nodes({{garbage.port(), 1}})));
  auto r = http_get(t.url("/x"));
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.headers["x-apisix-upstream-status"], "502");
  EXPECT_EQ(garbage.requests(), 1);
  // The gateway keeps serving.
  EXPECT_EQ(http_get(t.url("/y")).status, 502);
}

TEST(UpstreamBadResponses, UpstreamClosingMidBodyCutsTheClientResponse) {
  ScriptedServer cut([](ScriptedServer& s, int fd) {
    std::string buf, head;
    if (!wire::read_request_head(fd, buf, head)) return;
    s.count_request();
    send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + std::string(1000, 'z'));
  });
  Torii t(route_with(map_nodes({{cut.port(), 1}})));
  auto r = http_get(t.url("/big"));
  EXPECT_NE(r.error, "") << "curl saw a complete response";
  EXPECT_LT(r.body.size(), 100000u);
  EXPECT_EQ(cut.requests(), 1) << "a response already started must not be retried";
}

TEST(UpstreamBadResponses, UpstreamClosingMidChunkedBodyCutsTheClientResponse) {
  ScriptedServer cut([](ScriptedServer& s, int fd) {
    std::string buf, head;
    if (!wire::read_request_head(fd, buf, head)) return;
    s.count_request();
    send_all(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n" +
                     std::string(1000, 'z') + "\r\n3e8\r\nzz");
  });
  Torii t(route_with(map_nodes({{cut.port(), 1}})));
  auto r = http_get(t.url("/big"));
  EXPECT_NE(r.error, "") << "curl saw a complete response";
  EXPECT_LT(r.body.size(), 2000u);
}

// A handler that answers the first request with `raw`, then waits for the
// peer to close.
ScriptedServer::Handler answer_with(std::string raw) {
  return [raw = std::move(raw)](ScriptedServer& s, int fd) {
    std::string buf, head;
    if (!wire::read_request_head(fd, buf, head)) return;
    s.count_request();
    send_all(fd, raw);
    char tmp[256];
    while (::recv(fd, tmp, sizeof(tmp), 0) > 0) {
    }
  };
}

// The error log line is written after the reply went out.
bool error_logged(const Torii& t, const std::string& needle) {
  return wait_until([&] { return t.error_log().find(needle) != std::string::npos; },
                    std::chrono::seconds(5));
}

// The upstream's chunk data is not followed by CRLF: the response is refused
// (502 when nothing was sent yet), never passed on as a complete one.
TEST(UpstreamBadResponses, ChunkDataWithoutCrlfIsNotPassedOnAsComplete) {
  ScriptedServer bad(answer_with(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n"));
  Torii t(route_with(map_nodes({{bad.port(), 1}})));
  auto r = http_get(t.url("/x"));
  EXPECT_TRUE(r.status == 502 || r.error != "") << r.status << " " << r.body;
  EXPECT_TRUE(error_logged(t, "Expected CRLF after chunk data")) << t.error_log();
}

// llhttp's default build would take the X for the LF ending the head.
TEST(UpstreamBadResponses, HeadEndingInCrAndJunkIsA502) {
  ScriptedServer bad(answer_with("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\rXhello"));
  Torii t(route_with(map_nodes({{bad.port(), 1}})));
  auto r = http_get(t.url("/x"));
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_TRUE(error_logged(t, "CR not followed by LF")) << t.error_log();
}

// An upstream that sends bytes nobody asked for is out of step: whether they
// come with its response or later while the connection sits in the pool,
// they must never be read as the next request's response (another client's
// data). The upstream's first connection answers its first request, then
// sends a stale response (with it, or 200 ms later); everything else is
// answered normally.
TEST(UpstreamBadResponses, BytesAnUpstreamSentUnaskedAreNeverTheNextResponse) {
  for (const bool with_the_response : {true, false}) {
    auto misbehaved = std::make_shared<std::atomic<bool>>(false);
    ScriptedServer up([with_the_response, misbehaved](ScriptedServer& s, int fd) {
      std::string buf, head;
      bool first = !misbehaved->exchange(true);
      while (wire::read_request_head(fd, buf, head)) {
        s.count_request();
        const std::string path = head.substr(4, head.find(' ', 4) - 4);
        const std::string body = "for " + path;
        const std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: " +
                                  std::to_string(body.size()) + "\r\n\r\n" + body;
        const std::string stale = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nSTALE\n";
        if (first && with_the_response) {
          send_all(fd, reply + stale);
        } else {
          send_all(fd, reply);
          if (first) {
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            send_all(fd, stale);
          }
        }
        first = false;
      }
    });
    Torii t(route_with(map_nodes({{up.port(), 1}})), "", 1);
    EXPECT_EQ(http_get(t.url("/x")).body, "for /x");
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    for (const std::string path : {"/y", "/echo", "/port"}) {
      EXPECT_EQ(http_get(t.url(path)).body, "for " + path) << with_the_response;
    }
  }
}

// 204 and 304 end at their head (RFC 9112 6.3), whatever Content-Length or
// Transfer-Encoding they carry (a 304 may say the size of the 200 it stands
// for). llhttp 8.1 would wait for that body: the client's next request sat
// behind it until the read timeout.
TEST(UpstreamBadResponses, NoContentAndNotModifiedEndAtTheirHead) {
  for (const std::string first :
       {"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 1234\r\n\r\n",
        "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n"}) {
    ScriptedServer up([first](ScriptedServer& s, int fd) {
      std::string buf, head;
      while (wire::read_request_head(fd, buf, head)) {
        s.count_request();
        send_all(fd, head.starts_with("GET /x ") ? first
                                                 : "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext");
      }
    });
    Torii t(route_with(map_nodes({{up.port(), 1}})));
    const std::string reply = raw_exchange(
        t.port(),
        "GET /x HTTP/1.1\r\nHost: a\r\n\r\nGET /y HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    EXPECT_TRUE(reply.starts_with(first.substr(0, 12))) << reply;
    EXPECT_NE(reply.find("\r\n\r\nnext"), std::string::npos) << reply;
  }
}

}  // namespace
}  // namespace torii::testing
