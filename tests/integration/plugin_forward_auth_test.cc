// forward-auth through the real binary, with a real authorization service
// in the test process (HTTP/1.1 keep-alive, optionally TLS): what the
// service receives (method, target, X-Forwarded-*, request_headers,
// extra_headers with variables, the POST body), what the upstream gets on
// 2xx (upstream_headers, a forged one removed), what the client gets on
// >= 300 (status, body, client_headers), status_on_error and
// allow_degradation for a refused, silent, closing or garbled service,
// timeout, keep-alive reuse, keepalive_pool and keepalive_timeout, https
// with and without ssl_verify, and the Admin API's errors for bad confs.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "test_server.h"

namespace torii::testing {
namespace {

struct AuthRequest {
  std::string method;
  std::string target;
  std::multimap<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "<none>" : it->second;
  }
};

struct AuthAnswer {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// An authorization service on 127.0.0.1, one thread per connection, serving
// requests on a connection until the client closes it (or asks to).
// kAnswer answers each request with `handler`'s answer (kAnswerOnce, then
// closes the connection without saying so); kSilent reads and
// never answers; kClose closes as soon as a request arrived; kGarbage
// answers bytes that are not HTTP. With `tls`, connections are TLS first.
// With a gate of N, answers are held until N requests are waiting.
class AuthServer {
 public:
  enum class Mode { kAnswer, kAnswerOnce, kSilent, kClose, kGarbage };
  using Handler = std::function<AuthAnswer(const AuthRequest&)>;

  explicit AuthServer(Handler handler = nullptr, Mode mode = Mode::kAnswer,
                      const ServerTlsContext* tls = nullptr)
      : handler_(std::move(handler)), mode_(mode), server_([this](TestConn& c) { serve(c); }, tls) {}
  ~AuthServer() {
    stopping_ = true;
    cv_.notify_all();
    server_.stop();
  }
  AuthServer(const AuthServer&) = delete;
  AuthServer& operator=(const AuthServer&) = delete;

  uint16_t port() const { return server_.port(); }
  std::string url(const std::string& path, const std::string& host = "127.0.0.1") const {
    return std::string(server_.tls() ? "https" : "http") + "://" + host + ":" +
           std::to_string(port()) + path;
  }
  int accepted() const { return server_.accepted(); }
  int closed_by_peer() const { return closed_by_peer_.load(); }
  std::vector<AuthRequest> received() const {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  AuthRequest last() const {
    std::lock_guard<std::mutex> lock(mu_);
    return received_.empty() ? AuthRequest{} : received_.back();
  }
  size_t count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return received_.size();
  }
  void set_gate(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    gate_ = n;
    waiting_ = 0;
  }

 private:
  void serve(TestConn& conn) {
    auto recv_some = [&](char* into, size_t n) { return conn.recv_some(into, n); };
    auto send_all = [&](const std::string& s) { return conn.send_all(s); };
    std::string buf;
    for (;;) {
      bool eof = false;
      auto req = read_request(recv_some, buf, eof);
      if (!req) {
        if (eof) ++closed_by_peer_;
        break;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        received_.push_back(*req);
      }
      if (mode_ == Mode::kSilent) {
        char tmp[4096];
        while (recv_some(tmp, sizeof(tmp)) > 0) {
        }
        break;
      }
      if (mode_ == Mode::kClose) break;
      if (mode_ == Mode::kGarbage) {
        send_all("this is not http\r\n\r\n");
        break;
      }
      wait_gate();
      const AuthAnswer a = handler_ ? handler_(*req) : AuthAnswer{};
      std::string out = "HTTP/1.1 " + std::to_string(a.status) + " X\r\n";
      for (const auto& [n, v] : a.headers) out += n + ": " + v + "\r\n";
      out += "Content-Length: " + std::to_string(a.body.size()) + "\r\n\r\n" + a.body;
      if (!send_all(out)) break;
      if (req->header("connection") == "close" || mode_ == Mode::kAnswerOnce) break;
    }
  }

