// The request/response transform plugins through the real binary, with
// routes written through the Admin API (sqlite store): proxy-rewrite,
// response-rewrite, redirect, fault-injection and request-id. Each case is a
// conf, a request and what the client (or the upstream) sees; invalid confs
// get APISIX's exact Admin API error.
#include <gtest/gtest.h>
#include <re2/re2.h>

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <string>

#include "harness.h"

namespace torii::testing {
namespace {

using Clock = std::chrono::steady_clock;

const std::string kSqliteDeployment =
    "deployment:\n  role: traditional\n  role_traditional:\n    config_provider: sqlite\n";

ToriiOptions sqlite_options() {
  ToriiOptions o;
  o.deployment = kSqliteDeployment;
  return o;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// PUTs a route with `plugins` (JSON object text) in front of `up`, and waits
// until the data plane serves it (anything but the 404 of "no route").
void put_route(const Torii& t, const std::string& id, const std::string& uri,
               const std::string& plugins, const Upstream& up, const std::string& probe) {
  const std::string body = R"js({"uri":")js" + uri + R"js(","plugins":)js" + plugins +
                           R"js(,"upstream":{"type":"roundrobin","nodes":{")js" + up.node() +
                           R"js(":1}}})js";
  auto put = t.admin("PUT", "/routes/" + id, body);
  ASSERT_TRUE(put.status == 200 || put.status == 201) << put.status << " " << put.body;
  // Every worker swaps to the new snapshot on its own: wait until several
  // requests in a row (spread over the workers) see the route.
  int in_a_row = 0;
  ASSERT_TRUE(wait_until([&] {
    auto r = http_get(t.url(probe));
    const bool served =
        r.error.empty() && (r.status != 404 || r.body.find("Route Not Found") == std::string::npos);
    in_a_row = served ? in_a_row + 1 : 0;
    return in_a_row >= 8;
  })) << "route "
      << id << " never served";
}

HttpResponse send(const Torii& t, const std::string& method, const std::string& path,
                  std::vector<std::string> headers = {}) {
  HttpRequest r;
  r.method = method;
  r.url = t.url(path);
  r.headers = std::move(headers);
  return http(r);
}

TEST(PluginTransform, proxy_rewrite_changes_what_the_upstream_gets) {
  Upstream up;
  Torii t(sqlite_options());
  put_route(t, "pr", "/pr/*", R"js({"proxy-rewrite":{
      "regex_uri":["^/pr/(\\w+)/(.*)","/echo/$2/$1"],
      "host":"rewritten.test",
      "method":"POST",
      "headers":{"add":{"X-Added":"k=$arg_k"},"set":{"X-User":"$1"},"remove":["X-Drop"]}}})js",
            up, "/pr/a/b");
  auto r = send(t, "GET", "/pr/ann/profile?k=v", {"X-Drop: 1"});
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  EXPECT_NE(r.body.find("method=POST\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("uri=/echo/profile/ann?k=v\n"), std::string::npos) << r.body;
  const std::string head = lower(r.body);
  EXPECT_NE(head.find("\nhost: rewritten.test\r\n"), std::string::npos) << r.body;
  EXPECT_NE(head.find("\nx-added: k=v\r\n"), std::string::npos) << r.body;
  EXPECT_NE(head.find("\nx-user: ann\r\n"), std::string::npos) << r.body;
  EXPECT_EQ(head.find("x-drop"), std::string::npos) << r.body;

  put_route(t, "pu", "/u", R"js({"proxy-rewrite":{"uri":"/echo/$arg_id/x y"}})js", up, "/u");
  r = send(t, "GET", "/u?id=7");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("uri=/echo/7/x%20y?id=7\n"), std::string::npos) << r.body;
}

