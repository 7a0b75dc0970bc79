// JSON Schema compiler: turns a schema document into the immutable node
// tree of json_schema_node.h, compiling patterns with RE2 and resolving
// $ref, and refuses malformed schemas with the JSON pointer of the keyword.
#include <cmath>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "config/json_schema.h"
#include "config/json_schema_lua_text.h"
#include "config/json_schema_node.h"
#include "core/saturate.h"

namespace torii::config::schema_detail {
namespace {

bool is_number(const json::value& v) { return v.is_int64() || v.is_uint64() || v.is_double(); }

// ---------------------------------------------------------------------------
// Compilation.

class Compiler {
 public:
  explicit Compiler(const json::value& root) : root_(root) {}

  core::Result<NodePtr> compile_root() {
    if (const auto* obj = root_.if_object()) {
      if (const auto* defs = obj->if_contains("definitions")) {
        if (!defs->is_object()) return fail("/definitions", "must be an object");
        for (const auto& def : defs->get_object()) {
          auto node = compile(def.value(), "/definitions/" + escape(def.key()));
          if (!node) return node.error();
          definitions_.emplace(std::string(def.key()), std::move(node.value()));
        }
      }
    }
    auto root = compile(root_, "");
    if (!root) return root.error();
    for (const auto& [node, pointer] : refs_) {
      if (node->ref == "#") {
        node->target = root.value().get();
        continue;
      }
      constexpr std::string_view kPrefix = "#/definitions/";
      const auto it = node->ref.rfind(kPrefix, 0) == 0
                          ? definitions_.find(node->ref.substr(kPrefix.size()))
                          : definitions_.end();
      if (it == definitions_.end())
        return fail(pointer + "/$ref", "unresolvable reference " + node->ref);
      node->target = it->second.get();
    }
    return root;
  }

  std::map<std::string, NodePtr> take_definitions() { return std::move(definitions_); }

 private:
  static std::string escape(std::string_view token) {
    std::string out;
    for (const char c : token) {
      if (c == '~') {
        out += "~0";
      } else if (c == '/') {
        out += "~1";
      } else {
        out.push_back(c);
      }
    }
    return out;
  }

  static core::Error fail(const std::string& pointer, const std::string& what) {
    return core::Error{core::ErrorKind::kInvalid, core::ErrorSource::kInternal, false,
                       (pointer.empty() ? std::string("/") : pointer) + ": " + what};
  }

  static std::optional<std::uint64_t> count(const json::value& v) {
    if (v.is_uint64()) return v.get_uint64();
    if (v.is_int64() && v.get_int64() >= 0) return static_cast<std::uint64_t>(v.get_int64());
    // An integral double past uint64 (maxLength 1e20) is a bound no input
    // reaches either way: the largest count says the same.
    if (v.is_double() && v.get_double() >= 0 && std::fmod(v.get_double(), 1.0) == 0.0) {
      return core::saturate<std::uint64_t>(v.get_double());
    }
    return std::nullopt;
  }

  core::Result<Pattern> compile_pattern(const json::value& v, const std::string& pointer) {
    if (!v.is_string()) return fail(pointer, "must be a string");
    Pattern p;
    p.source = std::string(v.get_string());
    RE2::Options options;
    options.set_log_errors(false);
    p.re = std::make_unique<RE2>(p.source, options);
    if (!p.re->ok()) return fail(pointer, "RE2 cannot compile pattern: " + p.re->error());
    return p;
  }

  core::Result<std::vector<NodePtr>> compile_list(const json::value& v,
                                                  const std::string& pointer) {
    if (!v.is_array() || v.get_array().empty()) return fail(pointer, "must be a non-empty array");
    std::vector<NodePtr> out;
    for (std::size_t i = 0; i < v.get_array().size(); ++i) {
      auto node = compile(v.get_array()[i], pointer + "/" + std::to_string(i));
      if (!node) return node.error();
      out.push_back(std::move(node.value()));
    }
    return out;
  }

  static core::Result<std::vector<std::string>> string_list(const json::value& v,
                                                            const std::string& pointer) {
    if (!v.is_array()) return fail(pointer, "must be an array of strings");
    std::vector<std::string> out;
    for (const auto& item : v.get_array()) {
      if (!item.is_string()) return fail(pointer, "must be an array of strings");
      out.emplace_back(item.get_string());
    }
    return out;
  }

