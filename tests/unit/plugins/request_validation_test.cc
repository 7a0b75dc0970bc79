// request-validation: header and body checks against the conf's schemas,
// JSON bodies decoded with cjson's rules and messages, form bodies decoded
// as ngx.decode_args, rejected_code / rejected_msg, body read errors, and
// the conf errors. Cases follow t/plugin/request-validation.t.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <string>

#include "fake_plugin_context.h"
#include "plugins/plugin_registry.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;
using testing::FakePluginContext;

const PluginInfo& info() {
  const PluginInfo* p = find_plugin("request-validation");
  EXPECT_NE(p, nullptr);
  return *p;
}

std::shared_ptr<const Plugin> make(std::string_view conf) {
  auto parsed = json::parse(conf);
  auto st = check_plugin_conf("request-validation", parsed, SchemaType::kRoute);
  EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message);
  auto p = info().create(parsed.as_object(), PluginScope{});
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? *p : nullptr;
}

// The Admin API's check: the schema, then the plugin's own (create).
std::string check(std::string_view conf) {
  auto st = check_plugin_conf("request-validation", json::parse(conf), SchemaType::kRoute);
  if (!st) return st.error().message;
  auto made = info().create(json::parse(conf).as_object(), PluginScope{});
  return made ? "" : made.error().message;
}

// Runs rewrite the way the runtime does: the async variant on a loop when
// the plugin asks for it.
Step run(const Plugin& p, FakePluginContext& ctx) {
  if (!p.is_async(Phase::kRewrite)) return p.rewrite(ctx);
  boost::asio::io_context io;
  Step out;
  boost::asio::co_spawn(io.get_executor(), p.rewrite_async(ctx), [&](std::exception_ptr e, Step s) {
    ASSERT_FALSE(e);
    out = std::move(s);
  });
  io.run();
  return out;
}

constexpr std::string_view kBodyConf = R"({"body_schema": {
    "type": "object", "required": ["required_payload"],
    "properties": {"required_payload": {"type": "string"}, "boolean_payload": {"type": "boolean"},
                   "timeouts": {"type": "integer", "minimum": 1, "maximum": 254}}}})";

struct Case {
  const char* name;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  int status;  // 0: continue
  std::string reply = "";
};

void run_cases(std::string_view conf, const std::vector<Case>& cases) {
  auto p = make(conf);
  ASSERT_TRUE(p);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    FakePluginContext ctx;
    ctx.body_ = c.body;
    ctx.request_headers_ = c.headers;
    Step s = run(*p, ctx);
    if (c.status == 0) {
      EXPECT_FALSE(s.has_value()) << s->body;
      continue;
    }
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->status, c.status);
    EXPECT_EQ(s->body, c.reply);
    EXPECT_EQ(s->content_type, "");  // text/plain, as APISIX's default_type
  }
}

TEST(PluginRequestValidationTest, registration_matches_apisix) {
  EXPECT_EQ(info().priority, 2800);
  auto headers_only = make(R"({"header_schema": {"type": "object"}})");
  ASSERT_TRUE(headers_only);
  EXPECT_EQ(headers_only->phases(), Plugin::bit(Phase::kRewrite));
  EXPECT_FALSE(headers_only->is_async(Phase::kRewrite)) << "no body to wait for";
  auto body = make(R"({"body_schema": {}})");
  ASSERT_TRUE(body);
  EXPECT_TRUE(body->is_async(Phase::kRewrite));
}

TEST(PluginRequestValidationTest, json_bodies) {
  run_cases(kBodyConf,
            {
                {"valid", R"({"required_payload": "hello", "boolean_payload": true})", {}, 0},
                {"required missing", R"({"boolean-payload": true})", {}, 400,
                 "property \"required_payload\" is required"},
                {"wrong type", R"({"required_payload": 1})", {}, 400,
                 "property \"required_payload\" validation failed: wrong type: expected string, "
                 "got number"},
                {"integer as a whole double", R"({"required_payload": "a", "timeouts": 3.0})", {}, 0},
                {"over maximum", R"({"required_payload": "a", "timeouts": 300})", {}, 400,
                 "property \"timeouts\" validation failed: expected 300 to be at most 254"},
                // cjson takes what strtod takes: hex, a leading '+', leading zeros.
                {"hex number", R"({"required_payload": "a", "timeouts": 0x10})", {}, 0},
                {"plus and leading zero", R"({"required_payload": "a", "timeouts": +010})", {}, 0},
                // The JSON is the whole text up to a NUL, as cjson reads a C string.
                {"NUL ends the text", std::string(R"({"required_payload": "a"})") + '\0' + "junk",
                 {}, 0},
                {"duplicate key: the last wins", R"({"required_payload": 1, "required_payload": "x"})",
                 {}, 0},
                // Content-Type does not matter unless it is a form.
                {"json with any type", R"({"required_payload": "a"})", {{"Content-Type", "text/plain"}},
                 0},
            });
}

