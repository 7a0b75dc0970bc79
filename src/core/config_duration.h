// Durations from configured numbers (timeouts, delays).
//
// Schemas bound these from below only (APISIX: "minimum": 1, no maximum),
// and seconds past about 292 years do not fit steady_clock's int64
// nanoseconds: converted as is, such a value wraps negative (or is
// undefined behaviour), and a deadline "now + timeout" is already past, so
// every request times out at once. Converted here, anything longer than
// kMaxConfigDuration (100 years: 3.2e18 ns, so even added to any
// steady_clock reading it stays below the 9.2e18 limit) is
// kMaxConfigDuration: never, in practice.
#pragma once

#include <chrono>
#include <cstdint>

namespace torii::core {

inline constexpr std::chrono::milliseconds kMaxConfigDuration =
    std::chrono::hours(24 * 365 * 100);

// `seconds` as a steady_clock duration, capped at kMaxConfigDuration; NaN,
// zero and negatives give 0.
std::chrono::steady_clock::duration duration_from_seconds(double seconds);

// The same for a number of milliseconds.
std::chrono::milliseconds clamp_ms(int64_t ms);

}  // namespace torii::core
