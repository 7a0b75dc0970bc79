// Hot reload of the standalone file through the real binary: how fast a
// change goes live, what happens to invalid or half-written files, ${{VAR}}
// substitution, arr_<n> ids, apisix.json, and reloads under keep-alive load.
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "harness.h"

namespace torii::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string nodes_of(const Upstream& up) { return "{nodes: {\"" + up.node() + "\": 1}}"; }

std::string route(const std::string& uri, const Upstream& up, const std::string& extra = "") {
  return "  - uri: " + uri + "\n" + extra + "    upstream: " + nodes_of(up) + "\n";
}

std::string route_with_id(const std::string& id, const std::string& uri, const Upstream& up) {
  return "  - id: " + id + "\n    uri: " + uri + "\n    upstream: " + nodes_of(up) + "\n";
}

bool answers(const Torii& t, const std::string& path, const Upstream& up) {
  const auto r = http(HttpRequest{"GET", t.url(path), {}, "", false, 2000});
  return r.status == 200 && r.body == "hello from " + std::to_string(up.port());
}

long status_of(const Torii& t, const std::string& path) {
  return http(HttpRequest{"GET", t.url(path), {}, "", false, 2000}).status;
}

// Sets an environment variable for the test's lifetime (the gateway, forked
// from this process, inherits it).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() { ::unsetenv(name_); }

 private:
  const char* name_;
};

TEST(ReloadStandalone, ValidChangeIsLiveWithinOneSecond) {
  Upstream a, b;
  Torii t("routes:\n" + route("/old", a));
  ASSERT_TRUE(answers(t, "/old", a));
  ASSERT_EQ(status_of(t, "/new"), 404);

  const auto start = Clock::now();
  t.set_routes("routes:\n" + route("/new", b));
  ASSERT_TRUE(wait_until([&] { return answers(t, "/new", b); }, std::chrono::seconds(3)))
      << t.error_log();
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  EXPECT_LT(took.count(), 1000) << "the change took " << took.count() << " ms";
  EXPECT_EQ(status_of(t, "/old"), 404) << "the file replaces the whole configuration";
  EXPECT_TRUE(t.running());
}

TEST(ReloadStandalone, SchemaErrorRejectsTheWholeFileAndOldRoutesKeepServing) {
  Upstream a, b;
  Torii t("routes:\n" + route("/old", a));
  ASSERT_TRUE(answers(t, "/old", a));

  // The first route is fine; the second is not: nothing of the file applies.
  t.set_routes("routes:\n" + route("/fresh", b) +
               "  - id: broken\n    uri: 123\n    upstream: " + nodes_of(b) + "\n");
  ASSERT_TRUE(wait_until([&] { return t.error_log().find("routes[2]") != std::string::npos; },
                         std::chrono::seconds(3)))
      << t.error_log();
  const std::string log = t.error_log();
  const size_t at = log.find("routes[2]");
  const std::string line = log.substr(at, log.find('\n', at) - at);
  EXPECT_NE(line.find("uri"), std::string::npos) << "the error names the field: " << line;
  EXPECT_NE(line.find("broken"), std::string::npos) << "the error names the item's id: " << line;
  EXPECT_TRUE(answers(t, "/old", a));
  EXPECT_EQ(status_of(t, "/fresh"), 404);

  // A corrected file is taken afterwards.
  t.set_routes("routes:\n" + route("/fresh", b));
  EXPECT_TRUE(wait_until([&] { return answers(t, "/fresh", b); }, std::chrono::seconds(3)));
  EXPECT_TRUE(t.running());
}

TEST(ReloadStandalone, ReferenceToMissingUpstreamRejectsTheFile) {
  Upstream a;
  Torii t("routes:\n" + route("/old", a));
  t.set_routes("routes:\n  - uri: /dangling\n    upstream_id: nope\n");
  ASSERT_TRUE(wait_until([&] { return t.error_log().find("nope") != std::string::npos; },
                         std::chrono::seconds(3)))
      << t.error_log();
  EXPECT_NE(t.error_log().find("upstream_id"), std::string::npos) << t.error_log();
  EXPECT_TRUE(answers(t, "/old", a));
}

TEST(ReloadStandalone, FileWithoutEndMarkerIsIgnored) {
  Upstream a, b;
  Torii t("routes:\n" + route("/old", a));
  ASSERT_TRUE(answers(t, "/old", a));

  const std::string next = "routes:\n" + route("/new", b);
  t.write_raw_routes(next);  // no #END: maybe half-written
  EXPECT_FALSE(wait_until([&] { return answers(t, "/new", b); }, std::chrono::seconds(1)));
  EXPECT_TRUE(answers(t, "/old", a));

  t.write_raw_routes(next + "#END\n");
  EXPECT_TRUE(wait_until([&] { return answers(t, "/new", b); }, std::chrono::seconds(3)))
      << t.error_log();
  EXPECT_EQ(status_of(t, "/old"), 404);
}

