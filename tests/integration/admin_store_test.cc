// The Admin API through the real binary on the embedded store (sqlite):
// writes go live on the data plane, survive kill -9, are not lost under
// concurrent clients; the generated admin key; the read-only Admin API of a
// standalone node; the node status. Also measures Admin PUT -> first request
// served (printed, never asserted).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>

#include "harness.h"

namespace torii::testing {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

const std::string kSqliteDeployment =
    "deployment:\n  role: traditional\n  role_traditional:\n    config_provider: sqlite\n";

json::value parse(const std::string& body) {
  json::error_code ec;
  auto v = json::parse(body, ec);
  EXPECT_FALSE(ec) << body;
  return v;
}

std::string route_json(const std::string& uri, const Upstream& up) {
  return R"({"uri":")" + uri + R"(","upstream":{"type":"roundrobin","nodes":{")" + up.node() +
         R"(":1}}})";
}

ToriiOptions sqlite_options(std::shared_ptr<TempDir> dir = nullptr) {
  ToriiOptions o;
  o.deployment = kSqliteDeployment;
  o.dir = std::move(dir);
  return o;
}

TEST(AdminSqlite, a_route_written_through_the_admin_api_is_served) {
  Upstream up;
  Torii t(sqlite_options());
  EXPECT_EQ(http_get(t.url("/hello")).status, 404);
  auto put = t.admin("PUT", "/upstreams/u1", R"({"nodes":{")" + up.node() + R"(":1},"type":"roundrobin"})");
  ASSERT_EQ(put.status, 201) << put.body;
  put = t.admin("PUT", "/routes/1", R"({"uri":"/hello","upstream_id":"u1"})");
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_TRUE(wait_until([&] { return http_get(t.url("/hello")).status == 200; }));
  auto get = t.admin("GET", "/routes/1");
  ASSERT_EQ(get.status, 200);
  auto v = parse(get.body);
  EXPECT_EQ(v.at("key").as_string(), "/apisix/routes/1");
  EXPECT_EQ(v.at("value").at("uri").as_string(), "/hello");
  EXPECT_TRUE(v.as_object().contains("createdIndex"));
  // Referenced upstream cannot go while the route uses it.
  auto del = t.admin("DELETE", "/upstreams/u1");
  EXPECT_EQ(del.status, 400);
  EXPECT_EQ(del.body, R"({"error_msg":"can not delete this upstream, route [1] is still using it now"})");
  ASSERT_EQ(t.admin("DELETE", "/routes/1").status, 200);
  EXPECT_TRUE(wait_until([&] { return http_get(t.url("/hello")).status == 404; }));
  EXPECT_EQ(t.admin("DELETE", "/upstreams/u1").status, 200);
}

TEST(AdminSqlite, routes_survive_a_restart) {
  Upstream up;
  auto dir = std::make_shared<TempDir>();
  {
    Torii t(sqlite_options(dir));
    ASSERT_EQ(t.admin("PUT", "/routes/r1", route_json("/kept", up)).status, 201);
    t.signal(SIGTERM);
    ASSERT_EQ(t.wait_exit(std::chrono::seconds(10)), 0);
  }
  Torii again(sqlite_options(dir));
  EXPECT_EQ(http_get(again.url("/kept")).status, 200);
  EXPECT_EQ(again.admin("GET", "/routes/r1").status, 200);
}

