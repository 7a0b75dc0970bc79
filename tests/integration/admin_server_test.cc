// The Admin API listener, in process: an AdminServer on 127.0.0.1 port 0
// whose handler echoes the AdminRequest as JSON, driven by libcurl and by a
// byte-exact client. Covers what APISIX does before a resource module runs:
// path split, query decoding, the admin key (header, query, cookie, viewer),
// allow_admin, HEAD and OPTIONS, CORS and version headers, the 1.5 MiB body
// cap, content types, framing (chunked, 100-continue, keep-alive, HTTP/1.0,
// malformed heads) and stop().
#include "admin/admin_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <future>
#include <optional>
#include <thread>

#include "harness.h"
#include "http_wire.h"

namespace torii::admin {
namespace {

using namespace std::chrono_literals;
using testing::HttpRequest;
using testing::HttpResponse;
using testing::wire::Conn;

constexpr const char* kAdminKey = "edd1c9f034335f136f87ad84b625c8f1";
constexpr const char* kViewerKey = "4054f7cf07e344346cd3f287985e76a2";

std::atomic<int> g_calls{0};

// Echoes the request: what the listener handed over, nothing more.
net::Task<AdminResponse> echo_handler(AdminRequest r) {
  ++g_calls;
  if (r.path == "/throw") throw std::runtime_error("boom");
  boost::json::object o;
  o["method"] = r.method;
  o["path"] = r.path;
  boost::json::object q;
  for (const auto& [k, v] : r.query) q[k] = v;
  o["query"] = std::move(q);
  o["body_size"] = r.body.size();
  if (r.body.size() <= 1024) o["body"] = r.body;
  o["content_type"] = r.content_type;
  o["viewer"] = r.viewer;
  co_return AdminResponse{200, boost::json::serialize(o), "application/json", {{"X-Echo", "1"}}};
}

// A field of the echo as text: strings as they are, anything else as JSON.
std::string field(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  if (!v) return "<absent>";
  if (v->is_string()) return std::string(v->as_string());
  return boost::json::serialize(*v);
}

config::AdminSettings default_settings() {
  config::AdminSettings s;
  s.ip = "127.0.0.1";
  s.port = 0;
  s.keys = {{"admin", kAdminKey, false}, {"viewer", kViewerKey, true}};
  return s;
}

class AdminServerTest : public ::testing::Test {
 protected:
  void SetUp() override { g_calls = 0; }

  void start(config::AdminSettings s = default_settings(), std::string server_header = "APISIX",
             size_t max_connections = 1024) {
    AdminServerOptions o;
    o.settings = std::move(s);
    o.server_header = std::move(server_header);
    o.max_connections = max_connections;
    start_with(std::move(o));
  }

  void start_with(AdminServerOptions o) {
    auto r = AdminServer::start(io_.get_executor(), std::move(o), &echo_handler);
    ASSERT_TRUE(r.ok()) << r.error().message;
    server_ = std::move(*r);
    port_ = server_->port();
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    if (thread_.joinable()) {
      on_loop([this] { server_->stop(); });
      work_.reset();
      io_.stop();
      thread_.join();
    }
    server_.reset();
  }

  template <class F>
  void on_loop(F f) {
    std::promise<void> done;
    boost::asio::post(io_, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }

  size_t open_connections() {
    size_t n = 0;
    on_loop([&] { n = server_->connections(); });
    return n;
  }

  std::string url(const std::string& path_and_query) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path_and_query;
  }

  HttpResponse get(const std::string& path, std::vector<std::string> headers = {}) {
    return testing::http(HttpRequest{"GET", url(path), std::move(headers), "", false, 10000});
  }
  HttpResponse send(const std::string& method, const std::string& path, std::string body,
                    std::vector<std::string> headers = {}) {
    return testing::http(
        HttpRequest{method, url(path), std::move(headers), std::move(body), false, 10000});
  }

