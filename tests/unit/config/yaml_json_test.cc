// YAML -> JSON as APISIX reads its YAML files: plain scalars typed, quoted
// scalars kept as strings, ${{VAR}} / ${{VAR:=default}} substituted in keys
// and values, and errors for unset variables and broken YAML.
#include "config/yaml_json.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <string>

namespace torii::config {
namespace {

namespace json = boost::json;

json::value parse_ok(const std::string& yaml) {
  auto v = yaml_to_json(yaml);
  EXPECT_TRUE(v.ok()) << yaml << ": " << (v.ok() ? "" : v.error().message);
  return v.ok() ? *v : json::value();
}

// Sets an environment variable for one test and removes it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
  ~ScopedEnv() { unsetenv(name_); }

 private:
  const char* name_;
};

TEST(ConfigYamlJsonTest, plain_scalars_are_typed) {
  const json::value v = parse_ok(
      "i: 42\n"
      "neg: -7\n"
      "f: 1.5\n"
      "t: true\n"
      "f2: False\n"
      "n: null\n"
      "tilde: ~\n"
      "empty:\n"
      "s: hello\n"
      "ver: 1.2.3\n"
      "ip: 127.0.0.1\n"
      "port_like: \"80\"\n");
  const json::object& o = v.as_object();
  EXPECT_EQ(o.at("i"), json::value(42));
  EXPECT_EQ(o.at("neg"), json::value(-7));
  ASSERT_TRUE(o.at("f").is_double());
  EXPECT_DOUBLE_EQ(o.at("f").get_double(), 1.5);
  EXPECT_EQ(o.at("t"), json::value(true));
  EXPECT_EQ(o.at("f2"), json::value(false));
  EXPECT_TRUE(o.at("n").is_null());
  EXPECT_TRUE(o.at("tilde").is_null());
  EXPECT_TRUE(o.at("empty").is_null());
  EXPECT_EQ(o.at("s"), json::value("hello"));
  EXPECT_EQ(o.at("ver"), json::value("1.2.3"));
  EXPECT_EQ(o.at("ip"), json::value("127.0.0.1"));
  EXPECT_EQ(o.at("port_like"), json::value("80"));
}

TEST(ConfigYamlJsonTest, quoted_scalars_stay_strings) {
  const json::value v = parse_ok(
      "a: \"42\"\n"
      "b: 'true'\n"
      "c: \"null\"\n"
      "d: ''\n"
      "e: \"1.5\"\n");
  const json::object& o = v.as_object();
  EXPECT_EQ(o.at("a"), json::value("42"));
  EXPECT_EQ(o.at("b"), json::value("true"));
  EXPECT_EQ(o.at("c"), json::value("null"));
  EXPECT_EQ(o.at("d"), json::value(""));
  EXPECT_EQ(o.at("e"), json::value("1.5"));
}

TEST(ConfigYamlJsonTest, nested_maps_and_arrays) {
  const json::value v = parse_ok(
      "routes:\n"
      "  - uri: /a\n"
      "    methods: [GET, POST]\n"
      "    upstream:\n"
      "      nodes:\n"
      "        \"127.0.0.1:80\": 1\n"
      "  - uri: /b\n"
      "    vars: [[\"arg_x\", \"==\", \"1\"]]\n");
  const json::value expected = json::parse(R"({"routes":[
      {"uri":"/a","methods":["GET","POST"],"upstream":{"nodes":{"127.0.0.1:80":1}}},
      {"uri":"/b","vars":[["arg_x","==","1"]]}]})");
  EXPECT_EQ(v, expected) << json::serialize(v);
}

TEST(ConfigYamlJsonTest, empty_document_is_null) {
  auto v = yaml_to_json("");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->is_null());
}

