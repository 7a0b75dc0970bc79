// /plugins (list, schemas, reload), plugin_metadata and /schema/validate.
#include "admin/plugins_api.h"

#include <boost/json/parse.hpp>

#include "admin_test_support.h"
#include "plugins/plugin_registry.h"

namespace torii::admin::testing {
namespace {

namespace json = boost::json;

class AdminPluginsApiTest : public AdminApiTest {};

std::vector<std::string> names(const AdminResponse& r) {
  std::vector<std::string> out;
  const json::value list = json::parse(r.body);
  for (const auto& v : list.as_array()) out.emplace_back(v.as_string());
  return out;
}

TEST_F(AdminPluginsApiTest, list_is_sorted_by_priority_and_filtered_by_subsystem) {
  const auto all = names(call("GET", "/plugins/list"));
  ASSERT_EQ(all.size(), plugins::all_plugins().size());
  for (std::size_t i = 1; i < all.size(); ++i) {
    EXPECT_GE(plugins::find_plugin(all[i - 1])->priority, plugins::find_plugin(all[i])->priority);
  }
  const auto auth = std::find(all.begin(), all.end(), kAuthPlugin);
  const auto limit = std::find(all.begin(), all.end(), kLimitPlugin);
  ASSERT_NE(auth, all.end());
  EXPECT_LT(auth, limit);

  const auto stream = names(call("GET", "/plugins/list?subsystem=stream"));
  EXPECT_NE(std::find(stream.begin(), stream.end(), kLimitPlugin), stream.end());
  EXPECT_EQ(std::find(stream.begin(), stream.end(), kAuthPlugin), stream.end());
  for (const auto& name : stream) EXPECT_TRUE(plugins::find_plugin(name)->stream) << name;

  run({{"GET", "/plugins/list?subsystem=tcp", "", 400, "invalid subsystem passed"}});
}

TEST_F(AdminPluginsApiTest, schemas_by_type) {
  run({
      {"GET", "/plugins/admin-test-limit", "", 200,
       // APISIX injects `_meta` into every plugin's conf schemas.
       R"({"type":"object","properties":{"count":{"type":"integer","minimum":1},)"
       R"("_meta":{"type":"object","properties":{"disable":{"type":"boolean"},"error_response":{"oneOf":[{"type":"string"},{"type":"object"}]},"priority":{"description":"priority of plugins by customized order","type":"integer"},"filter":{"description":"filter determines whether the plugin needs to be executed at runtime","type":"array"},"pre_function":{"type":"string"}}}},"required":["count"]})"},
      {"GET", "/plugins/admin-test-limit?schema_type=metadata", "", 200,
       R"({"type":"object","properties":{"ttl":{"type":"integer"}},"required":["ttl"]})"},
      {"GET", "/plugins/admin-test-auth?schema_type=consumer", "", 200,
       R"({"type":"object","properties":{"key":{"type":"string"},)"
       R"("_meta":{"type":"object","properties":{"disable":{"type":"boolean"},"error_response":{"oneOf":[{"type":"string"},{"type":"object"}]},"priority":{"description":"priority of plugins by customized order","type":"integer"},"filter":{"description":"filter determines whether the plugin needs to be executed at runtime","type":"array"},"pre_function":{"type":"string"}}}},"required":["key"]})"},
      {"GET", "/plugins/admin-test-auth?schema_type=metadata", "", 400,
       R"({"error_msg":"not found schema"})"},
      {"GET", "/plugins/admin-test-limit?schema_type=consumer", "", 400,
       R"({"error_msg":"not found schema"})"},
      {"GET", "/plugins/nope", "", 404, R"({"error_msg":"plugin not found in subsystem http"})"},
      {"GET", "/plugins/admin-test-auth?subsystem=stream", "", 404,
       R"({"error_msg":"plugin not found in subsystem stream"})"},
      {"GET", "/plugins/admin-test-limit?subsystem=stream", "", 200, "*"},
      {"GET", "/plugins/x?subsystem=udp", "", 400, R"({"error_msg":"unsupported subsystem: udp"})"},
      {"PUT", "/plugins/admin-test-limit", "{}", 404, R"({"error_msg":"not found"})"},
  });
  const auto all = parse(call("GET", "/plugins?all=true").body).as_object();
  EXPECT_EQ(all.at(kAuthPlugin).as_object().at("priority"), 2500);
  EXPECT_EQ(all.at(kAuthPlugin).as_object().at("type"), "auth");
  EXPECT_TRUE(all.at(kLimitPlugin).as_object().contains("metadata_schema"));
}

TEST_F(AdminPluginsApiTest, reload_answers_done_to_put_only) {
  run({
      {"PUT", "/plugins/reload", "", 200, "done"},
      {"POST", "/plugins/reload", "", 405,
       R"({"error_msg":"please use PUT method to reload the plugins, POST method is not allowed."})"},
      {"GET", "/plugins/reload", "", 405,
       R"({"error_msg":"please use PUT method to reload the plugins, GET method is not allowed."})"},
  });
}

TEST_F(AdminPluginsApiTest, plugin_metadata_is_checked_against_the_metadata_schema) {
  run({
      {"PUT", "/plugin_metadata/admin-test-limit", R"({"ttl":5})", 201,
       R"({"key":"/apisix/plugin_metadata/admin-test-limit","value":{"ttl":5,"id":"admin-test-limit"}})"},
      {"PUT", "/plugin_metadata/admin-test-limit", R"({"ttl":6})", 200, "*"},
      {"GET", "/plugin_metadata/admin-test-limit", "", 200,
       R"({"key":"/apisix/plugin_metadata/admin-test-limit","value":{"ttl":6,"id":"admin-test-limit"},"createdIndex":1,"modifiedIndex":2})"},
      {"PUT", "/plugin_metadata/admin-test-limit", R"({"ttl":"x"})", 400,
       R"({"error_msg":"invalid configuration: property \"ttl\" validation failed: wrong type: expected integer, got string"})"},
      {"PUT", "/plugin_metadata/admin-test-limit", R"({})", 400,
       R"({"error_msg":"invalid configuration: property \"ttl\" is required"})"},
      {"PUT", "/plugin_metadata/nope", R"({"ttl":5})", 400,
       R"({"error_msg":"invalid plugin name"})"},
      {"PUT", "/plugin_metadata", R"({"ttl":5})", 400, R"({"error_msg":"missing plugin name"})"},
      // A plugin without a metadata schema takes any object.
      {"PUT", "/plugin_metadata/admin-test-auth", R"({"a":1})", 201, "*"},
      {"DELETE", "/plugin_metadata", "", 400, R"({"error_msg":"missing plugin_metadata id"})"},
      {"DELETE", "/plugin_metadata/admin-test-limit", "", 200,
       R"({"deleted":"1","key":"/apisix/plugin_metadata/admin-test-limit"})"},
  });
}

