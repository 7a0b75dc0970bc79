// The process around the data plane: the `version` and `validate` commands,
// config.yaml's worker and listen keys, graceful shutdown on SIGTERM,
// re-reading config.yaml on SIGHUP and reopening the logs on SIGUSR1.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace torii::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string one_route(const Upstream& up) {
  return "routes:\n  - uri: /*\n    upstream: {nodes: {\"" + up.node() + "\": 1}}\n";
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

size_t count_of(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

// A config.yaml for a gateway on 127.0.0.1. `apisix_listen` replaces the
// node_listen value; `nginx_extra` adds lines under nginx_config.
std::string config_yaml(const TempDir& dir, const std::string& node_listen_value,
                        const std::string& nginx_extra = "", const std::string& top_extra = "") {
  // No TLS listener: its default 0.0.0.0:9443 would be the same for every
  // test running in parallel, and a gateway refuses a port another holds.
  return "apisix:\n  node_listen: " + node_listen_value + "\n  ssl:\n    enable: false\n" +
         top_extra +
         "nginx_config:\n  error_log: " + dir.path() + "/error.log\n  error_log_level: info\n" +
         nginx_extra + "  http:\n    access_log: " + dir.path() + "/access.log\n" +
         "deployment:\n  role: data_plane\n  role_data_plane:\n    config_provider: yaml\n" + test_admin_block();
}

std::string listen_on(uint16_t port) {
  return "\n    - ip: 127.0.0.1\n      port: " + std::to_string(port);
}

bool serves(uint16_t port) {
  return raw_exchange(port, "GET /__probe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                      std::chrono::milliseconds(500))
             .rfind("HTTP/1.1 ", 0) == 0;
}

// `torii run` on a config.yaml written by the test.
class GatewayProcess {
 public:
  GatewayProcess(const TempDir& dir, uint16_t ready_port) : dir_(dir) {
    const std::string conf = dir.path() + "/config.yaml";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execl(TORII_BINARY, TORII_BINARY, "run", "-c", conf.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    wait_until([&] { return !running() || serves(ready_port); });
  }
  ~GatewayProcess() {
    if (running()) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool running() {
    if (exited_) return false;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      exited_ = true;
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    return !exited_;
  }
  pid_t pid() const { return pid_; }
  int exit_status() const { return status_; }
  std::string error_log() const { return dir_.read("error.log"); }

  // Threads named torii-w<N>: one per worker.
  int worker_threads() const {
    int n = 0;
    const std::string task_dir = "/proc/" + std::to_string(pid_) + "/task";
    DIR* d = ::opendir(task_dir.c_str());
    if (!d) return -1;
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream comm(task_dir + "/" + e->d_name + "/comm");
      std::string name;
      std::getline(comm, name);
      if (name.rfind("torii-w", 0) == 0) ++n;
    }
    ::closedir(d);
    return n;
  }

 private:
  const TempDir& dir_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = -1;
};

// A client socket kept open across steps of a test.
class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    connect_errno_ = connected_ ? 0 : errno;
  }
  ~Client() { ::close(fd_); }
  bool connected() const { return connected_; }
  int connect_errno() const { return connect_errno_; }
  bool send(const std::string& s) {
    return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
  }
  // Reads until `until` appears in what was read, EOF, or the timeout.
  std::string read_until(const std::string& until, std::chrono::milliseconds timeout) {
    const auto end = Clock::now() + timeout;
    char buf[4096];
    while (got_.find(until) == std::string::npos && !eof_) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        eof_ = true;
        break;
      }
      got_.append(buf, static_cast<size_t>(n));
    }
    return got_;
  }
  // True once the peer closed (EOF or reset) within `timeout`.
  bool closed_by_peer(std::chrono::milliseconds timeout) {
    read_until(std::string(1, '\0') + "never", timeout);
    return eof_;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  int connect_errno_ = 0;
  bool eof_ = false;
  std::string got_;
};