  static boost::json::object parse(const std::string& body) {
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    if (ec || !v.is_object()) return {};
    return v.as_object();
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  std::unique_ptr<AdminServer> server_;
  std::thread thread_;
  uint16_t port_ = 0;
};

const std::string kKeyHeader = std::string("X-API-KEY: ") + kAdminKey;

std::string raw_head(const std::string& method, const std::string& target,
                     const std::string& extra = "") {
  return method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
}

// ------------------------------------------------------------ path and query

TEST_F(AdminServerTest, path_below_prefix_and_decoded_query_reach_the_handler) {
  start();
  auto r =
      get("/apisix/admin/routes/a%20b?ttl=5&name=x%2By&name=second&plus=a+b&flag&=v", {kKeyHeader});
  ASSERT_EQ(r.status, 200) << r.body << r.error;
  auto o = parse(r.body);
  EXPECT_EQ(field(o, "method"), "GET");
  EXPECT_EQ(field(o, "path"), "/routes/a b");
  const auto& q = o["query"].as_object();
  EXPECT_EQ(field(q, "ttl"), "5");
  EXPECT_EQ(field(q, "name"), "x+y");  // first value wins
  EXPECT_EQ(field(q, "plus"), "a b");
  EXPECT_EQ(field(q, "flag"), "");
  EXPECT_EQ(q.size(), 4u);
  EXPECT_EQ(field(o, "viewer"), "false");
  EXPECT_EQ(r.headers["x-echo"], "1");
}

TEST_F(AdminServerTest, prefix_itself_gives_an_empty_path_and_dot_segments_are_resolved) {
  start();
  auto r = get("/apisix/admin", {kKeyHeader});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(field(parse(r.body), "path"), "");
  r = get("/apisix/admin/routes/../upstreams//1", {kKeyHeader});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(field(parse(r.body), "path"), "/upstreams/1");
}

TEST_F(AdminServerTest, paths_outside_the_admin_prefix_get_a_bare_404) {
  start();
  for (const char* path : {"/", "/apisix", "/apisix/adminx", "/apisix/status", "/routes"}) {
    auto r = get(path, {kKeyHeader});
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.headers["content-type"], "text/html") << path;
    EXPECT_NE(r.body.find("404 Not Found"), std::string::npos) << path;
  }
  EXPECT_EQ(g_calls, 0);
}

TEST_F(AdminServerTest, methods_without_an_admin_route_get_404) {
  start();
  auto r = send("TRACE", "/apisix/admin/routes", "", {kKeyHeader});
  EXPECT_EQ(r.status, 404);
  r = testing::http(
      HttpRequest{"HEAD", url("/apisix/admin/routes"), {kKeyHeader}, "", false, 5000});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(g_calls, 0);
}

// ------------------------------------------------------------ admin key

TEST_F(AdminServerTest, missing_key_is_401_with_apisix_body) {
  start();
  auto r = get("/apisix/admin/routes");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body,
            "{\"error_msg\":\"failed to check token\",\"description\":\"missing apikey\"}\n");
  EXPECT_EQ(r.headers["content-type"], "application/json");
  EXPECT_EQ(g_calls, 0);
}

TEST_F(AdminServerTest, wrong_key_is_401_wherever_it_is_sent) {
  start();
  const std::string wrong =
      "{\"error_msg\":\"failed to check token\",\"description\":\"wrong apikey\"}\n";
  auto r = get("/apisix/admin/routes", {"X-API-KEY: nope"});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, wrong);
  r = get("/apisix/admin/routes?api_key=nope");
  EXPECT_EQ(r.body, wrong);
  r = get("/apisix/admin/routes", {"Cookie: x_api_key=nope"});
  EXPECT_EQ(r.body, wrong);
  // Present but empty is a wrong key, not a missing one (APISIX: "" is truthy).
  r = get("/apisix/admin/routes?api_key=");
  EXPECT_EQ(r.body, wrong);
  // A key that is a prefix of the real one.
  r = get("/apisix/admin/routes",
          {std::string("X-API-KEY: ") + std::string(kAdminKey).substr(0, 10)});
  EXPECT_EQ(r.body, wrong);
  EXPECT_EQ(g_calls, 0);
}

TEST_F(AdminServerTest, key_accepted_from_header_query_and_cookie) {
  start();
  EXPECT_EQ(get("/apisix/admin/routes", {kKeyHeader}).status, 200);
  EXPECT_EQ(get("/apisix/admin/routes", {std::string("x-api-key: ") + kAdminKey}).status, 200);
  EXPECT_EQ(get(std::string("/apisix/admin/routes?api_key=") + kAdminKey).status, 200);
  EXPECT_EQ(
      get("/apisix/admin/routes", {std::string("Cookie: a=1; x_api_key=") + kAdminKey}).status,
      200);
  EXPECT_EQ(get("/apisix/admin/routes", {std::string("Cookie: X-API-KEY=") + kAdminKey}).status,
            200);
  EXPECT_EQ(g_calls, 5);
}

