#include "redis_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace torii::testing {

namespace {
constexpr const char* kRedisBinary = "/usr/bin/redis-server";
constexpr const char* kRedisCli = "/usr/bin/redis-cli";

// Sends PING on a fresh connection; true on "+PONG" or "-NOAUTH" (a
// password-protected server is up too).
bool answers_ping(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{0, 300000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::write(fd, "PING\r\n", 6) == 6) {
    char buf[64];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    const std::string got(buf, n > 0 ? static_cast<size_t>(n) : 0);
    ok = got.starts_with("+PONG") || got.starts_with("-NOAUTH");
  }
  ::close(fd);
  return ok;
}
}  // namespace

RedisProcess::RedisProcess(std::vector<std::string> extra_args)
    : extra_args_(std::move(extra_args)), port_(free_port()) {}

RedisProcess::~RedisProcess() { stop(); }

void RedisProcess::start() {
  if (pid_ > 0) return;
  std::vector<std::string> args = {
      kRedisBinary,
      "--port",
      std::to_string(port_),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir_.path(),
      "--logfile",
      dir_.path() + "/redis.log",
      "--daemonize",
      "no",
  };
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());

  pid_ = ::fork();
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
    const int fd =
        ::open((dir_.path() + "/stdout.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(kRedisBinary, argv.data());
    ::_exit(127);
  }
  const bool up = wait_until(
      [&] {
        int st = 0;
        if (::waitpid(pid_, &st, WNOHANG) == pid_) {
          pid_ = -1;
          return true;
        }
        return answers_ping(port_);
      },
      std::chrono::seconds(10));
  ASSERT_TRUE(up && pid_ > 0) << "redis-server did not start:\n" << log();
}

void RedisProcess::stop() {
  if (pid_ <= 0) return;
  if (paused_) resume();
  ::kill(pid_, SIGTERM);
  int st = 0;
  const pid_t pid = pid_;
  if (!wait_until([&] { return ::waitpid(pid, &st, WNOHANG) == pid; }, std::chrono::seconds(10))) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &st, 0);
  }
  pid_ = -1;
}

void RedisProcess::pause() {
  if (pid_ > 0 && !paused_) {
    ::kill(pid_, SIGSTOP);
    paused_ = true;
  }
}

void RedisProcess::resume() {
  if (pid_ > 0 && paused_) {
    ::kill(pid_, SIGCONT);
    paused_ = false;
  }
}

std::string RedisProcess::cli(const std::vector<std::string>& args, int db) const {
  std::string cmd = std::string(kRedisCli) + " -h 127.0.0.1 -p " + std::to_string(port_) + " -n " +
                    std::to_string(db) + " --no-auth-warning";
  for (size_t i = 0; i + 1 < extra_args_.size(); ++i) {
    if (extra_args_[i] == "--requirepass") cmd += " -a '" + extra_args_[i + 1] + "'";
  }
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " 2>&1";
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    std::array<char, 4096> buf;
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    ::pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string RedisProcess::log() const { return dir_.read("redis.log") + dir_.read("stdout.log"); }

RedisCluster::RedisCluster(int masters) {
  for (int i = 0; i < masters; ++i) {
    nodes_.push_back(std::make_unique<RedisProcess>(
        std::vector<std::string>{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                                 "--cluster-node-timeout", "5000",
                                 // The bus port defaults to port + 10000, which may be
                                 // out of range or taken.
                                 "--cluster-port", std::to_string(free_port())}));
  }
}

void RedisCluster::start() {
  for (auto& n : nodes_) {
    n->start();
    if (::testing::Test::HasFatalFailure()) return;
  }
  std::string cmd = std::string(kRedisCli) + " --cluster create";
  for (const auto& a : addresses()) cmd += " " + a;
  cmd += " --cluster-replicas 0 --cluster-yes 2>&1";
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    std::array<char, 4096> buf;
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    ::pclose(p);
  }
  const bool ok = wait_until(
      [&] {
        for (auto& n : nodes_) {
          if (n->cli({"CLUSTER", "INFO"}).find("cluster_state:ok") == std::string::npos) {
            return false;
          }
        }
        return true;
      },
      std::chrono::seconds(20));
  ASSERT_TRUE(ok) << "the cluster did not form:\n" << out;
}

void RedisCluster::stop() {
  for (auto& n : nodes_) n->stop();
}

std::vector<std::string> RedisCluster::addresses() const {
  std::vector<std::string> out;
  for (const auto& n : nodes_) out.push_back("127.0.0.1:" + std::to_string(n->port()));
  return out;
}

std::string RedisCluster::id(size_t i) const { return nodes_[i]->cli({"CLUSTER", "MYID"}); }

size_t RedisCluster::owner(int slot) const {
  // The "myself" line of CLUSTER NODES ends with the slot ranges the node
  // serves: "0-5460" or "42"; "[..]" entries are migrations, skipped.
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const std::string nodes = nodes_[i]->cli({"CLUSTER", "NODES"});
    const size_t pos = nodes.find("myself");
    if (pos == std::string::npos) continue;
    const size_t bol = nodes.rfind('\n', pos);
    const size_t eol = nodes.find('\n', pos);
    std::istringstream line(
        nodes.substr(bol == std::string::npos ? 0 : bol + 1,
                     eol == std::string::npos ? std::string::npos : eol - (bol + 1)));
    std::string tok;
    int field = 0;
    while (line >> tok) {
      if (++field <= 8 || tok.empty() || tok[0] == '[') continue;
      const size_t dash = tok.find('-');
      const int lo = std::atoi(tok.substr(0, dash).c_str());
      const int hi = dash == std::string::npos ? lo : std::atoi(tok.substr(dash + 1).c_str());
      if (slot >= lo && slot <= hi) return i;
    }
  }
  return nodes_.size();
}

void RedisCluster::on_all(const std::vector<std::string>& args) {
  for (auto& n : nodes_) n->cli(args);
}

}  // namespace torii::testing
