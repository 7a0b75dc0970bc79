// EtcdStore against a real etcd (tests/integration/etcd_process.h): the
// ConfigStore contract (revisions, compare-and-swap, atomic removal, TTL,
// watch order / resume / compaction), outages, auth and failover. Only the
// malformed-answer case uses a fake gateway, since etcd never answers badly.
#include "store/etcd_store.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <optional>
#include <thread>

#include "etcd_process.h"
#include "harness.h"

namespace torii::testing {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using core::ErrorKind;
using store::EtcdOptions;
using store::EtcdStore;
using store::Expect;
using store::KeyValue;
using store::WatchEvent;

template <class T>
net::Task<void> store_into(net::Task<T> task, std::optional<T>* out) {
  out->emplace(co_await std::move(task));
}

// Puts `n` keys "<prefix><i>" = "v<i>", `gap` apart.
net::Task<core::Status> slow_writer(EtcdStore* s, std::string prefix, int n,
                                    std::chrono::milliseconds gap) {
  net::Timer timer(co_await asio::this_coro::executor);
  for (int i = 0; i < n; ++i) {
    auto r =
        co_await s->put(prefix + std::to_string(i), "v" + std::to_string(i), Expect::any(), 0s);
    if (!r) co_return r.error();
    timer.expires_after(gap);
    co_await timer.async_wait(net::kNoThrow);
  }
  co_return core::ok_status();
}

// What a watch handler saw.
struct Seen {
  std::vector<WatchEvent> events;
  std::vector<std::pair<size_t, int64_t>> batches;  // (events, revision) per call
};

EtcdOptions hosts_only(std::vector<std::string> hosts) {
  EtcdOptions o;
  o.hosts = std::move(hosts);
  return o;
}

class EtcdStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(etcd_.start());
    store_ = make_store();
  }

  std::unique_ptr<EtcdStore> make_store(EtcdOptions opts = {}) {
    if (opts.hosts.empty()) opts.hosts = {etcd_.endpoint()};
    auto s = EtcdStore::create(io_.get_executor(), std::move(opts));
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    return s.ok() ? std::move(*s) : nullptr;
  }

  // Drives the io_context until `pred` or `limit`.
  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = 20s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < end) {
      if (io_.stopped()) io_.restart();
      io_.run_one_for(20ms);
    }
    return pred();
  }

  template <class T>
  void spawn(net::Task<T> task, std::optional<T>* out) {
    asio::co_spawn(io_.get_executor(), store_into(std::move(task), out), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
  }

  template <class T>
  T run(net::Task<T> task) {
    std::optional<T> out;
    spawn(std::move(task), &out);
    if (!run_until([&] { return out.has_value(); })) {
      ADD_FAILURE() << "operation did not complete";
      std::abort();
    }
    return std::move(*out);
  }

  store::WatchHandler collect(Seen* seen) {
    return [seen](std::vector<WatchEvent>& evs, int64_t rev) {
      seen->batches.emplace_back(evs.size(), rev);
      for (auto& e : evs) seen->events.push_back(std::move(e));
    };
  }

  int64_t put(const std::string& k, const std::string& v) {
    auto r = run(store_->put(k, v, Expect::any(), 0s));
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? r->kv.mod_revision : 0;
  }

  asio::io_context io_;
  EtcdProcess etcd_;
  std::unique_ptr<EtcdStore> store_;
};

TEST_F(EtcdStoreTest, range_returns_keys_in_byte_order_and_skips_dir_markers) {
  put("/apisix/routes/", "init_dir");
  const int64_t r2 = put("/apisix/routes/2", R"({"uri":"/b"})");
  const int64_t r1 = put("/apisix/routes/1", R"({"uri":"/a"})");
  put("/apisix/routes10", "outside the prefix");
  put("/apisix/services/1", "{}");

  auto r = run(store_->range("/apisix/routes/"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->kvs.size(), 2u);
  EXPECT_EQ(r->kvs[0].key, "/apisix/routes/1");
  EXPECT_EQ(r->kvs[0].value, R"({"uri":"/a"})");
  EXPECT_EQ(r->kvs[0].create_revision, r1);
  EXPECT_EQ(r->kvs[0].mod_revision, r1);
  EXPECT_EQ(r->kvs[1].key, "/apisix/routes/2");
  EXPECT_EQ(r->kvs[1].mod_revision, r2);
  EXPECT_GE(r->revision, r1 + 2);

  auto all = run(store_->range("/apisix"));
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->kvs.size(), 4u);  // 1, 2, routes10, services/1

  auto empty = run(store_->range("/nothing/"));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->kvs.empty());
  EXPECT_EQ(empty->revision, r->revision);
}

