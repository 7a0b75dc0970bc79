#include "config/standalone_file.h"

#include <boost/json.hpp>
#include <fstream>
#include <set>
#include <sstream>

#include "config/yaml_json.h"
#include "core/json_numbers.h"

namespace torii::config {
namespace {

using core::config_error;

// Collections APISIX's standalone file may carry. `plugins` (the enabled
// list) is a plain array, not a collection of objects, and is handled apart.
const std::set<std::string, std::less<>>& known_collections() {
  static const std::set<std::string, std::less<>> c = {
      "routes",         "services",        "upstreams", "consumers",    "ssls",
      "global_rules",   "plugin_configs",  "consumer_groups", "plugin_metadata",
      "stream_routes",  "protos",          "secrets",   "credentials",
  };
  return c;
}

bool has_end_marker(std::string_view content) {
  // The last non-blank line must be "#END".
  size_t end = content.size();
  while (end > 0 && (content[end - 1] == '\n' || content[end - 1] == '\r' ||
                     content[end - 1] == ' ' || content[end - 1] == '\t')) {
    --end;
  }
  const size_t start = content.rfind('\n', end == 0 ? 0 : end - 1);
  std::string_view last = content.substr(start == std::string_view::npos ? 0 : start + 1,
                                         end - (start == std::string_view::npos ? 0 : start + 1));
  return last == "#END";
}

std::string id_string(const boost::json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  return {};
}

}  // namespace

core::Result<ResourceSet> parse_standalone(std::string_view content, FileFormat format) {
  boost::json::value root;
  if (format == FileFormat::kYaml) {
    if (!has_end_marker(content)) {
      return config_error("the file does not end with a \"#END\" line (half-written?)");
    }
    auto v = yaml_to_json(content);
    if (!v) return v.error();
    root = std::move(*v);
  } else {
    // Parsed first, then substituted in strings (APISIX's resolve_conf_var):
    // a value with a quote or a backslash cannot break or extend the document.
    boost::system::error_code ec;
    root = boost::json::parse(content, ec);
    if (ec) return config_error("invalid JSON: " + ec.message());
    if (!core::json_numbers_finite(root)) {
      return config_error("invalid JSON: a number is out of range (larger than a double holds)");
    }
    if (auto st = substitute_env_in(root); !st) return st.error();
  }
  ResourceSet set;
  if (root.is_null()) return set;
  if (!root.is_object()) return config_error("the top level must be a map of collections");
  for (const auto& [key, value] : root.get_object()) {
    if (key == "plugins") continue;  // enabled-plugin list: read by the plugin runtime
    if (!known_collections().count(key)) {
      return config_error("unknown collection \"" + std::string(key) + "\"");
    }
    if (value.is_null()) continue;
    if (!value.is_array()) {
      return config_error(std::string(key) + ": expected an array of objects");
    }
    auto& items = set.collections[std::string(key)];
    std::set<std::string> seen;
    size_t index = 0;
    for (const auto& item : value.get_array()) {
      ++index;
      const std::string where = std::string(key) + "[" + std::to_string(index) + "]";
      if (!item.is_object()) return config_error(where + ": expected an object");
      ResourceItem r;
      r.value = item.get_object();
      if (const auto* id = r.value.if_contains("id")) {
        r.id = id_string(*id);
        if (r.id.empty()) return config_error(where + ".id: expected a string or an integer");
      } else if (key == "consumers" && r.value.contains("username")) {
        r.id = id_string(r.value.at("username"));
        if (r.id.empty()) return config_error(where + ".username: expected a string or an integer");
      } else {
        r.id = "arr_" + std::to_string(index);
      }
      if (!seen.insert(r.id).second) {
        return config_error(where + ": duplicate id \"" + r.id + "\"");
      }
      items.push_back(std::move(r));
    }
  }
  return set;
}

core::Result<ResourceSet> load_standalone_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return config_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  const bool json = path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
  auto set = parse_standalone(ss.str(), json ? FileFormat::kJson : FileFormat::kYaml);
  if (!set) return config_error(path + ": " + set.error().message);
  return set;
}

}  // namespace torii::config
