// proxy-mirror through the real binary, with a real second server as the
// mirror: what the mirror receives (method, target, query, headers, body),
// path replace/prefix, sample_ratio, an https mirror, the main request
// untouched when the mirror refuses, stays silent or resets, the
// plugin_attr timeouts, and the Admin API's errors for bad confs.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/json.hpp>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "test_server.h"

namespace torii::testing {
namespace {

struct Mirrored {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// A mirror host on 127.0.0.1, one thread per connection. kAnswer reads each
// request (Content-Length bodies), records it, answers 200 and closes;
// kSilent accepts, reads and never answers; kReset records the request and
// resets the connection. With `tls`, connections are TLS first.
class MirrorServer {
 public:
  enum class Mode { kAnswer, kSilent, kReset };

  explicit MirrorServer(Mode mode = Mode::kAnswer, const ServerTlsContext* tls = nullptr)
      : mode_(mode), server_([this](TestConn& c) { serve(c); }, tls) {}
  ~MirrorServer() { server_.stop(); }
  MirrorServer(const MirrorServer&) = delete;
  MirrorServer& operator=(const MirrorServer&) = delete;

  uint16_t port() const { return server_.port(); }
  std::string url() const {
    return std::string(server_.tls() ? "https" : "http") + "://127.0.0.1:" +
           std::to_string(port());
  }
  int accepted() const { return server_.accepted(); }
  size_t count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return received_.size();
  }
  std::vector<Mirrored> received() const {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  // Waits until `n` requests arrived.
  bool wait_for(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return received_.size() >= n; });
  }
  // Waits until no request arrived for `quiet` (the mirrors of finished
  // requests are asynchronous: this is how a test knows they are all in).
  void wait_quiet(std::chrono::milliseconds quiet = std::chrono::milliseconds(500)) {
    std::unique_lock<std::mutex> lock(mu_);
    for (size_t seen = received_.size();;) {
      cv_.wait_for(lock, quiet, [&] { return received_.size() != seen; });
      if (received_.size() == seen) return;
      seen = received_.size();
    }
  }

 private:
  void serve(TestConn& conn) {
    auto recv_some = [&](char* into, size_t n) { return conn.recv_some(into, n); };
    if (mode_ == Mode::kSilent) {
      char tmp[4096];
      while (recv_some(tmp, sizeof(tmp)) > 0) {
      }
    } else if (auto m = read_request(recv_some)) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        received_.push_back(std::move(*m));
      }
      cv_.notify_all();
      if (mode_ == Mode::kReset) {
        const linger lg{1, 0};
        ::setsockopt(conn.fd(), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
      } else {
        conn.send_all("HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nmirror");
      }
    }
  }

  template <class Recv>
  static std::optional<Mirrored> read_request(Recv& recv_some) {
    std::string buf;
    size_t end;
    char tmp[4096];
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
      const long n = recv_some(tmp, sizeof(tmp));
      if (n <= 0) return std::nullopt;
      buf.append(tmp, static_cast<size_t>(n));
    }
    Mirrored m;
    const std::string head = buf.substr(0, end);
    buf.erase(0, end + 4);
    size_t line_end = head.find("\r\n");
    const std::string line = head.substr(0, line_end);
    const size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
    m.method = line.substr(0, sp1);
    m.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    while (line_end != std::string::npos) {
      const size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      const std::string h = head.substr(start, line_end == std::string::npos ? std::string::npos
                                                                              : line_end - start);
      const size_t colon = h.find(':');
      std::string name = h.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = colon == std::string::npos ? "" : h.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      m.headers[name] = value;
    }
    const size_t length =
        m.headers.contains("content-length") ? std::stoul(m.headers["content-length"]) : 0;
    while (buf.size() < length) {
      const long n = recv_some(tmp, sizeof(tmp));
      if (n <= 0) return std::nullopt;
      buf.append(tmp, static_cast<size_t>(n));
    }
    m.body = buf.substr(0, length);
    return m;
  }

  const Mode mode_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Mirrored> received_;
  TestServer server_;  // last: its connection threads use the members above
};

// A route `uri` to `up` carrying `plugins` (JSON as a YAML flow mapping).
std::string route(const std::string& id, const std::string& uri, const Upstream& up,
                  const std::string& plugins) {
  return "  - id: " + id + "\n    uri: \"" + uri + "\"\n    plugins: " + plugins +
         "\n    upstream:\n      nodes:\n        \"" + up.node() + "\": 1\n";
}

std::string mirror_conf(const std::string& host, const std::string& extra = "") {
  return R"({"proxy-mirror": {"host": ")" + host + "\"" + extra + "}}";
}

