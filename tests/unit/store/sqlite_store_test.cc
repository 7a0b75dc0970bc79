// SqliteStore against a real SQLite file in a fresh temp directory: revisions,
// preconditions, prefix ranges, TTL expiry, watch history and durability
// across reopen. Coroutines run on a local io_context.
#include "store/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <filesystem>
#include <fstream>
#include <functional>

namespace torii::store {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using core::ErrorKind;

struct Batch {
  std::vector<WatchEvent> events;
  int64_t revision = 0;
};

template <class T>
net::Task<void> store_into(net::Task<T> task, std::optional<T>* out) {
  out->emplace(co_await std::move(task));
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "torii-sqlite-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/config.db";
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  SqliteStore& open() {
    auto s = SqliteStore::open(io_.get_executor(), path_);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    store_ = std::move(*s);
    return *store_;
  }

  // Runs the io_context until `done` holds; false after `limit`.
  bool drive(const std::function<bool()>& done, std::chrono::milliseconds limit = 5000ms) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      if (io_.stopped()) io_.restart();
      io_.run_one_for(20ms);
    }
    return true;
  }

  template <class T>
  T await(net::Task<T> task) {
    std::optional<T> out;
    asio::co_spawn(io_, store_into(std::move(task), &out), asio::detached);
    EXPECT_TRUE(drive([&] { return out.has_value(); }));
    return std::move(*out);
  }

  PutResult put(const std::string& key, const std::string& value, Expect e = Expect::any(),
                std::chrono::seconds ttl = 0s) {
    auto r = await(store_->put(key, value, e, ttl));
    EXPECT_TRUE(r.ok()) << key << ": " << (r.ok() ? "" : r.error().message);
    return r.ok() ? std::move(*r) : PutResult{};
  }

  // Starts a watch that records every batch; `status` is set when it ends.
  void start_watch(std::string prefix, int64_t after, std::vector<Batch>* batches,
                   std::optional<core::Status>* status) {
    auto task = store_->watch(std::move(prefix), after,
                              [batches](std::vector<WatchEvent>& events, int64_t rev) {
                                batches->push_back(Batch{events, rev});
                              });
    asio::co_spawn(io_, store_into(std::move(task), status), asio::detached);
  }

  // Opens the store with small watch-history bounds.
  void open_with_log(size_t log_capacity, size_t log_bytes) {
    auto s = SqliteStore::open(io_.get_executor(), path_, log_capacity, log_bytes);
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(*s);
  }

  // After five writes whose history keeps revisions 3..5: watching from
  // revision 1 is compacted, from 2 delivers 3, 4 and 5 into `batches`.
  void expect_log_from_3_of_5(std::vector<Batch>& batches, std::optional<core::Status>& ended) {
    auto old = await(store_->watch("/", 1, [](std::vector<WatchEvent>&, int64_t) {}));
    ASSERT_FALSE(old.ok());
    EXPECT_EQ(old.error().kind, ErrorKind::kCompacted);
    start_watch("/", 2, &batches, &ended);
    ASSERT_TRUE(drive([&] { return batches.size() == 3; }));
    EXPECT_EQ(batches[0].revision, 3);
  }

  // Runs SQL on the file through a second connection, as another process would.
  void raw_exec(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << err;
    sqlite3_free(err);
    sqlite3_close(db);
  }

  asio::io_context io_;
  std::string dir_, path_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(SqliteStoreTest, create_then_replace_keeps_create_revision) {
  open();
  EXPECT_EQ(store_->revision(), 0);
  auto created = put("/apisix/routes/1", R"({"uri":"/a"})");
  EXPECT_EQ(created.kv.create_revision, 1);
  EXPECT_EQ(created.kv.mod_revision, 1);
  EXPECT_FALSE(created.prev.has_value());

  auto replaced = put("/apisix/routes/1", R"({"uri":"/b"})");
  EXPECT_EQ(replaced.kv.create_revision, 1);
  EXPECT_EQ(replaced.kv.mod_revision, 2);
  ASSERT_TRUE(replaced.prev.has_value());
  EXPECT_EQ(replaced.prev->value, R"({"uri":"/a"})");
  EXPECT_EQ(replaced.prev->mod_revision, 1);

  auto got = await(store_->get("/apisix/routes/1"));
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->value, R"({"uri":"/b"})");
  EXPECT_EQ((*got)->create_revision, 1);
  EXPECT_EQ((*got)->mod_revision, 2);

  auto missing = await(store_->get("/apisix/routes/2"));
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST_F(SqliteStoreTest, revision_is_global_and_bumps_once_per_write) {
  open();
  EXPECT_EQ(put("/a", "1").kv.mod_revision, 1);
  EXPECT_EQ(put("/b", "1").kv.mod_revision, 2);
  EXPECT_EQ(put("/a", "2").kv.mod_revision, 3);
  auto del = await(store_->remove("/b", false));
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(del->revision, 4);
  EXPECT_EQ(del->deleted, 1);
  // Deleting nothing writes nothing.
  auto none = await(store_->remove("/nope", true));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->revision, 4);
  EXPECT_EQ(none->deleted, 0);
  EXPECT_EQ(put("/c", "").kv.mod_revision, 5);  // an empty value is a value
  EXPECT_EQ(store_->revision(), 5);
}

