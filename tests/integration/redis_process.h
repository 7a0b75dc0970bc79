// A real Redis server (Debian's /usr/bin/redis-server) as a child process of
// the test, on a free loopback port and a temporary dir, without persistence.
// stop() and start() again keep the port, so a test can simulate an outage
// and a restart (the data does not survive: nothing is saved).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "harness.h"

namespace torii::testing {

class RedisProcess {
 public:
  // Picks the port and the dir; does not start Redis. `extra_args` go after
  // the standard flags ("--requirepass", "secret", ...).
  explicit RedisProcess(std::vector<std::string> extra_args = {});
  ~RedisProcess();
  RedisProcess(const RedisProcess&) = delete;
  RedisProcess& operator=(const RedisProcess&) = delete;

  // Starts redis-server and waits until it answers PING (fails the test
  // with its log when it does not within 10 s).
  void start();
  // SIGTERM, then waits for the exit (SIGKILL after 10 s).
  void stop();
  // SIGSTOP / SIGCONT: the server keeps its connections but answers nothing.
  void pause();
  void resume();
  bool running() const { return pid_ > 0; }

  uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_.path(); }

  // Runs one command with redis-cli (blocking, for assertions) and returns
  // what it printed, without the trailing newline. `db` selects a database.
  std::string cli(const std::vector<std::string>& args, int db = 0) const;
  // What redis-server logged.
  std::string log() const;

 private:
  TempDir dir_;
  std::vector<std::string> extra_args_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool paused_ = false;
};

// A Redis Cluster of `masters` redis-server processes (no replicas), the
// 16384 slots spread evenly by `redis-cli --cluster create`.
class RedisCluster {
 public:
  explicit RedisCluster(int masters = 3);
  // Starts the servers, creates the cluster and waits for cluster_state:ok
  // on every node (fails the test otherwise).
  void start();
  void stop();

  size_t size() const { return nodes_.size(); }
  RedisProcess& node(size_t i) { return *nodes_[i]; }
  // "127.0.0.1:<port>" of every node, for redis_cluster_nodes.
  std::vector<std::string> addresses() const;
  // The node id (CLUSTER MYID) of node i.
  std::string id(size_t i) const;
  // The index of the node serving `slot` (size() when none).
  size_t owner(int slot) const;
  // Runs `args` on every node (CLUSTER SETSLOT ...).
  void on_all(const std::vector<std::string>& args);

 private:
  std::vector<std::unique_ptr<RedisProcess>> nodes_;
};

}  // namespace torii::testing
