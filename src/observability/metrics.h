// The metrics registry: counters and histograms keyed by label values,
// counted per worker without locks and summed when scraped, plus the
// Prometheus text format (version 0.0.4) they are rendered in.
//
// Counting. Every family keeps one shard per worker thread (index =
// PluginContext::worker()). A shard is a hash map from the rendered label
// text of a series to its cell; only its worker writes it, so increments are
// plain relaxed atomic load+store (no lock prefix, no shared cache line). A
// scrape reads every shard and sums the cells of equal series.
//
// Series insertion vs. scrape. A worker looks a series up without any lock
// (it is the only writer of its map, and the scraper only reads). Inserting
// a new series takes the shard's mutex, which the scraper takes only while
// it copies the shard's cell pointers (not while it formats text), so a
// scrape of 10,000 routes' series holds each shard lock for about the time
// it takes to copy that many pointers, and requests whose series exist never
// wait at all. Cells are heap objects that are never freed while the
// registry lives, so the scraper reads their atomics after dropping the lock.
// Worker indexes past kMaxShards share one overflow shard under its mutex
// (correct, slower; no real node runs that many workers).
//
// Limits: a shard holds at most kMaxSeriesPerShard series per family; a new
// series past that is dropped and counted in apisix_nginx_metric_errors_total
// (what nginx-lua-prometheus does when its shared dict is full).
//
// Threading: counter()/histogram()/set_connection_stats() on any thread
// (usually at start-up or plugin creation, on the control thread);
// inc()/observe() on worker threads; render() on the control thread (any
// thread is safe). Families live as long as the registry.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace torii::observability {

// ---- Prometheus text format helpers (also for text providers) ----

// Label value escaping per the text format: \ -> \\, " -> \", LF -> \n.
void append_escaped_label_value(std::string& out, std::string_view value);
// HELP text escaping: \ -> \\, LF -> \n.
void append_escaped_help(std::string& out, std::string_view help);
// A sample value: integers without a fraction, others in the shortest form
// that reads back the same ("0.5"), "+Inf", "-Inf", "NaN".
void append_value(std::string& out, double value);
// "# HELP <name> <help>\n# TYPE <name> <type>\n"
void append_family_header(std::string& out, std::string_view name, std::string_view help,
                          std::string_view type);
struct Label {
  std::string_view name;
  std::string_view value;
};
// "<name>{l1="v1",...} <value>\n" (no braces without labels).
void append_sample(std::string& out, std::string_view name, std::initializer_list<Label> labels,
                   double value);

// apisix_etcd_reachable and apisix_etcd_modify_indexes{key} as APISIX's
// exporter writes them (names prefixed with `prefix`, "apisix_" by default),
// for the gateway's text provider. `modify_indexes`: (key, index) pairs, e.g.
// ("routes", 12), ("max_modify_index", 15), ("x_etcd_index", 15).
void append_etcd_metrics(std::string& out, std::string_view prefix, bool reachable,
                         std::span<const std::pair<std::string, int64_t>> modify_indexes);

// ---- connection gauges ----

// apisix_nginx_http_current_connections{state} and apisix_http_requests_total,
// the figures of nginx's status module. A state torii cannot tell stays nullopt and
// is not exported.
struct ConnectionStats {
  std::optional<uint64_t> active;    // client connections open now
  std::optional<uint64_t> reading;   // reading a request head
  std::optional<uint64_t> writing;   // a request in progress (read body, proxy, write)
  std::optional<uint64_t> waiting;   // idle keep-alive
  std::optional<uint64_t> accepted;  // accepted since start
  std::optional<uint64_t> handled;   // accepted and not refused (torii: == accepted)
  std::optional<uint64_t> requests;  // client requests since start (http_requests_total)
};
// Called on the scraping thread; must be thread-safe and cheap (sum per-worker atomics).
using ConnectionStatsFn = std::function<ConnectionStats()>;

// ---- families ----

namespace metrics_detail {
struct Family;
struct Cell;
}

// Label values in the order of the family's label names. Views only need to
// live for the call.
using LabelValues = std::span<const std::string_view>;

