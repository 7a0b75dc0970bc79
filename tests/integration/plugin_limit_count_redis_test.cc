// limit-count with policy "redis" against a real redis-server: the store on
// its own (algorithm, key layout, errors, several workers at once), then
// through the real binary: two gateways sharing one Redis admit exactly
// `count` together, the X-RateLimit headers, and Redis outages with and
// without allow_degradation.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <chrono>
#include <optional>
#include <thread>

#include "harness.h"
#include "plugins/limit_count_redis.h"
#include "redis_process.h"

namespace torii::testing {
namespace {

using plugins::limit_count::CountStore;
using plugins::limit_count::Decision;
using std::chrono::seconds;

// ---- the store ---------------------------------------------------------------

std::unique_ptr<CountStore> make_store(const std::string& conf_json) {
  auto made =
      plugins::limit_count::make_redis_count_store(boost::json::parse(conf_json).as_object());
  EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error().message);
  return made.ok() ? std::move(*made) : nullptr;
}

std::string redis_conf(uint16_t port, const std::string& extra = "") {
  return R"({"policy":"redis","redis_host":"127.0.0.1","redis_port":)" + std::to_string(port) +
         extra + "}";
}

// co_spawn's completion: an exception escaping a test coroutine fails the
// test (boost::asio::detached would swallow it).
constexpr auto kRethrow = [](std::exception_ptr e) {
  if (e) std::rethrow_exception(e);
};

// Runs `task` and hands its result to `done` (co_spawn's own completion
// handler needs a default-constructible result, which Result is not).
template <class T, class F>
net::Task<void> then(net::Task<T> task, F done) {
  done(co_await std::move(task));
}

core::Result<Decision> incoming(boost::asio::io_context& io, CountStore& store,
                                const std::string& key, int64_t count, int64_t window,
                                int64_t cost = 1) {
  std::optional<core::Result<Decision>> out;
  boost::asio::co_spawn(io,
                        then(store.incoming(key, count, seconds(window), cost),
                             [&](core::Result<Decision> d) { out.emplace(std::move(d)); }),
                        kRethrow);
  io.restart();  // a loop that ran out of work earlier stays stopped until restarted
  while (!out) io.run_one();
  return std::move(*out);
}

class RedisCountStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    redis_ = new RedisProcess();
    redis_->start();
  }
  static void TearDownTestSuite() {
    delete redis_;
    redis_ = nullptr;
  }
  void SetUp() override { redis_->cli({"FLUSHALL"}); }
  static RedisProcess* redis_;
  boost::asio::io_context io_;
};
RedisProcess* RedisCountStoreTest::redis_ = nullptr;

TEST_F(RedisCountStoreTest, fixed_window_counts_down_then_rejects) {
  auto store = make_store(redis_conf(redis_->port()));
  ASSERT_TRUE(store);
  for (int64_t expect_left : {2, 1, 0}) {
    auto d = incoming(io_, *store, "/apisix/routes/1:7:127.0.0.1", 3, 60);
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_TRUE(d->allowed);
    EXPECT_EQ(d->remaining, expect_left);
    EXPECT_GE(d->reset_seconds, 59);
    EXPECT_LE(d->reset_seconds, 60);
  }
  auto d = incoming(io_, *store, "/apisix/routes/1:7:127.0.0.1", 3, 60);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->allowed);
  EXPECT_EQ(d->remaining, 0);
  EXPECT_GE(d->reset_seconds, 59);

  // APISIX's layout: "plugin-limit-count" + key, holding what is left, with
  // the window as TTL; a rejection takes nothing.
  EXPECT_EQ(redis_->cli({"GET", "plugin-limit-count/apisix/routes/1:7:127.0.0.1"}), "0");
  const int ttl = std::stoi(redis_->cli({"TTL", "plugin-limit-count/apisix/routes/1:7:127.0.0.1"}));
  EXPECT_GE(ttl, 59);
  EXPECT_LE(ttl, 60);

  // Another key has its own window.
  d = incoming(io_, *store, "/apisix/routes/1:7:10.0.0.2", 3, 60);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->allowed);
  EXPECT_EQ(d->remaining, 2);
}

TEST_F(RedisCountStoreTest, cost_larger_than_what_is_left_takes_nothing) {
  auto store = make_store(redis_conf(redis_->port()));
  auto d = incoming(io_, *store, "k", 3, 60, 2);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->allowed);
  EXPECT_EQ(d->remaining, 1);
  d = incoming(io_, *store, "k", 3, 60, 2);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->allowed);
  d = incoming(io_, *store, "k", 3, 60, 1);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->allowed);
  EXPECT_EQ(d->remaining, 0);
  // More than the whole window.
  d = incoming(io_, *store, "k2", 3, 60, 4);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->allowed);
  EXPECT_EQ(d->reset_seconds, 60);
}

