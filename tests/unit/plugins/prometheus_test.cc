// prometheus plugin: registration (priority, log phase, prefer_route), the
// schema with APISIX's messages, and what one log() call counts into the
// process registry: apisix_http_status, apisix_http_latency (request,
// upstream, apisix) and apisix_bandwidth with APISIX 3.14's label sets.
// Every case uses its own route id, so cases do not see each other's series.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "fake_plugin_context.h"
#include "observability/metrics.h"
#include "plugins/plugin_registry.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;
using testing::FakePluginContext;
using Values = std::vector<std::string_view>;

const PluginInfo& info() {
  const PluginInfo* p = find_plugin("prometheus");
  EXPECT_NE(p, nullptr);
  return *p;
}

std::shared_ptr<const Plugin> make(std::string_view conf) {
  auto p = info().create(json::parse(conf).as_object(), PluginScope{});
  EXPECT_TRUE(p.ok());
  return p.ok() ? *p : nullptr;
}

observability::Counter& status() {
  return observability::MetricsRegistry::global().counter(
      "http_status", "HTTP status codes per service in APISIX",
      {"code", "route", "matched_uri", "matched_host", "service", "consumer", "node",
       "request_type", "request_llm_model", "llm_model"});
}

observability::Histogram& latency() {
  return observability::MetricsRegistry::global().histogram(
      "http_latency", "HTTP request latency in milliseconds per service in APISIX",
      {"type", "route", "service", "consumer", "node", "request_type", "request_llm_model",
       "llm_model"},
      {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000});
}

observability::Counter& bandwidth() {
  return observability::MetricsRegistry::global().counter(
      "bandwidth", "Total bandwidth in bytes consumed per service in APISIX",
      {"type", "route", "service", "consumer", "node", "request_type", "request_llm_model",
       "llm_model"});
}

// A proxied request as the log phase sees it.
FakePluginContext proxied(std::string route) {
  FakePluginContext ctx;
  ctx.route_id_ = std::move(route);
  ctx.vars = {{"status", "200"},
              {"request_time", "0.010"},
              {"upstream_response_time", "0.004"},
              {"upstream_addr", "127.0.0.1:1980"},
              {"request_length", "120"},
              {"body_bytes_sent", "11"}};
  return ctx;
}

Values latency_labels(std::string_view type, std::string_view route, std::string_view service = "",
                      std::string_view node = "127.0.0.1") {
  return {type, route, service, "", node, "traditional_http", "", ""};
}

TEST(PluginPrometheusTest, registration_matches_apisix) {
  const PluginInfo& p = info();
  EXPECT_EQ(p.priority, 500);
  EXPECT_TRUE(p.prefer_route);
  EXPECT_FALSE(p.is_auth);
  EXPECT_TRUE(p.metadata_schema.is_null());
  auto plugin = make("{}");
  ASSERT_TRUE(plugin);
  EXPECT_EQ(plugin->phases(), Plugin::bit(Phase::kLog));
}

TEST(PluginPrometheusTest, schema_accepts_apisix_confs) {
  for (const char* conf : {"{}", R"({"prefer_name":true})", R"({"prefer_name":false})",
                           R"({"_meta":{"disable":false}})"}) {
    auto st = check_plugin_conf("prometheus", json::parse(conf), SchemaType::kRoute);
    EXPECT_TRUE(st.ok()) << conf << ": " << (st.ok() ? "" : st.error().message);
  }
}

TEST(PluginPrometheusTest, schema_rejects_with_apisix_message) {
  auto st = check_plugin_conf("prometheus", json::parse(R"({"prefer_name":"yes"})"),
                              SchemaType::kRoute);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message,
            "failed to check the configuration of plugin prometheus err: property "
            "\"prefer_name\" validation failed: wrong type: expected boolean, got string");
}

TEST(PluginPrometheusTest, proxied_request_counts_status_latency_and_bandwidth) {
  auto plugin = make("{}");
  FakePluginContext ctx = proxied("prom-unit-1");
  plugin->log(ctx);
  plugin->log(ctx);

  EXPECT_EQ(status().value(Values{"200", "prom-unit-1", "", "", "", "", "127.0.0.1",
                                  "traditional_http", "", ""}),
            2u);
  auto req = latency().totals(latency_labels("request", "prom-unit-1"));
  ASSERT_TRUE(req);
  EXPECT_EQ(req->count, 2u);
  EXPECT_DOUBLE_EQ(req->sum, 20);
  EXPECT_EQ(req->cumulative[3], 2u);  // le="10"
  EXPECT_EQ(req->cumulative[2], 0u);  // le="5"
  auto up = latency().totals(latency_labels("upstream", "prom-unit-1"));
  ASSERT_TRUE(up);
  EXPECT_DOUBLE_EQ(up->sum, 8);
  auto apisix = latency().totals(latency_labels("apisix", "prom-unit-1"));
  ASSERT_TRUE(apisix);
  EXPECT_DOUBLE_EQ(apisix->sum, 12);
  EXPECT_EQ(bandwidth().value(latency_labels("ingress", "prom-unit-1")), 240u);
  EXPECT_EQ(bandwidth().value(latency_labels("egress", "prom-unit-1")), 22u);
}