// ------------------------------------------------------------------ CLI

// SIGUSR1 reopens both logs (logrotate's postrotate step, as nginx's
// `-s reopen`): once the files were moved away, new lines go to new files at
// the configured paths and the moved files keep the old ones. Before,
// SIGUSR1 killed the gateway.
TEST(LifecycleSignals, Sigusr1ReopensTheLogsAfterARotation) {
  Upstream up;
  Torii t(one_route(up) + "#END\n");
  ASSERT_EQ(http_get(t.url("/before")).status, 200);
  ASSERT_TRUE(wait_until([&] { return t.access_log().find("/before") != std::string::npos; }));
  const std::string d = t.dir().path();
  std::filesystem::rename(d + "/access.log", d + "/access.log.1");
  std::filesystem::rename(d + "/error.log", d + "/error.log.1");
  t.signal(SIGUSR1);
  ASSERT_TRUE(wait_until(
      [&] { return t.error_log().find("SIGUSR1: log files reopened") != std::string::npos; }))
      << t.dir().read("error.log.1");
  ASSERT_EQ(http_get(t.url("/after")).status, 200);
  EXPECT_TRUE(wait_until([&] { return t.access_log().find("/after") != std::string::npos; }));
  EXPECT_EQ(t.access_log().find("/before"), std::string::npos);
  EXPECT_NE(t.dir().read("access.log.1").find("/before"), std::string::npos);
  EXPECT_TRUE(t.running());
}