TEST_F(EtcdStoreTest, get_returns_the_key_or_nothing) {
  const int64_t rev = put("/k/bin", std::string("a\0b\xff", 4));
  auto got = run(store_->get("/k/bin"));
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->value, std::string("a\0b\xff", 4));
  EXPECT_EQ((*got)->mod_revision, rev);

  auto none = run(store_->get("/k/missing"));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  // A key is not a prefix.
  EXPECT_FALSE(run(store_->get("/k/bi"))->has_value());
}

TEST_F(EtcdStoreTest, put_reports_revisions_and_previous_value) {
  auto first = run(store_->put("/p/1", "one", Expect::any(), 0s));
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_FALSE(first->prev.has_value());
  EXPECT_EQ(first->kv.create_revision, first->kv.mod_revision);

  auto second = run(store_->put("/p/1", "two", Expect::any(), 0s));
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(second->prev.has_value());
  EXPECT_EQ(second->prev->value, "one");
  EXPECT_EQ(second->prev->mod_revision, first->kv.mod_revision);
  EXPECT_EQ(second->kv.create_revision, first->kv.create_revision);
  EXPECT_EQ(second->kv.mod_revision, first->kv.mod_revision + 1);
  EXPECT_EQ(second->kv.value, "two");
}

TEST_F(EtcdStoreTest, put_absent_conflicts_when_the_key_exists) {
  auto created = run(store_->put("/p/a", "x", Expect::absent(), 0s));
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_FALSE(created->prev.has_value());
  EXPECT_EQ(created->kv.create_revision, created->kv.mod_revision);

  auto again = run(store_->put("/p/a", "y", Expect::absent(), 0s));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(run(store_->get("/p/a"))->value().value, "x");
}

TEST_F(EtcdStoreTest, put_at_revision_conflicts_when_the_key_changed) {
  const int64_t r1 = put("/p/b", "1");
  auto ok = run(store_->put("/p/b", "2", Expect::at(r1), 0s));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  ASSERT_TRUE(ok->prev.has_value());
  EXPECT_EQ(ok->prev->value, "1");
  EXPECT_EQ(ok->kv.create_revision, r1);

  auto stale = run(store_->put("/p/b", "3", Expect::at(r1), 0s));
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().kind, ErrorKind::kConflict);

  auto missing = run(store_->put("/p/none", "3", Expect::at(r1), 0s));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(run(store_->get("/p/b"))->value().value, "2");
}

TEST_F(EtcdStoreTest, remove_with_children_deletes_atomically) {
  put("/c/jack", "{}");
  put("/c/jack/credentials/1", "{}");
  put("/c/jack/credentials/2", "{}");
  put("/c/jackson", "{}");
  const int64_t before = run(store_->range("/c/"))->revision;

  auto r = run(store_->remove("/c/jack", true));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->deleted, 3);
  EXPECT_EQ(r->revision, before + 1);  // one revision for all three

  auto left = run(store_->range("/c/"));
  ASSERT_EQ(left->kvs.size(), 1u);
  EXPECT_EQ(left->kvs[0].key, "/c/jackson");

  auto nothing = run(store_->remove("/c/jack", true));
  ASSERT_TRUE(nothing.ok());
  EXPECT_EQ(nothing->deleted, 0);
  EXPECT_EQ(nothing->revision, r->revision);

  auto single = run(store_->remove("/c/jackson", false));
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->deleted, 1);
  EXPECT_EQ(run(store_->remove("/c/jackson", false))->deleted, 0);
}

TEST_F(EtcdStoreTest, ttl_key_expires) {
  auto r = run(store_->put("/ttl/k", "v", Expect::any(), 1s));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(run(store_->get("/ttl/k"))->has_value());
  EXPECT_TRUE(wait_until([&] { return !run(store_->get("/ttl/k"))->has_value(); }, 10s));
}

