// Keeps the control thread's copy of everything under the store prefix in
// step with a ConfigStore, the way APISIX's config_etcd.lua does: one full
// read, then one watch on the whole prefix from the revision of that read.
//
// Recovery: a watch that ends with kCompacted, or with any error, is
// followed by a full re-read (after a backoff of 100 ms doubling to 2 s,
// with +-50 % jitter, while the store stays unreachable). The full re-read
// replaces the copy whole, so a store that restarted with an older revision
// or lost data is followed too. Meanwhile the copy, and the snapshot built
// from it, keep serving.
//
// Threading: everything runs on the control thread's executor.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "config/resource_set.h"
#include "core/deadline.h"
#include "store/config_store.h"

namespace torii::store {

struct SyncStatus {
  int64_t revision = 0;               // store revision the copy reflects
  core::Clock::time_point last_sync;  // last time the copy was known current
  bool connected = false;             // the watch is established
  std::string last_error;             // why the last watch or read failed
  uint64_t full_reads = 0;            // full reads done (1 at start, + resyncs)
};

class ConfigSync {
 public:
  // Called (on the executor) after the copy changed; several changes in a
  // row may be reported by one call.
  using ChangeHandler = std::function<void()>;

  ConfigSync(net::Executor ex, ConfigStore& store, std::string prefix, ChangeHandler on_change);

  // The first full read. The gateway does not serve before it succeeds.
  net::Task<core::Status> load();
  // Starts watching (after load()). Returns at once.
  void start();
  // Ends the watch loop.
  void stop();

  // The copy as resource collections (items in creation order: the router's
  // last tie-breaker). Values that are not JSON objects are skipped (and
  // logged once, when they arrive).
  config::ResourceSet resources() const;
  SyncStatus status() const;

 private:
  struct Item {
    int64_t create_revision = 0;
    int64_t mod_revision = 0;
    boost::json::object value;
  };

  net::Task<void> run();
  bool apply_full(RangeResult& range);
  bool apply_event(const WatchEvent& event);
  // "/apisix/routes/1" -> ("routes", "1"); false for keys that are not a
  // resource (gen_id, the plugin list, credentials, directory markers).
  bool split_key(std::string_view key, std::string& collection, std::string& id) const;

  net::Executor ex_;
  ConfigStore& store_;
  std::string prefix_;
  ChangeHandler on_change_;
  std::map<std::string, Item, std::less<>> items_;  // key -> parsed value
  SyncStatus status_;
  net::Timer backoff_timer_;
  std::mt19937 rng_{std::random_device{}()};
  bool stopped_ = false;
};

}  // namespace torii::store
