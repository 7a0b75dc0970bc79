// Changes to a header list, recorded by plugins and applied once when the
// head is serialised (request heads sent upstream, response heads sent to
// the client). Names compare case-insensitively; applying keeps the
// original order of untouched headers, then appends set and added ones.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/request.h"

namespace torii::http {

class HeaderEdits {
 public:
  enum class Op : uint8_t { kSet, kAdd, kRemove };
  struct Edit {
    Op op;
    std::string name;
    std::string value;
  };

  // set: replaces every header of that name (the last set wins);
  // add: appends one more; remove: drops every one, including earlier sets/adds.
  void set(std::string name, std::string value);
  void add(std::string name, std::string value);
  void remove(std::string name);
  void clear() { edits_.clear(); }
  bool empty() const { return edits_.empty(); }

  // True when an original header of this name must not be copied (it was
  // set or removed).
  bool drops(std::string_view name) const;
  // The value a header has after the edits, if they decide it: the last set
  // or add; `removed` true when it was removed after that.
  std::optional<std::string_view> value(std::string_view name, bool& decided) const;
  // Appends "Name: value\r\n" for every set and added header still present.
  void append_to(std::string& out) const;
  const std::vector<Edit>& edits() const { return edits_; }

 private:
  std::vector<Edit> edits_;
};

}  // namespace torii::http
