// RadixTree construction: insertion with edge splitting, then packing into
// depth-first flat arrays with the ancestor links that let a lookup
// enumerate matching prefixes longest first.
#include "router/radix_tree.h"

#include <algorithm>

namespace torii::router {

RadixTree::RadixTree() { nodes_.emplace_back(); }

uint32_t RadixTree::insert(std::string_view key, uint32_t value) {
  uint32_t node = 0;
  size_t pos = 0;
  while (true) {
    if (pos == key.size()) {
      if (nodes_[node].value == kNone) nodes_[node].value = value;
      return nodes_[node].value;
    }
    uint32_t next = build_child(node, key[pos]);
    if (next == kNone) {
      Node leaf;
      leaf.label = std::string(key.substr(pos));
      leaf.value = value;
      uint32_t id = static_cast<uint32_t>(nodes_.size());
      nodes_.push_back(std::move(leaf));
      nodes_[node].firsts.push_back(key[pos]);
      nodes_[node].children.push_back(id);
      return value;
    }
    std::string_view rest = key.substr(pos);
    const std::string& label = nodes_[next].label;
    size_t common = 0;
    size_t limit = std::min(label.size(), rest.size());
    while (common < limit && label[common] == rest[common]) ++common;
    if (common == label.size()) {
      node = next;
      pos += common;
      continue;
    }
    // Split the edge: parent -> mid (shared part) -> next (its remainder).
    Node mid;
    mid.label = label.substr(0, common);
    mid.firsts.push_back(label[common]);
    mid.children.push_back(next);
    uint32_t mid_id = static_cast<uint32_t>(nodes_.size());
    nodes_[next].label.erase(0, common);
    nodes_.push_back(std::move(mid));
    Node& parent = nodes_[node];
    for (uint32_t& c : parent.children) {
      if (c == next) c = mid_id;
    }
    node = mid_id;
    pos += common;
  }
}

void RadixTree::finish() {
  // Depth-first preorder: a node's first child lands right after it, so a
  // walk down one branch touches neighbouring memory.
  std::vector<uint32_t> order;
  order.reserve(nodes_.size());
  std::vector<uint32_t> stack{0};
  while (!stack.empty()) {
    uint32_t n = stack.back();
    stack.pop_back();
    order.push_back(n);
    const auto& children = nodes_[n].children;
    for (auto it = children.rbegin(); it != children.rend(); ++it) stack.push_back(*it);
  }
  std::vector<uint32_t> new_id(nodes_.size(), kNone);
  for (uint32_t i = 0; i < order.size(); ++i) new_id[order[i]] = i;

  packed_.assign(order.size(), Packed{});
  bytes_.clear();
  kids_.clear();
  for (uint32_t i = 0; i < order.size(); ++i) {
    const Node& n = nodes_[order[i]];
    Packed& p = packed_[i];
    p.bytes_at = static_cast<uint32_t>(bytes_.size());
    p.label_len = static_cast<uint32_t>(n.label.size());
    bytes_.append(n.label);
    bytes_.append(n.firsts);
    p.kids_at = static_cast<uint32_t>(kids_.size());
    p.kids = static_cast<uint32_t>(n.children.size());
    for (uint32_t c : n.children) kids_.push_back(new_id[c]);
    p.value = n.value;
  }
  // Preorder visits parents before children, so `up` is ready when read.
  for (uint32_t i = 0; i < packed_.size(); ++i) {
    const Packed& p = packed_[i];
    uint32_t link = p.value != kNone ? i : p.up;
    for (uint32_t k = 0; k < p.kids; ++k) packed_[kids_[p.kids_at + k]].up = link;
  }
  nodes_.clear();
  nodes_.shrink_to_fit();
}

}  // namespace torii::router
