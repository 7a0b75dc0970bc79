// EtcdStore: the ConfigStore on etcd v3, through etcd's JSON gateway
// (grpc-gateway: POST /v3/kv/range, /v3/kv/put, /v3/kv/txn, /v3/watch ...)
// over plain HTTP/1.1 (store/http_client.h). Keys and values travel base64
// encoded; the gateway prints int64 fields as JSON strings and omits fields
// at their default value (a PUT event has no "type", a failed txn no
// "succeeded").
//
// What this backend adds to the ConfigStore contract:
// - Directory markers: `apisix init_etcd` writes "<prefix>/routes/" with the
//   value "init_dir". range() and watch() drop keys that end in "/" and hold
//   exactly "init_dir" (APISIX's readers skip them too); get() returns them.
// - watch() re-arms its stream every `watch_timeout` (APISIX: 50 s), from
//   the last revision it delivered, so a silently dead stream is noticed;
//   TCP keepalive covers the time between. Nothing is lost or repeated.
// - Hosts are tried in order when a connection cannot be made; the last one
//   that worked is tried first next time.
// - With user/password, a token from /v3/auth/authenticate goes with every
//   call, and is fetched again once when etcd calls it invalid (expired, or
//   etcd restarted).
// - Errors: unreachable / reset / closed -> kUnavailable; no answer within
//   `timeout` -> kTimeout; an etcd error answer -> kUnavailable with etcd's
//   message ("etcdserver: request is too large" -> kInvalid); a malformed
//   answer -> kUnavailable.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "net/io.h"
#include "store/config_store.h"

namespace torii::store {

struct EtcdOptions {
  std::vector<std::string> hosts;            // "http://127.0.0.1:2379"; only http://
  std::chrono::milliseconds timeout{30000};  // bound of each operation (APISIX etcd.timeout)
  std::string user, password;                // empty user: no authentication
  // watch() re-arms its stream this often (APISIX watch_timeout, 50 s).
  std::chrono::milliseconds watch_timeout{50000};
};

class EtcdStore final : public ConfigStore {
 public:
  // Validates the options (at least one host, each http://host[:port]);
  // connects lazily, on the first operation.
  static core::Result<std::unique_ptr<EtcdStore>> create(net::Executor ex, EtcdOptions opts);

  // close()s. Pending operations end with an error (or ok, for watch())
  // once the executor runs them; they do not touch freed memory.
  ~EtcdStore() override;

  std::string describe() const override;
  net::Task<core::Result<RangeResult>> range(std::string prefix) override;
  net::Task<core::Result<std::optional<KeyValue>>> get(std::string key) override;
  net::Task<core::Result<PutResult>> put(std::string key, std::string value, Expect expect,
                                         std::chrono::seconds ttl) override;
  net::Task<core::Result<DeleteResult>> remove(std::string key, bool with_children) override;
  net::Task<core::Status> watch(std::string prefix, int64_t after, WatchHandler on_events) override;
  void close() override;

  class Impl;

 private:
  explicit EtcdStore(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  // Shared with every running operation, so destroying the store while a
  // watch is suspended is safe.
  std::shared_ptr<Impl> impl_;
};

}  // namespace torii::store