TEST_F(EtcdStoreTest, watch_delivers_puts_and_deletes_in_order) {
  const int64_t start = run(store_->range("/w/"))->revision;
  Seen seen;
  std::optional<core::Status> done;
  spawn(store_->watch("/w/", start, collect(&seen)), &done);

  put("/w/a", "1");
  put("/other/x", "not watched");
  put("/w/b", "2");
  put("/w/c", "{}");
  put("/w/c/credentials/1", "{}");
  ASSERT_TRUE(run(store_->remove("/w/c", true)).ok());  // two keys, one revision
  ASSERT_TRUE(run(store_->remove("/w/a", false)).ok());
  ASSERT_TRUE(run_until([&] { return seen.events.size() >= 7; }));

  ASSERT_EQ(seen.events.size(), 7u);
  const auto& e = seen.events;
  EXPECT_EQ(e[0].type, WatchEvent::Type::kPut);
  EXPECT_EQ(e[0].kv.key, "/w/a");
  EXPECT_EQ(e[0].kv.value, "1");
  EXPECT_EQ(e[1].kv.key, "/w/b");
  EXPECT_EQ(e[2].kv.key, "/w/c");
  EXPECT_EQ(e[3].kv.key, "/w/c/credentials/1");
  EXPECT_EQ(e[4].type, WatchEvent::Type::kDelete);
  EXPECT_EQ(e[5].type, WatchEvent::Type::kDelete);
  EXPECT_EQ(e[4].kv.mod_revision, e[5].kv.mod_revision);
  EXPECT_EQ(e[6].type, WatchEvent::Type::kDelete);
  EXPECT_EQ(e[6].kv.key, "/w/a");
  EXPECT_TRUE(e[6].kv.value.empty());
  for (size_t i = 1; i < e.size(); ++i) EXPECT_GE(e[i].kv.mod_revision, e[i - 1].kv.mod_revision);
  // The two deletes of the txn (one revision) are never split between two
  // calls. They come in a call of their own when the watch is live, or with
  // other revisions when it catches up from `start` (the writes may run
  // before the watch is established): no call may end right after e[4].
  size_t delivered = 0;
  for (auto [n, rev] : seen.batches) {
    delivered += n;
    EXPECT_NE(delivered, 5u) << "a call ended between the two deletes of one revision";
    if (delivered > 4 && delivered - n <= 4) {
      EXPECT_GE(rev, e[5].kv.mod_revision);  // the call with the deletes reports their revision
    }
  }
  EXPECT_EQ(seen.batches.back().second, e[6].kv.mod_revision);

  store_->close();
  ASSERT_TRUE(run_until([&] { return done.has_value(); }, 2s));
  EXPECT_TRUE(done->ok());
}

TEST_F(EtcdStoreTest, watch_resumes_after_a_revision) {
  const int64_t r1 = put("/r/1", "a");
  const int64_t r2 = put("/r/2", "b");
  const int64_t r3 = put("/r/3", "c");
  Seen seen;
  std::optional<core::Status> done;
  spawn(store_->watch("/r/", r1, collect(&seen)), &done);
  ASSERT_TRUE(run_until([&] { return seen.events.size() >= 2; }));
  ASSERT_EQ(seen.events.size(), 2u);
  EXPECT_EQ(seen.events[0].kv.mod_revision, r2);
  EXPECT_EQ(seen.events[1].kv.mod_revision, r3);
  EXPECT_EQ(seen.batches.back().second, r3);
  store_->close();
  ASSERT_TRUE(run_until([&] { return done.has_value(); }, 2s));
}

TEST_F(EtcdStoreTest, watch_rearms_without_losing_or_repeating_events) {
  EtcdOptions opts;
  opts.watch_timeout = 150ms;
  auto s = make_store(opts);
  const int64_t start = run(s->range("/re/"))->revision;
  Seen seen;
  std::optional<core::Status> done;
  spawn(s->watch("/re/", start, collect(&seen)), &done);
  auto written = run(slow_writer(s.get(), "/re/", 12, 60ms));  // spans several re-arms
  ASSERT_TRUE(written.ok()) << written.error().message;
  ASSERT_TRUE(run_until([&] { return seen.events.size() >= 12; }));
  run_until([] { return false; }, 300ms);  // a duplicate would show up by now
  ASSERT_EQ(seen.events.size(), 12u);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(seen.events[i].kv.value, "v" + std::to_string(i));
  EXPECT_FALSE(done.has_value());
  s->close();
  ASSERT_TRUE(run_until([&] { return done.has_value(); }, 2s));
  EXPECT_TRUE(done->ok());
}

