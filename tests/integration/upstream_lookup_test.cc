// Host names of upstream nodes when a name server stops answering. The
// gateway gets its own /etc/resolv.conf, naming a UDP socket of this test
// that reads nothing (every DNS query hangs until getaddrinfo's retries end,
// 10 s), and its own /etc/hosts (fast.test is 127.0.0.1). Lookups of stuck
// names must not hold the lookups of other names: one worker, several stuck
// names, and a route to fast.test still answers within its connect timeout.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace torii::testing {
namespace {

// A name server on 127.53.x.y:53 that never answers (binding port 53 needs
// root, as the mount namespace does).
class SilentNameServer {
 public:
  SilentNameServer() {
    std::random_device rd;
    for (int attempt = 0; attempt < 20 && fd_ < 0; ++attempt) {
      address_ = "127.53." + std::to_string(rd() % 250 + 1) + "." + std::to_string(rd() % 250 + 1);
      const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(53);
      ::inet_pton(AF_INET, address_.c_str(), &a.sin_addr);
      if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
        fd_ = fd;
      } else {
        ::close(fd);
      }
    }
  }
  ~SilentNameServer() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  const std::string& address() const { return address_; }
  // Whether a query has arrived (left unread: it is never answered).
  bool asked() const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
  }

 private:
  int fd_ = -1;
  std::string address_;
};

TEST(UpstreamLookup, a_name_server_that_never_answers_holds_only_its_own_names) {
  if (!can_replace_etc_files()) GTEST_SKIP() << "needs root: torii gets its own /etc/resolv.conf";
  SilentNameServer dns;
  ASSERT_TRUE(dns.ok());
  Upstream up;
  auto dir = std::make_shared<TempDir>();
  dir->write("resolv.conf", "nameserver " + dns.address() + "\n");
  dir->write("hosts", "127.0.0.1 localhost\n127.0.0.1 fast.test\n");

  const std::string port = std::to_string(up.port());
  std::string routes = "routes:\n";
  for (int i = 1; i <= 4; ++i) {
    const std::string n = std::to_string(i);
    routes += "  - id: slow" + n + "\n    uri: /slow" + n +
              "\n    upstream:\n      timeout: {connect: 2, send: 5, read: 5}\n"
              "      nodes:\n        \"slow" + n + ".test:" + port + "\": 1\n";
  }
  routes += "  - id: fast\n    uri: /port\n    upstream:\n"
            "      timeout: {connect: 3, send: 5, read: 5}\n"
            "      nodes:\n        \"fast.test:" + port + "\": 1\n";
  ToriiOptions o;
  o.workers = 1;
  o.dir = dir;
  o.routes_yaml = routes;
  o.resolv_conf = dir->path() + "/resolv.conf";
  o.hosts = dir->path() + "/hosts";
  Torii t(o);
  ASSERT_TRUE(t.running()) << t.stderr_text();

  std::vector<int> slow_status(4, 0);
  std::vector<std::thread> clients;
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back([&, i] {
      HttpRequest r;
      r.url = t.url("/slow" + std::to_string(i + 1));
      slow_status[static_cast<size_t>(i)] = http(r).status;
    });
  }
  // The stuck lookups have started once their queries reach the name server.
  ASSERT_TRUE(wait_until([&] { return dns.asked(); }));
  // Its own name resolves from /etc/hosts: not behind the stuck ones
  // (before: 504 after its 3 s connect timeout, queued behind 10 s lookups).
  HttpResponse fast = http_get(t.url("/port"));
  EXPECT_EQ(fast.status, 200) << fast.body;
  EXPECT_EQ(fast.body, port);
  for (auto& c : clients) c.join();
  for (int s : slow_status) EXPECT_EQ(s, 504);
  // The error log line is written after the 504 went out.
  EXPECT_TRUE(wait_until([&] {
    return t.error_log().find("resolving slow1.test") != std::string::npos;
  })) << t.error_log();

  // The stuck lookups are still running (10 s): a stop drains and exits
  // cleanly, their late answers dropped rather than sent to a worker gone.
  t.signal(SIGTERM);
  EXPECT_EQ(t.wait_exit(std::chrono::seconds(20)), 0) << t.stderr_text();
}

}  // namespace
}  // namespace torii::testing
