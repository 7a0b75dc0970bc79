#include "plugins/var_template.h"

#include <cstdio>

namespace torii::plugins {
namespace {

bool is_word(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }

size_t word_end(std::string_view s, size_t from) {
  while (from < s.size() && is_word(s[from])) ++from;
  return from;
}

}  // namespace

void VarTemplate::add_literal(std::string_view s) {
  if (s.empty()) return;
  if (!parts_.empty() && parts_.back().kind == Kind::kLiteral) {
    parts_.back().text.append(s);
    return;
  }
  Part p;
  p.text = std::string(s);
  parts_.push_back(std::move(p));
}

VarTemplate VarTemplate::compile(std::string_view tpl, Grammar grammar, bool captures) {
  VarTemplate t;
  size_t i = 0;
  auto add_var = [&](std::string_view name) {
    Part p;
    p.kind = Kind::kVar;
    p.var = http::VarRef::parse(name);
    t.parts_.push_back(std::move(p));
  };
  while (i < tpl.size()) {
    const char c = tpl[i];
    if (grammar == Grammar::kRedirect && c == '\\') {
      // `\$name` stays as written; any other backslash matches nothing in
      // redirect's segment regex and is dropped.
      if (i + 2 < tpl.size() && tpl[i + 1] == '$' && is_word(tpl[i + 2])) {
        size_t end = word_end(tpl, i + 2);
        t.add_literal(tpl.substr(i, end - i));
        i = end;
      } else {
        ++i;
      }
      continue;
    }
    const bool escaped = grammar == Grammar::kResolveVar && i > 0 && tpl[i - 1] == '\\';
    if (c != '$' || escaped) {
      t.add_literal(tpl.substr(i, 1));
      ++i;
      continue;
    }
    // c == '$'
    if (captures) {
      // resolve_var_with_captures: \$\{?(\d+)\}?
      size_t j = i + 1;
      if (j < tpl.size() && tpl[j] == '{') ++j;
      if (j < tpl.size() && is_digit(tpl[j])) {
        size_t k = j;
        size_t n = 0;
        while (k < tpl.size() && is_digit(tpl[k])) {
          n = n < 100000 ? n * 10 + static_cast<size_t>(tpl[k] - '0') : n;
          ++k;
        }
        if (k < tpl.size() && tpl[k] == '}') ++k;
        Part p;
        p.kind = Kind::kCapture;
        p.capture = n;
        t.parts_.push_back(std::move(p));
        i = k;
        continue;
      }
    }
    if (i + 1 < tpl.size() && tpl[i + 1] == '{') {
      size_t end = word_end(tpl, i + 2);
      if (end > i + 2 && end < tpl.size() && tpl[end] == '}') {
        add_var(tpl.substr(i + 2, end - i - 2));
        i = end + 1;
        continue;
      }
    }
    size_t end = word_end(tpl, i + 1);
    if (end > i + 1) {
      add_var(tpl.substr(i + 1, end - i - 1));
      i = end;
      continue;
    }
    t.add_literal("$");
    ++i;
  }
  return t;
}

void VarTemplate::render(const http::VarSource& vars, std::string& out,
                         std::span<const std::string_view> captures, Escape escape) const {
  for (const auto& p : parts_) {
    switch (p.kind) {
      case Kind::kLiteral:
        out.append(p.text);
        break;
      case Kind::kVar:
        if (auto v = vars.get(p.var)) {
          if (escape) {
            escape(*v, out);
          } else {
            out.append(*v);
          }
        }
        break;
      case Kind::kCapture:
        if (p.capture < captures.size()) out.append(captures[p.capture]);
        break;
    }
  }
}

std::string lua_tostring(const boost::json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (!v.is_number()) return std::string();
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.14g", v.to_number<double>());
  return buf;
}

void uri_safe_encode(std::string_view in, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : in) {
    const auto b = static_cast<unsigned char>(ch);
    const bool escape = b <= 0x20 || b == '#' || b == '%' || b == '?' || b >= 0x7f;
    if (escape) {
      out.push_back('%');
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xf]);
    } else {
      out.push_back(ch);
    }
  }
}

std::string uri_safe_encode(std::string_view in) {
  std::string out;
  out.reserve(in.size() + 8);
  uri_safe_encode(in, out);
  return out;
}

}  // namespace torii::plugins
