// Expr: the lua-resty-expr `vars` DSL, each operator, groups, negation,
// legacy form, Lua number quirks and the RE2 refusals.
#include "router/expr.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <string>

#include "map_vars.h"

namespace torii::router {
namespace {

using testing::MapVars;

std::unique_ptr<Expr> compile(const std::string& json) {
  auto e = Expr::compile(boost::json::parse(json));
  EXPECT_TRUE(e.ok()) << json << ": " << e.error().message;
  return e.ok() ? std::move(e.value()) : nullptr;
}

bool eval(const std::string& json, const MapVars& vars) {
  auto e = compile(json);
  return e && e->eval(vars);
}

std::string compile_error(const std::string& json) {
  auto e = Expr::compile(boost::json::parse(json));
  EXPECT_FALSE(e.ok()) << json;
  return e.ok() ? "" : e.error().message;
}

TEST(RouterExprTest, empty_rule_list_always_passes) { EXPECT_TRUE(eval("[]", {})); }

TEST(RouterExprTest, equality_compares_strings) {
  EXPECT_TRUE(eval(R"js([["arg_name","==","json"]])js", {{"arg_name", "json"}}));
  EXPECT_FALSE(eval(R"js([["arg_name","==","json"]])js", {{"arg_name", "xml"}}));
  EXPECT_FALSE(eval(R"js([["arg_name","==","json"]])js", {}));
}

TEST(RouterExprTest, equality_with_a_number_converts_the_variable_like_tonumber) {
  const std::string rule = R"js([["arg_age","==",18]])js";
  EXPECT_TRUE(eval(rule, {{"arg_age", "18"}}));
  EXPECT_TRUE(eval(rule, {{"arg_age", "18.0"}}));
  EXPECT_TRUE(eval(rule, {{"arg_age", " 18 "}}));
  EXPECT_TRUE(eval(rule, {{"arg_age", "0x12"}}));
  EXPECT_TRUE(eval(rule, {{"arg_age", "1.8e1"}}));
  EXPECT_FALSE(eval(rule, {{"arg_age", "18abc"}}));
  EXPECT_FALSE(eval(rule, {{"arg_age", "abc"}}));
  EXPECT_FALSE(eval(rule, {}));
}

TEST(RouterExprTest, equality_with_a_numeric_string_stays_a_string_compare) {
  EXPECT_FALSE(eval(R"js([["arg_age","==","18"]])js", {{"arg_age", "18.0"}}));
  EXPECT_TRUE(eval(R"js([["arg_age","==","18"]])js", {{"arg_age", "18"}}));
}

TEST(RouterExprTest, inequality_is_true_for_non_numbers_against_a_number) {
  EXPECT_TRUE(eval(R"js([["arg_a","~=",1]])js", {{"arg_a", "abc"}}));
  EXPECT_TRUE(eval(R"js([["arg_a","~=",1]])js", {}));
  EXPECT_FALSE(eval(R"js([["arg_a","~=",1]])js", {{"arg_a", "1"}}));
  EXPECT_TRUE(eval(R"js([["arg_a","~=","x"]])js", {{"arg_a", "y"}}));
  EXPECT_FALSE(eval(R"js([["arg_a","~=","x"]])js", {{"arg_a", "x"}}));
}

TEST(RouterExprTest, null_right_side_tests_for_absence) {
  EXPECT_TRUE(eval(R"js([["http_x_id","==",null]])js", {}));
  EXPECT_FALSE(eval(R"js([["http_x_id","==",null]])js", {{"http_x_id", ""}}));
  EXPECT_TRUE(eval(R"js([["http_x_id","~=",null]])js", {{"http_x_id", "1"}}));
}

TEST(RouterExprTest, equality_with_a_boolean_never_matches_a_string) {
  EXPECT_FALSE(eval(R"js([["arg_a","==",true]])js", {{"arg_a", "true"}}));
  EXPECT_TRUE(eval(R"js([["arg_a","~=",true]])js", {{"arg_a", "true"}}));
}

TEST(RouterExprTest, ordering_operators_compare_numbers) {
  MapVars v{{"arg_age", "20"}};
  EXPECT_TRUE(eval(R"js([["arg_age",">",18]])js", v));
  EXPECT_TRUE(eval(R"js([["arg_age",">=",20]])js", v));
  EXPECT_FALSE(eval(R"js([["arg_age","<",20]])js", v));
  EXPECT_TRUE(eval(R"js([["arg_age","<=",20]])js", v));
  EXPECT_TRUE(eval(R"js([["arg_age",">","9"]])js", v)) << "string right side is converted too";
  EXPECT_TRUE(eval(R"js([["arg_age","<",100]])js", {{"arg_age", "20"}})) << "numeric, not lexical";
}

TEST(RouterExprTest, ordering_operators_are_false_for_non_numbers) {
  EXPECT_FALSE(eval(R"js([["arg_age",">",18]])js", {{"arg_age", "abc"}}));
  EXPECT_FALSE(eval(R"js([["arg_age","<",18]])js", {{"arg_age", "abc"}}));
  EXPECT_FALSE(eval(R"js([["arg_age",">",18]])js", {}));
  EXPECT_FALSE(eval(R"js([["arg_age",">","x"]])js", {{"arg_age", "20"}}));
  EXPECT_FALSE(eval(R"js([["arg_age","<",18]])js", {{"arg_age", "inf"}}));
  EXPECT_FALSE(eval(R"js([["arg_age","<",18]])js", {{"arg_age", "nan"}}));
}

TEST(RouterExprTest, regex_find_is_unanchored) {
  EXPECT_TRUE(
      eval(R"js([["http_user_agent","~~","curl/[0-9]+"]])js", {{"http_user_agent", "x curl/8 y"}}));
  EXPECT_FALSE(
      eval(R"js([["http_user_agent","~~","^curl"]])js", {{"http_user_agent", "x curl/8"}}));
  EXPECT_FALSE(eval(R"js([["http_user_agent","~~","Curl"]])js", {{"http_user_agent", "curl"}}));
}

TEST(RouterExprTest, regex_star_operator_ignores_case) {
  EXPECT_TRUE(eval(R"js([["http_user_agent","~*","CURL"]])js", {{"http_user_agent", "curl/8"}}));
  EXPECT_FALSE(eval(R"js([["http_user_agent","~*","wget"]])js", {{"http_user_agent", "curl/8"}}));
}

TEST(RouterExprTest, regex_on_missing_variable_is_false_and_its_negation_true) {
  EXPECT_FALSE(eval(R"js([["arg_a","~~","."]])js", {}));
  EXPECT_TRUE(eval(R"js([["arg_a","!","~~","."]])js", {}));
}

TEST(RouterExprTest, in_checks_membership_of_string_members) {
  const std::string rule = R"js([["arg_env","in",["dev","staging"]]])js";
  EXPECT_TRUE(eval(rule, {{"arg_env", "dev"}}));
  EXPECT_FALSE(eval(rule, {{"arg_env", "prod"}}));
  EXPECT_FALSE(eval(rule, {}));
  EXPECT_FALSE(eval(R"js([["arg_n","in",[1,2]]])js", {{"arg_n", "1"}}))
      << "Lua never equates a string with a number";
  EXPECT_FALSE(eval(R"js([["arg_n","in","1"]])js", {{"arg_n", "1"}}));
}

TEST(RouterExprTest, has_never_matches_a_string_variable) {
  EXPECT_FALSE(eval(R"js([["arg_a","has","x"]])js", {{"arg_a", "x"}}));
  EXPECT_TRUE(eval(R"js([["arg_a","!","has","x"]])js", {{"arg_a", "x"}}));
}

TEST(RouterExprTest, ipmatch_checks_the_address_against_ips_and_cidrs) {
  const std::string rule = R"js([["remote_addr","ipmatch",["10.0.0.0/8","::1"]]])js";
  EXPECT_TRUE(eval(rule, {{"remote_addr", "10.2.3.4"}}));
  EXPECT_TRUE(eval(rule, {{"remote_addr", "::1"}}));
  EXPECT_FALSE(eval(rule, {{"remote_addr", "11.0.0.1"}}));
  EXPECT_FALSE(eval(rule, {{"remote_addr", "not-an-ip"}}));
  EXPECT_FALSE(eval(rule, {}));
  EXPECT_TRUE(
      eval(R"js([["remote_addr","ipmatch","127.0.0.1"]])js", {{"remote_addr", "127.0.0.1"}}));
}

TEST(RouterExprTest, ipmatch_with_a_bad_entry_is_refused) {
  EXPECT_EQ(compile_error(R"js([["remote_addr","ipmatch",["10.0.0.0/8","1.2.3"]]])js"),
            "vars[0]: invalid ip address: \"1.2.3\"");
  EXPECT_EQ(compile_error(R"js([["remote_addr","ipmatch",5]])js"),
            "vars[0]: ipmatch needs an ip or a list of ips");
}

TEST(RouterExprTest, bang_negates_an_expression) {
  EXPECT_TRUE(eval(R"js([["arg_a","!","==","x"]])js", {{"arg_a", "y"}}));
  EXPECT_FALSE(eval(R"js([["arg_a","!","==","x"]])js", {{"arg_a", "x"}}));
  EXPECT_TRUE(eval(R"js([["arg_a","!","in",["x"]]])js", {{"arg_a", "y"}}));
}

TEST(RouterExprTest, operators_are_case_insensitive) {
  EXPECT_TRUE(eval(R"js([["arg_a","IN",["x"]]])js", {{"arg_a", "x"}}));
  EXPECT_TRUE(eval(R"js([["remote_addr","IPMATCH","1.1.1.1"]])js", {{"remote_addr", "1.1.1.1"}}));
}

TEST(RouterExprTest, a_list_of_expressions_is_an_and) {
  const std::string rule = R"js([["arg_a","==","1"],["arg_b","==","2"]])js";
  EXPECT_TRUE(eval(rule, {{"arg_a", "1"}, {"arg_b", "2"}}));
  EXPECT_FALSE(eval(rule, {{"arg_a", "1"}, {"arg_b", "3"}}));
}

TEST(RouterExprTest, logical_groups_and_or_and_their_negations) {
  const std::string orr = R"js(["OR",["arg_a","==","1"],["arg_b","==","2"]])js";
  EXPECT_TRUE(eval(orr, {{"arg_a", "1"}}));
  EXPECT_TRUE(eval(orr, {{"arg_b", "2"}}));
  EXPECT_FALSE(eval(orr, {}));

  const std::string nor = R"js(["!OR",["arg_a","==","1"],["arg_b","==","2"]])js";
  EXPECT_FALSE(eval(nor, {{"arg_a", "1"}}));
  EXPECT_TRUE(eval(nor, {}));

  const std::string andd = R"js(["AND",["arg_a","==","1"],["arg_b","==","2"]])js";
  EXPECT_TRUE(eval(andd, {{"arg_a", "1"}, {"arg_b", "2"}}));
  EXPECT_FALSE(eval(andd, {{"arg_a", "1"}}));

  const std::string nand = R"js(["!AND",["arg_a","==","1"],["arg_b","==","2"]])js";
  EXPECT_FALSE(eval(nand, {{"arg_a", "1"}, {"arg_b", "2"}}));
  EXPECT_TRUE(eval(nand, {{"arg_a", "1"}}));

  EXPECT_TRUE(eval(R"js(["or",["arg_a","==","1"],["arg_b","==","2"]])js", {{"arg_b", "2"}}))
      << "logical operators are case-insensitive";
}

TEST(RouterExprTest, groups_nest) {
  const std::string rule =
      R"js([["arg_k","==","v"],["OR",["arg_a","==","1"],["AND",["arg_b","==","2"],["arg_c","==","3"]]]])js";
  EXPECT_TRUE(eval(rule, {{"arg_k", "v"}, {"arg_a", "1"}}));
  EXPECT_TRUE(eval(rule, {{"arg_k", "v"}, {"arg_b", "2"}, {"arg_c", "3"}}));
  EXPECT_FALSE(eval(rule, {{"arg_k", "v"}, {"arg_b", "2"}}));
  EXPECT_FALSE(eval(rule, {{"arg_a", "1"}}));
}

TEST(RouterExprTest, two_element_expression_is_legacy_equality) {
  EXPECT_TRUE(eval(R"js([["arg_a","x"]])js", {{"arg_a", "x"}}));
  EXPECT_FALSE(eval(R"js([["arg_a","x"]])js", {{"arg_a", "y"}}));
  EXPECT_TRUE(eval(R"js([["arg_a",5]])js", {{"arg_a", "5"}}));
}

TEST(RouterExprTest, unknown_operator_is_refused_with_apisix_wording) {
  EXPECT_EQ(compile_error(R"js([["arg_a","=","1"]])js"), "invalid operator '='");
  EXPECT_EQ(compile_error(R"js([["arg_a","=~","1"]])js"), "invalid operator '=~'");
  EXPECT_EQ(compile_error(R"js([["arg_a","!","like","1"]])js"), "invalid operator 'like'");
}

TEST(RouterExprTest, malformed_rules_are_refused_with_apisix_wording) {
  EXPECT_EQ(compile_error(R"js([["arg_a","not","==","1"]])js"), "bad 'not' expression");
  EXPECT_EQ(compile_error(R"js(["OR",["arg_a","==","1"]])js"), "rule too short");
  EXPECT_EQ(compile_error(R"js([[]])js"), "rule too short");
  EXPECT_EQ(compile_error(R"js(["arg_a","==","1"])js"), "rule should be wrapped inside brackets");
  EXPECT_EQ(compile_error(R"js({"a":1})js"), "rule should be wrapped inside brackets");
  EXPECT_EQ(compile_error(R"js([["arg_a"]])js"), "invalid expression");
  EXPECT_EQ(compile_error(R"js([[1,"==","1"]])js"), "invalid expression");
  EXPECT_EQ(compile_error(R"js([["arg_a","==","1"],"x"])js"), "invalid expression");
}

TEST(RouterExprTest, look_around_is_refused_naming_the_construct) {
  EXPECT_EQ(compile_error(R"js([["arg_a","~~","(?=a)"]])js"),
            "vars[0]: regex \"(?=a)\" is not supported: RE2 has no look-around");
  EXPECT_EQ(compile_error(R"js([["arg_a","~*","x(?<!y)"]])js"),
            "vars[0]: regex \"x(?<!y)\" is not supported: RE2 has no look-around");
}

TEST(RouterExprTest, back_references_are_refused_naming_the_construct) {
  EXPECT_EQ(compile_error(R"js(["OR",["arg_b","==","1"],["arg_a","~~","(a)\\1"]])js"),
            "vars[2]: regex \"(a)\\1\" is not supported: RE2 has no back-references");
}

TEST(RouterExprTest, other_pcre_only_constructs_are_named) {
  EXPECT_EQ(compile_error(R"js([["arg_a","~~","(?>a+)b"]])js"),
            "vars[0]: regex \"(?>a+)b\" is not supported: RE2 has no atomic groups");
  EXPECT_EQ(compile_error(R"js([["arg_a","~~","a++"]])js"),
            "vars[0]: regex \"a++\" is not supported: RE2 has no possessive quantifiers");
}

TEST(RouterExprTest, escaped_or_bracketed_lookalikes_are_not_refused) {
  EXPECT_TRUE(eval(R"js([["arg_a","~~","\\(\\?=x"]])js", {{"arg_a", "(?=x"}}));
  EXPECT_TRUE(eval(R"js([["arg_a","~~","[(?=]x"]])js", {{"arg_a", "=x"}}));
}

TEST(RouterExprTest, invalid_regex_is_refused_with_re2_reason) {
  std::string msg = compile_error(R"js([["arg_a","~~","(ab"]])js");
  EXPECT_EQ(msg.rfind("vars[0]: invalid regex \"(ab\": ", 0), 0u) << msg;
  EXPECT_EQ(compile_error(R"js([["arg_a","~~",5]])js"), "vars[0]: regex must be a string");
}

TEST(RouterExprTest, regex_matches_bytes_not_utf8) {
  EXPECT_TRUE(eval(R"js([["arg_a","~~","^.$"]])js", {{"arg_a", "\xff"}}));
}

}  // namespace
}  // namespace torii::router
