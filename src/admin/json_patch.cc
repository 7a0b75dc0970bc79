// Merge PATCH and sub-path PATCH (apisix/core/table.lua merge / patch).
#include "admin/json_patch.h"

#include <string>
#include <vector>

namespace torii::admin {

namespace json = boost::json;

void merge_patch(json::object& target, const json::object& patch) {
  for (const auto& [key, value] : patch) {
    if (value.is_null()) {
      target.stable_erase(key);  // keeps the order of the other keys
      continue;
    }
    auto* current = target.if_contains(key);
    if (value.is_object() && current != nullptr && current->is_object() &&
        !current->get_object().empty()) {
      merge_patch(current->get_object(), value.get_object());
      continue;
    }
    target[key] = value;
  }
}

core::Status patch_sub_path(json::object& root, std::string_view sub_path, json::value value) {
  std::vector<std::string_view> segments;
  std::size_t start = 0;
  while (true) {
    const auto slash = sub_path.find('/', start);
    segments.push_back(
        sub_path.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }

  json::object* node = &root;
  std::string walked;
  for (std::size_t i = 0; i + 1 < segments.size(); ++i) {
    walked += '/';
    walked += segments[i];
    if (!node->contains(segments[i])) (*node)[segments[i]] = json::object();
    json::value& child = (*node)[segments[i]];
    if (!child.is_object()) return core::config_error("invalid sub-path: " + walked);
    node = &child.get_object();
  }

  const std::string_view last = segments.back();
  if (!last.empty()) {
    (*node)[last] = std::move(value);
    return core::ok_status();
  }
  if (!value.is_object()) return core::config_error("invalid configuration");
  root = std::move(value.get_object());
  return core::ok_status();
}

}  // namespace torii::admin