TEST(PluginRequestValidationTest, invalid_json_gets_cjsons_message) {
  run_cases(kBodyConf,
            {
                {"garbage", "hello", {}, 400, "Expected value but found invalid token at character 1"},
                {"trailing comma in array", "[1,]", {}, 400,
                 "Expected value but found T_ARR_END at character 4"},
                {"trailing comma in object", R"({"a":1,})", {}, 400,
                 "Expected object key string but found T_OBJ_END at character 8"},
                {"missing colon", R"({"a" 1})", {}, 400,
                 "Expected colon but found T_NUMBER at character 6"},
                {"missing comma", R"({"a":1 "b":2})", {}, 400,
                 "Expected comma or object end but found T_STRING at character 8"},
                {"unterminated array", "[1", {}, 400,
                 "Expected comma or array end but found T_END at character 3"},
                {"unterminated string", R"("abc)", {}, 400,
                 "Expected value but found unexpected end of string at character 5"},
                {"bad escape", R"({"a":"x\q"})", {}, 400,
                 "Expected value but found invalid escape code at character 8"},
                {"bad unicode escape", R"(["\ud800x"])", {}, 400,
                 "Expected value but found invalid unicode escape code at character 3"},
                {"trailing garbage", "{}x", {}, 400,
                 "Expected the end but found invalid token at character 3"},
                {"whitespace only", " \n", {}, 400, "Expected value but found T_END at character 3"},
                {"bare minus", "-", {}, 400, "Expected value but found invalid number at character 1"},
                {"UTF-16", std::string("{\0\"\0", 4), {}, 400,
                 "JSON parser does not support UTF-16 or UTF-32"},
                {"too deep", std::string(1001, '['), {}, 400,
                 "Found too many nested data structures (1001) at character 1001"},
            });
}

TEST(PluginRequestValidationTest, schema_sees_lua_values) {
  run_cases(R"({"body_schema": {"type": "object"}})",
            {
                {"object", "{}", {}, 0},
                // Lua cannot tell [] from {}.
                {"empty array is a table", "[]", {}, 0},
                {"string", R"("x")", {}, 400, "wrong type: expected object, got string"},
                // cjson.null is a userdata, truthy: it reaches the schema.
                {"null", "null", {}, 400, "wrong type: expected object, got userdata"},
            });
  // `false` is falsy: APISIX takes it for a failed decode without a message.
  run_cases(R"({"body_schema": {"type": "boolean"}})",
            {{"true", "true", {}, 0}, {"false", "false", {}, 400, ""}});
  run_cases(R"({"body_schema": {"type": "boolean"}, "rejected_msg": "no"})",
            {{"false", "false", {}, 400, "no"}});
}

TEST(PluginRequestValidationTest, missing_body_is_refused_without_a_message) {
  // core.request.get_body() returns nil: `return rejected_code, rejected_msg`.
  run_cases(kBodyConf, {{"no body", "", {}, 400, ""}});
  run_cases(R"({"body_schema": {"type": "object"}, "rejected_msg": "customize reject message"})",
            {{"no body", "", {}, 400, "customize reject message"}});
  run_cases(R"({"body_schema": {"type": "object"}, "rejected_code": 505})",
            {{"no body", "", {}, 505, ""}});
}

