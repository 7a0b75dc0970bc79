// How the limit-* plugins (and api-breaker's header values) turn request
// variables into text: APISIX's `core.utils.resolve_var` templates and the
// `key` / `key_type` rule of limit-count, limit-req and limit-conn. Parsed
// once when the plugin instance is built; rendering per request only
// appends to a caller's string.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/result.h"
#include "http/variables.h"

namespace torii::plugins {
class PluginContext;
}

namespace torii::plugins::limits {

// A `resolve_var` template: `$name` or `${name}` (name: letters, digits,
// '_'), not preceded by a backslash, is replaced by the variable's value; a
// nil variable becomes "" and does not count as resolved. Everything else
// is copied as is (a backslash before '$' stays).
class VarTemplate {
 public:
  static VarTemplate parse(std::string_view text);

  // Appends the rendered text to `out`; returns how many variables were
  // non-nil (APISIX's n_resolved).
  size_t render(const http::VarSource& vars, std::string& out) const;
  std::string render(const http::VarSource& vars) const;
  bool has_vars() const { return has_vars_; }
  const std::string& text() const { return text_; }

 private:
  struct Piece {
    std::string literal;              // copied as is
    std::optional<http::VarRef> var;  // then this variable, when set
  };
  std::vector<Piece> pieces_;
  std::string text_;
  bool has_vars_ = false;
};

enum class KeyType : uint8_t { kVar, kVarCombination, kConstant };

// "var" | "var_combination" | "constant"; anything else: kVar.
KeyType parse_key_type(std::string_view s);

// A limit key: a variable name (var), a template (var_combination) or a
// literal (constant). When the variable is nil, or no variable of the
// template resolved, the client address is used instead, as APISIX does.
class LimitKey {
 public:
  LimitKey() = default;
  LimitKey(KeyType type, std::string_view key);
  // A conf's own `key_type` / `key` (default "var" / "remote_addr").
  static LimitKey from_conf(const boost::json::object& conf);
  // Appends this request's key to `out`.
  void append(const PluginContext& ctx, std::string& out) const;

 private:
  KeyType type_ = KeyType::kVar;
  http::VarRef var_;
  VarTemplate tpl_;
  std::string constant_;
};

// A number given either literally or as a template resolved per request
// (limit-count's count/time_window, limit-req's rate/burst).
class NumberSpec {
 public:
  NumberSpec() = default;
  explicit NumberSpec(double value) : value_(value) {}
  explicit NumberSpec(std::string_view tpl) : tpl_(VarTemplate::parse(tpl)), dynamic_(true) {}
  // A conf value that passed its schema: a string is a template, anything
  // else a number.
  static NumberSpec from_conf(const boost::json::value& v);
  bool dynamic() const { return dynamic_; }
  double fixed() const { return value_; }
  // The value for this request, or nullopt with `err` set to APISIX's
  // message ("resolved value is not a number").
  std::optional<double> resolve(const http::VarSource& vars, std::string& err) const;

 private:
  double value_ = 0;
  VarTemplate tpl_;
  bool dynamic_ = false;
};

// Readers of a conf that passed its schema: the field, or `def` when it is
// absent (defaults live in the code, never in stored objects).
int64_t conf_int(const boost::json::object& conf, std::string_view name, int64_t def);
double conf_number(const boost::json::object& conf, std::string_view name, double def);
bool conf_bool(const boost::json::object& conf, std::string_view name, bool def);
std::string conf_string(const boost::json::object& conf, std::string_view name,
                        std::string_view def);

// APISIX's `rules` (limit-count, limit-req, limit-conn): calls `add(rule,
// key, position)` for each object of `rules` (position from 1), with its
// `key` parsed as a template; a key text seen before is refused with
// APISIX's "duplicate key '<key>' in rules".
core::Status for_each_rule(
    const boost::json::array& rules,
    const std::function<void(const boost::json::object&, VarTemplate, size_t)>& add);

// Lua's tostring of a number ("%.14g"): 60 -> "60", 59.5 -> "59.5".
std::string lua_number(double v);

}  // namespace torii::plugins::limits
