// proxy-rewrite: what is sent upstream (request-target, query string, Host,
// method, headers) for a conf and a request, and the conf errors APISIX
// gives, word for word.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "fake_plugin_context.h"
#include "plugins/plugin_registry.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;
using testing::FakePluginContext;

std::shared_ptr<const Plugin> make(std::string_view conf) {
  const PluginInfo* info = find_plugin("proxy-rewrite");
  EXPECT_NE(info, nullptr);
  if (!info) return nullptr;
  EXPECT_TRUE(check_plugin_conf("proxy-rewrite", json::parse(conf), SchemaType::kRoute).ok())
      << conf;
  auto p = info->create(json::parse(conf).as_object(), PluginScope{});
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? *p : nullptr;
}

// The request: decoded path, raw request-target, raw query.
FakePluginContext request(std::string uri, std::string request_uri) {
  FakePluginContext ctx;
  ctx.uri_ = std::move(uri);
  ctx.request_uri_ = std::move(request_uri);
  auto q = ctx.request_uri_.find('?');
  ctx.query_ = q == std::string::npos ? "" : ctx.request_uri_.substr(q + 1);
  ctx.vars["uri"] = ctx.uri_;
  return ctx;
}

struct UriCase {
  const char* name;
  const char* conf;
  const char* uri;          // decoded $uri
  const char* request_uri;  // raw target
  std::map<std::string, std::string> vars;
  const char* upstream_uri;
};

TEST(ProxyRewriteTest, upstream_uri_cases) {
  const UriCase cases[] = {
      {"uri replaces the path", R"js({"uri":"/new"})js", "/old", "/old", {}, "/new"},
      {"query string is appended",
       R"js({"uri":"/new"})js",
       "/old",
       "/old?a=1&b=2",
       {},
       "/new?a=1&b=2"},
      {"an empty query keeps its '?'", R"js({"uri":"/new"})js", "/old", "/old?", {}, "/new?"},
      {"a uri with its own query gets '&'",
       R"js({"uri":"/new?x=1"})js",
       "/old",
       "/old?a=1",
       {},
       "/new?x=1&a=1"},
      {"variables resolve",
       R"js({"uri":"/u/$arg_name/${http_x_id}"})js",
       "/old",
       "/old?name=jack",
       {{"arg_name", "jack"}, {"http_x_id", "7"}},
       "/u/jack/7?name=jack"},
      {"a '?' inside a variable is escaped",
       R"js({"uri":"/u/$arg_q"})js",
       "/old",
       "/old",
       {{"arg_q", "a?b"}},
       "/u/a%253Fb"},
      {"unknown variables are empty", R"js({"uri":"/u/$nope/x"})js", "/old", "/old", {}, "/u//x"},
      {"the path is escaped", R"js({"uri":"/a b"})js", "/old", "/old", {}, "/a%20b"},
      {"no uri: the decoded path is re-escaped",
       R"js({"host":"a.com"})js",
       "/a b",
       "/a%20b?x=1",
       {},
       "/a%20b?x=1"},
      {"regex_uri with captures",
       R"js({"regex_uri":["^/test/(.*)/(.*)/(.*)","/$1_$2_$3"]})js",
       "/test/plugin/proxy/rewrite",
       "/test/plugin/proxy/rewrite?x=1",
       {},
       "/plugin_proxy_rewrite?x=1"},
      {"regex_uri first matching pair wins",
       R"js({"regex_uri":["^/a/(.*)","/A/$1","^/b/(.*)","/B/$1"]})js",
       "/b/c",
       "/b/c",
       {},
       "/B/c"},
      {"regex_uri without a match keeps the uri",
       R"js({"regex_uri":["^/zzz","/y"]})js",
       "/keep",
       "/keep?k=v",
       {},
       "/keep?k=v"},
      {"regex_uri only replaces the first match",
       R"js({"regex_uri":["o","0"]})js",
       "/foo/boo",
       "/foo/boo",
       {},
       "/f0o/boo"},
      {"regex_uri may introduce a query",
       R"js({"regex_uri":["^/x/(.*)","/y?id=$1"]})js",
       "/x/5",
       "/x/5?a=1",
       {},
       "/y?id=5&a=1"},
      {"regex_uri on a path with an encoded '?' escapes it",
       R"js({"regex_uri":["^/x(.*)","/y$1"]})js",
       "/x?z",
       "/x%3Fz",
       {},
       "/y%3Fz"},
      {"uri wins over regex_uri",
       R"js({"uri":"/u","regex_uri":["^/(.*)","/r/$1"]})js",
       "/p",
       "/p",
       {},
       "/u"},
      {"use_real_request_uri_unsafe sends the raw target",
       R"js({"use_real_request_uri_unsafe":true})js",
       "/a/b",
       "/a/../a/%2Fb?x=1",
       {},
       "/a/../a/%2Fb?x=1"},
      {"use_real_request_uri_unsafe with regex_uri",
       R"js({"use_real_request_uri_unsafe":true,"regex_uri":["^/a/(.*)","/z/$1"]})js",
       "/a/b",
       "/a/%2Fb?x=1",
       {},
       "/z/%2Fb?x=1"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto p = make(c.conf);
    ASSERT_NE(p, nullptr);
    auto ctx = request(c.uri, c.request_uri);
    for (const auto& [k, v] : c.vars) ctx.vars[k] = v;
    EXPECT_FALSE(p->rewrite(ctx).has_value());
    ASSERT_TRUE(ctx.upstream_uri.has_value());
    EXPECT_EQ(*ctx.upstream_uri, c.upstream_uri);
  }
}

TEST(ProxyRewriteTest, host_and_method) {
  auto p = make(R"js({"host":"api.example.com:8080","method":"POST"})js");
  auto ctx = request("/", "/");
  p->rewrite(ctx);
  EXPECT_EQ(ctx.upstream_host, "api.example.com:8080");
  EXPECT_EQ(ctx.upstream_method, "POST");
}

TEST(ProxyRewriteTest, headers_add_then_set_then_remove) {
  auto p = make(R"js({"headers":{
      "add":{"X-Add":"a-$arg_k","X-Num":12},
      "set":{"X-Set":"s","X-Empty":""},
      "remove":["X-Gone"]}})js");
  auto ctx = request("/", "/?k=v");
  ctx.vars["arg_k"] = "v";
  p->rewrite(ctx);
  using H = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(ctx.added_request_headers, (H{{"X-Add", "a-v"}, {"X-Num", "12"}}));
  EXPECT_EQ(ctx.set_request_headers, (H{{"X-Set", "s"}}));
  EXPECT_EQ(ctx.removed_request_headers, (std::vector<std::string>{"X-Empty", "X-Gone"}));
}

