// The config store interface: a revisioned key-value store with watch, the
// etcd v3 model. Every write gets a new store-wide revision; each key keeps
// the revision that created it and the one that last modified it (APISIX's
// createdIndex / modifiedIndex); a watcher resumes from a revision.
//
// Backends: SqliteStore (embedded default, src/store/sqlite_store.h) and
// EtcdStore (etcd v3 JSON gateway, src/store/etcd_store.h). The standalone
// file is not a ConfigStore: it is read-only and polled (store/file_watch.h).
//
// Threading: a store is used only from the control thread's io_context (the
// executor given at construction). Every operation is a coroutine on that
// executor; none blocks the thread for longer than a local fsync.
//
// Errors (core::Error kinds; the Admin API maps them to status codes):
//   kConflict     an Expect did not hold (APISIX: 503 "value changed before
//                 overwritten"; for Expect::absent() the key exists)
//   kCompacted    watch(): history at `after` is gone; do a full range() again
//   kUnavailable  the store cannot be reached or answered badly (503)
//   kTimeout      the store did not answer within its timeout (503)
//   kInvalid      a value the store cannot hold (e.g. too large)
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "net/io.h"

namespace torii::store {

struct KeyValue {
  std::string key;              // full key, prefix included: "/apisix/routes/1"
  std::string value;            // stored bytes (JSON text for resources); empty on delete events
  int64_t create_revision = 0;  // revision of the write that created the key
  int64_t mod_revision = 0;     // revision of the last write (or of the delete, in events)
};

struct RangeResult {
  std::vector<KeyValue> kvs;  // every key under the prefix, in byte order of the key
  int64_t revision = 0;       // the store revision this read saw
};

// The precondition of a write (an etcd txn compare on the key).
struct Expect {
  enum class Kind : uint8_t { kAny, kAbsent, kModRevision };
  Kind kind = Kind::kAny;
  int64_t mod_revision = 0;

  static Expect any() { return {}; }
  static Expect absent() { return {Kind::kAbsent, 0}; }
  static Expect at(int64_t rev) { return {Kind::kModRevision, rev}; }
};

struct PutResult {
  KeyValue kv;                   // the key as stored now (revisions filled in)
  std::optional<KeyValue> prev;  // what it replaced; empty when the key was created
};

struct DeleteResult {
  int64_t revision = 0;  // store revision of the delete (unchanged when nothing was deleted)
  int64_t deleted = 0;   // number of keys removed (0: `key` did not exist)
};

struct WatchEvent {
  enum class Type : uint8_t { kPut, kDelete };
  Type type = Type::kPut;
  KeyValue kv;
};

// Called on the store's executor with the events of one or more revisions,
// in revision order, and the store revision they bring the watcher up to.
using WatchHandler = std::function<void(std::vector<WatchEvent>& events, int64_t revision)>;

class ConfigStore {
 public:
  virtual ~ConfigStore() = default;

  // For logs and the status endpoint: "sqlite /var/lib/torii/config.db",
  // "etcd http://127.0.0.1:2379".
  virtual std::string describe() const = 0;

  // Every key that starts with `prefix`, and the revision the read saw.
  virtual net::Task<core::Result<RangeResult>> range(std::string prefix) = 0;

  // One key; empty when absent.
  virtual net::Task<core::Result<std::optional<KeyValue>>> get(std::string key) = 0;

  // Writes `value` at `key` if `expect` holds (kConflict otherwise). The
  // write is durable when this completes successfully. `ttl` > 0: the key is
  // deleted by the store (with a watch event) once it has lived that long.
  virtual net::Task<core::Result<PutResult>> put(std::string key, std::string value, Expect expect,
                                                 std::chrono::seconds ttl) = 0;

  // Deletes `key`; with `with_children` also every key under `key + "/"`
  // (a consumer and its credentials), atomically. Deleting nothing is not an
  // error: `deleted` is 0.
  virtual net::Task<core::Result<DeleteResult>> remove(std::string key, bool with_children) = 0;

  // Delivers every change to keys under `prefix` with a revision > `after`
  // to `on_events`, until close() (returns ok) or an error (kCompacted: the
  // caller must range() again; anything else: retry later from the last
  // revision it saw). Events of one revision are never split across calls.
  virtual net::Task<core::Status> watch(std::string prefix, int64_t after,
                                        WatchHandler on_events) = 0;

  // Ends pending watch() calls (they return ok) and refuses new operations.
  virtual void close() = 0;
};

}  // namespace torii::store
