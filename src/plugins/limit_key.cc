#include "plugins/limit_key.h"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "core/saturate.h"
#include "plugins/plugin.h"

namespace torii::plugins::limits {

namespace {
bool is_word(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }
}  // namespace

VarTemplate VarTemplate::parse(std::string_view text) {
  VarTemplate t;
  t.text_ = std::string(text);
  std::string literal;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == '$' && (i == 0 || text[i - 1] != '\\')) {
      size_t j = i + 1;
      std::string_view name;
      size_t end = 0;
      if (j < text.size() && text[j] == '{') {
        size_t k = j + 1;
        while (k < text.size() && is_word(text[k])) ++k;
        if (k > j + 1 && k < text.size() && text[k] == '}') {
          name = text.substr(j + 1, k - j - 1);
          end = k + 1;
        }
      } else {
        size_t k = j;
        while (k < text.size() && is_word(text[k])) ++k;
        if (k > j) {
          name = text.substr(j, k - j);
          end = k;
        }
      }
      if (!name.empty()) {
        t.pieces_.push_back(Piece{std::move(literal), http::VarRef::parse(name)});
        literal.clear();
        t.has_vars_ = true;
        i = end;
        continue;
      }
    }
    literal.push_back(c);
    ++i;
  }
  if (!literal.empty() || t.pieces_.empty()) t.pieces_.push_back(Piece{std::move(literal), {}});
  return t;
}

size_t VarTemplate::render(const http::VarSource& vars, std::string& out) const {
  size_t resolved = 0;
  for (const auto& p : pieces_) {
    out += p.literal;
    if (p.var) {
      if (auto v = vars.get(*p.var)) {
        out += *v;
        ++resolved;
      }
    }
  }
  return resolved;
}

std::string VarTemplate::render(const http::VarSource& vars) const {
  std::string out;
  render(vars, out);
  return out;
}

KeyType parse_key_type(std::string_view s) {
  if (s == "var_combination") return KeyType::kVarCombination;
  if (s == "constant") return KeyType::kConstant;
  return KeyType::kVar;
}

LimitKey::LimitKey(KeyType type, std::string_view key) : type_(type) {
  switch (type) {
    case KeyType::kVar:
      var_ = http::VarRef::parse(key);
      break;
    case KeyType::kVarCombination:
      tpl_ = VarTemplate::parse(key);
      break;
    case KeyType::kConstant:
      constant_ = std::string(key);
      break;
  }
}

void LimitKey::append(const PluginContext& ctx, std::string& out) const {
  switch (type_) {
    case KeyType::kVar:
      if (auto v = ctx.get(var_)) {
        out += *v;
        return;
      }
      break;
    case KeyType::kVarCombination: {
      size_t mark = out.size();
      if (tpl_.render(ctx, out) > 0) return;
      out.resize(mark);
      break;
    }
    case KeyType::kConstant:
      out += constant_;
      return;
  }
  out += ctx.remote_addr();
}

NumberSpec NumberSpec::from_conf(const boost::json::value& v) {
  if (v.is_string()) return NumberSpec(std::string_view(v.get_string()));
  return NumberSpec(v.to_number<double>());
}

LimitKey LimitKey::from_conf(const boost::json::object& conf) {
  return LimitKey(parse_key_type(conf_string(conf, "key_type", "var")),
                  conf_string(conf, "key", "remote_addr"));
}

core::Status for_each_rule(
    const boost::json::array& rules,
    const std::function<void(const boost::json::object&, VarTemplate, size_t)>& add) {
  std::set<std::string, std::less<>> seen;
  size_t position = 0;
  for (const auto& item : rules) {
    ++position;
    if (!item.is_object()) continue;
    const auto& rule = item.get_object();
    std::string key = conf_string(rule, "key", "");
    if (!seen.insert(key).second) return core::config_error("duplicate key '" + key + "' in rules");
    add(rule, VarTemplate::parse(key), position);
  }
  return core::ok_status();
}

std::optional<double> NumberSpec::resolve(const http::VarSource& vars, std::string& err) const {
  if (!dynamic_) return value_;
  std::string text = tpl_.render(vars);
  // Lua's tonumber: optional surrounding spaces, decimal or hex.
  const char* begin = text.c_str();
  while (std::isspace(static_cast<unsigned char>(*begin))) ++begin;
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(begin, &end);
  if (end == begin) {
    err = "resolved value is not a number";
    return std::nullopt;
  }
  while (std::isspace(static_cast<unsigned char>(*end))) ++end;
  if (*end != '\0' || !std::isfinite(v)) {
    err = "resolved value is not a number";
    return std::nullopt;
  }
  return v;
}

int64_t conf_int(const boost::json::object& conf, std::string_view name, int64_t def) {
  const auto* v = conf.if_contains(name);
  if (!v || !v->is_number()) return def;
  if (v->is_int64()) return v->get_int64();
  return core::saturate<int64_t>(v->to_number<double>());
}

double conf_number(const boost::json::object& conf, std::string_view name, double def) {
  const auto* v = conf.if_contains(name);
  if (!v || !v->is_number()) return def;
  return v->to_number<double>();
}

bool conf_bool(const boost::json::object& conf, std::string_view name, bool def) {
  const auto* v = conf.if_contains(name);
  if (!v || !v->is_bool()) return def;
  return v->get_bool();
}

std::string conf_string(const boost::json::object& conf, std::string_view name,
                        std::string_view def) {
  const auto* v = conf.if_contains(name);
  if (!v || !v->is_string()) return std::string(def);
  return std::string(v->get_string());
}

std::string lua_number(double v) {
  char buf[32];
  // Per request (X-RateLimit-Reset): integers, the usual case, directly;
  // to_chars with precision 14 writes what "%.14g" does, without printf.
  if (v == std::trunc(v) && std::fabs(v) < 1e14 && !(v == 0 && std::signbit(v))) {
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v));
    return std::string(buf, end);
  }
  if (std::isfinite(v)) {
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 14);
    if (ec == std::errc()) return std::string(buf, end);
  }
  std::snprintf(buf, sizeof buf, "%.14g", v);
  return buf;
}

}  // namespace torii::plugins::limits
