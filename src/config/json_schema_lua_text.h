// How APISIX's Lua runtime prints the values that appear in its schema
// error messages: Lua's `type()` names, `tostring()` of numbers, `%q`
// quoting, cjson's array encoding and the jsonschema library's UTF-8 length.
// Private to the JSON Schema validator; kept apart so that the wording rules
// live in one place and can be tested on their own.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace torii::config::lua_text {

// Lua's `type(v)` for a value decoded by cjson: "number" for every JSON
// number, "table" for arrays and objects, "userdata" for null (cjson.null).
std::string_view type_name(const boost::json::value& v);

// Lua's `tostring(n)` (LuaJIT: "%.14g"), e.g. 1 -> "1", 0.5 -> "0.5".
std::string number(double n);

// The JSON number `v` as Lua sees it (every number is a double).
double to_double(const boost::json::value& v);

// LuaJIT's string.format("%q", s): wrapped in double quotes, with `"`, `\` and
// newline escaped by a backslash, other control bytes in decimal ("\13",
// or "\013" when a digit follows).
std::string quote(std::string_view s);

// cjson.encode of an array of strings, e.g. ["uri","host"].
std::string encode_string_array(const std::vector<std::string>& items);

// The jsonschema library's utf8_len: counts characters by UTF-8 lead byte.
// A stray continuation byte counts as one character.
std::size_t utf8_length(std::string_view s);

}  // namespace torii::config::lua_text
