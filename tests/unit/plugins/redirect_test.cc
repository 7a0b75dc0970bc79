// redirect: the status, Location and body a request gets for a conf, when
// the request goes on instead, and the conf errors APISIX gives.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "fake_plugin_context.h"
#include "http/local_reply.h"
#include "plugins/plugin_registry.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;
using testing::FakePluginContext;

std::shared_ptr<const Plugin> make(std::string_view conf) {
  const PluginInfo* info = find_plugin("redirect");
  EXPECT_NE(info, nullptr);
  if (!info) return nullptr;
  EXPECT_TRUE(check_plugin_conf("redirect", json::parse(conf), SchemaType::kRoute).ok()) << conf;
  auto p = info->create(json::parse(conf).as_object(), PluginScope{});
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? *p : nullptr;
}

FakePluginContext request(std::string method, std::string uri, std::string request_uri) {
  FakePluginContext ctx;
  ctx.method_token_ = std::move(method);
  ctx.uri_ = std::move(uri);
  ctx.request_uri_ = std::move(request_uri);
  auto q = ctx.request_uri_.find('?');
  ctx.query_ = q == std::string::npos ? "" : ctx.request_uri_.substr(q + 1);
  ctx.host_ = "foo.com";
  ctx.vars = {{"uri", ctx.uri_}, {"request_uri", ctx.request_uri_}, {"host", "foo.com"}};
  return ctx;
}

struct Case {
  const char* name;
  const char* conf;
  const char* method;
  const char* uri;
  const char* request_uri;
  std::map<std::string, std::string> headers;
  std::string scheme;
  int status;  // 0: the request goes on
  const char* location;
};

TEST(RedirectTest, cases) {
  const Case cases[] = {
      {"plain uri, default 302",
       R"js({"uri":"/test/default"})js",
       "GET",
       "/a",
       "/a?x=1",
       {},
       "http",
       302,
       "/test/default"},
      {"ret_code", R"js({"uri":"/b","ret_code":301})js", "GET", "/a", "/a", {}, "http", 301, "/b"},
      {"variables",
       R"js({"uri":"http://$host${uri}/x?k=$arg_k"})js",
       "GET",
       "/a",
       "/a?k=v",
       {},
       "http",
       302,
       "http://foo.com/a/x?k=v"},
      {"unknown variable is empty",
       R"js({"uri":"/p/$nope/q"})js",
       "GET",
       "/a",
       "/a",
       {},
       "http",
       302,
       "/p//q"},
      {"escaped dollar stays",
       R"js({"uri":"/p/\\$host"})js",
       "GET",
       "/a",
       "/a",
       {},
       "http",
       302,
       "/p/\\$host"},
      {"append_query_string",
       R"js({"uri":"/b","append_query_string":true})js",
       "GET",
       "/a",
       "/a?x=1&y=2",
       {},
       "http",
       302,
       "/b?x=1&y=2"},
      {"append_query_string after a query",
       R"js({"uri":"/b?z=0","append_query_string":true})js",
       "GET",
       "/a",
       "/a?x=1",
       {},
       "http",
       302,
       "/b?z=0&x=1"},
      {"append_query_string without a query",
       R"js({"uri":"/b","append_query_string":true})js",
       "GET",
       "/a",
       "/a",
       {},
       "http",
       302,
       "/b"},
      {"encode_uri escapes the path only",
       R"js({"uri":"/a b$uri?q= 1","encode_uri":true})js",
       "GET",
       "/c d",
       "/c%20d",
       {},
       "http",
       302,
       "/a%20b/c%20d?q= 1"},
      {"regex_uri",
       R"js({"regex_uri":["^/api/(.*)","/v2/$1"]})js",
       "GET",
       "/api/users",
       "/api/users",
       {},
       "http",
       302,
       "/v2/users"},
      {"regex_uri without a match goes on",
       R"js({"regex_uri":["^/api/(.*)","/v2/$1"]})js",
       "GET",
       "/other",
       "/other",
       {},
       "http",
       0,
       nullptr},
      {"http_to_https GET",
       R"js({"http_to_https":true})js",
       "GET",
       "/a",
       "/a?x=1",
       {},
       "http",
       301,
       "https://foo.com/a?x=1"},
      {"http_to_https HEAD",
       R"js({"http_to_https":true,"ret_code":302})js",
       "HEAD",
       "/a",
       "/a",
       {},
       "http",
       301,
       "https://foo.com/a"},
      {"http_to_https POST is 308",
       R"js({"http_to_https":true})js",
       "POST",
       "/a",
       "/a",
       {},
       "http",
       308,
       "https://foo.com/a"},
      {"http_to_https on https goes on",
       R"js({"http_to_https":true})js",
       "GET",
       "/a",
       "/a",
       {},
       "https",
       0,
       nullptr},
      {"http_to_https trusts X-Forwarded-Proto",
       R"js({"http_to_https":true})js",
       "GET",
       "/a",
       "/a",
       {{"X-Forwarded-Proto", "https"}},
       "http",
       0,
       nullptr},
      {"http_to_https behind a TLS proxy saying http",
       R"js({"http_to_https":true})js",
       "GET",
       "/a",
       "/a",
       {{"X-Forwarded-Proto", "http"}},
       "https",
       301,
       "https://foo.com/a"},
      {"http_to_https false does nothing",
       R"js({"http_to_https":false})js",
       "GET",
       "/a",
       "/a",
       {},
       "http",
       0,
       nullptr},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto p = make(c.conf);
    ASSERT_NE(p, nullptr);
    auto ctx = request(c.method, c.uri, c.request_uri);
    ctx.scheme_ = c.scheme;
    for (const auto& [k, v] : c.headers) ctx.request_headers_.emplace_back(k, v);
    for (const auto& [k, v] : std::map<std::string, std::string>{{"arg_k", "v"}}) ctx.vars[k] = v;
    auto step = p->rewrite(ctx);
    if (c.status == 0) {
      EXPECT_FALSE(step.has_value());
      continue;
    }
    ASSERT_TRUE(step.has_value());
    EXPECT_EQ(step->status, c.status);
    ASSERT_EQ(step->headers.size(), 1u);
    EXPECT_EQ(step->headers[0].first, "Location");
    EXPECT_EQ(step->headers[0].second, c.location);
    EXPECT_EQ(step->body, http::html_error_page(c.status));
    EXPECT_EQ(step->content_type, "text/html");
  }
}