TEST(ConfigYamlJsonTest, env_var_in_values) {
  ScopedEnv e("TORII_TEST_YJ_HOST", "10.1.2.3");
  ScopedEnv p("TORII_TEST_YJ_PORT", "8080");
  const json::value v = parse_ok(
      "addr: ${{TORII_TEST_YJ_HOST}}:${{TORII_TEST_YJ_PORT}}\n"
      "port: ${{TORII_TEST_YJ_PORT}}\n"
      "quoted: \"${{TORII_TEST_YJ_PORT}}\"\n"
      "spaced: ${{ TORII_TEST_YJ_PORT }}\n");
  const json::object& o = v.as_object();
  EXPECT_EQ(o.at("addr"), json::value("10.1.2.3:8080"));
  // A substituted value is typed as APISIX's resolve_conf_var does, quoted
  // or not (the `${{...}}` text was a string either way).
  EXPECT_EQ(o.at("port"), json::value(8080));
  EXPECT_EQ(o.at("quoted"), json::value(8080));
  EXPECT_EQ(o.at("spaced"), json::value(8080));
}

TEST(ConfigYamlJsonTest, substituted_values_are_typed_as_lua_reads_them) {
  EXPECT_EQ(substituted_value("true"), json::value(true));
  EXPECT_EQ(substituted_value("false"), json::value(false));
  EXPECT_EQ(substituted_value("True"), json::value("True"));
  EXPECT_EQ(substituted_value(" 3 "), json::value(3));
  EXPECT_EQ(substituted_value("1.5"), json::value(1.5));
  EXPECT_EQ(substituted_value("1e3"), json::value(1000.0));
  EXPECT_EQ(substituted_value("0x1F"), json::value(31));
  EXPECT_EQ(substituted_value("-7"), json::value(-7));
  EXPECT_EQ(substituted_value("inf"), json::value("inf"));
  EXPECT_EQ(substituted_value("nan"), json::value("nan"));
  EXPECT_EQ(substituted_value("12abc"), json::value("12abc"));
  EXPECT_EQ(substituted_value(""), json::value(""));
  EXPECT_EQ(substituted_value("null"), json::value("null"));
}

TEST(ConfigYamlJsonTest, json_documents_are_substituted_after_parsing) {
  ScopedEnv re("TORII_TEST_YJ_RE", "^\\d+\"$");
  ScopedEnv port("TORII_TEST_YJ_PORT2", "9090");
  json::value v = json::parse(
      R"({"uri": "${{TORII_TEST_YJ_RE}}", "port": "${{TORII_TEST_YJ_PORT2}}",
          "${{TORII_TEST_YJ_PORT2}}": ["a${{TORII_TEST_YJ_PORT2}}", 1, "plain"]})");
  ASSERT_TRUE(substitute_env_in(v));
  const json::object& o = v.as_object();
  EXPECT_EQ(o.at("uri"), json::value("^\\d+\"$"));  // quotes and backslashes stay text
  EXPECT_EQ(o.at("port"), json::value(9090));
  EXPECT_EQ(o.at("9090"), json::parse(R"(["a9090", 1, "plain"])"));
  unsetenv("TORII_TEST_YJ_MISSING");
  json::value bad = json::parse(R"({"a": ["${{TORII_TEST_YJ_MISSING}}"]})");
  auto st = substitute_env_in(bad);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message, "can't find environment variable TORII_TEST_YJ_MISSING");
}

TEST(ConfigYamlJsonTest, env_var_default_is_used_when_unset) {
  unsetenv("TORII_TEST_YJ_UNSET");
  const json::value v = parse_ok(
      "a: ${{TORII_TEST_YJ_UNSET:=fallback}}\n"
      "b: ${{TORII_TEST_YJ_UNSET:=12}}\n");
  const json::object& o = v.as_object();
  EXPECT_EQ(o.at("a"), json::value("fallback"));
  EXPECT_EQ(o.at("b"), json::value(12));
}

TEST(ConfigYamlJsonTest, env_var_set_wins_over_default) {
  ScopedEnv e("TORII_TEST_YJ_SET", "real");
  const json::value v = parse_ok("a: ${{TORII_TEST_YJ_SET:=fallback}}\n");
  EXPECT_EQ(v.as_object().at("a"), json::value("real"));
}

