// Changes to a header list, recorded by plugins and applied once when the
// head is serialised (request heads sent upstream, response heads sent to
// the client). Names compare case-insensitively; applying keeps the
// original order of untouched headers, then appends set and added ones.
//
// One HeaderEdits serves every request of a connection: clear() keeps the
// recorded entries' string buffers, so the same edits on the next request
// (a plugin's X-RateLimit-* headers) cost no allocation. Names and values
// are copied in; a view passed in may point anywhere, even into this
// object's own entries. Control bytes in them (a CR LF rendered from a
// client's $arg_x) are stored escaped as %XX (http/safe_field.h).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http/request.h"

namespace torii::http {

class HeaderEdits {
 public:
  // kReplaced: an edit a later set/remove of the same name overrode; it
  // neither adds nor drops anything.
  enum class Op : uint8_t { kSet, kAdd, kRemove, kReplaced };
  struct Edit {
    Op op;
    std::string name;
    std::string value;
    // True for a header this edit puts in the head (set or add).
    bool adds() const { return op == Op::kSet || op == Op::kAdd; }
  };

  // set: replaces every header of that name (the last set wins);
  // add: appends one more; remove: drops every one, including earlier sets/adds.
  void set(std::string_view name, std::string_view value);
  void add(std::string_view name, std::string_view value);
  void remove(std::string_view name);
  void clear() {
    count_ = 0;
    named_lengths_ = dropping_lengths_ = 0;
  }
  bool empty() const { return count_ == 0; }

  // True when an original header of this name must not be copied (it was
  // set or removed).
  bool drops(std::string_view name) const;
  // The value a header has after the edits, if they decide it: the last set
  // or add; `removed` true when it was removed after that.
  std::optional<std::string_view> value(std::string_view name, bool& decided) const;
  // Appends "Name: value\r\n" for every set and added header still present.
  void append_to(std::string& out) const;
  // The edits in the order they were made; skip those without adds().
  std::span<const Edit> edits() const { return {edits_.data(), count_}; }

 private:
  void push(Op op, std::string_view name, std::string_view value);
  // Marks the edits before index `end` that name edits_[end]'s header as
  // kReplaced.
  void replace_named(size_t end);

  // Bit (length % 64) of a header name. A name whose bit is clear in
  // named_lengths_ has no edit (set() has nothing to replace); clear in
  // dropping_lengths_, no set or remove (drops() is false). Most upstream
  // headers and most sets are answered so, without comparing names.
  static uint64_t length_bit(std::string_view name) { return uint64_t{1} << (name.size() % 64); }

  std::vector<Edit> edits_;  // the first count_ are this request's; the rest are spare buffers
  size_t count_ = 0;
  uint64_t named_lengths_ = 0;     // every edit's name
  uint64_t dropping_lengths_ = 0;  // the names of sets and removes
};

}  // namespace torii::http