TEST(RedirectTest, codes_without_an_nginx_page_have_an_empty_body) {
  auto p = make(R"js({"uri":"/b","ret_code":200})js");
  auto ctx = request("GET", "/a", "/a");
  auto step = p->rewrite(ctx);
  ASSERT_TRUE(step.has_value());
  EXPECT_EQ(step->status, 200);
  EXPECT_EQ(step->body, "");
}

struct ErrorCase {
  const char* conf;
  const char* message;
};

TEST(RedirectTest, errors_read_like_apisix) {
  const ErrorCase schema_cases[] = {
      {R"js({})js", "value should match only one schema, but matches none"},
      {R"js({"uri":"/a","http_to_https":true})js",
       "value should match only one schema, but matches both schemas 1 and 3"},
      {R"js({"uri":"/"})js",
       "property \"uri\" validation failed: string too short, expected at least 2, got 1"},
      {R"js({"uri":"/a","ret_code":100})js",
       "property \"ret_code\" validation failed: expected 100 to be at least 200"},
      {R"js({"regex_uri":["a"]})js",
       "property \"regex_uri\" validation failed: expect array to have at least 2 items"},
  };
  for (const auto& c : schema_cases) {
    SCOPED_TRACE(c.conf);
    auto st = check_plugin_conf("redirect", json::parse(c.conf), SchemaType::kRoute);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(
        st.error().message,
        std::string("failed to check the configuration of plugin redirect err: ") + c.message);
  }
  const ErrorCase build_cases[] = {
      {R"js({"http_to_https":true,"append_query_string":true})js",
       "only one of `http_to_https` and `append_query_string` can be configured."},
      {R"js({"regex_uri":["(","/x"]})js",
       "invalid regex_uri ((, /x), err:RE2 cannot compile the pattern: missing ): ("},
      {R"js({"regex_uri":["a","/$x"]})js",
       "invalid regex_uri (a, /$x), err:failed to compile the replacement template"},
  };
  for (const auto& c : build_cases) {
    SCOPED_TRACE(c.conf);
    const auto conf = json::parse(c.conf);
    ASSERT_TRUE(check_plugin_conf("redirect", conf, SchemaType::kRoute).ok());
    auto p = find_plugin("redirect")->create(conf.as_object(), PluginScope{});
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().message, c.message);
  }
}

TEST(RedirectTest, registration) {
  const PluginInfo* info = find_plugin("redirect");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->priority, 900);
  EXPECT_EQ(make(R"js({"uri":"/x"})js")->phases(), Plugin::bit(Phase::kRewrite));
}

}  // namespace
}  // namespace torii::plugins
