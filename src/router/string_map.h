// A flat hash map keyed by std::string that is looked up with a
// std::string_view, so request paths and hosts are never copied to probe it.
#pragma once

#include <boost/unordered/unordered_flat_map.hpp>
#include <functional>
#include <string>
#include <string_view>

namespace torii::router {

struct StringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

struct StringViewEqual {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
};

template <class V>
using StringMap = boost::unordered_flat_map<std::string, V, StringViewHash, StringViewEqual>;

}  // namespace torii::router
