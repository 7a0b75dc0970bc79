// A real etcd server (Debian's /usr/bin/etcd) as a child process of the test,
// on free loopback ports and a temporary data dir. stop() and start() again
// keep the ports and the data, so a test can simulate an outage.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "harness.h"

namespace torii::testing {

class EtcdProcess {
 public:
  // Picks the ports and the data dir; does not start etcd.
  EtcdProcess();
  // `extra_args` go after the standard flags ("--auth-token-ttl=1" ...).
  explicit EtcdProcess(std::vector<std::string> extra_args);
  ~EtcdProcess();
  EtcdProcess(const EtcdProcess&) = delete;
  EtcdProcess& operator=(const EtcdProcess&) = delete;

  // Starts etcd and waits until it serves /health (fails the test with
  // etcd's log when it does not within 20 s).
  void start();
  // SIGTERM, then waits for the exit (SIGKILL after 10 s).
  void stop();
  bool running() const { return pid_ > 0; }

  // "http://127.0.0.1:<client port>"
  std::string endpoint() const;
  uint16_t client_port() const { return client_port_; }

  // POSTs `json` to the gateway (`path` like "/v3/kv/compaction"), with
  // "Authorization: <token>" when `token` is set.
  HttpResponse post(const std::string& path, const std::string& json,
                    const std::string& token = "") const;
  // Compacts the history up to `revision` (physically, so it is gone).
  void compact(int64_t revision) const;
  // What etcd printed (warnings and errors only).
  std::string log() const;

 private:
  TempDir dir_;
  std::vector<std::string> extra_args_;
  uint16_t client_port_ = 0;
  uint16_t peer_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace torii::testing
