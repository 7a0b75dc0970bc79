// saturate<Int>(v): a number from untrusted input (a JSON double or int64,
// a computed duration) converted to a narrower integer without undefined
// behaviour. Schemas often bound a field from one side only (a weight of
// 1e24 is a valid "integer"), and converting a floating value outside the
// target's range, or NaN, is undefined in C++.
#pragma once

#include <concepts>
#include <limits>
#include <utility>

namespace torii::core {

// Contract:
//   - a value inside Int's range converts as static_cast would (a floating
//     value is truncated toward zero: 2.9 -> 2, -2.9 -> -2);
//   - a value above Int's maximum (+inf included) gives the maximum;
//   - a value below Int's minimum (-inf included) gives the minimum;
//   - NaN gives the minimum (callers that range-check then refuse it).
// Never undefined, never throws; usable in constant expressions.
template <std::integral Int, class From>
  requires std::integral<From> || std::floating_point<From>
constexpr Int saturate(From v) {
  using Limits = std::numeric_limits<Int>;
  if constexpr (std::integral<From>) {
    if (std::cmp_less(v, Limits::min())) return Limits::min();
    if (std::cmp_greater(v, Limits::max())) return Limits::max();
    return static_cast<Int>(v);
  } else {
    // Int's min is 0 or -2^k, exact in any floating type; its max 2^k - 1
    // may round up to 2^k, hence >= (a value equal to that bound is out).
    if (!(v > static_cast<From>(Limits::min()))) return Limits::min();
    if (v >= static_cast<From>(Limits::max())) return Limits::max();
    return static_cast<Int>(v);
  }
}

}  // namespace torii::core
