// Lua-compatible rendering of values in schema error messages.
#include "config/json_schema_lua_text.h"

#include <cstdio>

namespace torii::config::lua_text {

std::string_view type_name(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::double_:
      return "number";
    case boost::json::kind::string:
      return "string";
    case boost::json::kind::bool_:
      return "boolean";
    case boost::json::kind::array:
    case boost::json::kind::object:
      return "table";
    case boost::json::kind::null:
      return "userdata";
  }
  return "nil";
}

std::string number(double n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.14g", n);
  return buf;
}

double to_double(const boost::json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double()) return v.get_double();
  return 0.0;
}

std::string quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\' || c == '\n') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7f) {
      // LuaJIT (OpenResty's Lua) prints control bytes in decimal, padded to
      // three digits only when a digit follows.
      const bool digit_next = i + 1 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '9';
      char buf[8];
      std::snprintf(buf, sizeof buf, digit_next ? "\\%03u" : "\\%u", static_cast<unsigned>(c));
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
  return out;
}

namespace {

void encode_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '/':
        out += "\\/";
        break;  // cjson escapes the solidus
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

}  // namespace

std::string encode_string_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.push_back(',');
    encode_json_string(out, items[i]);
  }
  out.push_back(']');
  return out;
}

std::size_t utf8_length(std::string_view s) {
  std::size_t count = 0;
  std::size_t j = 0;
  while (j < s.size()) {
    const auto cb = static_cast<unsigned char>(s[j]);
    if (cb <= 127) {
      j += 1;
    } else if (cb >= 192 && cb <= 223) {
      j += 2;
    } else if (cb >= 224 && cb <= 239) {
      j += 3;
    } else if (cb >= 240 && cb <= 247) {
      j += 4;
    } else {
      // The Lua original never advances here and loops forever; we count
      // the byte as one character instead.
      j += 1;
    }
    ++count;
  }
  return count;
}

}  // namespace torii::config::lua_text