TEST(ConfigYamlJsonTest, env_var_in_keys) {
  ScopedEnv e("TORII_TEST_YJ_KEY", "10.0.0.5:80");
  const json::value v = parse_ok(
      "nodes:\n"
      "  \"${{TORII_TEST_YJ_KEY}}\": 1\n"
      "  ${{TORII_TEST_YJ_NOKEY:=127.0.0.1:81}}: 2\n");
  const json::object& nodes = v.as_object().at("nodes").as_object();
  EXPECT_EQ(nodes.at("10.0.0.5:80"), json::value(1));
  EXPECT_EQ(nodes.at("127.0.0.1:81"), json::value(2));
}

TEST(ConfigYamlJsonTest, env_var_in_array_items) {
  ScopedEnv e("TORII_TEST_YJ_ITEM", "GET");
  // Block style: in flow style `{` is a YAML indicator (APISIX parses YAML
  // first and substitutes afterwards, so the same holds there).
  const json::value v = parse_ok("methods:\n  - ${{TORII_TEST_YJ_ITEM}}\n  - POST\n");
  EXPECT_EQ(v.as_object().at("methods"), json::parse(R"(["GET","POST"])"));
}

TEST(ConfigYamlJsonTest, missing_env_var_is_an_error_naming_it_and_the_line) {
  unsetenv("TORII_TEST_YJ_MISSING");
  auto v = yaml_to_json("a: 1\nb: ${{TORII_TEST_YJ_MISSING}}\n");
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message.find("TORII_TEST_YJ_MISSING"), std::string::npos) << v.error().message;
  EXPECT_NE(v.error().message.find("line 2"), std::string::npos) << v.error().message;
  EXPECT_EQ(v.error().source, core::ErrorSource::kConfig);
}

TEST(ConfigYamlJsonTest, missing_env_var_in_a_key_is_an_error) {
  unsetenv("TORII_TEST_YJ_MISSING");
  auto v = yaml_to_json("${{TORII_TEST_YJ_MISSING}}: 1\n");
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message.find("TORII_TEST_YJ_MISSING"), std::string::npos);
}

TEST(ConfigYamlJsonTest, invalid_yaml_is_an_error) {
  for (const char* y : {"a: [1, 2\n", "a: {b: 1\n", "a:\n  - 1\n b: 2\n", "a: b: c\n", "[1, 2]]\n"}) {
    auto v = yaml_to_json(y);
    ASSERT_FALSE(v.ok()) << y;
    EXPECT_NE(v.error().message.find("invalid YAML"), std::string::npos) << v.error().message;
  }
}

TEST(ConfigYamlJsonTest, substitute_env_directly) {
  ScopedEnv e("TORII_TEST_YJ_S", "x");
  EXPECT_EQ(*substitute_env("no vars"), "no vars");
  EXPECT_EQ(*substitute_env("a${{TORII_TEST_YJ_S}}b${{TORII_TEST_YJ_S}}c"), "axbxc");
  EXPECT_EQ(*substitute_env("${{TORII_TEST_YJ_UNSET_2:=d:e}}"), "d:e");
  // An unterminated reference is kept literally.
  EXPECT_EQ(*substitute_env("a${{TORII_TEST_YJ_S"), "a${{TORII_TEST_YJ_S");
  // Single-brace ${VAR} is not APISIX syntax and is left alone.
  EXPECT_EQ(*substitute_env("${TORII_TEST_YJ_S}"), "${TORII_TEST_YJ_S}");
  unsetenv("TORII_TEST_YJ_UNSET_3");
  auto missing = substitute_env("${{TORII_TEST_YJ_UNSET_3}}");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("TORII_TEST_YJ_UNSET_3"), std::string::npos);
}

}  // namespace
}  // namespace torii::config
