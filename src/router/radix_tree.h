// A compressed prefix tree (radix tree) from string keys to uint32 values,
// answering "which stored keys are prefixes of this string, longest first".
// Backs the prefix paths of the URI router and the wildcard hosts of
// radixtree_host_uri (which walks the request host backwards). Built once,
// then packed into flat arrays in depth-first order for cache locality and
// read concurrently; lookups never allocate.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace torii::router {

class RadixTree {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  RadixTree();

  // Stores `value` under `key` unless the key is present; returns the value
  // now stored under `key` (the existing one when it was present). Only
  // before finish().
  uint32_t insert(std::string_view key, uint32_t value);

  // Packs the tree for lookups. Must be called once, after the last insert
  // and before any lookup.
  void finish();

  // The node of the longest stored key that is a prefix of `key` (equal
  // included), or kNone. `Key` offers size() and operator[](size_t) -> char.
  template <class Key>
  uint32_t longest_prefix(const Key& key) const;
  // The node of the next shorter stored key that is a prefix of the same
  // string, or kNone.
  uint32_t shorter(uint32_t node) const { return packed_[node].up; }
  uint32_t value(uint32_t node) const { return packed_[node].value; }
  bool empty() const {
    return packed_.size() <= 1 && (packed_.empty() || packed_[0].value == kNone);
  }

 private:
  // Build-time node.
  struct Node {
    std::string label;   // edge label from the parent; empty only at the root
    std::string firsts;  // first byte of each child's label, parallel to `children`
    std::vector<uint32_t> children;
    uint32_t value = kNone;
  };
  // Lookup-time node: its label, then its children's first bytes, sit
  // side by side in bytes_; its children's ids sit in kids_.
  struct Packed {
    uint32_t bytes_at = 0;
    uint32_t label_len = 0;
    uint32_t kids_at = 0;
    uint32_t kids = 0;
    uint32_t value = kNone;
    uint32_t up = kNone;  // nearest ancestor holding a value
  };

  uint32_t build_child(uint32_t node, char first) const {
    const Node& n = nodes_[node];
    const void* hit =
        n.firsts.empty() ? nullptr : std::memchr(n.firsts.data(), first, n.firsts.size());
    return hit ? n.children[static_cast<const char*>(hit) - n.firsts.data()] : kNone;
  }

  std::vector<Node> nodes_;  // emptied by finish()
  std::vector<Packed> packed_;
  std::string bytes_;
  std::vector<uint32_t> kids_;
};

template <class Key>
uint32_t RadixTree::longest_prefix(const Key& key) const {
  if (packed_.empty()) return kNone;
  const char* bytes = bytes_.data();
  uint32_t node = 0;
  uint32_t best = packed_[0].value != kNone ? 0 : kNone;
  size_t pos = 0;
  const size_t size = key.size();
  while (pos < size) {
    const Packed& n = packed_[node];
    if (n.kids == 0) break;
    const char* firsts = bytes + n.bytes_at + n.label_len;
    const char want = key[pos];
    // Fan-out is small (at most 256, usually a handful): an inline scan
    // beats a memchr call per level.
    uint32_t k = 0;
    while (k < n.kids && firsts[k] != want) ++k;
    if (k == n.kids) break;
    uint32_t next = kids_[n.kids_at + k];
    const Packed& c = packed_[next];
    if (c.label_len > size - pos) break;
    const char* label = bytes + c.bytes_at;
    size_t i = 1;  // label[0] == key[pos] already
    while (i < c.label_len && label[i] == key[pos + i]) ++i;
    if (i != c.label_len) break;
    pos += c.label_len;
    node = next;
    if (c.value != kNone) best = node;
  }
  return best;
}

// Key adapters for longest_prefix().
struct ForwardKey {
  std::string_view s;
  size_t size() const { return s.size(); }
  char operator[](size_t i) const { return s[i]; }
};

// Reads a string from its end: the reversed host of radixtree_host_uri
// without materialising the reversed copy.
struct ReversedKey {
  std::string_view s;
  size_t size() const { return s.size(); }
  char operator[](size_t i) const { return s[s.size() - 1 - i]; }
};

}  // namespace torii::router
