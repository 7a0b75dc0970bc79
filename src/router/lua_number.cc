// lua_tonumber: the string grammar LuaJIT's tonumber accepts, validated by
// hand, then converted with strtod so rounding and overflow match C's.
#include "router/lua_number.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

namespace torii::router {
namespace {

bool is_lua_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// Digits with an optional '.', at least one digit overall; returns the
// index after the mantissa or npos.
template <class IsDigit>
size_t scan_mantissa(std::string_view s, size_t i, IsDigit is_d) {
  size_t digits = 0;
  while (i < s.size() && is_d(s[i])) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && is_d(s[i])) ++i, ++digits;
  }
  return digits == 0 ? std::string_view::npos : i;
}

size_t scan_exponent(std::string_view s, size_t i, char lower, char upper) {
  if (i >= s.size() || (s[i] != lower && s[i] != upper)) return i;
  ++i;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t start = i;
  while (i < s.size() && is_digit(s[i])) ++i;
  return i == start ? std::string_view::npos : i;
}

double parse_hex(std::string_view s) {
  // s is a validated hex mantissa with an optional binary exponent.
  double v = 0;
  int exp2 = 0;
  size_t i = 0;
  bool frac = false;
  for (; i < s.size() && s[i] != 'p' && s[i] != 'P'; ++i) {
    if (s[i] == '.') {
      frac = true;
      continue;
    }
    v = v * 16 + hex_value(s[i]);
    if (frac) exp2 -= 4;
  }
  if (i < s.size()) {
    ++i;
    bool neg = s[i] == '-';
    if (s[i] == '+' || s[i] == '-') ++i;
    long e = 0;
    for (; i < s.size(); ++i) e = std::min(e * 10 + (s[i] - '0'), 100000L);
    exp2 += static_cast<int>(neg ? -e : e);
  }
  return std::ldexp(v, exp2);
}

double parse_decimal(std::string_view s) {
  std::array<char, 64> buf;
  if (s.size() < buf.size()) {
    std::memcpy(buf.data(), s.data(), s.size());
    buf[s.size()] = '\0';
    return std::strtod(buf.data(), nullptr);
  }
  std::string copy(s);
  return std::strtod(copy.c_str(), nullptr);
}

}  // namespace

std::optional<double> lua_tonumber(std::string_view s) {
  while (!s.empty() && is_lua_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_lua_space(s.back())) s.remove_suffix(1);
  if (s.empty()) return std::nullopt;

  bool neg = false;
  size_t i = 0;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    i = 1;
  }
  if (i + 1 < s.size() && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
    size_t start = i + 2;
    size_t end = scan_mantissa(s, start, is_hex);
    if (end == std::string_view::npos) return std::nullopt;
    end = scan_exponent(s, end, 'p', 'P');
    if (end != s.size()) return std::nullopt;
    double v = parse_hex(s.substr(start));
    return neg ? -v : v;
  }
  size_t end = scan_mantissa(s, i, is_digit);
  if (end == std::string_view::npos) return std::nullopt;
  end = scan_exponent(s, end, 'e', 'E');
  if (end != s.size()) return std::nullopt;
  // The grammar above excludes "inf"/"nan", which strtod would accept.
  return parse_decimal(s);
}

}  // namespace torii::router
