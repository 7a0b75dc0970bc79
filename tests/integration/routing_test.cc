// Route matching through the real binary, checked against APISIX's
// lua-resty-radixtree semantics: exact vs prefix paths, hosts (with the host
// tree's fallback to host-less routes), methods, remote_addrs, the `vars`
// DSL, priority, disabled routes, services, the two other router kinds and
// the refusal of regexes RE2 cannot run.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "harness.h"

namespace torii::testing {
namespace {

const char kNotFoundBody[] = "{\"error_msg\":\"404 Route Not Found\"}\n";

std::string nodes_of(const Upstream& up) { return "{nodes: {\"" + up.node() + "\": 1}}"; }

// Named upstreams, so a test reads `EXPECT_EQ(who(...), "exact")`.
class Backends {
 public:
  explicit Backends(std::initializer_list<const char*> names) {
    for (const char* n : names) ups_.emplace_back(n, std::make_unique<Upstream>());
  }
  // The inline upstream YAML for `name`.
  std::string operator[](const std::string& name) const {
    for (const auto& [n, u] : ups_) {
      if (n == name) return nodes_of(*u);
    }
    ADD_FAILURE() << "no backend " << name;
    return "";
  }
  // Which backend answered, "404" for the APISIX not-found reply, or a
  // description of anything else.
  std::string who(const HttpResponse& r) const {
    if (!r.error.empty()) return "error: " + r.error;
    if (r.status == 404 && r.body == kNotFoundBody) return "404";
    const auto it = r.headers.find("x-upstream-port");
    if (it != r.headers.end()) {
      for (const auto& [n, u] : ups_) {
        if (it->second == std::to_string(u->port())) return n;
      }
    }
    return "status " + std::to_string(r.status) + ": " + r.body;
  }