  // Holds an answer until `gate_` requests wait (then lets them all go).
  void wait_gate() {
    std::unique_lock<std::mutex> lock(mu_);
    if (gate_ <= 0) return;
    if (++waiting_ >= gate_) {
      gate_ = 0;
      cv_.notify_all();
      return;
    }
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return gate_ <= 0 || stopping_; });
  }

  template <class Recv>
  static std::optional<AuthRequest> read_request(Recv& recv_some, std::string& buf, bool& eof) {
    size_t end;
    char tmp[4096];
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
      const long n = recv_some(tmp, sizeof(tmp));
      if (n <= 0) {
        eof = n == 0 && buf.empty();
        return std::nullopt;
      }
      buf.append(tmp, static_cast<size_t>(n));
    }
    AuthRequest r;
    const std::string head = buf.substr(0, end);
    buf.erase(0, end + 4);
    size_t line_end = head.find("\r\n");
    const std::string line = head.substr(0, line_end);
    const size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
    r.method = line.substr(0, sp1);
    r.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    while (line_end != std::string::npos) {
      const size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      const std::string h =
          head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
      const size_t colon = h.find(':');
      std::string name = h.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = colon == std::string::npos ? "" : h.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers.emplace(name, value);
    }
    const size_t length =
        r.headers.count("content-length") ? std::stoul(r.header("content-length")) : 0;
    while (buf.size() < length) {
      const long n = recv_some(tmp, sizeof(tmp));
      if (n <= 0) return std::nullopt;
      buf.append(tmp, static_cast<size_t>(n));
    }
    r.body = buf.substr(0, length);
    buf.erase(0, length);
    return r;
  }

  Handler handler_;
  const Mode mode_;
  std::atomic<bool> stopping_{false};  // lets a gated answer go at once
  std::atomic<int> closed_by_peer_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<AuthRequest> received_;
  int gate_ = 0;
  int waiting_ = 0;
  TestServer server_;  // last: its connection threads use the members above
};

// APISIX's documented mock: "123" passes, "321" passes as user i-am-user,
// anything else is refused with 403 and X-Forward-Auth: Fail.
AuthAnswer apisix_mock(const AuthRequest& r) {
  const std::string auth = r.header("authorization");
  if (auth == "123") return {200, {}, ""};
  if (auth == "321") return {200, {{"X-User-ID", "i-am-user"}}, ""};
  return {
      403, {{"X-Forward-Auth", "Fail"}, {"Content-Type", "application/json"}}, "{\"denied\":true}"};
}

std::string route(const std::string& id, const std::string& uri, const Upstream& up,
                  const std::string& plugins) {
  return "  - id: " + id + "\n    uri: \"" + uri + "\"\n    plugins: " + plugins +
         "\n    upstream:\n      nodes:\n        \"" + up.node() + "\": 1\n";
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The head the upstream received, lower-cased.
std::string upstream_head(const Upstream& up) { return lower(up.last_head()); }

TEST(PluginForwardAuth, ServiceReceivesForwardedHeadersAndRequestHeaders) {
  Upstream up;
  AuthServer auth(apisix_mock);
  Torii t("routes:\n" +
          route("r1", "/r1/*", up,
                R"({"forward-auth": {"uri": ")" + auth.url("/auth/check?from=torii") +
                    R"(", "request_headers": ["Authorization", "X-Missing"]}})") +
          route("r2", "/r2/*", up,
                R"({"forward-auth": {"uri": ")" + auth.url("") +
                    R"(", "request_headers": ["Host", "Authorization"]}})"));
  const size_t before = auth.count();
  auto r = http(
      HttpRequest{"PUT",
                  t.url("/r1/items?id=7&x=%20y"),
                  {"Authorization: 123", "X-Other: not-forwarded", "Host: Api.Example.com:8080"},
                  "payload",
                  false,
                  10000});
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(auth.count(), before + 1);
  AuthRequest a = auth.last();
  EXPECT_EQ(a.method, "GET");
  EXPECT_EQ(a.target, "/auth/check?from=torii");
  EXPECT_EQ(a.header("host"), "127.0.0.1:" + std::to_string(auth.port()));
  EXPECT_EQ(a.header("x-forwarded-proto"), "http");
  EXPECT_EQ(a.header("x-forwarded-method"), "PUT");
  EXPECT_EQ(a.header("x-forwarded-host"), "api.example.com");
  EXPECT_EQ(a.header("x-forwarded-uri"), "/r1/items?id=7&x=%20y");
  EXPECT_EQ(a.header("x-forwarded-for"), "127.0.0.1");
  EXPECT_EQ(a.header("authorization"), "123");
  EXPECT_EQ(a.header("x-other"), "<none>");
  EXPECT_EQ(a.header("x-missing"), "<none>");
  EXPECT_EQ(a.header("content-length"), "<none>");  // GET: no body, not the client's length
  EXPECT_EQ(a.body, "");
  // The client's body still reaches the upstream.
  EXPECT_NE(upstream_head(up).find("content-length: 7\r\n"), std::string::npos);

  // A uri without a path asks for "/"; `Host` in request_headers sends the client's.
  ASSERT_EQ(http_get(t.url("/r2/x"), {"Authorization: 123", "Host: client.example"}).status, 200);
  a = auth.last();
  EXPECT_EQ(a.target, "/");
  EXPECT_EQ(a.header("host"), "client.example");
}

