// JsonSchema: every keyword accepts what it should and refuses the rest with
// the exact wording of api7/jsonschema, the library behind APISIX's
// "invalid configuration: ..." messages.
#include "config/json_schema.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <string>
#include <thread>
#include <vector>

namespace torii::config {
namespace {

namespace json = boost::json;

std::unique_ptr<JsonSchema> must_compile(std::string_view schema) {
  auto compiled = JsonSchema::compile(json::parse(schema));
  if (!compiled) {
    ADD_FAILURE() << "schema does not compile: " << compiled.error().message;
    return nullptr;
  }
  return std::move(compiled.value());
}

// "" when `value` is valid, else the validation message.
std::string error_of(std::string_view schema, std::string_view value) {
  auto compiled = must_compile(schema);
  if (!compiled) return "<no schema>";
  auto st = compiled->validate(json::parse(value));
  return st ? std::string() : st.error().message;
}

std::string compile_error_of(std::string_view schema) {
  auto compiled = JsonSchema::compile(json::parse(schema));
  return compiled ? std::string() : compiled.error().message;
}

// --- type ------------------------------------------------------------------

TEST(JsonSchemaTest, wrong_type_names_the_lua_type_of_the_value) {
  const char* schema = R"({"type":"string"})";
  EXPECT_EQ(error_of(schema, "1"), "wrong type: expected string, got number");
  EXPECT_EQ(error_of(schema, "1.5"), "wrong type: expected string, got number");
  EXPECT_EQ(error_of(schema, "true"), "wrong type: expected string, got boolean");
  EXPECT_EQ(error_of(schema, "[1]"), "wrong type: expected string, got table");
  EXPECT_EQ(error_of(schema, R"({"a":1})"), "wrong type: expected string, got table");
  EXPECT_EQ(error_of(schema, "null"), "wrong type: expected string, got userdata");
  EXPECT_EQ(error_of(schema, R"("ok")"), "");
}

TEST(JsonSchemaTest, type_list_reports_every_allowed_type) {
  EXPECT_EQ(error_of(R"({"type":["string","number"]})", "true"),
            "wrong type: expected one of string, number, got boolean");
  EXPECT_EQ(error_of(R"({"type":["string","number"]})", "3"), "");
}

TEST(JsonSchemaTest, integer_accepts_whole_doubles_and_refuses_fractions) {
  const char* schema = R"({"type":"integer"})";
  EXPECT_EQ(error_of(schema, "3"), "");
  EXPECT_EQ(error_of(schema, "3.0"), "");
  EXPECT_EQ(error_of(schema, "18446744073709551615"), "");
  EXPECT_EQ(error_of(schema, "3.5"), "wrong type: expected integer, got number");
  EXPECT_EQ(error_of(schema, R"("3")"), "wrong type: expected integer, got string");
}

TEST(JsonSchemaTest, empty_array_and_empty_object_are_interchangeable_as_in_lua) {
  EXPECT_EQ(error_of(R"({"type":"object"})", "[]"), "");
  EXPECT_EQ(error_of(R"({"type":"array"})", "{}"), "");
  EXPECT_EQ(error_of(R"({"type":"object"})", "[1]"), "wrong type: expected object, got table");
  EXPECT_EQ(error_of(R"({"type":"array"})", R"({"a":1})"), "wrong type: expected array, got table");
  EXPECT_EQ(error_of(R"({"type":"null"})", "null"), "");
  EXPECT_EQ(error_of(R"({"type":"boolean"})", "false"), "");
}

// --- object keywords ---------------------------------------------------------

TEST(JsonSchemaTest, property_failure_is_prefixed_with_the_quoted_property_name) {
  const char* schema =
      R"({"type":"object","properties":{"timeout":{"type":"object","properties":{"connect":{"type":"number","exclusiveMinimum":0}}}}})";
  EXPECT_EQ(
      error_of(schema, R"({"timeout":{"connect":0}})"),
      R"(property "timeout" validation failed: property "connect" validation failed: expected 0 to be greater than 0)");
  EXPECT_EQ(error_of(schema, R"({"timeout":{"connect":0.5}})"), "");
}

TEST(JsonSchemaTest, missing_required_property_is_named) {
  const char* schema =
      R"({"type":"object","properties":{"uri":{"type":"string"}},"required":["uri","id"]})";
  EXPECT_EQ(error_of(schema, "{}"), R"(property "uri" is required)");
  EXPECT_EQ(error_of(schema, R"({"uri":"/"})"), R"(property "id" is required)");
  EXPECT_EQ(error_of(schema, R"({"uri":"/","id":1})"), "");
}

TEST(JsonSchemaTest, empty_required_list_demands_an_empty_table) {
  EXPECT_EQ(error_of(R"({"required":[]})", R"({"a":1})"),
            "the input data should be an empty table");
  EXPECT_EQ(error_of(R"({"required":[]})", "{}"), "");
}

TEST(JsonSchemaTest, additional_properties_false_names_the_first_unknown_field) {
  const char* schema =
      R"({"type":"object","properties":{"uri":{"type":"string"}},"additionalProperties":false})";
  EXPECT_EQ(error_of(schema, R"({"uri":"/","foo":1})"),
            "additional properties forbidden, found foo");
  EXPECT_EQ(error_of(schema, R"({"uri":"/"})"), "");
}

TEST(JsonSchemaTest, declared_property_errors_come_before_unknown_fields) {
  const char* schema =
      R"({"type":"object","properties":{"uri":{"type":"string"}},"additionalProperties":false})";
  EXPECT_EQ(error_of(schema, R"({"foo":1,"uri":2})"),
            R"(property "uri" validation failed: wrong type: expected string, got number)");
}

TEST(JsonSchemaTest, additional_properties_schema_validates_undeclared_fields) {
  const char* schema =
      R"({"type":"object","properties":{"a":{}},"additionalProperties":{"type":"string"}})";
  EXPECT_EQ(error_of(schema, R"({"a":1,"b":2})"),
            "failed to validate additional property b: wrong type: expected string, got number");
  EXPECT_EQ(error_of(schema, R"({"a":1,"b":"x"})"), "");
}

TEST(JsonSchemaTest, pattern_properties_report_key_and_quoted_pattern) {
  const char* schema =
      R"({"type":"object","patternProperties":{".*":{"type":"string","pattern":"^\\S+$"}}})";
  EXPECT_EQ(
      error_of(schema, R"({"env":"a b"})"),
      R"(failed to validate env (matching ".*"): failed to match pattern "^\\S+$" with "a b")");
  EXPECT_EQ(error_of(schema, R"({"env":"prod"})"), "");
}

TEST(JsonSchemaTest, pattern_properties_count_as_declared_for_additional_properties) {
  const char* schema =
      R"({"type":"object","patternProperties":{"^x-":{"type":"string"}},"additionalProperties":false})";
  EXPECT_EQ(error_of(schema, R"({"x-a":"1"})"), "");
  EXPECT_EQ(error_of(schema, R"({"y":"1"})"), "additional properties forbidden, found y");
}

TEST(JsonSchemaTest, property_count_limits) {
  EXPECT_EQ(error_of(R"({"minProperties":1})", "{}"),
            "expect object to have at least 1 properties");
  EXPECT_EQ(error_of(R"({"maxProperties":1})", R"({"a":1,"b":2})"),
            "expect object to have at most 1 properties");
  EXPECT_EQ(error_of(R"({"maxProperties":1})", R"({"a":1})"), "");
}

TEST(JsonSchemaTest, dependencies_list_and_schema_forms) {
  const char* list =
      R"({"properties":{"client_cert":{}},"dependencies":{"client_cert":["client_key"]}})";
  EXPECT_EQ(error_of(list, R"({"client_cert":"x"})"),
            R"(property "client_key" is required when "client_cert" is set)");
  EXPECT_EQ(error_of(list, R"({"client_cert":"x","client_key":"y"})"), "");

  const char* undeclared = R"({"dependencies":{"a":["b"]}})";
  EXPECT_EQ(error_of(undeclared, R"({"a":1})"), R"(property "b" is required when "a" is set)");

  const char* schema = R"({"properties":{"a":{}},"dependencies":{"a":{"not":{"required":["c"]}}}})";
  EXPECT_EQ(
      error_of(schema, R"({"a":1,"c":2})"),
      R"(failed to validate dependent schema for "a": value wasn't supposed to match schema)");
  EXPECT_EQ(error_of(schema, R"({"a":1})"), "");
}

TEST(JsonSchemaTest, property_names_with_quotes_are_escaped_like_lua) {
  EXPECT_EQ(error_of(R"({"required":["a\"b"]})", "{}"), R"(property "a\"b" is required)");
}

// --- array keywords ------------------------------------------------------------

TEST(JsonSchemaTest, items_failure_reports_one_based_position) {
  const char* schema = R"({"type":"array","items":{"type":"string","enum":["GET","POST"]}})";
  EXPECT_EQ(error_of(schema, R"(["GET","FOO"])"),
            "failed to validate item 2: matches none of the enum values");
  EXPECT_EQ(error_of(schema, R"(["POST"])"), "");
}

TEST(JsonSchemaTest, item_count_limits) {
  EXPECT_EQ(error_of(R"({"type":"array","minItems":1})", "[]"),
            "expect array to have at least 1 items");
  EXPECT_EQ(error_of(R"({"type":"array","maxItems":1})", "[1,2]"),
            "expect array to have at most 1 items");
}

TEST(JsonSchemaTest, unique_items_reports_the_first_duplicate_pair) {
  const char* schema = R"({"type":"array","uniqueItems":true})";
  EXPECT_EQ(error_of(schema, R"(["/foo","/foo"])"),
            "expected unique items but items 1 and 2 are equal");
  EXPECT_EQ(error_of(schema, R"(["a","b","c","b","a"])"),
            "expected unique items but items 2 and 4 are equal");
  EXPECT_EQ(error_of(schema, "[1, 1.0]"), "expected unique items but items 1 and 2 are equal");
  EXPECT_EQ(error_of(schema, R"([{"a":[1]},{"b":1},{"b":1},{"a":[1.0]}])"),
            "expected unique items but items 1 and 4 are equal");
  EXPECT_EQ(error_of(schema, R"([1,"1",true,null,[1],{"1":1}])"), "");
}

TEST(JsonSchemaTest, tuple_items_and_additional_items) {
  const char* schema =
      R"({"items":[{"type":"string"},{"type":"integer"}],"additionalItems":false})";
  EXPECT_EQ(error_of(schema, R"(["a","b"])"),
            "failed to validate item 2: wrong type: expected integer, got string");
  EXPECT_EQ(error_of(schema, R"(["a",1,2])"), "found unexpected extra items in array");
  EXPECT_EQ(error_of(schema, R"(["a"])"), "");
}

TEST(JsonSchemaTest, contains_needs_one_matching_item) {
  const char* schema = R"({"contains":{"const":"x"}})";
  EXPECT_EQ(error_of(schema, R"(["a","b"])"), "failed to check contains");
  EXPECT_EQ(error_of(schema, "[]"), "check contains: empty array is invalid");
  EXPECT_EQ(error_of(schema, R"(["a","x"])"), "");
}

// --- string keywords -----------------------------------------------------------

TEST(JsonSchemaTest, string_length_counts_utf8_characters) {
  EXPECT_EQ(error_of(R"({"type":"string","minLength":1})", R"("")"),
            "string too short, expected at least 1, got 0");
  EXPECT_EQ(error_of(R"({"type":"string","maxLength":3})", R"("abcde")"),
            "string too long, expected at most 3, got 5");
  EXPECT_EQ(error_of(R"({"type":"string","maxLength":3})", "\"\xc3\xa9\xc3\xa9\xc3\xa9\""), "");
}

TEST(JsonSchemaTest, counts_past_uint64_are_the_largest_count) {
  EXPECT_EQ(error_of(R"({"type":"string","maxLength":1e20})", R"("abc")"), "");
  EXPECT_EQ(error_of(R"({"type":"array","maxItems":1e300})", "[1,2]"), "");
  EXPECT_NE(error_of(R"({"type":"array","minItems":1e300})", "[1,2]"), "");
  EXPECT_EQ(compile_error_of(R"({"maxLength":1.5})"), "/maxLength: must be a non-negative integer");
}

TEST(JsonSchemaTest, pattern_is_an_unanchored_search_and_reports_both_quoted) {
  EXPECT_EQ(error_of(R"({"type":"string","pattern":"^function"})", R"("func")"),
            R"(failed to match pattern "^function" with "func")");
  EXPECT_EQ(error_of(R"({"pattern":"b"})", R"("abc")"), "");
  EXPECT_EQ(error_of(R"({"pattern":"^[a-z]+$"})", R"("a\"b")"),
            R"(failed to match pattern "^[a-z]+$" with "a\"b")");
}

TEST(JsonSchemaTest, control_bytes_in_values_are_quoted_like_luajit) {
  EXPECT_EQ(error_of(R"({"pattern":"^[a-z]+$"})", R"("a\rb\u00011")"),
            R"(failed to match pattern "^[a-z]+$" with "a\13b\0011")");
}

// --- number keywords -----------------------------------------------------------

TEST(JsonSchemaTest, numeric_bounds_use_lua_number_formatting) {
  EXPECT_EQ(error_of(R"({"type":"integer","minimum":1})", "0"), "expected 0 to be at least 1");
  EXPECT_EQ(error_of(R"({"type":"integer","maximum":65535})", "70000"),
            "expected 70000 to be at most 65535");
  EXPECT_EQ(error_of(R"({"type":"number","exclusiveMinimum":0})", "0"),
            "expected 0 to be greater than 0");
  EXPECT_EQ(error_of(R"({"type":"number","exclusiveMaximum":5})", "5"),
            "expected 5 to be smaller than 5");
  EXPECT_EQ(error_of(R"({"type":"number","minimum":1})", "0.5"), "expected 0.5 to be at least 1");
  EXPECT_EQ(error_of(R"({"type":"number","minimum":0.25})", "-1e20"),
            "expected -1e+20 to be at least 0.25");
  EXPECT_EQ(error_of(R"({"type":"number","minimum":1,"maximum":2})", "1.5"), "");
}

TEST(JsonSchemaTest, multiple_of_integer_and_fraction) {
  EXPECT_EQ(error_of(R"({"multipleOf":3})", "7"), "expected 7 to be a multiple of 3");
  EXPECT_EQ(error_of(R"({"multipleOf":3})", "9"), "");
  EXPECT_EQ(error_of(R"({"multipleOf":0.5})", "0.75"), "expected 0.75 to be a multiple of 0.5");
  EXPECT_EQ(error_of(R"({"multipleOf":0.5})", "1.5"), "");
}

TEST(JsonSchemaTest, range_keywords_ignore_non_numbers) {
  EXPECT_EQ(error_of(R"({"minimum":1})", R"("0")"), "");
}

// --- enum / const ------------------------------------------------------------

TEST(JsonSchemaTest, enum_compares_numbers_by_value) {
  const char* schema = R"({"type":"integer","enum":[1,0]})";
  EXPECT_EQ(error_of(schema, "3"), "matches none of the enum values");
  EXPECT_EQ(error_of(schema, "1.0"), "");
  EXPECT_EQ(error_of(R"({"enum":["a",{"b":[1]}]})", R"({"b":[1]})"), "");
  EXPECT_EQ(error_of(R"({"enum":["a"]})", R"("A")"), "matches none of the enum values");
}

TEST(JsonSchemaTest, const_mismatch) {
  EXPECT_EQ(error_of(R"({"const":"x"})", R"("y")"), "failed to check const value");
  EXPECT_EQ(error_of(R"({"const":{"a":1}})", R"({"a":1.0})"), "");
}

// --- combinators -------------------------------------------------------------

TEST(JsonSchemaTest, any_of_lists_the_required_sets_of_its_branches) {
  EXPECT_EQ(error_of(R"({"anyOf":[{"required":["uri"]},{"required":["uris"]}]})", "{}"),
            R"(object matches none of the required: ["uri"] or ["uris"])");
  EXPECT_EQ(
      error_of(R"({"anyOf":[{"required":["active"]},{"required":["active","passive"]}]})", "{}"),
      R"(object matches none of the required: ["active"] or ["active","passive"])");
  EXPECT_EQ(error_of(R"({"anyOf":[{"type":"string"},{"type":"integer","minimum":1}]})", "0"),
            "object matches none of the required");
  EXPECT_EQ(error_of(R"({"anyOf":[{"type":"string"},{"type":"integer"}]})", "0"), "");
}

TEST(JsonSchemaTest, one_of_reports_none_or_the_first_two_matches) {
  const char* schema = R"({"oneOf":[{"required":["a"]},{"required":["b"]},{"required":["c"]}]})";
  EXPECT_EQ(error_of(schema, "{}"), "value should match only one schema, but matches none");
  EXPECT_EQ(error_of(schema, R"({"b":1,"c":1})"),
            "value should match only one schema, but matches both schemas 2 and 3");
  EXPECT_EQ(error_of(schema, R"({"a":1})"), "");
}

TEST(JsonSchemaTest, all_of_reports_the_failing_branch_number) {
  const char* schema = R"({"allOf":[{"type":"object"},{"required":["uri"]}]})";
  EXPECT_EQ(error_of(schema, "{}"), R"(allOf 2 failed: property "uri" is required)");
  EXPECT_EQ(error_of(schema, R"({"uri":1})"), "");
}

TEST(JsonSchemaTest, not_and_if_then_else) {
  EXPECT_EQ(error_of(R"({"not":{"required":["a"]}})", R"({"a":1})"),
            "value wasn't supposed to match schema");
  const char* cond =
      R"({"if":{"required":["a"]},"then":{"required":["b"]},"else":{"required":["c"]}})";
  EXPECT_EQ(error_of(cond, R"({"a":1})"), "then clause did not match");
  EXPECT_EQ(error_of(cond, "{}"), "else clause did not match");
  EXPECT_EQ(error_of(cond, R"({"a":1,"b":1})"), "");
  EXPECT_EQ(error_of(cond, R"({"c":1})"), "");
}

TEST(JsonSchemaTest, boolean_schemas) {
  EXPECT_EQ(error_of(R"({"properties":{"a":false}})", R"({"a":1})"),
            R"(property "a" validation failed: expect false always)");
  EXPECT_EQ(error_of("true", "1"), "");
}

// --- format ----------------------------------------------------------------

TEST(JsonSchemaTest, ip_formats) {
  EXPECT_EQ(error_of(R"({"format":"ipv4"})", R"("127.0.0.1")"), "");
  EXPECT_EQ(error_of(R"({"format":"ipv4"})", R"("127.0.0.256")"),
            "expect valid ipv4 address but got: 127.0.0.256");
  EXPECT_EQ(error_of(R"({"format":"ipv6"})", R"("::1")"), "");
  EXPECT_EQ(error_of(R"({"format":"ipv6"})", R"("::g")"), "expect valid ipv6 address but got: ::g");
  EXPECT_EQ(error_of(R"({"format":"uri"})", R"("anything")"), "");
}

// --- $ref and compilation ------------------------------------------------------

TEST(JsonSchemaTest, ref_to_definitions_including_recursion) {
  const char* schema =
      R"({"definitions":{"node":{"type":"object","properties":{"name":{"type":"string"},)"
      R"("children":{"type":"array","items":{"$ref":"#/definitions/node"}}}}},"$ref":"#/definitions/node"})";
  EXPECT_EQ(
      error_of(schema, R"({"name":"a","children":[{"name":"b","children":[{"name":1}]}]})"),
      R"(property "children" validation failed: failed to validate item 1: property "children" validation failed: )"
      R"(failed to validate item 1: property "name" validation failed: wrong type: expected string, got number)");
  EXPECT_EQ(error_of(schema, R"({"name":"a","children":[{"name":"b"}]})"), "");
}

TEST(JsonSchemaTest, self_reference_without_progress_fails_instead_of_crashing) {
  EXPECT_EQ(error_of(R"({"$ref":"#"})", "1"), "schema nesting too deep");
}

TEST(JsonSchemaTest, invalid_schemas_fail_to_compile_with_a_json_pointer) {
  EXPECT_EQ(compile_error_of(R"json({"properties":{"a":{"pattern":"(?=x)"}}})json"),
            "/properties/a/pattern: RE2 cannot compile pattern: invalid perl operator: (?=");
  EXPECT_EQ(compile_error_of(R"({"type":"text"})"), "/type: unknown type");
  EXPECT_EQ(compile_error_of(R"({"minLength":-1})"), "/minLength: must be a non-negative integer");
  EXPECT_EQ(compile_error_of(R"({"$ref":"#/definitions/missing"})"),
            "/$ref: unresolvable reference #/definitions/missing");
  EXPECT_EQ(compile_error_of(R"({"exclusiveMinimum":true})"),
            "/exclusiveMinimum: must be a number");
  EXPECT_EQ(compile_error_of(R"({"anyOf":[]})"), "/anyOf: must be a non-empty array");
  EXPECT_EQ(compile_error_of("1"), "/: a schema must be an object or a boolean");
}

TEST(JsonSchemaTest, annotations_and_unknown_keywords_are_ignored) {
  EXPECT_EQ(
      error_of(
          R"({"description":"x","default":5,"title":"t","$comment":"c","encrypt_fields":["a"]})",
          "1"),
      "");
}

TEST(JsonSchemaTest, one_compiled_schema_validates_from_many_threads) {
  auto schema = must_compile(
      R"({"type":"object","properties":{"host":{"type":"string","pattern":"^[a-z.]+$"}},"additionalProperties":false})");
  ASSERT_TRUE(schema);
  const json::value good = json::parse(R"({"host":"a.example"})");
  const json::value bad = json::parse(R"({"host":"A"})");
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        if (!schema->validate(good)) ++failures[t];
        auto st = schema->validate(bad);
        if (st ||
            st.error().message !=
                R"(property "host" validation failed: failed to match pattern "^[a-z.]+$" with "A")") {
          ++failures[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
}

}  // namespace
}  // namespace torii::config
