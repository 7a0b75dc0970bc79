// An nginx-style log format ("$remote_addr - [$time_local] \"$request\"")
// compiled once into literal and variable segments, rendered per request
// from a VarSource. A nil variable renders as "-", like nginx.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/variables.h"

namespace torii::observability {

class LogFormat {
 public:
  explicit LogFormat(std::string_view format);
  // Appends one rendered line (with '\n') to `out`.
  void render(const http::VarSource& vars, std::string& out) const;

 private:
  struct Segment {
    std::string literal;  // emitted before the variable
    bool has_var = false;
    http::VarRef var;
  };
  std::vector<Segment> segments_;
};

}  // namespace torii::observability
