// response-rewrite: status, headers, fixed bodies and body filters for a
// conf and a response, `vars` gating, the body size limit, and the conf
// errors APISIX gives.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "fake_plugin_context.h"
#include "plugins/plugin_registry.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;
using testing::FakePluginContext;
using H = std::vector<std::pair<std::string, std::string>>;

std::shared_ptr<const Plugin> make(std::string_view conf) {
  const PluginInfo* info = find_plugin("response-rewrite");
  EXPECT_NE(info, nullptr);
  if (!info) return nullptr;
  EXPECT_TRUE(check_plugin_conf("response-rewrite", json::parse(conf), SchemaType::kRoute).ok())
      << conf;
  auto p = info->create(json::parse(conf).as_object(), PluginScope{});
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? *p : nullptr;
}

FakePluginContext upstream_response(int status, H headers) {
  FakePluginContext ctx;
  ctx.response_status_ = status;
  ctx.vars["status"] = std::to_string(status);
  ctx.response_headers = std::move(headers);
  return ctx;
}

// Runs the body through body_filter in the given chunks; returns what the
// client would get.
std::string filter_body(const Plugin& p, FakePluginContext& ctx, std::vector<std::string> chunks) {
  std::string out;
  for (size_t i = 0; i < chunks.size(); ++i) {
    p.body_filter(ctx, chunks[i], i + 1 == chunks.size());
    out += chunks[i];
  }
  return out;
}

TEST(ResponseRewriteTest, status_and_fixed_body) {
  auto p = make(R"js({"status_code":403,"body":"{\"code\":\"ok\"}\n"})js");
  auto ctx = upstream_response(
      200,
      {{"Content-Length", "5"}, {"ETag", "\"x\""}, {"Content-Encoding", "gzip"}, {"X-Keep", "1"}});
  p->header_filter(ctx);
  EXPECT_EQ(ctx.response_status_, 403);
  EXPECT_EQ(ctx.replaced_body, "{\"code\":\"ok\"}\n");
  EXPECT_EQ(ctx.response_headers, (H{{"X-Keep", "1"}}));
  EXPECT_EQ(p->phases(), Plugin::bit(Phase::kHeaderFilter));
}

TEST(ResponseRewriteTest, base64_body_is_decoded_once) {
  auto p = make(R"js({"body":"SGVsbG8gV29ybGQ=","body_base64":true})js");
  auto ctx = upstream_response(200, {});
  p->header_filter(ctx);
  EXPECT_EQ(ctx.replaced_body, "Hello World");
  auto unpadded = make(R"js({"body":"SGVsbG8","body_base64":true})js");
  unpadded->header_filter(ctx);
  EXPECT_EQ(ctx.replaced_body, "Hello");
}

TEST(ResponseRewriteTest, headers_add_set_remove_with_variables) {
  auto p = make(R"js({"headers":{
      "add":["X-Server-Id: 3", "X-Client:$remote_addr"],
      "set":{"X-Server-Status":"on","X-Route":"$route_id","Content-Type":""},
      "remove":["X-To-Remove"]}})js");
  auto ctx = upstream_response(
      200, {{"X-Server-Id", "1"}, {"X-To-Remove", "x"}, {"Content-Type", "text/plain"}});
  ctx.vars["remote_addr"] = "10.0.0.1";
  ctx.vars["route_id"] = "r1";
  p->header_filter(ctx);
  EXPECT_EQ(ctx.response_headers, (H{{"X-Server-Id", "1"},
                                     {"X-Server-Id", "3"},
                                     {"X-Client", "10.0.0.1"},
                                     {"X-Server-Status", "on"},
                                     {"X-Route", "r1"}}));
}

TEST(ResponseRewriteTest, legacy_flat_headers_set) {
  auto p = make(R"js({"headers":{"X-A":"1","X-B":2}})js");
  auto ctx = upstream_response(200, {{"X-A", "0"}});
  p->header_filter(ctx);
  EXPECT_EQ(ctx.response_headers, (H{{"X-A", "1"}, {"X-B", "2"}}));
}

TEST(ResponseRewriteTest, vars_gate_everything) {
  auto p = make(R"js({"vars":[["status","==",500]],"status_code":503,"body":"down",
                    "headers":{"set":{"X-Hit":"1"}}})js");
  auto ok = upstream_response(200, {});
  p->header_filter(ok);
  EXPECT_EQ(ok.response_status_, 200);
  EXPECT_FALSE(ok.replaced_body.has_value());
  EXPECT_TRUE(ok.response_headers.empty());

  auto failed = upstream_response(500, {});
  p->header_filter(failed);
  EXPECT_EQ(failed.response_status_, 503);
  EXPECT_EQ(failed.replaced_body, "down");
  EXPECT_EQ(failed.response_headers, (H{{"X-Hit", "1"}}));
}

struct FilterCase {
  const char* name;
  const char* conf;
  std::vector<std::string> chunks;
  const char* body;
};

