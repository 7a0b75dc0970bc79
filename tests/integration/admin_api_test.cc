// The Admin API's contract through the real binary, the same script on both
// read-write stores (sqlite and etcd): envelopes and status codes, POST ids,
// PATCH merge and sub-path, pagination, ttl, reference checks, consumers
// with credentials, ssls encrypted at rest. Message-level cases for every
// resource kind are in tests/unit/admin (data-driven, on the real store).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>
#include <regex>
#include <thread>

#include "etcd_process.h"
#include "harness.h"

namespace torii::testing {
namespace {

namespace json = boost::json;

json::value parse(const std::string& body) {
  json::error_code ec;
  auto v = json::parse(body, ec);
  EXPECT_FALSE(ec) << body;
  return ec ? json::value() : v;
}

std::string b64(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += {k[n >> 18], k[(n >> 12) & 63], k[(n >> 6) & 63], k[n & 63]};
  }
  if (i + 1 == in.size()) {
    const uint32_t n = uint8_t(in[i]) << 16;
    out += {k[n >> 18], k[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {k[n >> 18], k[(n >> 12) & 63], k[(n >> 6) & 63], '='};
  }
  return out;
}

class AdminApiContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ToriiOptions o;
    if (GetParam() == "etcd") {
      etcd_ = std::make_unique<EtcdProcess>();
      etcd_->start();
      o.deployment = "deployment:\n  role: traditional\n  role_traditional:\n"
                     "    config_provider: etcd\n  etcd:\n    host:\n      - \"" +
                     etcd_->endpoint() + "\"\n    timeout: 2\n";
    } else {
      o.deployment = "deployment:\n  role: traditional\n  role_traditional:\n"
                     "    config_provider: sqlite\n";
    }
    torii_ = std::make_unique<Torii>(std::move(o));
  }

  const Torii& t() const { return *torii_; }
  std::string up_json() const {
    return R"({"type":"roundrobin","nodes":{")" + up_.node() + R"(":1}})";
  }

  std::unique_ptr<EtcdProcess> etcd_;
  Upstream up_;
  std::unique_ptr<Torii> torii_;
};

TEST_P(AdminApiContract, put_get_post_patch_delete_envelopes) {
  auto created = t().admin("PUT", "/upstreams/1", up_json());
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.headers["x-api-version"], "v3");
  EXPECT_EQ(created.headers["content-type"], "application/json");
  auto v = parse(created.body);
  EXPECT_EQ(v.at("key").as_string(), "/apisix/upstreams/1");
  EXPECT_EQ(v.at("value").at("id").as_string(), "1");
  EXPECT_TRUE(v.at("value").as_object().contains("create_time"));
  EXPECT_FALSE(v.at("value").as_object().contains("hash_on")) << "defaults are not written";
  EXPECT_EQ(t().admin("PUT", "/upstreams/1", up_json()).status, 200) << "replace";

  // POST: a 20-digit zero-padded id.
  auto posted = t().admin("POST", "/routes", R"({"uri":"/p","upstream_id":"1"})");
  ASSERT_EQ(posted.status, 201) << posted.body;
  const std::string id(parse(posted.body).at("value").at("id").as_string());
  EXPECT_TRUE(std::regex_match(id, std::regex("[0-9]{20}"))) << id;
  EXPECT_TRUE(wait_until([&] { return http_get(t().url("/p")).status == 200; }));

