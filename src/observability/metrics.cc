// Per-worker metric shards and their Prometheus rendering. See metrics.h for
// the concurrency contract; the comments here say how the code keeps it.
#include "observability/metrics.h"

#include <algorithm>
#include <array>
#include <boost/unordered/unordered_flat_map.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace torii::observability {

// ---- text format ----

void append_escaped_label_value(std::string& out, std::string_view value) {
  if (value.find_first_of("\\\"\n") == std::string_view::npos) {
    out.append(value);
    return;
  }
  for (char c : value) {
    switch (c) {
      case '\\': out.append("\\\\"); break;
      case '"': out.append("\\\""); break;
      case '\n': out.append("\\n"); break;
      default: out.push_back(c);
    }
  }
}

void append_escaped_help(std::string& out, std::string_view help) {
  for (char c : help) {
    switch (c) {
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      default: out.push_back(c);
    }
  }
}

namespace {

void append_uint(std::string& out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, end);
}

}  // namespace

void append_value(std::string& out, double value) {
  if (std::isnan(value)) {
    out.append("NaN");
    return;
  }
  if (std::isinf(value)) {
    out.append(value > 0 ? "+Inf" : "-Inf");
    return;
  }
  char buf[40];
  if (value == std::trunc(value) && std::fabs(value) < 1e15) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), static_cast<int64_t>(value));
    out.append(buf, end);
    return;
  }
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  out.append(buf, end);
}

void append_family_header(std::string& out, std::string_view name, std::string_view help,
                          std::string_view type) {
  out.append("# HELP ").append(name).push_back(' ');
  append_escaped_help(out, help);
  out.append("\n# TYPE ").append(name).push_back(' ');
  out.append(type).push_back('\n');
}

void append_sample(std::string& out, std::string_view name, std::initializer_list<Label> labels,
                   double value) {
  out.append(name);
  if (labels.size() > 0) {
    out.push_back('{');
    bool first = true;
    for (const Label& l : labels) {
      if (!first) out.push_back(',');
      first = false;
      out.append(l.name).append("=\"");
      append_escaped_label_value(out, l.value);
      out.push_back('"');
    }
    out.push_back('}');
  }
  out.push_back(' ');
  append_value(out, value);
  out.push_back('\n');
}

void append_etcd_metrics(std::string& out, std::string_view prefix, bool reachable,
                         std::span<const std::pair<std::string, int64_t>> modify_indexes) {
  const std::string indexes = std::string(prefix) + "etcd_modify_indexes";
  const std::string reach = std::string(prefix) + "etcd_reachable";
  if (!modify_indexes.empty()) {
    append_family_header(out, indexes, "Etcd modify index for APISIX keys", "gauge");
    for (const auto& [key, index] : modify_indexes) {
      append_sample(out, indexes, {{"key", key}}, static_cast<double>(index));
    }
  }
  append_family_header(out, reach, "Config server etcd reachable from APISIX, 0 is unreachable",
                       "gauge");
  append_sample(out, reach, {}, reachable ? 1 : 0);
}

// ---- shards ----

namespace metrics_detail {

// One series in one shard. The key (the rendered label text) is immutable;
// the map's keys are views into it, so the cell's address and key never move.
struct Cell {
  Cell(std::string k, size_t n) : key(std::move(k)), slots(new std::atomic<uint64_t>[n]()) {}
  const std::string key;
  std::atomic<double> sum{0};
  // Counter: [0] = value. Histogram: per-bucket (not cumulative) counts, then +Inf.
  std::unique_ptr<std::atomic<uint64_t>[]> slots;
};

struct Shard {
  // Taken by the owning worker only to insert; by the scraper to list cells.
  mutable std::mutex mu;
  boost::unordered_flat_map<std::string_view, std::unique_ptr<Cell>> cells;
};

struct Family {
  std::string name;
  std::string help;
  std::vector<std::string> label_names;
  std::vector<std::string> label_prefixes;  // `code="`, `,route="`, ...
  bool histogram = false;
  std::vector<double> buckets;
  std::vector<std::string> le;  // rendered bucket bounds, then "+Inf"
  size_t slots = 1;
  std::array<std::atomic<Shard*>, MetricsRegistry::kMaxShards> shards{};
  Shard overflow;  // workers >= kMaxShards, every operation under its mutex
  std::atomic<uint64_t> errors{0};

  ~Family() {
    for (auto& s : shards) delete s.load(std::memory_order_acquire);
  }

  // The series key: the rendered label text, `code="200",route="1"`.
  bool build_key(LabelValues values, std::string& key) const {
    if (values.size() != label_names.size()) return false;
    key.clear();
    for (size_t i = 0; i < values.size(); ++i) {
      key.append(label_prefixes[i]);
      append_escaped_label_value(key, values[i]);
      key.push_back('"');
    }
    return true;
  }

