// Strings with `$var` references that plugins resolve per request
// (proxy-rewrite's uri and headers, redirect's uri, response-rewrite's and
// fault-injection's headers and bodies), and the URI escaping that goes with
// them. A template is parsed once, when the plugin instance is built, into
// literal and variable parts; rendering only looks variables up and appends.
//
// Grammars (APISIX's, kept exactly):
//   kResolveVar  core.utils.resolve_var: `$name` or `${name}` (name = [0-9A-Za-z_]+)
//                not preceded by '\'; anything else is literal, '\' included.
//   kRedirect    redirect's parse_uri: as kResolveVar, but `\$name` is kept
//                literally (backslash included) and any other '\' is dropped.
// With `captures` (proxy-rewrite header values), `$N` / `${N}` (digits) are
// regex_uri captures instead of variables; a missing capture renders "".
// A variable the request does not have renders as "" (APISIX: nil -> "").
#pragma once

#include <boost/json/value.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http/variables.h"

namespace torii::plugins {

class VarTemplate {
 public:
  enum class Grammar : uint8_t { kResolveVar, kRedirect };

  VarTemplate() = default;
  static VarTemplate compile(std::string_view tpl, Grammar grammar = Grammar::kResolveVar,
                             bool captures = false);

  // True when the template has no variable or capture part.
  bool is_literal() const {
    return parts_.size() <= 1 && (parts_.empty() || parts_[0].kind == Kind::kLiteral);
  }
  // The whole text of a literal template (valid when is_literal()).
  std::string_view literal() const { return parts_.empty() ? std::string_view() : parts_[0].text; }

  // Appends the resolved text to `out`. `escape`, when given, rewrites each
  // variable value (never literals or captures) as it is appended.
  using Escape = void (*)(std::string_view value, std::string& out);
  void render(const http::VarSource& vars, std::string& out,
              std::span<const std::string_view> captures = {}, Escape escape = nullptr) const;
  std::string render(const http::VarSource& vars, std::span<const std::string_view> captures = {},
                     Escape escape = nullptr) const {
    std::string out;
    render(vars, out, captures, escape);
    return out;
  }

 private:
  enum class Kind : uint8_t { kLiteral, kVar, kCapture };
  struct Part {
    Kind kind = Kind::kLiteral;
    std::string text;    // kLiteral
    http::VarRef var;    // kVar
    size_t capture = 0;  // kCapture
  };
  void add_literal(std::string_view s);
  std::vector<Part> parts_;
};

// A header value or body from config as Lua sees it: a string as is, a
// number as tostring() prints it ("%.14g": 1 -> "1", 1.5 -> "1.5").
std::string lua_tostring(const boost::json::value& v);

// core.utils.uri_safe_encode: nginx's ngx_escape_uri(NGX_ESCAPE_URI), which
// %-escapes control bytes, space, '#', '%', '?', DEL and bytes >= 0x80
// (upper-case hex). Appends to `out`.
void uri_safe_encode(std::string_view in, std::string& out);
std::string uri_safe_encode(std::string_view in);

}  // namespace torii::plugins