TEST(PluginForwardAuth, SuccessCopiesUpstreamHeadersAndRemovesForgedOnes) {
  Upstream up;
  AuthServer auth(apisix_mock);
  Torii t("routes:\n" + route("r1", "/*", up,
                              R"({"forward-auth": {"uri": ")" + auth.url("/auth") +
                                  R"(", "request_headers": ["Authorization"],
                                  "upstream_headers": ["X-User-ID"]}})"));
  // 321: the service names the user; the upstream gets its value, not the client's.
  auto r = http_get(t.url("/echo"), {"Authorization: 321", "X-User-ID: forged"});
  ASSERT_EQ(r.status, 200) << r.body;
  std::string head = upstream_head(up);
  EXPECT_NE(head.find("x-user-id: i-am-user\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.find("forged"), std::string::npos) << head;
  // 123: the answer has no X-User-ID, so the client's is removed.
  r = http_get(t.url("/echo"), {"Authorization: 123", "X-User-ID: forged"});
  ASSERT_EQ(r.status, 200) << r.body;
  head = upstream_head(up);
  EXPECT_EQ(head.find("x-user-id"), std::string::npos) << head;
}

TEST(PluginForwardAuth, RefusalReturnsTheServiceAnswerWithClientHeaders) {
  Upstream up;
  AuthServer auth([](const AuthRequest& r) -> AuthAnswer {
    const std::string auth = r.header("authorization");
    if (auth == "redirect") {
      return {302, {{"Location", "https://login.example.com/?next=/x"}, {"X-Secret", "s"}}, ""};
    }
    if (auth == "broken") return {500, {{"X-Forward-Auth", "Broken"}}, "auth service error"};
    return apisix_mock(r);
  });
  Torii t("routes:\n" + route("r1", "/*", up,
                              R"({"forward-auth": {"uri": ")" + auth.url("/auth") +
                                  R"(", "request_headers": ["Authorization"],
                                  "client_headers": ["X-Forward-Auth", "Location", "Content-Type"]}})"));
  const int before = up.requests();
  struct Case {
    std::string authorization;
    long status;
    std::string body;
    std::map<std::string, std::string> headers;  // "" value: must be absent
  };
  const Case cases[] = {
      {"wrong",
       403,
       "{\"denied\":true}",
       {{"x-forward-auth", "Fail"}, {"content-type", "application/json"}, {"location", ""}}},
      {"redirect",
       302,
       "",
       {{"location", "https://login.example.com/?next=/x"},
        {"x-secret", ""},
        {"x-forward-auth", ""}}},
      {"broken",
       500,
       "auth service error",
       {{"x-forward-auth", "Broken"}, {"content-type", "text/plain"}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.authorization);
    auto r = http_get(t.url("/x"), {"Authorization: " + c.authorization});
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.status, c.status);
    EXPECT_EQ(r.body, c.body);
    for (const auto& [name, value] : c.headers) {
      if (value.empty()) {
        EXPECT_FALSE(r.headers.contains(name)) << name;
      } else {
        EXPECT_EQ(r.headers[name], value) << name;
      }
    }
  }
  EXPECT_EQ(up.requests(), before);
}

