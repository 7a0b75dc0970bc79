// The compiled form of a JSON Schema: an immutable tree of nodes shared by
// the compiler (json_schema.cc), which builds it, and the validator
// (json_schema_validate.cc), which walks it. Private to those two files.
#pragma once

#include <re2/re2.h>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/json_schema.h"

namespace torii::config::schema_detail {

namespace json = boost::json;

// JSON types a `type` keyword allows, as a bit set.
enum TypeBit : unsigned {
  kNullBit = 1u << 0,
  kBooleanBit = 1u << 1,
  kObjectBit = 1u << 2,
  kArrayBit = 1u << 3,
  kNumberBit = 1u << 4,
  kIntegerBit = 1u << 5,
  kStringBit = 1u << 6,
};

enum class Format : unsigned char { kNone, kIpv4, kIpv6, kEmail, kHostname };

struct Node;
using NodePtr = std::unique_ptr<Node>;

struct Pattern {
  std::string source;
  std::unique_ptr<RE2> re;
};

struct PatternProperty {
  Pattern pattern;
  NodePtr schema;
};

struct Dependency {
  std::string property;
  std::vector<std::string> required;  // list form
  NodePtr schema;                     // schema form
};

struct Bound {
  double value = 0;
  std::string text;  // Lua's rendering of the schema's number
};

struct Node {
  // Boolean schemas and $ref.
  std::optional<bool> constant;
  std::string ref;               // target as written, while compiling
  const Node* target = nullptr;  // resolved $ref

  // type
  unsigned types = 0;
  std::vector<std::string> type_names;
  bool type_is_list = false;

  // object keywords
  bool object_keywords = false;
  std::vector<std::pair<std::string, NodePtr>> properties;
  std::vector<std::string> required;
  bool has_required = false;
  std::vector<Dependency> dependencies;
  std::vector<PatternProperty> pattern_properties;
  bool restrict_additional = false;  // additionalProperties is false or a schema
  NodePtr additional_schema;
  std::optional<std::uint64_t> min_properties;
  std::optional<std::uint64_t> max_properties;

  // array keywords
  bool array_keywords = false;
  NodePtr items;
  std::vector<NodePtr> tuple_items;
  std::optional<bool> items_constant;
  std::optional<bool> additional_items_constant;
  NodePtr additional_items;
  std::optional<std::uint64_t> min_items;
  std::optional<std::uint64_t> max_items;
  bool unique_items = false;

  // string keywords
  std::optional<std::uint64_t> min_length;
  std::optional<std::uint64_t> max_length;
  std::optional<Pattern> pattern;

  // number keywords
  std::optional<Bound> minimum;
  std::optional<Bound> exclusive_minimum;
  std::optional<Bound> maximum;
  std::optional<Bound> exclusive_maximum;
  std::optional<Bound> multiple_of;

  std::optional<json::array> enum_values;
  std::vector<NodePtr> all_of;
  std::vector<NodePtr> any_of;
  std::string any_of_required;  // ": [\"a\"] or [\"b\"]" when subschemas list required
  std::vector<NodePtr> one_of;
  NodePtr if_schema;
  NodePtr then_schema;
  NodePtr else_schema;
  NodePtr not_schema;
  Format format = Format::kNone;
  std::optional<json::value> const_value;
  // `default`: the Lua library fills a missing property with it before the
  // keywords that follow see the object (so `if: {properties: {policy:
  // {enum: ["redis"]}}}` does not match an object whose policy defaults to
  // "local"). Validation fills a copy; stored objects never get defaults.
  std::optional<json::value> default_value;
  std::optional<bool> contains_constant;
  NodePtr contains;
};

// The JsonSchema that validates against `root`; `definitions` owns the
// targets of $ref nodes and is kept alive with it.
std::unique_ptr<JsonSchema> make_compiled_schema(NodePtr root,
                                                 std::map<std::string, NodePtr> definitions);

}  // namespace torii::config::schema_detail