// Values rendered from the request ($arg_x, $uri and regex captures are
// percent-decoded) may carry CR LF. They are written escaped (%0D%0A), so no
// client can add a header or a request to what the upstream gets, or a
// header or a response to what it receives (OpenResty escapes them for
// APISIX too).
TEST(PluginTransform, control_bytes_from_variables_never_split_a_head) {
  constexpr auto npos = std::string::npos;
  Upstream up;
  Torii t(sqlite_options());
  put_route(t, "crlf-h", "/echo/h/*",
            R"js({"proxy-rewrite":{"headers":{"set":{"X-Q":"$arg_q","X-Path":"$uri"}}}})js", up,
            "/echo/h/x");
  auto r = send(t, "GET", "/echo/h/x%0d%0aX-Path-Injected:%201?q=x%0d%0aX-Injected:%201");
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  std::string head = lower(r.body);
  EXPECT_EQ(head.find("\nx-injected:"), npos) << r.body;
  EXPECT_EQ(head.find("\nx-path-injected:"), npos) << r.body;
  EXPECT_NE(head.find("\nx-q: x%0d%0ax-injected: 1\r\n"), npos) << r.body;
  EXPECT_NE(head.find("\nx-path: /echo/h/x%0d%0ax-path-injected: 1\r\n"), npos) << r.body;

  // The upstream request line: a rewritten uri with a query from $arg_id.
  put_route(t, "crlf-u", "/u", R"js({"proxy-rewrite":{"uri":"/echo/new?id=$arg_id"}})js", up, "/u");
  r = send(t, "GET", "/u?id=1%0d%0aX-Smuggled:%201");
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  EXPECT_EQ(lower(r.body).find("\nx-smuggled:"), npos) << r.body;
  EXPECT_NE(r.body.find("uri=/echo/new?id=1%0D%0AX-Smuggled:%201"), npos) << r.body;

  // A redirect's Location, and a response-rewrite header.
  put_route(t, "crlf-r", "/login", R"js({"redirect":{"uri":"/home?next=$arg_next","ret_code":302}})js",
            up, "/login");
  std::string reply = raw_exchange(
      t.port(),
      "GET /login?next=%2Fx%0d%0aSet-Cookie:%20s=evil HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 302")) << reply;
  EXPECT_EQ(reply.find("\r\nSet-Cookie:"), npos) << reply;
  EXPECT_NE(reply.find("\r\nLocation: /home?next=/x%0D%0ASet-Cookie: s=evil\r\n"), npos) << reply;
  put_route(t, "crlf-rr", "/rr", R"js({"response-rewrite":{"headers":{"set":{"X-Echo":"$arg_e"}}}})js",
            up, "/rr");
  reply = raw_exchange(
      t.port(),
      "GET /rr?e=a%0d%0aSet-Cookie:%20s=evil HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 200")) << reply;
  EXPECT_EQ(reply.find("\r\nSet-Cookie:"), npos) << reply;
  EXPECT_NE(reply.find("\r\nX-Echo: a%0D%0ASet-Cookie: s=evil\r\n"), npos) << reply;
}

TEST(PluginTransform, response_rewrite_status_headers_body_and_filters) {
  Upstream up;
  Torii t(sqlite_options());
  put_route(t, "rr", "/status/*", R"js({"response-rewrite":{
      "vars":[["status","==",500]],
      "status_code":503,
      "body":"rewritten\n",
      "headers":{"set":{"X-RR":"$remote_addr"}}}})js",
            up, "/status/201");
  auto r = send(t, "GET", "/status/500");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "rewritten\n");
  EXPECT_EQ(r.headers["x-rr"], "127.0.0.1");
  EXPECT_EQ(r.headers["content-length"], "10");

  r = send(t, "GET", "/status/200");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "status 200");
  EXPECT_EQ(r.headers.count("x-rr"), 0u);

  put_route(t, "rf", "/bytes/*", R"js({"response-rewrite":{
      "filters":[{"regex":"x{3}","replace":"abc","scope":"global"}]}})js",
            up, "/bytes/1");
  r = send(t, "GET", "/bytes/7");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "abcabcx");

  put_route(t, "rc", "/chunked/*", R"js({"response-rewrite":{
      "filters":[{"regex":"y+","replace":"[$0]"},{"regex":"\\[y","replace":"<"}]}})js",
            up, "/chunked/1");
  r = send(t, "GET", "/chunked/2500");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "<" + std::string(2499, 'y') + "]");
}

