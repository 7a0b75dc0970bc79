// A list of user regexes that answers "does any of them match?" in one pass
// over the subject (RE2::Set), for plugins that take a list of patterns and
// only need a yes/no: uri-blocker `block_rules`, ua-restriction lists, cors
// `allow_origins_by_regex`. APISIX joins such lists with '|' and runs one
// unanchored ngx.re.find; a set is the same language without the cost of
// re-scanning per pattern.
//
// Compiled once, when a plugin instance is built; matching is thread-safe
// and allocates nothing. Should the DFA exhaust its memory budget on some
// subject, matching falls back to the patterns one by one, so a hostile
// subject cannot turn a block list into an allow list.
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

class RegexSet {
 public:
  // `field` names the property in errors, which read like the schema's:
  //   property "block_rules" validation failed: failed to validate item 2:
  //   invalid regex "(": missing ): (
  // An empty list builds a set that matches nothing.
  static core::Result<RegexSet> build(std::span<const std::string> patterns, std::string_view field,
                                      bool case_insensitive);

  RegexSet();
  RegexSet(RegexSet&&) noexcept;
  RegexSet& operator=(RegexSet&&) noexcept;
  ~RegexSet();

  bool empty() const { return patterns_.empty(); }
  // True when some pattern matches somewhere in `subject` (unanchored).
  bool matches(std::string_view subject) const;

 private:
  struct Compiled;
  std::unique_ptr<Compiled> set_;
  std::vector<std::unique_ptr<re2::RE2>> patterns_;
};

}  // namespace torii::plugins
