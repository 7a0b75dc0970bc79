// PATCH: the merge and sub-path helpers on their own, then through the API
// (re-validation, timestamps, missing keys).
#include "admin/json_patch.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "admin_test_support.h"

namespace torii::admin::testing {
namespace {

namespace json = boost::json;

std::string merged(const std::string& target, const std::string& patch) {
  json::object t = json::parse(target).as_object();
  merge_patch(t, json::parse(patch).as_object());
  return json::serialize(t);
}

std::string sub_patched(const std::string& target, std::string_view path,
                        const std::string& value) {
  json::object t = json::parse(target).as_object();
  auto st = patch_sub_path(t, path, json::parse(value));
  return st ? json::serialize(t) : "error: " + st.error().message;
}

TEST(AdminJsonPatchTest, merge_recurses_into_objects_deletes_nulls_replaces_arrays) {
  EXPECT_EQ(
      merged(R"({"a":{"b":1,"c":2},"d":[1,2],"e":1})", R"({"a":{"b":3,"c":null},"d":[3],"f":"x"})"),
      R"({"a":{"b":3},"d":[3],"e":1,"f":"x"})");
  // A non-object is replaced by an object wholesale, nulls inside included.
  EXPECT_EQ(merged(R"({"a":1})", R"({"a":{"b":null}})"), R"({"a":{"b":null}})");
  // Lua cannot tell {} from []: an empty object is replaced, not merged.
  EXPECT_EQ(merged(R"({"a":{}})", R"({"a":{"b":1}})"), R"({"a":{"b":1}})");
  EXPECT_EQ(merged(R"({"a":1})", R"({"b":null})"), R"({"a":1})");
}

TEST(AdminJsonPatchTest, sub_path_replaces_the_value_and_creates_missing_objects) {
  EXPECT_EQ(sub_patched(R"({"up":{"nodes":{"a":1}}})", "up/nodes", R"({"b":2})"),
            R"({"up":{"nodes":{"b":2}}})");
  EXPECT_EQ(sub_patched(R"({})", "labels/env", R"("prod")"), R"({"labels":{"env":"prod"}})");
  EXPECT_EQ(sub_patched(R"({"type":"x"})", "type/y", "1"), "error: invalid sub-path: /type");
  EXPECT_EQ(sub_patched(R"({"a":{"b":null}})", "a/b/c", "1"), "error: invalid sub-path: /a/b");
  EXPECT_EQ(sub_patched(R"({"a":1})", "a", "[1,2]"), R"({"a":[1,2]})");
}

class AdminPatchTest : public AdminApiTest {};

TEST_F(AdminPatchTest, merge_patch_is_revalidated_and_stamped) {
  run({
      {"PUT", "/upstreams/1",
       R"({"type":"roundrobin","nodes":{"127.0.0.1:80":1},"labels":{"a":"1","b":"2"},"retries":2})",
       201, "*"},
  });
  now_ += 5;
  run({
      {"PATCH", "/upstreams/1",
       R"({"labels":{"b":null,"c":"3"},"retries":null,"nodes":{"127.0.0.2:80":2}})", 200,
       R"({"key":"/apisix/upstreams/1","value":{"type":"roundrobin","nodes":{"127.0.0.1:80":1,"127.0.0.2:80":2},"labels":{"a":"1","c":"3"},"id":"1","create_time":1700000000,"update_time":1700000005}})"},
      {"GET", "/upstreams/1", "", 200,
       R"({"key":"/apisix/upstreams/1","value":{"type":"roundrobin","nodes":{"127.0.0.1:80":1,"127.0.0.2:80":2},"labels":{"a":"1","c":"3"},"id":"1","create_time":1700000000,"update_time":1700000005},"createdIndex":1,"modifiedIndex":2})"},
      // The merged object is validated again and nothing is written.
      {"PATCH", "/upstreams/1", R"({"type":"chash"})", 400, R"({"error_msg":"missing key"})"},
      {"PATCH", "/upstreams/1", R"({"id":"2"})", 400, R"({"error_msg":"wrong upstream id"})"},
      {"PATCH", "/upstreams/9", R"({"retries":1})", 404, R"({"message":"Key not found"})"},
  });
}

TEST_F(AdminPatchTest, sub_path_patch_replaces_the_value_at_the_path) {
  run({
      {"PUT", "/routes/1",
       R"({"uri":"/a","upstream":{"type":"roundrobin","nodes":{"127.0.0.1:80":1}}})", 201, "*"},
  });
  now_ += 7;
  run({
      {"PATCH", "/routes/1/upstream/nodes", R"({"127.0.0.1:1982":1})", 200,
       R"({"key":"/apisix/routes/1","value":{"uri":"/a","upstream":{"type":"roundrobin","nodes":{"127.0.0.1:1982":1}},"id":"1","create_time":1700000000,"update_time":1700000007}})"},
      {"PATCH", "/routes/1/uri", R"("/b")", 200, "*"},
      {"PATCH", "/routes/1/labels/env", R"("prod")", 200,
       R"({"key":"/apisix/routes/1","value":{"uri":"/b","upstream":{"type":"roundrobin","nodes":{"127.0.0.1:1982":1}},"id":"1","create_time":1700000000,"update_time":1700000007,"labels":{"env":"prod"}}})"},
      {"PATCH", "/routes/1/uri/x", "1", 400, R"({"error_msg":"invalid sub-path: /uri"})"},
      {"PATCH", "/routes/1/uri", "1", 400,
       R"({"error_msg":"invalid configuration: property \"uri\" validation failed: wrong type: expected string, got number"})"},
  });
}

}  // namespace
}  // namespace torii::admin::testing