TEST(PluginTransform, response_rewrite_filters_read_gzip_and_br_bodies) {
  // As APISIX 3.8+: the body is decoded, filtered and sent as plain text;
  // a coding Torii cannot decode passes through with its headers.
  Upstream up;
  Torii t(sqlite_options());
  put_route(t, "enc", "/encoded/*", R"js({"response-rewrite":{
      "filters":[{"regex":"hello","replace":"bye","scope":"global"}]}})js",
            up, "/encoded/gzip");
  for (const std::string coding : {"gzip", "br"}) {
    auto r = send(t, "GET", "/encoded/" + coding, {"Accept-Encoding: identity"});
    EXPECT_EQ(r.status, 200) << coding;
    EXPECT_EQ(r.body, "bye world, bye gateway\n") << coding;
    EXPECT_EQ(r.headers.count("content-encoding"), 0u) << coding;
    EXPECT_EQ(r.headers.count("etag"), 0u) << coding;
  }
  auto r = send(t, "GET", "/encoded/zstd", {"Accept-Encoding: identity"});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "raw:hello world, hello gateway\n");
  EXPECT_EQ(r.headers["content-encoding"], "zstd");
  EXPECT_EQ(r.headers["etag"], "\"v1\"");
  EXPECT_NE(t.error_log().find("filters not applied: Content-Encoding \"zstd\" cannot be decoded"),
            std::string::npos);

  // gzip members may end where a read ends: the next one goes on.
  r = send(t, "GET", "/encoded/gzip-members", {"Accept-Encoding: identity"});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "bye world, bye gateway\n");
  // Two Content-Encoding lines are one list of two codings: passed through.
  r = send(t, "GET", "/encoded/gzip-twice", {"Accept-Encoding: identity"});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-encoding"], "gzip");  // (the client's map keeps one line)
  EXPECT_EQ(r.body.substr(0, 2), "\x1f\x8b");
  // A HEAD has the header and no body: nothing to decode, nothing to log.
  r = send(t, "HEAD", "/encoded/gzip", {"Accept-Encoding: identity"});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(t.error_log().find("cannot be decoded ("), std::string::npos) << t.error_log();
}

TEST(PluginTransform, response_rewrite_also_rewrites_answers_of_other_plugins) {
  Upstream up;
  Torii t(sqlite_options());
  // fault-injection (11000) answers in rewrite; response-rewrite (899)
  // still runs its header_filter on that answer, as in APISIX.
  put_route(t, "fr", "/both", R"js({
      "fault-injection":{"abort":{"http_status":418,"body":"teapot\n"}},
      "response-rewrite":{"status_code":200,"headers":{"set":{"X-Rewritten":"yes"}}}})js",
            up, "/both");
  auto r = send(t, "GET", "/both");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "teapot\n");
  EXPECT_EQ(r.headers["x-rewritten"], "yes");

  // Its filters apply to those answers too: a plugin's message, and the
  // HTML page of a reply without a body of its own (no upstream: 502).
  put_route(t, "ff", "/filtered", R"js({
      "fault-injection":{"abort":{"http_status":403,"body":"fault body\n"}},
      "response-rewrite":{"filters":[{"regex":"fault","replace":"FILTERED"}]}})js",
            up, "/filtered");
  r = send(t, "GET", "/filtered");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body, "FILTERED body\n");
  EXPECT_EQ(r.headers["content-length"], "14");
  auto put = t.admin("PUT", "/routes/dead", R"js({"uri":"/dead","plugins":{
      "response-rewrite":{"filters":[{"regex":"<center>torii</center>","replace":"<center>gw</center>"}]}},
      "upstream":{"type":"roundrobin","nodes":{"127.0.0.1:1":1}}})js");
  ASSERT_TRUE(put.status == 200 || put.status == 201) << put.body;
  // Every worker swaps to the new snapshot on its own: wait until several
  // requests in a row (spread over the workers) see the route.
  int in_a_row = 0;
  ASSERT_TRUE(wait_until([&] {
    in_a_row = send(t, "GET", "/dead").status == 502 ? in_a_row + 1 : 0;
    return in_a_row >= 8;
  }));
  r = send(t, "GET", "/dead");
  EXPECT_NE(r.body.find("<center>gw</center>"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("torii"), std::string::npos) << r.body;
}

TEST(PluginTransform, redirect_answers_with_location_and_nginx_page) {
  Upstream up;
  Torii t(sqlite_options());
  put_route(t, "rd", "/old/*", R"js({"redirect":{
      "regex_uri":["^/old/(.*)","/new/$1"],"ret_code":301,"append_query_string":true}})js",
            up, "/old/x");
  auto r = send(t, "GET", "/old/page?x=1");
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(r.headers["location"], "/new/page?x=1");
  EXPECT_EQ(r.headers["content-type"], "text/html");
  EXPECT_NE(r.body.find("<head><title>301 Moved Permanently</title></head>"), std::string::npos)
      << r.body;

  put_route(t, "https", "/secure", R"js({"redirect":{"http_to_https":true}})js", up, "/secure");
  r = send(t, "GET", "/secure?a=1", {"Host: foo.com"});
  EXPECT_EQ(r.status, 301);
  // The port of apisix.ssl.listen (the harness's TLS port; 443 is left out).
  EXPECT_EQ(r.headers["location"],
            "https://foo.com:" + std::to_string(t.tls_port()) + "/secure?a=1");
  r = send(t, "POST", "/secure", {"Host: foo.com"});
  EXPECT_EQ(r.status, 308);
  r = send(t, "GET", "/secure", {"Host: foo.com", "X-Forwarded-Proto: https"});
  EXPECT_EQ(r.status, 200);  // already https: proxied
}