TEST_F(AdminServerTest, query_key_takes_precedence_over_header_and_cookie) {
  start();
  auto r = get("/apisix/admin/routes?api_key=nope",
               {kKeyHeader, std::string("Cookie: x_api_key=") + kAdminKey});
  EXPECT_EQ(r.status, 401);
  r = get("/apisix/admin/routes",
          {"X-API-KEY: nope", std::string("Cookie: x_api_key=") + kAdminKey});
  EXPECT_EQ(r.status, 401);
}

TEST_F(AdminServerTest, viewer_may_only_get) {
  start();
  const std::string viewer = std::string("X-API-KEY: ") + kViewerKey;
  auto r = get("/apisix/admin/routes", {viewer});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(field(parse(r.body), "viewer"), "true");
  for (const char* method : {"PUT", "POST", "PATCH", "DELETE"}) {
    r = send(method, "/apisix/admin/routes/1", "{}", {viewer, "Content-Type: application/json"});
    EXPECT_EQ(r.status, 401) << method;
    EXPECT_EQ(r.body,
              "{\"error_msg\":\"failed to check token\",\"description\":\"invalid method for role "
              "viewer\"}\n")
        << method;
  }
  EXPECT_EQ(g_calls, 1);
}

TEST_F(AdminServerTest, no_key_check_when_admin_key_is_not_required) {
  auto s = default_settings();
  s.admin_key_required = false;
  s.keys.clear();
  start(s);
  auto r = get("/apisix/admin/routes");
  EXPECT_EQ(r.status, 200) << r.body;
  r = send("PUT", "/apisix/admin/routes/1", "{}", {"X-API-KEY: whatever"});
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST(AdminServerStart, refuses_to_run_without_a_key_when_one_is_required) {
  boost::asio::io_context io;
  auto s = default_settings();
  s.keys.clear();
  auto r = AdminServer::start(io.get_executor(), AdminServerOptions{s}, &echo_handler);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("admin_key"), std::string::npos) << r.error().message;
}

TEST(AdminServerStart, a_busy_port_is_an_error_naming_the_address) {
  boost::asio::io_context io;
  auto first =
      AdminServer::start(io.get_executor(), AdminServerOptions{default_settings()}, &echo_handler);
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto s = default_settings();
  s.port = (*first)->port();
  auto second = AdminServer::start(io.get_executor(), AdminServerOptions{s}, &echo_handler);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().message,
            "admin_listen 127.0.0.1:" + std::to_string(s.port) + ": Address already in use");
}

TEST(AdminServerStart, an_invalid_allow_admin_entry_is_an_error) {
  boost::asio::io_context io;
  auto s = default_settings();
  s.allow_admin = {"127.0.0.1/99"};
  auto r = AdminServer::start(io.get_executor(), AdminServerOptions{s}, &echo_handler);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("allow_admin"), std::string::npos) << r.error().message;
}

// ------------------------------------------------------------ allow_admin

TEST_F(AdminServerTest, peer_outside_allow_admin_gets_403_and_close) {
  auto s = default_settings();
  s.allow_admin = {"10.0.0.0/8", "::2/128"};
  start(s);
  Conn c(port_);
  ASSERT_TRUE(c.connected());
  // A body is announced but never sent: the 403 must not wait for it.
  c.send(raw_head("PUT", "/apisix/admin/routes/1",
                  kKeyHeader + "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n"));
  auto r = c.read_response(5s);
  ASSERT_TRUE(r.has_value()) << c.pending();
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(r->headers["connection"], "close");
  EXPECT_NE(r->body.find("403 Forbidden"), std::string::npos);
  EXPECT_TRUE(c.closed_within(3s));
  EXPECT_EQ(g_calls, 0);
}

TEST_F(AdminServerTest, default_allow_admin_admits_loopback) {
  start();  // 127.0.0.0/24
  EXPECT_EQ(get("/apisix/admin/routes", {kKeyHeader}).status, 200);
}

