#include "core/config_duration.h"

#include <algorithm>

namespace torii::core {

std::chrono::steady_clock::duration duration_from_seconds(double seconds) {
  using Duration = std::chrono::steady_clock::duration;
  if (!(seconds > 0)) return Duration::zero();
  const std::chrono::duration<double> d(seconds);
  if (d >= kMaxConfigDuration) return kMaxConfigDuration;
  return std::chrono::duration_cast<Duration>(d);
}

std::chrono::milliseconds clamp_ms(int64_t ms) {
  if (ms <= 0) return std::chrono::milliseconds::zero();
  return std::min(std::chrono::milliseconds(ms), kMaxConfigDuration);
}

}  // namespace torii::core
