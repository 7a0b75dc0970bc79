// The metrics registry: per-worker shards summed on scrape, histogram
// buckets, the Prometheus text format (escaping, ordering), concurrent
// increments while scraping, and a printed measurement of how a scrape of
// 10,000 routes' series affects the workers' counting (no timing asserts).
#include "observability/metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace torii::observability {
namespace {

using Values = std::vector<std::string_view>;

std::string render(const MetricsRegistry& r, std::string_view prefix = "apisix_") {
  std::string out;
  r.render(out, prefix);
  return out;
}

bool contains(const std::string& text, std::string_view line) {
  return text.find(line) != std::string::npos;
}

TEST(ObservabilityMetricsTest, counter_sums_the_shards_of_every_worker) {
  MetricsRegistry r;
  Counter& c = r.counter("http_status", "HTTP status codes per service in APISIX",
                         {"code", "route"});
  const Values ok{"200", "1"};
  c.inc(0, ok);
  c.inc(1, ok, 2);
  c.inc(7, ok, 4);
  c.inc(1, Values{"404", "1"});
  EXPECT_EQ(c.value(ok), 7u);
  EXPECT_EQ(c.value(Values{"404", "1"}), 1u);
  EXPECT_EQ(c.value(Values{"500", "1"}), 0u);
  EXPECT_EQ(r.series_count(), 2u);

  const std::string text = render(r);
  EXPECT_TRUE(contains(text,
                       "# HELP apisix_http_status HTTP status codes per service in APISIX\n"
                       "# TYPE apisix_http_status counter\n"
                       "apisix_http_status{code=\"200\",route=\"1\"} 7\n"
                       "apisix_http_status{code=\"404\",route=\"1\"} 1\n"))
      << text;
}

TEST(ObservabilityMetricsTest, histogram_buckets_are_cumulative_and_inclusive) {
  MetricsRegistry r;
  Histogram& h = r.histogram("http_latency", "latency", {"type"}, {1, 2, 5});
  const Values req{"request"};
  h.observe(0, req, 0.5);
  h.observe(1, req, 1);    // le is inclusive: bucket 1
  h.observe(0, req, 1.5);
  h.observe(1, req, 100);  // +Inf only
  auto t = h.totals(req);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->cumulative, (std::vector<uint64_t>{2, 3, 3, 4}));
  EXPECT_EQ(t->count, 4u);
  EXPECT_DOUBLE_EQ(t->sum, 103);
  EXPECT_FALSE(h.totals(Values{"upstream"}));

  const std::string text = render(r);
  EXPECT_TRUE(contains(text,
                       "# TYPE apisix_http_latency histogram\n"
                       "apisix_http_latency_bucket{type=\"request\",le=\"1\"} 2\n"
                       "apisix_http_latency_bucket{type=\"request\",le=\"2\"} 3\n"
                       "apisix_http_latency_bucket{type=\"request\",le=\"5\"} 3\n"
                       "apisix_http_latency_bucket{type=\"request\",le=\"+Inf\"} 4\n"
                       "apisix_http_latency_sum{type=\"request\"} 103\n"
                       "apisix_http_latency_count{type=\"request\"} 4\n"))
      << text;
}

TEST(ObservabilityMetricsTest, fractional_sums_and_bounds_print_shortest) {
  MetricsRegistry r;
  Histogram& h = r.histogram("lat", "h", {}, {0.5, 1});
  h.observe(0, {}, 0.25);
  const std::string text = render(r, "");
  EXPECT_TRUE(contains(text, "lat_bucket{le=\"0.5\"} 1\n")) << text;
  EXPECT_TRUE(contains(text, "lat_sum 0.25\n")) << text;
  EXPECT_TRUE(contains(text, "lat_count 1\n")) << text;
}

TEST(ObservabilityMetricsTest, nan_observation_is_ignored) {
  MetricsRegistry r;
  Histogram& h = r.histogram("lat", "h", {}, {1});
  h.observe(0, {}, std::nan(""));
  EXPECT_FALSE(h.totals({}));
}

