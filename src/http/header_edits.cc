#include "http/header_edits.h"

#include <algorithm>

namespace torii::http {

void HeaderEdits::set(std::string name, std::string value) {
  std::erase_if(edits_, [&](const Edit& e) { return iequals(e.name, name); });
  edits_.push_back({Op::kSet, std::move(name), std::move(value)});
}

void HeaderEdits::add(std::string name, std::string value) {
  edits_.push_back({Op::kAdd, std::move(name), std::move(value)});
}

void HeaderEdits::remove(std::string name) {
  std::erase_if(edits_, [&](const Edit& e) { return iequals(e.name, name); });
  edits_.push_back({Op::kRemove, std::move(name), {}});
}

bool HeaderEdits::drops(std::string_view name) const {
  return std::any_of(edits_.begin(), edits_.end(), [&](const Edit& e) {
    return e.op != Op::kAdd && iequals(e.name, name);
  });
}

std::optional<std::string_view> HeaderEdits::value(std::string_view name, bool& decided) const {
  decided = false;
  for (auto it = edits_.rbegin(); it != edits_.rend(); ++it) {
    if (!iequals(it->name, name)) continue;
    decided = true;
    if (it->op == Op::kRemove) return std::nullopt;
    return std::string_view(it->value);
  }
  return std::nullopt;
}

void HeaderEdits::append_to(std::string& out) const {
  for (const Edit& e : edits_) {
    if (e.op == Op::kRemove) continue;
    out.append(e.name).append(": ").append(e.value).append("\r\n");
  }
}

}  // namespace torii::http