  // GET item: createdIndex / modifiedIndex; missing: Key not found.
  auto item = parse(t().admin("GET", "/routes/" + id).body);
  EXPECT_GT(item.at("createdIndex").as_int64(), 0);
  EXPECT_EQ(item.at("createdIndex"), item.at("modifiedIndex"));
  auto missing = t().admin("GET", "/routes/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, R"({"message":"Key not found"})");

  // PATCH merges (null deletes, arrays replaced); sub-path PATCH replaces.
  ASSERT_EQ(t().admin("PATCH", "/routes/" + id, R"({"desc":"d","methods":["GET"],"name":"n"})").status, 200);
  ASSERT_EQ(t().admin("PATCH", "/routes/" + id, R"({"name":null,"methods":["POST","GET"]})").status, 200);
  auto patched = parse(t().admin("GET", "/routes/" + id).body).at("value");
  EXPECT_EQ(patched.at("desc").as_string(), "d");
  EXPECT_FALSE(patched.as_object().contains("name"));
  EXPECT_EQ(patched.at("methods").as_array().size(), 2u);
  ASSERT_EQ(t().admin("PATCH", "/routes/" + id + "/uri", R"("/p2")").status, 200);
  EXPECT_TRUE(wait_until([&] { return http_get(t().url("/p2")).status == 200; }));
  auto modified = parse(t().admin("GET", "/routes/" + id).body);
  EXPECT_GT(modified.at("modifiedIndex").as_int64(), modified.at("createdIndex").as_int64());

  // Validation: nothing written.
  auto bad = t().admin("PUT", "/routes/bad", R"({"uri":42,"upstream_id":"1"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body, R"({"error_msg":"invalid configuration: property \"uri\" validation failed: wrong type: expected string, got number"})");
  auto dangling = t().admin("PUT", "/routes/bad", R"({"uri":"/x","upstream_id":"404"})");
  EXPECT_EQ(dangling.body, R"({"error_msg":"failed to fetch upstream info by upstream id [404], response code: 404"})");
  auto plugin = t().admin("PUT", "/routes/bad", R"({"uri":"/x","upstream_id":"1","plugins":{"foo":{}}})");
  EXPECT_EQ(plugin.body, R"({"error_msg":"unknown plugin [foo]"})");
  auto forbidden = t().admin("PUT", "/routes/bad", R"({"uri":"/x","upstream_id":"1","create_time":1})");
  EXPECT_EQ(forbidden.status, 400);
  EXPECT_EQ(t().admin("GET", "/routes/bad").status, 404);

  // DELETE: reference check, force, the envelope.
  auto refused = t().admin("DELETE", "/upstreams/1");
  EXPECT_EQ(refused.body, R"({"error_msg":"can not delete this upstream, route [)" + id +
                              R"(] is still using it now"})");
  auto del = t().admin("DELETE", "/routes/" + id);
  EXPECT_EQ(del.body, R"({"deleted":"1","key":"/apisix/routes/)" + id + R"("})");
  EXPECT_EQ(t().admin("DELETE", "/routes/" + id).status, 404);
  EXPECT_EQ(t().admin("DELETE", "/upstreams/1?force=true").status, 200);
}

TEST_P(AdminApiContract, collections_paginate_and_filter) {
  for (int i = 1; i <= 12; ++i) {
    const std::string body = R"({"uri":"/r)" + std::to_string(i) + R"(","name":"route-)" +
                             std::to_string(i) + R"(","upstream":)" + up_json() +
                             (i % 3 == 0 ? R"(,"labels":{"team":"a"})" : "") + "}";
    ASSERT_EQ(t().admin("PUT", "/routes/" + std::to_string(i), body).status, 201);
  }
  auto all = parse(t().admin("GET", "/routes").body);
  EXPECT_EQ(all.at("total").as_int64(), 12);
  // Key order without pagination: "10" < "11" < "12" < "2".
  EXPECT_EQ(all.at("list").at(1).at("value").at("id").as_string(), "10");
  auto page = parse(t().admin("GET", "/routes?page=2&page_size=10").body);
  EXPECT_EQ(page.at("total").as_int64(), 12);
  ASSERT_EQ(page.at("list").as_array().size(), 2u);
  EXPECT_EQ(page.at("list").at(0).at("value").at("id").as_string(), "11") << "created order";
  auto small = t().admin("GET", "/routes?page=1&page_size=5");
  EXPECT_EQ(small.status, 400);
  EXPECT_EQ(small.body, "page_size must be between 10 and 500");
  EXPECT_EQ(parse(t().admin("GET", "/routes?label=team").body).at("total").as_int64(), 4);
  EXPECT_EQ(parse(t().admin("GET", "/routes?name=route-1").body).at("total").as_int64(), 4);
  EXPECT_EQ(parse(t().admin("GET", "/routes?uri=%2Fr1%24").body).at("total").as_int64(), 1);
  auto empty = t().admin("GET", "/services");
  EXPECT_EQ(empty.body, R"({"list":[],"total":0})");
}

TEST_P(AdminApiContract, ttl_removes_the_route) {
  ASSERT_EQ(t().admin("PUT", "/routes/short?ttl=1", R"({"uri":"/short","upstream":)" + up_json() + "}").status, 201);
  EXPECT_TRUE(wait_until([&] { return http_get(t().url("/short")).status == 200; }));
  EXPECT_TRUE(wait_until([&] { return t().admin("GET", "/routes/short").status == 404; },
                         std::chrono::seconds(10)));
  EXPECT_TRUE(wait_until([&] { return http_get(t().url("/short")).status == 404; }));
  auto bad = t().admin("PUT", "/routes/x?ttl=abc", R"({"uri":"/x","upstream":)" + up_json() + "}");
  EXPECT_EQ(bad.body, R"({"error_msg":"invalid argument ttl: should be a number"})");
}

