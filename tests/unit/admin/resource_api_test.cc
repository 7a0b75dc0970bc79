// ResourceApi against a real SqliteStore: envelopes and status codes of
// PUT/POST/GET/DELETE, id rules, timestamps, ttl, body errors, method and
// kind errors, read-only and stream modes, conflicts and store failures.
#include "admin/resource_api.h"

#include <boost/asio/co_spawn.hpp>

#include "admin_test_support.h"

namespace torii::admin::testing {
namespace {

using namespace std::chrono_literals;

const std::string kUp = kUpstream;
const std::string kUpValue = R"({"type":"roundrobin","nodes":{"127.0.0.1:1980":1}})";

class AdminResourceApiTest : public AdminApiTest {};

TEST_F(AdminResourceApiTest, put_get_post_delete_use_apisix_v3_envelopes) {
  run({
      {"PUT", "/upstreams/1", kUpValue, 201,
       R"({"key":"/apisix/upstreams/1","value":{"type":"roundrobin","nodes":{"127.0.0.1:1980":1},"id":"1","create_time":1700000000,"update_time":1700000000}})"},
      {"GET", "/upstreams/1", "", 200,
       R"({"key":"/apisix/upstreams/1","value":{"type":"roundrobin","nodes":{"127.0.0.1:1980":1},"id":"1","create_time":1700000000,"update_time":1700000000},"createdIndex":1,"modifiedIndex":1})"},
  });
  now_ += 60;
  run({
      // Replacing answers 200 and keeps create_time.
      {"PUT", "/upstreams/1", kUpValue, 200,
       R"({"key":"/apisix/upstreams/1","value":{"type":"roundrobin","nodes":{"127.0.0.1:1980":1},"id":"1","create_time":1700000000,"update_time":1700000060}})"},
      // POST: the id is the revision of the gen_id write (3), 20 digits.
      {"POST", "/upstreams", kUpValue, 201,
       R"({"key":"/apisix/upstreams/00000000000000000003","value":{"type":"roundrobin","nodes":{"127.0.0.1:1980":1},"id":"00000000000000000003","create_time":1700000060,"update_time":1700000060}})"},
      {"GET", "/upstreams", "", 200,
       R"({"total":2,"list":[{"key":"/apisix/upstreams/00000000000000000003","value":{"type":"roundrobin","nodes":{"127.0.0.1:1980":1},"id":"00000000000000000003","create_time":1700000060,"update_time":1700000060},"createdIndex":4,"modifiedIndex":4},{"key":"/apisix/upstreams/1","value":{"type":"roundrobin","nodes":{"127.0.0.1:1980":1},"id":"1","create_time":1700000000,"update_time":1700000060},"createdIndex":1,"modifiedIndex":2}]})"},
      {"DELETE", "/upstreams/1", "", 200, R"({"deleted":"1","key":"/apisix/upstreams/1"})"},
      {"DELETE", "/upstreams/1", "", 404, R"({"message":"Key not found"})"},
      {"GET", "/upstreams/1", "", 404, R"({"message":"Key not found"})"},
      {"GET", "/routes", "", 200, R"({"list":[],"total":0})"},
  });
}

TEST_F(AdminResourceApiTest, id_rules_follow_apisix_check_conf) {
  run({
      {"PUT", "/routes", R"({"uri":"/a","upstream":)" + kUp + "}", 400,
       R"({"error_msg":"missing route id"})"},
      {"PUT", "/routes/1", R"({"id":"2","uri":"/a","upstream":)" + kUp + "}", 400,
       R"({"error_msg":"wrong route id"})"},
      {"POST", "/routes/1", R"({"uri":"/a","upstream":)" + kUp + "}", 400,
       R"({"error_msg":"wrong route id, do not need it"})"},
      {"POST", "/routes", R"({"id":"5","uri":"/a","upstream":)" + kUp + "}", 400,
       R"({"error_msg":"wrong route id, do not need it"})"},
      {"DELETE", "/routes", "", 400, R"({"error_msg":"missing route id"})"},
      {"PATCH", "/services", "{}", 400, R"({"error_msg":"missing service id"})"},
      {"DELETE", "/plugin_configs", "", 400, R"({"error_msg":"missing plugin config id"})"},
      // The URL id wins and is stored as a string; a numeric body id equal
      // to it is accepted and keeps its place.
      {"PUT", "/routes/1", R"({"id":1,"uri":"/a","upstream":)" + kUp + "}", 201,
       R"({"key":"/apisix/routes/1","value":{"id":"1","uri":"/a","upstream":{"type":"roundrobin","nodes":{"127.0.0.1:80":1}},"create_time":1700000000,"update_time":1700000000}})"},
      // Without a URL id the body id is the key, kept as sent.
      {"PUT", "/routes", R"({"id":7,"uri":"/b","upstream":)" + kUp + "}", 201,
       R"({"key":"/apisix/routes/7","value":{"id":7,"uri":"/b","upstream":{"type":"roundrobin","nodes":{"127.0.0.1:80":1}},"create_time":1700000000,"update_time":1700000000}})"},
      {"PUT", "/routes/a%20b", R"({"uri":"/a","upstream":)" + kUp + "}", 400, "*"},
  });
}

TEST_F(AdminResourceApiTest, values_are_stored_as_sent_with_cjson_numbers) {
  run({
      {"PUT", "/upstreams/1",
       R"({"timeout":{"connect":1.5,"send":2,"read":3.0},"nodes":{"127.0.0.1:80":1},"retries":0})",
       201,
       R"({"key":"/apisix/upstreams/1","value":{"timeout":{"connect":1.5,"send":2,"read":3},"nodes":{"127.0.0.1:80":1},"retries":0,"id":"1","create_time":1700000000,"update_time":1700000000}})"},
  });
  // No defaults are written into the stored object.
  EXPECT_EQ(
      raw_get("/apisix/upstreams/1")->value,
      R"({"timeout":{"connect":1.5,"send":2,"read":3},"nodes":{"127.0.0.1:80":1},"retries":0,"id":"1","create_time":1700000000,"update_time":1700000000})");
}

TEST_F(AdminResourceApiTest, client_timestamps_are_forbidden_on_put_and_post) {
  run({
      {"PUT", "/routes/1", R"({"uri":"/a","create_time":1,"upstream":)" + kUp + "}", 400,
       R"({"error_msg":"the property is forbidden:  create_time"})"},
      {"POST", "/routes", R"({"uri":"/a","update_time":1,"upstream":)" + kUp + "}", 400,
       R"({"error_msg":"the property is forbidden:  update_time"})"},
      {"PUT", "/routes/1",
       R"({"uri":"/a","upstream":{"type":"roundrobin","nodes":{"127.0.0.1:80":1},"update_time":1}})",
       400, R"({"error_msg":"the property is forbidden:  upstream.update_time"})"},
      {"PUT", "/services/1", R"({"plugins":{"create_time":{}}})", 400,
       R"({"error_msg":"the property is forbidden:  plugins.create_time"})"},
      {"PUT", "/upstreams/1", kUpValue, 201, "*"},
      // PATCH may set them.
      {"PATCH", "/upstreams/1", R"({"create_time":5,"update_time":6})", 200,
       R"({"key":"/apisix/upstreams/1","value":{"type":"roundrobin","nodes":{"127.0.0.1:1980":1},"id":"1","create_time":5,"update_time":6}})"},
  });
}

TEST_F(AdminResourceApiTest, body_errors) {
  run({
      {"PUT", "/routes/1", "{bad", 400,
       R"({"error_msg":"invalid request body: syntax error","req_body":"{bad"})"},
      {"PUT", "/routes/1", "", 400, R"({"error_msg":"missing configurations"})"},
      {"POST", "/routes", "", 400, R"({"error_msg":"missing configurations"})"},
      {"PUT", "/routes/1", "[1]", 400,
       R"({"error_msg":"invalid configuration: the request body must be a JSON object"})"},
      {"PATCH", "/routes/1", "", 400, R"({"error_msg":"missing new configuration"})"},
      {"PATCH", "/routes/1", "[1]", 400, R"({"error_msg":"invalid configuration"})"},
      // Boost.JSON reads 1e370 as infinity; stored, it would be written as
      // `inf` (not JSON). Refused, and nothing is stored.
      {"PUT", "/upstreams/1",
       R"({"nodes":{"127.0.0.1:1980":1},"timeout":{"connect":1e370,"send":1,"read":1}})", 400,
       R"({"error_msg":"invalid request body: number out of range","req_body":"{\"nodes\":{\"127.0.0.1:1980\":1},\"timeout\":{\"connect\":1e370,\"send\":1,\"read\":1}}"})"},
      {"GET", "/upstreams/1", "", 404, R"({"message":"Key not found"})"},
      {"PATCH", "/routes/1", R"({"priority":-1e400})", 400, "*"},
  });
  const AdminResponse r = call("PUT", "/routes/1", "{bad");
  const auto body = parse(r.body).as_object();
  EXPECT_EQ(body.at("req_body"), "{bad");
  EXPECT_TRUE(body.at("error_msg").as_string().starts_with("invalid request body: ")) << r.body;
}

TEST_F(AdminResourceApiTest, validation_errors_use_apisix_messages) {
  run({
      {"PUT", "/routes/1", R"({"uri":1,"upstream":)" + kUp + "}", 400,
       R"({"error_msg":"invalid configuration: property \"uri\" validation failed: wrong type: expected string, got number"})"},
      {"PUT", "/routes/1", R"({"uri":"/a","vars":[["arg_a","=","1"]],"upstream":)" + kUp + "}", 400,
       R"({"error_msg":"failed to validate the 'vars' expression: invalid operator '='"})"},
      {"PUT", "/routes/1",
       R"js({"uri":"/a","vars":[["uri","~~","(?=a)"]],"upstream":)js" + kUp + "}", 400, "*"},
      {"PUT", "/routes/1", R"({"uri":"/a","plugins":{"foo":{}}})", 400,
       R"({"error_msg":"unknown plugin [foo]"})"},
      {"PUT", "/routes/1", R"({"uri":"/a","plugins":{"admin-test-limit":{}}})", 400,
       R"({"error_msg":"failed to check the configuration of plugin admin-test-limit err: property \"count\" is required"})"},
      {"PUT", "/routes/1", R"({"uri":"/a","plugins":{"admin-test-limit":{"count":1}}})", 201, "*"},
      {"PUT", "/global_rules/1", R"({"plugins":{"foo":{}}})", 400,
       R"({"error_msg":"unknown plugin [foo]"})"},
      {"PUT", "/upstreams/1", R"({"type":"chash","nodes":{"127.0.0.1:80":1}})", 400,
       R"({"error_msg":"missing key"})"},
  });
  const std::string route =
      R"js({"uri":"/a","vars":[["uri","~~","(?=a)"]],"upstream":)js" + kUp + "}";
  run({{"PUT", "/routes/1", route, 400,
        R"js({"error_msg":"failed to validate the 'vars' expression: vars[0]: regex \"(?=a)\" is not supported: RE2 has no look-around"})js"}});
}

TEST_F(AdminResourceApiTest, unknown_kinds_and_unsupported_methods) {
  make_api(options_with([](ResourceApiOptions& o) { o.stream_enabled = true; }));
  run({
      {"GET", "/foo", "", 404, R"({"error_msg":"Unsupported resource type: foo"})"},
      {"PUT", "/foo/1", "{}", 404, R"({"error_msg":"Unsupported resource type: foo"})"},
      {"POST", "/consumers", R"({"username":"a"})", 405,
       R"({"error_msg":"not supported `POST` method for consumer"})"},
      {"PATCH", "/consumers/a", "{}", 405,
       R"({"error_msg":"not supported `PATCH` method for consumer"})"},
      {"POST", "/consumers/a/credentials", "{}", 405,
       R"({"error_msg":"not supported `POST` method for credential"})"},
      {"POST", "/global_rules", "{}", 405,
       R"({"error_msg":"not supported `POST` method for global rule"})"},
      {"POST", "/plugin_configs", "{}", 405,
       R"({"error_msg":"not supported `POST` method for plugin config"})"},
      {"POST", "/consumer_groups", "{}", 405,
       R"({"error_msg":"not supported `POST` method for consumer group"})"},
      {"PATCH", "/stream_routes/1", "{}", 405,
       R"({"error_msg":"not supported `PATCH` method for stream route"})"},
      {"PATCH", "/protos/1", "{}", 405,
       R"({"error_msg":"not supported `PATCH` method for proto"})"},
      {"POST", "/plugin_metadata", "{}", 405,
       R"({"error_msg":"not supported `POST` method for plugin_metadata"})"},
      {"HEAD", "/routes", "", 404, R"({"error_msg":"not found"})"},
      {"GET", "", "", 404, R"({"error_msg":"not found"})"},
  });
}

TEST_F(AdminResourceApiTest, ttl_must_be_a_number_and_expires_the_key) {
  run({
      {"PUT", "/upstreams/1?ttl=abc", kUpValue, 400,
       R"({"error_msg":"invalid argument ttl: should be a number"})"},
      {"GET", "/upstreams?ttl=abc", "", 400,
       R"({"error_msg":"invalid argument ttl: should be a number"})"},
      {"PUT", "/upstreams/1?ttl=1", kUpValue, 201, "*"},
      {"GET", "/upstreams/1", "", 200, "*"},
  });
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  int status = 200;
  while (status == 200 && std::chrono::steady_clock::now() < deadline) {
    io_.run_for(100ms);
    status = call("GET", "/upstreams/1").status;
  }
  EXPECT_EQ(status, 404);
}

TEST_F(AdminResourceApiTest, read_only_mode_refuses_every_write) {
  run({{"PUT", "/upstreams/1", kUpValue, 201, "*"}});
  make_api(options_with([](ResourceApiOptions& o) {
    o.read_only_reason = "the configuration is read-only in standalone file mode";
  }));
  const std::string refused =
      R"({"error_msg":"the configuration is read-only in standalone file mode"})";
  run({
      {"PUT", "/upstreams/2", kUpValue, 400, refused},
      {"POST", "/upstreams", kUpValue, 400, refused},
      {"PATCH", "/upstreams/1", "{}", 400, refused},
      {"DELETE", "/upstreams/1", "", 400, refused},
      {"GET", "/upstreams/1", "", 200, "*"},
      {"GET", "/upstreams", "", 200, "*"},
  });
  EXPECT_FALSE(raw_get("/apisix/upstreams/2"));
}

TEST_F(AdminResourceApiTest, stream_routes_need_stream_mode_for_writes) {
  const std::string route = R"({"server_port":9100,"upstream":)" + kUp + "}";
  const std::string disabled =
      R"({"error_msg":"stream mode is disabled, can not add stream routes"})";
  run({
      {"PUT", "/stream_routes/1", route, 400, disabled},
      {"POST", "/stream_routes", route, 400, disabled},
      {"GET", "/stream_routes", "", 200, R"({"list":[],"total":0})"},
      {"DELETE", "/stream_routes/1", "", 404, R"({"message":"Key not found"})"},
  });
  make_api(options_with([](ResourceApiOptions& o) { o.stream_enabled = true; }));
  run({
      {"PUT", "/stream_routes/1", route, 201,
       R"({"key":"/apisix/stream_routes/1","value":{"server_port":9100,"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:80":1}},"id":"1","create_time":1700000000,"update_time":1700000000}})"},
      {"PUT", "/stream_routes/2", R"({"plugins":{"admin-test-auth":{}},"upstream":)" + kUp + "}",
       400, R"({"error_msg":"unknown plugin [admin-test-auth]"})"},
      {"PUT", "/stream_routes/2",
       R"({"plugins":{"admin-test-limit":{"count":1}},"upstream":)" + kUp + "}", 201, "*"},
  });
}

TEST_F(AdminResourceApiTest, concurrent_puts_never_fail) {
  std::vector<std::optional<AdminResponse>> out(6);
  for (auto& slot : out) {
    AdminRequest request;
    request.method = "PUT";
    request.path = "/upstreams/1";
    request.body = kUpValue;
    boost::asio::co_spawn(io_, store_into(api_->handle(std::move(request)), &slot),
                          boost::asio::detached);
  }
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  auto done = [&] {
    return std::all_of(out.begin(), out.end(), [](const auto& r) { return r.has_value(); });
  };
  while (!done() && std::chrono::steady_clock::now() < deadline) io_.run_one_for(20ms);
  ASSERT_TRUE(done());
  int created = 0;
  for (const auto& r : out) {
    EXPECT_TRUE(r->status == 200 || r->status == 201) << r->status << " " << r->body;
    created += r->status == 201;
  }
  EXPECT_EQ(created, 1);
}

TEST_F(AdminResourceApiTest, put_retries_a_lost_race_and_patch_reports_it) {
  run({{"PUT", "/upstreams/1", kUpValue, 201, "*"}});
  // Another writer changes the key between our read and our write.
  store_->race_on_get("/apisix/upstreams/1", kUpValue);
  run({{"PUT", "/upstreams/1", kUpValue, 200, "*"}});
  store_->race_on_get("/apisix/upstreams/1", kUpValue);
  run({{"PATCH", "/upstreams/1", R"({"retries":1})", 503,
        R"({"error_msg":"value changed before overwritten"})"}});
}

TEST_F(AdminResourceApiTest, store_failures_answer_503) {
  sqlite_->close();
  const AdminResponse r = call("GET", "/routes/1");
  EXPECT_EQ(r.status, 503);
  EXPECT_TRUE(parse(r.body).as_object().contains("error_msg")) << r.body;
  EXPECT_EQ(call("PUT", "/upstreams/1", kUpValue).status, 503);
  EXPECT_EQ(call("GET", "/routes").status, 503);
  EXPECT_EQ(call("DELETE", "/routes/1").status, 503);
}

}  // namespace
}  // namespace torii::admin::testing
