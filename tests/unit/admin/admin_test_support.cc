// The Admin API test fixture, and two plugins registered for these tests
// only (the registry holds no real plugins yet; names start with
// "admin-test-" so that they never clash with real ones).
#include "admin_test_support.h"

#include <stdlib.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json/parse.hpp>
#include <filesystem>

#include "http/uri.h"
#include "plugins/plugin_registry.h"

namespace torii::admin::testing {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

plugins::PluginInfo auth_plugin() {
  plugins::PluginInfo p;
  p.name = kAuthPlugin;
  p.priority = 2500;
  p.is_auth = true;
  p.schema = json::parse(R"({"type":"object","properties":{"header":{"type":"string"}}})");
  p.consumer_schema =
      json::parse(R"({"type":"object","properties":{"key":{"type":"string"}},"required":["key"]})");
  return p;
}

plugins::PluginInfo limit_plugin() {
  plugins::PluginInfo p;
  p.name = kLimitPlugin;
  p.priority = 1000;
  p.stream = true;
  p.schema = json::parse(
      R"({"type":"object","properties":{"count":{"type":"integer","minimum":1}},"required":["count"]})");
  p.metadata_schema = json::parse(
      R"({"type":"object","properties":{"ttl":{"type":"integer"}},"required":["ttl"]})");
  return p;
}

const plugins::PluginRegistration kAuthRegistration{auth_plugin()};
const plugins::PluginRegistration kLimitRegistration{limit_plugin()};

}  // namespace

net::Task<core::Result<store::RangeResult>> RacingStore::range(std::string prefix) {
  co_return co_await inner_.range(std::move(prefix));
}

net::Task<core::Result<std::optional<store::KeyValue>>> RacingStore::get(std::string key) {
  auto result = co_await inner_.get(key);
  if (race_key_ && *race_key_ == key) {
    race_key_.reset();
    auto raced = co_await inner_.put(key, race_value_, store::Expect::any(), 0s);
    if (!raced) co_return raced.error();
  }
  co_return result;
}

net::Task<core::Result<store::PutResult>> RacingStore::put(std::string key, std::string value,
                                                           store::Expect expect,
                                                           std::chrono::seconds ttl) {
  co_return co_await inner_.put(std::move(key), std::move(value), expect, ttl);
}

net::Task<core::Result<store::DeleteResult>> RacingStore::remove(std::string key,
                                                                 bool with_children) {
  co_return co_await inner_.remove(std::move(key), with_children);
}

net::Task<core::Status> RacingStore::watch(std::string prefix, int64_t after,
                                           store::WatchHandler on_events) {
  co_return co_await inner_.watch(std::move(prefix), after, std::move(on_events));
}

void AdminApiTest::SetUp() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "torii-admin-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  dir_ = tmpl;
  auto opened = store::SqliteStore::open(io_.get_executor(), dir_ + "/config.db");
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  sqlite_ = std::move(*opened);
  store_ = std::make_unique<RacingStore>(*sqlite_);
  make_api({});
}

void AdminApiTest::TearDown() {
  api_.reset();
  store_.reset();
  sqlite_.reset();
  std::filesystem::remove_all(dir_);
}

void AdminApiTest::make_api(ResourceApiOptions options) {
  options.now = [this] { return now_; };
  api_ = std::make_unique<ResourceApi>(*store_, std::move(options));
}

AdminResponse AdminApiTest::call(const std::string& method, const std::string& target,
                                 const std::string& body) {
  AdminRequest request;
  request.method = method;
  const auto q = target.find('?');
  request.path = target.substr(0, q);
  if (q != std::string::npos) {
    std::string_view query = std::string_view(target).substr(q + 1);
    while (!query.empty()) {
      const auto amp = query.find('&');
      const auto part = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      const auto eq = part.find('=');
      std::string name = http::percent_decode(part.substr(0, eq), true);
      std::string value =
          eq == std::string_view::npos ? "" : http::percent_decode(part.substr(eq + 1), true);
      request.query.emplace(std::move(name), std::move(value));
    }
  }
  request.body = body;
  return await(api_->handle(std::move(request)));
}

void AdminApiTest::run(const std::vector<Case>& cases) {
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    SCOPED_TRACE("case " + std::to_string(i) + ": " + c.method + " " + c.target + " " + c.body);
    const AdminResponse r = call(c.method, c.target, c.body);
    EXPECT_EQ(r.status, c.status) << r.body;
    if (c.expected != "*") {
      EXPECT_EQ(r.body, c.expected);
    }
  }
}

void AdminApiTest::raw_put(const std::string& key, const std::string& value) {
  auto r = await(sqlite_->put(key, value, store::Expect::any(), 0s));
  ASSERT_TRUE(r.ok()) << r.error().message;
}

std::optional<store::KeyValue> AdminApiTest::raw_get(const std::string& key) {
  auto r = await(sqlite_->get(key));
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : std::nullopt;
}

std::vector<std::string> AdminApiTest::list_keys(const AdminResponse& response) {
  std::vector<std::string> keys;
  const json::value v = parse(response.body);
  if (!v.is_object() || !v.get_object().contains("list")) return keys;
  for (const auto& item : v.get_object().at("list").get_array()) {
    keys.emplace_back(item.get_object().at("key").get_string());
  }
  return keys;
}

json::value AdminApiTest::parse(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  EXPECT_FALSE(ec) << text;
  return v;
}

}  // namespace torii::admin::testing
