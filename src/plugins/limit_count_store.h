// The counter store behind limit-count: the one interface between the
// plugin (limit_count.cc, which builds the key and the headers) and where
// the counters live. `local` (limit_count_local.{h,cc}) keeps them in this
// node's memory; `redis` and `redis-cluster` (limit_count_redis.{h,cc}) keep
// them in Redis so every node of a cluster shares them.
//
// Algorithm (every store): APISIX's fixed window. The first request of a key
// starts a window of `window` seconds holding `count`; each request takes
// `cost` from what is left; a request that would leave less than zero is
// rejected and takes nothing. When the window ends the key starts afresh.
//
// Registration of the Redis stores. The Redis file registers its factory
// during static initialisation:
//   namespace {
//   const bool kRegistered = (plugins::limit_count::register_redis_count_store_factory(
//       &make_redis_count_store), true);
//   }
// limit-count calls the factory at create time for `policy` "redis" and
// "redis-cluster"; with none registered, create fails with
// "policy \"redis\" is not available in this build" (the caller adds
// APISIX's "failed to check the configuration of plugin limit-count err: ").
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/result.h"
#include "net/io.h"

namespace torii::plugins::limit_count {

// The answer for one request.
struct Decision {
  // true: the request may go on and `cost` was taken from the window.
  // false: over the limit; nothing was taken.
  bool allowed = false;
  // What is left in the window after this request (0 when rejected, never
  // negative): X-RateLimit-Remaining.
  int64_t remaining = 0;
  // Seconds until the window ends (>= 0), X-RateLimit-Reset: the whole
  // window on the request that opens it; otherwise what is left, which may
  // be fractional (Redis PTTL / 1000; the plugin truncates to 2 decimals).
  double reset_seconds = 0;
};

// A store of fixed-window counters. One instance per limit-count plugin
// instance (or per `group`), created on the control thread, then shared by
// every worker thread of the node: `incoming` is called concurrently from
// several threads and must be safe for that.
class CountStore {
 public:
  virtual ~CountStore() = default;

  // Counts one request of `cost` against `key` in a window of `count`
  // requests per `window`. For a shared store (Redis) `key` is the full key,
  // already prefixed by the plugin with the owner and conf version
  // ("/apisix/routes/1:<crc32 of the conf>:<key>") or the group
  // ("<group>:<key>"); the store uses it as is, adding only its own
  // namespace (APISIX: "plugin-limit-count" + key). A local store belongs to
  // one plugin instance (or group) and gets the bare request key. `count`
  // and `window` may differ between calls for one key (count/time_window
  // given as `$var` templates): the window keeps the length it was opened
  // with, and the count in force is the one of the current call.
  //
  // Runs on the calling worker's executor (co_await
  // boost::asio::this_coro::executor); it may suspend for I/O. It must not
  // throw: a failure (Redis unreachable, timeout, bad reply) is returned as
  // an Error with kind kUnavailable / kTimeout / kBadResponse and source
  // kUpstream; the plugin then answers 500 or, with allow_degradation, lets
  // the request through. The error message names the peer ("redis
  // 127.0.0.1:6379: connection refused").
  virtual net::Task<core::Result<Decision>> incoming(std::string key, int64_t count,
                                                     std::chrono::seconds window, int64_t cost) = 0;

  // True when `incoming_now` may be used instead of `incoming` (a store that
  // never does I/O: local). The plugin then runs its access phase
  // synchronously, without a coroutine frame per request.
  virtual bool is_synchronous() const { return false; }

  // The synchronous form, for stores whose is_synchronous() is true; the
  // others never see it called. Same contract as `incoming`.
  virtual core::Result<Decision> incoming_now(std::string_view key, int64_t count,
                                              std::chrono::seconds window, int64_t cost) {
    return core::Error{core::ErrorKind::kInvalid, core::ErrorSource::kInternal, false,
                       "incoming_now on an asynchronous count store"};
  }
};

// Builds a store for a limit-count conf whose policy is "redis",
// "redis-cluster" or "redis-sentinel" (the conf passed the schema; the
// factory reads `policy` and `window_type` ("fixed" or "sliding"), and
// redis_host, redis_port, redis_username, redis_password, redis_database,
// redis_timeout, redis_ssl, redis_ssl_verify, redis_keepalive_timeout,
// redis_keepalive_pool, redis_cluster_nodes, redis_cluster_name,
// redis_cluster_ssl, redis_cluster_ssl_verify, the sentinel fields, and
// sync_interval — APISIX's fields and defaults). A factory that does not
// support a policy or option returns a config error saying so ("limit-count:
// policy \"redis-sentinel\" is not supported"). Called on the control
// thread; must not block on the network (connect lazily from `incoming`).
// Errors are config errors naming the field, in APISIX's words where it has
// some.
using RedisCountStoreFactory =
    core::Result<std::unique_ptr<CountStore>> (*)(const boost::json::object& conf);

// Registers the factory for every Redis policy (the conf's `policy` tells
// the factory which). Called once, during static initialisation, by
// limit_count_redis.cc; a second call replaces the first. Thread-safe with
// respect to static initialisation order (the slot is a function-local
// static).
void register_redis_count_store_factory(RedisCountStoreFactory factory);

// The registered factory, or nullptr when this build has none.
RedisCountStoreFactory redis_count_store_factory();

}  // namespace torii::plugins::limit_count