TEST_P(AdminApiContract, consumers_credentials_and_groups) {
  EXPECT_EQ(t().admin("PUT", "/consumer_groups/g1", R"({"plugins":{}})").status, 201);
  auto c = t().admin("PUT", "/consumers", R"({"username":"jack","group_id":"g1"})");
  ASSERT_EQ(c.status, 201) << c.body;
  EXPECT_EQ(parse(c.body).at("key").as_string(), "/apisix/consumers/jack");
  EXPECT_EQ(t().admin("POST", "/consumers", R"({"username":"x"})").status, 405);
  auto cred = t().admin("PUT", "/consumers/jack/credentials/c1", R"({"plugins":{}})");
  ASSERT_EQ(cred.status, 201) << cred.body;
  EXPECT_EQ(parse(cred.body).at("key").as_string(), "/apisix/consumers/jack/credentials/c1");
  auto orphan = t().admin("PUT", "/consumers/nobody/credentials/c1", R"({"plugins":{}})");
  EXPECT_EQ(orphan.status, 404);
  EXPECT_EQ(orphan.body, R"({"error_msg":"consumer not found"})");
  EXPECT_EQ(parse(t().admin("GET", "/consumers").body).at("total").as_int64(), 1);
  auto group_del = t().admin("DELETE", "/consumer_groups/g1");
  EXPECT_EQ(group_del.body, R"({"error_msg":"can not delete this consumer group, consumer [jack] is still using it now"})");
  ASSERT_EQ(t().admin("DELETE", "/consumers/jack").status, 200);
  EXPECT_EQ(t().admin("GET", "/consumers/jack/credentials/c1").status, 404) << "deleted with the consumer";
}

TEST_P(AdminApiContract, ssl_keys_are_encrypted_at_rest_and_never_returned) {
  TempDir dir;
  const std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                          "-subj /CN=test.com -days 30 -keyout " + dir.path() + "/k.pem -out " +
                          dir.path() + "/c.pem 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  json::object ssl;
  ssl["cert"] = dir.read("c.pem");
  ssl["key"] = dir.read("k.pem");
  ssl["snis"] = json::array{"test.com"};
  auto put = t().admin("PUT", "/ssls/1", json::serialize(ssl));
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(put.body.find("PRIVATE KEY"), std::string::npos);
  auto get = t().admin("GET", "/ssls/1");
  ASSERT_EQ(get.status, 200);
  EXPECT_FALSE(parse(get.body).at("value").as_object().contains("key"));
  EXPECT_EQ(parse(get.body).at("value").at("snis").at(0).as_string(), "test.com");
  if (etcd_) {
    // What another APISIX node would read: the key, AES-encrypted, base64.
    auto raw = parse(etcd_->post("/v3/kv/range", R"({"key":")" + b64("/apisix/ssls/1") + R"("})").body);
    const std::string stored(raw.at("kvs").at(0).at("value").as_string());
    auto value = parse([&] {
      std::string out;
      // base64 decode
      static const std::string k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      uint32_t acc = 0;
      int bits = 0;
      for (char ch : stored) {
        const size_t p = k.find(ch);
        if (p == std::string::npos) break;
        acc = (acc << 6) | static_cast<uint32_t>(p);
        bits += 6;
        if (bits >= 8) {
          bits -= 8;
          out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
      }
      return out;
    }());
    const std::string key(value.at("key").as_string());
    EXPECT_EQ(key.find("PRIVATE KEY"), std::string::npos) << "stored in clear";
    EXPECT_GT(key.size(), 100u);
  }
}

TEST_P(AdminApiContract, auth_roles_and_unsupported_kinds) {
  EXPECT_EQ(http_get(t().admin_url("/routes")).body,
            "{\"error_msg\":\"failed to check token\",\"description\":\"missing apikey\"}\n");
  EXPECT_EQ(http_get(t().admin_url("/routes"), {"X-API-KEY: wrong"}).status, 401);
  EXPECT_EQ(http_get(t().admin_url("/routes?api_key=" + std::string(kAdminKey))).status, 200);
  auto unknown = t().admin("GET", "/nothing");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body, R"({"error_msg":"Unsupported resource type: nothing"})");
  auto stream = t().admin("PUT", "/stream_routes/1", R"({"upstream":)" + up_json() + "}");
  EXPECT_EQ(stream.status, 400);
  EXPECT_EQ(stream.body, R"({"error_msg":"stream mode is disabled, can not add stream routes"})");
  auto list = t().admin("GET", "/plugins/list");
  EXPECT_EQ(list.status, 200);
  EXPECT_NE(list.body.find("\"limit-count\""), std::string::npos) << list.body;
  EXPECT_EQ(t().admin("POST", "/schema/validate/routes", R"({"uri":"/ok","upstream_id":"any"})").status, 200);
  EXPECT_EQ(t().admin("POST", "/schema/validate/routes", R"({"uri":1})").status, 400);
  auto invalid = t().admin("PUT", "/routes/x", "{not json");
  EXPECT_EQ(invalid.status, 400);
  EXPECT_NE(invalid.body.find("invalid request body"), std::string::npos);
  // A number no double holds (Boost.JSON: infinity, written back as `inf`):
  // refused before anything reaches the store, whose copy stays JSON.
  auto huge = t().admin("PUT", "/upstreams/huge",
                        R"({"nodes":{"127.0.0.1:1980":1},"timeout":{"connect":1e400,"send":1,"read":1}})");
  EXPECT_EQ(huge.status, 400);
  EXPECT_NE(huge.body.find("invalid request body: number out of range"), std::string::npos)
      << huge.body;
  EXPECT_EQ(t().admin("GET", "/upstreams/huge").status, 404);
}

INSTANTIATE_TEST_SUITE_P(Stores, AdminApiContract, ::testing::Values("sqlite", "etcd"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace torii::testing
