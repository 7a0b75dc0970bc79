// Typed reads of config.yaml nodes whose errors name the key:
// `config.yaml: deployment.etcd.timeout: wrong type or value "x"`.
// Shared by the loaders of config.yaml's sections.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/result.h"

namespace torii::config {

template <class T>
core::Result<T> yaml_scalar(const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar()) return core::config_error("config.yaml: " + key + ": expected a single value");
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    return core::config_error("config.yaml: " + key + ": wrong type or value \"" + n.Scalar() + "\"");
  }
}

// A list of strings; a single string is accepted as a list of one.
inline core::Result<std::vector<std::string>> yaml_string_list(const YAML::Node& n,
                                                               const std::string& key) {
  std::vector<std::string> out;
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
    return out;
  }
  if (!n.IsSequence()) return core::config_error("config.yaml: " + key + ": expected a list");
  for (size_t i = 0; i < n.size(); ++i) {
    auto v = yaml_scalar<std::string>(n[i], key + "[" + std::to_string(i) + "]");
    if (!v) return v.error();
    out.push_back(std::move(*v));
  }
  return out;
}

}  // namespace torii::config