// The request line's target as the upstream received it.
std::string upstream_target(const Upstream& up) {
  const std::string head = up.last_head();
  const size_t sp1 = head.find(' ');
  return head.substr(sp1 + 1, head.find(' ', sp1 + 1) - sp1 - 1);
}

TEST(PluginMirror, MirrorReceivesMethodTargetHeadersAndBody) {
  Upstream up;
  MirrorServer mirror;
  Torii t("routes:\n" + route("r1", "/t/*", up, mirror_conf(mirror.url())));
  struct Case {
    std::string method;
    std::string path;
    std::string body;
  };
  const Case cases[] = {
      {"GET", "/t/hello?a=1&b=two", ""},
      {"POST", "/t/submit?x=%20y", "field=value&other=1"},
      {"PUT", "/t/put", std::string(70000, 'p')},  // past one read window
      {"DELETE", "/t/item/7", ""},
  };
  size_t n = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.method + " " + c.path);
    auto r = http(HttpRequest{c.method, t.url(c.path), {"X-Test: mirror-me", "Cookie: s=1"},
                              c.body, false, 10000});
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "hello from " + std::to_string(up.port()));  // the upstream's, not the mirror's
    ASSERT_TRUE(mirror.wait_for(++n));
    Mirrored m = mirror.received().back();
    EXPECT_EQ(m.method, c.method);
    EXPECT_EQ(m.target, c.path);
    EXPECT_EQ(m.body, c.body);
    EXPECT_EQ(m.headers["x-test"], "mirror-me");
    EXPECT_EQ(m.headers["cookie"], "s=1");
    // The Host the upstream gets (pass_host "pass": the client's).
    EXPECT_EQ(m.headers["host"], "127.0.0.1:" + std::to_string(t.port()));
    EXPECT_EQ(m.headers["x-real-ip"], "127.0.0.1");
    EXPECT_EQ(m.headers["connection"], "close");
    if (c.body.empty()) {
      EXPECT_FALSE(m.headers.contains("content-length"));
    } else {
      EXPECT_EQ(m.headers["content-length"], std::to_string(c.body.size()));
    }
  }
  EXPECT_EQ(up.requests(), 4);
}

TEST(PluginMirror, PathReplaceAndPrefix) {
  Upstream up;
  MirrorServer mirror;
  struct Case {
    std::string plugins;   // the route's
    std::string request;   // path sent by the client (route i matches /c<i>/*)
    std::string expected;  // mirror target; "@up" is the upstream's target
  };
  const std::string h = mirror.url();
  const std::vector<Case> cases = {
      {mirror_conf(h), "/c0/a?x=1", "/c0/a?x=1"},
      {mirror_conf(h, R"(, "path": "/mirror")"), "/c1/a?x=1&y=2", "/mirror?x=1&y=2"},
      {mirror_conf(h, R"(, "path": "/mirror", "path_concat_mode": "replace")"), "/c2/a",
       "/mirror"},
      {mirror_conf(h, R"(, "path": "/mirror", "path_concat_mode": "prefix")"), "/c3/a?x=1",
       "/mirror/c3/a?x=1"},
      // What goes upstream after proxy-rewrite is what is mirrored.
      {R"({"proxy-rewrite": {"uri": "/rewritten/path"},
           "proxy-mirror": {"host": ")" +
           h + R"(", "path": "/pre", "path_concat_mode": "prefix"}})",
       "/c4/a?x=1", "/pre@up"},
      {R"({"proxy-rewrite": {"uri": "/rewritten/path"}, "proxy-mirror": {"host": ")" + h +
           R"("}})",
       "/c5/a", "@up"},
  };
  std::string routes = "routes:\n";
  for (size_t i = 0; i < cases.size(); ++i) {
    routes += route("r" + std::to_string(i), "/c" + std::to_string(i) + "/*", up, cases[i].plugins);
  }
  Torii t(routes);
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    SCOPED_TRACE(c.plugins);
    auto r = http_get(t.url(c.request));
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_TRUE(mirror.wait_for(i + 1));
    std::string expected = c.expected;
    if (const size_t at = expected.find("@up"); at != std::string::npos) {
      expected.replace(at, 3, upstream_target(up));
      EXPECT_EQ(upstream_target(up).rfind("/rewritten/path", 0), 0u);
    }
    EXPECT_EQ(mirror.received().back().target, expected);
  }
}