// One series in one worker's shard, looked up once and kept by the caller
// (the prometheus plugin caches them per worker) so that counting skips the
// lookup. Null when no handle could be given; valid as long as the registry
// (series are never freed). Only the worker it was made for may count
// through it.
class Series {
 public:
  Series() = default;
  explicit operator bool() const { return cell_ != nullptr; }

 private:
  friend class Counter;
  friend class Histogram;
  explicit Series(metrics_detail::Cell* c) : cell_(c) {}
  metrics_detail::Cell* cell_ = nullptr;
};

class Counter {
 public:
  // Worker thread `worker` (0-based; its own shard). Adds `by` to the series.
  // A label count different from the family's is ignored (and counted as an
  // error, never a crash).
  void inc(unsigned worker, LabelValues labels, uint64_t by = 1);
  // Worker thread `worker`: the series' handle, the series created (at 0)
  // when new; call it only right before counting into it, so no series shows
  // up in a scrape before its first count. Null, with nothing counted or
  // created, when the shard is full, the label count is wrong or the worker
  // has no shard of its own (>= kMaxShards): count with inc(worker, labels)
  // then, which records the error as usual.
  Series series(unsigned worker, LabelValues labels);
  // inc() through a handle from series() (non-null), on its worker.
  void inc(Series s, uint64_t by = 1);
  // The series' value summed over every shard (0 when absent). Any thread.
  uint64_t value(LabelValues labels) const;

 private:
  friend class MetricsRegistry;
  explicit Counter(metrics_detail::Family* f) : f_(f) {}
  metrics_detail::Family* f_;
};

class Histogram {
 public:
  // Worker thread `worker`: records one observation.
  void observe(unsigned worker, LabelValues labels, double value);
  // As Counter::series / Counter::inc(Series).
  Series series(unsigned worker, LabelValues labels);
  void observe(Series s, double value);
  struct Totals {
    std::vector<uint64_t> cumulative;  // per bucket bound, then +Inf
    uint64_t count = 0;
    double sum = 0;
  };
  // The series summed over shards; nullopt when absent. Any thread.
  std::optional<Totals> totals(LabelValues labels) const;
  const std::vector<double>& buckets() const;

 private:
  friend class MetricsRegistry;
  explicit Histogram(metrics_detail::Family* f) : f_(f) {}
  metrics_detail::Family* f_;
};

class MetricsRegistry {
 public:
  static constexpr unsigned kMaxShards = 256;
  static constexpr size_t kMaxSeriesPerShard = 1000000;

  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // The process's registry: the prometheus plugin counts into it and the
  // exporter renders it.
  static MetricsRegistry& global();

  // A family by name (without the metric prefix, e.g. "http_status"),
  // created on first call. Asking again with the same name returns the same
  // family; a different kind, label set or bucket list for an existing name
  // is a bug in our code and aborts.
  Counter& counter(std::string_view name, std::string_view help,
                   std::vector<std::string> label_names);
  // `buckets`: upper bounds, ascending; +Inf is implicit.
  Histogram& histogram(std::string_view name, std::string_view help,
                       std::vector<std::string> label_names, std::vector<double> buckets);

  // The gateway's connection figures; replaces any previous callback (null:
  // none, the gauges are not exported).
  void set_connection_stats(ConnectionStatsFn fn);

  // Appends every family with at least one series, the connection gauges
  // and <prefix>nginx_metric_errors_total, families sorted by name, each
  // family's series sorted by label text. Names get `prefix` ("apisix_").
  void render(std::string& out, std::string_view prefix) const;

  // Series summed over shards (distinct label sets), for tests and sizing.
  size_t series_count() const;
  // Series dropped over the shard limit or with a wrong label count.
  uint64_t errors() const;

 private:
  metrics_detail::Family* find_or_add(std::string_view name, std::string_view help,
                                      std::vector<std::string> label_names, bool histogram,
                                      std::vector<double> buckets);

  mutable std::mutex mu_;  // families_, connection_stats_
  std::vector<std::unique_ptr<metrics_detail::Family>> families_;
  std::vector<std::unique_ptr<Counter>> counters_;
  std::vector<std::unique_ptr<Histogram>> histograms_;
  ConnectionStatsFn connection_stats_;
  mutable std::atomic<size_t> last_render_size_{0};  // to reserve the next one
};

}  // namespace torii::observability