TEST_F(RedisCountStoreTest, a_new_window_starts_when_the_key_expires) {
  auto store = make_store(redis_conf(redis_->port()));
  ASSERT_TRUE(incoming(io_, *store, "short", 1, 1)->allowed);
  EXPECT_FALSE(incoming(io_, *store, "short", 1, 1)->allowed);
  ASSERT_TRUE(wait_until(
      [&] {
        return redis_->cli({"EXISTS", "plugin-limit-countshort"}) == "0";
      },
      seconds(5)));
  auto d = incoming(io_, *store, "short", 1, 1);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->allowed);
}

TEST_F(RedisCountStoreTest, continues_a_window_apisix_started) {
  // APISIX's script stores the remaining count with EX window; it may have
  // gone negative there (APISIX takes from rejected requests too).
  redis_->cli({"SET", "plugin-limit-countshared", "5", "EX", "30"});
  auto store = make_store(redis_conf(redis_->port()));
  auto d = incoming(io_, *store, "shared", 10, 60);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->allowed);
  EXPECT_EQ(d->remaining, 4);
  EXPECT_LE(d->reset_seconds, 30);
  redis_->cli({"SET", "plugin-limit-countneg", "-3", "EX", "30"});
  EXPECT_FALSE(incoming(io_, *store, "neg", 10, 60)->allowed);
}

TEST_F(RedisCountStoreTest, database_and_password_fields_are_used) {
  auto store = make_store(redis_conf(redis_->port(), R"(,"redis_database":2,"redis_timeout":500)"));
  ASSERT_TRUE(incoming(io_, *store, "db", 5, 60)->allowed);
  EXPECT_EQ(redis_->cli({"GET", "plugin-limit-countdb"}, 2), "4");
  EXPECT_EQ(redis_->cli({"EXISTS", "plugin-limit-countdb"}, 0), "0");
}

// AUTH and SELECT are answered before any command goes out: pipelined in
// one write, Redis ran the count script after a failed SELECT, in database
// 0 (another tenant's), while the request was refused.
TEST_F(RedisCountStoreTest, a_failed_select_runs_no_command_in_another_database) {
  // The script is loaded (EVALSHA finds it) once any store has run it.
  auto loaded = make_store(redis_conf(redis_->port()));
  ASSERT_TRUE(incoming(io_, *loaded, "warm", 5, 60)->allowed);
  auto store = make_store(redis_conf(redis_->port(), R"(,"redis_database":99)"));
  ASSERT_TRUE(store);
  auto d = incoming(io_, *store, "tenant", 5, 60);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("failed to change redis db"), std::string::npos)
      << d.error().message;
  EXPECT_EQ(redis_->cli({"EXISTS", "plugin-limit-counttenant"}), "0");
}

TEST_F(RedisCountStoreTest, exact_across_workers_of_one_node) {
  auto store = make_store(redis_conf(redis_->port()));
  constexpr int kThreads = 4;
  constexpr int kPerThread = 80;
  constexpr int kCount = 150;
  std::atomic<int> allowed{0}, rejected{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      boost::asio::io_context io;  // one worker
      int done = 0;
      for (int i = 0; i < kPerThread; ++i) {
        boost::asio::co_spawn(io,
                              then(store->incoming("together", kCount, seconds(60), 1),
                                   [&](core::Result<Decision> d) {
                                     ++done;
                                     if (!d.ok()) {
                                       ++failed;
                                     } else if (d->allowed) {
                                       ++allowed;
                                     } else {
                                       ++rejected;
                                     }
                                   }),
                              kRethrow);
      }
      while (done < kPerThread) io.run_one();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(allowed.load(), kCount);
  EXPECT_EQ(rejected.load(), kThreads * kPerThread - kCount);
}

TEST_F(RedisCountStoreTest, redis_down_is_an_unavailable_error_then_recovers) {
  RedisProcess own;
  own.start();
  auto store = make_store(redis_conf(own.port()));
  ASSERT_TRUE(incoming(io_, *store, "k", 5, 60).ok());
  own.stop();
  auto d = incoming(io_, *store, "k", 5, 60);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().kind, core::ErrorKind::kUnavailable);
  EXPECT_EQ(d.error().source, core::ErrorSource::kUpstream);
  EXPECT_NE(d.error().message.find("redis 127.0.0.1:" + std::to_string(own.port())),
            std::string::npos)
      << d.error().message;
  own.start();
  d = incoming(io_, *store, "k", 5, 60);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_TRUE(d->allowed);
  EXPECT_EQ(d->remaining, 4);  // a fresh Redis: nothing was saved
}

