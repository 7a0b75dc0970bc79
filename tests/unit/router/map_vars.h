// Test helper: a VarSource backed by a map from the variable's name as
// written in config ("arg_a", "http_x_id", "remote_addr") to its value.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "http/variables.h"

namespace torii::router::testing {

class MapVars final : public http::VarSource {
 public:
  MapVars() = default;
  MapVars(std::initializer_list<std::pair<const std::string, std::string>> values)
      : values_(values) {}
  std::optional<std::string_view> get(const http::VarRef& ref) const override {
    auto it = values_.find(ref.original);
    if (it == values_.end()) return std::nullopt;
    return std::string_view(it->second);
  }
  void set(std::string name, std::string value) { values_[std::move(name)] = std::move(value); }

 private:
  std::map<std::string, std::string> values_;
};

}  // namespace torii::router::testing
