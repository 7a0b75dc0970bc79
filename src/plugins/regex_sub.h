// ngx.re.match / ngx.re.sub / ngx.re.gsub as APISIX plugins use them
// (proxy-rewrite and redirect `regex_uri`, response-rewrite `filters`), on
// RE2. Compiled once when a plugin instance is built; matching is
// thread-safe and allocates nothing but the output string.
//
// The replacement template is ngx.re.sub's: `$0`..`$N` and `${N}` insert
// captures (a group that did not take part inserts ""), `$$` is a literal
// '$', any other '$' is a compile error ("failed to compile the replacement
// template", as ngx_lua says).
//
// Options are ngx.re's letters: i (caseless), m (multi-line), s (dot matches
// newline), u / U (UTF-8; otherwise bytes, as PCRE without "u"), a
// (anchored); j, o, d, D, J only tune PCRE and are accepted. "x" (extended)
// has no RE2 equivalent and is refused. Patterns RE2 cannot run
// (look-around, back-references) are refused with RE2's reason.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace re2 {
class RE2;
}

namespace torii::plugins {

class RegexSub {
 public:
  // Errors are the bare reason ("failed to compile the replacement
  // template", "RE2 cannot compile the pattern: ..."); callers add the
  // field and values the way their APISIX message does.
  static core::Result<RegexSub> compile(std::string_view pattern, std::string_view replacement,
                                        std::string_view options = "jo");

  // Unanchored search (anchored with "a"). On a match fills `caps` with the
  // whole match and every group (a group that did not take part is an
  // empty view) and returns true.
  bool match(std::string_view subject, std::vector<std::string_view>& caps) const;

  // Replaces the first match (global = false) or every match, appending the
  // result to `out`. Returns the number of replacements.
  size_t substitute(std::string_view subject, std::string& out, bool global) const;

  // The replacement with `caps` (as filled by match()) applied, appended.
  void expand(std::span<const std::string_view> caps, std::string& out) const;

 private:
  struct Part {
    bool capture = false;
    size_t group = 0;
    std::string text;
  };
  std::shared_ptr<const re2::RE2> re_;
  bool anchored_ = false;
  std::vector<Part> replacement_;
};

}  // namespace torii::plugins