TEST_F(EtcdStoreTest, watch_from_a_compacted_revision_reports_compacted) {
  const int64_t r1 = put("/cp/1", "a");
  put("/cp/1", "b");
  const int64_t r3 = put("/cp/1", "c");
  ASSERT_NO_FATAL_FAILURE(etcd_.compact(r3));
  Seen seen;
  auto st = run(store_->watch("/cp/", r1, collect(&seen)));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().kind, ErrorKind::kCompacted) << st.error().message;
  EXPECT_TRUE(seen.events.empty());

  // From the compaction revision on, history is there.
  std::optional<core::Status> done;
  spawn(store_->watch("/cp/", r3 - 1, collect(&seen)), &done);
  ASSERT_TRUE(run_until([&] { return seen.events.size() >= 1; }));
  EXPECT_EQ(seen.events[0].kv.value, "c");
  store_->close();
  ASSERT_TRUE(run_until([&] { return done.has_value(); }, 2s));
}

TEST_F(EtcdStoreTest, close_ends_a_pending_watch_promptly) {
  std::optional<core::Status> done;
  Seen seen;
  spawn(store_->watch("/idle/", 0, collect(&seen)), &done);
  run_until([] { return false; }, 300ms);  // the watch is established and idle
  EXPECT_FALSE(done.has_value());
  const auto t0 = std::chrono::steady_clock::now();
  store_->close();
  ASSERT_TRUE(run_until([&] { return done.has_value(); }, 1s));
  EXPECT_TRUE(done->ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
  auto after = run(store_->get("/idle/x"));
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().kind, ErrorKind::kUnavailable);
}

TEST_F(EtcdStoreTest, destroying_the_store_with_a_pending_watch_is_safe) {
  std::optional<core::Status> done;
  Seen seen;
  spawn(store_->watch("/gone/", 0, collect(&seen)), &done);
  run_until([] { return false; }, 200ms);
  store_.reset();
  ASSERT_TRUE(run_until([&] { return done.has_value(); }, 1s));
  EXPECT_TRUE(done->ok());
}

TEST_F(EtcdStoreTest, etcd_down_fails_fast_with_unavailable_and_recovers) {
  EtcdOptions opts;
  opts.timeout = 500ms;
  auto s = make_store(opts);
  ASSERT_TRUE(run(s->put("/o/k", "v", Expect::any(), 0s)).ok());  // a kept-alive connection
  std::optional<core::Status> watch_done;
  Seen seen;
  spawn(s->watch("/o/", 0, collect(&seen)), &watch_done);
  ASSERT_TRUE(run_until([&] { return !seen.events.empty(); }));

  etcd_.stop();
  // The watch stream ends with the server.
  ASSERT_TRUE(run_until([&] { return watch_done.has_value(); }, 2s));
  ASSERT_FALSE(watch_done->ok());
  EXPECT_EQ(watch_done->error().kind, ErrorKind::kUnavailable) << watch_done->error().message;

  auto t0 = std::chrono::steady_clock::now();
  auto r = run(s->range("/o/"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kUnavailable) << r.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  auto p = run(s->put("/o/k", "w", Expect::any(), 0s));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().kind, ErrorKind::kUnavailable);
  auto w = run(s->watch("/o/", 0, collect(&seen)));
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().kind, ErrorKind::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);

  ASSERT_NO_FATAL_FAILURE(etcd_.start());  // same ports, same data
  auto back = run(s->get("/o/k"));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ((*back)->value, "v");
}

