// UriTable: turning route paths into exact keys, prefix keys and patterns
// (radixtree's common_route_data), and the per-request candidate walk.
#include "router/uri_table.h"

#include <algorithm>

namespace torii::router {

UriTable::List& UriTable::list_for_exact(std::string_view key) {
  auto [it, inserted] = exact_.try_emplace(std::string(key), static_cast<uint32_t>(lists_.size()));
  if (inserted) lists_.emplace_back();
  return lists_[it->second];
}

UriTable::List& UriTable::list_for_prefix(std::string_view key) {
  uint32_t slot = prefix_.insert(key, static_cast<uint32_t>(lists_.size()));
  if (slot == lists_.size()) lists_.emplace_back();
  return lists_[slot];
}

void UriTable::add(uint32_t route, std::string_view path, bool param_mode, int priority,
                   uint32_t order) {
  Candidate c{route, -1, priority, static_cast<uint32_t>(path.size()), order};
  // The key ends at the first ':' (parameter routers only), else at the
  // first '*'; everything after it is left to the pattern.
  size_t cut = param_mode ? path.find(':') : std::string_view::npos;
  if (cut == std::string_view::npos) cut = path.find('*');
  if (cut == std::string_view::npos) {
    list_for_exact(path).push_back(c);
    return;
  }
  // A ':' or '*' inside a segment ("/a:b", "/a*b") gives a pattern with no
  // captures; radixtree then accepts on the key alone, so such a path acts
  // as a plain prefix. Kept for compatibility.
  if (std::optional<PathPattern> p = PathPattern::compile(path)) {
    c.pattern = static_cast<int32_t>(patterns_.size());
    patterns_.push_back(std::move(*p));
  }
  list_for_prefix(path.substr(0, cut)).push_back(c);
}

void UriTable::finish() {
  for (List& list : lists_) {
    std::stable_sort(list.begin(), list.end(), [](const Candidate& a, const Candidate& b) {
      if (a.priority != b.priority) return a.priority > b.priority;
      if (a.path_length != b.path_length) return a.path_length > b.path_length;
      return a.order < b.order;
    });
  }
  prefix_.finish();
}

bool UriTable::match(const MatchRequest& request, const std::vector<RouteConditions>& routes,
                     bool check_hosts, Match& out) const {
  if (!exact_.empty()) {
    auto it = exact_.find(request.path);
    if (it != exact_.end()) {
      for (const Candidate& c : lists_[it->second]) {
        if (routes[c.route].passes(request, check_hosts)) {
          out.index = routes[c.route].index();
          return true;
        }
      }
    }
  }
  for (uint32_t node = prefix_.longest_prefix(ForwardKey{request.path}); node != RadixTree::kNone;
       node = prefix_.shorter(node)) {
    for (const Candidate& c : lists_[prefix_.value(node)]) {
      if (!routes[c.route].passes(request, check_hosts)) continue;
      if (c.pattern >= 0 && !patterns_[c.pattern].match(request.path, out.params)) continue;
      out.index = routes[c.route].index();
      return true;
    }
  }
  return false;
}

}  // namespace torii::router