// Every write the Admin API acknowledged is there after kill -9 at a random
// moment, and nothing stored is half-written.
TEST(AdminSqlite, acknowledged_writes_survive_kill_9) {
  Upstream up;
  auto dir = std::make_shared<TempDir>();
  std::vector<std::string> acknowledged;
  for (int round = 0; round < 3; ++round) {
    Torii t(sqlite_options(dir));
    std::atomic<bool> stop{false};
    std::mutex mu;
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w) {
      writers.emplace_back([&, w] {
        for (int i = 0; !stop; ++i) {
          const std::string id = "r" + std::to_string(round) + "-" + std::to_string(w) + "-" +
                                 std::to_string(i);
          auto r = t.admin("PUT", "/routes/" + id, route_json("/" + id, up));
          if (r.status == 201) {
            std::lock_guard lock(mu);
            acknowledged.push_back(id);
          }
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(400 + 300 * round));
    t.signal(SIGKILL);
    t.wait_exit(std::chrono::seconds(5));
    stop = true;
    for (auto& th : writers) th.join();
  }
  ASSERT_GT(acknowledged.size(), 10u);
  Torii after(sqlite_options(dir));
  auto list = after.admin("GET", "/routes");
  ASSERT_EQ(list.status, 200);
  auto v = parse(list.body);
  std::set<std::string> stored;
  for (const auto& item : v.at("list").as_array()) {
    const auto& value = item.at("value").as_object();
    const std::string id(value.at("id").as_string());
    stored.insert(id);
    // Complete: the exact object written (uri matches its id).
    EXPECT_EQ(value.at("uri").as_string(), "/" + id);
    EXPECT_TRUE(value.contains("upstream"));
  }
  for (const auto& id : acknowledged) EXPECT_TRUE(stored.count(id)) << id << " was acknowledged";
  // At most one write per writer per kill was in flight and unacknowledged.
  EXPECT_LE(stored.size(), acknowledged.size() + 12);
  std::printf("kill -9 test: %zu acknowledged writes, %zu stored\n", acknowledged.size(),
              stored.size());
}

// 100 clients at once: PUT their own routes, PATCH one shared upstream (each
// adds its own label), DELETE half of their routes. No acknowledged write is lost.
TEST(AdminSqlite, concurrent_clients_lose_no_acknowledged_write) {
  Upstream up;
  Torii t(sqlite_options());
  ASSERT_EQ(t.admin("PUT", "/upstreams/shared",
                    R"({"nodes":{")" + up.node() + R"(":1},"type":"roundrobin","labels":{"base":"1"}})")
                .status,
            201);
  constexpr int kClients = 100;
  std::vector<int> patched(kClients, 0), kept(kClients, 0), deleted(kClients, 0);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      const std::string id = "c" + std::to_string(c);
      if (t.admin("PUT", "/routes/" + id, route_json("/" + id, up)).status == 201) kept[c] = 1;
      auto p = t.admin("PATCH", "/upstreams/shared", R"({"labels":{")" + id + R"(":"x"}})");
      if (p.status == 200) patched[c] = 1;
      if (c % 2 == 0 && t.admin("DELETE", "/routes/" + id).status == 200) deleted[c] = 1;
    });
  }
  for (auto& th : clients) th.join();
  auto u = parse(t.admin("GET", "/upstreams/shared").body);
  const auto& labels = u.at("value").at("labels").as_object();
  int patches = 0;
  for (int c = 0; c < kClients; ++c) {
    const std::string id = "c" + std::to_string(c);
    if (patched[c]) {
      ++patches;
      EXPECT_TRUE(labels.contains(id)) << "acknowledged PATCH of " << id << " lost";
    }
    const long status = t.admin("GET", "/routes/" + id).status;
    if (deleted[c]) {
      EXPECT_EQ(status, 404) << id;
    } else if (kept[c]) {
      EXPECT_EQ(status, 200) << id;
    }
  }
  EXPECT_GT(patches, 0);
  std::printf("concurrency: %d/%d PATCHes acknowledged\n", patches, kClients);
}