  // The series' cell in `s`, inserted when new; null when the shard is full
  // (an error, when `count_error`). `locked`: the caller holds s.mu already
  // (overflow shard).
  Cell* find_or_insert(Shard& s, std::string_view key, bool locked, bool count_error = true) {
    if (auto it = s.cells.find(key); it != s.cells.end()) return it->second.get();
    if (s.cells.size() >= MetricsRegistry::kMaxSeriesPerShard) {
      if (count_error) errors.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
    auto cell = std::make_unique<Cell>(std::string(key), slots);
    Cell* raw = cell.get();
    const std::string_view k = raw->key;
    if (locked) {
      s.cells.emplace(k, std::move(cell));
    } else {
      std::lock_guard lock(s.mu);
      s.cells.emplace(k, std::move(cell));
    }
    return raw;
  }

  // Only worker `w` calls this with index w, so creating its shard needs no CAS.
  Shard& own_shard(unsigned w) {
    Shard* s = shards[w].load(std::memory_order_acquire);
    if (!s) {
      s = new Shard;
      shards[w].store(s, std::memory_order_release);
    }
    return *s;
  }

  // Runs fn(cell) on the series' cell in worker `w`'s shard. Writers of the
  // overflow shard hold its mutex throughout, so fn's plain load+store stays
  // race-free there too.
  template <class F>
  void with_cell(unsigned w, LabelValues labels, F&& fn) {
    thread_local std::string key;
    if (!build_key(labels, key)) {
      errors.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (w < MetricsRegistry::kMaxShards) {
      if (Cell* c = find_or_insert(own_shard(w), key, false)) fn(*c);
      return;
    }
    std::lock_guard lock(overflow.mu);
    if (Cell* c = find_or_insert(overflow, key, true)) fn(*c);
  }

  // The series' cell in worker `w`'s own shard, for a Series handle; null
  // without side effects when there is none to give (see Counter::series).
  Cell* own_cell(unsigned w, LabelValues labels) {
    if (w >= MetricsRegistry::kMaxShards) return nullptr;
    thread_local std::string key;
    if (!build_key(labels, key)) return nullptr;
    return find_or_insert(own_shard(w), key, false, false);
  }

  // The bucket an observation falls in: le is inclusive, so the first bound
  // >= value; past the last bound, +Inf.
  size_t bucket_of(double value) const {
    return static_cast<size_t>(std::lower_bound(buckets.begin(), buckets.end(), value) -
                               buckets.begin());
  }

  // Every cell of every shard (unsorted). Holds each shard's mutex only
  // while copying its pointers.
  void collect(std::vector<const Cell*>& out) const {
    auto list = [&out](const Shard& s) {
      std::lock_guard lock(s.mu);
      for (const auto& [k, c] : s.cells) out.push_back(c.get());
    };
    for (const auto& a : shards) {
      if (const Shard* s = a.load(std::memory_order_acquire)) list(*s);
    }
    list(overflow);
  }

  // Cells sorted by key; equal keys (one per shard) are adjacent.
  std::vector<const Cell*> sorted_cells() const {
    std::vector<const Cell*> cells;
    collect(cells);
    std::sort(cells.begin(), cells.end(),
              [](const Cell* a, const Cell* b) { return a->key < b->key; });
    return cells;
  }
};

namespace {

inline void add_relaxed(std::atomic<uint64_t>& a, uint64_t by) {
  a.store(a.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

inline void add_relaxed(std::atomic<double>& a, double by) {
  a.store(a.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

}  // namespace
}  // namespace metrics_detail

using metrics_detail::Cell;
using metrics_detail::Family;

void Counter::inc(unsigned worker, LabelValues labels, uint64_t by) {
  f_->with_cell(worker, labels, [by](Cell& c) { metrics_detail::add_relaxed(c.slots[0], by); });
}

Series Counter::series(unsigned worker, LabelValues labels) {
  return Series(f_->own_cell(worker, labels));
}

void Counter::inc(Series s, uint64_t by) { metrics_detail::add_relaxed(s.cell_->slots[0], by); }

uint64_t Counter::value(LabelValues labels) const {
  std::string key;
  if (!f_->build_key(labels, key)) return 0;
  std::vector<const Cell*> cells;
  f_->collect(cells);
  uint64_t total = 0;
  for (const Cell* c : cells) {
    if (c->key == key) total += c->slots[0].load(std::memory_order_relaxed);
  }
  return total;
}

void Histogram::observe(unsigned worker, LabelValues labels, double value) {
  if (std::isnan(value)) return;  // would poison the sum for good
  const size_t idx = f_->bucket_of(value);
  f_->with_cell(worker, labels, [idx, value](Cell& c) {
    metrics_detail::add_relaxed(c.slots[idx], 1);
    metrics_detail::add_relaxed(c.sum, value);
  });
}

Series Histogram::series(unsigned worker, LabelValues labels) {
  return Series(f_->own_cell(worker, labels));
}

void Histogram::observe(Series s, double value) {
  if (std::isnan(value)) return;
  metrics_detail::add_relaxed(s.cell_->slots[f_->bucket_of(value)], 1);
  metrics_detail::add_relaxed(s.cell_->sum, value);
}

std::optional<Histogram::Totals> Histogram::totals(LabelValues labels) const {
  std::string key;
  if (!f_->build_key(labels, key)) return std::nullopt;
  std::vector<const Cell*> cells;
  f_->collect(cells);
  std::optional<Totals> t;
  for (const Cell* c : cells) {
    if (c->key != key) continue;
    if (!t) {
      t.emplace();
      t->cumulative.assign(f_->slots, 0);
    }
    for (size_t i = 0; i < f_->slots; ++i) {
      t->cumulative[i] += c->slots[i].load(std::memory_order_relaxed);
    }
    t->sum += c->sum.load(std::memory_order_relaxed);
  }
  if (!t) return t;
  for (size_t i = 1; i < t->cumulative.size(); ++i) t->cumulative[i] += t->cumulative[i - 1];
  t->count = t->cumulative.back();
  return t;
}

const std::vector<double>& Histogram::buckets() const { return f_->buckets; }

// ---- registry ----

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry& MetricsRegistry::global() {
  static MetricsRegistry registry;
  return registry;
}

Family* MetricsRegistry::find_or_add(std::string_view name, std::string_view help,
                                     std::vector<std::string> label_names, bool histogram,
                                     std::vector<double> buckets) {
  for (const auto& f : families_) {
    if (f->name != name) continue;
    if (f->histogram != histogram || f->label_names != label_names || f->buckets != buckets) {
      std::fprintf(stderr, "metric %.*s registered twice with different shapes\n",
                   static_cast<int>(name.size()), name.data());
      std::abort();
    }
    return f.get();
  }
  auto f = std::make_unique<Family>();
  f->name = std::string(name);
  f->help = std::string(help);
  for (size_t i = 0; i < label_names.size(); ++i) {
    f->label_prefixes.push_back((i ? "," : "") + label_names[i] + "=\"");
  }
  f->label_names = std::move(label_names);
  f->histogram = histogram;
  if (histogram) {
    std::sort(buckets.begin(), buckets.end());
    for (double b : buckets) {
      std::string s;
      append_value(s, b);
      f->le.push_back(std::move(s));
    }
    f->le.emplace_back("+Inf");
    f->slots = buckets.size() + 1;
  }
  f->buckets = std::move(buckets);
  families_.push_back(std::move(f));
  return families_.back().get();
}

Counter& MetricsRegistry::counter(std::string_view name, std::string_view help,
                                  std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  Family* f = find_or_add(name, help, std::move(label_names), false, {});
  for (const auto& c : counters_) {
    if (c->f_ == f) return *c;
  }
  counters_.push_back(std::unique_ptr<Counter>(new Counter(f)));
  return *counters_.back();
}

Histogram& MetricsRegistry::histogram(std::string_view name, std::string_view help,
                                      std::vector<std::string> label_names,
                                      std::vector<double> buckets) {
  std::lock_guard lock(mu_);
  std::sort(buckets.begin(), buckets.end());
  Family* f = find_or_add(name, help, std::move(label_names), true, std::move(buckets));
  for (const auto& h : histograms_) {
    if (h->f_ == f) return *h;
  }
  histograms_.push_back(std::unique_ptr<Histogram>(new Histogram(f)));
  return *histograms_.back();
}

void MetricsRegistry::set_connection_stats(ConnectionStatsFn fn) {
  std::lock_guard lock(mu_);
  connection_stats_ = std::move(fn);
}

namespace {

// "<prefix><name><suffix>{<key>" plus "," when more labels follow, or
// without the brace when there are no labels at all.
void series_head(std::string& head, std::string_view prefix, std::string_view name,
                 std::string_view suffix, std::string_view key, bool more) {
  head.assign(prefix).append(name).append(suffix);
  if (key.empty() && !more) return;
  head.push_back('{');
  head.append(key);
  if (!key.empty() && more) head.push_back(',');
}

void render_family(std::string& out, std::string_view prefix, const Family& f) {
  const std::vector<const Cell*> cells = f.sorted_cells();
  if (cells.empty()) return;
  const std::string full = std::string(prefix) + f.name;
  append_family_header(out, full, f.help, f.histogram ? "histogram" : "counter");
  // Per bucket: `le="<bound>"} ` (the text after a series' head).
  std::vector<std::string> le_tail;
  for (const std::string& le : f.le) le_tail.push_back("le=\"" + le + "\"} ");
  std::vector<uint64_t> acc(f.slots);
  std::string head;
  for (size_t i = 0; i < cells.size();) {
    const std::string_view key = cells[i]->key;
    std::fill(acc.begin(), acc.end(), 0);
    double sum = 0;
    for (; i < cells.size() && cells[i]->key == key; ++i) {
      for (size_t s = 0; s < f.slots; ++s) acc[s] += cells[i]->slots[s].load(std::memory_order_relaxed);
      sum += cells[i]->sum.load(std::memory_order_relaxed);
    }
    if (!f.histogram) {
      series_head(head, prefix, f.name, "", key, false);
      out.append(head).append(key.empty() ? " " : "} ");
      append_uint(out, acc[0]);
      out.push_back('\n');
      continue;
    }
    series_head(head, prefix, f.name, "_bucket", key, true);
    uint64_t cumulative = 0;
    for (size_t s = 0; s < f.slots; ++s) {
      cumulative += acc[s];
      out.append(head).append(le_tail[s]);
      append_uint(out, cumulative);
      out.push_back('\n');
    }
    const std::string_view close = key.empty() ? " " : "} ";
    series_head(head, prefix, f.name, "_sum", key, false);
    out.append(head).append(close);
    append_value(out, sum);
    out.push_back('\n');
    series_head(head, prefix, f.name, "_count", key, false);
    out.append(head).append(close);
    append_uint(out, cumulative);
    out.push_back('\n');
  }
}

void render_connections(std::string& out, std::string_view prefix, const ConnectionStats& st) {
  // APISIX's output lists the states alphabetically.
  const std::pair<std::string_view, const std::optional<uint64_t>*> states[] = {
      {"accepted", &st.accepted}, {"active", &st.active},   {"handled", &st.handled},
      {"reading", &st.reading},   {"waiting", &st.waiting}, {"writing", &st.writing}};
  const std::string name = std::string(prefix) + "nginx_http_current_connections";
  bool any = false;
  for (const auto& [state, v] : states) {
    if (!v->has_value()) continue;
    if (!any) append_family_header(out, name, "Number of HTTP connections", "gauge");
    any = true;
    append_sample(out, name, {{"state", state}}, static_cast<double>(**v));
  }
}

}  // namespace

void MetricsRegistry::render(std::string& out, std::string_view prefix) const {
  std::vector<const Family*> families;
  ConnectionStatsFn stats_fn;
  {
    std::lock_guard lock(mu_);
    for (const auto& f : families_) families.push_back(f.get());
    stats_fn = connection_stats_;
  }
  std::optional<ConnectionStats> stats;
  if (stats_fn) stats = stats_fn();

  // Every section by its unprefixed name, rendered in name order.
  using Section = std::pair<std::string_view, std::function<void()>>;
  std::vector<Section> sections;
  for (const Family* f : families) {
    sections.emplace_back(f->name, [&out, prefix, f] { render_family(out, prefix, *f); });
  }
  if (stats && stats->requests) {
    sections.emplace_back("http_requests_total", [&out, prefix, &stats] {
      const std::string name = std::string(prefix) + "http_requests_total";
      append_family_header(out, name, "The total number of client requests since APISIX started",
                           "gauge");
      append_sample(out, name, {}, static_cast<double>(*stats->requests));
    });
  }
  if (stats) {
    sections.emplace_back("nginx_http_current_connections",
                          [&out, prefix, &stats] { render_connections(out, prefix, *stats); });
  }
  sections.emplace_back("nginx_metric_errors_total", [&out, prefix, this] {
    const std::string name = std::string(prefix) + "nginx_metric_errors_total";
    append_family_header(out, name, "Number of nginx-lua-prometheus errors", "counter");
    append_sample(out, name, {}, static_cast<double>(errors()));
  });
  std::stable_sort(sections.begin(), sections.end(),
                   [](const Section& a, const Section& b) { return a.first < b.first; });
  // A large scrape would otherwise copy itself at every doubling.
  const size_t start = out.size();
  out.reserve(start + last_render_size_.load(std::memory_order_relaxed) * 9 / 8);
  for (const auto& s : sections) s.second();
  last_render_size_.store(out.size() - start, std::memory_order_relaxed);
}

size_t MetricsRegistry::series_count() const {
  std::vector<const Family*> families;
  {
    std::lock_guard lock(mu_);
    for (const auto& f : families_) families.push_back(f.get());
  }
  size_t n = 0;
  for (const Family* f : families) {
    const auto cells = f->sorted_cells();
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i == 0 || cells[i]->key != cells[i - 1]->key) ++n;
    }
  }
  return n;
}

uint64_t MetricsRegistry::errors() const {
  std::lock_guard lock(mu_);
  uint64_t n = 0;
  for (const auto& f : families_) n += f->errors.load(std::memory_order_relaxed);
  return n;
}

}  // namespace torii::observability
