#include "plugins/nonce_store_redis.h"

#include <boost/asio/this_coro.hpp>
#include <boost/json/value.hpp>
#include <utility>

#include "core/config_duration.h"
#include "core/saturate.h"
#include "plugins/limit_key.h"

namespace torii::plugins::nonce {

namespace {

using net::redis::Reply;

constexpr int64_t kDefaultTimeoutMs = 100;
// Commands are pipelined: a few connections per worker are plenty.
constexpr size_t kConnectionsPerWorker = 2;

core::Error bad_reply(const std::string& peer, std::string what) {
  return core::Error{core::ErrorKind::kBadResponse, core::ErrorSource::kUpstream, false,
                     "redis " + peer + ": " + std::move(what)};
}

}  // namespace

RedisNonceStore::RedisNonceStore(net::redis::Options options)
    : options_(std::move(options)), table_key_(options_.table_key()), peer_(options_.peer()) {}

net::Task<core::Result<bool>> RedisNonceStore::insert(std::string key, int64_t ttl_seconds) const {
  const net::Executor ex = co_await boost::asio::this_coro::executor;
  net::redis::Client& client = net::redis::client_for(ex, options_, table_key_);
  const std::string ttl = std::to_string(ttl_seconds < 1 ? 1 : ttl_seconds);
  // The task is made before co_await (GCC 12 and initializer lists inside
  // a co_await expression); command() encodes its arguments at once.
  auto task = client.command({"SET", key, "1", "NX", "EX", ttl});
  core::Result<Reply> r = co_await std::move(task);
  if (!r.ok()) co_return r.error();
  if (r->type == Reply::Type::kNil) co_return false;
  if (r->type == Reply::Type::kStatus && r->str == "OK") co_return true;
  if (r->is_error()) co_return bad_reply(peer_, r->str);
  co_return bad_reply(peer_, "unexpected reply to SET NX");
}

core::Result<net::redis::Options> redis_options_from_conf(const boost::json::object& conf) {
  net::redis::Options o;
  o.host = limits::conf_string(conf, "redis_host", "");
  if (o.host.empty()) return core::config_error("redis_host is required with policy \"redis\"");
  const int64_t port = limits::conf_int(conf, "redis_port", 6379);
  if (port < 1 || port > 65535) return core::config_error("redis_port: a TCP port is 1..65535");
  o.port = static_cast<uint16_t>(port);
  o.username = limits::conf_string(conf, "redis_username", "");
  o.password = limits::conf_string(conf, "redis_password", "");
  o.database = limits::conf_int(conf, "redis_database", 0);
  o.timeout = core::clamp_ms(limits::conf_int(conf, "redis_timeout", kDefaultTimeoutMs));
  o.max_connections = kConnectionsPerWorker;
  return o;
}

}  // namespace torii::plugins::nonce
