// Torii nodes on a real etcd (Debian's etcd-server, started by the test):
// two nodes see each other's Admin API writes (propagation time printed);
// an etcd outage under traffic fails no request for existing routes, writes
// answer 503 meanwhile, and everything converges when etcd returns; a
// compacted history is followed by a full resync.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "etcd_process.h"
#include "harness.h"

namespace torii::testing {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

std::string etcd_deployment(const EtcdProcess& etcd, const std::string& prefix = "/apisix") {
  return "deployment:\n  role: traditional\n  role_traditional:\n    config_provider: etcd\n"
         "  etcd:\n    host:\n      - \"" + etcd.endpoint() + "\"\n    prefix: " + prefix +
         "\n    timeout: 2\n";
}

ToriiOptions etcd_options(const EtcdProcess& etcd, const std::string& prefix = "/apisix") {
  ToriiOptions o;
  o.deployment = etcd_deployment(etcd, prefix);
  return o;
}

std::string route_json(const std::string& uri, const Upstream& up) {
  return R"({"uri":")" + uri + R"(","upstream":{"type":"roundrobin","nodes":{")" + up.node() +
         R"(":1}}})";
}

TEST(AdminEtcd, two_nodes_see_each_others_writes) {
  EtcdProcess etcd;
  etcd.start();
  Upstream up;
  Torii a(etcd_options(etcd));
  Torii b(etcd_options(etcd));
  ASSERT_EQ(a.admin("PUT", "/routes/from-a", route_json("/a", up)).status, 201);
  ASSERT_EQ(b.admin("PUT", "/routes/from-b", route_json("/b", up)).status, 201);
  for (const Torii* t : {&a, &b}) {
    EXPECT_TRUE(wait_until([&] { return http_get(t->url("/a")).status == 200; }));
    EXPECT_TRUE(wait_until([&] { return http_get(t->url("/b")).status == 200; }));
  }
  EXPECT_EQ(b.admin("GET", "/routes/from-a").status, 200);
  // The keys are APISIX's layout, readable by APISIX on the same etcd.
  auto raw = etcd.post("/v3/kv/range", R"({"key":")" +
                                           std::string("L2FwaXNpeC9yb3V0ZXMvZnJvbS1h") + R"("})");
  EXPECT_NE(raw.body.find("\"count\":\"1\""), std::string::npos) << raw.body;

  // Propagation: a write on A -> first request served by B.
  std::vector<double> ms;
  for (int i = 0; i < 200; ++i) {
    const std::string uri = "/prop/" + std::to_string(i);
    const auto start = Clock::now();
    ASSERT_LT(a.admin("PUT", "/routes/prop", route_json(uri, up)).status, 300);
    bool live = false;
    for (int attempt = 0; attempt < 10000 && !live; ++attempt) {
      live = http_get(b.url(uri)).status == 200;
    }
    ASSERT_TRUE(live) << uri;
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("etcd: admin PUT on node A -> first request served by node B (200 changes): "
              "median %.2f ms, p99 %.2f ms, max %.2f ms\n",
              ms[ms.size() / 2], ms[ms.size() * 99 / 100], ms.back());
  ASSERT_EQ(a.admin("DELETE", "/routes/from-b").status, 200);
  EXPECT_TRUE(wait_until([&] { return http_get(b.url("/b")).status == 404; }));
}