TEST_F(SqliteStoreTest, expect_conflicts_write_nothing) {
  open();
  put("/k", "v1", Expect::absent());
  auto again = await(store_->put("/k", "v2", Expect::absent(), 0s));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kConflict);

  auto stale = await(store_->put("/k", "v2", Expect::at(7), 0s));
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().kind, ErrorKind::kConflict);

  auto absent_at = await(store_->put("/other", "v", Expect::at(1), 0s));
  ASSERT_FALSE(absent_at.ok());
  EXPECT_EQ(absent_at.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(store_->revision(), 1);

  auto ok = put("/k", "v2", Expect::at(1));
  EXPECT_EQ(ok.kv.mod_revision, 2);
  auto got = await(store_->get("/k"));
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->value, "v2");
}

TEST_F(SqliteStoreTest, remove_with_children_is_one_revision) {
  open();
  put("/apisix/consumers/jack", "{}");
  put("/apisix/consumers/jack/credentials/a", "{}");
  put("/apisix/consumers/jack/credentials/b", "{}");
  put("/apisix/consumers/jackson", "{}");
  put("/apisix/consumers/jack0", "{}");
  std::vector<Batch> batches;
  std::optional<core::Status> ended;
  start_watch("/apisix/consumers/", 5, &batches, &ended);

  auto del = await(store_->remove("/apisix/consumers/jack", true));
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(del->deleted, 3);
  EXPECT_EQ(del->revision, 6);
  ASSERT_TRUE(drive([&] { return !batches.empty(); }));
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].revision, 6);
  ASSERT_EQ(batches[0].events.size(), 3u);
  EXPECT_EQ(batches[0].events[0].kv.key, "/apisix/consumers/jack");
  EXPECT_EQ(batches[0].events[1].kv.key, "/apisix/consumers/jack/credentials/a");
  EXPECT_EQ(batches[0].events[2].kv.key, "/apisix/consumers/jack/credentials/b");
  for (const auto& e : batches[0].events) {
    EXPECT_EQ(e.type, WatchEvent::Type::kDelete);
    EXPECT_EQ(e.kv.mod_revision, 6);
  }

  auto rest = await(store_->range("/apisix/consumers/"));
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->kvs.size(), 2u);
  EXPECT_EQ(rest->kvs[0].key, "/apisix/consumers/jack0");
  EXPECT_EQ(rest->kvs[1].key, "/apisix/consumers/jackson");

  // Without children only the key itself goes.
  put("/x", "1");
  put("/x/y", "1");
  auto only = await(store_->remove("/x", false));
  ASSERT_TRUE(only.ok());
  EXPECT_EQ(only->deleted, 1);
  auto child = await(store_->get("/x/y"));
  ASSERT_TRUE(child.ok());
  EXPECT_TRUE(child->has_value());
  store_->close();
  EXPECT_TRUE(drive([&] { return ended.has_value(); }));
}