TEST(ObservabilityMetricsTest, series_handles_count_into_the_same_series_as_labels) {
  MetricsRegistry r;
  Counter& c = r.counter("x", "h", {"code", "route"});
  Histogram& h = r.histogram("lat", "h", {"route"}, {1, 2});
  const Values ok{"200", "a\"b"};
  c.inc(0, ok);
  const Series s = c.series(1, ok);
  ASSERT_TRUE(s);
  c.inc(s, 2);
  c.inc(s);
  EXPECT_EQ(c.value(ok), 4u);
  EXPECT_EQ(r.series_count(), 1u);  // one series, two shards

  const Series hs = h.series(0, Values{"1"});
  ASSERT_TRUE(hs);
  h.observe(hs, 1.5);
  h.observe(hs, std::nan(""));  // ignored, as through the labels
  h.observe(1, Values{"1"}, 0.5);
  auto t = h.totals(Values{"1"});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->cumulative, (std::vector<uint64_t>{1, 2, 2}));
  EXPECT_DOUBLE_EQ(t->sum, 2);
  EXPECT_TRUE(contains(render(r, ""), "x{code=\"200\",route=\"a\\\"b\"} 4\n"));
}

TEST(ObservabilityMetricsTest, no_series_handle_without_an_own_shard_or_right_labels) {
  MetricsRegistry r;
  Counter& c = r.counter("x", "h", {"a"});
  EXPECT_FALSE(c.series(MetricsRegistry::kMaxShards, Values{"1"}));
  EXPECT_FALSE(c.series(0, Values{"1", "2"}));
  // Nothing created, no error counted: the caller counts through the labels.
  EXPECT_EQ(r.series_count(), 0u);
  EXPECT_EQ(r.errors(), 0u);
}

TEST(ObservabilityMetricsTest, label_values_and_help_are_escaped) {
  MetricsRegistry r;
  Counter& c = r.counter("x", "help with \\ and\nnewline", {"route"});
  c.inc(0, Values{"a\"b\\c\nd"});
  const std::string text = render(r, "");
  EXPECT_TRUE(contains(text, "# HELP x help with \\\\ and\\nnewline\n")) << text;
  EXPECT_TRUE(contains(text, "x{route=\"a\\\"b\\\\c\\nd\"} 1\n")) << text;
  // The escaped form is the series identity: the raw value finds it.
  EXPECT_EQ(c.value(Values{"a\"b\\c\nd"}), 1u);
}

TEST(ObservabilityMetricsTest, values_that_differ_only_in_quoting_stay_distinct) {
  MetricsRegistry r;
  Counter& c = r.counter("x", "h", {"a", "b"});
  c.inc(0, Values{"1\",b=\"2", ""});
  c.inc(0, Values{"1", "2"});
  EXPECT_EQ(r.series_count(), 2u);
  EXPECT_EQ(c.value(Values{"1", "2"}), 1u);
}

TEST(ObservabilityMetricsTest, unlabelled_counter_renders_without_braces) {
  MetricsRegistry r;
  r.counter("requests", "h", {}).inc(0, {}, 3);
  EXPECT_TRUE(contains(render(r, "p_"), "\np_requests 3\n"));
}

TEST(ObservabilityMetricsTest, wrong_label_count_is_an_error_not_a_crash) {
  MetricsRegistry r;
  Counter& c = r.counter("x", "h", {"a", "b"});
  c.inc(0, Values{"only-one"});
  EXPECT_EQ(r.series_count(), 0u);
  EXPECT_EQ(r.errors(), 1u);
  EXPECT_TRUE(contains(render(r),
                       "# HELP apisix_nginx_metric_errors_total Number of nginx-lua-prometheus "
                       "errors\n# TYPE apisix_nginx_metric_errors_total counter\n"
                       "apisix_nginx_metric_errors_total 1\n"));
}

