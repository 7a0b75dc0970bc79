// PathPattern: compiles `:name` / `*name` route paths into tokens and
// matches them by backtracking with a failure memo, so several wildcards
// stay linear per wildcard on hostile paths instead of exploding like a
// naive regex.
#include "router/path_pattern.h"

#include <algorithm>
#include <array>
#include <cstdint>

namespace torii::router {

// For each wildcard, the lowest start position from which it is known to
// fail. A failure from start s means the rest of the pattern failed at every
// end >= s, so later attempts skip those ends: each end is tried at most once
// per wildcard, O(wildcards * path length * pattern length) in total.
class PathPattern::Memo {
 public:
  explicit Memo(uint32_t wildcards) {
    if (wildcards <= stack_.size()) {
      data_ = stack_.data();
    } else {
      heap_.resize(wildcards);
      data_ = heap_.data();
    }
    std::fill(data_, data_ + wildcards, kNever);
  }
  size_t failed_from(int32_t w) const { return data_[w]; }
  void fail_from(int32_t w, size_t pos) { data_[w] = std::min(data_[w], pos); }

 private:
  static constexpr size_t kNever = SIZE_MAX;
  std::array<size_t, 16> stack_;
  std::vector<size_t> heap_;
  size_t* data_ = nullptr;
};

std::optional<PathPattern> PathPattern::compile(std::string_view path) {
  // Split on '/', dropping trailing empty segments, then re-add one '/' if
  // the path ends with one: the shape of radixtree's ngx.re.split + concat.
  std::vector<std::string_view> segments;
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    segments.push_back(path.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  while (!segments.empty() && segments.back().empty()) segments.pop_back();

  PathPattern p;
  auto add_literal = [&p](std::string_view text) {
    if (text.empty()) return;
    if (!p.tokens_.empty() && p.tokens_.back().kind == Token::Kind::kLiteral) {
      p.tokens_.back().text.append(text);
    } else {
      p.tokens_.push_back(Token{Token::Kind::kLiteral, std::string(text)});
    }
  };
  bool special = false;
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) add_literal("/");
    std::string_view seg = segments[i];
    if (!seg.empty() && seg[0] == ':') {
      special = true;
      p.tokens_.push_back(Token{Token::Kind::kParam, std::string(seg.substr(1)),
                                static_cast<int32_t>(p.captures_++)});
    } else if (!seg.empty() && seg[0] == '*') {
      special = true;
      Token t{Token::Kind::kWildcard, std::string(seg.substr(1))};
      if (!t.text.empty()) t.capture = static_cast<int32_t>(p.captures_++);
      t.wildcard = static_cast<int32_t>(p.wildcards_++);
      p.tokens_.push_back(std::move(t));
    } else {
      add_literal(seg);
    }
  }
  if (!path.empty() && path.back() == '/') add_literal("/");
  if (!special) return std::nullopt;
  const bool trailing_bare_star =
      p.tokens_.size() == 2 && p.tokens_[0].kind == Token::Kind::kLiteral &&
      p.tokens_[1].kind == Token::Kind::kWildcard && p.tokens_[1].capture < 0;
  if (trailing_bare_star || (p.tokens_.size() == 1 && p.captures_ == 0)) return std::nullopt;
  return p;
}

bool PathPattern::match(std::string_view path, Params& params) const {
  const size_t base = params.size();
  params.resize(base + captures_);
  Memo memo(wildcards_);
  bool ok = match_from(0, 0, path, params, base, &memo);
  if (!ok) params.resize(base);
  return ok;
}

bool PathPattern::match_from(size_t tok, size_t pos, std::string_view path, Params& params,
                             size_t base, Memo* memo) const {
  for (; tok < tokens_.size(); ++tok) {
    const Token& t = tokens_[tok];
    switch (t.kind) {
      case Token::Kind::kLiteral:
        if (path.size() - pos < t.text.size() || path.compare(pos, t.text.size(), t.text) != 0) {
          return false;
        }
        pos += t.text.size();
        break;
      case Token::Kind::kParam: {
        // [^/]+ is always followed by '/' or the end, so it takes the
        // whole segment: no backtracking needed.
        size_t end = path.find('/', pos);
        if (end == std::string_view::npos) end = path.size();
        if (end == pos) return false;
        params[base + t.capture] = {t.text, path.substr(pos, end - pos)};
        pos = end;
        break;
      }
      case Token::Kind::kWildcard: {
        if (tok + 1 == tokens_.size()) {
          if (t.capture >= 0) params[base + t.capture] = {t.text, path.substr(pos)};
          return true;
        }
        // Greedy: the longest tail first, as PCRE's (.|\n)* would; ends
        // already known to fail are skipped.
        const size_t failed_from = memo->failed_from(t.wildcard);
        if (failed_from <= pos) return false;
        const size_t first = std::min(path.size(), failed_from - 1);
        for (size_t end = first + 1; end-- > pos;) {
          if (match_from(tok + 1, end, path, params, base, memo)) {
            if (t.capture >= 0) params[base + t.capture] = {t.text, path.substr(pos, end - pos)};
            return true;
          }
        }
        memo->fail_from(t.wildcard, pos);
        return false;
      }
    }
  }
  return pos == path.size();
}

}  // namespace torii::router
