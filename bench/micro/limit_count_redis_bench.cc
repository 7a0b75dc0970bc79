// Per-request cost of limit-count's Redis store against a real local
// redis-server (started by the benchmark on a free loopback port; set
// TORII_BENCH_REDIS_PORT to use a running one). One worker's io_context:
// `depth` requests in flight at once, pipelined on the worker's connections.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "plugins/limit_count_redis.h"

namespace {

using torii::plugins::limit_count::CountStore;
using torii::plugins::limit_count::Decision;

uint16_t pick_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool can_connect(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// The Redis of this benchmark run, started once.
struct BenchRedis {
  uint16_t port = 0;
  pid_t pid = -1;
  BenchRedis() {
    if (const char* p = std::getenv("TORII_BENCH_REDIS_PORT")) {
      port = static_cast<uint16_t>(std::atoi(p));
      return;
    }
    port = pick_port();
    pid = ::fork();
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      const std::string p = std::to_string(port);
      ::execl("/usr/bin/redis-server", "redis-server", "--port", p.c_str(), "--bind", "127.0.0.1",
              "--save", "", "--appendonly", "no", "--logfile", "/dev/null",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 500 && !can_connect(port); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~BenchRedis() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

BenchRedis& bench_redis() {
  static BenchRedis r;
  return r;
}

template <class T, class F>
torii::net::Task<void> then(torii::net::Task<T> task, F done) {
  done(co_await std::move(task));
}

void BM_RedisStoreIncoming(benchmark::State& state) {
  const int depth = static_cast<int>(state.range(0));
  auto made = torii::plugins::limit_count::make_redis_count_store(
      boost::json::parse(R"({"policy":"redis","redis_host":"127.0.0.1","redis_port":)" +
                         std::to_string(bench_redis().port) + "}")
          .as_object());
  if (!made.ok()) {
    state.SkipWithError(made.error().message.c_str());
    return;
  }
  CountStore& store = **made;
  boost::asio::io_context io;
  int64_t failures = 0;
  for (auto _ : state) {
    int done = 0;
    for (int i = 0; i < depth; ++i) {
      boost::asio::co_spawn(io,
                            then(store.incoming("bench:" + std::to_string(i), 1'000'000'000,
                                                std::chrono::seconds(60), 1),
                                 [&](torii::core::Result<Decision> d) {
                                   ++done;
                                   if (!d.ok()) ++failures;
                                 }),
                            boost::asio::detached);
    }
    while (done < depth) io.run_one();
  }
  if (failures > 0) state.SkipWithError("redis errors");
  state.SetItemsProcessed(state.iterations() * depth);
}
BENCHMARK(BM_RedisStoreIncoming)->Arg(1)->Arg(16)->Arg(64)->UseRealTime();

}  // namespace