TEST_F(SqliteStoreTest, range_by_prefix_excludes_siblings) {
  open();
  put("/apisix/routes/2", "b");
  put("/apisix/routes2/1", "x");
  put("/apisix/routes/1", "a");
  put("/apisix/routes", "parent");
  put("/apisix/upstreams/1", "u");
  put(std::string("/bin/\xff\xff", 7), "high");
  put(std::string("/bin/\xff\xfe", 7), "lower");
  put("/bio", "after");

  auto r = await(store_->range("/apisix/routes/"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->revision, 8);
  ASSERT_EQ(r->kvs.size(), 2u);
  EXPECT_EQ(r->kvs[0].key, "/apisix/routes/1");
  EXPECT_EQ(r->kvs[0].value, "a");
  EXPECT_EQ(r->kvs[1].key, "/apisix/routes/2");

  // Byte order, and a prefix ending in 0xff still has a correct upper bound.
  auto high = await(store_->range(std::string("/bin/\xff", 6)));
  ASSERT_TRUE(high.ok());
  ASSERT_EQ(high->kvs.size(), 2u);
  EXPECT_EQ(high->kvs[0].value, "lower");
  EXPECT_EQ(high->kvs[1].value, "high");

  auto all = await(store_->range(""));
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->kvs.size(), 8u);
  for (size_t i = 1; i < all->kvs.size(); ++i) EXPECT_LT(all->kvs[i - 1].key, all->kvs[i].key);
}

TEST_F(SqliteStoreTest, expired_key_is_hidden_before_the_sweep) {
  open();
  put("/apisix/upstreams/1", "u", Expect::any(), 3600s);
  put("/apisix/upstreams/2", "v");
  store_.reset();
  raw_exec("UPDATE kv SET expires_at = 1 WHERE key = '/apisix/upstreams/1'");

  open();  // the sweeper's first pass is a second away
  auto got = await(store_->get("/apisix/upstreams/1"));
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  auto r = await(store_->range("/apisix/upstreams/"));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].key, "/apisix/upstreams/2");

  // A write first deletes the expired key in its own revision, so the key is
  // absent for the Expect and the watcher sees the delete.
  std::vector<Batch> batches;
  std::optional<core::Status> ended;
  start_watch("/apisix/upstreams/", 2, &batches, &ended);
  auto created = put("/apisix/upstreams/1", "new", Expect::absent());
  EXPECT_EQ(created.kv.mod_revision, 4);
  EXPECT_EQ(created.kv.create_revision, 4);
  EXPECT_FALSE(created.prev.has_value());
  ASSERT_TRUE(drive([&] { return batches.size() == 2; }));
  EXPECT_EQ(batches[0].revision, 3);
  EXPECT_EQ(batches[0].events[0].type, WatchEvent::Type::kDelete);
  EXPECT_EQ(batches[1].revision, 4);
  EXPECT_EQ(batches[1].events[0].type, WatchEvent::Type::kPut);
}

TEST_F(SqliteStoreTest, ttl_expiry_deletes_with_a_watch_event) {
  open();
  put("/apisix/routes/keep", "k");
  std::vector<Batch> batches;
  std::optional<core::Status> ended;
  start_watch("/apisix/", 1, &batches, &ended);
  put("/apisix/routes/lease", "l", Expect::any(), 1s);
  ASSERT_TRUE(drive([&] { return batches.size() == 2; }, 5000ms));
  EXPECT_EQ(batches[0].events[0].type, WatchEvent::Type::kPut);
  const Batch& expiry = batches[1];
  EXPECT_EQ(expiry.revision, 3);
  ASSERT_EQ(expiry.events.size(), 1u);
  EXPECT_EQ(expiry.events[0].type, WatchEvent::Type::kDelete);
  EXPECT_EQ(expiry.events[0].kv.key, "/apisix/routes/lease");

  auto got = await(store_->get("/apisix/routes/lease"));
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  auto kept = await(store_->get("/apisix/routes/keep"));
  ASSERT_TRUE(kept.ok());
  EXPECT_TRUE(kept->has_value());
  store_->close();
  EXPECT_TRUE(drive([&] { return ended.has_value(); }));
}