TEST(PluginForwardAuth, PostForwardsTheBodyAndTheUpstreamStillGetsIt) {
  Upstream up;
  AuthServer auth([](const AuthRequest& r) -> AuthAnswer {
    if (r.body.find("allow") != std::string::npos) return {200, {}, ""};
    return {401, {}, "body refused"};
  });
  Torii t("routes:\n" + route("r1", "/*", up,
                              R"({"forward-auth": {"uri": ")" + auth.url("/auth") +
                                  R"(", "request_method": "POST"}})"));
  auto r = http(HttpRequest{
      "POST", t.url("/echo"), {"Content-Encoding: identity"}, "please allow me", false, 10000});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("body_size=15\n"), std::string::npos) << r.body;
  AuthRequest a = auth.last();
  EXPECT_EQ(a.method, "POST");
  EXPECT_EQ(a.body, "please allow me");
  EXPECT_EQ(a.header("content-length"), "15");
  EXPECT_EQ(a.header("content-encoding"), "identity");
  EXPECT_EQ(a.header("x-forwarded-method"), "POST");

  // A chunked body is read whole and sent with a Content-Length.
  r = http(HttpRequest{
      "PUT", t.url("/echo"), {"Transfer-Encoding: chunked"}, "allow chunked", false, 10000});
  ASSERT_EQ(r.status, 200) << r.body;
  a = auth.last();
  EXPECT_EQ(a.body, "allow chunked");
  EXPECT_EQ(a.header("transfer-encoding"), "<none>");
  EXPECT_NE(r.body.find("body_size=13\n"), std::string::npos) << r.body;

  r = http(HttpRequest{"POST", t.url("/echo"), {}, "deny", false, 10000});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, "body refused");

  // A request without a body sends Content-Length: 0.
  r = http(HttpRequest{"GET", t.url("/echo"), {}, "", false, 10000});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(auth.last().header("content-length"), "0");
}

TEST(PluginForwardAuth, ExtraHeadersResolveVariables) {
  Upstream up;
  AuthServer auth;
  Torii t("routes:\n" +
          route("r1", "/*", up, R"({"forward-auth": {"uri": ")" + auth.url("/auth") + R"(",
                                  "request_headers": ["X-Forwarded-Uri", "X-Static"],
                                  "extra_headers": {"X-Client-Addr": "$remote_addr",
                                                    "X-User": "user=${arg_user};",
                                                    "X-Static": "fixed",
                                                    "X-Unknown": "[$no_such_var]",
                                                    "X-Forwarded-Uri": "$uri"}}})"));
  auto r = http_get(t.url("/some/path?user=jack&x=1"), {"X-Static: from-client"});
  ASSERT_EQ(r.status, 200) << r.body;
  AuthRequest a = auth.last();
  EXPECT_EQ(a.header("x-client-addr"), "127.0.0.1");
  EXPECT_EQ(a.header("x-user"), "user=jack;");
  EXPECT_EQ(a.header("x-static"), "fixed");  // extra_headers win over request_headers
  EXPECT_EQ(a.header("x-unknown"), "[]");
  EXPECT_EQ(a.header("x-forwarded-uri"), "/some/path");  // replaced, once
  EXPECT_EQ(a.headers.count("x-forwarded-uri"), 1u);
  // A variable whose value holds a line break drops the header.
  r = http_get(t.url("/p?user=a%0d%0aX-Injected:%201"));
  ASSERT_EQ(r.status, 200) << r.body;
  a = auth.last();
  EXPECT_EQ(a.header("x-injected"), "<none>");
  EXPECT_EQ(a.header("x-user"), "<none>");
  EXPECT_EQ(a.header("x-static"), "fixed");
}