TEST(LifecycleCli, VersionPrintsTheVersion) {
  TempDir dir;
  const auto r = run_cli(dir, {"version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("^torii [0-9]+\\.[0-9]+\\.[0-9]+")))
      << "stdout: " << r.out;
}

TEST(LifecycleCli, ValidateAcceptsAGoodConfig) {
  Upstream up;
  TempDir dir;
  dir.write("config.yaml", config_yaml(dir, listen_on(free_port())));
  dir.write("apisix.yaml", one_route(up) + "#END\n");
  const auto r = run_cli(dir, {"validate", "-c", dir.path() + "/config.yaml"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.err.find("error"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("ok"), std::string::npos) << r.out;
}

// The consumers example of docs/consumers.md: a consumer and a credential.
TEST(LifecycleCli, ValidateAcceptsConsumersAndCredentials) {
  Upstream up;
  TempDir dir;
  dir.write("config.yaml", config_yaml(dir, listen_on(free_port())));
  dir.write("apisix.yaml",
            "consumers:\n"
            "  - username: acme\n    plugins:\n      key-auth: {key: acme-2026}\n"
            "  - id: acme/credentials/next\n    plugins:\n      key-auth: {key: acme-2027}\n" +
                one_route(up) + "#END\n");
  const auto r = run_cli(dir, {"validate", "-c", dir.path() + "/config.yaml"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  // A broken consumer is still reported.
  dir.write("apisix.yaml", "consumers:\n  - username: \"not a name!\"\n" + one_route(up) + "#END\n");
  const auto bad = run_cli(dir, {"validate", "-c", dir.path() + "/config.yaml"});
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  EXPECT_NE(bad.err.find("consumers[1]"), std::string::npos) << bad.err;
}

TEST(LifecycleCli, ValidateReportsEveryBrokenRouteWithItsPath) {
  Upstream up;
  TempDir dir;
  dir.write("config.yaml", config_yaml(dir, listen_on(free_port())));
  dir.write("apisix.yaml",
            "routes:\n"
            "  - id: bad-uri\n    uri: 123\n    upstream: {nodes: {\"" +
                up.node() +
                "\": 1}}\n"
                "  - id: bad-method\n    uri: /m\n    methods: [FETCH]\n"
                "    upstream: {nodes: {\"" +
                up.node() +
                "\": 1}}\n"
                "  - id: fine\n    uri: /ok\n    upstream: {nodes: {\"" +
                up.node() +
                "\": 1}}\n"
                "#END\n");
  const auto r = run_cli(dir, {"validate", "-c", dir.path() + "/config.yaml"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(count_of("\n" + r.err, "\nerror:"), 2u) << "one line per error\n" << r.err;
  std::istringstream lines(r.err);
  std::string line, first, second;
  while (std::getline(lines, line)) {
    if (line.find("routes[1]") != std::string::npos) first = line;
    if (line.find("routes[2]") != std::string::npos) second = line;
  }
  EXPECT_NE(first.find("uri"), std::string::npos) << r.err;
  EXPECT_NE(first.find("bad-uri"), std::string::npos) << r.err;
  EXPECT_NE(second.find("methods"), std::string::npos) << r.err;
  EXPECT_NE(second.find("bad-method"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("routes[3]"), std::string::npos) << r.err;
}

TEST(LifecycleCli, ValidateWarnsAboutUnknownConfigKeysButAcceptsThem) {
  Upstream up;
  TempDir dir;
  dir.write("config.yaml", config_yaml(dir, listen_on(free_port()), "  no_such_nginx_key: 1\n",
                                       "  no_such_apisix_key: true\n"));
  dir.write("apisix.yaml", one_route(up) + "#END\n");
  const auto r = run_cli(dir, {"validate", "-c", dir.path() + "/config.yaml"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("unknown key apisix.no_such_apisix_key"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unknown key nginx_config.no_such_nginx_key"), std::string::npos) << r.err;
}

TEST(LifecycleCli, ValidateRejectsABadConfigValueNamingTheKey) {
  Upstream up;
  TempDir dir;
  dir.write("config.yaml", config_yaml(dir, listen_on(free_port()), "  worker_processes: lots\n"));
  dir.write("apisix.yaml", one_route(up) + "#END\n");
  const auto r = run_cli(dir, {"validate", "-c", dir.path() + "/config.yaml"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("nginx_config.worker_processes"), std::string::npos) << r.err;
}

// ------------------------------------------------------------------ config.yaml

TEST(LifecycleConfig, WorkerProcessesAsANumberStartsThatManyWorkers) {
  Upstream up;
  TempDir dir;
  const uint16_t port = free_port();
  dir.write("config.yaml", config_yaml(dir, listen_on(port), "  worker_processes: 3\n"));
  dir.write("apisix.yaml", one_route(up) + "#END\n");
  GatewayProcess g(dir, port);
  ASSERT_TRUE(g.running()) << g.error_log();
  // Threads name themselves once running: wait rather than race them.
  wait_until([&] { return g.worker_threads() == 3; }, std::chrono::seconds(2));
  EXPECT_EQ(g.worker_threads(), 3);
  EXPECT_TRUE(serves(port));
}

TEST(LifecycleConfig, WorkerProcessesAutoStartsOneWorkerPerCpu) {
  Upstream up;
  TempDir dir;
  const uint16_t port = free_port();
  dir.write("config.yaml", config_yaml(dir, listen_on(port), "  worker_processes: auto\n"));
  dir.write("apisix.yaml", one_route(up) + "#END\n");
  GatewayProcess g(dir, port);
  ASSERT_TRUE(g.running()) << g.error_log();
  const int cpus = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  wait_until([&] { return g.worker_threads() == cpus; }, std::chrono::seconds(2));
  EXPECT_EQ(g.worker_threads(), cpus);
}

TEST(LifecycleConfig, NodeListenAsAPlainPort) {
  Upstream up;
  TempDir dir;
  const uint16_t port = free_port();
  dir.write("config.yaml", config_yaml(dir, std::to_string(port), "  worker_processes: 1\n"));
  dir.write("apisix.yaml", one_route(up) + "#END\n");
  GatewayProcess g(dir, port);
  ASSERT_TRUE(g.running()) << g.error_log();
  const auto r = http_get("http://127.0.0.1:" + std::to_string(port) + "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello from " + std::to_string(up.port()));
}

// SO_REUSEPORT would let a second gateway (a stale instance, a copied
// config.yaml) join the first one's port, and the kernel would split the
// connections between them. The second refuses to start instead.
TEST(LifecycleConfig, ASecondGatewayOnAPortInUseRefusesToStart) {
  Upstream up;
  Torii first(one_route(up));
  ASSERT_TRUE(first.running()) << first.error_log();
  ToriiOptions o;
  o.routes_yaml = one_route(up);
  o.port = first.port();
  Torii second(o);
  EXPECT_EQ(second.wait_exit(std::chrono::seconds(5)), 1) << second.error_log();
  EXPECT_NE(second.error_log().find(":" + std::to_string(first.port()) +
                                    ": Address already in use (another process listens there)"),
            std::string::npos)
      << second.error_log();
  // Every connection still reaches the first.
  for (int i = 0; i < 20; ++i) EXPECT_EQ(http_get(first.url("/")).status, 200);
}

TEST(LifecycleConfig, NodeListenAsAListServesOnEveryPort) {
  Upstream up;
  TempDir dir;
  const uint16_t p1 = free_port();
  uint16_t p2 = free_port();
  while (p2 == p1) p2 = free_port();
  dir.write("config.yaml",
            config_yaml(dir, "[" + std::to_string(p1) + ", " + std::to_string(p2) + "]",
                        "  worker_processes: 2\n"));
  dir.write("apisix.yaml", one_route(up) + "#END\n");
  GatewayProcess g(dir, p1);
  ASSERT_TRUE(g.running()) << g.error_log();
  for (uint16_t p : {p1, p2}) {
    const auto r = http_get("http://127.0.0.1:" + std::to_string(p) + "/");
    EXPECT_EQ(r.status, 200) << "port " << p << " " << r.error;
    EXPECT_EQ(r.body, "hello from " + std::to_string(up.port())) << "port " << p;
  }
}

// ------------------------------------------------------------------ SIGTERM

TEST(LifecycleShutdown, SigtermFinishesTheInFlightRequestThenRefusesAndExitsZero) {
  Upstream up;
  Torii t(one_route(up));            // worker_shutdown_timeout: 10s
  const int before = up.requests();  // the harness's readiness probe reached it too
  HttpResponse inflight;
  std::thread client([&] { inflight = http_get(t.url("/sleep/1500")); });
  ASSERT_TRUE(wait_until([&] { return up.requests() > before; }, std::chrono::seconds(3)));

  const auto sent = Clock::now();
  t.signal(SIGTERM);
  // The listeners close at once: new connections are refused.
  EXPECT_TRUE(wait_until([&] { return Client(t.port()).connect_errno() == ECONNREFUSED; },
                         std::chrono::seconds(1)));
  client.join();
  EXPECT_EQ(inflight.error, "");
  EXPECT_EQ(inflight.status, 200);
  EXPECT_EQ(inflight.body, "slept");
  EXPECT_EQ(t.wait_exit(std::chrono::seconds(5)), 0) << t.error_log();
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - sent).count();
  EXPECT_LT(took, 4000) << "exits when the last request is done, not at the drain deadline";
}

TEST(LifecycleShutdown, SecondStopSignalEndsTheDrainAtOnce) {
  Upstream up;
  Torii t(one_route(up));  // worker_shutdown_timeout: 10s
  const int before = up.requests();
  HttpResponse inflight;
  std::thread client([&] { inflight = http_get(t.url("/sleep/3000")); });
  ASSERT_TRUE(wait_until([&] { return up.requests() > before; }, std::chrono::seconds(3)));
  const auto sent = Clock::now();
  t.signal(SIGTERM);
  ASSERT_TRUE(wait_until([&] { return Client(t.port()).connect_errno() == ECONNREFUSED; },
                         std::chrono::seconds(1)));
  t.signal(SIGTERM);
  EXPECT_EQ(t.wait_exit(std::chrono::seconds(5)), 0) << t.error_log();
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - sent).count();
  EXPECT_LT(took, 2500) << "the second signal should not wait for the 3 s request";
  client.join();
  EXPECT_NE(inflight.status, 200) << "the in-flight request was cut";
}

TEST(LifecycleShutdown, SigtermClosesIdleKeepAliveConnections) {
  Upstream up;
  Torii t(one_route(up));
  Client idle(t.port());
  ASSERT_TRUE(idle.connected());
  ASSERT_TRUE(idle.send("GET /bytes/5 HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_NE(idle.read_until("xxxxx", std::chrono::seconds(3)).find("xxxxx"), std::string::npos);

  const auto sent = Clock::now();
  t.signal(SIGTERM);
  EXPECT_TRUE(idle.closed_by_peer(std::chrono::seconds(2)));
  EXPECT_EQ(t.wait_exit(std::chrono::seconds(5)), 0) << t.error_log();
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - sent).count(),
            3000)
      << "an idle connection must not hold the drain until worker_shutdown_timeout";
}

TEST(LifecycleShutdown, DrainDeadlineEndsAStuckRequest) {
  Upstream up;
  TempDir dir;
  const uint16_t port = free_port();
  dir.write("config.yaml", config_yaml(dir, listen_on(port),
                                       "  worker_processes: 1\n  worker_shutdown_timeout: 1s\n"));
  dir.write("apisix.yaml", one_route(up) + "#END\n");
  GatewayProcess g(dir, port);
  ASSERT_TRUE(g.running()) << g.error_log();
  const int before = up.requests();  // the readiness probe reached it too
  HttpResponse stuck;
  std::thread client([&] {
    stuck = http(HttpRequest{
        "GET", "http://127.0.0.1:" + std::to_string(port) + "/sleep/2500", {}, "", false, 10000});
  });
  ASSERT_TRUE(wait_until([&] { return up.requests() > before; }, std::chrono::seconds(3)));
  const auto sent = Clock::now();
  ::kill(g.pid(), SIGTERM);
  EXPECT_TRUE(wait_until([&] { return !g.running(); }, std::chrono::seconds(4)));
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - sent).count();
  EXPECT_GE(took, 900);
  EXPECT_LT(took, 2200) << "exits at worker_shutdown_timeout, before the upstream answers";
  EXPECT_EQ(g.exit_status(), 0) << g.error_log();
  client.join();
  EXPECT_NE(stuck.status, 200) << "the request was cut at the deadline";
  // The upstream's handler thread is detached and still sleeping; it must
  // finish before `up` is destroyed. Nothing observable marks its end.
  std::this_thread::sleep_until(sent + std::chrono::milliseconds(2700));
}

// ------------------------------------------------------------------ SIGHUP

TEST(LifecycleSighup, RereadsAccessLogFormatAndKeepsServing) {
  Upstream up;
  Torii t(one_route(up), "    access_log_format: \"before $uri $status\"\n");
  ASSERT_EQ(http_get(t.url("/one")).status, 200);
  ASSERT_TRUE(
      wait_until([&] { return t.access_log().find("before /one 200") != std::string::npos; },
                 std::chrono::seconds(3)))
      << t.access_log();

  t.dir().write("config.yaml", replace_all(t.dir().read("config.yaml"), "before", "after"));
  t.signal(SIGHUP);
  EXPECT_TRUE(wait_until(
      [&] {
        return http_get(t.url("/two")).status == 200 &&
               t.access_log().find("after /two 200") != std::string::npos;
      },
      std::chrono::seconds(3)))
      << t.access_log();
  EXPECT_TRUE(t.running());
  EXPECT_EQ(http_get(t.url("/three")).status, 200);
}

TEST(LifecycleSighup, RouterKindChangeRebuildsTheRoutes) {
  Upstream up;
  Torii t("routes:\n  - uri: /user/:id\n    upstream:\n      nodes:\n        \"" + up.node() +
          "\": 1\n");
  // radixtree_host_uri (the default) takes ':' literally.
  ASSERT_EQ(http_get(t.url("/user/42")).status, 404);
  const std::string conf = t.dir().read("config.yaml");
  const size_t line_end = conf.find('\n', conf.find("node_listen:"));
  t.dir().write("config.yaml", conf.substr(0, line_end + 1) +
                                   "  router:\n    http: radixtree_uri_with_parameter\n" +
                                   conf.substr(line_end + 1));
  t.signal(SIGHUP);
  EXPECT_TRUE(wait_until([&] { return http_get(t.url("/user/42")).status == 200; },
                         std::chrono::seconds(3)));
  EXPECT_EQ(http_get(t.url("/user/42/x")).status, 404);
}

TEST(LifecycleSighup, ErrorLogLevelChangeAppliesToLaterMessages) {
  Upstream up;
  Torii t(one_route(up), "    access_log_format: \"step0 $uri\"\n");
  const std::string base = t.dir().read("config.yaml");
  // Each step: new level, a marker in the access-log format (to know the
  // SIGHUP was handled) and an unknown key whose warning is logged on load.
  auto step = [&](const std::string& level, const std::string& marker) {
    std::string cfg = replace_all(base, "error_log_level: info", "error_log_level: " + level);
    cfg = replace_all(cfg, "step0", marker);
    cfg += "probe_" + marker + ": 1\n";
    t.dir().write("config.yaml", cfg);
    t.signal(SIGHUP);
    return wait_until(
        [&] {
          http_get(t.url("/" + marker));
          return t.access_log().find(marker + " /" + marker) != std::string::npos;
        },
        std::chrono::seconds(3));
  };
  // Steps one and three switch the level; two and four run with the level
  // unchanged, so whichever level the reload logs its warnings at is clear.
  ASSERT_TRUE(step("error", "one")) << t.access_log();
  ASSERT_TRUE(step("error", "two")) << t.access_log();  // level error: no warning
  ASSERT_TRUE(step("warn", "three")) << t.access_log();
  ASSERT_TRUE(step("warn", "four")) << t.access_log();  // level warn: warning again
  const std::string log = t.error_log();
  EXPECT_EQ(log.find("unknown key probe_two"), std::string::npos) << log;
  EXPECT_NE(log.find("unknown key probe_four"), std::string::npos) << log;
  EXPECT_TRUE(t.running());
}

TEST(LifecycleSighup, BrokenConfigYamlIsRefusedAndTheProcessKeepsServing) {
  Upstream up;
  Torii t(one_route(up));
  t.dir().write("config.yaml", replace_all(t.dir().read("config.yaml"), "error_log_level: info",
                                           "error_log_level: loud"));
  t.signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return t.error_log().find("error_log_level") != std::string::npos; },
                         std::chrono::seconds(3)))
      << t.error_log();
  EXPECT_NE(t.error_log().find("loud"), std::string::npos) << t.error_log();
  EXPECT_TRUE(t.running());
  EXPECT_EQ(http_get(t.url("/")).status, 200);
}

TEST(LifecycleSighup, AnEmptyConfigYamlKeepsTheRunningSettings) {
  // A config.yaml caught while a deploy tool rewrites it (truncated to
  // nothing) must not switch every setting back to its default.
  Upstream up;
  Torii t(one_route(up), "    client_max_body_size: 1k\n");
  HttpRequest big;
  big.method = "POST";
  big.url = t.url("/");
  big.body = std::string(10 * 1024, 'b');
  EXPECT_EQ(http(big).status, 413);
  t.dir().write("config.yaml", "# being rewritten\n");
  t.signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return t.error_log().find("holds no settings") != std::string::npos; },
                         std::chrono::seconds(3)))
      << t.error_log();
  EXPECT_TRUE(t.running());
  EXPECT_EQ(http(big).status, 413);
  EXPECT_EQ(http_get(t.url("/")).status, 200);
}

}  // namespace
}  // namespace torii::testing