TEST(ResponseRewriteTest, body_filters) {
  const FilterCase cases[] = {
      {"once by default",
       R"js({"filters":[{"regex":"hello","replace":"bye"}]})js",
       {"hello hello"},
       "bye hello"},
      {"global",
       R"js({"filters":[{"regex":"hello","replace":"bye","scope":"global"}]})js",
       {"hello hel", "lo"},
       "bye bye"},
      {"captures",
       R"js({"filters":[{"regex":"(\\w+)@(\\w+)","replace":"$2 at $1"}]})js",
       {"mail: ann@host"},
       "mail: host at ann"},
      {"case-insensitive option",
       R"js({"filters":[{"regex":"HELLO","replace":"x","options":"ijo","scope":"global"}]})js",
       {"Hello hello"},
       "x x"},
      {"filters run in order",
       R"js({"filters":[{"regex":"a","replace":"b","scope":"global"},{"regex":"b","replace":"c","scope":"global"}]})js",
       {"aab"},
       "ccc"},
      {"no match keeps the body",
       R"js({"filters":[{"regex":"zzz","replace":"y"}]})js",
       {"abc", "def"},
       "abcdef"},
      {"over max_resp_body_size the body is truncated",
       R"js({"max_resp_body_size":4,"filters":[{"regex":"a","replace":"b","scope":"global"}]})js",
       {"aaa", "aaa"},
       "bbbb"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto p = make(c.conf);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->phases(), Plugin::bit(Phase::kHeaderFilter) | Plugin::bit(Phase::kBodyFilter));
    auto ctx = upstream_response(200, {{"Content-Length", "11"}, {"Last-Modified", "x"}});
    p->header_filter(ctx);
    EXPECT_TRUE(ctx.response_headers.empty());
    EXPECT_EQ(filter_body(*p, ctx, c.chunks), c.body);
  }
}

TEST(ResponseRewriteTest, filters_skip_unmatched_responses) {
  auto p = make(R"js({"vars":[["status","==",200]],"filters":[{"regex":"a","replace":"b"}]})js");
  auto ctx = upstream_response(404, {{"Content-Length", "3"}});
  p->header_filter(ctx);
  EXPECT_EQ(ctx.response_headers, (H{{"Content-Length", "3"}}));
  EXPECT_EQ(filter_body(*p, ctx, {"a", "aa"}), "aaa");
}

struct ErrorCase {
  const char* conf;
  const char* message;
};

TEST(ResponseRewriteTest, schema_errors_read_like_apisix) {
  const ErrorCase cases[] = {
      {R"js({"status_code":100})js",
       "property \"status_code\" validation failed: expected 100 to be at least 200"},
      {R"js({"status_code":599})js",
       "property \"status_code\" validation failed: expected 599 to be at most 598"},
      {R"js({"body":"a","filters":[{"regex":"a","replace":"b"}]})js",
       "failed to validate dependent schema for \"body\": value wasn't supposed to match schema"},
      {R"js({"filters":[{"regex":"a"}]})js",
       "property \"filters\" validation failed: failed to validate item 1: property \"replace\" is "
       "required"},
      {R"js({"filters":[{"regex":"a","replace":"b","scope":"all"}]})js",
       "property \"filters\" validation failed: failed to validate item 1: property \"scope\" "
       "validation failed: matches none of the enum values"},
      {R"js({"filters":[]})js",
       "property \"filters\" validation failed: expect array to have at least 1 items"},
      {R"js({"body_base64":"yes"})js",
       "property \"body_base64\" validation failed: wrong type: expected boolean, got string"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.conf);
    auto st = check_plugin_conf("response-rewrite", json::parse(c.conf), SchemaType::kRoute);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().message,
              std::string("failed to check the configuration of plugin response-rewrite err: ") +
                  c.message);
  }
}

TEST(ResponseRewriteTest, build_errors_read_like_apisix) {
  const ErrorCase cases[] = {
      {R"js({"body_base64":true})js", "invalid base64 content"},
      {R"js({"body":"","body_base64":true})js", "invalid base64 content"},
      {R"js({"body":"not base64!","body_base64":true})js", "invalid base64 content"},
      {R"js({"vars":[["status","=~",200]]})js",
       "failed to validate the 'vars' expression: invalid operator '=~'"},
      {R"js({"filters":[{"regex":"(","replace":"b"}]})js",
       "regex \"(\" validation failed: RE2 cannot compile the pattern: missing ): ("},
      {R"js({"filters":[{"regex":"a","replace":"b","options":"jq"}]})js",
       "regex \"a\" validation failed: unknown flag \"q\" (flags \"jq\")"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.conf);
    const auto conf = json::parse(c.conf);
    ASSERT_TRUE(check_plugin_conf("response-rewrite", conf, SchemaType::kRoute).ok());
    auto p = find_plugin("response-rewrite")->create(conf.as_object(), PluginScope{});
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().message, c.message);
  }
}

TEST(ResponseRewriteTest, registration) {
  const PluginInfo* info = find_plugin("response-rewrite");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->priority, 899);
}

}  // namespace
}  // namespace torii::plugins