TEST(PluginPrometheusTest, early_answer_without_upstream_has_no_upstream_latency) {
  auto plugin = make("{}");
  FakePluginContext ctx;
  ctx.route_id_ = "prom-unit-2";
  ctx.response_status_ = 401;
  ctx.vars = {{"status", "401"}, {"request_time", "0.001"}, {"request_length", "80"},
              {"body_bytes_sent", "50"}};
  plugin->log(ctx);
  EXPECT_EQ(status().value(Values{"401", "prom-unit-2", "", "", "", "", "", "traditional_http",
                                  "", ""}),
            1u);
  EXPECT_FALSE(latency().totals(latency_labels("upstream", "prom-unit-2", "", "")));
  auto apisix = latency().totals(latency_labels("apisix", "prom-unit-2", "", ""));
  ASSERT_TRUE(apisix);
  EXPECT_DOUBLE_EQ(apisix->sum, 1);  // all of the request's time
}

TEST(PluginPrometheusTest, status_falls_back_to_the_response_status) {
  auto plugin = make("{}");
  FakePluginContext ctx;
  ctx.route_id_ = "prom-unit-3";
  ctx.response_status_ = 503;
  plugin->log(ctx);
  EXPECT_EQ(status().value(Values{"503", "prom-unit-3", "", "", "", "", "", "traditional_http",
                                  "", ""}),
            1u);
}

TEST(PluginPrometheusTest, prefer_name_labels_route_and_service_by_name) {
  auto plugin = make(R"({"prefer_name":true})");
  FakePluginContext ctx = proxied("prom-unit-4");
  ctx.service_id_ = "svc-4";
  ctx.vars["route_name"] = "orders";
  ctx.vars["service_name"] = "shop";
  plugin->log(ctx);
  EXPECT_EQ(status().value(Values{"200", "orders", "", "", "shop", "", "127.0.0.1",
                                  "traditional_http", "", ""}),
            1u);
  EXPECT_EQ(bandwidth().value(latency_labels("ingress", "orders", "shop")), 120u);
}

TEST(PluginPrometheusTest, prefer_name_falls_back_to_ids_without_names) {
  auto plugin = make(R"({"prefer_name":true})");
  FakePluginContext ctx = proxied("prom-unit-5");
  ctx.service_id_ = "svc-5";
  plugin->log(ctx);
  EXPECT_EQ(status().value(Values{"200", "prom-unit-5", "", "", "svc-5", "", "127.0.0.1",
                                  "traditional_http", "", ""}),
            1u);
}

TEST(PluginPrometheusTest, ids_are_used_when_prefer_name_is_off) {
  auto plugin = make("{}");
  FakePluginContext ctx = proxied("prom-unit-6");
  ctx.service_id_ = "svc-6";
  ctx.vars["route_name"] = "orders-6";
  plugin->log(ctx);
  EXPECT_EQ(status().value(Values{"200", "prom-unit-6", "", "", "svc-6", "", "127.0.0.1",
                                  "traditional_http", "", ""}),
            1u);
}

TEST(PluginPrometheusTest, node_is_the_last_attempt_without_port) {
  struct Case {
    const char* upstream_addr;
    const char* node;
  };
  const Case cases[] = {{"10.0.0.1:80, 10.0.0.2:8080", "10.0.0.2"},
                        {"[::1]:1980", "[::1]"},
                        {"unix:/tmp/sock", "unix:/tmp/sock"},
                        {"10.0.0.3:80", "10.0.0.3"}};
  auto plugin = make("{}");
  int n = 0;
  for (const Case& c : cases) {
    const std::string route = "prom-unit-node-" + std::to_string(n++);
    FakePluginContext ctx = proxied(route);
    ctx.vars["upstream_addr"] = c.upstream_addr;
    plugin->log(ctx);
    EXPECT_EQ(status().value(Values{"200", route, "", "", "", "", c.node, "traditional_http", "",
                                    ""}),
              1u)
        << c.upstream_addr;
  }
}

TEST(PluginPrometheusTest, richer_variables_fill_their_labels_when_present) {
  // consumer_name, matched_uri/host, balancer_ip, bytes_sent and the LLM
  // fields are read when the runtime provides them.
  auto plugin = make("{}");
  FakePluginContext ctx = proxied("prom-unit-7");
  ctx.vars["consumer_name"] = "jack";
  ctx.vars["matched_uri"] = "/hello*";
  ctx.vars["matched_host"] = "*.example.com";
  ctx.vars["balancer_ip"] = "10.1.1.1";
  ctx.vars["bytes_sent"] = "300";
  ctx.vars["request_type"] = "ai_chat";
  ctx.vars["request_llm_model"] = "gpt-4";
  ctx.vars["llm_model"] = "gpt-4o";
  plugin->log(ctx);
  EXPECT_EQ(status().value(Values{"200", "prom-unit-7", "/hello*", "*.example.com", "", "jack",
                                  "10.1.1.1", "ai_chat", "gpt-4", "gpt-4o"}),
            1u);
  EXPECT_EQ(bandwidth().value(Values{"egress", "prom-unit-7", "", "jack", "10.1.1.1", "ai_chat",
                                     "gpt-4", "gpt-4o"}),
            300u);
}

