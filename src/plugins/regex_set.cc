// RegexSet: user patterns validated one by one (for precise errors and the
// out-of-memory fallback), then compiled together into an RE2::Set.
#include "plugins/regex_set.h"

#include <re2/re2.h>
#include <re2/set.h>

#include "router/user_regex.h"

namespace torii::plugins {

struct RegexSet::Compiled {
  explicit Compiled(const re2::RE2::Options& options) : set(options, re2::RE2::UNANCHORED) {}
  re2::RE2::Set set;
};

RegexSet::RegexSet() = default;
RegexSet::RegexSet(RegexSet&&) noexcept = default;
RegexSet& RegexSet::operator=(RegexSet&&) noexcept = default;
RegexSet::~RegexSet() = default;

core::Result<RegexSet> RegexSet::build(std::span<const std::string> patterns,
                                       std::string_view field, bool case_insensitive) {
  RegexSet out;
  if (patterns.empty()) return out;
  re2::RE2::Options options;
  // Bytes, like PCRE without the "u" flag (ngx.re's "jo").
  options.set_encoding(re2::RE2::Options::EncodingLatin1);
  options.set_case_sensitive(!case_insensitive);
  options.set_log_errors(false);
  out.set_ = std::make_unique<Compiled>(options);
  size_t index = 0;
  for (const std::string& p : patterns) {
    ++index;
    auto re = router::compile_user_regex(p, case_insensitive);
    auto fail = [&](const std::string& reason) {
      return core::config_error("property \"" + std::string(field) +
                                "\" validation failed: failed to validate item " +
                                std::to_string(index) + ": " + reason);
    };
    if (!re) return fail(re.error().message);
    std::string error;
    if (out.set_->set.Add(p, &error) < 0) return fail("invalid regex \"" + p + "\": " + error);
    out.patterns_.push_back(std::move(*re));
  }
  if (!out.set_->set.Compile()) {
    return core::config_error(
        "property \"" + std::string(field) +
        "\" validation failed: the patterns are too large to compile together");
  }
  return out;
}

bool RegexSet::matches(std::string_view subject) const {
  if (patterns_.empty()) return false;
  re2::StringPiece text(subject.data(), subject.size());
  re2::RE2::Set::ErrorInfo info{};
  if (set_->set.Match(text, nullptr, &info)) return true;
  if (info.kind == re2::RE2::Set::kNoError) return false;
  // The DFA gave up (memory budget): decide with the patterns one by one.
  for (const auto& re : patterns_) {
    if (re2::RE2::PartialMatch(text, *re)) return true;
  }
  return false;
}

}  // namespace torii::plugins