TEST(ReloadStandalone, EndMarkerInTheMiddleIsNotEnough) {
  Upstream a, b;
  Torii t("routes:\n" + route("/old", a));
  // "#END" must be the last line: a writer cut off after it left a tail.
  t.write_raw_routes("routes:\n" + route("/new", b) + "#END\n" + route("/newer", b));
  EXPECT_FALSE(wait_until([&] { return answers(t, "/new", b); }, std::chrono::seconds(1)));
  EXPECT_TRUE(answers(t, "/old", a));
}

TEST(ReloadEnv, SubstitutesVariablesAndDefaultsInValuesAndKeys) {
  Upstream a, b;
  ScopedEnv node("TORII_RELOAD_TEST_NODE", a.node());
  ScopedEnv path("TORII_RELOAD_TEST_PATH", "/from-env");
  ::unsetenv("TORII_RELOAD_TEST_UNSET");
  Torii t(
      "routes:\n"
      "  - uri: \"${{TORII_RELOAD_TEST_PATH}}\"\n"
      "    upstream:\n      nodes:\n        \"${{TORII_RELOAD_TEST_NODE}}\": 1\n"
      "  - uri: \"${{TORII_RELOAD_TEST_UNSET:=/defaulted}}\"\n"
      "    upstream: " +
      nodes_of(b) +
      "\n"
      "  - uri: \"/set${{TORII_RELOAD_TEST_PATH:=/ignored}}\"\n"
      "    upstream: " +
      nodes_of(b) + "\n");
  ASSERT_TRUE(t.running()) << t.error_log();
  EXPECT_TRUE(answers(t, "/from-env", a));
  EXPECT_TRUE(answers(t, "/defaulted", b));
  EXPECT_TRUE(answers(t, "/set/from-env", b));
  EXPECT_EQ(status_of(t, "/set/ignored"), 404);
}

TEST(ReloadEnv, MissingVariableWithoutDefaultRejectsTheFile) {
  Upstream a;
  ::unsetenv("TORII_RELOAD_TEST_ABSENT");
  Torii t("routes:\n" + route("/old", a));
  t.set_routes("routes:\n" + route("\"${{TORII_RELOAD_TEST_ABSENT}}\"", a));
  ASSERT_TRUE(wait_until(
      [&] { return t.error_log().find("TORII_RELOAD_TEST_ABSENT") != std::string::npos; },
      std::chrono::seconds(3)))
      << t.error_log();
  EXPECT_TRUE(answers(t, "/old", a));
}

TEST(ReloadIds, ItemsWithoutIdGetArrIndexIds) {
  Upstream a;
  Torii t("upstreams:\n  - " + nodes_of(a).substr(1, nodes_of(a).size() - 2) +
              "\nroutes:\n"
              "  - uri: /first\n    upstream_id: arr_1\n"
              "  - id: named\n    uri: /second\n    upstream_id: arr_1\n"
              "  - uri: /third\n    upstream_id: arr_1\n",
          "    access_log_format: \"rid=$route_id uri=$uri\"\n");
  ASSERT_TRUE(t.running()) << t.error_log();
  EXPECT_TRUE(answers(t, "/first", a)) << "the first upstream without id is arr_1";
  EXPECT_TRUE(answers(t, "/second", a));
  EXPECT_TRUE(answers(t, "/third", a));
  ASSERT_TRUE(wait_until([&] { return t.access_log().find("uri=/third") != std::string::npos; },
                         std::chrono::seconds(3)))
      << t.access_log();
  const std::string log = t.access_log();
  EXPECT_NE(log.find("rid=arr_1 uri=/first\n"), std::string::npos) << log;
  EXPECT_NE(log.find("rid=named uri=/second\n"), std::string::npos) << log;
  EXPECT_NE(log.find("rid=arr_3 uri=/third\n"), std::string::npos) << "1-based file position\n"
                                                                   << log;
}

TEST(ReloadIds, DuplicateIdsRejectTheFile) {
  Upstream a, b;
  Torii t("routes:\n" + route_with_id("r1", "/old", a));
  ASSERT_TRUE(answers(t, "/old", a)) << t.error_log();
  t.set_routes("routes:\n" + route_with_id("dup", "/x", b) + route_with_id("dup", "/y", b));
  ASSERT_TRUE(wait_until([&] { return t.error_log().find("duplicate") != std::string::npos; },
                         std::chrono::seconds(3)))
      << t.error_log();
  EXPECT_NE(t.error_log().find("dup"), std::string::npos);
  EXPECT_TRUE(answers(t, "/old", a));
  EXPECT_EQ(status_of(t, "/x"), 404);
}

