#include "http/header_edits.h"

#include <algorithm>

#include "http/safe_field.h"

namespace torii::http {

void HeaderEdits::push(Op op, std::string_view name, std::string_view value) {
  // Rendered from variables, a name or value may carry CR LF: escaped, it
  // cannot end its line (http/safe_field.h).
  std::string name_scratch, value_scratch;
  name = safe_field(name, name_scratch);
  value = safe_field(value, value_scratch);
  if (count_ == edits_.size()) {
    // Copied before the vector grows: `name` or `value` may view an entry
    // that the growth moves.
    Edit fresh{op, std::string(name), std::string(value)};
    edits_.push_back(std::move(fresh));
  } else {
    // A spare slot past count_: nothing outside can view it.
    Edit& e = edits_[count_];
    e.op = op;
    e.name.assign(name.data(), name.size());
    e.value.assign(value.data(), value.size());
  }
  ++count_;
}

void HeaderEdits::replace_named(size_t end) {
  const std::string_view name = edits_[end].name;
  if ((named_lengths_ & length_bit(name)) == 0) return;  // no earlier edit names it
  for (size_t i = 0; i < end; ++i) {
    if (edits_[i].op != Op::kReplaced && iequals(edits_[i].name, name)) edits_[i].op = Op::kReplaced;
  }
}

void HeaderEdits::set(std::string_view name, std::string_view value) {
  const uint64_t bit = length_bit(name);
  push(Op::kSet, name, value);
  replace_named(count_ - 1);
  named_lengths_ |= bit;
  dropping_lengths_ |= bit;
}

void HeaderEdits::add(std::string_view name, std::string_view value) {
  named_lengths_ |= length_bit(name);
  push(Op::kAdd, name, value);
}

void HeaderEdits::remove(std::string_view name) {
  const uint64_t bit = length_bit(name);
  push(Op::kRemove, name, {});
  replace_named(count_ - 1);
  named_lengths_ |= bit;
  dropping_lengths_ |= bit;
}

bool HeaderEdits::drops(std::string_view name) const {
  if ((dropping_lengths_ & length_bit(name)) == 0) return false;
  for (size_t i = 0; i < count_; ++i) {
    const Edit& e = edits_[i];
    if ((e.op == Op::kSet || e.op == Op::kRemove) && iequals(e.name, name)) return true;
  }
  return false;
}

std::optional<std::string_view> HeaderEdits::value(std::string_view name, bool& decided) const {
  decided = false;
  if ((named_lengths_ & length_bit(name)) == 0) return std::nullopt;
  for (size_t i = count_; i-- > 0;) {
    const Edit& e = edits_[i];
    if (e.op == Op::kReplaced || !iequals(e.name, name)) continue;
    decided = true;
    if (e.op == Op::kRemove) return std::nullopt;
    return std::string_view(e.value);
  }
  return std::nullopt;
}

void HeaderEdits::append_to(std::string& out) const {
  for (size_t i = 0; i < count_; ++i) {
    const Edit& e = edits_[i];
    if (!e.adds()) continue;
    out.append(e.name).append(": ").append(e.value).append("\r\n");
  }
}

}  // namespace torii::http