 private:
  std::vector<std::pair<std::string, std::unique_ptr<Upstream>>> ups_;
};

HttpResponse request(const Torii& t, const std::string& method, const std::string& path,
                     std::vector<std::string> headers = {}) {
  return http(HttpRequest{method, t.url(path), std::move(headers), "", false, 5000});
}

// A gateway started from a config.yaml this file writes (the harness's
// config.yaml has no router or listen-address knobs).
class CustomTorii {
 public:
  // `apisix_extra`: more lines under `apisix:` (two-space indented).
  // `listen_ip`: "127.0.0.1" or "::1".
  CustomTorii(const std::string& apisix_extra, const std::string& routes_yaml,
              const std::string& listen_ip = "127.0.0.1")
      : port_(free_port()), listen_ip_(listen_ip) {
    dir_.write("config.yaml",
               "apisix:\n  node_listen:\n    - ip: \"" + listen_ip +
                   "\"\n      port: " + std::to_string(port_) + "\n  ssl:\n    enable: false\n" +
                   apisix_extra +
                   "nginx_config:\n  worker_processes: 1\n  error_log: " + dir_.path() +
                   "/error.log\n  error_log_level: info\n  worker_shutdown_timeout: 5s\n"
                   "  http:\n    access_log: " +
                   dir_.path() +
                   "/access.log\n"
                   "deployment:\n  role: data_plane\n  role_data_plane:\n"
                   "    config_provider: yaml\n" + test_admin_block());
    dir_.write("apisix.yaml", routes_yaml + "\n#END\n");
    const std::string conf = dir_.path() + "/config.yaml";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execl(TORII_BINARY, TORII_BINARY, "run", "-c", conf.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    wait_until([&] { return !running() || get("/__torii_ready").status != 0; });
  }
  ~CustomTorii() {
    if (running()) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool running() {
    if (exited_) return false;
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) exited_ = true;
    return !exited_;
  }
  std::string url(const std::string& path) const {
    const std::string host =
        listen_ip_.find(':') != std::string::npos ? "[" + listen_ip_ + "]" : listen_ip_;
    return "http://" + host + ":" + std::to_string(port_) + path;
  }
  HttpResponse get(const std::string& path, std::vector<std::string> headers = {}) const {
    return http(HttpRequest{"GET", url(path), std::move(headers), "", false, 2000});
  }
  std::string error_log() const { return dir_.read("error.log"); }

 private:
  TempDir dir_;
  uint16_t port_;
  std::string listen_ip_;
  pid_t pid_ = -1;
  bool exited_ = false;
};

// ------------------------------------------------------------------ paths

TEST(RoutingUri, ExactPathMatchesOnlyThatPath) {
  Backends b{"exact"};
  Torii t("routes:\n  - uri: /exact\n    upstream: " + b["exact"] + "\n");
  EXPECT_EQ(b.who(request(t, "GET", "/exact")), "exact");
  EXPECT_EQ(b.who(request(t, "GET", "/exact?x=1")), "exact") << "the query is not matched";
  EXPECT_EQ(b.who(request(t, "GET", "/exact/")), "404");
  EXPECT_EQ(b.who(request(t, "GET", "/exact/x")), "404");
  EXPECT_EQ(b.who(request(t, "GET", "/exactly")), "404");
  EXPECT_EQ(b.who(request(t, "GET", "/")), "404");
}

TEST(RoutingUri, TrailingStarIsAPrefixMatch) {
  Backends b{"dir", "stem"};
  Torii t(
      "routes:\n"
      "  - uri: /a/*\n    upstream: " +
      b["dir"] +
      "\n"
      "  - uri: /b*\n    upstream: " +
      b["stem"] + "\n");
  EXPECT_EQ(b.who(request(t, "GET", "/a/")), "dir");
  EXPECT_EQ(b.who(request(t, "GET", "/a/x")), "dir");
  EXPECT_EQ(b.who(request(t, "GET", "/a/x/y/z")), "dir");
  EXPECT_EQ(b.who(request(t, "GET", "/a")), "404") << "\"/a/*\" does not match \"/a\"";
  EXPECT_EQ(b.who(request(t, "GET", "/ab")), "404");
  EXPECT_EQ(b.who(request(t, "GET", "/b")), "stem");
  EXPECT_EQ(b.who(request(t, "GET", "/bc")), "stem");
  EXPECT_EQ(b.who(request(t, "GET", "/b/c/d")), "stem");
}

TEST(RoutingUri, ExactBeatsPrefixAndLongestPrefixWinsWhateverThePriority) {
  Backends b{"short", "long", "exact"};
  // The shorter prefix has the highest priority: priority only orders
  // routes that share a path, so it must not win.
  Torii t(
      "routes:\n"
      "  - uri: /api/*\n    priority: 100\n    upstream: " +
      b["short"] +
      "\n"
      "  - uri: /api/v1/*\n    priority: 10\n    upstream: " +
      b["long"] +
      "\n"
      "  - uri: /api/v1/users\n    upstream: " +
      b["exact"] + "\n");
  EXPECT_EQ(b.who(request(t, "GET", "/api/v1/users")), "exact");
  EXPECT_EQ(b.who(request(t, "GET", "/api/v1/users/7")), "long");
  EXPECT_EQ(b.who(request(t, "GET", "/api/v1/")), "long");
  EXPECT_EQ(b.who(request(t, "GET", "/api/v2/users")), "short");
  EXPECT_EQ(b.who(request(t, "GET", "/api/v1")), "short");
}

TEST(RoutingUri, UrisListMatchesEveryListedPath) {
  Backends b{"multi"};
  Torii t("routes:\n  - uris: [/one, /two, /three/*]\n    upstream: " + b["multi"] + "\n");
  EXPECT_EQ(b.who(request(t, "GET", "/one")), "multi");
  EXPECT_EQ(b.who(request(t, "GET", "/two")), "multi");
  EXPECT_EQ(b.who(request(t, "GET", "/three/x")), "multi");
  EXPECT_EQ(b.who(request(t, "GET", "/four")), "404");
}

TEST(RoutingUri, UnmatchedRequestGetsApisixNotFoundBodyForEveryMethod) {
  Backends b{"x"};
  Torii t("routes:\n  - uri: /x\n    upstream: " + b["x"] + "\n");
  for (const char* m : {"GET", "POST", "DELETE", "PUT"}) {
    const auto r = request(t, m, "/nothing/here", {"Host: some.example"});
    EXPECT_EQ(r.status, 404) << m;
    EXPECT_EQ(r.body, kNotFoundBody) << m;
  }
}

TEST(RoutingPriority, HigherPriorityWinsOnTheSamePathInAnyFileOrder) {
  Backends b{"low", "high"};
  Torii t(
      "routes:\n"
      "  - uri: /p\n    priority: 1\n    upstream: " +
      b["low"] +
      "\n"
      "  - uri: /p\n    priority: 5\n    upstream: " +
      b["high"] +
      "\n"
      "  - uri: /q/*\n    priority: 5\n    upstream: " +
      b["high"] +
      "\n"
      "  - uri: /q/*\n    priority: -1\n    upstream: " +
      b["low"] + "\n");
  EXPECT_EQ(b.who(request(t, "GET", "/p")), "high");
  EXPECT_EQ(b.who(request(t, "GET", "/q/z")), "high");
}

TEST(RoutingPriority, HigherPriorityRouteWhoseConditionsFailFallsToTheNext) {
  Backends b{"low", "high"};
  Torii t(
      "routes:\n"
      "  - uri: /p\n    priority: 1\n    upstream: " +
      b["low"] +
      "\n"
      "  - uri: /p\n    priority: 9\n    methods: [POST]\n    upstream: " +
      b["high"] + "\n");
  EXPECT_EQ(b.who(request(t, "POST", "/p")), "high");
  EXPECT_EQ(b.who(request(t, "GET", "/p")), "low");
}

TEST(RoutingStatus, DisabledRouteIsNotLoaded) {
  Backends b{"on", "off"};
  Torii t(
      "routes:\n"
      "  - uri: /off\n    status: 0\n    upstream: " +
      b["off"] +
      "\n"
      "  - uri: /on\n    status: 1\n    upstream: " +
      b["on"] +
      "\n"
      "  - uri: /shared\n    status: 0\n    priority: 10\n    upstream: " +
      b["off"] +
      "\n"
      "  - uri: /shared\n    upstream: " +
      b["on"] + "\n");
  EXPECT_EQ(b.who(request(t, "GET", "/off")), "404");
  EXPECT_EQ(b.who(request(t, "GET", "/on")), "on");
  EXPECT_EQ(b.who(request(t, "GET", "/shared")), "on");
}

// ------------------------------------------------------------------ hosts

TEST(RoutingHost, HostRouteBeatsHostlessRouteAndOtherHostsFallBack) {
  Backends b{"any", "foo"};
  // The host-less route comes first in the file: the host tree still wins.
  Torii t(
      "routes:\n"
      "  - uri: /x\n    upstream: " +
      b["any"] +
      "\n"
      "  - uri: /x\n    host: foo.com\n    upstream: " +
      b["foo"] + "\n");
  EXPECT_EQ(b.who(request(t, "GET", "/x", {"Host: foo.com"})), "foo");
  EXPECT_EQ(b.who(request(t, "GET", "/x", {"Host: bar.com"})), "any");
  EXPECT_EQ(b.who(request(t, "GET", "/x")), "any") << "Host: 127.0.0.1:<port>";
}

TEST(RoutingHost, HostRouteWithAnotherPathFallsBackToHostlessRoutes) {
  Backends b{"any", "foo"};
  Torii t(
      "routes:\n"
      "  - uri: /only-foo\n    host: foo.com\n    upstream: " +
      b["foo"] +
      "\n"
      "  - uri: /*\n    upstream: " +
      b["any"] + "\n");
  EXPECT_EQ(b.who(request(t, "GET", "/only-foo", {"Host: foo.com"})), "foo");
  EXPECT_EQ(b.who(request(t, "GET", "/other", {"Host: foo.com"})), "any");
  EXPECT_EQ(b.who(request(t, "GET", "/only-foo", {"Host: bar.com"})), "any");
}

TEST(RoutingHost, WildcardMatchesSubdomainsButNotTheApex) {
  Backends b{"wild"};
  Torii t("routes:\n  - uri: /w\n    host: \"*.foo.com\"\n    upstream: " + b["wild"] + "\n");
  EXPECT_EQ(b.who(request(t, "GET", "/w", {"Host: a.foo.com"})), "wild");
  EXPECT_EQ(b.who(request(t, "GET", "/w", {"Host: a.b.foo.com"})), "wild");
  EXPECT_EQ(b.who(request(t, "GET", "/w", {"Host: foo.com"})), "404");
  EXPECT_EQ(b.who(request(t, "GET", "/w", {"Host: afoo.com"})), "404");
  EXPECT_EQ(b.who(request(t, "GET", "/w", {"Host: a.foo.org"})), "404");
}

TEST(RoutingHost, ExactHostBeatsWildcardAndLongerWildcardBeatsShorter) {
  Backends b{"exact", "short", "long"};
  Torii t(
      "routes:\n"
      "  - uri: /h\n    host: \"*.foo.com\"\n    priority: 100\n    upstream: " +
      b["short"] +
      "\n"
      "  - uri: /h\n    host: \"*.b.foo.com\"\n    upstream: " +
      b["long"] +
      "\n"
      "  - uri: /h\n    host: api.foo.com\n    upstream: " +
      b["exact"] + "\n");
  EXPECT_EQ(b.who(request(t, "GET", "/h", {"Host: api.foo.com"})), "exact");
  EXPECT_EQ(b.who(request(t, "GET", "/h", {"Host: x.b.foo.com"})), "long");
  EXPECT_EQ(b.who(request(t, "GET", "/h", {"Host: x.foo.com"})), "short");
}

TEST(RoutingHost, HostMatchIgnoresCaseAndThePort) {
  Backends b{"foo", "mixed"};
  Torii t(
      "routes:\n"
      "  - uri: /c\n    host: foo.com\n    upstream: " +
      b["foo"] +
      "\n"
      "  - uri: /d\n    host: Mixed.Example.COM\n    upstream: " +
      b["mixed"] + "\n");
  EXPECT_EQ(b.who(request(t, "GET", "/c", {"Host: FOO.Com"})), "foo");
  EXPECT_EQ(b.who(request(t, "GET", "/c", {"Host: foo.com:8080"})), "foo");
  EXPECT_EQ(b.who(request(t, "GET", "/d", {"Host: mixed.example.com"})), "mixed");
}

TEST(RoutingHost, HostsListMatchesAnyListedHost) {
  Backends b{"multi"};
  Torii t("routes:\n  - uri: /m\n    hosts: [a.com, \"*.b.com\"]\n    upstream: " + b["multi"] +
          "\n");
  EXPECT_EQ(b.who(request(t, "GET", "/m", {"Host: a.com"})), "multi");
  EXPECT_EQ(b.who(request(t, "GET", "/m", {"Host: x.b.com"})), "multi");
  EXPECT_EQ(b.who(request(t, "GET", "/m", {"Host: c.com"})), "404");
}

// ------------------------------------------------------------------ methods

TEST(RoutingMethods, MethodsListRestrictsTheRoute) {
  Backends b{"rw"};
  Torii t("routes:\n  - uri: /m\n    methods: [GET, POST]\n    upstream: " + b["rw"] + "\n");
  EXPECT_EQ(b.who(request(t, "GET", "/m")), "rw");
  EXPECT_EQ(b.who(request(t, "POST", "/m")), "rw");
  EXPECT_EQ(b.who(request(t, "PUT", "/m")), "404");
  EXPECT_EQ(b.who(request(t, "DELETE", "/m")), "404");
}

TEST(RoutingMethods, ExactRouteWithOtherMethodFallsThroughToPrefixRoute) {
  Backends b{"post_only", "prefix"};
  Torii t(
      "routes:\n"
      "  - uri: /m\n    methods: [POST]\n    upstream: " +
      b["post_only"] +
      "\n"
      "  - uri: /*\n    upstream: " +
      b["prefix"] + "\n");
  EXPECT_EQ(b.who(request(t, "POST", "/m")), "post_only");
  EXPECT_EQ(b.who(request(t, "GET", "/m")), "prefix");
}

// ------------------------------------------------------------------ remote_addrs

TEST(RoutingRemoteAddrs, LoopbackCidrMatchesAndOtherNetworksDoNot) {
  Backends b{"lo", "ten", "one"};
  Torii t(
      "routes:\n"
      "  - uri: /lo\n    remote_addrs: [\"127.0.0.0/8\"]\n    upstream: " +
      b["lo"] +
      "\n"
      "  - uri: /ten\n    remote_addrs: [\"10.0.0.0/8\", \"192.168.0.0/16\"]\n    upstream: " +
      b["ten"] +
      "\n"
      "  - uri: /one\n    remote_addr: 127.0.0.1\n    upstream: " +
      b["one"] + "\n");
  EXPECT_EQ(b.who(request(t, "GET", "/lo")), "lo");
  EXPECT_EQ(b.who(request(t, "GET", "/ten")), "404");
  EXPECT_EQ(b.who(request(t, "GET", "/ten", {"X-Forwarded-For: 10.1.2.3"})), "404")
      << "remote_addr is the peer, not a client-supplied header";
  EXPECT_EQ(b.who(request(t, "GET", "/one")), "one");
}

bool ipv6_loopback_available() {
  const int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  ::close(fd);
  return ok;
}

TEST(RoutingRemoteAddrs, Ipv6ClientMatchesIpv6Cidr) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback here";
  Backends b{"v6", "v4"};
  CustomTorii t("",
                "routes:\n"
                "  - uri: /v6\n    remote_addrs: [\"::1/128\"]\n    upstream: " +
                    b["v6"] +
                    "\n"
                    "  - uri: /v4\n    remote_addrs: [\"127.0.0.0/8\"]\n    upstream: " +
                    b["v4"] + "\n",
                "::1");
  ASSERT_TRUE(t.running()) << t.error_log();
  EXPECT_EQ(b.who(t.get("/v6")), "v6");
  EXPECT_EQ(b.who(t.get("/v4")), "404");
}

// ------------------------------------------------------------------ vars

TEST(RoutingVars, EqualityOnQueryArgumentsWithLuaNumberConversion) {
  Backends b{"str", "num"};
  Torii t(
      "routes:\n"
      "  - uri: /s\n    vars: [[arg_name, \"==\", json]]\n    upstream: " +
      b["str"] +
      "\n"
      "  - uri: /n\n    vars: [[arg_age, \"==\", 18]]\n    upstream: " +
      b["num"] + "\n");
  EXPECT_EQ(b.who(request(t, "GET", "/s?name=json")), "str");
  EXPECT_EQ(b.who(request(t, "GET", "/s?name=JSON")), "404");
  EXPECT_EQ(b.who(request(t, "GET", "/s?name=xml")), "404");
  EXPECT_EQ(b.who(request(t, "GET", "/s")), "404");
  EXPECT_EQ(b.who(request(t, "GET", "/n?age=18")), "num");
  EXPECT_EQ(b.who(request(t, "GET", "/n?age=18.0")), "num") << "tonumber(\"18.0\") == 18";
  EXPECT_EQ(b.who(request(t, "GET", "/n?age=0x12")), "num") << "tonumber(\"0x12\") == 18";
  EXPECT_EQ(b.who(request(t, "GET", "/n?age=19")), "404");
  EXPECT_EQ(b.who(request(t, "GET", "/n?age=old")), "404");
}

TEST(RoutingVars, NotEqualCountsAMissingValueAsDifferent) {
  Backends b{"ne"};
  Torii t("routes:\n  - uri: /ne\n    vars: [[http_x_env, \"~=\", prod]]\n    upstream: " +
          b["ne"] + "\n");
  EXPECT_EQ(b.who(request(t, "GET", "/ne", {"X-Env: dev"})), "ne");
  EXPECT_EQ(b.who(request(t, "GET", "/ne")), "ne");
  EXPECT_EQ(b.who(request(t, "GET", "/ne", {"X-Env: prod"})), "404");
}

TEST(RoutingVars, NumericComparisonsAreFalseForNonNumbers) {
  Backends b{"gt", "lt"};
  Torii t(
      "routes:\n"
      "  - uri: /gt\n    vars: [[arg_n, \">\", 10]]\n    upstream: " +
      b["gt"] +
      "\n"
      "  - uri: /lt\n    vars: [[http_x_n, \"<\", 5]]\n    upstream: " +
      b["lt"] + "\n");
  EXPECT_EQ(b.who(request(t, "GET", "/gt?n=11")), "gt");
  EXPECT_EQ(b.who(request(t, "GET", "/gt?n=10.5")), "gt");
  EXPECT_EQ(b.who(request(t, "GET", "/gt?n=10")), "404");
  EXPECT_EQ(b.who(request(t, "GET", "/gt?n=abc")), "404");
  EXPECT_EQ(b.who(request(t, "GET", "/gt")), "404");
  EXPECT_EQ(b.who(request(t, "GET", "/lt", {"X-N: 4"})), "lt");
  EXPECT_EQ(b.who(request(t, "GET", "/lt", {"X-N: -1"})), "lt");
  EXPECT_EQ(b.who(request(t, "GET", "/lt", {"X-N: 5"})), "404");
  EXPECT_EQ(b.who(request(t, "GET", "/lt")), "404");
}

TEST(RoutingVars, RegexFindIsUnanchoredAndTildeStarIgnoresCase) {
  Backends b{"cs", "ci"};
  Torii t(
      "routes:\n"
      "  - uri: /cs\n    vars: [[http_user_agent, \"~~\", \"Firefox/[0-9]+\"]]\n"
      "    upstream: " +
      b["cs"] +
      "\n"
      "  - uri: /ci\n    vars: [[arg_q, \"~*\", \"^hello\"]]\n    upstream: " +
      b["ci"] + "\n");
  EXPECT_EQ(b.who(request(t, "GET", "/cs", {"User-Agent: Mozilla/5.0 Firefox/120 x"})), "cs");
  EXPECT_EQ(b.who(request(t, "GET", "/cs", {"User-Agent: mozilla firefox/120"})), "404");
  EXPECT_EQ(b.who(request(t, "GET", "/cs", {"User-Agent:"})), "404");
  EXPECT_EQ(b.who(request(t, "GET", "/ci?q=HeLLo-world")), "ci");
  EXPECT_EQ(b.who(request(t, "GET", "/ci?q=say-hello")), "404");
  EXPECT_EQ(b.who(request(t, "GET", "/ci")), "404");
}

TEST(RoutingVars, InMatchesListMembersAndHasNeverMatchesAStringVariable) {
  Backends b{"in", "has", "not_has"};
  Torii t(
      "routes:\n"
      "  - uri: /in\n    vars: [[arg_color, in, [red, blue]]]\n    upstream: " +
      b["in"] +
      "\n"
      "  - uri: /has\n    vars: [[http_x_tags, has, a]]\n    upstream: " +
      b["has"] +
      "\n"
      "  - uri: /nothas\n    vars: [[http_x_tags, \"!\", has, a]]\n    upstream: " +
      b["not_has"] + "\n");
  EXPECT_EQ(b.who(request(t, "GET", "/in?color=red")), "in");
  EXPECT_EQ(b.who(request(t, "GET", "/in?color=blue")), "in");
  EXPECT_EQ(b.who(request(t, "GET", "/in?color=green")), "404");
  EXPECT_EQ(b.who(request(t, "GET", "/in")), "404");
  // lua-resty-expr's `has` needs a table on the left; a header is a string.
  EXPECT_EQ(b.who(request(t, "GET", "/has", {"X-Tags: a"})), "404");
  EXPECT_EQ(b.who(request(t, "GET", "/nothas", {"X-Tags: a"})), "not_has");
}

TEST(RoutingVars, BangNegatesAnExpression) {
  Backends b{"neg"};
  Torii t("routes:\n  - uri: /neg\n    vars: [[arg_debug, \"!\", \"==\", \"1\"]]\n    upstream: " +
          b["neg"] + "\n");
  EXPECT_EQ(b.who(request(t, "GET", "/neg")), "neg");
  EXPECT_EQ(b.who(request(t, "GET", "/neg?debug=0")), "neg");
  EXPECT_EQ(b.who(request(t, "GET", "/neg?debug=1")), "404");
}

TEST(RoutingVars, BareListIsAndAndLogicalGroupsNest) {
  Backends b{"and", "or"};
  // /and: name == json AND age > 18.
  // /or:  OR(arg_a == 1, AND(header x-b == 2, cookie c ~~ "^ok"), !OR(arg_z == 1, arg_z == 2)).
  Torii t(
      "routes:\n"
      "  - uri: /and\n    vars: [[arg_name, \"==\", json], [arg_age, \">\", 18]]\n"
      "    upstream: " +
      b["and"] +
      "\n"
      "  - uri: /or\n"
      "    vars: [\"OR\", [arg_a, \"==\", \"1\"],"
      " [\"AND\", [http_x_b, \"==\", \"2\"], [cookie_c, \"~~\", \"^ok\"]],"
      " [\"!OR\", [arg_z, \"==\", \"1\"], [arg_z, \"==\", \"2\"], [arg_y, \"==\", \"1\"]]"
      "]\n    upstream: " +
      b["or"] + "\n");
  EXPECT_EQ(b.who(request(t, "GET", "/and?name=json&age=19")), "and");
  EXPECT_EQ(b.who(request(t, "GET", "/and?name=json&age=18")), "404");
  EXPECT_EQ(b.who(request(t, "GET", "/and?age=30")), "404");

  // Only the !OR branch passes when none of arg_z / arg_y is set.
  EXPECT_EQ(b.who(request(t, "GET", "/or")), "or");
  EXPECT_EQ(b.who(request(t, "GET", "/or?z=1")), "404");
  EXPECT_EQ(b.who(request(t, "GET", "/or?z=1&a=1")), "or");
  EXPECT_EQ(b.who(request(t, "GET", "/or?y=1", {"X-B: 2", "Cookie: c=okay"})), "or");
  EXPECT_EQ(b.who(request(t, "GET", "/or?y=1", {"X-B: 2", "Cookie: c=nope"})), "404");
  EXPECT_EQ(b.who(request(t, "GET", "/or?y=1", {"X-B: 3", "Cookie: c=okay"})), "404");
}

TEST(RoutingVars, CookieAndDashedHeaderVariables) {
  Backends b{"cookie", "header"};
  Torii t(
      "routes:\n"
      "  - uri: /cookie\n    vars: [[cookie_lang, \"==\", en]]\n    upstream: " +
      b["cookie"] +
      "\n"
      "  - uri: /header\n    vars: [[http_x_api_version, \"==\", v2]]\n    upstream: " +
      b["header"] + "\n");
  EXPECT_EQ(b.who(request(t, "GET", "/cookie", {"Cookie: session=abc; lang=en"})), "cookie");
  EXPECT_EQ(b.who(request(t, "GET", "/cookie", {"Cookie: lang=fr; x=en"})), "404");
  EXPECT_EQ(b.who(request(t, "GET", "/cookie")), "404");
  EXPECT_EQ(b.who(request(t, "GET", "/header", {"X-Api-Version: v2"})), "header");
  EXPECT_EQ(b.who(request(t, "GET", "/header", {"x-api-version: v2"})), "header");
  EXPECT_EQ(b.who(request(t, "GET", "/header", {"X-Api-Version: v1"})), "404");
}

// ------------------------------------------------------------------ services

TEST(RoutingServices, RouteTakesUpstreamAndHostsFromItsService) {
  Backends b{"svc", "own"};
  Torii t(
      "services:\n"
      "  - id: s1\n    hosts: [svc.com]\n    upstream: " +
      b["svc"] +
      "\n"
      "routes:\n"
      "  - uri: /from-service\n    service_id: s1\n"
      "  - uri: /own-upstream\n    service_id: s1\n    upstream: " +
      b["own"] +
      "\n"
      "  - uri: /own-host\n    service_id: s1\n    host: mine.com\n");
  EXPECT_EQ(b.who(request(t, "GET", "/from-service", {"Host: svc.com"})), "svc");
  EXPECT_EQ(b.who(request(t, "GET", "/from-service", {"Host: other.com"})), "404")
      << "the service's hosts apply to a route without hosts";
  EXPECT_EQ(b.who(request(t, "GET", "/own-upstream", {"Host: svc.com"})), "own");
  EXPECT_EQ(b.who(request(t, "GET", "/own-host", {"Host: mine.com"})), "svc");
  EXPECT_EQ(b.who(request(t, "GET", "/own-host", {"Host: svc.com"})), "404")
      << "a route's own host replaces the service's";
}

// ------------------------------------------------------------------ router kinds

TEST(RoutingRouterKinds, RadixtreeUriChecksHostsAsARouteCondition) {
  Backends b{"foo", "wild", "port", "any"};
  CustomTorii t("  router:\n    http: radixtree_uri\n",
                "routes:\n"
                "  - uri: /h\n    host: foo.com\n    upstream: " +
                    b["foo"] +
                    "\n"
                    "  - uri: /w\n    host: \"*.foo.com\"\n    upstream: " +
                    b["wild"] +
                    "\n"
                    "  - uri: /p\n    host: \"foo.com:8080\"\n    upstream: " +
                    b["port"] +
                    "\n"
                    "  - uri: /user/:id\n    upstream: " +
                    b["any"] + "\n");
  ASSERT_TRUE(t.running()) << t.error_log();
  EXPECT_EQ(b.who(t.get("/h", {"Host: foo.com"})), "foo");
  EXPECT_EQ(b.who(t.get("/h", {"Host: FOO.com:9000"})), "foo");
  EXPECT_EQ(b.who(t.get("/h", {"Host: bar.com"})), "404");
  EXPECT_EQ(b.who(t.get("/w", {"Host: a.b.foo.com"})), "wild");
  EXPECT_EQ(b.who(t.get("/w", {"Host: foo.com"})), "404");
  EXPECT_EQ(b.who(t.get("/p", {"Host: foo.com:8080"})), "port");
  EXPECT_EQ(b.who(t.get("/p", {"Host: foo.com"})), "404");
  // No parameters in this router: ':' is a literal character.
  EXPECT_EQ(b.who(t.get("/user/42")), "404");
  EXPECT_EQ(b.who(t.get("/user/:id")), "any");
}

TEST(RoutingRouterKinds, RadixtreeUriWithParameterMatchesOneSegmentPerParameter) {
  Backends b{"user", "files", "exact"};
  CustomTorii t("  router:\n    http: radixtree_uri_with_parameter\n",
                "routes:\n"
                "  - uri: /user/:id\n    upstream: " +
                    b["user"] +
                    "\n"
                    "  - uri: /files/*path\n    upstream: " +
                    b["files"] +
                    "\n"
                    "  - uri: /user/me\n    upstream: " +
                    b["exact"] + "\n");
  ASSERT_TRUE(t.running()) << t.error_log();
  EXPECT_EQ(b.who(t.get("/user/42")), "user");
  EXPECT_EQ(b.who(t.get("/user/abc-def")), "user");
  EXPECT_EQ(b.who(t.get("/user/42/x")), "404");
  EXPECT_EQ(b.who(t.get("/user/")), "404");
  EXPECT_EQ(b.who(t.get("/user")), "404");
  EXPECT_EQ(b.who(t.get("/user/me")), "exact");
  EXPECT_EQ(b.who(t.get("/files/a/b/c.txt")), "files");
}

// ------------------------------------------------------------------ refusals

TEST(RoutingValidation, LookAroundRegexInVarsIsRefused) {
  Backends b{"x"};
  TempDir dir;
  dir.write(
      "config.yaml",
      "apisix:\n  node_listen:\n    - ip: 127.0.0.1\n      port: " + std::to_string(free_port()) +
          "\n  ssl:\n    enable: false\nnginx_config:\n  error_log: stderr\n"
          "deployment:\n  role: data_plane\n  role_data_plane:\n    config_provider: yaml\n" + test_admin_block());
  dir.write("apisix.yaml", "routes:\n  - id: fine\n    uri: /fine\n    upstream: " + b["x"] +
                               "\n  - id: lookahead\n    uri: /la\n"
                               "    vars: [[arg_q, \"~~\", \"^foo(?=bar)\"]]\n    upstream: " +
                               b["x"] + "\n#END\n");
  const auto v = run_cli(dir, {"validate", "-c", dir.path() + "/config.yaml"});
  EXPECT_EQ(v.exit_code, 1) << v.out << v.err;
  EXPECT_NE(v.err.find("routes[2]"), std::string::npos) << v.err;
  EXPECT_NE(v.err.find("look-around"), std::string::npos) << v.err;
  EXPECT_NE(v.err.find("^foo(?=bar)"), std::string::npos) << v.err;
  EXPECT_EQ(v.err.find("routes[1]"), std::string::npos) << "the valid route is not blamed\n"
                                                        << v.err;

  // `run` refuses the same file instead of serving without the route.
  const auto r = run_cli(dir, {"run", "-c", dir.path() + "/config.yaml"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("look-around"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace torii::testing
