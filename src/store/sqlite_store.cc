// SqliteStore (contract in sqlite_store.h): schema setup, revisioned writes,
// snapshot reads, the TTL sweeper and the in-memory watch log.
#include "store/sqlite_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <deque>
#include <utility>

namespace torii::store {

namespace asio = boost::asio;
using core::ErrorKind;
using core::ErrorSource;
using sqlite::Query;
using sqlite::Txn;

namespace {

// Keys, revisions and expiry in one table; `meta` holds schema_version and
// the store revision. WITHOUT ROWID: the key is the primary B-tree.
constexpr const char* kCreateSchema = R"sql(
  CREATE TABLE meta(name TEXT PRIMARY KEY, value INTEGER) WITHOUT ROWID;
  CREATE TABLE kv(key TEXT PRIMARY KEY, value BLOB NOT NULL,
                  create_revision INTEGER NOT NULL, mod_revision INTEGER NOT NULL,
                  expires_at INTEGER) WITHOUT ROWID;
  CREATE INDEX kv_expires_at ON kv(expires_at) WHERE expires_at IS NOT NULL;
  INSERT INTO meta(name, value) VALUES ('schema_version', 1), ('revision', 0);
)sql";

// Far enough for any real lease, small enough that unix ms cannot overflow.
constexpr int64_t kMaxTtlSeconds = int64_t{100} * 365 * 24 * 3600;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The smallest string above every string that starts with `prefix`; empty
// when there is none (empty prefix, or only 0xff bytes): no upper bound.
std::string prefix_end(std::string prefix) {
  while (!prefix.empty()) {
    const auto last = static_cast<unsigned char>(prefix.back());
    if (last != 0xff) {
      prefix.back() = static_cast<char>(last + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;
}

}  // namespace

struct SqliteStore::Statements {
  sqlite::Stmt read_revision, write_revision, select_key, range_bounded, range_open, keys_between,
      upsert, delete_key, delete_between, expired_keys, delete_expired, any_ttl;
};

struct SqliteStore::Shared {
  Shared(net::Executor ex, std::string p)
      : wake(ex, net::Timer::time_point::max()), sweep(ex), path(std::move(p)) {}
  net::Timer wake;  // never expires: cancel() wakes every waiting watcher
  net::Timer sweep;
  std::string path;
  std::deque<WatchEvent> log;  // in revision order; an event's revision is kv.mod_revision
  size_t log_capacity = kLogCapacity;
  size_t log_bytes_capacity = kLogBytes;
  size_t log_bytes = 0;  // keys and values in `log`
  int64_t revision = 0;
  int64_t compacted = 0;  // the log holds every event with a revision above this
  bool sweeping = false;
  bool closed = false;
};

SqliteStore::SqliteStore(net::Executor ex, std::string path)
    : ex_(ex), path_(std::move(path)), shared_(std::make_shared<Shared>(ex, path_)) {}

SqliteStore::~SqliteStore() { close(); }

core::Result<std::unique_ptr<SqliteStore>> SqliteStore::open(net::Executor ex, std::string path,
                                                             size_t log_capacity, size_t log_bytes) {
  std::unique_ptr<SqliteStore> store(new SqliteStore(ex, std::move(path)));
  store->shared_->log_capacity = std::max<size_t>(log_capacity, 1);
  store->shared_->log_bytes_capacity = log_bytes;
  // One process per file: watchers only see writes made through this
  // object, so a second torii on the same file would serve stale routes.
  // flock() on a side file does not interfere with SQLite's own locks.
  store->lock_fd_ = ::open((store->path_ + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (store->lock_fd_ < 0) {
    return sqlite::store_error(ErrorKind::kUnavailable, store->path_,
                               std::string("cannot open the lock file: ") + std::strerror(errno));
  }
  if (::flock(store->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return sqlite::store_error(ErrorKind::kUnavailable, store->path_,
                               "in use by another torii process (one process per database file)");
  }
  auto db = sqlite::Db::open(store->path_);
  if (!db) return db.error();
  store->db_ = std::move(*db);
  if (auto s = store->init_schema(); !s) return s.error();
  auto rev = store->read_revision();
  if (!rev) return rev.error();
  store->shared_->revision = store->shared_->compacted = *rev;
  auto ttl_left = Query(store->st_->any_ttl).step();
  if (!ttl_left) return ttl_left.error();
  if (*ttl_left) store->start_sweeper();
  return store;
}

core::Status SqliteStore::init_schema() {
  sqlite::Db& db = *db_;
  // Only another process (an operator's sqlite3 shell) can hold the lock;
  // waiting a little beats failing the write.
  if (auto s = db.exec("PRAGMA busy_timeout=5000"); !s) return s;
  {
    // journal_mode answers with the mode it ended up in; some filesystems
    // cannot do WAL, and silently running without it would lose durability.
    auto stmt = db.prepare("PRAGMA journal_mode=WAL");
    if (!stmt) return stmt.error();
    Query q(*stmt);
    auto row = q.step();
    if (!row) return row.error();
    if (!*row || q.text(0) != "wal") {
      return sqlite::store_error(
          ErrorKind::kUnavailable, path_,
          "cannot enable WAL journal mode (got '" + (*row ? q.text(0) : std::string()) + "')");
    }
  }
  if (auto s = db.exec("PRAGMA synchronous=FULL"); !s) return s;

  Txn tx(db);
  if (auto s = tx.begin_immediate(); !s) return s;
  auto scalar = [&db](std::string_view sql) -> core::Result<std::optional<int64_t>> {
    auto stmt = db.prepare(sql);
    if (!stmt) return stmt.error();
    Query q(*stmt);
    auto row = q.step();
    if (!row) return row.error();
    if (!*row || q.is_null(0)) return std::optional<int64_t>();
    return std::optional<int64_t>(q.int64(0));
  };
  auto has_meta = scalar("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='meta'");
  if (!has_meta) return has_meta.error();
  if (**has_meta == 0) {
    auto tables = scalar("SELECT count(*) FROM sqlite_master");
    if (!tables) return tables.error();
    if (**tables != 0) {
      return sqlite::store_error(ErrorKind::kUnavailable, path_,
                                 "not a torii config store (no meta table)");
    }
    if (auto s = db.exec(kCreateSchema); !s) return s;
  } else {
    auto version = scalar("SELECT value FROM meta WHERE name='schema_version'");
    if (!version) return version.error();
    if (!*version || **version != kSchemaVersion) {
      return sqlite::store_error(
          ErrorKind::kUnavailable, path_,
          "unknown schema version " + (*version ? std::to_string(**version) : "(none)") +
              " (this torii reads version " + std::to_string(kSchemaVersion) + ")");
    }
  }
  if (auto s = tx.commit(); !s) return s;

  st_ = std::make_unique<Statements>();
  const std::pair<sqlite::Stmt Statements::*, const char*> sqls[] = {
      {&Statements::read_revision, "SELECT value FROM meta WHERE name='revision'"},
      {&Statements::write_revision, "UPDATE meta SET value=? WHERE name='revision'"},
      {&Statements::select_key,
       "SELECT value, create_revision, mod_revision, expires_at FROM kv WHERE key=?"},
      {&Statements::range_bounded,
       "SELECT key, value, create_revision, mod_revision FROM kv WHERE key >= ? AND key < ? "
       "AND (expires_at IS NULL OR expires_at > ?) ORDER BY key"},
      {&Statements::range_open,
       "SELECT key, value, create_revision, mod_revision FROM kv WHERE key >= ? "
       "AND (expires_at IS NULL OR expires_at > ?) ORDER BY key"},
      {&Statements::keys_between, "SELECT key FROM kv WHERE key >= ? AND key < ? ORDER BY key"},
      {&Statements::upsert,
       "INSERT OR REPLACE INTO kv(key, value, create_revision, mod_revision, expires_at) "
       "VALUES (?, ?, ?, ?, ?)"},
      {&Statements::delete_key, "DELETE FROM kv WHERE key=?"},
      {&Statements::delete_between, "DELETE FROM kv WHERE key >= ? AND key < ?"},
      {&Statements::expired_keys,
       "SELECT key FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY key"},
      {&Statements::delete_expired,
       "DELETE FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ?"},
      {&Statements::any_ttl, "SELECT 1 FROM kv WHERE expires_at IS NOT NULL LIMIT 1"},
  };
  for (const auto& [member, sql] : sqls) {
    auto stmt = db.prepare(sql);
    if (!stmt) return stmt.error();
    (*st_).*member = std::move(*stmt);
  }
  return core::ok_status();
}

core::Status SqliteStore::check_open() const {
  if (!shared_->closed && db_) return core::ok_status();
  core::Error e = sqlite::store_error(ErrorKind::kUnavailable, path_, "store is closed");
  return e;
}

int64_t SqliteStore::revision() const { return shared_->revision; }

core::Result<int64_t> SqliteStore::read_revision() {
  Query q(st_->read_revision);
  auto row = q.step();
  if (!row) return row.error();
  if (!*row) return sqlite::store_error(ErrorKind::kUnavailable, path_, "meta.revision is missing");
  return q.int64(0);
}

core::Status SqliteStore::write_revision(int64_t rev) {
  Query q(st_->write_revision);
  return q.bind(rev).run();
}

// --- reads ------------------------------------------------------------------

net::Task<core::Result<RangeResult>> SqliteStore::range(std::string prefix) {
  co_return range_now(prefix);
}

core::Result<RangeResult> SqliteStore::range_now(const std::string& prefix) {
  if (auto s = check_open(); !s) return s.error();
  const int64_t now = now_ms();
  RangeResult out;
  Txn tx(*db_);  // the revision and the rows from one snapshot
  if (auto s = tx.begin(); !s) return s.error();
  auto rev = read_revision();
  if (!rev) return rev.error();
  out.revision = *rev;
  {
    const std::string end = prefix_end(prefix);
    Query q(end.empty() ? st_->range_open : st_->range_bounded);
    q.bind_text(prefix);
    if (!end.empty()) q.bind_text(end);
    q.bind(now);
    for (;;) {
      auto row = q.step();
      if (!row) return row.error();
      if (!*row) break;
      out.kvs.push_back(KeyValue{q.text(0), q.blob(1), q.int64(2), q.int64(3)});
    }
  }
  if (auto s = tx.commit(); !s) return s.error();
  return out;
}

net::Task<core::Result<std::optional<KeyValue>>> SqliteStore::get(std::string key) {
  co_return get_now(key);
}

core::Result<std::optional<KeyValue>> SqliteStore::get_now(const std::string& key) {
  if (auto s = check_open(); !s) return s.error();
  Query q(st_->select_key);
  auto row = q.bind_text(key).step();
  if (!row) return row.error();
  if (!*row) return std::optional<KeyValue>();
  if (!q.is_null(3) && q.int64(3) <= now_ms()) return std::optional<KeyValue>();  // not swept yet
  return std::optional<KeyValue>(KeyValue{key, q.blob(0), q.int64(1), q.int64(2)});
}

// --- writes -----------------------------------------------------------------

net::Task<core::Result<PutResult>> SqliteStore::put(std::string key, std::string value,
                                                    Expect expect, std::chrono::seconds ttl) {
  co_return put_now(key, value, expect, ttl);
}

core::Result<PutResult> SqliteStore::put_now(const std::string& key, const std::string& value,
                                             Expect expect, std::chrono::seconds ttl) {
  if (auto s = check_open(); !s) return s.error();
  if (key.empty()) return sqlite::store_error(ErrorKind::kInvalid, path_, "put: empty key");
  if (ttl.count() > kMaxTtlSeconds) {
    return sqlite::store_error(ErrorKind::kInvalid, path_, "put " + key + ": ttl too large");
  }
  // Expired keys are deleted (with their events) before any write, so the
  // write's Expect and `prev` never see a key that reads already hide.
  if (auto swept = sweep_expired(); !swept) return swept.error();

  Txn tx(*db_);
  if (auto s = tx.begin_immediate(); !s) return s.error();
  auto rev = read_revision();
  if (!rev) return rev.error();
  std::optional<KeyValue> prev;
  {
    Query q(st_->select_key);
    auto row = q.bind_text(key).step();
    if (!row) return row.error();
    if (*row) prev = KeyValue{key, q.blob(0), q.int64(1), q.int64(2)};
  }
  auto conflict = [&](std::string why) {
    core::Error e = sqlite::store_error(ErrorKind::kConflict, path_, "put " + key + ": " + why);
    e.source = ErrorSource::kDownstream;
    return e;
  };
  if (expect.kind == Expect::Kind::kAbsent && prev) {
    return conflict("exists (mod_revision " + std::to_string(prev->mod_revision) + ")");
  }
  if (expect.kind == Expect::Kind::kModRevision &&
      (!prev || prev->mod_revision != expect.mod_revision)) {
    return conflict((prev ? "mod_revision is " + std::to_string(prev->mod_revision) : "absent") +
                    ", expected " + std::to_string(expect.mod_revision));
  }

  const int64_t new_rev = *rev + 1;
  PutResult result;
  result.kv = KeyValue{key, value, prev ? prev->create_revision : new_rev, new_rev};
  {
    Query q(st_->upsert);
    q.bind_text(key).bind_blob(value).bind(result.kv.create_revision).bind(new_rev);
    if (ttl.count() > 0) {
      q.bind(now_ms() + ttl.count() * 1000);
    } else {
      q.bind_null();
    }
    if (auto s = q.run(); !s) return s.error();
  }
  if (auto s = write_revision(new_rev); !s) return s.error();
  if (auto s = tx.commit(); !s) return s.error();

  result.prev = std::move(prev);
  std::vector<WatchEvent> events;
  events.push_back(WatchEvent{WatchEvent::Type::kPut, result.kv});
  publish(new_rev, std::move(events));
  if (ttl.count() > 0) start_sweeper();
  return result;
}

net::Task<core::Result<DeleteResult>> SqliteStore::remove(std::string key, bool with_children) {
  co_return remove_now(key, with_children);
}

core::Result<DeleteResult> SqliteStore::remove_now(const std::string& key, bool with_children) {
  if (auto s = check_open(); !s) return s.error();
  if (key.empty()) return sqlite::store_error(ErrorKind::kInvalid, path_, "remove: empty key");
  if (auto swept = sweep_expired(); !swept) return swept.error();

  Txn tx(*db_);
  if (auto s = tx.begin_immediate(); !s) return s.error();
  auto rev = read_revision();
  if (!rev) return rev.error();
  const std::string lo = key + "/";
  const std::string hi = prefix_end(lo);  // never empty: '/' is not 0xff
  std::vector<std::string> keys;
  {
    Query q(st_->select_key);
    auto row = q.bind_text(key).step();
    if (!row) return row.error();
    if (*row) keys.push_back(key);
  }
  if (with_children) {
    Query q(st_->keys_between);
    q.bind_text(lo).bind_text(hi);
    for (;;) {
      auto row = q.step();
      if (!row) return row.error();
      if (!*row) break;
      keys.push_back(q.text(0));
    }
  }
  if (keys.empty()) return DeleteResult{*rev, 0};  // nothing written; tx rolls back

  if (auto s = Query(st_->delete_key).bind_text(key).run(); !s) return s.error();
  if (with_children) {
    if (auto s = Query(st_->delete_between).bind_text(lo).bind_text(hi).run(); !s) {
      return s.error();
    }
  }
  const int64_t new_rev = *rev + 1;
  if (auto s = write_revision(new_rev); !s) return s.error();
  if (auto s = tx.commit(); !s) return s.error();

  std::vector<WatchEvent> events;
  events.reserve(keys.size());
  for (auto& k : keys) {
    events.push_back(WatchEvent{WatchEvent::Type::kDelete, KeyValue{std::move(k), {}, 0, new_rev}});
  }
  const auto deleted = static_cast<int64_t>(events.size());
  publish(new_rev, std::move(events));
  return DeleteResult{new_rev, deleted};
}

// All keys that expired by now go in one revision, as etcd revokes a
// lease: one fsync however many keys, one batch for watchers.
core::Result<bool> SqliteStore::sweep_expired() {
  if (auto s = check_open(); !s) return s.error();
  const int64_t now = now_ms();
  std::vector<std::string> keys;
  {
    Query q(st_->expired_keys);
    q.bind(now);
    for (;;) {
      auto row = q.step();
      if (!row) return row.error();
      if (!*row) break;
      keys.push_back(q.text(0));
    }
  }
  if (!keys.empty()) {
    Txn tx(*db_);
    if (auto s = tx.begin_immediate(); !s) return s.error();
    auto rev = read_revision();
    if (!rev) return rev.error();
    // Same `now` and a single writer: deletes exactly the rows selected above.
    if (auto s = Query(st_->delete_expired).bind(now).run(); !s) return s.error();
    const int64_t new_rev = *rev + 1;
    if (auto s = write_revision(new_rev); !s) return s.error();
    if (auto s = tx.commit(); !s) return s.error();
    std::vector<WatchEvent> events;
    events.reserve(keys.size());
    for (auto& k : keys) {
      events.push_back(
          WatchEvent{WatchEvent::Type::kDelete, KeyValue{std::move(k), {}, 0, new_rev}});
    }
    publish(new_rev, std::move(events));
  }
  Query q(st_->any_ttl);
  return q.step();
}

void SqliteStore::publish(int64_t rev, std::vector<WatchEvent> events) {
  Shared& sh = *shared_;
  sh.revision = rev;
  const auto bytes_of = [](const WatchEvent& e) { return e.kv.key.size() + e.kv.value.size(); };
  for (auto& e : events) {
    sh.log_bytes += bytes_of(e);
    sh.log.push_back(std::move(e));
  }
  // A watcher whose next event is dropped gets kCompacted and reads afresh.
  while (!sh.log.empty() &&
         (sh.log.size() > sh.log_capacity || sh.log_bytes > sh.log_bytes_capacity)) {
    sh.compacted = std::max(sh.compacted, sh.log.front().kv.mod_revision);
    sh.log_bytes -= bytes_of(sh.log.front());
    sh.log.pop_front();
  }
  sh.wake.cancel();
}

void SqliteStore::start_sweeper() {
  if (shared_->sweeping || shared_->closed) return;
  shared_->sweeping = true;
  asio::co_spawn(ex_, sweep_loop(shared_, this), asio::detached);
}

// `self` is used only while !closed: the destructor closes first, and a
// closed store is never touched again.
net::Task<void> SqliteStore::sweep_loop(std::shared_ptr<Shared> shared, SqliteStore* self) {
  for (;;) {
    shared->sweep.expires_after(kSweepInterval);
    co_await shared->sweep.async_wait(net::kNoThrow);
    if (shared->closed) co_return;
    auto more = self->sweep_expired();
    // On an error (disk full, I/O) keep trying: reads hide expired keys meanwhile.
    if (more && !*more) {
      shared->sweeping = false;
      co_return;
    }
  }
}

// --- watch ------------------------------------------------------------------

net::Task<core::Status> SqliteStore::watch(std::string prefix, int64_t after,
                                           WatchHandler on_events) {
  if (auto s = check_open(); !s) co_return s;
  if (!on_events) co_return sqlite::store_error(ErrorKind::kInvalid, path_, "watch: no handler");
  co_return co_await watch_loop(shared_, std::move(prefix), after, std::move(on_events));
}

net::Task<core::Status> SqliteStore::watch_loop(std::shared_ptr<Shared> shared, std::string prefix,
                                                int64_t after, WatchHandler on_events) {
  Shared& sh = *shared;
  int64_t seen = after;  // every event up to here was delivered or filtered out
  auto by_revision = [](int64_t rev, const WatchEvent& e) { return rev < e.kv.mod_revision; };
  for (;;) {
    // The log may change while the handler runs (it may close the store),
    // so each batch is looked up again from `seen`.
    for (;;) {
      if (sh.closed) co_return core::ok_status();
      if (seen < sh.compacted) {
        co_return sqlite::store_error(ErrorKind::kCompacted, sh.path,
                                      "watch " + prefix + " from revision " + std::to_string(seen) +
                                          ": history is kept only after revision " +
                                          std::to_string(sh.compacted));
      }
      auto it = std::upper_bound(sh.log.begin(), sh.log.end(), seen, by_revision);
      if (it == sh.log.end()) break;
      const int64_t rev = it->kv.mod_revision;
      std::vector<WatchEvent> batch;
      for (; it != sh.log.end() && it->kv.mod_revision == rev; ++it) {
        if (it->kv.key.starts_with(prefix)) batch.push_back(*it);
      }
      seen = rev;
      if (!batch.empty()) on_events(batch, rev);
    }
    seen = std::max(seen, sh.revision);
    co_await sh.wake.async_wait(net::kNoThrow);
  }
}

void SqliteStore::close() {
  if (shared_->closed) return;
  shared_->closed = true;
  shared_->wake.cancel();
  shared_->sweep.cancel();
  st_.reset();  // statements before the connection
  db_.reset();
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
  lock_fd_ = -1;
}

}  // namespace torii::store