  static core::Status set_type(Node& n, const json::value& v, const std::string& pointer) {
    auto add = [&](std::string_view name) -> bool {
      static const std::pair<std::string_view, unsigned> kNames[] = {
          {"null", kNullBit},     {"boolean", kBooleanBit}, {"object", kObjectBit},
          {"array", kArrayBit},   {"number", kNumberBit},   {"integer", kIntegerBit},
          {"string", kStringBit},
      };
      for (const auto& [known, bit] : kNames) {
        if (known == name) {
          n.types |= bit;
          n.type_names.emplace_back(name);
          return true;
        }
      }
      return false;
    };
    if (v.is_string()) {
      if (!add(v.get_string())) return fail(pointer, "unknown type");
      return core::ok_status();
    }
    if (!v.is_array() || v.get_array().empty())
      return fail(pointer, "must be a type name or a list of them");
    n.type_is_list = true;
    for (const auto& item : v.get_array()) {
      if (!item.is_string() || !add(item.get_string())) return fail(pointer, "unknown type");
    }
    return core::ok_status();
  }

  core::Result<NodePtr> compile(const json::value& v, const std::string& pointer) {
    auto n = std::make_unique<Node>();
    if (v.is_bool()) {
      n->constant = v.get_bool();
      return n;
    }
    if (!v.is_object()) return fail(pointer, "a schema must be an object or a boolean");
    const auto& s = v.get_object();

    if (const auto* ref = s.if_contains("$ref")) {
      // As in draft 7 and api7/jsonschema, $ref replaces its siblings.
      if (!ref->is_string()) return fail(pointer + "/$ref", "must be a string");
      n->ref = std::string(ref->get_string());
      refs_.emplace_back(n.get(), pointer);
      return n;
    }

    for (const auto& kw : s) {
      const std::string key(kw.key());
      const json::value& val = kw.value();
      const std::string at = pointer + "/" + escape(key);

      if (key == "type") {
        if (auto st = set_type(*n, val, at); !st) return st.error();
      } else if (key == "properties") {
        if (!val.is_object()) return fail(at, "must be an object");
        n->object_keywords = true;
        for (const auto& prop : val.get_object()) {
          auto sub = compile(prop.value(), at + "/" + escape(prop.key()));
          if (!sub) return sub.error();
          n->properties.emplace_back(std::string(prop.key()), std::move(sub.value()));
        }
      } else if (key == "required") {
        auto list = string_list(val, at);
        if (!list) return list.error();
        n->object_keywords = true;
        n->has_required = true;
        n->required = std::move(list.value());
      } else if (key == "additionalProperties") {
        n->object_keywords = true;
        if (val.is_bool()) {
          n->restrict_additional = !val.get_bool();
        } else {
          auto sub = compile(val, at);
          if (!sub) return sub.error();
          n->restrict_additional = true;
          n->additional_schema = std::move(sub.value());
        }
      } else if (key == "patternProperties") {
        if (!val.is_object()) return fail(at, "must be an object");
        n->object_keywords = true;
        for (const auto& prop : val.get_object()) {
          const std::string prop_at = at + "/" + escape(prop.key());
          auto pat = compile_pattern(json::value(prop.key()), prop_at);
          if (!pat) return pat.error();
          auto sub = compile(prop.value(), prop_at);
          if (!sub) return sub.error();
          n->pattern_properties.push_back({std::move(pat.value()), std::move(sub.value())});
        }
      } else if (key == "minProperties" || key == "maxProperties") {
        const auto c = count(val);
        if (!c) return fail(at, "must be a non-negative integer");
        n->object_keywords = true;
        (key == "minProperties" ? n->min_properties : n->max_properties) = c;
      } else if (key == "dependencies") {
        if (!val.is_object()) return fail(at, "must be an object");
        n->object_keywords = true;
        for (const auto& dep : val.get_object()) {
          const std::string dep_at = at + "/" + escape(dep.key());
          Dependency d;
          d.property = std::string(dep.key());
          if (dep.value().is_array()) {
            auto list = string_list(dep.value(), dep_at);
            if (!list) return list.error();
            d.required = std::move(list.value());
          } else {
            auto sub = compile(dep.value(), dep_at);
            if (!sub) return sub.error();
            d.schema = std::move(sub.value());
          }
          n->dependencies.push_back(std::move(d));
        }
      } else if (key == "items") {
        n->array_keywords = true;
        if (val.is_bool()) {
          n->items_constant = val.get_bool();
        } else if (val.is_array()) {
          auto list = compile_list(val, at);
          if (!list) return list.error();
          n->tuple_items = std::move(list.value());
        } else {
          auto sub = compile(val, at);
          if (!sub) return sub.error();
          n->items = std::move(sub.value());
        }
      } else if (key == "additionalItems") {
        if (val.is_bool()) {
          n->additional_items_constant = val.get_bool();
        } else {
          auto sub = compile(val, at);
          if (!sub) return sub.error();
          n->additional_items = std::move(sub.value());
        }
      } else if (key == "minItems" || key == "maxItems") {
        const auto c = count(val);
        if (!c) return fail(at, "must be a non-negative integer");
        n->array_keywords = true;
        (key == "minItems" ? n->min_items : n->max_items) = c;
      } else if (key == "uniqueItems") {
        if (!val.is_bool()) return fail(at, "must be a boolean");
        n->array_keywords = n->array_keywords || val.get_bool();
        n->unique_items = val.get_bool();
      } else if (key == "minLength" || key == "maxLength") {
        const auto c = count(val);
        if (!c) return fail(at, "must be a non-negative integer");
        (key == "minLength" ? n->min_length : n->max_length) = c;
      } else if (key == "pattern") {
        auto pat = compile_pattern(val, at);
        if (!pat) return pat.error();
        n->pattern = std::move(pat.value());
      } else if (key == "minimum" || key == "maximum" || key == "exclusiveMinimum" ||
                 key == "exclusiveMaximum" || key == "multipleOf") {
        // Draft 4's boolean exclusiveMinimum is not supported by the Lua
        // library either; a number is required.
        if (!is_number(val)) return fail(at, "must be a number");
        Bound b{lua_text::to_double(val), lua_text::number(lua_text::to_double(val))};
        if (key == "multipleOf" && b.value <= 0) return fail(at, "must be greater than 0");
        if (key == "minimum") n->minimum = b;
        if (key == "maximum") n->maximum = b;
        if (key == "exclusiveMinimum") n->exclusive_minimum = b;
        if (key == "exclusiveMaximum") n->exclusive_maximum = b;
        if (key == "multipleOf") n->multiple_of = b;
      } else if (key == "enum") {
        if (!val.is_array() || val.get_array().empty())
          return fail(at, "must be a non-empty array");
        n->enum_values = val.get_array();
      } else if (key == "const") {
        n->const_value = val;
      } else if (key == "default") {
        n->default_value = val;
      } else if (key == "allOf" || key == "anyOf" || key == "oneOf") {
        auto list = compile_list(val, at);
        if (!list) return list.error();
        if (key == "allOf") n->all_of = std::move(list.value());
        if (key == "oneOf") n->one_of = std::move(list.value());
        if (key == "anyOf") {
          n->any_of = std::move(list.value());
          // The Lua library lists each subschema's `required` in its message.
          std::string listed;
          for (const auto& sub : val.get_array()) {
            const auto* obj = sub.if_object();
            const auto* req = obj != nullptr ? obj->if_contains("required") : nullptr;
            if (req == nullptr) continue;
            auto names = string_list(*req, at);
            if (!names) return names.error();
            if (!listed.empty()) listed += " or ";
            listed += lua_text::encode_string_array(names.value());
          }
          if (!listed.empty()) n->any_of_required = ": " + listed;
        }
      } else if (key == "if" || key == "then" || key == "else" || key == "not") {
        auto sub = compile(val, at);
        if (!sub) return sub.error();
        if (key == "if") n->if_schema = std::move(sub.value());
        if (key == "then") n->then_schema = std::move(sub.value());
        if (key == "else") n->else_schema = std::move(sub.value());
        if (key == "not") n->not_schema = std::move(sub.value());
      } else if (key == "format") {
        if (!val.is_string()) return fail(at, "must be a string");
        const std::string_view f = val.get_string();
        // Other formats are annotations only, as in the Lua library.
        if (f == "ipv4") n->format = Format::kIpv4;
        if (f == "ipv6") n->format = Format::kIpv6;
        if (f == "email") n->format = Format::kEmail;
        if (f == "hostname") n->format = Format::kHostname;
      } else if (key == "contains") {
        if (val.is_bool()) {
          n->contains_constant = val.get_bool();
        } else {
          auto sub = compile(val, at);
          if (!sub) return sub.error();
          n->contains = std::move(sub.value());
        }
      }
      // Anything else (default, description, title, $comment, definitions,
      // encrypt_fields, ...) is an annotation: ignored, as draft 7 says.
    }
    return n;
  }

  const json::value& root_;
  std::map<std::string, NodePtr> definitions_;
  std::vector<std::pair<Node*, std::string>> refs_;
};

}  // namespace
}  // namespace torii::config::schema_detail

namespace torii::config {

core::Result<std::unique_ptr<JsonSchema>> JsonSchema::compile(const boost::json::value& schema) {
  schema_detail::Compiler compiler(schema);
  auto root = compiler.compile_root();
  if (!root) return root.error();
  return std::unique_ptr<JsonSchema>(
      schema_detail::make_compiled_schema(std::move(root.value()), compiler.take_definitions()));
}
}  // namespace torii::config