TEST(PluginMirror, SampleRatioMirrorsAShare) {
  Upstream up;
  MirrorServer mirror;
  Torii t("routes:\n" + route("r1", "/t/*", up, mirror_conf(mirror.url(), R"(, "sample_ratio": 0.5)")));
  constexpr int kRequests = 400;
  for (int i = 0; i < kRequests; ++i) ASSERT_EQ(http_get(t.url("/t/s")).status, 200);
  mirror.wait_quiet();
  // Binomial(400, 0.5): mean 200, sd 10; 6 sd either side.
  EXPECT_GT(mirror.count(), 140u);
  EXPECT_LT(mirror.count(), 260u);
}

// The main request never depends on the mirror: refused, silent (accepts
// and never answers) or reset, every response is the upstream's 200.
TEST(PluginMirror, MainRequestIsUnaffectedByABrokenMirror) {
  Upstream up;
  MirrorServer silent(MirrorServer::Mode::kSilent);
  MirrorServer reset(MirrorServer::Mode::kReset);
  const std::string refused = "http://127.0.0.1:" + std::to_string(free_port());
  Torii t("routes:\n" + route("r1", "/refused/*", up, mirror_conf(refused)) +
          route("r2", "/silent/*", up, mirror_conf(silent.url())) +
          route("r3", "/reset/*", up, mirror_conf(reset.url())));
  for (const std::string prefix : {"/refused/", "/silent/", "/reset/"}) {
    SCOPED_TRACE(prefix);
    for (int i = 0; i < 30; ++i) {
      auto r = http(HttpRequest{"POST", t.url(prefix + std::to_string(i)), {}, "body", false, 10000});
      ASSERT_EQ(r.error, "");
      ASSERT_EQ(r.status, 200);
      EXPECT_EQ(r.body, "hello from " + std::to_string(up.port()));
    }
  }
  EXPECT_TRUE(wait_until([&] { return silent.accepted() == 30 && reset.count() == 30; }));
  EXPECT_EQ(up.requests(), 90);
}

// plugin_attr.proxy-mirror bounds the work: a silent mirror's copies end at
// the read timeout (and are logged), and over max_inflight copies are
// dropped while the requests go on.
TEST(PluginMirror, PluginAttrTimeoutsAndInflightCap) {
  Upstream up;
  MirrorServer silent(MirrorServer::Mode::kSilent);
  ToriiOptions o;
  o.workers = 1;
  o.routes_yaml = "routes:\n" + route("r1", "/t/*", up, mirror_conf(silent.url()));
  o.extra_config =
      "plugin_attr:\n  proxy-mirror:\n    timeout:\n      connect: 1s\n      send: 1s\n"
      "      read: 1s\n    max_inflight: 4\n"
      "  prometheus:\n    export_addr:\n      ip: 127.0.0.1\n      port: 0\n";
  Torii t(o);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(http_get(t.url("/t/x")).status, 200);
  // Four copies in flight at most, the rest dropped.
  EXPECT_TRUE(wait_until([&] { return silent.accepted() == 4; }));
  EXPECT_EQ(silent.accepted(), 4);
  EXPECT_TRUE(wait_until([&] {
    return t.error_log().find("proxy-mirror: mirror to 127.0.0.1:" + std::to_string(silent.port()) +
                              " failed: read timed out") != std::string::npos;
  })) << t.error_log();
  // Once they timed out, the slots take new copies.
  EXPECT_TRUE(wait_until([&] {
    EXPECT_EQ(http_get(t.url("/t/y")).status, 200);
    return silent.accepted() > 4;
  }));
}

// A chunked body, or one over 1 MiB, is streamed to the upstream as usual
// and not mirrored.
TEST(PluginMirror, BodiesThatAreNotMirroredStillReachTheUpstream) {
  Upstream up;
  MirrorServer mirror;
  Torii t("routes:\n" + route("r1", "/echo/*", up, mirror_conf(mirror.url())), "", 1);
  auto chunked = http(HttpRequest{"POST", t.url("/echo/chunked"), {"Transfer-Encoding: chunked"},
                                  "chunked body", false, 10000});
  ASSERT_EQ(chunked.status, 200);
  EXPECT_NE(chunked.body.find("body_size=12\n"), std::string::npos) << chunked.body;
  const std::string big(1536 * 1024, 'b');
  auto large = http(HttpRequest{"POST", t.url("/echo/large"), {}, big, false, 10000});
  ASSERT_EQ(large.status, 200);
  EXPECT_NE(large.body.find("body_size=" + std::to_string(big.size()) + "\n"), std::string::npos);
  // One worker launches copies in order: once this one is in, nothing else came.
  ASSERT_EQ(http_get(t.url("/echo/after")).status, 200);
  ASSERT_TRUE(mirror.wait_for(1));
  mirror.wait_quiet();
  ASSERT_EQ(mirror.count(), 1u);
  EXPECT_EQ(mirror.received()[0].target, "/echo/after");
}

