// Shared fixture of the Admin API tests: a ResourceApi over a real
// SqliteStore in a fresh temp directory, a fake clock, and data-driven
// cases (method, path?query, body -> status + exact body).
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "admin/resource_api.h"
#include "store/sqlite_store.h"

namespace torii::admin::testing {

// A test plugin registered in admin_test_support.cc: an auth plugin with a
// consumer schema requiring `key` (priority 2500) ...
inline constexpr const char* kAuthPlugin = "admin-test-auth";
// ... and a stream-capable plugin whose schema requires `count` and whose
// metadata schema requires `ttl` (priority 1000).
inline constexpr const char* kLimitPlugin = "admin-test-limit";

// An upstream every route/service in the tests can embed.
inline constexpr const char* kUpstream = R"({"type":"roundrobin","nodes":{"127.0.0.1:80":1}})";

struct Case {
  std::string method;
  std::string target;  // path below /apisix/admin, with an optional "?query"
  std::string body;    // "" = no body
  int status = 200;
  std::string expected;  // the exact response body; "*" skips the check
};

// The ConfigStore under test, with one fault a real store cannot be made to
// show on demand: `race_on_get(key)` makes the next get() of `key` be
// followed by a write of the same key from "another writer", before the
// caller writes, so its compare-and-swap loses.
class RacingStore final : public store::ConfigStore {
 public:
  explicit RacingStore(store::ConfigStore& inner) : inner_(inner) {}
  void race_on_get(std::string key, std::string value) {
    race_key_ = std::move(key);
    race_value_ = std::move(value);
  }

  std::string describe() const override { return inner_.describe(); }
  net::Task<core::Result<store::RangeResult>> range(std::string prefix) override;
  net::Task<core::Result<std::optional<store::KeyValue>>> get(std::string key) override;
  net::Task<core::Result<store::PutResult>> put(std::string key, std::string value,
                                                store::Expect expect,
                                                std::chrono::seconds ttl) override;
  net::Task<core::Result<store::DeleteResult>> remove(std::string key, bool with_children) override;
  net::Task<core::Status> watch(std::string prefix, int64_t after,
                                store::WatchHandler on_events) override;
  void close() override { inner_.close(); }

 private:
  store::ConfigStore& inner_;
  std::optional<std::string> race_key_;
  std::string race_value_;
};

template <class T>
net::Task<void> store_into(net::Task<T> task, std::optional<T>* out) {
  out->emplace(co_await std::move(task));
}

class AdminApiTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Rebuilds the API with `options` (the fake clock is always installed).
  void make_api(ResourceApiOptions options);
  template <class F>
  static ResourceApiOptions options_with(F set) {
    ResourceApiOptions o;
    set(o);
    return o;
  }

  AdminResponse call(const std::string& method, const std::string& target,
                     const std::string& body = "");
  void run(const std::vector<Case>& cases);

  // Direct store access, bypassing the Admin API.
  void raw_put(const std::string& key, const std::string& value);
  std::optional<store::KeyValue> raw_get(const std::string& key);

  // Runs a coroutine on the local io_context to completion.
  template <class T>
  T await(net::Task<T> task) {
    std::optional<T> out;
    boost::asio::co_spawn(io_, store_into(std::move(task), &out), boost::asio::detached);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!out && std::chrono::steady_clock::now() < deadline) {
      if (io_.stopped()) io_.restart();
      io_.run_one_for(std::chrono::milliseconds(20));
    }
    if (!out) throw std::runtime_error("coroutine did not finish");
    return std::move(*out);
  }

  // The "key"s of a collection response's list, in order.
  static std::vector<std::string> list_keys(const AdminResponse& response);
  static boost::json::value parse(const std::string& text);

  boost::asio::io_context io_;
  std::string dir_;
  std::unique_ptr<store::SqliteStore> sqlite_;
  std::unique_ptr<RacingStore> store_;
  std::unique_ptr<ResourceApi> api_;
  int64_t now_ = 1700000000;
};

}  // namespace torii::admin::testing