// Admin PUT -> the first request served by the new route, over 1,000
// changes. A measurement, printed; the test asserts only that each change
// goes live.
TEST(AdminSqlite, put_to_first_request_latency) {
  Upstream up;
  Torii t(sqlite_options());
  std::vector<double> ms;
  ms.reserve(1000);
  for (int i = 0; i < 1000; ++i) {
    const std::string uri = "/live/" + std::to_string(i);
    const auto start = Clock::now();
    auto put = t.admin("PUT", "/routes/live", route_json(uri, up));
    ASSERT_TRUE(put.status == 200 || put.status == 201) << put.body;
    bool live = false;
    for (int attempt = 0; attempt < 5000 && !live; ++attempt) {
      live = http_get(t.url(uri)).status == 200;
    }
    ASSERT_TRUE(live) << uri;
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("admin PUT -> first request served (sqlite, 1000 changes): median %.2f ms, p99 %.2f ms, max %.2f ms\n",
              ms[ms.size() / 2], ms[ms.size() * 99 / 100], ms.back());
}

TEST(AdminSqlite, status_reports_the_revision_and_sync_age) {
  Upstream up;
  Torii t(sqlite_options());
  ASSERT_EQ(t.admin("PUT", "/routes/s", route_json("/s", up)).status, 201);
  EXPECT_TRUE(wait_until([&] {
    auto s = parse(t.admin("GET", "/torii/status").body);
    return s.at("config").at("revision").as_int64() >= 1;
  }));
  auto s = parse(t.admin("GET", "/torii/status").body);
  EXPECT_EQ(s.at("config_provider").as_string(), "sqlite");
  EXPECT_TRUE(s.at("config").at("connected").as_bool());
  EXPECT_GE(s.at("config").at("seconds_since_sync").as_double(), 0.0);
  EXPECT_EQ(s.at("snapshot").at("routes").as_int64(), 1);
  auto m = t.admin("GET", "/torii/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("torii_config_revision "), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("torii_config_seconds_since_sync "), std::string::npos);
  // Not without the key.
  EXPECT_EQ(http_get(t.admin_url("/torii/status")).status, 401);
}

TEST(AdminKeyBootstrap, a_key_is_generated_once_kept_0600_and_printed_once) {
  auto dir = std::make_shared<TempDir>();
  ToriiOptions o = sqlite_options(dir);
  o.admin_port = free_port();
  o.admin_block = "  admin:\n    admin_listen:\n      ip: 127.0.0.1\n      port: " +
                  std::to_string(o.admin_port) + "\n";
  std::string key;
  {
    Torii t(o);
    key = dir->read("admin_key");
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
    ASSERT_GE(key.size(), 32u);
    struct stat st{};
    ASSERT_EQ(::stat((dir->path() + "/admin_key").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_NE(t.stderr_text().find(key), std::string::npos) << "the key is printed at generation";
    EXPECT_EQ(t.error_log().find(key), std::string::npos) << "the key must not be logged";
    EXPECT_EQ(http_get(t.admin_url("/routes")).status, 401);
    EXPECT_EQ(http_get(t.admin_url("/routes"), {"X-API-KEY: " + key}).status, 200);
    t.signal(SIGTERM);
    t.wait_exit(std::chrono::seconds(10));
  }
  Torii again(o);
  EXPECT_EQ(http_get(again.admin_url("/routes"), {"X-API-KEY: " + key}).status, 200);
  const std::string err = again.stderr_text();
  size_t occurrences = 0;
  for (size_t p = err.find(key); p != std::string::npos; p = err.find(key, p + 1)) ++occurrences;
  EXPECT_EQ(occurrences, 1u) << "printed once, at first start only";
}

TEST(AdminStandalone, the_admin_api_is_read_only_and_shows_the_file) {
  Upstream up;
  Torii t("routes:\n  - id: f1\n    uri: /file\n    upstream:\n      nodes:\n        \"" +
          up.node() + "\": 1\n");
  auto list = t.admin("GET", "/routes");
  ASSERT_EQ(list.status, 200) << list.body;
  auto v = parse(list.body);
  ASSERT_EQ(v.at("total").as_int64(), 1);
  EXPECT_EQ(v.at("list").at(0).at("value").at("uri").as_string(), "/file");
  auto put = t.admin("PUT", "/routes/x", route_json("/x", up));
  EXPECT_EQ(put.status, 400);
  EXPECT_NE(put.body.find("read-only"), std::string::npos) << put.body;
  EXPECT_EQ(http_get(t.url("/x")).status, 404);
  EXPECT_EQ(t.admin("DELETE", "/routes/f1").status, 400);
  EXPECT_EQ(http_get(t.url("/file")).status, 200);
}

}  // namespace
}  // namespace torii::testing