TEST(ProxyRewriteTest, legacy_flat_headers_set) {
  auto p = make(R"js({"headers":{"X-Api-Version":"v2","X-Count":1.5,"X-Host":"$host"}})js");
  auto ctx = request("/", "/");
  ctx.vars["host"] = "h.test";
  p->rewrite(ctx);
  using H = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(ctx.set_request_headers,
            (H{{"X-Api-Version", "v2"}, {"X-Count", "1.5"}, {"X-Host", "h.test"}}));
}

TEST(ProxyRewriteTest, header_values_use_regex_uri_captures) {
  auto p = make(R"js({"regex_uri":["^/user/(\\w+)/(\\d+)","/u"],
                    "headers":{"set":{"X-User":"$1","X-Id":"${2}","X-None":"[$3]"}}})js");
  auto ctx = request("/user/ann/42", "/user/ann/42");
  p->rewrite(ctx);
  using H = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(ctx.set_request_headers, (H{{"X-User", "ann"}, {"X-Id", "42"}, {"X-None", "[]"}}));
  EXPECT_EQ(ctx.upstream_uri, "/u");

  // No regex match: captures are empty.
  auto miss = request("/other", "/other");
  p->rewrite(miss);
  EXPECT_EQ(miss.removed_request_headers, (std::vector<std::string>{"X-User", "X-Id"}));
  EXPECT_EQ(miss.set_request_headers, (H{{"X-None", "[]"}}));
}

struct ErrorCase {
  const char* conf;
  const char* message;
};

TEST(ProxyRewriteTest, schema_errors_read_like_apisix) {
  const ErrorCase cases[] = {
      {R"js({"uri":"x"})js",
       "property \"uri\" validation failed: failed to match pattern \"^\\\\/.*\" with \"x\""},
      {R"js({"method":"FOO"})js",
       "property \"method\" validation failed: matches none of the enum values"},
      {R"js({"regex_uri":["^/a"]})js",
       "property \"regex_uri\" validation failed: expect array to have at least 2 items"},
      {R"js({"host":"a b"})js",
       "property \"host\" validation failed: failed to match pattern "
       "\"^[0-9a-zA-Z-.]+(:\\\\d{1,5})?$\" with \"a b\""},
      {R"js({"use_real_request_uri_unsafe":"yes"})js",
       "property \"use_real_request_uri_unsafe\" validation failed: wrong type: expected boolean, "
       "got string"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.conf);
    auto st = check_plugin_conf("proxy-rewrite", json::parse(c.conf), SchemaType::kRoute);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(
        st.error().message,
        std::string("failed to check the configuration of plugin proxy-rewrite err: ") + c.message);
  }
}

TEST(ProxyRewriteTest, an_empty_conf_passes_because_of_the_default) {
  // The Lua jsonschema fills use_real_request_uri_unsafe's default before
  // minProperties looks: APISIX accepts {} too.
  EXPECT_TRUE(check_plugin_conf("proxy-rewrite", json::parse("{}"), SchemaType::kRoute).ok());
  auto p = make("{}");
  auto ctx = request("/a b", "/a%20b?x=1");
  p->rewrite(ctx);
  EXPECT_EQ(ctx.upstream_uri, "/a%20b?x=1");
}

TEST(ProxyRewriteTest, build_errors_read_like_apisix) {
  const ErrorCase cases[] = {
      {R"js({"regex_uri":["^/a","/b","^/c"]})js",
       "The length of regex_uri should be an even number"},
      {R"js({"regex_uri":["^/(a","/b"]})js",
       "invalid regex_uri(^/(a, /b): RE2 cannot compile the pattern: missing ): ^/(a"},
      {R"js({"regex_uri":["^/a","/b$x"]})js",
       "invalid regex_uri(^/a, /b$x): failed to compile the replacement template"},
      {R"js({"headers":{"X Bad":"v"}})js", "invalid field character in header"},
      {R"js({"headers":{"X-A":"a\u0001"}})js", "invalid value character in header"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.conf);
    const auto conf = json::parse(c.conf);
    ASSERT_TRUE(check_plugin_conf("proxy-rewrite", conf, SchemaType::kRoute).ok());
    auto p = find_plugin("proxy-rewrite")->create(conf.as_object(), PluginScope{});
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().message, c.message);
  }
}

TEST(ProxyRewriteTest, registration) {
  const PluginInfo* info = find_plugin("proxy-rewrite");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->priority, 1008);
  EXPECT_EQ(make(R"js({"uri":"/x"})js")->phases(), Plugin::bit(Phase::kRewrite));
}

}  // namespace
}  // namespace torii::plugins
