// The raw configuration, as stored: every resource collection APISIX knows,
// each item an (id, JSON object) pair in load order. Produced by the
// standalone file loader (and later by the stores), consumed by
// SnapshotBuilder. Load order matters: it is the router's last tie-breaker.
#pragma once

#include <boost/json/object.hpp>
#include <map>
#include <string>
#include <vector>

namespace torii::config {

struct ResourceItem {
  std::string id;
  boost::json::object value;
};

struct ResourceSet {
  // "routes", "services", "upstreams", ... -> items in load order.
  std::map<std::string, std::vector<ResourceItem>, std::less<>> collections;

  const std::vector<ResourceItem>& items(std::string_view collection) const {
    static const std::vector<ResourceItem> kEmpty;
    auto it = collections.find(collection);
    return it == collections.end() ? kEmpty : it->second;
  }
};

}  // namespace torii::config
