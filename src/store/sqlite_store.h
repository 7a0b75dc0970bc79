// SqliteStore: the embedded default ConfigStore, one SQLite file in WAL mode
// with synchronous=FULL (an acknowledged write survives kill -9 and power
// loss). Each write is one transaction that bumps the store revision by 1.
// Watch history is an in-memory log of the last kLogCapacity events, at
// most kLogBytes of keys and values, empty after open(): watching from an
// older revision returns kCompacted and the caller does a full range(), as
// with a compacted etcd.
//
// Keys with a TTL are hidden from reads once expired and deleted (with a
// normal revisioned delete event) by a sweeper timer on the executor, or
// before the next write, whichever comes first.
//
// One process per database file: open() takes an exclusive flock() on
// `<path>.lock` and fails with kUnavailable while another process holds it.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "store/config_store.h"
#include "store/sqlite_db.h"

namespace torii::store {

class SqliteStore final : public ConfigStore {
 public:
  static constexpr size_t kLogCapacity = 10000;  // events kept for watchers
  // Their keys and values together: repeated writes of large values (an
  // SSL bundle, a big plugin conf) cannot hold gigabytes for history.
  static constexpr size_t kLogBytes = size_t{64} << 20;
  static constexpr int64_t kSchemaVersion = 1;   // meta.schema_version this code reads
  static constexpr std::chrono::seconds kSweepInterval{1};

  // Opens or creates the store at `path` (its directory must exist). Fails
  // with kUnavailable naming the path when the file cannot be opened, is not
  // a SQLite database, or has a schema version this build does not know.
  // `log_capacity`, `log_bytes`: the watch history's bounds (tests make them small).
  static core::Result<std::unique_ptr<SqliteStore>> open(net::Executor ex, std::string path,
                                                         size_t log_capacity = kLogCapacity,
                                                         size_t log_bytes = kLogBytes);

  // Calls close(). Pending watchers then end on the executor without
  // touching the destroyed store.
  ~SqliteStore() override;

  std::string describe() const override { return "sqlite " + path_; }
  net::Task<core::Result<RangeResult>> range(std::string prefix) override;
  net::Task<core::Result<std::optional<KeyValue>>> get(std::string key) override;
  net::Task<core::Result<PutResult>> put(std::string key, std::string value, Expect expect,
                                         std::chrono::seconds ttl) override;
  net::Task<core::Result<DeleteResult>> remove(std::string key, bool with_children) override;
  net::Task<core::Status> watch(std::string prefix, int64_t after, WatchHandler on_events) override;
  void close() override;

  // The store revision of the last committed write.
  int64_t revision() const;

 private:
  struct Statements;
  // State shared with the watch and sweeper coroutines, which may outlive the
  // store by one resumption after close().
  struct Shared;

  SqliteStore(net::Executor ex, std::string path);

  core::Status init_schema();
  core::Status check_open() const;
  core::Result<RangeResult> range_now(const std::string& prefix);
  core::Result<std::optional<KeyValue>> get_now(const std::string& key);
  core::Result<PutResult> put_now(const std::string& key, const std::string& value, Expect expect,
                                  std::chrono::seconds ttl);
  core::Result<DeleteResult> remove_now(const std::string& key, bool with_children);
  // Deletes every expired key, one revision each. Returns whether keys with
  // a TTL remain (the sweeper keeps running while they do).
  core::Result<bool> sweep_expired();
  core::Result<int64_t> read_revision();
  core::Status write_revision(int64_t rev);
  // After a COMMIT: records the events of revision `rev` and wakes watchers.
  void publish(int64_t rev, std::vector<WatchEvent> events);
  void start_sweeper();

  static net::Task<core::Status> watch_loop(std::shared_ptr<Shared> shared, std::string prefix,
                                            int64_t after, WatchHandler on_events);
  static net::Task<void> sweep_loop(std::shared_ptr<Shared> shared, SqliteStore* self);

  net::Executor ex_;
  std::string path_;
  std::unique_ptr<sqlite::Db> db_;
  std::unique_ptr<Statements> st_;  // finalized before db_ is closed
  std::shared_ptr<Shared> shared_;
  int lock_fd_ = -1;  // flock()ed `<path>.lock`: one process per database
};

}  // namespace torii::store