TEST_F(SqliteStoreTest, watch_replays_history_batched_per_revision) {
  open();
  put("/apisix/routes/1", "a");                           // 1
  put("/apisix/services/1", "s");                         // 2
  put("/apisix/routes/1/x", "c");                         // 3
  put("/apisix/routes/2", "b");                           // 4
  (void)await(store_->remove("/apisix/routes/1", true));  // 5: two deletes

  std::vector<Batch> batches, services;
  std::optional<core::Status> ended, services_ended;
  start_watch("/apisix/routes/", 2, &batches, &ended);
  start_watch("/apisix/services/", 0, &services, &services_ended);
  ASSERT_TRUE(drive([&] { return batches.size() == 3 && services.size() == 1; }));
  EXPECT_EQ(batches[0].revision, 3);
  EXPECT_EQ(batches[1].revision, 4);
  EXPECT_EQ(batches[1].events[0].kv.value, "b");
  EXPECT_EQ(batches[2].revision, 5);
  ASSERT_EQ(batches[2].events.size(), 2u);
  EXPECT_EQ(batches[2].events[0].type, WatchEvent::Type::kDelete);
  EXPECT_EQ(batches[2].events[1].kv.key, "/apisix/routes/1/x");
  EXPECT_EQ(services[0].revision, 2);

  // Live events reach both watchers, each only its prefix.
  put("/apisix/services/1", "s2");  // 6
  put("/apisix/routes/3", "r");     // 7
  ASSERT_TRUE(drive([&] { return batches.size() == 4 && services.size() == 2; }));
  EXPECT_EQ(batches[3].revision, 7);
  EXPECT_EQ(batches[3].events[0].kv.key, "/apisix/routes/3");
  EXPECT_EQ(batches[3].events[0].kv.create_revision, 7);
  EXPECT_EQ(services[1].revision, 6);
  EXPECT_EQ(services[1].events[0].kv.value, "s2");

  store_->close();
  ASSERT_TRUE(drive([&] { return ended.has_value() && services_ended.has_value(); }));
  EXPECT_TRUE(ended->ok());
  EXPECT_TRUE(services_ended->ok());
}

TEST_F(SqliteStoreTest, watch_before_the_log_is_compacted) {
  open();
  put("/a", "1");
  put("/a", "2");
  store_.reset();
  open();  // the log starts empty at revision 2
  auto old = await(store_->watch("/", 1, [](std::vector<WatchEvent>&, int64_t) {}));
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.error().kind, ErrorKind::kCompacted);

  std::vector<Batch> batches;
  std::optional<core::Status> ended;
  start_watch("/", 2, &batches, &ended);
  put("/a", "3");
  ASSERT_TRUE(drive([&] { return batches.size() == 1; }));
  EXPECT_EQ(batches[0].revision, 3);
  store_->close();
  ASSERT_TRUE(drive([&] { return ended.has_value(); }));
  EXPECT_TRUE(ended->ok());
}

net::Task<void> put_many(SqliteStore* store, int n) {
  for (int i = 0; i < n; ++i) {
    (void)co_await store->put("/k" + std::to_string(i), "v", Expect::any(), 0s);
  }
}

TEST_F(SqliteStoreTest, watcher_behind_a_full_log_is_compacted) {
  ASSERT_NO_FATAL_FAILURE(open_with_log(3, SqliteStore::kLogBytes));
  for (int i = 1; i <= 5; ++i) put("/k" + std::to_string(i), "v");  // the log keeps 3..5
  std::vector<Batch> batches;
  std::optional<core::Status> ended;
  ASSERT_NO_FATAL_FAILURE(expect_log_from_3_of_5(batches, ended));

  // Four writes land before the watcher runs again: its next event is gone.
  asio::co_spawn(io_, put_many(store_.get(), 4), asio::detached);
  ASSERT_TRUE(drive([&] { return ended.has_value(); }));
  ASSERT_FALSE(ended->ok());
  EXPECT_EQ(ended->error().kind, ErrorKind::kCompacted);
  EXPECT_EQ(store_->revision(), 9);
}

// The history is bounded in bytes too: large values written again and
// again (an SSL bundle) push old events out, and a watcher behind reads afresh.
TEST_F(SqliteStoreTest, the_watch_history_is_bounded_in_bytes) {
  ASSERT_NO_FATAL_FAILURE(open_with_log(SqliteStore::kLogCapacity, 1000));
  const std::string big(300, 'x');
  for (int i = 1; i <= 5; ++i) put("/apisix/ssls/1", big);  // 314 bytes each: 3..5 fit
  std::vector<Batch> batches;
  std::optional<core::Status> ended;
  ASSERT_NO_FATAL_FAILURE(expect_log_from_3_of_5(batches, ended));
  EXPECT_EQ(batches[2].events[0].kv.value, big);
  store_->close();
  ASSERT_TRUE(drive([&] { return ended.has_value(); }));
}

TEST_F(SqliteStoreTest, a_second_process_on_the_same_file_is_refused) {
  open();
  auto second = SqliteStore::open(io_.get_executor(), path_);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("in use by another torii process"), std::string::npos)
      << second.error().message;
  store_->close();  // releases the file
  auto third = SqliteStore::open(io_.get_executor(), path_);
  EXPECT_TRUE(third.ok()) << (third.ok() ? "" : third.error().message);
}

