// Reference checks: ids a write names must exist; a resource still in use
// cannot be deleted unless ?force=true.
#include "admin/reference_checks.h"

#include "admin_test_support.h"

namespace torii::admin::testing {
namespace {

const std::string kUp = kUpstream;

class AdminReferenceTest : public AdminApiTest {};

TEST_F(AdminReferenceTest, writes_need_the_referenced_resources) {
  make_api(options_with([](ResourceApiOptions& o) { o.stream_enabled = true; }));
  run({
      {"PUT", "/routes/1", R"({"uri":"/a","upstream_id":"9"})", 400,
       R"({"error_msg":"failed to fetch upstream info by upstream id [9], response code: 404"})"},
      {"PUT", "/routes/1", R"({"uri":"/a","upstream_id":9})", 400,
       R"({"error_msg":"failed to fetch upstream info by upstream id [9], response code: 404"})"},
      {"PUT", "/routes/1", R"({"uri":"/a","service_id":"s"})", 400,
       R"({"error_msg":"failed to fetch service info by service id [s], response code: 404"})"},
      {"PUT", "/routes/1", R"({"uri":"/a","plugin_config_id":"pc","upstream":)" + kUp + "}", 400,
       R"({"error_msg":"failed to fetch plugin config info by plugin config id [pc], response code: 404"})"},
      {"PUT", "/services/1", R"({"upstream_id":"u"})", 400,
       R"({"error_msg":"failed to fetch upstream info by upstream id [u], response code: 404"})"},
      {"PUT", "/stream_routes/1", R"({"service_id":"s","upstream":)" + kUp + "}", 400,
       R"({"error_msg":"failed to fetch service info by service id [s], response code: 404"})"},
      {"PUT", "/consumers", R"({"username":"jack","group_id":"g"})", 400,
       R"({"error_msg":"failed to fetch consumer group info by consumer group id [g], response code: 404"})"},
      {"PUT", "/upstreams/1", R"({"nodes":{"127.0.0.1:80":1},"tls":{"client_cert_id":"c"}})", 400,
       R"({"error_msg":"failed to fetch ssl info by ssl id [c], response code: 404"})"},
      {"PUT", "/routes/1",
       R"({"uri":"/a","upstream":{"nodes":{"127.0.0.1:80":1},"tls":{"client_cert_id":"c"}}})", 400,
       R"({"error_msg":"failed to fetch ssl info by ssl id [c], response code: 404"})"},
  });
  raw_put("/apisix/ssls/c", R"({"id":"c","type":"server"})");
  raw_put("/apisix/ssls/cc", R"({"id":"cc","type":"client"})");
  run({
      {"PUT", "/upstreams/1", R"({"nodes":{"127.0.0.1:80":1},"tls":{"client_cert_id":"c"}})", 400,
       R"({"error_msg":"failed to fetch ssl info by ssl id [c], wrong ssl type"})"},
      {"PUT", "/upstreams/1", R"({"nodes":{"127.0.0.1:80":1},"tls":{"client_cert_id":"cc"}})", 201,
       "*"},
      {"PUT", "/routes/1", R"({"uri":"/a","upstream_id":"1"})", 201, "*"},
      {"PUT", "/consumer_groups/g", R"({"plugins":{}})", 201, "*"},
      {"PUT", "/consumers", R"({"username":"jack","group_id":"g"})", 201, "*"},
  });
}

TEST_F(AdminReferenceTest, deletes_refuse_resources_in_use_unless_forced) {
  raw_put("/apisix/upstreams/u1", R"({"id":"u1","nodes":{}})");
  raw_put("/apisix/upstreams/u2", R"({"id":"u2","nodes":{}})");
  raw_put("/apisix/upstreams/u3", R"({"id":"u3","nodes":{}})");
  raw_put("/apisix/routes/1",
          R"({"id":"1","uri":"/a","upstream_id":"u1","service_id":"s1","plugin_config_id":"pc"})");
  raw_put(
      "/apisix/routes/3",
      R"({"id":"3","uri":"/b","plugins":{"traffic-split":{"rules":[{"weighted_upstreams":[{"upstream_id":"u2","weight":1}]}]}}})");
  raw_put(
      "/apisix/plugin_configs/pc1",
      R"({"id":"pc1","plugins":{"traffic-split":{"rules":[{"weighted_upstreams":[{"upstream_id":"u3"}]}]}}})");
  raw_put("/apisix/services/s1", R"({"id":"s1"})");
  raw_put("/apisix/services/s2", R"({"id":"s2"})");
  raw_put("/apisix/stream_routes/sr", R"({"id":"sr","service_id":"s2"})");
  raw_put("/apisix/stream_routes/sub",
          R"({"id":"sub","protocol":{"name":"redis","superior_id":"sr"}})");
  raw_put("/apisix/plugin_configs/pc", R"({"id":"pc","plugins":{}})");
  raw_put("/apisix/consumer_groups/g", R"({"id":"g","plugins":{}})");
  raw_put("/apisix/consumers/jack", R"({"username":"jack","group_id":"g"})");
  raw_put("/apisix/protos/p", R"({"id":"p","content":"x"})");
  raw_put("/apisix/routes/g1",
          R"({"id":"g1","uri":"/g","plugins":{"grpc-transcode":{"proto_id":"p"}}})");
  run({
      {"DELETE", "/upstreams/u1", "", 400,
       R"({"error_msg":"can not delete this upstream, route [1] is still using it now"})"},
      {"DELETE", "/upstreams/u2", "", 400,
       R"({"error_msg":"can not delete this upstream, plugin in route [3] is still using it now"})"},
      {"DELETE", "/upstreams/u3", "", 400,
       R"({"error_msg":"can not delete this upstream, plugin in plugin_config [pc1] is still using it now"})"},
      {"DELETE", "/services/s1", "", 400,
       R"({"error_msg":"can not delete this service directly, route [1] is still using it now"})"},
      {"DELETE", "/services/s2", "", 400,
       R"({"error_msg":"can not delete this service directly, stream_route [sr] is still using it now"})"},
      {"DELETE", "/plugin_configs/pc", "", 400,
       R"({"error_msg":"can not delete this plugin config, route [1] is still using it now"})"},
      {"DELETE", "/consumer_groups/g", "", 400,
       R"({"error_msg":"can not delete this consumer group, consumer [jack] is still using it now"})"},
      {"DELETE", "/protos/p", "", 400,
       R"({"error_msg":"can not delete this proto, route [g1] is still using it now"})"},
      {"DELETE", "/stream_routes/sr", "", 400,
       R"({"error_msg":"can not delete this stream route directly, stream route [sub] is still using it as superior_id"})"},
      // Only exactly "true" forces.
      {"DELETE", "/upstreams/u1?force=yes", "", 400, "*"},
      {"DELETE", "/upstreams/u1?force=true", "", 200,
       R"({"deleted":"1","key":"/apisix/upstreams/u1"})"},
      {"DELETE", "/services/s1?force=true", "", 200, "*"},
  });
}

}  // namespace
}  // namespace torii::admin::testing