TEST(PluginRequestValidationTest, form_bodies_are_decoded_like_ngx_decode_args) {
  const std::pair<std::string, std::string> form{"Content-Type",
                                                 "application/x-www-form-urlencoded"};
  std::string many;
  for (int i = 0; i < 101; ++i) many += "a=b&";
  many += "required_payload=101-hello";
  run_cases(kBodyConf,
            {
                {"101 pairs", many, {form}, 0},
                {"charset and mixed case", "required_payload=x",
                 {{"Content-Type", "Application/X-WWW-Form-Urlencoded; charset=utf-8"}}, 0},
                {"missing key", "other=1", {form}, 400, "property \"required_payload\" is required"},
                // A key without '=' is true, not a string.
                {"key without value", "required_payload", {form}, 400,
                 "property \"required_payload\" validation failed: wrong type: expected string, "
                 "got boolean"},
                // Repeated keys collect their values in an array.
                {"repeated key", "required_payload=a&required_payload=b", {form}, 400,
                 "property \"required_payload\" validation failed: wrong type: expected string, "
                 "got table"},
                {"invalid JSON is fine in a form", "{required_payload=1", {form}, 400,
                 "property \"required_payload\" is required"},
                {"duplicated Content-Type", "required_payload=x",
                 {form, {"Content-Type", "application/json"}}, 400, "duplicated Content-Type header"},
            });
  // Decoding: '+' and %XX, a '%' without two hex digits kept, empty keys dropped.
  run_cases(R"({"body_schema": {"type": "object", "additionalProperties": false,
                                "properties": {"k y": {"enum": ["a b/%zz%4"]}, "t": {"enum": [true]},
                                               "e": {"enum": [""]}}}})",
            {
                {"decoded", "k+y=a+b%2F%zz%4&t&e=&=x&&", {form}, 0},
                {"rejected", "k%20y=other", {form}, 400,
                 "property \"k y\" validation failed: matches none of the enum values"},
            });
}

TEST(PluginRequestValidationTest, header_schema) {
  constexpr std::string_view conf = R"({"header_schema": {
      "type": "object", "required": ["required_payload"],
      "properties": {"required_payload": {"type": "string"}}}})";
  run_cases(conf,
            {
                {"present", "", {{"required_payload", "test payload"}}, 0},
                {"missing", "", {{"Content-Type", "application/json"}}, 400,
                 "property \"required_payload\" is required"},
                // Lua's __index on get_headers(): lower case, '_' as '-'.
                {"other case and dash", "", {{"Required-Payload", "x"}}, 0},
                // A repeated header is an array of its values.
                {"repeated", "", {{"required_payload", "a"}, {"required_payload", "b"}}, 400,
                 "property \"required_payload\" validation failed: wrong type: expected string, "
                 "got table"},
            });
  run_cases(R"({"header_schema": {"type": "object", "required": ["User-Agent", "Host"],
                "properties": {"User-Agent": {"type": "string", "pattern": "^curl/"},
                               "Host": {"type": "string", "enum": ["httpbin.org", "httpbin"]}}}})",
            {
                {"documented example", "", {{"Host", "httpbin"}, {"User-Agent", "curl/8.0"}}, 0},
                {"bad host", "", {{"Host", "other"}, {"User-Agent", "curl/8.0"}}, 400,
                 "property \"Host\" validation failed: matches none of the enum values"},
                {"missing agent", "", {{"Host", "httpbin"}}, 400, "property \"User-Agent\" is required"},
            });
  // Iteration sees the lower-case names, as pairs() on the Lua table does.
  run_cases(R"({"header_schema": {"type": "object", "additionalProperties": false,
                "properties": {"host": {}}}})",
            {{"extra header", "", {{"Host", "a"}, {"X-Foo", "1"}}, 400,
              "additional properties forbidden, found x-foo"}});
}

TEST(PluginRequestValidationTest, rejected_code_and_msg) {
  constexpr std::string_view conf = R"({"header_schema": {"type": "object", "required": ["test"],
      "properties": {"test": {"type": "string", "enum": ["a", "b", "c"]}}},
      "rejected_msg": "customize reject message for header_schema.required",
      "rejected_code": 505})";
  run_cases(conf, {
                      {"missing", "", {}, 505, "customize reject message for header_schema.required"},
                      {"bad value", "", {{"test", "abc"}}, 505,
                       "customize reject message for header_schema.required"},
                      {"good", "", {{"test", "a"}}, 0},
                  });
}

