// The access log written to a pipe (stdout under a container runtime is
// one): two workers flush buffers of many lines at once, and the reader is
// slow, so writes wait for room. Every line must come out whole: a pipe keeps
// only writes of up to PIPE_BUF bytes apart from other writers'.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace torii::testing {
namespace {

TEST(AccessLogPipe, LinesOfSeveralWorkersNeverMixInAPipe) {
  Upstream up;
  auto dir = std::make_shared<TempDir>();
  const std::string fifo = dir->path() + "/access.log";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // A slow reader: opening blocks until torii opens the other end.
  std::string log;
  std::thread reader([&] {
    const int fd = ::open(fifo.c_str(), O_RDONLY);
    if (fd < 0) return;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n <= 0) break;
      log.append(buf, static_cast<size_t>(n));
      std::this_thread::sleep_for(std::chrono::microseconds(300));
    }
    ::close(fd);
  });
  ToriiOptions o;
  o.workers = 2;
  o.dir = dir;
  o.extra_config = "    access_log_buffer: 64k\n";
  o.routes_yaml = "routes:\n  - id: r\n    uri: /long/*\n    upstream:\n      nodes:\n        \"" +
                  up.node() + "\": 1\n";
  constexpr int kClients = 4;
  constexpr int kPerClient = 400;
  {
    Torii t(o);
    ASSERT_TRUE(t.running());
    const std::string path = "/long/" + std::string(900, 'x');
    std::vector<std::thread> clients;
    std::atomic<int> ok{0};
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&, c] {
        for (int i = 0; i < kPerClient; ++i) {
          if (http_get(t.url(path + "?c=" + std::to_string(c) + "&i=" + std::to_string(i))).status == 200) {
            ++ok;
          }
        }
      });
    }
    for (auto& th : clients) th.join();
    EXPECT_EQ(ok.load(), kClients * kPerClient);
    t.signal(SIGTERM);  // flushes the workers' buffers, closes the pipe
    EXPECT_EQ(t.wait_exit(std::chrono::seconds(20)), 0);
  }
  reader.join();
  std::istringstream in(log);
  std::string line;
  int lines = 0, whole = 0;
  while (std::getline(in, line)) {
    if (line.find("/long/") == std::string::npos) continue;  // the readiness probe
    ++lines;
    // One request per line: it starts with the client address and holds
    // exactly one request line.
    if (line.rfind("127.0.0.1 - ", 0) == 0 && line.find("GET /long/") == line.rfind("GET /long/")) {
      ++whole;
    }
  }
  EXPECT_EQ(lines, kClients * kPerClient);
  EXPECT_EQ(whole, lines);
}

}  // namespace
}  // namespace torii::testing