TEST(PluginForwardAuth, FailuresAnswerStatusOnErrorOrPassWithDegradation) {
  Upstream up;
  AuthServer silent(nullptr, AuthServer::Mode::kSilent);
  AuthServer closing(nullptr, AuthServer::Mode::kClose);
  AuthServer garbage(nullptr, AuthServer::Mode::kGarbage);
  AuthServer huge([](const AuthRequest&) {
    return AuthAnswer{401, {}, std::string(2 << 20, 'x')};
  });
  const std::string refused = "http://127.0.0.1:" + std::to_string(free_port()) + "/auth";
  struct Case {
    std::string name;
    std::string uri;
    std::string extra;  // more plugin fields
    long status;
  };
  const std::vector<Case> cases = {
      {"refused", refused, "", 403},
      {"refused-503", refused, R"(, "status_on_error": 503)", 503},
      {"refused-degraded", refused, R"(, "allow_degradation": true)", 200},
      {"silent-timeout", silent.url("/auth"), R"(, "timeout": 300)", 403},
      {"silent-degraded", silent.url("/auth"), R"(, "timeout": 300, "allow_degradation": true)",
       200},
      {"closing", closing.url("/auth"), R"(, "status_on_error": 502)", 502},
      {"garbage", garbage.url("/auth"), "", 403},
      {"too-large", huge.url("/auth"), R"(, "status_on_error": 500)", 500},
      {"status-200", refused, R"(, "status_on_error": 200)", 200},
  };
  std::string routes = "routes:\n";
  for (size_t i = 0; i < cases.size(); ++i) {
    routes += route("r" + std::to_string(i), "/c" + std::to_string(i) + "/*", up,
                    R"({"forward-auth": {"uri": ")" + cases[i].uri + "\"" + cases[i].extra + "}}");
  }
  Torii t(routes);
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    SCOPED_TRACE(c.name);
    const int before = up.requests();
    auto r = http_get(t.url("/c" + std::to_string(i) + "/x"));
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.status, c.status) << r.body;
    const bool degraded = c.extra.find("allow_degradation") != std::string::npos;
    EXPECT_EQ(up.requests(), before + (degraded ? 1 : 0));
    if (c.name == "status-200") {
      EXPECT_EQ(r.body, "");
    }
    if (c.status == 403 && !degraded) {
      EXPECT_NE(r.body.find("403 Forbidden"), std::string::npos) << r.body;
    }
  }
  EXPECT_TRUE(wait_until([&] {
    return t.error_log().find("forward-auth: failed to process forward auth") != std::string::npos;
  })) << t.error_log();
}

TEST(PluginForwardAuth, KeepAliveReusesConnectionsAndKeepaliveFalseCloses) {
  Upstream up;
  AuthServer pooled;
  AuthServer unpooled;
  ToriiOptions o;
  o.workers = 1;
  o.routes_yaml =
      "routes:\n" +
      route("r1", "/ka/*", up, R"({"forward-auth": {"uri": ")" + pooled.url("/auth") + "\"}}") +
      route("r2", "/noka/*", up,
            R"({"forward-auth": {"uri": ")" + unpooled.url("/auth") + R"(", "keepalive": false}})");
  Torii t(o);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(http_get(t.url("/ka/x")).status, 200);
  EXPECT_EQ(pooled.count(), 5u);
  EXPECT_EQ(pooled.accepted(), 1);
  EXPECT_EQ(pooled.last().header("connection"), "<none>");
  for (int i = 0; i < 5; ++i) ASSERT_EQ(http_get(t.url("/noka/x")).status, 200);
  EXPECT_EQ(unpooled.count(), 5u);
  EXPECT_EQ(unpooled.accepted(), 5);
  EXPECT_EQ(unpooled.last().header("connection"), "close");
}

// A service that closes each connection after answering (without
// announcing it): the pooled connection it closed is skipped or the call
// retried on a new one, so every request still passes. An announced
// "Connection: close" is never pooled.
TEST(PluginForwardAuth, ServiceClosingIdleConnectionsIsHandled) {
  Upstream up;
  AuthServer closes(nullptr, AuthServer::Mode::kAnswerOnce);
  AuthServer announces([](const AuthRequest&) {
    return AuthAnswer{200, {{"Connection", "close"}}, ""};
  });
  Torii t("routes:\n" +
              route("r1", "/silently/*", up,
                    R"({"forward-auth": {"uri": ")" + closes.url("/a") + "\"}}") +
              route("r2", "/announced/*", up,
                    R"({"forward-auth": {"uri": ")" + announces.url("/a") + "\"}}"),
          "", 1);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(http_get(t.url("/silently/x")).status, 200);
  EXPECT_EQ(closes.count(), 5u);
  EXPECT_EQ(closes.accepted(), 5);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(http_get(t.url("/announced/x")).status, 200);
  EXPECT_EQ(announces.count(), 5u);
  EXPECT_EQ(announces.accepted(), 5);
}