TEST(PluginTransform, fault_injection_aborts_and_delays) {
  Upstream up;
  Torii t(sqlite_options());
  put_route(t, "fa", "/fault", R"js({"fault-injection":{"abort":{
      "http_status":403,"body":"Fault for $arg_who\n","headers":{"X-Fault":"1"},
      "vars":[[["arg_who","!","==","nobody"]]]}}})js",
            up, "/fault?who=nobody");
  auto r = send(t, "GET", "/fault?who=me");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body, "Fault for me\n");
  EXPECT_EQ(r.headers["x-fault"], "1");
  EXPECT_EQ(r.headers["content-type"], "text/plain");
  r = send(t, "GET", "/fault?who=nobody");
  EXPECT_EQ(r.status, 200);

  put_route(t, "fd", "/slow", R"js({"fault-injection":{"delay":{"duration":0.3}}})js", up, "/slow");
  const auto start = Clock::now();
  r = send(t, "GET", "/slow");
  EXPECT_EQ(r.status, 200);
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(300));
}

TEST(PluginTransform, request_id_reaches_upstream_and_client) {
  Upstream up;
  Torii t(sqlite_options());
  put_route(t, "rid", "/echo", R"js({"request-id":{}})js", up, "/echo");
  auto r = send(t, "GET", "/echo");
  ASSERT_EQ(r.status, 200);
  const std::string id = r.headers["x-request-id"];
  EXPECT_TRUE(
      RE2::FullMatch(id, "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"))
      << id;
  EXPECT_NE(lower(r.body).find("\nx-request-id: " + id + "\r\n"), std::string::npos) << r.body;

  r = send(t, "GET", "/echo", {"X-Request-Id: client-id-1"});
  EXPECT_EQ(r.headers["x-request-id"], "client-id-1");
  EXPECT_NE(lower(r.body).find("\nx-request-id: client-id-1\r\n"), std::string::npos) << r.body;
}

TEST(PluginTransform, admin_api_refuses_invalid_confs_with_apisix_messages) {
  Upstream up;
  Torii t(sqlite_options());
  struct Case {
    const char* plugins;
    const char* error_msg;
  };
  const Case cases[] = {
      {R"js({"proxy-rewrite":{"uri":"relative"}})js",
       R"js(failed to check the configuration of plugin proxy-rewrite err: property "uri" validation failed: failed to match pattern "^\\/.*" with "relative")js"},
      {R"js({"response-rewrite":{"status_code":700}})js",
       R"js(failed to check the configuration of plugin response-rewrite err: property "status_code" validation failed: expected 700 to be at most 598)js"},
      {R"js({"redirect":{}})js",
       R"js(failed to check the configuration of plugin redirect err: value should match only one schema, but matches none)js"},
      {R"js({"fault-injection":{"abort":{"http_status":100}}})js",
       R"js(failed to check the configuration of plugin fault-injection err: property "abort" validation failed: property "http_status" validation failed: expected 100 to be at least 200)js"},
      {R"js({"request-id":{"algorithm":"snowflake"}})js",
       R"js(failed to check the configuration of plugin request-id err: property "algorithm" validation failed: matches none of the enum values)js"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.plugins);
    const std::string body = R"js({"uri":"/bad","plugins":)js" + std::string(c.plugins) +
                             R"js(,"upstream":{"type":"roundrobin","nodes":{")js" + up.node() +
                             R"js(":1}}})js";
    auto r = t.admin("PUT", "/routes/bad", body);
    EXPECT_EQ(r.status, 400);
    boost::json::error_code ec;
    auto v = boost::json::parse(r.body, ec);
    ASSERT_FALSE(ec) << r.body;
    ASSERT_TRUE(v.is_object() && v.as_object().contains("error_msg")) << r.body;
    EXPECT_EQ(v.as_object()["error_msg"].as_string(), c.error_msg);
  }
}

}  // namespace
}  // namespace torii::testing