// apisix.json needs a config.yaml with `config_provider: json`, which the
// harness does not write: this test starts the binary itself.
TEST(ReloadJson, ApisixJsonIsServedAndReloadedWithoutEndMarker) {
  Upstream a, b;
  TempDir dir;
  const uint16_t port = free_port();
  dir.write("config.yaml",
            "apisix:\n  node_listen:\n    - ip: 127.0.0.1\n      port: " + std::to_string(port) +
                "\n  ssl:\n    enable: false\nnginx_config:\n  worker_processes: 1\n  error_log: " + dir.path() +
                "/error.log\n  http:\n    access_log: " + dir.path() +
                "/access.log\n"
                "deployment:\n  role: data_plane\n  role_data_plane:\n    config_provider: json\n" + test_admin_block());
  auto json_routes = [](const std::string& uri, const Upstream& up) {
    return "{\"routes\": [{\"uri\": \"" + uri + "\", \"upstream\": {\"nodes\": {\"" + up.node() +
           "\": 1}}}]}";
  };
  dir.write("apisix.json", json_routes("/json-old", a));
  const std::string conf = dir.path() + "/config.yaml";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl(TORII_BINARY, TORII_BINARY, "run", "-c", conf.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  auto answers_at = [&](const std::string& path, const Upstream& up) {
    const auto r = http(HttpRequest{"GET", base + path, {}, "", false, 2000});
    return r.status == 200 && r.body == "hello from " + std::to_string(up.port());
  };
  EXPECT_TRUE(wait_until([&] { return answers_at("/json-old", a); }, std::chrono::seconds(5)))
      << dir.read("error.log");
  dir.write("apisix.json", json_routes("/json-new", b));
  EXPECT_TRUE(wait_until([&] { return answers_at("/json-new", b); }, std::chrono::seconds(3)))
      << dir.read("error.log");
  EXPECT_FALSE(answers_at("/json-old", a));
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

size_t collect_body(char* p, size_t size, size_t n, void* ud) {
  static_cast<std::string*>(ud)->append(p, size * n);
  return size * n;
}

TEST(ReloadUnderLoad, KeepAliveClientSeesNoFailuresWhileRoutesFlip) {
  Upstream a, b;
  auto routes_for = [](const Upstream& up) {
    return "routes:\n  - uri: /*\n    upstream: " + nodes_of(up) + "\n";
  };
  // nginx closes a keep-alive connection after keepalive_requests (1000);
  // raise it so every reconnect seen here is the reload's doing.
  Torii t(routes_for(a), "    keepalive_requests: 100000000\n");
  ASSERT_TRUE(answers(t, "/", a));

  std::atomic<bool> stop{false};
  int ok = 0, failed = 0, from_a = 0, from_b = 0;
  long connects = 0;
  std::string first_failure;
  std::thread client([&] {
    CURL* c = curl_easy_init();
    std::string body;
    const std::string url = t.url("/load");
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    const std::string hello_a = "hello from " + std::to_string(a.port());
    const std::string hello_b = "hello from " + std::to_string(b.port());
    while (!stop.load()) {
      body.clear();
      const CURLcode rc = curl_easy_perform(c);
      long status = 0, n = 0;
      curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
      curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &n);
      connects += n;
      if (rc == CURLE_OK && status == 200 && (body == hello_a || body == hello_b)) {
        ++ok;
        (body == hello_a ? from_a : from_b)++;
      } else {
        if (failed++ == 0) {
          first_failure = std::string(curl_easy_strerror(rc)) + " status " +
                          std::to_string(status) + " body " + body;
        }
      }
    }
    curl_easy_cleanup(c);
  });

  const auto end = Clock::now() + std::chrono::seconds(3);
  bool use_b = true;
  while (Clock::now() < end) {
    t.set_routes(routes_for(use_b ? b : a));
    use_b = !use_b;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the rewrite cadence itself
  }
  stop = true;
  client.join();

  EXPECT_EQ(failed, 0) << "first failure: " << first_failure;
  EXPECT_GT(ok, 100);
  EXPECT_GT(from_a, 0);
  EXPECT_GT(from_b, 0);
  EXPECT_EQ(connects, 1) << "the client connection should stay open across reloads (" << ok
                         << " requests)";
  EXPECT_TRUE(t.running());
  EXPECT_EQ(t.error_log().find("[error]"), std::string::npos) << t.error_log();
}

}  // namespace
}  // namespace torii::testing
