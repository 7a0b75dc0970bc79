#include "plugins/regex_sub.h"

#include <re2/re2.h>

namespace torii::plugins {
namespace {

// ngx_http_lua_script_compile's grammar for the replacement.
core::Status parse_replacement(std::string_view tpl, auto& parts, auto make_part) {
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) {
      parts.push_back(make_part(false, 0, std::move(literal)));
      literal.clear();
    }
  };
  const core::Error bad = core::config_error("failed to compile the replacement template");
  size_t i = 0;
  while (i < tpl.size()) {
    if (tpl[i] != '$') {
      literal.push_back(tpl[i++]);
      continue;
    }
    ++i;
    if (i >= tpl.size()) return bad;
    if (tpl[i] == '$') {
      literal.push_back('$');
      ++i;
      continue;
    }
    bool bracket = false;
    if (tpl[i] == '{') {
      bracket = true;
      ++i;
    }
    if (i >= tpl.size() || tpl[i] < '0' || tpl[i] > '9') return bad;
    size_t n = 0;
    while (i < tpl.size() && tpl[i] >= '0' && tpl[i] <= '9') {
      if (n < 100000) n = n * 10 + static_cast<size_t>(tpl[i] - '0');
      ++i;
    }
    if (bracket) {
      if (i >= tpl.size() || tpl[i] != '}') return bad;
      ++i;
    }
    flush();
    parts.push_back(make_part(true, n, std::string()));
  }
  flush();
  return core::ok_status();
}

}  // namespace

core::Result<RegexSub> RegexSub::compile(std::string_view pattern, std::string_view replacement,
                                         std::string_view options) {
  RE2::Options opts;
  opts.set_log_errors(false);
  opts.set_encoding(RE2::Options::EncodingLatin1);
  std::string prefix;
  RegexSub r;
  for (char c : options) {
    switch (c) {
      case 'i':
        opts.set_case_sensitive(false);
        break;
      case 'm':
        prefix += "(?m)";
        break;
      case 's':
        prefix += "(?s)";
        break;
      case 'u':
      case 'U':
        opts.set_encoding(RE2::Options::EncodingUTF8);
        break;
      case 'a':
        r.anchored_ = true;
        break;
      case 'j':
      case 'o':
      case 'd':
      case 'D':
      case 'J':
        break;
      case 'x':
        return core::config_error("the \"x\" (extended) regex option is not supported");
      default:
        return core::config_error("unknown flag \"" + std::string(1, c) + "\" (flags \"" +
                                  std::string(options) + "\")");
    }
  }
  const std::string full = prefix + std::string(pattern);
  auto re = std::make_shared<RE2>(re2::StringPiece(full.data(), full.size()), opts);
  if (!re->ok()) {
    return core::config_error("RE2 cannot compile the pattern: " + re->error());
  }
  r.re_ = std::move(re);
  auto make = [](bool capture, size_t group, std::string text) {
    return Part{capture, group, std::move(text)};
  };
  if (auto st = parse_replacement(replacement, r.replacement_, make); !st) return st.error();
  return r;
}

namespace {

// RE2's Match with string_view captures; the StringPiece scratch is per
// thread so a match allocates nothing once warm.
bool match_at(const RE2& re, std::string_view subject, size_t pos, bool anchored,
              std::vector<std::string_view>& caps) {
  thread_local std::vector<re2::StringPiece> pieces;
  const int n = re.NumberOfCapturingGroups() + 1;
  pieces.assign(static_cast<size_t>(n), re2::StringPiece());
  const re2::StringPiece text(subject.data(), subject.size());
  if (!re.Match(text, pos, subject.size(), anchored ? RE2::ANCHOR_START : RE2::UNANCHORED,
                pieces.data(), n)) {
    return false;
  }
  caps.resize(static_cast<size_t>(n));
  for (size_t i = 0; i < pieces.size(); ++i) {
    caps[i] = pieces[i].data() ? std::string_view(pieces[i].data(), pieces[i].size())
                               : std::string_view();
  }
  return true;
}

}  // namespace

bool RegexSub::match(std::string_view subject, std::vector<std::string_view>& caps) const {
  return match_at(*re_, subject, 0, anchored_, caps);
}

void RegexSub::expand(std::span<const std::string_view> caps, std::string& out) const {
  for (const auto& p : replacement_) {
    if (!p.capture) {
      out.append(p.text);
    } else if (p.group < caps.size()) {
      out.append(caps[p.group]);
    }
  }
}

size_t RegexSub::substitute(std::string_view subject, std::string& out, bool global) const {
  thread_local std::vector<std::string_view> caps;
  size_t pos = 0;
  size_t count = 0;
  while (pos <= subject.size()) {
    if (!match_at(*re_, subject, pos, anchored_, caps)) break;
    const size_t start = static_cast<size_t>(caps[0].data() - subject.data());
    const size_t end = start + caps[0].size();
    out.append(subject.substr(pos, start - pos));
    expand(caps, out);
    ++count;
    if (!global) {
      pos = end;
      break;
    }
    if (end == start) {
      // An empty match: copy one byte and search again after it.
      if (end < subject.size()) out.push_back(subject[end]);
      pos = end + 1;
    } else {
      pos = end;
    }
    if (anchored_) break;
  }
  if (pos < subject.size()) out.append(subject.substr(pos));
  return count;
}

}  // namespace torii::plugins