TEST_F(RedisCountStoreTest, slow_redis_is_a_timeout_error) {
  auto store = make_store(redis_conf(redis_->port(), R"(,"redis_timeout":100)"));
  ASSERT_TRUE(incoming(io_, *store, "slow", 5, 60).ok());
  redis_->pause();
  auto d = incoming(io_, *store, "slow", 5, 60);
  redis_->resume();
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().kind, core::ErrorKind::kTimeout);
}

TEST(RedisCountStoreFactory, refuses_what_it_cannot_do_safely) {
  auto refuse = [](const std::string& conf) {
    auto made = plugins::limit_count::make_redis_count_store(boost::json::parse(conf).as_object());
    return made.ok() ? std::string("accepted") : made.error().message;
  };
  EXPECT_EQ(refuse(R"({"policy":"redis","redis_host":"127.0.0.1","redis_ssl":true})"),
            "redis_ssl is not supported by torii yet (TLS to Redis)");
  EXPECT_EQ(refuse(R"({"policy":"redis","redis_host":"127.0.0.1","window_type":"sliding"})"),
            "window_type \"sliding\" is not supported with policy \"redis\" yet");
  EXPECT_EQ(
      refuse(
          R"({"policy":"redis-sentinel","redis_sentinels":[{"host":"127.0.0.1","port":26379}],"redis_master_name":"m"})"),
      "policy \"redis-sentinel\" is not supported by torii yet");
  EXPECT_EQ(
      refuse(
          R"({"policy":"redis-cluster","redis_cluster_nodes":["nohost"],"redis_cluster_name":"c"})"),
      "redis_cluster_nodes: invalid node address \"nohost\", expected host:port");
  // The schema bounds redis_port only from below: not wrapped onto port 4464.
  EXPECT_EQ(refuse(R"({"policy":"redis","redis_host":"127.0.0.1","redis_port":70000})"),
            "redis_port: a TCP port is at most 65535");
  EXPECT_EQ(refuse(R"({"policy":"redis","redis_host":"127.0.0.1","redis_port":1e300})"),
            "redis_port: a TCP port is at most 65535");
  EXPECT_EQ(refuse(R"({"policy":"redis","redis_host":"127.0.0.1"})"), "accepted");
}

// ---- through the gateway -----------------------------------------------------

std::string limited_route(const std::string& id, const std::string& uri, const Upstream& up,
                          const std::string& plugin_fields) {
  return "  - id: \"" + id + "\"\n    uri: " + uri + "\n    plugins:\n      limit-count:\n" +
         plugin_fields + "    upstream:\n      nodes:\n        \"" + up.node() + "\": 1\n";
}

std::string redis_fields(uint16_t port, int count, const std::string& extra = "") {
  return "        count: " + std::to_string(count) +
         "\n        time_window: 60\n        policy: redis\n        redis_host: 127.0.0.1\n"
         "        redis_port: " +
         std::to_string(port) + "\n" + extra;
}

