// compile_user_regex: RE2 compilation plus naming of the PCRE constructs RE2
// refuses, so a user knows what to rewrite instead of reading RE2 internals.
#include "router/user_regex.h"

#include <string>

namespace torii::router {
namespace {

// Finds the first PCRE-only construct in `p`, skipping escapes and
// character classes. Returns nullptr when none is recognised.
const char* pcre_only_construct(std::string_view p) {
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    char next = i + 1 < p.size() ? p[i + 1] : '\0';
    if (c == '\\') {
      if (!in_class) {
        if (next >= '1' && next <= '9') return "RE2 has no back-references";
        if (next == 'g' || next == 'k') return "RE2 has no back-references";
        if (next == 'K') return "RE2 has no \\K (match reset)";
      }
      ++i;
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      continue;
    }
    if (c == '[') {
      in_class = true;
      // A ']' right after '[' or '[^' is a literal member, not the end.
      if (next == '^') ++i;
      if (i + 1 < p.size() && p[i + 1] == ']') ++i;
      continue;
    }
    if (c == '(' && next == '?' && i + 2 < p.size()) {
      char k = p[i + 2];
      char k2 = i + 3 < p.size() ? p[i + 3] : '\0';
      if (k == '=' || k == '!') return "RE2 has no look-around";
      if (k == '<' && (k2 == '=' || k2 == '!')) return "RE2 has no look-around";
      if (k == '>') return "RE2 has no atomic groups";
      if (k == 'R' || k == '&' || (k >= '0' && k <= '9') || (k == 'P' && k2 == '>') || k == '+' ||
          k == '-') {
        return "RE2 has no recursion or subroutine calls";
      }
      if (k == '(') return "RE2 has no conditional groups";
      if (k == '|') return "RE2 has no branch-reset groups";
      continue;
    }
    if ((c == '*' || c == '+' || c == '?' || c == '}') && next == '+') {
      return "RE2 has no possessive quantifiers";
    }
  }
  return nullptr;
}

}  // namespace

core::Result<std::unique_ptr<re2::RE2>> compile_user_regex(std::string_view pattern,
                                                           bool case_insensitive) {
  re2::RE2::Options options;
  // Latin-1 makes RE2 work on bytes, like PCRE without UTF mode.
  options.set_encoding(re2::RE2::Options::EncodingLatin1);
  options.set_case_sensitive(!case_insensitive);
  options.set_log_errors(false);
  auto re = std::make_unique<re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (re->ok()) return re;
  std::string quoted = "\"" + std::string(pattern) + "\"";
  if (const char* construct = pcre_only_construct(pattern)) {
    return core::config_error("regex " + quoted + " is not supported: " + construct);
  }
  return core::config_error("invalid regex " + quoted + ": " + re->error());
}

}  // namespace torii::router
