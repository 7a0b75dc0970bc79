// HTTP methods as a bitmask-friendly enum, in APISIX's route `methods` enum.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace torii::http {

enum class Method : uint16_t {
  kGet = 1 << 0,
  kPost = 1 << 1,
  kPut = 1 << 2,
  kDelete = 1 << 3,
  kPatch = 1 << 4,
  kHead = 1 << 5,
  kOptions = 1 << 6,
  kConnect = 1 << 7,
  kTrace = 1 << 8,
  kPurge = 1 << 9,
  kOther = 1 << 15,  // any other token (never in a route's method set)
};

// Parses an upper-case method token; nullopt when it is not one of APISIX's ten.
std::optional<Method> parse_method(std::string_view token);

// RFC 9110 9.2.2: methods a proxy may retry after a partial failure.
inline bool is_idempotent(Method m) {
  return m == Method::kGet || m == Method::kHead || m == Method::kPut || m == Method::kDelete ||
         m == Method::kOptions || m == Method::kTrace;
}

}  // namespace torii::http