TEST_F(EtcdStoreTest, unresponsive_etcd_times_out) {
  // A listener that never answers: connect succeeds, the reply never comes.
  uint16_t port = 0;
  const int fd = listen_loopback(16, port);
  EtcdOptions opts;
  opts.hosts = {"http://127.0.0.1:" + std::to_string(port)};
  opts.timeout = 300ms;
  auto s = make_store(opts);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = run(s->range("/x/"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kTimeout) << r.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  ::close(fd);
}

TEST_F(EtcdStoreTest, fails_over_to_the_next_host) {
  EtcdOptions opts;
  opts.hosts = {"http://127.0.0.1:" + std::to_string(free_port()), etcd_.endpoint()};
  opts.timeout = 1s;
  auto s = make_store(opts);
  auto r = run(s->put("/f/k", "v", Expect::any(), 0s));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(run(s->get("/f/k"))->value().value, "v");
  EXPECT_NE(s->describe().find(etcd_.endpoint()), std::string::npos);
}

TEST_F(EtcdStoreTest, malformed_answers_are_unavailable_not_a_crash) {
  // fake_gateway: answers every request with the next canned bytes.
  const std::vector<std::string> answers = {
      "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{\"header\":",
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]",
      "HTTP/1.1 200 OK\r\nContent-Length: "
      "45\r\n\r\n{\"header\":{\"revision\":\"x\"},\"kvs\":[{\"key\":1}]}",
      "NOT HTTP AT ALL\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 28\r\n\r\n{\"error\":\"boom\",\"code\":14}xx",
  };
  uint16_t port = 0;
  const int lfd = listen_loopback(16, port);
  std::thread server([&] {
    for (const std::string& a : answers) {
      const int c = ::accept(lfd, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      std::string got;
      while (got.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::recv(c, buf, sizeof(buf), 0);
        if (n <= 0) break;
        got.append(buf, static_cast<size_t>(n));
      }
      ::send(c, a.data(), a.size(), MSG_NOSIGNAL);
      ::shutdown(c, SHUT_WR);
      ::close(c);
    }
  });
  EtcdOptions opts;
  opts.hosts = {"http://127.0.0.1:" + std::to_string(port)};
  opts.timeout = 2s;
  auto s = make_store(opts);
  for (size_t i = 0; i < answers.size(); ++i) {
    auto r = run(s->range("/m/"));
    ASSERT_FALSE(r.ok()) << "answer " << i;
    EXPECT_EQ(r.error().kind, ErrorKind::kUnavailable)
        << "answer " << i << ": " << r.error().message;
  }
  server.join();
  ::close(lfd);
}

TEST_F(EtcdStoreTest, create_accepts_only_http_urls) {
  auto https = EtcdStore::create(io_.get_executor(), hosts_only({"https://127.0.0.1:2379"}));
  ASSERT_FALSE(https.ok());
  EXPECT_NE(https.error().message.find("https is not supported"), std::string::npos);
  EXPECT_FALSE(EtcdStore::create(io_.get_executor(), hosts_only({"127.0.0.1:2379"})).ok());
  EXPECT_FALSE(EtcdStore::create(io_.get_executor(), hosts_only({"http://h:0"})).ok());
  EXPECT_FALSE(EtcdStore::create(io_.get_executor(), hosts_only({"http://h:2379/v3"})).ok());
  EXPECT_FALSE(EtcdStore::create(io_.get_executor(), EtcdOptions()).ok());
  auto ok = EtcdStore::create(io_.get_executor(),
                              hosts_only({"http://etcd.local:2379/", "http://[::1]:2380"}));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ((*ok)->describe(), "etcd http://etcd.local:2379/,http://[::1]:2380");
}

TEST_F(EtcdStoreTest, auth_with_user_and_password) {
  ASSERT_EQ(etcd_.post("/v3/auth/user/add", R"({"name":"root","password":"rootpw"})").status, 200);
  ASSERT_EQ(etcd_.post("/v3/auth/role/add", R"({"name":"root"})").status, 200);
  ASSERT_EQ(etcd_.post("/v3/auth/user/grant", R"({"user":"root","role":"root"})").status, 200);
  ASSERT_EQ(etcd_.post("/v3/auth/enable", "{}").status, 200);

  EtcdOptions opts;
  opts.user = "root";
  opts.password = "rootpw";
  auto s = make_store(opts);
  auto r = run(s->put("/a/k", "v", Expect::absent(), 0s));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(run(s->get("/a/k"))->value().value, "v");

  Seen seen;
  std::optional<core::Status> done;
  spawn(s->watch("/a/", r->kv.mod_revision - 1, collect(&seen)), &done);
  ASSERT_TRUE(run_until([&] { return !seen.events.empty(); }));
  s->close();
  ASSERT_TRUE(run_until([&] { return done.has_value(); }, 2s));

  // Without credentials, and with a wrong password: etcd's message, 503.
  auto anon = run(store_->get("/a/k"));
  ASSERT_FALSE(anon.ok());
  EXPECT_EQ(anon.error().kind, ErrorKind::kUnavailable);
  opts.password = "wrong";
  auto bad = make_store(opts);
  auto denied = run(bad->get("/a/k"));
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().kind, ErrorKind::kUnavailable);
  EXPECT_NE(denied.error().message.find("authentication"), std::string::npos)
      << denied.error().message;

  // etcd forgets its simple tokens on restart: the store fetches a new one.
  opts.password = "rootpw";
  auto again = make_store(opts);
  ASSERT_TRUE(run(again->get("/a/k")).ok());
  etcd_.stop();
  ASSERT_NO_FATAL_FAILURE(etcd_.start());
  auto after = run(again->get("/a/k"));
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ((*after)->value, "v");
}

}  // namespace
}  // namespace torii::testing
