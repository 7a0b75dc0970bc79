// ConfigSync over the real SqliteStore: the first full read, watch events
// turned into resource collections in creation order, keys that are not
// resources (gen_id, credentials, bad JSON) left out, and a resync after the
// watch fails.
#include "store/config_sync.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>

#include "store/sqlite_store.h"

namespace torii::store {
namespace {

namespace asio = boost::asio;

class StoreConfigSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/torii-sync-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    auto s = SqliteStore::open(io_.get_executor(), dir_ + "/config.db");
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Runs the io_context until `done` or nothing is left to run.
  template <class Pred>
  void run_until(Pred done) {
    for (int i = 0; i < 10000 && !done(); ++i) {
      io_.restart();
      io_.run_for(std::chrono::milliseconds(1));
    }
  }

  void put(const std::string& key, const std::string& value) {
    bool finished = false;
    asio::co_spawn(
        io_.get_executor(),
        [](SqliteStore* s, std::string k, std::string v, bool* f) -> net::Task<void> {
          auto r = co_await s->put(k, v, Expect::any(), std::chrono::seconds(0));
          EXPECT_TRUE(r.ok());
          *f = true;
        }(store_.get(), key, value, &finished),
        asio::detached);
    run_until([&] { return finished; });
  }

  void remove(const std::string& key) {
    bool finished = false;
    asio::co_spawn(
        io_.get_executor(),
        [](SqliteStore* s, std::string k, bool* f) -> net::Task<void> {
          auto r = co_await s->remove(k, true);
          EXPECT_TRUE(r.ok());
          *f = true;
        }(store_.get(), key, &finished),
        asio::detached);
    run_until([&] { return finished; });
  }

  core::Status load(ConfigSync& sync) {
    std::optional<core::Status> out;
    asio::co_spawn(
        io_.get_executor(),
        [](ConfigSync* s, std::optional<core::Status>* o) -> net::Task<void> {
          *o = co_await s->load();
        }(&sync, &out),
        asio::detached);
    run_until([&] { return out.has_value(); });
    return out ? *out : core::Status(core::config_error("load did not finish"));
  }

  static std::vector<std::string> ids(const config::ResourceSet& set, std::string_view c) {
    std::vector<std::string> out;
    for (const auto& item : set.items(c)) out.push_back(item.id);
    return out;
  }

  asio::io_context io_;
  std::string dir_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(StoreConfigSyncTest, first_read_keeps_only_resources_in_creation_order) {
  put("/apisix/routes/2", R"({"uri":"/b"})");
  put("/apisix/routes/10", R"({"uri":"/a"})");
  put("/apisix/upstreams/1", R"({"nodes":{"127.0.0.1:1":1}})");
  put("/apisix/gen_id", "0");
  put("/apisix/consumers/jack", R"({"username":"jack"})");
  put("/apisix/consumers/jack/credentials/c1", R"({"plugins":{}})");
  put("/apisix/routes/broken", "not json");
  // Another writer stored a number no double holds: Boost.JSON would read it
  // as infinity and write it back as `inf`.
  put("/apisix/routes/huge", R"({"uri":"/h","priority":1e400})");
  put("/apisix/unknown_kind/1", R"({})");
  put("/other/routes/1", R"({"uri":"/x"})");
  int changes = 0;
  ConfigSync sync(io_.get_executor(), *store_, "/apisix", [&] { ++changes; });
  ASSERT_TRUE(load(sync).ok());
  const auto set = sync.resources();
  // Creation order, not key order ("10" sorts before "2").
  EXPECT_EQ(ids(set, "routes"), (std::vector<std::string>{"2", "10"}));
  EXPECT_EQ(ids(set, "upstreams"), (std::vector<std::string>{"1"}));
  EXPECT_EQ(ids(set, "consumers"), (std::vector<std::string>{"jack"}));
  EXPECT_EQ(set.collections.count("unknown_kind"), 0u);
  EXPECT_EQ(sync.status().revision, store_->revision());
  EXPECT_EQ(sync.status().full_reads, 1u);
}

TEST_F(StoreConfigSyncTest, watch_applies_puts_and_deletes_and_reports_changes) {
  put("/apisix/routes/1", R"({"uri":"/a"})");
  int changes = 0;
  ConfigSync sync(io_.get_executor(), *store_, "/apisix", [&] { ++changes; });
  ASSERT_TRUE(load(sync).ok());
  sync.start();
  put("/apisix/routes/2", R"({"uri":"/b"})");
  run_until([&] { return changes >= 1; });
  EXPECT_EQ(ids(sync.resources(), "routes"), (std::vector<std::string>{"1", "2"}));
  put("/apisix/routes/1", R"({"uri":"/a2"})");
  run_until([&] { return changes >= 2; });
  EXPECT_EQ(sync.resources().items("routes")[0].value.at("uri").as_string(), "/a2");
  remove("/apisix/routes/2");
  run_until([&] { return changes >= 3; });
  EXPECT_EQ(ids(sync.resources(), "routes"), (std::vector<std::string>{"1"}));
  // Keys that are not resources change nothing.
  put("/apisix/gen_id", "1");
  run_until([&] { return sync.status().revision == store_->revision(); });
  EXPECT_EQ(changes, 3);
  EXPECT_TRUE(sync.status().connected);
  sync.stop();
  store_->close();
  run_until([&] { return !sync.status().connected; });
}

// A value another writer stored that is not JSON leaves the key's previous
// value in place, whether a watch event or a full read (after a watch
// failure or a compaction) brings it: the two no longer disagree.
TEST_F(StoreConfigSyncTest, a_value_that_is_not_json_keeps_the_previous_one) {
  put("/apisix/routes/1", R"({"uri":"/a"})");
  ConfigSync sync(io_.get_executor(), *store_, "/apisix", [] {});
  ASSERT_TRUE(load(sync).ok());
  put("/apisix/routes/1", "not json");
  ASSERT_TRUE(load(sync).ok());  // a full read, as after a watch failure
  ASSERT_EQ(ids(sync.resources(), "routes"), (std::vector<std::string>{"1"}));
  EXPECT_EQ(sync.resources().items("routes")[0].value.at("uri").as_string(), "/a");
  remove("/apisix/routes/1");
  ASSERT_TRUE(load(sync).ok());
  EXPECT_TRUE(ids(sync.resources(), "routes").empty());
}

TEST_F(StoreConfigSyncTest, an_unreachable_store_is_reported_and_the_copy_kept) {
  put("/apisix/routes/1", R"({"uri":"/a"})");
  int changes = 0;
  ConfigSync sync(io_.get_executor(), *store_, "/apisix", [&] { ++changes; });
  ASSERT_TRUE(load(sync).ok());
  store_->close();  // every later operation fails with kUnavailable
  sync.start();
  run_until([&] { return !sync.status().last_error.empty(); });
  EXPECT_FALSE(sync.status().last_error.empty());
  EXPECT_FALSE(sync.status().connected);
  // The last good copy keeps serving.
  EXPECT_EQ(ids(sync.resources(), "routes"), (std::vector<std::string>{"1"}));
  EXPECT_EQ(changes, 0);
  sync.stop();
}

}  // namespace
}  // namespace torii::store
