// Consumers (keyed by username) and their credentials
// (/consumers/{u}/credentials/{id}).
#include "admin_test_support.h"

namespace torii::admin::testing {
namespace {

class AdminConsumerTest : public AdminApiTest {};

TEST_F(AdminConsumerTest, consumers_are_keyed_by_username) {
  run({
      {"PUT", "/consumers", R"({"username":"jack","desc":"d"})", 201,
       R"({"key":"/apisix/consumers/jack","value":{"username":"jack","desc":"d","create_time":1700000000,"update_time":1700000000}})"},
      {"PUT", "/consumers/jack", R"({"username":"jack"})", 200, "*"},
      {"PUT", "/consumers/jack", R"({"username":"rose"})", 400,
       R"({"error_msg":"wrong username"})"},
      {"PUT", "/consumers", R"({"desc":"x"})", 400,
       R"({"error_msg":"invalid configuration: property \"username\" is required"})"},
      {"PUT", "/consumers/jack", R"({"username":"jack","plugins":{"foo":{}}})", 400,
       R"({"error_msg":"invalid plugins configuration: unknown plugin [foo]"})"},
      {"PUT", "/consumers/jack", R"({"username":"jack","plugins":{"admin-test-auth":{}}})", 400,
       R"({"error_msg":"invalid plugins configuration: failed to check the configuration of plugin admin-test-auth err: property \"key\" is required"})"},
      {"PUT", "/consumers/jack", R"({"username":"jack","plugins":{"admin-test-auth":{"key":"k"}}})",
       200, "*"},
      {"DELETE", "/consumers", "", 400, R"({"error_msg":"missing consumer id"})"},
  });
}

TEST_F(AdminConsumerTest, credentials_live_under_their_consumer) {
  const std::string cred = R"({"plugins":{"admin-test-auth":{"key":"k1"}}})";
  run({
      {"PUT", "/consumers/nobody/credentials/c1", cred, 404,
       R"({"error_msg":"consumer not found"})"},
      {"PUT", "/consumers", R"({"username":"jack"})", 201, "*"},
      {"PUT", "/consumers/jack/credentials/c1", cred, 201,
       R"({"key":"/apisix/consumers/jack/credentials/c1","value":{"plugins":{"admin-test-auth":{"key":"k1"}},"id":"c1","create_time":1700000000,"update_time":1700000000}})"},
      {"PUT", "/consumers/jack/credentials", cred, 400, R"({"error_msg":"missing credential id"})"},
      {"PUT", "/consumers/jack/credentials/c2", R"({"plugins":{"admin-test-limit":{"count":1}}})",
       400, R"({"error_msg":"only supports auth type plugins in consumer credential"})"},
      {"PUT", "/consumers/jack/credentials/c2",
       R"({"plugins":{"admin-test-auth":{"key":"a"},"admin-test-limit":{"count":1}}})", 400,
       R"({"error_msg":"invalid configuration: property \"plugins\" validation failed: expect object to have at most 1 properties"})"},
      {"GET", "/consumers/jack/credentials/c1", "", 200,
       R"({"key":"/apisix/consumers/jack/credentials/c1","value":{"plugins":{"admin-test-auth":{"key":"k1"}},"id":"c1","create_time":1700000000,"update_time":1700000000},"createdIndex":2,"modifiedIndex":2})"},
      {"GET", "/consumers/jack/credentials", "", 200, "*"},
      {"PUT", "/consumers/jack/credentials/c3", cred, 201, "*"},
      {"DELETE", "/consumers/jack/credentials/c3", "", 200,
       R"({"deleted":"1","key":"/apisix/consumers/jack/credentials/c3"})"},
      {"DELETE", "/consumers/jack/credentials/c3", "", 404, R"({"message":"Key not found"})"},
      // Listing consumers does not list credentials as consumers.
      {"GET", "/consumers", "", 200,
       R"({"total":1,"list":[{"key":"/apisix/consumers/jack","value":{"username":"jack","create_time":1700000000,"update_time":1700000000},"createdIndex":1,"modifiedIndex":1}]})"},
      // Deleting the consumer deletes its credentials.
      {"DELETE", "/consumers/jack", "", 200, R"({"deleted":"1","key":"/apisix/consumers/jack"})"},
      {"GET", "/consumers/jack/credentials/c1", "", 404, R"({"message":"Key not found"})"},
      {"GET", "/consumers/jack/credentials", "", 200, R"({"list":[],"total":0})"},
  });
  EXPECT_EQ(list_keys(call("GET", "/consumers")).size(), 0u);
}

TEST_F(AdminConsumerTest, credential_listing_holds_only_that_consumers_credentials) {
  run({
      {"PUT", "/consumers", R"({"username":"jack"})", 201, "*"},
      {"PUT", "/consumers", R"({"username":"jackson"})", 201, "*"},
      {"PUT", "/consumers/jack/credentials/a", R"({"plugins":{}})", 201, "*"},
      {"PUT", "/consumers/jackson/credentials/b", R"({"plugins":{}})", 201, "*"},
  });
  EXPECT_EQ(list_keys(call("GET", "/consumers/jack/credentials")),
            std::vector<std::string>{"/apisix/consumers/jack/credentials/a"});
  EXPECT_EQ(list_keys(call("GET", "/consumers")),
            (std::vector<std::string>{"/apisix/consumers/jack", "/apisix/consumers/jackson"}));
}

}  // namespace
}  // namespace torii::admin::testing
