#include "config/client_limits_config.h"

#include <cmath>

#include "config/yaml_read.h"

namespace torii::config {
namespace {

using core::config_error;

constexpr const char* kPrefix = "torii.client_limits.";

// An integer key within [lo, hi].
template <class T>
core::Status bounded(const YAML::Node& block, const char* name, uint64_t lo, uint64_t hi, T& out) {
  const YAML::Node n = block[name];
  if (!n) return core::ok_status();
  const std::string key = std::string(kPrefix) + name;
  auto v = yaml_scalar<uint64_t>(n, key);
  if (!v) return v.error();
  if (*v < lo || *v > hi) {
    return config_error("config.yaml: " + key + ": must be between " + std::to_string(lo) +
                        " and " + std::to_string(hi));
  }
  out = static_cast<T>(*v);
  return core::ok_status();
}

core::Status positive_duration(const YAML::Node& n, const std::string& key,
                               std::chrono::milliseconds& out) {
  if (!n) return core::ok_status();
  if (!n.IsScalar()) return config_error("config.yaml: " + key + ": expected a duration");
  auto d = parse_duration(n.Scalar());
  if (!d) return config_error("config.yaml: " + key + ": " + d.error().message);
  if (d->count() <= 0) return config_error("config.yaml: " + key + ": must be greater than 0");
  out = *d;
  return core::ok_status();
}

}  // namespace

core::Status apply_client_limits(const YAML::Node& block, ServerConfig& c) {
  if (!block || block.IsNull()) return core::ok_status();
  if (!block.IsMap()) return config_error("config.yaml: torii.client_limits: expected a map");
  net::ClientLimitSettings s;
  if (auto st = bounded(block, "max_connections", 0, 100'000'000, s.max_connections); !st)
    return st;
  if (auto st = bounded(block, "max_connections_per_ip", 0, 10'000'000, s.max_connections_per_ip);
      !st) {
    return st;
  }
  if (const YAML::Node r = block["requests_per_second_per_ip"]) {
    const std::string key = std::string(kPrefix) + "requests_per_second_per_ip";
    auto v = yaml_scalar<double>(r, key);
    if (!v) return v.error();
    if (!std::isfinite(*v) || *v < 0 || *v > 1e9) {
      return config_error("config.yaml: " + key + ": must be between 0 and 1000000000");
    }
    if (*v > 0 && *v < 0.001) {
      return config_error("config.yaml: " + key + ": must be 0 (off) or at least 0.001");
    }
    s.requests_per_second_per_ip = *v;
  }
  if (auto st = bounded(block, "burst", 0, 10'000'000, s.burst); !st) return st;
  if (auto st = bounded(block, "max_tracked_ips", 1000, 100'000'000, s.max_tracked_ips); !st) {
    return st;
  }
  if (const YAML::Node ban = block["ban"]; ban && !ban.IsNull()) {
    if (!ban.IsMap()) {
      return config_error(
          "config.yaml: torii.client_limits.ban: expected {after_violations, within, duration}");
    }
    const std::string b = std::string(kPrefix) + "ban.";
    if (const YAML::Node n = ban["after_violations"]) {
      auto v = yaml_scalar<uint64_t>(n, b + "after_violations");
      if (!v) return v.error();
      if (*v > 1'000'000) {
        return config_error("config.yaml: " + b +
                            "after_violations: must be between 0 and 1000000");
      }
      s.ban_after_violations = static_cast<uint32_t>(*v);
    }
    if (auto st = positive_duration(ban["within"], b + "within", s.ban_within); !st) return st;
    if (auto st = positive_duration(ban["duration"], b + "duration", s.ban_duration); !st)
      return st;
    if (s.ban_after_violations > 0 && !s.per_ip()) {
      // A ban needs violations, which only the per-IP limits produce.
      return config_error(
          "config.yaml: torii.client_limits.ban: needs max_connections_per_ip or "
          "requests_per_second_per_ip (only they count violations)");
    }
  }
  c.client_limits = s;
  return core::ok_status();
}

}  // namespace torii::config