TEST(PluginPrometheusTest, workers_count_into_their_own_shards) {
  auto plugin = make("{}");
  for (unsigned w = 0; w < 4; ++w) {
    FakePluginContext ctx = proxied("prom-unit-8");
    ctx.worker_ = w;
    ctx.workers_ = 4;
    plugin->log(ctx);
  }
  EXPECT_EQ(status().value(Values{"200", "prom-unit-8", "", "", "", "", "127.0.0.1",
                                  "traditional_http", "", ""}),
            4u);
}

// The lines of the global scrape that carry route="<route>", the route
// label blanked so two routes' lines compare.
std::string scrape_lines_of(std::string_view route) {
  std::string text;
  observability::MetricsRegistry::global().render(text, "apisix_");
  const std::string label = "route=\"" + std::string(route) + "\"";
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    if (const size_t at = line.find(label); at != std::string::npos) {
      out += line.replace(at, label.size(), "route=\"\"") + "\n";
    }
    pos = end + 1;
  }
  return out;
}

TEST(PluginPrometheusTest, cached_and_uncached_workers_render_the_same_lines) {
  // PluginScope{} has one worker: worker 0 counts through its cached series
  // handles, worker 1 through the label lookup.
  auto plugin = make("{}");
  for (unsigned w : {0u, 1u}) {
    const std::string route = w == 0 ? "prom-unit-10" : "prom-unit-11";
    for (int i = 0; i < 3; ++i) {
      FakePluginContext ok = proxied(route);
      ok.worker_ = w;
      plugin->log(ok);
      FakePluginContext denied;
      denied.route_id_ = route;
      denied.worker_ = w;
      denied.response_status_ = 401;
      denied.vars = {{"status", "401"}, {"request_time", "0.002"}, {"request_length", "80"},
                     {"body_bytes_sent", "50"}};
      denied.vars["consumer_name"] = i == 2 ? "jack" : "";
      plugin->log(denied);
    }
  }
  const std::string cached = scrape_lines_of("prom-unit-10");
  EXPECT_NE(cached.find("apisix_http_status{code=\"401\""), std::string::npos) << cached;
  EXPECT_EQ(cached, scrape_lines_of("prom-unit-11"));
}

// Worker 0 remembers its last few label sets, as pointers into a map that
// moves its elements when it grows: requests cycling over more nodes than it
// remembers, a burst of new label sets that makes the map grow, then the
// first nodes again must each count into their own series.
TEST(PluginPrometheusTest, label_sets_cycling_past_the_recent_ones_count_apart) {
  auto plugin = make("{}");
  const std::string route = "prom-unit-recent";
  auto log_node = [&](const std::string& node, int times) {
    for (int k = 0; k < times; ++k) {
      FakePluginContext ctx = proxied(route);
      ctx.vars["upstream_addr"] = node + ":80";
      plugin->log(ctx);
    }
  };
  auto node = [](int i) { return "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1); };
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 7; ++i) log_node(node(i), i % 3 + 1);
  }
  // Each new set is inserted while node 0's is remembered; some of these
  // insertions grow the map, and node 0's next request must not go through
  // its old place.
  for (int i = 7; i < 507; ++i) {
    log_node(node(0), 1);
    log_node(node(i), 1);
  }
  for (int i = 0; i < 7; ++i) log_node(node(i), 1);
  for (int i = 0; i < 507; ++i) {
    const uint64_t expected = i == 0   ? 5u + 500u + 1u
                              : i < 7 ? static_cast<uint64_t>(5 * (i % 3 + 1) + 1)
                                      : 1u;
    ASSERT_EQ(status().value(Values{"200", route, "", "", "", "", node(i), "traditional_http", "",
                                    ""}),
              expected)
        << node(i);
  }
}

TEST(PluginPrometheusTest, retried_upstream_times_are_summed) {
  auto plugin = make("{}");
  FakePluginContext ctx = proxied("prom-unit-9");
  ctx.vars["upstream_response_time"] = "0.002, 0.003";
  ctx.vars["request_time"] = "0.004";
  plugin->log(ctx);
  auto up = latency().totals(latency_labels("upstream", "prom-unit-9"));
  ASSERT_TRUE(up);
  EXPECT_DOUBLE_EQ(up->sum, 5);
  auto apisix = latency().totals(latency_labels("apisix", "prom-unit-9"));
  ASSERT_TRUE(apisix);
  EXPECT_DOUBLE_EQ(apisix->sum, 0);  // clamped, never negative
}

}  // namespace
}  // namespace torii::plugins
