#include "etcd_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

namespace torii::testing {

namespace {
constexpr const char* kEtcdBinary = "/usr/bin/etcd";
}

EtcdProcess::EtcdProcess() : EtcdProcess(std::vector<std::string>{}) {}

EtcdProcess::EtcdProcess(std::vector<std::string> extra_args)
    : extra_args_(std::move(extra_args)), client_port_(free_port()) {
  do {
    peer_port_ = free_port();
  } while (peer_port_ == client_port_);
}

EtcdProcess::~EtcdProcess() { stop(); }

std::string EtcdProcess::endpoint() const {
  return "http://127.0.0.1:" + std::to_string(client_port_);
}

void EtcdProcess::start() {
  if (pid_ > 0) return;
  const std::string client = endpoint();
  const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
  std::vector<std::string> args = {
      kEtcdBinary,
      "--name=default",
      "--data-dir=" + dir_.path() + "/data",
      "--listen-client-urls=" + client,
      "--advertise-client-urls=" + client,
      "--listen-peer-urls=" + peer,
      "--initial-advertise-peer-urls=" + peer,
      "--initial-cluster=default=" + peer,
      // Quiet: only problems go to the log file.
      "--logger=zap",
      "--log-level=error",
      "--log-outputs=stderr",
      // Fast: a one-member cluster elects itself at once; short raft ticks
      // also make the minimum lease TTL short.
      "--heartbeat-interval=10",
      "--election-timeout=100",
      "--snapshot-count=100000",
  };
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  const std::string log_path = dir_.path() + "/etcd.log";

  pid_ = ::fork();
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
    const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(kEtcdBinary, argv.data());
    ::_exit(127);
  }
  const bool up = wait_until(
      [&] {
        int st = 0;
        if (::waitpid(pid_, &st, WNOHANG) == pid_) {
          pid_ = -1;
          return true;
        }
        HttpResponse r = http(HttpRequest{"GET", endpoint() + "/health", {}, "", false, 500});
        return r.status == 200 && r.body.find("\"true\"") != std::string::npos;
      },
      std::chrono::seconds(20));
  ASSERT_TRUE(up && pid_ > 0) << "etcd did not start:\n" << log();
}

void EtcdProcess::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int st = 0;
  const pid_t pid = pid_;
  if (!wait_until([&] { return ::waitpid(pid, &st, WNOHANG) == pid; }, std::chrono::seconds(10))) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &st, 0);
  }
  pid_ = -1;
}

HttpResponse EtcdProcess::post(const std::string& path, const std::string& json,
                               const std::string& token) const {
  HttpRequest req{"POST", endpoint() + path, {"Content-Type: application/json"}, json, false, 5000};
  if (!token.empty()) req.headers.push_back("Authorization: " + token);
  return http(req);
}

void EtcdProcess::compact(int64_t revision) const {
  HttpResponse r = post("/v3/kv/compaction",
                        "{\"revision\":\"" + std::to_string(revision) + "\",\"physical\":true}");
  ASSERT_EQ(r.status, 200) << r.error << r.body;
}

std::string EtcdProcess::log() const { return dir_.read("etcd.log"); }

}  // namespace torii::testing