TEST_F(SqliteStoreTest, data_and_revision_survive_reopen) {
  open();
  put("/apisix/routes/1", "a");
  put("/apisix/routes/1", "b");
  put("/apisix/routes/2", "c");
  (void)await(store_->remove("/apisix/routes/2", false));

  // Committed means on disk: another connection sees it while the store is open.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(
        sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE name='revision'", -1, &st, nullptr),
        SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int64(st, 0), 4);
    sqlite3_finalize(st);
    ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
  }

  store_.reset();
  open();
  EXPECT_EQ(store_->revision(), 4);
  auto r = await(store_->range("/apisix/"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->revision, 4);
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].value, "b");
  EXPECT_EQ(r->kvs[0].create_revision, 1);
  EXPECT_EQ(r->kvs[0].mod_revision, 2);
  EXPECT_EQ(put("/apisix/routes/3", "d").kv.mod_revision, 5);
}

TEST_F(SqliteStoreTest, close_ends_pending_watch_and_refuses_operations) {
  open();
  std::vector<Batch> batches;
  std::optional<core::Status> ended;
  start_watch("/", 0, &batches, &ended);
  drive([] { return false; }, 50ms);  // let the watcher reach its wait
  EXPECT_FALSE(ended.has_value());
  store_->close();
  ASSERT_TRUE(drive([&] { return ended.has_value(); }));
  EXPECT_TRUE(ended->ok());

  auto p = await(store_->put("/a", "1", Expect::any(), 0s));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().kind, ErrorKind::kUnavailable);
  auto g = await(store_->get("/a"));
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().kind, ErrorKind::kUnavailable);
  auto w = await(store_->watch("/", 0, [](std::vector<WatchEvent>&, int64_t) {}));
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().kind, ErrorKind::kUnavailable);
}

TEST_F(SqliteStoreTest, destroying_the_store_with_a_pending_watch_is_safe) {
  open();
  std::vector<Batch> batches;
  std::optional<core::Status> ended;
  start_watch("/", 0, &batches, &ended);
  put("/lease", "l", Expect::any(), 60s);  // a sweeper is pending too
  ASSERT_TRUE(drive([&] { return batches.size() == 1; }));
  store_.reset();
  ASSERT_TRUE(drive([&] { return ended.has_value(); }));
  EXPECT_TRUE(ended->ok());
}

TEST_F(SqliteStoreTest, unopenable_path_names_it) {
  const std::string missing = dir_ + "/no/such/dir/config.db";
  auto r = SqliteStore::open(io_.get_executor(), missing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kUnavailable);
  EXPECT_NE(r.error().message.find(missing), std::string::npos) << r.error().message;

  std::ofstream(path_) << "this is not a database, just some text long enough to be a header\n";
  auto garbage = SqliteStore::open(io_.get_executor(), path_);
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.error().message.find(path_), std::string::npos) << garbage.error().message;
}

TEST_F(SqliteStoreTest, unknown_schema_version_is_refused) {
  open();
  store_.reset();
  raw_exec("UPDATE meta SET value = 99 WHERE name = 'schema_version'");
  auto r = SqliteStore::open(io_.get_executor(), path_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("unknown schema version 99"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find(path_), std::string::npos);

  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
  raw_exec("CREATE TABLE other(x)");
  auto foreign = SqliteStore::open(io_.get_executor(), path_);
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.error().message.find("not a torii config store"), std::string::npos);
}

TEST_F(SqliteStoreTest, bad_input_is_an_error_not_a_crash) {
  open();
  auto empty = await(store_->put("", "v", Expect::any(), 0s));
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().kind, ErrorKind::kInvalid);
  auto huge_ttl = await(store_->put("/k", "v", Expect::any(), std::chrono::seconds::max()));
  ASSERT_FALSE(huge_ttl.ok());
  EXPECT_EQ(huge_ttl.error().kind, ErrorKind::kInvalid);
  auto no_handler = await(store_->watch("/", 0, WatchHandler()));
  ASSERT_FALSE(no_handler.ok());
  EXPECT_EQ(no_handler.error().kind, ErrorKind::kInvalid);
  // Keys and values are bytes: NUL and non-UTF-8 round-trip.
  const std::string key("/bin/\0\xc3", 7), value("\0\x01\xff", 3);
  put(key, value);
  auto got = await(store_->get(key));
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->key, key);
  EXPECT_EQ((*got)->value, value);
}

}  // namespace
}  // namespace torii::store