TEST(ObservabilityMetricsTest, same_name_returns_the_same_family) {
  MetricsRegistry r;
  Counter& a = r.counter("x", "h", {"l"});
  Counter& b = r.counter("x", "h", {"l"});
  EXPECT_EQ(&a, &b);
  Histogram& h1 = r.histogram("y", "h", {}, {2, 1});
  Histogram& h2 = r.histogram("y", "h", {}, {1, 2});
  EXPECT_EQ(&h1, &h2);
  EXPECT_EQ(h1.buckets(), (std::vector<double>{1, 2}));
}

TEST(ObservabilityMetricsTest, families_without_series_are_not_rendered) {
  MetricsRegistry r;
  r.counter("bandwidth", "h", {"type"});
  const std::string text = render(r);
  EXPECT_FALSE(contains(text, "apisix_bandwidth"));
  // Only the errors counter, always present as in nginx-lua-prometheus.
  EXPECT_EQ(text,
            "# HELP apisix_nginx_metric_errors_total Number of nginx-lua-prometheus errors\n"
            "# TYPE apisix_nginx_metric_errors_total counter\n"
            "apisix_nginx_metric_errors_total 0\n");
}

TEST(ObservabilityMetricsTest, families_are_sorted_by_name_with_connection_gauges) {
  MetricsRegistry r;
  r.counter("http_status", "s", {"code"}).inc(0, Values{"200"});
  r.counter("bandwidth", "b", {"type"}).inc(0, Values{"egress"}, 10);
  ConnectionStats st;
  st.active = 3;
  st.accepted = 10;
  st.handled = 10;
  st.requests = 42;
  r.set_connection_stats([st] { return st; });
  const std::string text = render(r);
  const size_t bw = text.find("# HELP apisix_bandwidth ");
  const size_t req = text.find("# HELP apisix_http_requests_total ");
  const size_t status = text.find("# HELP apisix_http_status ");
  const size_t conn = text.find("# HELP apisix_nginx_http_current_connections ");
  const size_t err = text.find("# HELP apisix_nginx_metric_errors_total ");
  ASSERT_NE(bw, std::string::npos);
  EXPECT_LT(bw, req);
  EXPECT_LT(req, status);
  EXPECT_LT(status, conn);
  EXPECT_LT(conn, err);
  EXPECT_TRUE(contains(text,
                       "# HELP apisix_http_requests_total The total number of client requests "
                       "since APISIX started\n# TYPE apisix_http_requests_total gauge\n"
                       "apisix_http_requests_total 42\n"));
  // States torii does not report (reading, waiting, writing) are left out.
  EXPECT_TRUE(contains(text,
                       "# HELP apisix_nginx_http_current_connections Number of HTTP connections\n"
                       "# TYPE apisix_nginx_http_current_connections gauge\n"
                       "apisix_nginx_http_current_connections{state=\"accepted\"} 10\n"
                       "apisix_nginx_http_current_connections{state=\"active\"} 3\n"
                       "apisix_nginx_http_current_connections{state=\"handled\"} 10\n"
                       "# HELP"))
      << text;
  r.set_connection_stats(nullptr);
  EXPECT_FALSE(contains(render(r), "current_connections"));
}

TEST(ObservabilityMetricsTest, etcd_metrics_as_apisix_writes_them) {
  std::string out;
  const std::vector<std::pair<std::string, int64_t>> idx = {{"routes", 12},
                                                            {"max_modify_index", 15}};
  append_etcd_metrics(out, "apisix_", true, idx);
  EXPECT_EQ(out,
            "# HELP apisix_etcd_modify_indexes Etcd modify index for APISIX keys\n"
            "# TYPE apisix_etcd_modify_indexes gauge\n"
            "apisix_etcd_modify_indexes{key=\"routes\"} 12\n"
            "apisix_etcd_modify_indexes{key=\"max_modify_index\"} 15\n"
            "# HELP apisix_etcd_reachable Config server etcd reachable from APISIX, 0 is "
            "unreachable\n"
            "# TYPE apisix_etcd_reachable gauge\n"
            "apisix_etcd_reachable 1\n");
}

