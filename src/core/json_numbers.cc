#include "core/json_numbers.h"

#include <cmath>

namespace torii::core {

// Recursion is bounded by the parser's depth limit (Boost.JSON: 32).
bool json_numbers_finite(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::double_: return std::isfinite(v.get_double());
    case boost::json::kind::array:
      for (const auto& e : v.get_array()) {
        if (!json_numbers_finite(e)) return false;
      }
      return true;
    case boost::json::kind::object:
      for (const auto& kv : v.get_object()) {
        if (!json_numbers_finite(kv.value())) return false;
      }
      return true;
    default: return true;
  }
}

}  // namespace torii::core
