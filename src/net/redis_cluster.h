// A Redis Cluster client for the data path: routes each command to the
// master serving its key's hash slot, on top of net::redis::Client (one per
// master, per worker).
//
// Slot map. Loaded with CLUSTER SLOTS from the first known node that
// answers (the configured seeds, then every master seen) on first use, and
// again after a MOVED redirection or a connection failure (the map is then
// stale: a failover or a resharding). Commands issued while a refresh runs
// wait for it. A MOVED reply also updates that slot at once, so the command
// is retried at the new owner; an ASK reply retries once at the named node
// with ASKING before the command (a slot being migrated). At most
// kMaxRedirections hops per command.
//
// Threading: like Client, a ClusterClient belongs to one worker's thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "net/io.h"
#include "net/redis_client.h"

namespace torii::net::redis {

inline constexpr int kClusterSlots = 16384;
inline constexpr int kMaxRedirections = 5;

struct NodeAddress {
  std::string host;
  uint16_t port = 0;
};

// "host:port" or "[v6]:port" (APISIX's redis_cluster_nodes entries).
core::Result<NodeAddress> parse_node_address(std::string_view text);

// The hash slot of a key (CRC16/XMODEM of the key, or of its {hash tag}).
uint16_t key_slot(std::string_view key);

struct ClusterOptions {
  std::string name;  // redis_cluster_name: for messages and the table key
  std::vector<NodeAddress> seeds;
  // Password, timeout, keepalive and pool size of every node connection;
  // host and port are replaced per node.
  Options node;

  std::string table_key() const;
};

class ClusterClient {
 public:
  ClusterClient(Executor ex, ClusterOptions options);
  ~ClusterClient();
  ClusterClient(const ClusterClient&) = delete;
  ClusterClient& operator=(const ClusterClient&) = delete;

  // A command about `key` (which must also be among `args`), sent to the
  // master of its slot. Same results as Client::command; a cluster that
  // cannot serve the slot answers an error reply (CLUSTERDOWN, TRYAGAIN),
  // and a map that cannot be loaded is kUnavailable.
  Task<core::Result<Reply>> command(std::string key, std::vector<std::string> args);

  // EVALSHA/EVAL of `script` with one key, routed by that key.
  Task<core::Result<Reply>> eval(const Script& script, std::string key,
                                 std::initializer_list<std::string_view> args);

  void close();
  // Masters in the current map (for tests).
  size_t known_masters() const;

 private:
  struct Node {
    NodeAddress address;
    std::unique_ptr<Client> client;
  };
  struct Op {
    std::string key;
    const Script* script = nullptr;  // null: a plain command
    std::vector<std::string> args;   // the command, or the script's arguments
  };

  Task<core::Result<Reply>> execute(Op op);
  Task<core::Status> refresh();
  Task<core::Status> load_slots_from(Node* node);
  Node* node(const std::string& host, uint16_t port);
  core::Error unavailable(std::string what) const;

  Executor ex_;
  ClusterOptions options_;
  std::unordered_map<std::string, std::unique_ptr<Node>> nodes_;  // by "host:port"
  std::array<Node*, kClusterSlots> slots_{};
  bool loaded_ = false;
  bool stale_ = false;
  bool refreshing_ = false;
  Timer refresh_done_;  // waiters of a running refresh sleep on it
  core::Status last_refresh_{core::Ok{}};
};

// The ClusterClient for `options` on the worker whose io_context runs `ex`
// (created on first use, destroyed with the io_context).
ClusterClient& cluster_client_for(Executor ex, const ClusterOptions& options);
ClusterClient& cluster_client_for(Executor ex, const ClusterOptions& options,
                                  std::string_view table_key);

}  // namespace torii::net::redis