TEST_F(AdminPluginsApiTest, schema_validate_checks_without_reading_the_store) {
  run({
      {"POST", "/schema/validate/routes", R"({"uri":"/a","upstream_id":"nope"})", 200, ""},
      {"POST", "/schema/validate/routes", R"({"uri":1,"upstream_id":"1"})", 400,
       R"({"error_msg":"property \"uri\" validation failed: wrong type: expected string, got number"})"},
      {"POST", "/schema/validate/routes", R"({"uri":"/a","plugins":{"foo":{}}})", 400,
       R"({"error_msg":"unknown plugin [foo]"})"},
      {"POST", "/schema/validate/routes",
       R"({"uri":"/a","upstream_id":"1","vars":[["a","=","1"]]})", 400,
       R"({"error_msg":"failed to validate the 'vars' expression: invalid operator '='"})"},
      {"POST", "/schema/validate/upstreams", R"({"type":"chash","nodes":{}})", 400,
       R"({"error_msg":"missing key"})"},
      {"POST", "/schema/validate/foo", "{}", 404,
       R"({"error_msg":"Unsupported resource type: foo"})"},
      {"POST", "/schema/validate/routes", "{x", 400, "*"},
      {"GET", "/schema/validate/routes", "", 404, R"({"error_msg":"not found"})"},
  });
  EXPECT_FALSE(raw_get("/apisix/routes/1"));
}

}  // namespace
}  // namespace torii::admin::testing
