// JSON Schema validator: walks a compiled node tree read-only, so one
// compiled schema serves every thread at once. Messages use the wording of
// api7/jsonschema, the library behind APISIX's schema errors.
//
// The order of checks inside one schema follows that library, because with
// several violations the first one found is the one reported: type, object
// keywords, array keywords, string keywords, number keywords, enum, allOf,
// anyOf, oneOf, if/then/else, not, format, const, contains.
#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config/json_schema.h"
#include "config/json_schema_lua_text.h"
#include "config/json_schema_node.h"

namespace torii::config {
namespace schema_detail {
namespace {

using Failure = std::optional<std::string>;  // nullopt = valid

// Nested $ref chains that consume no input could recurse forever; real
// schemas and real documents stay far below this.
constexpr int kMaxDepth = 256;

// ---------------------------------------------------------------------------
// Value helpers.

bool is_number(const json::value& v) { return v.is_int64() || v.is_uint64() || v.is_double(); }

bool is_empty_container(const json::value& v) {
  return (v.is_array() && v.get_array().empty()) || (v.is_object() && v.get_object().empty());
}

// Lua cannot tell an empty JSON array from an empty object (both decode to
// an empty table), so APISIX accepts either where the other is expected.
bool acts_as_object(const json::value& v) {
  return v.is_object() || (v.is_array() && v.get_array().empty());
}
bool acts_as_array(const json::value& v) {
  return v.is_array() || (v.is_object() && v.get_object().empty());
}

bool is_whole(const json::value& v) {
  if (v.is_int64() || v.is_uint64()) return true;
  return v.is_double() && std::fmod(v.get_double(), 1.0) == 0.0;
}

bool has_type(unsigned types, const json::value& v) {
  if ((types & kNullBit) && v.is_null()) return true;
  if ((types & kBooleanBit) && v.is_bool()) return true;
  if ((types & kObjectBit) && acts_as_object(v)) return true;
  if ((types & kArrayBit) && acts_as_array(v)) return true;
  if ((types & kNumberBit) && is_number(v)) return true;
  if ((types & kIntegerBit) && is_whole(v)) return true;
  if ((types & kStringBit) && v.is_string()) return true;
  return false;
}

// Lua equality as used by enum and uniqueItems (lib.deepeq): numbers by
// value whatever their JSON representation, empty tables equal each other.
bool lua_equal(const json::value& a, const json::value& b) {
  if (is_number(a) && is_number(b)) return lua_text::to_double(a) == lua_text::to_double(b);
  if (is_empty_container(a) && is_empty_container(b)) return true;
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case json::kind::string:
      return a.get_string() == b.get_string();
    case json::kind::bool_:
      return a.get_bool() == b.get_bool();
    case json::kind::null:
      return true;
    case json::kind::array: {
      const auto& x = a.get_array();
      const auto& y = b.get_array();
      if (x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (!lua_equal(x[i], y[i])) return false;
      }
      return true;
    }
    case json::kind::object: {
      const auto& x = a.get_object();
      const auto& y = b.get_object();
      if (x.size() != y.size()) return false;
      for (const auto& member : x) {
        const auto* other = y.if_contains(member.key());
        if (other == nullptr || !lua_equal(member.value(), *other)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

// A string equal for exactly the values lua_equal calls equal, so that
// uniqueItems runs in linear time on large arrays.
void canonical(const json::value& v, std::string& out) {
  if (is_number(v)) {
    const double d = lua_text::to_double(v);
    char buf[40];
    std::snprintf(buf, sizeof buf, "n%.17g;", d == 0.0 ? 0.0 : d);
    out += buf;
    return;
  }
  if (is_empty_container(v)) {
    out += "{}";
    return;
  }
  switch (v.kind()) {
    case json::kind::string:
      out += 's';
      out += std::to_string(v.get_string().size());
      out += ':';
      out.append(v.get_string().data(), v.get_string().size());
      return;
    case json::kind::bool_:
      out += v.get_bool() ? "t" : "f";
      return;
    case json::kind::null:
      out += 'z';
      return;
    case json::kind::array:
      out += '[';
      for (const auto& item : v.get_array()) canonical(item, out);
      out += ']';
      return;
    case json::kind::object: {
      std::vector<const json::key_value_pair*> members;
      for (const auto& m : v.get_object()) members.push_back(&m);
      std::sort(members.begin(), members.end(),
                [](const auto* a, const auto* b) { return a->key() < b->key(); });
      out += '{';
      for (const auto* m : members) {
        out += std::to_string(m->key().size());
        out += ':';
        out.append(m->key().data(), m->key().size());
        canonical(m->value(), out);
      }
      out += '}';
      return;
    }
    default:
      return;
  }
}

// The pair of 1-based positions api7/jsonschema reports for the first
// duplicate: scalars are scanned in order (second occurrence decides), then
// tables pairwise (first occurrence decides).
std::optional<std::pair<std::size_t, std::size_t>> find_duplicate(const json::array& arr) {
  std::unordered_map<std::string, std::size_t> scalars;
  std::unordered_map<std::string, std::vector<std::size_t>> tables;
  std::vector<std::string> table_order;
  for (std::size_t i = 0; i < arr.size(); ++i) {
    std::string key;
    canonical(arr[i], key);
    if (arr[i].is_array() || arr[i].is_object()) {
      auto [it, inserted] = tables.try_emplace(key);
      if (inserted) table_order.push_back(key);
      it->second.push_back(i + 1);
      continue;
    }
    auto [it, inserted] = scalars.try_emplace(std::move(key), i + 1);
    if (!inserted) return std::make_pair(it->second, i + 1);
  }
  std::optional<std::pair<std::size_t, std::size_t>> best;
  for (const auto& key : table_order) {
    const auto& positions = tables[key];
    if (positions.size() < 2) continue;
    if (!best || positions[0] < best->first) best = std::make_pair(positions[0], positions[1]);
  }
  return best;
}

bool re_find(const RE2& re, std::string_view s) { return RE2::PartialMatch(s, re); }

bool valid_ip(int family, const std::string& s) {
  unsigned char buf[16];
  return inet_pton(family, s.c_str(), buf) == 1;
}

const RE2& email_re() {
  static const RE2 re(R"(^([A-Za-z0-9_\-\.])+\@([A-Za-z0-9_\-\.])+\.([A-Za-z]{2,4})$)");
  return re;
}

const RE2& hostname_re() {
  static const RE2 re(R"(^[a-zA-Z0-9\-\.]+$)");
  return re;
}

// ---------------------------------------------------------------------------
// Validation.

Failure check(const Node& n, const json::value& v, int depth);

Failure check_object(const Node& n, const json::value& v, int depth) {
  static const json::object kEmpty;
  const json::object& obj = v.is_object() ? v.get_object() : kEmpty;

  std::vector<bool> required_done(n.required.size(), false);
  auto is_required = [&](const std::string& name) {
    for (std::size_t i = 0; i < n.required.size(); ++i) {
      if (n.required[i] == name) {
        required_done[i] = true;
        return true;
      }
    }
    return false;
  };
  auto check_dependency = [&](const Dependency& d) -> Failure {
    for (const auto& needed : d.required) {
      if (!obj.contains(needed)) {
        return "property " + lua_text::quote(needed) + " is required when " +
               lua_text::quote(d.property) + " is set";
      }
    }
    if (d.schema) {
      if (auto err = check(*d.schema, v, depth + 1)) {
        return "failed to validate dependent schema for " + lua_text::quote(d.property) + ": " +
               *err;
      }
    }
    return std::nullopt;
  };

  for (const auto& [name, schema] : n.properties) {
    const bool required = is_required(name);
    if (const auto* pv = obj.if_contains(name)) {
      if (auto err = check(*schema, *pv, depth + 1)) {
        return "property " + lua_text::quote(name) + " validation failed: " + *err;
      }
      for (const auto& d : n.dependencies) {
        if (d.property != name) continue;
        if (auto err = check_dependency(d)) return err;
      }
    } else if (required) {
      return "property " + lua_text::quote(name) + " is required";
    }
  }
  for (std::size_t i = 0; i < n.required.size(); ++i) {
    if (!required_done[i] && !obj.contains(n.required[i])) {
      return "property " + lua_text::quote(n.required[i]) + " is required";
    }
  }
  for (const auto& d : n.dependencies) {
    const bool declared = std::any_of(n.properties.begin(), n.properties.end(),
                                      [&](const auto& p) { return p.first == d.property; });
    if (declared || !obj.contains(d.property)) continue;
    if (auto err = check_dependency(d)) return err;
  }

  if (!n.pattern_properties.empty() || n.restrict_additional) {
    for (const auto& member : obj) {
      const std::string_view key = member.key();
      bool matched = false;
      for (const auto& pp : n.pattern_properties) {
        if (!re_find(*pp.pattern.re, key)) continue;
        if (auto err = check(*pp.schema, member.value(), depth + 1)) {
          return "failed to validate " + std::string(key) + " (matching " +
                 lua_text::quote(pp.pattern.source) + "): " + *err;
        }
        matched = true;
      }
      if (!n.restrict_additional || matched) continue;
      const bool declared = std::any_of(n.properties.begin(), n.properties.end(),
                                        [&](const auto& p) { return p.first == key; });
      if (declared) continue;
      if (!n.additional_schema) return "additional properties forbidden, found " + std::string(key);
      if (auto err = check(*n.additional_schema, member.value(), depth + 1)) {
        return "failed to validate additional property " + std::string(key) + ": " + *err;
      }
    }
  }

  if (n.min_properties && obj.size() < *n.min_properties) {
    return "expect object to have at least " + std::to_string(*n.min_properties) + " properties";
  }
  if (n.max_properties && obj.size() > *n.max_properties) {
    return "expect object to have at most " + std::to_string(*n.max_properties) + " properties";
  }
  return std::nullopt;
}

Failure check_array(const Node& n, const json::value& v, int depth) {
  static const json::array kEmpty;
  const json::array& arr = v.is_array() ? v.get_array() : kEmpty;

  if (n.min_items && arr.size() < *n.min_items) {
    return "expect array to have at least " + std::to_string(*n.min_items) + " items";
  }
  if (n.max_items && arr.size() > *n.max_items) {
    return "expect array to have at most " + std::to_string(*n.max_items) + " items";
  }
  if (n.items_constant == false && !arr.empty()) return "expect false always";
  if (!n.tuple_items.empty()) {
    for (std::size_t i = 0; i < n.tuple_items.size() && i < arr.size(); ++i) {
      if (auto err = check(*n.tuple_items[i], arr[i], depth + 1)) {
        return "failed to validate item " + std::to_string(i + 1) + ": " + *err;
      }
    }
    if (n.additional_items_constant == false && arr.size() > n.tuple_items.size()) {
      return "found unexpected extra items in array";
    }
    if (n.additional_items) {
      for (std::size_t i = n.tuple_items.size(); i < arr.size(); ++i) {
        if (auto err = check(*n.additional_items, arr[i], depth + 1)) {
          return "failed to validate additional item " + std::to_string(i + 1) + ": " + *err;
        }
      }
    }
  } else if (n.items) {
    for (std::size_t i = 0; i < arr.size(); ++i) {
      if (auto err = check(*n.items, arr[i], depth + 1)) {
        return "failed to validate item " + std::to_string(i + 1) + ": " + *err;
      }
    }
  }
  if (n.unique_items) {
    if (auto dup = find_duplicate(arr)) {
      return "expected unique items but items " + std::to_string(dup->first) + " and " +
             std::to_string(dup->second) + " are equal";
    }
  }
  return std::nullopt;
}

Failure check_string(const Node& n, const std::string_view s) {
  if (n.min_length || n.max_length) {
    const std::size_t len = lua_text::utf8_length(s);
    if (n.min_length && len < *n.min_length) {
      return "string too short, expected at least " + std::to_string(*n.min_length) + ", got " +
             std::to_string(len);
    }
    if (n.max_length && len > *n.max_length) {
      return "string too long, expected at most " + std::to_string(*n.max_length) + ", got " +
             std::to_string(len);
    }
  }
  if (n.pattern && !re_find(*n.pattern->re, s)) {
    return "failed to match pattern " + lua_text::quote(n.pattern->source) + " with " +
           lua_text::quote(s);
  }
  return std::nullopt;
}

Failure check_number(const Node& n, const json::value& v) {
  const double d = lua_text::to_double(v);
  auto range = [&](const Bound& b, const char* relation) {
    return "expected " + lua_text::number(d) + " to be " + relation + " " + b.text;
  };
  if (n.minimum && d < n.minimum->value) return range(*n.minimum, "at least");
  if (n.exclusive_minimum && d <= n.exclusive_minimum->value) {
    return range(*n.exclusive_minimum, "greater than");
  }
  if (n.maximum && d > n.maximum->value) return range(*n.maximum, "at most");
  if (n.exclusive_maximum && d >= n.exclusive_maximum->value) {
    return range(*n.exclusive_maximum, "smaller than");
  }
  if (n.multiple_of) {
    const double m = n.multiple_of->value;
    bool ok;
    if (std::fmod(m, 1.0) == 0.0) {
      ok = d - std::floor(d / m) * m == 0.0;  // Lua's floored modulo
    } else {
      const double q = d / m;
      ok = std::trunc(q) == q;
    }
    if (!ok)
      return "expected " + lua_text::number(d) + " to be a multiple of " + n.multiple_of->text;
  }
  return std::nullopt;
}

Failure check_format(Format format, const json::value& v) {
  if (!v.is_string()) return std::nullopt;
  const std::string s(v.get_string());
  switch (format) {
    case Format::kIpv4:
      if (!valid_ip(AF_INET, s)) return "expect valid ipv4 address but got: " + s;
      break;
    case Format::kIpv6:
      if (!valid_ip(AF_INET6, s)) return "expect valid ipv6 address but got: " + s;
      break;
    case Format::kEmail:
      if (!re_find(email_re(), s)) return "expect valid email address but got: " + s;
      break;
    case Format::kHostname:
      // The Lua library says "ipv4" here too; kept for identical messages.
      if (!re_find(hostname_re(), s)) return "expect valid ipv4 address but got: " + s;
      break;
    case Format::kNone:
      break;
  }
  return std::nullopt;
}

Failure check(const Node& n, const json::value& v, int depth) {
  if (depth > kMaxDepth) return std::string("schema nesting too deep");
  if (n.constant) {
    if (*n.constant) return std::nullopt;
    return std::string("expect false always");
  }
  if (n.target != nullptr) return check(*n.target, v, depth + 1);

  if (n.types != 0 && !has_type(n.types, v)) {
    std::string expected;
    for (const auto& name : n.type_names) {
      if (!expected.empty()) expected += ", ";
      expected += name;
    }
    return std::string(n.type_is_list ? "wrong type: expected one of " : "wrong type: expected ") +
           expected + ", got " + std::string(lua_text::type_name(v));
  }

  // Missing properties with a default are filled in (on a copy) before the
  // object keywords and if/then/else look at the object, as in the Lua library.
  json::value filled;
  if (n.object_keywords && v.is_object()) {
    for (const auto& [name, schema] : n.properties) {
      if (schema->default_value && !v.get_object().contains(name)) {
        if (filled.is_null()) filled = v;
        filled.get_object()[name] = *schema->default_value;
      }
    }
  }
  if (!filled.is_null()) return check(n, filled, depth);  // everything present now: no loop
  if (n.object_keywords) {
    if (acts_as_object(v)) {
      if (auto err = check_object(n, v, depth)) return err;
    }
    // An empty `required` list means "must be an empty table" to the Lua library.
    if (n.has_required && n.required.empty() && !is_empty_container(v)) {
      return std::string("the input data should be an empty table");
    }
  }
  if ((n.array_keywords || !n.tuple_items.empty() || n.items) && acts_as_array(v)) {
    if (auto err = check_array(n, v, depth)) return err;
  }
  if (v.is_string()) {
    if (auto err = check_string(n, v.get_string())) return err;
  }
  if (is_number(v)) {
    if (auto err = check_number(n, v)) return err;
  }
  if (n.enum_values) {
    const bool found = std::any_of(n.enum_values->begin(), n.enum_values->end(),
                                   [&](const json::value& e) { return lua_equal(e, v); });
    if (!found) return std::string("matches none of the enum values");
  }
  for (std::size_t i = 0; i < n.all_of.size(); ++i) {
    if (auto err = check(*n.all_of[i], v, depth + 1)) {
      return "allOf " + std::to_string(i + 1) + " failed: " + *err;
    }
  }
  if (!n.any_of.empty()) {
    const bool any = std::any_of(n.any_of.begin(), n.any_of.end(),
                                 [&](const NodePtr& sub) { return !check(*sub, v, depth + 1); });
    if (!any) return "object matches none of the required" + n.any_of_required;
  }
  if (!n.one_of.empty()) {
    std::size_t matched = 0;
    for (std::size_t i = 0; i < n.one_of.size(); ++i) {
      if (check(*n.one_of[i], v, depth + 1)) continue;
      if (matched != 0) {
        return "value should match only one schema, but matches both schemas " +
               std::to_string(matched) + " and " + std::to_string(i + 1);
      }
      matched = i + 1;
    }
    if (matched == 0) return std::string("value should match only one schema, but matches none");
  }
  if (n.if_schema) {
    const bool matched = !check(*n.if_schema, v, depth + 1);
    if (matched && n.then_schema && check(*n.then_schema, v, depth + 1)) {
      return std::string("then clause did not match");
    }
    if (!matched && n.else_schema && check(*n.else_schema, v, depth + 1)) {
      return std::string("else clause did not match");
    }
  }
  if (n.not_schema && !check(*n.not_schema, v, depth + 1)) {
    return std::string("value wasn't supposed to match schema");
  }
  if (n.format != Format::kNone) {
    if (auto err = check_format(n.format, v)) return err;
  }
  if (n.const_value && !lua_equal(*n.const_value, v))
    return std::string("failed to check const value");
  if (n.contains_constant) {
    if (*n.contains_constant && !(v.is_array() && !v.get_array().empty())) {
      return std::string("check contains: expect array table");
    }
    if (!*n.contains_constant && (v.is_array() || v.is_object())) {
      return std::string("check contains: expect table");
    }
  } else if (n.contains && acts_as_array(v)) {
    const json::array* arr = v.if_array();
    if (arr == nullptr || arr->empty())
      return std::string("check contains: empty array is invalid");
    const bool any = std::any_of(arr->begin(), arr->end(), [&](const json::value& item) {
      return !check(*n.contains, item, depth + 1);
    });
    if (!any) return std::string("failed to check contains");
  }
  return std::nullopt;
}

class CompiledSchema final : public JsonSchema {
 public:
  CompiledSchema(NodePtr root, std::map<std::string, NodePtr> definitions)
      : root_(std::move(root)), definitions_(std::move(definitions)) {}

  core::Status validate(const json::value& value) const override {
    if (auto err = check(*root_, value, 0)) return core::config_error(std::move(*err));
    return core::ok_status();
  }

 private:
  NodePtr root_;
  std::map<std::string, NodePtr> definitions_;  // targets of $ref, kept alive
};

}  // namespace

std::unique_ptr<JsonSchema> make_compiled_schema(NodePtr root,
                                                 std::map<std::string, NodePtr> definitions) {
  return std::make_unique<CompiledSchema>(std::move(root), std::move(definitions));
}

}  // namespace schema_detail
}  // namespace torii::config