TEST(ObservabilityMetricsTest, append_value_formats) {
  auto fmt = [](double v) {
    std::string s;
    append_value(s, v);
    return s;
  };
  EXPECT_EQ(fmt(0), "0");
  EXPECT_EQ(fmt(42), "42");
  EXPECT_EQ(fmt(-3), "-3");
  EXPECT_EQ(fmt(0.1), "0.1");
  EXPECT_EQ(fmt(1e300), "1e+300");
  EXPECT_EQ(fmt(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(fmt(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(fmt(std::nan("")), "NaN");
}

// N threads, each its own worker index, count into existing and new series
// while another thread scrapes without pause; nothing is lost. Two threads
// past kMaxShards share the overflow shard.
TEST(ObservabilityMetricsTest, concurrent_increments_while_scraping_lose_nothing) {
  MetricsRegistry r;
  Counter& c = r.counter("c", "h", {"route"});
  Histogram& h = r.histogram("h", "h", {"route"}, {1, 10});
  constexpr int kPerThread = 50000;
  constexpr int kSeries = 200;
  const std::vector<unsigned> workers = {0, 1, 2, 3, MetricsRegistry::kMaxShards,
                                         MetricsRegistry::kMaxShards + 1};
  std::vector<std::string> names;
  for (int i = 0; i < kSeries; ++i) names.push_back(std::to_string(i));

  std::atomic<bool> done{false};
  std::atomic<int> scrapes{0};
  std::thread scraper([&] {
    while (!done.load()) {
      std::string out;
      r.render(out, "");
      scrapes.fetch_add(1);
    }
  });
  std::vector<std::thread> threads;
  for (unsigned w : workers) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string_view v[] = {names[static_cast<size_t>(i) % kSeries]};
        c.inc(w, v);
        h.observe(w, v, static_cast<double>(i % 20));
      }
    });
  }
  for (auto& t : threads) t.join();
  done = true;
  scraper.join();

  uint64_t total = 0;
  uint64_t observed = 0;
  for (const auto& n : names) {
    const std::string_view v[] = {n};
    total += c.value(v);
    observed += h.totals(v)->count;
  }
  const uint64_t expected = static_cast<uint64_t>(kPerThread) * workers.size();
  EXPECT_EQ(total, expected);
  EXPECT_EQ(observed, expected);
  EXPECT_EQ(r.series_count(), 2u * kSeries);
  EXPECT_GT(scrapes.load(), 0);
}