// keepalive_pool bounds the idle connections kept: after 3 concurrent
// calls (3 connections), a pool of 1 keeps one of them, a pool of 5 all.
TEST(PluginForwardAuth, KeepalivePoolBoundsIdleConnections) {
  for (const int pool : {1, 5}) {
    SCOPED_TRACE(pool);
    Upstream up;
    AuthServer auth;
    ToriiOptions o;
    o.workers = 1;
    o.routes_yaml =
        "routes:\n" + route("r1", "/p/*", up,
                            R"({"forward-auth": {"uri": ")" + auth.url("/a") +
                                R"(", "keepalive_pool": )" + std::to_string(pool) + "}}");
    Torii t(o);
    auto burst = [&] {
      auth.set_gate(3);
      std::vector<std::thread> clients;
      std::atomic<int> ok{0};
      for (int i = 0; i < 3; ++i) {
        clients.emplace_back([&] { ok += http_get(t.url("/p/x")).status == 200 ? 1 : 0; });
      }
      for (auto& c : clients) c.join();
      EXPECT_EQ(ok.load(), 3);
    };
    const int before = auth.accepted();
    burst();
    EXPECT_EQ(auth.accepted() - before, 3);
    burst();
    EXPECT_EQ(auth.accepted() - before, pool == 1 ? 5 : 3);
  }
}

// keepalive_timeout: an idle pooled connection is closed by torii.
TEST(PluginForwardAuth, KeepaliveTimeoutClosesIdleConnections) {
  Upstream up;
  AuthServer auth;
  Torii t("routes:\n" + route("r1", "/*", up,
                              R"({"forward-auth": {"uri": ")" + auth.url("/a") +
                                  R"(", "keepalive_timeout": 1000}})"),
          "", 1);
  ASSERT_EQ(http_get(t.url("/x")).status, 200);
  EXPECT_TRUE(wait_until([&] { return auth.closed_by_peer() >= auth.accepted(); }))
      << auth.closed_by_peer() << " of " << auth.accepted();
  // The next call opens a new connection and passes.
  const int before = auth.accepted();
  ASSERT_EQ(http_get(t.url("/x")).status, 200);
  EXPECT_EQ(auth.accepted(), before + 1);
}

// A certificate for "localhost" and 127.0.0.1 (and one for "localhost"
// only), made once per process by the openssl tool.
struct Certs {
  TempDir dir;
  SelfSignedCert full = make_self_signed_cert(dir, "cert", "DNS:localhost,IP:127.0.0.1");
  SelfSignedCert name_only = make_self_signed_cert(dir, "name", "DNS:localhost");
  std::string bundle = dir.path() + "/bundle.pem";
  bool ok = full.ok && name_only.ok &&
            std::system(("cat " + full.cert + " " + name_only.cert + " > " + bundle).c_str()) == 0;
};

