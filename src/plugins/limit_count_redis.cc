// limit-count's Redis stores: policy "redis" (one server) and
// "redis-cluster" (slot routing over the cluster's masters). See
// limit_count_redis.h for the algorithm; limit_count.cc builds the key,
// the headers and the status, and decides what an error means
// (allow_degradation).
//
// Threading: a store is shared by every worker; it holds only immutable
// options. Each worker talks to Redis through its own client
// (net::redis::client_for), found on the worker's executor per call.
#include "plugins/limit_count_redis.h"

#include <algorithm>
#include <boost/asio/this_coro.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <limits>
#include <string>
#include <utility>

#include "core/config_duration.h"
#include "core/saturate.h"
#include "net/redis_cluster.h"
#include "plugins/limit_key.h"

namespace torii::plugins::limit_count {

namespace {

using net::redis::Reply;

// KEYS[1]: the counter; ARGV[1]: count, ARGV[2]: window seconds, ARGV[3]:
// cost. The key holds what is left and expires with the window; a key
// without a TTL (none, or a stray one) starts a new window.
const net::redis::Script kScript(R"lua(
local ttl = redis.call('ttl', KEYS[1])
local cost = tonumber(ARGV[3])
if ttl < 0 then
  local left = tonumber(ARGV[1]) - cost
  if left < 0 then return {-1, tonumber(ARGV[2])} end
  redis.call('set', KEYS[1], left, 'EX', ARGV[2])
  return {left, tonumber(ARGV[2])}
end
local left = (tonumber(redis.call('get', KEYS[1])) or 0) - cost
if left < 0 then return {-1, ttl} end
if cost > 0 then redis.call('decrby', KEYS[1], cost) end
return {left, ttl}
)lua");

std::string decimal(int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

core::Error bad_reply(const std::string& peer, std::string what) {
  return core::Error{core::ErrorKind::kBadResponse, core::ErrorSource::kUpstream, false,
                     "redis " + peer + ": " + std::move(what)};
}

// The script's {left, ttl} as a Decision; an error reply (a script error,
// OOM, a cluster that cannot serve) is an Error.
core::Result<Decision> decide(const Reply& reply, const std::string& peer) {
  if (reply.is_error()) return bad_reply(peer, reply.str);
  if (reply.type != Reply::Type::kArray || reply.elements.size() != 2 ||
      reply.elements[0].type != Reply::Type::kInteger ||
      reply.elements[1].type != Reply::Type::kInteger) {
    return bad_reply(peer, "unexpected reply to the limit-count script");
  }
  const int64_t left = reply.elements[0].integer;
  const int64_t ttl = reply.elements[1].integer;
  Decision d;
  d.allowed = left >= 0;
  d.remaining = left >= 0 ? left : 0;
  d.reset_seconds = ttl >= 0 ? ttl : 0;
  return d;
}

class RedisCountStore final : public CountStore {
 public:
  explicit RedisCountStore(net::redis::Options options)
      : options_(std::move(options)), table_key_(options_.table_key()), peer_(options_.peer()) {}

  net::Task<core::Result<Decision>> incoming(std::string key, int64_t count,
                                             std::chrono::seconds window, int64_t cost) override {
    const net::Executor ex = co_await boost::asio::this_coro::executor;
    net::redis::Client& client = net::redis::client_for(ex, options_, table_key_);
    key.insert(0, kRedisKeyPrefix);
    // The task is made before co_await: GCC 12 miscompiles initializer
    // lists inside a co_await expression. eval() encodes its arguments.
    auto task =
        client.eval(kScript, {key}, {decimal(count), decimal(window.count()), decimal(cost)});
    core::Result<Reply> r = co_await std::move(task);
    if (!r.ok()) co_return r.error();
    co_return decide(*r, peer_);
  }

 private:
  net::redis::Options options_;
  std::string table_key_;
  std::string peer_;
};

class RedisClusterCountStore final : public CountStore {
 public:
  explicit RedisClusterCountStore(net::redis::ClusterOptions options)
      : options_(std::move(options)),
        table_key_(options_.table_key()),
        peer_("cluster " + options_.name) {}

  net::Task<core::Result<Decision>> incoming(std::string key, int64_t count,
                                             std::chrono::seconds window, int64_t cost) override {
    const net::Executor ex = co_await boost::asio::this_coro::executor;
    net::redis::ClusterClient& client = net::redis::cluster_client_for(ex, options_, table_key_);
    key.insert(0, kRedisKeyPrefix);
    auto task = client.eval(kScript, key, {decimal(count), decimal(window.count()), decimal(cost)});
    core::Result<Reply> r = co_await std::move(task);
    if (!r.ok()) co_return r.error();
    co_return decide(*r, peer_);
  }

 private:
  net::redis::ClusterOptions options_;
  std::string table_key_;
  std::string peer_;
};

// Redis keeps connections per worker; more than a few per worker only adds
// sockets (commands are pipelined), whatever redis_keepalive_pool says.
constexpr int64_t kMaxConnectionsPerWorker = 4;

size_t pool_size(const boost::json::object& conf) {
  const int64_t pool = limits::conf_int(conf, "redis_keepalive_pool", 100);
  return static_cast<size_t>(std::clamp<int64_t>(pool, 1, kMaxConnectionsPerWorker));
}

}  // namespace

const net::redis::Script& redis_count_script() { return kScript; }

net::redis::Options redis_options_from_conf(const boost::json::object& conf) {
  net::redis::Options o;
  o.host = limits::conf_string(conf, "redis_host", "");
  o.port = core::saturate<uint16_t>(limits::conf_int(conf, "redis_port", 6379));
  o.username = limits::conf_string(conf, "redis_username", "");
  o.password = limits::conf_string(conf, "redis_password", "");
  o.database = limits::conf_int(conf, "redis_database", 0);
  o.timeout = core::clamp_ms(limits::conf_int(conf, "redis_timeout", 1000));
  o.keepalive_timeout = core::clamp_ms(limits::conf_int(conf, "redis_keepalive_timeout", 10000));
  o.max_connections = pool_size(conf);
  return o;
}

core::Result<std::unique_ptr<CountStore>> make_redis_count_store(const boost::json::object& conf) {
  const std::string policy = limits::conf_string(conf, "policy", "");
  if (policy != "redis" && policy != "redis-cluster") {
    return core::config_error("policy \"" + policy +
                              "\" is not supported by torii yet");
  }
  if (limits::conf_string(conf, "window_type", "") == "sliding") {
    return core::config_error(
        "window_type \"sliding\" is not supported with policy \"" + policy + "\" yet");
  }
  if (policy == "redis-cluster") {
    if (limits::conf_bool(conf, "redis_cluster_ssl", false)) {
      return core::config_error(
          "redis_cluster_ssl is not supported by torii yet (TLS to Redis)");
    }
    net::redis::ClusterOptions o;
    o.name = limits::conf_string(conf, "redis_cluster_name", "");
    if (const boost::json::value* nodes = conf.if_contains("redis_cluster_nodes");
        nodes != nullptr && nodes->is_array()) {
      for (const auto& n : nodes->get_array()) {
        if (!n.is_string()) continue;
        auto node = net::redis::parse_node_address(n.get_string());
        if (!node) {
          return core::config_error("redis_cluster_nodes: " + node.error().message);
        }
        o.seeds.push_back(std::move(*node));
      }
    }
    if (o.seeds.empty()) return core::config_error("redis_cluster_nodes is empty");
    o.node.password = limits::conf_string(conf, "redis_password", "");
    o.node.timeout = core::clamp_ms(limits::conf_int(conf, "redis_timeout", 1000));
    o.node.keepalive_timeout =
        core::clamp_ms(limits::conf_int(conf, "redis_keepalive_timeout", 10000));
    o.node.max_connections = pool_size(conf);
    return std::unique_ptr<CountStore>(new RedisClusterCountStore(std::move(o)));
  }
  if (limits::conf_bool(conf, "redis_ssl", false)) {
    return core::config_error(
        "redis_ssl is not supported by torii yet (TLS to Redis)");
  }
  // APISIX's schema bounds redis_port only from below; a port that does not
  // fit is refused rather than wrapped onto another port.
  if (const int64_t port = limits::conf_int(conf, "redis_port", 6379); port > 65535) {
    return core::config_error("redis_port: a TCP port is at most 65535");
  }
  net::redis::Options o = redis_options_from_conf(conf);
  if (o.host.empty()) return core::config_error("redis_host is required");
  return std::unique_ptr<CountStore>(new RedisCountStore(std::move(o)));
}

namespace {
const bool kRegistered = (register_redis_count_store_factory(&make_redis_count_store), true);
}  // namespace

}  // namespace torii::plugins::limit_count