TEST(PluginLimitCountRedis, two_gateways_sharing_one_redis_admit_exactly_count) {
  RedisProcess redis;
  redis.start();
  Upstream up;
  constexpr int kCount = 120;
  const std::string routes =
      "routes:\n" + limited_route("1", "/shared", up, redis_fields(redis.port(), kCount));
  Torii a(routes, "", 2);
  Torii b(routes, "", 2);

  constexpr int kThreads = 6;
  constexpr int kPerThread = 40;
  std::atomic<int> ok{0}, limited{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const Torii& node = (t + i) % 2 == 0 ? a : b;
        auto r = http_get(node.url("/shared"));
        if (r.status == 200) {
          ++ok;
        } else if (r.status == 503) {
          ++limited;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(ok.load(), kCount);
  EXPECT_EQ(limited.load(), kThreads * kPerThread - kCount);
  EXPECT_EQ(up.requests(), kCount);
  // Both nodes used the same counter (same route, same conf: same key).
  EXPECT_EQ(redis.cli({"DBSIZE"}), "1");
}

TEST(PluginLimitCountRedis, quota_headers_on_success_and_rejection) {
  RedisProcess redis;
  redis.start();
  Upstream up;
  Torii t("routes:\n" + limited_route("1", "/h", up, redis_fields(redis.port(), 2)));
  auto r = http_get(t.url("/h"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["x-ratelimit-limit"], "2");
  EXPECT_EQ(r.headers["x-ratelimit-remaining"], "1");
  EXPECT_EQ(r.headers["x-ratelimit-reset"], "60");
  r = http_get(t.url("/h"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["x-ratelimit-remaining"], "0");
  r = http_get(t.url("/h"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.headers["x-ratelimit-limit"], "2");
  EXPECT_EQ(r.headers["x-ratelimit-remaining"], "0");
  const int reset = std::stoi(r.headers["x-ratelimit-reset"]);
  EXPECT_GE(reset, 58);
  EXPECT_LE(reset, 60);
}

TEST(PluginLimitCountRedis, redis_outage_with_and_without_degradation) {
  RedisProcess redis;
  redis.start();
  Upstream up;
  const std::string routes =
      "routes:\n" +
      limited_route("1", "/strict", up,
                    redis_fields(redis.port(), 100, "        redis_timeout: 300\n")) +
      limited_route("2", "/lenient", up,
                    redis_fields(redis.port(), 100,
                                 "        redis_timeout: 300\n        allow_degradation: true\n"));
  Torii t(routes);
  EXPECT_EQ(http_get(t.url("/strict")).status, 200);
  EXPECT_EQ(http_get(t.url("/lenient")).status, 200);

  redis.stop();
  for (int i = 0; i < 3; ++i) {
    auto strict = http_get(t.url("/strict"));
    EXPECT_EQ(strict.status, 500);
    EXPECT_EQ(strict.body, "{\"error_msg\":\"failed to limit count\"}\n");
    EXPECT_EQ(strict.headers.count("x-ratelimit-remaining"), 0u);
    auto lenient = http_get(t.url("/lenient"));
    EXPECT_EQ(lenient.status, 200);
    EXPECT_EQ(lenient.headers.count("x-ratelimit-remaining"), 0u);
  }
  EXPECT_NE(t.error_log().find("failed to limit count"), std::string::npos) << t.error_log();

  // A hung Redis: the same, after redis_timeout.
  redis.start();
  EXPECT_EQ(http_get(t.url("/strict")).status, 200);
  redis.pause();
  const auto t0 = std::chrono::steady_clock::now();
  auto strict = http_get(t.url("/strict"));
  const auto took = std::chrono::steady_clock::now() - t0;
  auto lenient = http_get(t.url("/lenient"));
  redis.resume();
  EXPECT_EQ(strict.status, 500);
  EXPECT_GE(took, std::chrono::milliseconds(250));
  EXPECT_LT(took, std::chrono::milliseconds(3000));
  EXPECT_EQ(lenient.status, 200);

  // Back: limited again, with a fresh counter (nothing was saved).
  auto r = http_get(t.url("/strict"));
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.headers["x-ratelimit-remaining"].empty());
}

TEST(PluginLimitCountRedis, admin_api_checks_the_redis_fields) {
  ToriiOptions o;
  o.deployment =
      "deployment:\n  role: traditional\n  role_traditional:\n    config_provider: sqlite\n";
  Torii t(o);
  auto r = t.admin(
      "PUT", "/routes/1",
      R"({"uri":"/x","plugins":{"limit-count":{"count":1,"time_window":60,"policy":"redis"}},)"
      R"("upstream":{"nodes":{"127.0.0.1:1980":1}}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body,
            "{\"error_msg\":\"failed to check the configuration of plugin limit-count err: then "
            "clause did not match\"}");
  r = t.admin(
      "PUT", "/routes/1",
      R"({"uri":"/x","plugins":{"limit-count":{"count":1,"time_window":60,"policy":"redis",)"
      R"("redis_host":"127.0.0.1","redis_port":0}},"upstream":{"nodes":{"127.0.0.1:1980":1}}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body,
            "{\"error_msg\":\"failed to check the configuration of plugin limit-count err: then "
            "clause did not match\"}");
  // Valid for APISIX, but torii cannot do it safely yet: refused, not downgraded.
  r = t.admin("PUT", "/routes/1",
              R"({"uri":"/x","plugins":{"limit-count":{"count":1,"time_window":60,"policy":"redis",)"
              R"("redis_host":"127.0.0.1","redis_ssl":true}},"upstream":{"nodes":{"127.0.0.1:1980":1}}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body,
            "{\"error_msg\":\"failed to check the configuration of plugin limit-count err: "
            "redis_ssl is not supported by torii yet (TLS to Redis)\"}");
  r = t.admin("PUT", "/routes/1",
              R"({"uri":"/x","plugins":{"limit-count":{"count":1,"time_window":60,"policy":"redis",)"
              R"("redis_host":"127.0.0.1"}},"upstream":{"nodes":{"127.0.0.1:1980":1}}})");
  EXPECT_EQ(r.status, 201) << r.body;  // created
}

}  // namespace
}  // namespace torii::testing
