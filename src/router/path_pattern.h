// Route paths with `:name` segments and `*` / `*name` wildcards, matched
// against a whole request path as lua-resty-radixtree's compare_param does
// with its generated regex: `:name` is `[^/]+`, a segment starting with `*`
// is `.*` (greedy), everything else is literal. Captures come back as
// (name, value) views; an unnamed `*` captures nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace torii::router {

class PathPattern {
 public:
  using Params = std::vector<std::pair<std::string_view, std::string_view>>;

  // Compiles a route path as written. nullopt when the pattern would add
  // nothing to the radix tree's prefix check: no `:`/`*` segment at all, or
  // only a final bare `*` after literal text.
  static std::optional<PathPattern> compile(std::string_view path);

  // True when `path` matches as a whole. On true, appends one entry per
  // named capture to `params` (names are views into this pattern); on false,
  // `params` is left as it was. Allocates only to grow `params` (and for
  // patterns with more than 16 wildcards).
  bool match(std::string_view path, Params& params) const;

 private:
  struct Token {
    enum class Kind : uint8_t { kLiteral, kParam, kWildcard };
    Kind kind = Kind::kLiteral;
    std::string text;       // literal bytes, or the capture name
    int32_t capture = -1;   // slot in the appended params, -1 for none
    int32_t wildcard = -1;  // ordinal among wildcards, for the failure memo
  };
  class Memo;

  bool match_from(size_t tok, size_t pos, std::string_view path, Params& params, size_t base,
                  Memo* memo) const;

  std::vector<Token> tokens_;
  uint32_t captures_ = 0;
  uint32_t wildcards_ = 0;
};

}  // namespace torii::router