// Another writer of the same etcd (an APISIX node, etcdctl) deletes an
// upstream a route still names. The route keeps its requests: its key-auth
// still refuses strangers and a known consumer gets APISIX's 502, instead
// of the catch-all route serving them without authentication.
TEST(AdminEtcd, a_route_whose_upstream_is_deleted_behind_its_back_does_not_fall_through) {
  EtcdProcess etcd;
  etcd.start();
  Upstream up;
  Torii t(etcd_options(etcd));
  ASSERT_EQ(t.admin("PUT", "/upstreams/u3",
                    R"({"nodes":{")" + up.node() + R"(":1},"type":"roundrobin"})").status, 201);
  ASSERT_EQ(t.admin("PUT", "/consumers", R"({"username":"jack","plugins":{"key-auth":{"key":"jack-key"}}})")
                .status, 201);
  ASSERT_EQ(t.admin("PUT", "/routes/all", route_json("/*", up)).status, 201);
  ASSERT_EQ(t.admin("PUT", "/routes/api",
                    R"({"uri":"/api/*","plugins":{"key-auth":{}},"upstream_id":"u3"})").status, 201);
  // Every worker swaps snapshots on its own: wait until several requests in
  // a row see the route.
  int in_a_row = 0;
  ASSERT_TRUE(wait_until([&] {
    const bool live = http_get(t.url("/api/x"), {"apikey: jack-key"}).status == 200 &&
                      http_get(t.url("/api/x")).status == 401;
    in_a_row = live ? in_a_row + 1 : 0;
    return in_a_row >= 8;
  }));

  // "/apisix/upstreams/u3", deleted in etcd directly.
  const auto del = etcd.post("/v3/kv/deleterange", R"({"key":"L2FwaXNpeC91cHN0cmVhbXMvdTM="})");
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_TRUE(wait_until([&] { return http_get(t.url("/api/x"), {"apikey: jack-key"}).status == 502; }));
  EXPECT_EQ(http_get(t.url("/api/x")).status, 401);
  EXPECT_EQ(http_get(t.url("/other")).status, 200);
  EXPECT_TRUE(wait_until([&] {
    return t.error_log().find("route api cannot serve: routes[") != std::string::npos;
  }));
}

TEST(AdminEtcd, an_outage_fails_no_request_and_everything_converges) {
  EtcdProcess etcd;
  etcd.start();
  Upstream up;
  Torii a(etcd_options(etcd));
  Torii b(etcd_options(etcd));
  ASSERT_EQ(a.admin("PUT", "/routes/live", route_json("/live", up)).status, 201);
  ASSERT_TRUE(wait_until([&] { return http_get(b.url("/live")).status == 200; }));

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::mutex first_failure_mu;
  std::string first_failure;  // what the first failed request got, for the report
  std::vector<std::thread> traffic;
  for (const Torii* t : {&a, &b}) {
    traffic.emplace_back([&, t] {
      while (!stop) {
        const HttpResponse r = http_get(t->url("/live"));
        if (r.status == 200) {
          ++ok;
          continue;
        }
        ++failed;
        std::lock_guard lock(first_failure_mu);
        if (first_failure.empty()) {
          first_failure = "status " + std::to_string(r.status) + " error '" + r.error +
                          "' body '" + r.body.substr(0, 200) + "'";
        }
      }
    });
  }
  etcd.stop();
  const auto down_since = Clock::now();
  // Writes are refused with 503 while etcd is down.
  auto put = a.admin("PUT", "/routes/during", route_json("/during", up));
  EXPECT_EQ(put.status, 503) << put.body;
  EXPECT_NE(put.body.find("error_msg"), std::string::npos);
  EXPECT_TRUE(wait_until([&] {
    auto s = json::parse(a.admin("GET", "/torii/status").body);
    return !s.at("config").at("connected").as_bool();
  }));
  std::this_thread::sleep_for(std::chrono::seconds(10) - (Clock::now() - down_since));
  etcd.start();
  EXPECT_TRUE(wait_until([&] {
    return a.admin("PUT", "/routes/after", route_json("/after", up)).status == 201;
  }, std::chrono::seconds(20)));
  for (const Torii* t : {&a, &b}) {
    EXPECT_TRUE(wait_until([&] { return http_get(t->url("/after")).status == 200; },
                           std::chrono::seconds(20)));
  }
  stop = true;
  for (auto& th : traffic) th.join();
  EXPECT_EQ(failed.load(), 0) << "requests to an existing route failed during the outage; the first: "
                              << first_failure;
  EXPECT_GT(ok.load(), 100);
  EXPECT_EQ(http_get(a.url("/during")).status, 404) << "a refused write must not appear";
  std::printf("etcd outage: %d requests served, %d failed\n", ok.load(), failed.load());
}

// A node that was away (paused) while etcd restarted and compacted its
// history past the node's revision catches up with a full read.
TEST(AdminEtcd, a_lagging_node_resyncs_after_restart_and_compaction) {
  EtcdProcess etcd;
  etcd.start();
  Upstream up;
  Torii a(etcd_options(etcd));
  Torii b(etcd_options(etcd));
  ASSERT_EQ(a.admin("PUT", "/routes/r1", route_json("/r1", up)).status, 201);
  ASSERT_TRUE(wait_until([&] { return http_get(b.url("/r1")).status == 200; }));
  b.signal(SIGSTOP);
  etcd.stop();
  etcd.start();
  for (int i = 0; i < 5; ++i) {
    const std::string id = "c" + std::to_string(i);
    ASSERT_TRUE(wait_until([&] {
      return a.admin("PUT", "/routes/" + id, route_json("/" + id, up)).status == 201;
    }, std::chrono::seconds(20)));
  }
  ASSERT_EQ(a.admin("DELETE", "/routes/r1").status, 200);
  auto rev = json::parse(etcd.post("/v3/kv/range", R"({"key":"AA=="})").body);
  etcd.compact(std::stoll(std::string(rev.at("header").at("revision").as_string())));
  b.signal(SIGCONT);
  for (const char* uri : {"/c0", "/c4"}) {
    EXPECT_TRUE(wait_until([&] { return http_get(b.url(uri)).status == 200; },
                           std::chrono::seconds(20))) << uri;
  }
  EXPECT_TRUE(wait_until([&] { return http_get(b.url("/r1")).status == 404; }));
}

// 100 clients on two nodes at once: PUT their own route, PATCH one shared
// upstream (each adds its own label; a PATCH that loses the race on the
// revision answers 503 "value changed before overwritten" and writes
// nothing), DELETE half of their routes. No acknowledged write is lost.
TEST(AdminEtcd, concurrent_clients_on_two_nodes_lose_no_acknowledged_write) {
  EtcdProcess etcd;
  etcd.start();
  Upstream up;
  Torii a(etcd_options(etcd));
  Torii b(etcd_options(etcd));
  ASSERT_EQ(a.admin("PUT", "/upstreams/shared",
                    R"({"nodes":{")" + up.node() + R"(":1},"type":"roundrobin"})")
                .status,
            201);
  constexpr int kClients = 100;
  std::vector<int> patched(kClients, 0), kept(kClients, 0), deleted(kClients, 0),
      conflicts(kClients, 0);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      const Torii& t = c % 2 ? a : b;
      const std::string id = "c" + std::to_string(c);
      if (t.admin("PUT", "/routes/" + id, route_json("/" + id, up)).status == 201) kept[c] = 1;
      auto p = t.admin("PATCH", "/upstreams/shared", R"({"labels":{")" + id + R"(":"x"}})");
      if (p.status == 200) patched[c] = 1;
      if (p.status == 503) {
        conflicts[c] = 1;
        EXPECT_EQ(p.body, R"({"error_msg":"value changed before overwritten"})");
      }
      if (c % 2 == 0 && t.admin("DELETE", "/routes/" + id).status == 200) deleted[c] = 1;
    });
  }
  for (auto& th : clients) th.join();
  auto u = json::parse(a.admin("GET", "/upstreams/shared").body);
  const auto* labels = u.at("value").as_object().if_contains("labels");
  int patches = 0, lost = 0;
  for (int c = 0; c < kClients; ++c) {
    const std::string id = "c" + std::to_string(c);
    if (patched[c]) {
      ++patches;
      if (!labels || !labels->as_object().contains(id)) ++lost;
    }
    const long status = b.admin("GET", "/routes/" + id).status;
    if (deleted[c]) {
      EXPECT_EQ(status, 404) << id;
    } else if (kept[c]) {
      EXPECT_EQ(status, 200) << id;
    }
    EXPECT_TRUE(kept[c]) << "a PUT never conflicts: " << id;
  }
  EXPECT_EQ(lost, 0) << "acknowledged PATCHes lost";
  EXPECT_GT(patches, 0);
  int n_conflicts = 0;
  for (int c : conflicts) n_conflicts += c;
  std::printf("etcd concurrency: %d PATCHes acknowledged, %d refused with 503 (CAS), 0 lost\n",
              patches, n_conflicts);
}

TEST(AdminEtcd, the_prefix_separates_clusters_on_one_etcd) {
  EtcdProcess etcd;
  etcd.start();
  Upstream up;
  Torii a(etcd_options(etcd, "/team-a"));
  Torii b(etcd_options(etcd, "/team-b"));
  auto put = a.admin("PUT", "/routes/1", route_json("/only-a", up));
  ASSERT_EQ(put.status, 201);
  EXPECT_NE(put.body.find("\"key\":\"/team-a/routes/1\""), std::string::npos) << put.body;
  EXPECT_TRUE(wait_until([&] { return http_get(a.url("/only-a")).status == 200; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(http_get(b.url("/only-a")).status, 404);
  EXPECT_EQ(b.admin("GET", "/routes/1").status, 404);
}

}  // namespace
}  // namespace torii::testing