TEST_F(AdminServerTest, empty_allow_admin_admits_everybody) {
  auto s = default_settings();
  s.allow_admin.clear();
  start(s);
  EXPECT_EQ(get("/apisix/admin/routes", {kKeyHeader}).status, 200);
}

// ------------------------------------------------------------ HEAD, OPTIONS, headers

TEST_F(AdminServerTest, head_on_the_prefix_is_a_health_probe_without_key) {
  start();
  auto r = testing::http(HttpRequest{"HEAD", url("/apisix/admin"), {}, "", false, 5000});
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.headers["content-length"], "0");
  EXPECT_EQ(r.headers["x-api-version"], "v3");
  EXPECT_EQ(g_calls, 0);
}

TEST_F(AdminServerTest, options_is_answered_with_cors_before_the_key_check) {
  start();
  auto r = send("OPTIONS", "/apisix/admin/routes/1", "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.headers["content-type"], "text/plain");
  EXPECT_EQ(r.headers["content-length"], "0");
  EXPECT_EQ(r.headers["access-control-allow-origin"], "*");
  EXPECT_EQ(r.headers["access-control-allow-methods"], "POST, GET, PUT, OPTIONS, DELETE, PATCH");
  EXPECT_EQ(r.headers["access-control-allow-headers"], "*");
  EXPECT_EQ(r.headers["access-control-allow-credentials"], "true");
  EXPECT_EQ(r.headers["access-control-max-age"], "3600");
  EXPECT_EQ(r.headers.count("access-control-expose-headers"), 0u);
  EXPECT_EQ(r.headers["server"], "APISIX");
  EXPECT_EQ(g_calls, 0);
}

TEST_F(AdminServerTest, options_without_admin_cors_is_404) {
  auto s = default_settings();
  s.enable_admin_cors = false;
  start(s);
  auto r = send("OPTIONS", "/apisix/admin/routes/1", "");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.headers.count("access-control-allow-origin"), 0u);
}

TEST_F(AdminServerTest, every_response_carries_server_version_and_cors_headers) {
  start(default_settings(), "APISIX/3.9.1");
  std::vector<HttpResponse> rs = {
      get("/apisix/admin/routes", {kKeyHeader}),  // 200
      get("/apisix/admin/routes"),                // 401
      get("/nothing-here"),                       // 404
      send("PUT", "/apisix/admin/routes/1", "<x/>", {kKeyHeader, "Content-Type: application/xml"}),
  };
  for (auto& r : rs) {
    SCOPED_TRACE(r.status);
    EXPECT_EQ(r.headers["server"], "APISIX/3.9.1");
    EXPECT_EQ(r.headers["x-api-version"], "v3");
    EXPECT_EQ(r.headers["access-control-allow-origin"], "*");
    EXPECT_EQ(r.headers["access-control-allow-credentials"], "true");
    EXPECT_EQ(r.headers["access-control-expose-headers"], "*");
    EXPECT_EQ(r.headers["access-control-max-age"], "3600");
    EXPECT_FALSE(r.headers["date"].empty());
  }
  EXPECT_EQ(rs[0].headers["content-type"], "application/json");
  EXPECT_EQ(rs[3].status, 415);
}

TEST_F(AdminServerTest, no_cors_headers_when_admin_cors_is_off) {
  auto s = default_settings();
  s.enable_admin_cors = false;
  start(s);
  auto r = get("/apisix/admin/routes", {kKeyHeader});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.count("access-control-allow-origin"), 0u);
  EXPECT_EQ(r.headers["x-api-version"], "v3");
}

TEST_F(AdminServerTest, handler_exception_is_500_internal_error) {
  start();
  auto r = get("/apisix/admin/throw", {kKeyHeader});
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "{\"error_msg\":\"internal error\"}\n");
  // The listener keeps serving.
  EXPECT_EQ(get("/apisix/admin/routes", {kKeyHeader}).status, 200);
}

// ------------------------------------------------------------ bodies

TEST_F(AdminServerTest, body_of_exactly_1_5_mib_is_accepted) {
  start();
  const std::string body(kMaxAdminBody, 'a');
  auto r =
      send("PUT", "/apisix/admin/routes/1", body, {kKeyHeader, "Content-Type: application/json"});
  ASSERT_EQ(r.status, 200) << r.body << r.error;
  EXPECT_EQ(field(parse(r.body), "body_size"), std::to_string(kMaxAdminBody));
}