TEST(PluginRequestValidationTest, both_schemas_check_headers_first) {
  auto p = make(R"({"header_schema": {"required": ["x-key"]}, "body_schema": {"type": "object"}})");
  ASSERT_TRUE(p);
  FakePluginContext ctx;
  ctx.body_ = "not json";
  Step s = run(*p, ctx);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->body, "property \"x-key\" is required");
  EXPECT_EQ(ctx.body_reads, 0) << "the body is not read when the headers fail";
  ctx.request_headers_ = {{"X-Key", "1"}};
  s = run(*p, ctx);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->body, "Expected value but found invalid token at character 1");
  EXPECT_EQ(ctx.body_reads, 1);
}

TEST(PluginRequestValidationTest, body_read_errors_answer_as_nginx) {
  auto p = make(R"({"body_schema": {}, "rejected_msg": "not this"})");
  ASSERT_TRUE(p);
  const std::pair<core::ErrorKind, int> cases[] = {
      {core::ErrorKind::kTooLarge, 413},
      {core::ErrorKind::kTimeout, 408},
      {core::ErrorKind::kInvalid, 400},
      {core::ErrorKind::kClosed, 400},
  };
  for (const auto& [kind, status] : cases) {
    FakePluginContext ctx;
    ctx.body_error_ = core::Error{kind, core::ErrorSource::kDownstream, false, "x"};
    Step s = run(*p, ctx);
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->status, status);
    EXPECT_EQ(s->body, "") << "the status's error page, as nginx sends it";
  }
  // Over the plugin's own limit (8 MiB).
  FakePluginContext big;
  big.body_ = std::string((8 << 20) + 1, ' ');
  Step s = run(*p, big);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->status, 413);
}

TEST(PluginRequestValidationTest, conf_errors_read_like_apisix) {
  EXPECT_EQ(check(R"({})"),
            "failed to check the configuration of plugin request-validation err: object matches "
            "none of the required: [\"header_schema\"] or [\"body_schema\"]");
  EXPECT_EQ(check(R"({"rejected_msg": "customize reject message"})"),
            "failed to check the configuration of plugin request-validation err: object matches "
            "none of the required: [\"header_schema\"] or [\"body_schema\"]");
  EXPECT_EQ(check(R"({"header_schema": {}, "rejected_code": 10000})"),
            "failed to check the configuration of plugin request-validation err: property "
            "\"rejected_code\" validation failed: expected 10000 to be at most 599");
  EXPECT_EQ(check(R"({"header_schema": {}, "rejected_msg": ""})"),
            "failed to check the configuration of plugin request-validation err: property "
            "\"rejected_msg\" validation failed: string too short, expected at least 1, got 0");
  EXPECT_EQ(check(R"({"header_schema": {}, "rejected_msg": ")" + std::string(257, 'm') + "\"}"),
            "failed to check the configuration of plugin request-validation err: property "
            "\"rejected_msg\" validation failed: string too long, expected at most 256, got 257");
  EXPECT_EQ(check(R"({"body_schema": "object"})"),
            "failed to check the configuration of plugin request-validation err: property "
            "\"body_schema\" validation failed: wrong type: expected object, got string");
  // The schemas themselves must compile (APISIX: core.schema.valid).
  EXPECT_EQ(check(R"({"body_schema": {"type": "test"}})"),
            "invalid body_schema: /body_schema/type: unknown type");
  EXPECT_EQ(check(R"({"header_schema": {"properties": {"test": {"enum": "test-enum"}}}})"),
            "invalid header_schema: /header_schema/properties/test/enum: must be a non-empty array");
  EXPECT_EQ(check(R"({"body_schema": {"required": "test-required"}})"),
            "invalid body_schema: /body_schema/required: must be an array of strings");
  EXPECT_EQ(check(R"({"body_schema": {"pattern": "(a"}})"),
            "invalid body_schema: /body_schema/pattern: RE2 cannot compile pattern: missing ): (a");
  EXPECT_EQ(check(R"({"body_schema": {}})"), "");
  EXPECT_EQ(check(R"({"body_schema": []})"), "") << "a Lua empty table";
  EXPECT_EQ(check(R"({"header_schema": {"type": "string"}, "rejected_code": 200})"), "");
}

}  // namespace
}  // namespace torii::plugins