TEST(PluginMirror, HttpsMirror) {
  TempDir dir;
  const SelfSignedCert cert = make_self_signed_cert(dir, "cert", "");
  ASSERT_TRUE(cert.ok) << "openssl could not make a certificate";
  const ServerTlsContext ctx(cert.cert, cert.key);
  ASSERT_TRUE(ctx.ok());
  {
    Upstream up;
    MirrorServer mirror(MirrorServer::Mode::kAnswer, &ctx);
    Torii t("routes:\n" + route("r1", "/t/*", up, mirror_conf(mirror.url())));
    auto r = http(HttpRequest{"POST", t.url("/t/tls?q=1"), {}, "secret", false, 10000});
    EXPECT_EQ(r.status, 200);
    ASSERT_TRUE(mirror.wait_for(1));
    Mirrored m = mirror.received().back();
    EXPECT_EQ(m.method, "POST");
    EXPECT_EQ(m.target, "/t/tls?q=1");
    EXPECT_EQ(m.body, "secret");
  }
}

TEST(PluginMirror, AdminApiRefusesBadConfs) {
  Upstream up;
  ToriiOptions o;
  o.deployment =
      "deployment:\n  role: traditional\n  role_traditional:\n    config_provider: sqlite\n";
  Torii t(o);
  auto put = [&](const std::string& plugins) {
    return t.admin("PUT", "/routes/1",
                   R"({"uri": "/t/*", "plugins": )" + plugins + R"(, "upstream": {"nodes": {")" +
                       up.node() + R"(": 1}}})");
  };
  const std::string p = "failed to check the configuration of plugin proxy-mirror err: ";
  const std::string host_pattern =
      R"(failed to match pattern "^(http(s)?|grpc(s)?):\\/\\/([\\da-zA-Z.-]+|\\[[\\da-fA-F:]+\\])(:\\d+)?$" with )";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"proxy-mirror": {}})", p + "property \"host\" is required"},
      {R"({"proxy-mirror": {"host": "127.0.0.1:1999"}})",
       p + "property \"host\" validation failed: " + host_pattern + "\"127.0.0.1:1999\""},
      {R"({"proxy-mirror": {"host": "http://127.0.0.1:1999/"}})",
       p + "property \"host\" validation failed: " + host_pattern + "\"http://127.0.0.1:1999/\""},
      {R"({"proxy-mirror": {"host": "http://127.0.0.1:1999", "path": "mirror"}})",
       p + "property \"path\" validation failed: failed to match pattern \"^/[^?&]+$\" with "
           "\"mirror\""},
      {R"({"proxy-mirror": {"host": "http://127.0.0.1:1999", "sample_ratio": 0}})",
       p + "property \"sample_ratio\" validation failed: expected 0 to be at least 1e-05"},
      {R"({"proxy-mirror": {"host": "http://127.0.0.1:1999", "sample_ratio": 2}})",
       p + "property \"sample_ratio\" validation failed: expected 2 to be at most 1"},
      {R"({"proxy-mirror": {"host": "http://127.0.0.1:1999", "path_concat_mode": "suffix"}})",
       p + "property \"path_concat_mode\" validation failed: matches none of the enum values"},
      {R"({"proxy-mirror": {"host": "grpc://127.0.0.1:1999"}})",
       p + "proxy-mirror: scheme \"grpc\" is not supported by torii yet, use http or https"},
  };
  for (const auto& [plugins, msg] : cases) {
    SCOPED_TRACE(plugins);
    auto r = put(plugins);
    EXPECT_EQ(r.status, 400) << r.body;
    boost::json::error_code ec;
    auto body = boost::json::parse(r.body, ec);
    ASSERT_FALSE(ec) << r.body;
    EXPECT_EQ(body.at("error_msg").as_string(), msg);
  }
  MirrorServer mirror;
  auto ok = put(mirror_conf(mirror.url(), R"(, "path": "/m", "sample_ratio": 1)"));
  EXPECT_LT(ok.status, 300) << ok.body;
  EXPECT_TRUE(wait_until([&] { return http_get(t.url("/t/x?k=v")).status == 200 && mirror.count() > 0; }));
  EXPECT_EQ(mirror.received().front().target, "/m?k=v");
}

}  // namespace
}  // namespace torii::testing