TEST_F(AdminServerTest, body_over_1_5_mib_is_refused_unread_and_closes) {
  start();
  Conn c(port_);
  ASSERT_TRUE(c.connected());
  // Expect: 100-continue with a too large Content-Length: no 100, the refusal at once.
  c.send(raw_head("PUT", "/apisix/admin/routes/1",
                  kKeyHeader +
                      "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
                      "Content-Length: " +
                      std::to_string(kMaxAdminBody + 1) + "\r\n"));
  auto r = c.read_response(5s);
  ASSERT_TRUE(r.has_value()) << c.pending();
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body,
            "{\"error_msg\":\"invalid request body: request size 1572865 is greater than the "
            "maximum size 1572864 allowed\"}\n");
  EXPECT_EQ(r->headers["connection"], "close");
  EXPECT_TRUE(c.closed_within(5s));
  EXPECT_EQ(g_calls, 0);
}

TEST_F(AdminServerTest, body_over_1_5_mib_with_curl_sending_it_all) {
  start();
  const std::string body(kMaxAdminBody + 1, 'a');
  auto r =
      send("PUT", "/apisix/admin/routes/1", body, {kKeyHeader, "Content-Type: application/json"});
  EXPECT_EQ(r.status, 400) << r.error;
  EXPECT_NE(r.body.find("request size 1572865 is greater than the maximum size 1572864"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(g_calls, 0);
}

TEST_F(AdminServerTest, chunked_body_over_the_cap_is_refused_and_closes) {
  start();
  Conn c(port_);
  ASSERT_TRUE(c.connected());
  c.send(raw_head(
      "PUT", "/apisix/admin/routes/1",
      kKeyHeader + "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"));
  const std::string chunk(65536, 'b');
  char size_line[32];
  std::snprintf(size_line, sizeof(size_line), "%zx\r\n", chunk.size());
  std::optional<testing::wire::Response> r;
  for (int i = 0; i < 40; ++i) {  // 2.5 MiB if nobody stops us
    if (!c.send(size_line + chunk + "\r\n")) break;
  }
  r = c.read_response(5s);
  ASSERT_TRUE(r.has_value()) << c.pending();
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("is greater than the maximum size 1572864 allowed"), std::string::npos);
  EXPECT_TRUE(c.closed_within(5s));
  EXPECT_EQ(g_calls, 0);
}

TEST_F(AdminServerTest, chunked_body_is_reassembled) {
  start();
  Conn c(port_);
  ASSERT_TRUE(c.connected());
  c.send(raw_head(
             "PUT", "/apisix/admin/routes/1",
             kKeyHeader + "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n") +
         "5\r\n{\"a\":\r\n3\r\n12}\r\n0\r\n\r\n");
  auto r = c.read_response(5s);
  ASSERT_TRUE(r.has_value()) << c.pending();
  EXPECT_EQ(r->status, 200);
  auto o = parse(r->body);
  EXPECT_EQ(field(o, "body"), "{\"a\":12}");
  EXPECT_EQ(field(o, "method"), "PUT");
}

TEST_F(AdminServerTest, unsupported_content_type_is_415) {
  start();
  auto r = send("PUT", "/apisix/admin/routes/1", "<route/>",
                {kKeyHeader, "Content-Type: application/xml"});
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(r.body,
            "{\"error_msg\":\"unsupported content type \\\"application/xml\\\": send "
            "application/json\"}\n");
  EXPECT_EQ(g_calls, 0);
  // Without a body the type does not matter.
  EXPECT_EQ(get("/apisix/admin/routes", {kKeyHeader, "Content-Type: application/xml"}).status, 200);
}

TEST_F(AdminServerTest, json_form_and_text_types_are_accepted) {
  start();
  for (const char* type : {"application/json", "application/json; charset=utf-8",
                           "Application/JSON", "application/merge-patch+json",
                           "application/x-www-form-urlencoded", "text/plain;charset=UTF-8"}) {
    auto r = send("PATCH", "/apisix/admin/routes/1", "{\"x\":1}",
                  {kKeyHeader, std::string("Content-Type: ") + type});
    EXPECT_EQ(r.status, 200) << type << ": " << r.body;
    EXPECT_EQ(field(parse(r.body), "content_type"), type);
  }
}

TEST_F(AdminServerTest, curl_d_default_content_type_is_accepted) {
  start();
  // libcurl's POSTFIELDS without a Content-Type: what `curl -d` sends.
  auto r = send("PUT", "/apisix/admin/routes/1", "{\"uri\":\"/x\"}", {kKeyHeader});
  ASSERT_EQ(r.status, 200) << r.body;
  auto o = parse(r.body);
  EXPECT_EQ(field(o, "content_type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(field(o, "body"), "{\"uri\":\"/x\"}");
}

TEST_F(AdminServerTest, body_without_content_type_is_accepted) {
  start();
  Conn c(port_);
  c.send(raw_head("POST", "/apisix/admin/routes", kKeyHeader + "\r\nContent-Length: 2\r\n") + "{}");
  auto r = c.read_response(5s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(field(parse(r->body), "body"), "{}");
}

TEST_F(AdminServerTest, expect_100_continue_is_honoured) {
  start();
  Conn c(port_);
  ASSERT_TRUE(c.connected());
  c.send(raw_head("PUT", "/apisix/admin/routes/1",
                  kKeyHeader + "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
                               "Content-Length: 7\r\n"));
  auto interim = c.read_response(5s);
  ASSERT_TRUE(interim.has_value()) << c.pending();
  EXPECT_EQ(interim->status, 100);
  c.send("{\"a\":1}");
  auto r = c.read_response(5s);
  ASSERT_TRUE(r.has_value()) << c.pending();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(field(parse(r->body), "body"), "{\"a\":1}");
}

TEST_F(AdminServerTest, no_100_continue_for_a_refused_request) {
  start();
  Conn c(port_);
  c.send(
      raw_head("PUT", "/apisix/admin/routes/1",
               "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 7\r\n"));
  auto r = c.read_response(5s);
  ASSERT_TRUE(r.has_value()) << c.pending();
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->headers["connection"], "close");
  EXPECT_TRUE(c.closed_within(5s));
}

// ------------------------------------------------------------ connections

TEST_F(AdminServerTest, keep_alive_serves_several_requests_and_pipelining) {
  start();
  Conn c(port_);
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 3; ++i) {
    c.send(raw_head("GET", "/apisix/admin/routes/" + std::to_string(i), kKeyHeader + "\r\n"));
    auto r = c.read_response(5s);
    ASSERT_TRUE(r.has_value()) << c.pending();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->headers.count("connection"), 0u);
    EXPECT_EQ(field(parse(r->body), "path"), "/routes/" + std::to_string(i));
  }
  // Two requests in one write, the first with a body; a 401 in between keeps the connection.
  c.send(raw_head("PUT", "/apisix/admin/routes/p",
                  kKeyHeader + "\r\nContent-Type: application/json\r\nContent-Length: 2\r\n") +
         "{}" + raw_head("GET", "/apisix/admin/routes/q") +
         raw_head("GET", "/apisix/admin/routes/r", kKeyHeader + "\r\n"));
  auto a = c.read_response(5s);
  auto b = c.read_response(5s);
  auto d = c.read_response(5s);
  ASSERT_TRUE(a && b && d) << c.pending();
  EXPECT_EQ(field(parse(a->body), "path"), "/routes/p");
  EXPECT_EQ(field(parse(a->body), "body"), "{}");
  EXPECT_EQ(b->status, 401);
  EXPECT_EQ(field(parse(d->body), "path"), "/routes/r");
  EXPECT_EQ(g_calls, 5);
  EXPECT_FALSE(c.closed_within(200ms));
}

TEST_F(AdminServerTest, http_1_0_is_served_and_closed) {
  start();
  auto r =
      testing::http(HttpRequest{"GET", url("/apisix/admin/routes"), {kKeyHeader}, "", true, 5000});
  EXPECT_EQ(r.status, 200) << r.error;
  Conn c(port_);
  c.send("GET /apisix/admin/routes HTTP/1.0\r\n" + kKeyHeader + "\r\n\r\n");
  auto raw = c.read_response(5s);
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(raw->status, 200);
  EXPECT_EQ(raw->headers["connection"], "close");
  EXPECT_TRUE(c.closed_within(3s));
  // HTTP/1.0 keep-alive is kept.
  Conn k(port_);
  k.send("GET /apisix/admin/routes HTTP/1.0\r\nConnection: keep-alive\r\n" + kKeyHeader +
         "\r\n\r\n");
  raw = k.read_response(5s);
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(raw->headers["connection"], "keep-alive");
  EXPECT_FALSE(k.closed_within(200ms));
}

TEST_F(AdminServerTest, malformed_requests_get_400_and_close) {
  start();
  for (const std::string& bytes :
       {std::string("GET /apisix/admin HTTP/1.1\r\nHost a\r\n\r\n"),
        std::string("GET /apisix/admin HTTP/1.1\r\n\r\n"),  // no Host
        std::string("GARBAGE\r\n\r\n"),
        std::string("GET /apisix/admin/%zz HTTP/1.1\r\nHost: a\r\n\r\n"),
        std::string("PUT /apisix/admin/routes/1 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")}) {
    SCOPED_TRACE(bytes);
    Conn c(port_);
    ASSERT_TRUE(c.connected());
    c.send(bytes);
    auto r = c.read_response(5s);
    ASSERT_TRUE(r.has_value()) << c.pending();
    EXPECT_EQ(r->status, 400);
    EXPECT_EQ(r->headers["connection"], "close");
    EXPECT_TRUE(c.closed_within(3s));
  }
  EXPECT_EQ(g_calls, 0);
}

TEST_F(AdminServerTest, oversized_head_is_refused) {
  start();
  Conn c(port_);
  c.send(raw_head("GET", "/apisix/admin/routes", "X-Big: " + std::string(40000, 'x') + "\r\n"));
  auto r = c.read_response(5s);
  ASSERT_TRUE(r.has_value()) << c.pending();
  EXPECT_EQ(r->status, 431);
  EXPECT_TRUE(c.closed_within(3s));
}

TEST_F(AdminServerTest, stop_closes_listener_and_open_connections) {
  start();
  Conn idle(port_);
  ASSERT_TRUE(idle.connected());
  idle.send(raw_head("GET", "/apisix/admin/routes", kKeyHeader + "\r\n"));
  ASSERT_TRUE(idle.read_response(5s).has_value());
  Conn half(port_);  // mid-head
  half.send("GET /apisix/admin/routes HTTP/1.1\r\nHo");
  ASSERT_TRUE(testing::wait_until([&] { return open_connections() == 2; }, 5s));
  on_loop([this] { server_->stop(); });
  EXPECT_TRUE(idle.closed_within(2s));
  EXPECT_TRUE(half.closed_within(2s));
  EXPECT_TRUE(testing::wait_until([&] { return open_connections() == 0; }, 5s));
  Conn late(port_);
  EXPECT_TRUE(!late.connected() || late.closed_within(2s));
}

TEST_F(AdminServerTest, slow_or_idle_clients_are_cut_off) {
  AdminServerOptions o{default_settings()};
  o.io_timeout = 300ms;
  start_with(std::move(o));
  Conn idle(port_);
  Conn slow_head(port_);
  slow_head.send("GET /apisix/admin/routes HTTP/1.1\r\n");
  Conn slow_body(port_);
  slow_body.send(
      raw_head("PUT", "/apisix/admin/routes/1",
               kKeyHeader + "\r\nContent-Type: application/json\r\nContent-Length: 10\r\n") +
      "{\"a\"");
  // A byte every 100 ms keeps no head alive past its deadline.
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 8 && !slow_head.eof(); ++i) {
    slow_head.send("X");
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(slow_head.closed_within(2s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_TRUE(idle.closed_within(2s));
  EXPECT_TRUE(slow_body.closed_within(2s));
  EXPECT_EQ(g_calls, 0);
  EXPECT_TRUE(testing::wait_until([&] { return open_connections() == 0; }, 5s));
}

TEST_F(AdminServerTest, connections_over_the_limit_are_closed) {
  start(default_settings(), "APISIX", 2);
  Conn a(port_), b(port_);
  ASSERT_TRUE(testing::wait_until([&] { return open_connections() == 2; }, 5s));
  Conn c(port_);
  EXPECT_TRUE(c.closed_within(3s));
  // The first two still work.
  a.send(raw_head("GET", "/apisix/admin/routes", kKeyHeader + "\r\n"));
  auto r = a.read_response(5s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
}

}  // namespace
}  // namespace torii::admin
