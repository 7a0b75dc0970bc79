// A JSON Schema (draft 7 subset) validator whose error messages use the
// wording of api7/jsonschema, the Lua library APISIX uses, so that Admin API
// and config-file errors read exactly like APISIX's. Schemas are compiled
// once (resource schemas at first use, plugin schemas at registration) and
// validated many times, from any thread at once.
//
// Supported keywords: type (string or array), enum, const, properties,
// required, additionalProperties (bool or schema), patternProperties,
// minProperties, maxProperties, dependencies (list or schema), items (schema,
// bool or tuple), additionalItems, minItems, maxItems, uniqueItems, contains,
// minLength, maxLength, pattern (RE2, unanchored search), minimum, maximum,
// exclusiveMinimum, exclusiveMaximum (numbers, draft 6+), multipleOf, anyOf,
// oneOf, allOf, not, if/then/else, format (ipv4, ipv6, email, hostname; other
// formats are annotations), $ref to "#" or "#/definitions/<name>". Every
// other keyword (default, description, title, ...) is an annotation and is
// ignored: defaults are applied at run time, never written into objects.
//
// Behaviour kept from the Lua library on purpose:
//   - "wrong type" messages name Lua's type of the value: "number", "string",
//     "boolean", "table" (arrays and objects), "userdata" (null).
//   - "integer" accepts any whole number, including 3.0.
//   - An empty array satisfies "object" and an empty object satisfies
//     "array" (Lua cannot tell them apart), so consumers of validated values
//     must accept `[]` where an object is expected and `{}` for an array.
//   - Numbers in messages print as Lua prints them ("%.14g"); strings in
//     pattern messages are quoted like Lua's %q.
//   - Checks run in the library's order (type, object, array, string, number,
//     enum, allOf, anyOf, oneOf, if, not, format, const) and the first
//     failure is reported; properties are checked in schema order.
//
// Message shapes (APISIX, via lua jsonschema):
//   property "uri" validation failed: wrong type: expected string, got number
//   property "methods" validation failed: failed to validate item 1:
//     matches none of the enum values
//   property "id" is required
//   value should match only one schema, but matches none
//   object matches none of the required: ["uri"] or ["uris"]
//   additional properties forbidden, found foo
//   string too long, expected at most 4096, got 5000
//   expected 0 to be at least 1
#pragma once

#include <boost/json/value.hpp>
#include <memory>
#include <string>

#include "core/result.h"

namespace torii::config {

class JsonSchema {
 public:
  virtual ~JsonSchema() = default;

  // Compiles a schema. Fails with "<JSON pointer of the offending keyword>:
  // <reason>" when the schema itself is invalid, e.g. a pattern RE2 cannot
  // run or an unresolvable $ref (a bug in our schemas, caught by tests).
  static core::Result<std::unique_ptr<JsonSchema>> compile(const boost::json::value& schema);

  // Validates `value`; never modifies it. On failure the error is a
  // kConfig/kInvalid Error whose message is APISIX's wording, without the
  // "invalid configuration: " prefix the Admin API adds.
  virtual core::Status validate(const boost::json::value& value) const = 0;
};

}  // namespace torii::config
