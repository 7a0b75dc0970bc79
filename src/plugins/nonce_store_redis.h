// anti-replay's shared nonce store (policy "redis"): one Redis that every
// gateway node of a cluster uses, so a nonce accepted by node A is refused
// by node B. One command per fresh nonce, `SET <key> 1 NX EX <ttl>`, atomic
// in Redis: OK means first use, nil means a replay.
//
// Threading: a store is shared by every worker and holds only immutable
// options; each worker talks to Redis through its own pooled client
// (net::redis::client_for, found on the worker's executor per call), with
// Options::timeout as the deadline of each command.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>

#include "core/result.h"
#include "net/io.h"
#include "net/redis_client.h"

namespace torii::plugins::nonce {

class RedisNonceStore {
 public:
  explicit RedisNonceStore(net::redis::Options options);

  // Records `key` for `ttl_seconds` (>= 1) unless Redis has it. true: first
  // use; false: a replay. Errors (source kUpstream): kUnavailable (cannot
  // connect, AUTH/SELECT refused), kTimeout, kBadResponse (an error reply
  // or an unexpected one). Call on a worker's executor.
  net::Task<core::Result<bool>> insert(std::string key, int64_t ttl_seconds) const;

  const net::redis::Options& options() const { return options_; }

 private:
  net::redis::Options options_;
  std::string table_key_;
  std::string peer_;
};

// The redis_* fields of an anti-replay conf (limit-count's names):
// redis_host (required), redis_port (6379), redis_username, redis_password,
// redis_database (0), redis_timeout (ms, 100). Errors name the field.
core::Result<net::redis::Options> redis_options_from_conf(const boost::json::object& conf);

}  // namespace torii::plugins::nonce