// Measurement, not a test of speed: workers count requests into 10,000
// routes' series (status + 3 latency + 2 bandwidth each, APISIX's label
// sets) while the control thread scrapes again and again. Prints the
// per-request counting time (p50/p99/max) without and with scrapes, and the
// scrape's duration and size.
TEST(ObservabilityMetricsTest, scrape_of_10000_routes_under_load_prints_figures) {
  MetricsRegistry r;
  Counter& status = r.counter("http_status", "s",
                              {"code", "route", "matched_uri", "matched_host", "service",
                               "consumer", "node", "request_type", "request_llm_model",
                               "llm_model"});
  Histogram& latency = r.histogram(
      "http_latency", "l",
      {"type", "route", "service", "consumer", "node", "request_type", "request_llm_model",
       "llm_model"},
      {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000});
  Counter& bandwidth = r.counter("bandwidth", "b",
                                 {"type", "route", "service", "consumer", "node", "request_type",
                                  "request_llm_model", "llm_model"});
  constexpr int kRoutes = 10000;
  constexpr unsigned kWorkers = 2;
  std::vector<std::string> routes, uris;
  for (int i = 0; i < kRoutes; ++i) {
    routes.push_back(std::to_string(i));
    uris.push_back("/api/v1/resource/" + std::to_string(i));
  }
  auto log_request = [&](unsigned w, int i) {
    const std::string_view route = routes[static_cast<size_t>(i)];
    const std::string_view s[] = {"200", route, uris[static_cast<size_t>(i)], "", "", "",
                                  "127.0.0.1", "traditional_http", "", ""};
    status.inc(w, s);
    std::array<std::string_view, 8> l = {"request", route, "", "", "127.0.0.1",
                                         "traditional_http", "", ""};
    latency.observe(w, l, 3);
    l[0] = "upstream";
    latency.observe(w, l, 2);
    l[0] = "apisix";
    latency.observe(w, l, 1);
    l[0] = "ingress";
    bandwidth.inc(w, l, 120);
    l[0] = "egress";
    bandwidth.inc(w, l, 900);
  };
  // Every worker creates every route's series first.
  for (unsigned w = 0; w < kWorkers; ++w) {
    for (int i = 0; i < kRoutes; ++i) log_request(w, i);
  }

  struct Figures {
    double p50_us, p99_us, max_us;
  };
  auto run = [&](bool scraping, int& scrapes, double& scrape_ms, size_t& scrape_bytes) {
    std::atomic<bool> done{false};
    std::vector<std::vector<double>> samples(kWorkers);
    std::thread scraper;
    if (scraping) {
      scraper = std::thread([&] {
        while (!done.load()) {
          const auto t0 = std::chrono::steady_clock::now();
          std::string out;
          r.render(out, "apisix_");
          scrape_ms += std::chrono::duration<double, std::milli>(
                           std::chrono::steady_clock::now() - t0)
                           .count();
          scrape_bytes = out.size();
          ++scrapes;
        }
      });
    }
    std::vector<std::thread> threads;
    for (unsigned w = 0; w < kWorkers; ++w) {
      threads.emplace_back([&, w] {
        auto& s = samples[w];
        s.reserve(50000);
        for (int n = 0; n < 50000; ++n) {
          const auto t0 = std::chrono::steady_clock::now();
          log_request(w, (n * 7919) % kRoutes);
          s.push_back(std::chrono::duration<double, std::micro>(
                          std::chrono::steady_clock::now() - t0)
                          .count());
        }
      });
    }
    for (auto& t : threads) t.join();
    done = true;
    if (scraper.joinable()) scraper.join();
    std::vector<double> all;
    for (auto& s : samples) all.insert(all.end(), s.begin(), s.end());
    std::sort(all.begin(), all.end());
    return Figures{all[all.size() / 2], all[all.size() * 99 / 100], all.back()};
  };
  int idle_scrapes = 0, scrapes = 0;
  double idle_ms = 0, scrape_ms = 0;
  size_t idle_bytes = 0, scrape_bytes = 0;
  const Figures quiet = run(false, idle_scrapes, idle_ms, idle_bytes);
  const Figures busy = run(true, scrapes, scrape_ms, scrape_bytes);
  EXPECT_EQ(r.series_count(), static_cast<size_t>(kRoutes) * 6);
  std::printf(
      "[ figures ] %d routes, %zu series, %u workers\n"
      "[ figures ] per-request counting without scrapes: p50 %.2f us, p99 %.2f us, max %.1f us\n"
      "[ figures ] per-request counting during scrapes:  p50 %.2f us, p99 %.2f us, max %.1f us\n"
      "[ figures ] %d scrapes, %.1f ms each, %.1f MiB each\n",
      kRoutes, r.series_count(), kWorkers, quiet.p50_us, quiet.p99_us, quiet.max_us, busy.p50_us,
      busy.p99_us, busy.max_us, scrapes, scrapes ? scrape_ms / scrapes : 0,
      static_cast<double>(scrape_bytes) / (1024.0 * 1024.0));
}

}  // namespace
}  // namespace torii::observability
