#include "config/yaml_json.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>

namespace torii::config {
namespace {

using core::config_error;

// yaml-cpp resolves an alias to the anchored node itself, so an anchor used
// inside its own definition is a cycle, and nested aliases expand
// exponentially ("billion laughs"). Bound both: the depth (a JSON file gets
// Boost.JSON's limit of 32; this is far above any real config), and the
// values produced (aliases may repeat a subtree, but not without bound).
constexpr int kMaxDepth = 128;
constexpr size_t kMinValueBudget = size_t{1} << 16;
constexpr size_t kValuesPerInputByte = 64;

struct Limits {
  size_t values_left;
};

boost::json::value typed_scalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  const char* b = s.data();
  const char* e = b + s.size();
  int64_t i = 0;
  if (auto [p, ec] = std::from_chars(b, e, i); ec == std::errc() && p == e) return i;
  const bool numeric_start = (s[0] >= '0' && s[0] <= '9') || s[0] == '-' || s[0] == '.';
  if (numeric_start) {
    double d = 0;
    if (auto [p, ec] = std::from_chars(b, e, d); ec == std::errc() && p == e) return d;
  }
  return boost::json::string(s);
}

core::Result<boost::json::value> convert(const YAML::Node& n, int depth, Limits& limits) {
  if (depth > kMaxDepth) {
    return config_error("line " + std::to_string(n.Mark().line + 1) + ": nested deeper than " +
                        std::to_string(kMaxDepth) + " levels (an alias inside its own anchor?)");
  }
  if (limits.values_left == 0) {
    return config_error("line " + std::to_string(n.Mark().line + 1) +
                        ": aliases expand to too many values");
  }
  --limits.values_left;
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return boost::json::value(nullptr);
    case YAML::NodeType::Scalar: {
      const std::string& raw = n.Scalar();
      auto text = substitute_env(raw);
      if (!text) {
        return config_error("line " + std::to_string(n.Mark().line + 1) + ": " +
                            text.error().message);
      }
      if (*text != raw) return substituted_value(*text);
      if (n.Tag() == "!") return boost::json::value(boost::json::string(*text));  // quoted
      return typed_scalar(*text);
    }
    case YAML::NodeType::Sequence: {
      boost::json::array arr;
      arr.reserve(n.size());
      for (const auto& item : n) {
        auto v = convert(item, depth + 1, limits);
        if (!v) return v;
        arr.push_back(std::move(*v));
      }
      return boost::json::value(std::move(arr));
    }
    case YAML::NodeType::Map: {
      boost::json::object obj;
      for (const auto& kv : n) {
        auto key = substitute_env(kv.first.Scalar());
        if (!key) {
          return config_error("line " + std::to_string(kv.first.Mark().line + 1) + ": " +
                              key.error().message);
        }
        auto v = convert(kv.second, depth + 1, limits);
        if (!v) return v;
        obj[*key] = std::move(*v);
      }
      return boost::json::value(std::move(obj));
    }
  }
  return boost::json::value(nullptr);
}

}  // namespace

core::Result<std::string> substitute_env(std::string_view text) {
  if (text.find("${{") == std::string_view::npos) return std::string(text);
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t open = text.find("${{", pos);
    if (open == std::string_view::npos) {
      out.append(text.substr(pos));
      break;
    }
    const size_t close = text.find("}}", open + 3);
    if (close == std::string_view::npos) {
      out.append(text.substr(pos));
      break;
    }
    out.append(text.substr(pos, open - pos));
    std::string_view inner = text.substr(open + 3, close - open - 3);
    std::string_view def;
    bool has_default = false;
    if (const size_t d = inner.find(":="); d != std::string_view::npos) {
      def = inner.substr(d + 2);
      inner = inner.substr(0, d);
      has_default = true;
    }
    while (!inner.empty() && inner.front() == ' ') inner.remove_prefix(1);
    while (!inner.empty() && inner.back() == ' ') inner.remove_suffix(1);
    const std::string name(inner);
    if (const char* v = std::getenv(name.c_str())) {
      out.append(v);
    } else if (has_default) {
      out.append(def);
    } else {
      return config_error("can't find environment variable " + name);
    }
    pos = close + 2;
  }
  return out;
}

boost::json::value substituted_value(std::string_view text) {
  if (text == "true") return true;
  if (text == "false") return false;
  // Lua's tonumber: surrounding spaces, decimal or hexadecimal, no inf/nan.
  std::string_view t = text;
  const auto space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  while (!t.empty() && space(t.front())) t.remove_prefix(1);
  while (!t.empty() && space(t.back())) t.remove_suffix(1);
  std::string_view digits = t;
  const bool negative = !digits.empty() && digits.front() == '-';
  if (!digits.empty() && (digits.front() == '-' || digits.front() == '+')) digits.remove_prefix(1);
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    uint64_t u = 0;
    const char* b = digits.data() + 2;
    const char* e = digits.data() + digits.size();
    if (auto [p, ec] = std::from_chars(b, e, u, 16); ec == std::errc() && p == e) {
      if (!negative && u <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(u);
      const double d = static_cast<double>(u);
      return negative ? -d : d;
    }
    return boost::json::string(text);
  }
  const bool numeric_start =
      !digits.empty() && ((digits[0] >= '0' && digits[0] <= '9') ||
                          (digits[0] == '.' && digits.size() > 1 && digits[1] >= '0' && digits[1] <= '9'));
  if (numeric_start && digits.front() != '+' && digits.front() != '-') {
    const char* b = t.data() + (t.front() == '+' ? 1 : 0);
    const char* e = t.data() + t.size();
    int64_t i = 0;
    if (auto [p, ec] = std::from_chars(b, e, i); ec == std::errc() && p == e) return i;
    double d = 0;
    if (auto [p, ec] = std::from_chars(b, e, d); ec == std::errc() && p == e && std::isfinite(d)) {
      return d;
    }
  }
  return boost::json::string(text);
}

core::Status substitute_env_in(boost::json::value& v) {
  if (v.is_string()) {
    const std::string_view raw = v.get_string();
    if (raw.find("${{") == std::string_view::npos) return core::ok_status();
    auto text = substitute_env(raw);
    if (!text) return text.error();
    if (*text != raw) v = substituted_value(*text);
    return core::ok_status();
  }
  if (v.is_array()) {
    for (auto& item : v.get_array()) {
      if (auto st = substitute_env_in(item); !st) return st;
    }
    return core::ok_status();
  }
  if (v.is_object()) {
    boost::json::object& obj = v.get_object();
    bool keys_change = false;
    for (auto& [key, value] : obj) {
      if (std::string_view(key).find("${{") != std::string_view::npos) keys_change = true;
      if (auto st = substitute_env_in(value); !st) return st;
    }
    if (!keys_change) return core::ok_status();
    boost::json::object renamed;
    for (auto& [key, value] : obj) {
      auto name = substitute_env(key);
      if (!name) return name.error();
      renamed[*name] = std::move(value);
    }
    obj = std::move(renamed);
  }
  return core::ok_status();
}

core::Result<boost::json::value> yaml_to_json(std::string_view yaml_text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return config_error(std::string("invalid YAML: ") + e.what());
  }
  try {
    Limits limits{std::max(kMinValueBudget, kValuesPerInputByte * yaml_text.size())};
    return convert(root, 0, limits);
  } catch (const YAML::Exception& e) {
    return config_error(std::string("invalid YAML: ") + e.what());
  }
}

}  // namespace torii::config
