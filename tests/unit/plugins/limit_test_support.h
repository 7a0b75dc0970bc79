// Shared by the limit-count / limit-req / limit-conn / api-breaker /
// traffic-split tests: build an instance from JSON text, check a conf as
// the Admin API does, and drive the plugins' clock by hand.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "fake_plugin_context.h"
#include "plugins/limit_shards.h"
#include "plugins/plugin_registry.h"

namespace torii::plugins::testing {

inline std::shared_ptr<const Plugin> make_plugin(std::string_view name, std::string_view conf,
                                                 PluginScope scope = {}) {
  const PluginInfo* info = find_plugin(name);
  EXPECT_NE(info, nullptr) << name;
  if (!info) return nullptr;
  if (scope.owner_key.empty()) scope.owner_key = "/apisix/routes/1";
  auto st = check_plugin_conf(name, boost::json::parse(conf), SchemaType::kRoute);
  EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message);
  auto p = info->create(boost::json::parse(conf).as_object(), scope);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? *p : nullptr;
}

// The Admin API's error for a conf ("" when valid), then the factory's.
inline std::string conf_error(std::string_view name, std::string_view conf,
                              std::string owner = "/apisix/routes/1") {
  auto st = check_plugin_conf(name, boost::json::parse(conf), SchemaType::kRoute);
  if (!st) return st.error().message;
  PluginScope scope;
  scope.owner_key = std::move(owner);
  auto made = find_plugin(name)->create(boost::json::parse(conf).as_object(), scope);
  return made ? "" : made.error().message;
}

// A clock the test moves: every limits::now_ms() reads it while alive.
class FakeClock {
 public:
  FakeClock() {
    now() = 1'000'000'000;
    limits::set_clock_for_testing(&read);
  }
  ~FakeClock() { limits::set_clock_for_testing(nullptr); }
  void advance_ms(int64_t ms) { now() += ms; }
  void set_ms(int64_t ms) { now() = ms; }

 private:
  static std::atomic<int64_t>& now() {
    static std::atomic<int64_t> t{0};
    return t;
  }
  static int64_t read() { return now().load(); }
};

inline std::optional<std::string> header_of(const Exit& e, std::string_view name) {
  for (const auto& [n, v] : e.headers) {
    if (http::iequals(n, name)) return v;
  }
  return std::nullopt;
}

}  // namespace torii::plugins::testing