TEST(PluginForwardAuth, HttpsServiceWithAndWithoutVerification) {
  static Certs certs;
  ASSERT_TRUE(certs.ok);
  const ServerTlsContext full(certs.full.cert, certs.full.key);
  const ServerTlsContext name_only(certs.name_only.cert, certs.name_only.key);
  {
    Upstream up;
    AuthServer tls(apisix_mock, AuthServer::Mode::kAnswer, &full);
    AuthServer tls_name_only(apisix_mock, AuthServer::Mode::kAnswer, &name_only);
    auto conf = [](const std::string& uri, const std::string& extra = "") {
      return R"({"forward-auth": {"uri": ")" + uri +
             R"(", "request_headers": ["Authorization"], "client_headers": ["X-Forward-Auth"])" +
             extra + "}}";
    };
    const std::string routes =
        "routes:\n" + route("r1", "/verify-name/*", up, conf(tls.url("/auth", "localhost"))) +
        route("r2", "/verify-ip/*", up, conf(tls.url("/auth"))) +
        route("r3", "/no-verify/*", up, conf(tls.url("/auth"), R"(, "ssl_verify": false)")) +
        route("r4", "/ip-not-named/*", up, conf(tls_name_only.url("/auth"))) +
        route("r5", "/ip-not-named-no-verify/*", up,
              conf(tls_name_only.url("/auth"), R"(, "ssl_verify": false)"));
    {
      // Untrusted: verification fails, the request gets status_on_error.
      Torii t(routes);
      EXPECT_EQ(http_get(t.url("/verify-name/x"), {"Authorization: 123"}).status, 403);
      EXPECT_EQ(http_get(t.url("/verify-ip/x"), {"Authorization: 123"}).status, 403);
      EXPECT_EQ(tls.count(), 0u) << "a request went to an unverified service";
      EXPECT_EQ(http_get(t.url("/no-verify/x"), {"Authorization: 123"}).status, 200);
      auto refused = http_get(t.url("/no-verify/x"), {"Authorization: nope"});
      EXPECT_EQ(refused.status, 403);
      EXPECT_EQ(refused.headers["x-forward-auth"], "Fail");
      EXPECT_EQ(tls.count(), 2u);
    }
    {
      // Trusted through SSL_CERT_FILE (OpenSSL's default trust store).
      const char* old = std::getenv("SSL_CERT_FILE");
      const std::string saved = old ? old : "";
      ::setenv("SSL_CERT_FILE", certs.bundle.c_str(), 1);
      Torii t(routes);
      if (old) {
        ::setenv("SSL_CERT_FILE", saved.c_str(), 1);
      } else {
        ::unsetenv("SSL_CERT_FILE");
      }
      EXPECT_EQ(http_get(t.url("/verify-name/x"), {"Authorization: 123"}).status, 200);
      EXPECT_EQ(tls.last().header("host"), "localhost:" + std::to_string(tls.port()));
      EXPECT_EQ(http_get(t.url("/verify-ip/x"), {"Authorization: 123"}).status, 200);
      // Trusted, but the certificate does not name 127.0.0.1.
      const size_t before = tls_name_only.count();
      EXPECT_EQ(http_get(t.url("/ip-not-named/x"), {"Authorization: 123"}).status, 403);
      EXPECT_EQ(tls_name_only.count(), before);
      EXPECT_EQ(http_get(t.url("/ip-not-named-no-verify/x"), {"Authorization: 123"}).status, 200);
    }
  }
}

// Runs in access at 2002: after ip-restriction (access, 3000), whose
// refusal means the service is never asked.
TEST(PluginForwardAuth, RunsInAccessAfterHigherPriorityPlugins) {
  Upstream up;
  AuthServer auth(apisix_mock);
  const std::string fa = R"("forward-auth": {"uri": ")" + auth.url("/a") +
                         R"(", "request_headers": ["Authorization"]})";
  Torii t("routes:\n" +
          route("r1", "/deny/*", up,
                R"({"ip-restriction": {"blacklist": ["127.0.0.0/8"]}, )" + fa + "}") +
          route("r2", "/allow/*", up,
                R"({"ip-restriction": {"whitelist": ["127.0.0.0/8"]}, )" + fa + "}"));
  auto r = http_get(t.url("/deny/x"), {"Authorization: 123"});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body, "{\"message\":\"Your IP address is not allowed\"}\n");
  EXPECT_EQ(auth.count(), 0u);
  EXPECT_EQ(http_get(t.url("/allow/x"), {"Authorization: 123"}).status, 200);
  EXPECT_EQ(http_get(t.url("/allow/x"), {"Authorization: no"}).status, 403);
  EXPECT_EQ(auth.count(), 2u);
}

class ForwardAuthAdmin : public ::testing::Test {
 protected:
  void SetUp() override {
    ToriiOptions o;
    o.deployment =
        "deployment:\n  role: traditional\n  role_traditional:\n    config_provider: sqlite\n";
    torii_ = std::make_unique<Torii>(std::move(o));
  }
  HttpResponse put_route(const std::string& plugin_conf) const {
    return torii_->admin("PUT", "/routes/1",
                         R"({"uri":"/x","plugins":{"forward-auth":)" + plugin_conf +
                             R"(},"upstream":{"nodes":{"127.0.0.1:1980":1}}})");
  }
  std::unique_ptr<Torii> torii_;
};

TEST_F(ForwardAuthAdmin, SchemaErrorsAreApisixs) {
  const std::string prefix =
      "{\"error_msg\":\"failed to check the configuration of plugin forward-auth err: ";
  struct Case {
    std::string conf;
    std::string error;  // after the prefix, without the closing "}
  };
  const std::vector<Case> cases = {
      {R"({})", R"(property \"uri\" is required)"},
      {R"({"uri": 1})",
       R"(property \"uri\" validation failed: wrong type: expected string, got number)"},
      {R"({"uri": "http://a/", "request_method": "PUT"})",
       R"(property \"request_method\" validation failed: matches none of the enum values)"},
      {R"({"uri": "http://a/", "timeout": 0})",
       R"(property \"timeout\" validation failed: expected 0 to be at least 1)"},
      {R"({"uri": "http://a/", "timeout": 60001})",
       R"(property \"timeout\" validation failed: expected 60001 to be at most 60000)"},
      {R"({"uri": "http://a/", "status_on_error": 600})",
       R"(property \"status_on_error\" validation failed: expected 600 to be at most 599)"},
      {R"({"uri": "http://a/", "keepalive_timeout": 999})",
       R"(property \"keepalive_timeout\" validation failed: expected 999 to be at least 1000)"},
      {R"({"uri": "http://a/", "keepalive_pool": 0})",
       R"(property \"keepalive_pool\" validation failed: expected 0 to be at least 1)"},
      {R"({"uri": "http://a/", "extra_headers": {}})",
       R"(property \"extra_headers\" validation failed: expect object to have at least 1 properties)"},
      {R"({"uri": "http://a/", "extra_headers": {"X-A": 1}})",
       R"(property \"extra_headers\" validation failed: failed to validate X-A (matching \"^[^:]+$\"): wrong type: expected string, got number)"},
      {R"({"uri": "http://a/", "request_headers": "Authorization"})",
       R"(property \"request_headers\" validation failed: wrong type: expected array, got string)"},
      {R"({"uri": "http://a/", "ssl_verify": "yes"})",
       R"(property \"ssl_verify\" validation failed: wrong type: expected boolean, got string)"},
      // Checks past the schema (torii's; APISIX would fail every request instead).
      {R"({"uri": "ftp://a/"})", R"(invalid uri \"ftp://a/\": the scheme must be http or https)"},
      {R"({"uri": "/auth"})", R"(invalid uri \"/auth\": not an absolute http or https URL)"},
      {R"({"uri": "http://a:0/"})", R"(invalid uri \"http://a:0/\": invalid port)"},
      {R"({"uri": "http://a/", "request_headers": ["bad name"]})",
       R"(request_headers: invalid header name \"bad name\")"},
      {R"({"uri": "http://a/", "upstream_headers": ["X-A\r\nX-B"]})",
       R"(upstream_headers: invalid header name \"X-A\r\nX-B\")"},
      {R"({"uri": "http://a/", "extra_headers": {"X A": "v"}})",
       R"(extra_headers: invalid header name \"X A\")"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.conf);
    auto r = put_route(c.conf);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.body, prefix + c.error + "\"}");
  }
  // A valid conf is stored as written (no defaults injected).
  auto ok = put_route(R"({"uri": "https://auth.example.com/verify", "request_method": "POST",
      "extra_headers": {"X-Client": "$remote_addr"}, "upstream_headers": ["X-User-ID"]})");
  EXPECT_EQ(ok.status, 201) << ok.body;
  EXPECT_EQ(ok.body.find("\"timeout\""), std::string::npos) << ok.body;
  // The schema is published.
  auto schema = torii_->admin("GET", "/plugins/forward-auth");
  EXPECT_EQ(schema.status, 200);
  EXPECT_NE(schema.body.find("\"status_on_error\""), std::string::npos) << schema.body;
}

}  // namespace
}  // namespace torii::testing
