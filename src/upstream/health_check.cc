#include "upstream/health_check.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <cmath>
#include <initializer_list>

namespace torii::upstream {
namespace {

namespace json = boost::json;

StatusSet statuses_of(std::initializer_list<int> codes) {
  StatusSet s;
  for (int c : codes) s.set(static_cast<size_t>(c));
  return s;
}

const json::object* object_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

// The schema has checked types and ranges; these only pick values.
uint32_t count_at(const json::object* o, std::string_view key, uint32_t fallback) {
  if (o == nullptr) return fallback;
  const json::value* v = o->if_contains(key);
  if (v == nullptr) return fallback;
  if (v->is_int64()) return static_cast<uint32_t>(v->get_int64());
  if (v->is_uint64()) return static_cast<uint32_t>(v->get_uint64());
  if (v->is_double()) return static_cast<uint32_t>(v->get_double());
  return fallback;
}

StatusSet statuses_at(const json::object* o, const StatusSet& fallback) {
  if (o == nullptr) return fallback;
  const json::value* v = o->if_contains("http_statuses");
  if (v == nullptr || !v->is_array()) return fallback;
  StatusSet s;
  for (const json::value& code : v->get_array()) {
    if (code.is_int64() && code.get_int64() >= 0 && code.get_int64() < 600) {
      s.set(static_cast<size_t>(code.get_int64()));
    }
  }
  return s;
}

ProbeType type_at(const json::object& o) {
  const json::value* v = o.if_contains("type");
  if (v == nullptr || !v->is_string()) return ProbeType::kHttp;
  if (v->get_string() == "https") return ProbeType::kHttps;
  if (v->get_string() == "tcp") return ProbeType::kTcp;
  return ProbeType::kHttp;
}

ActiveCheckConf parse_active(const json::object& a) {
  ActiveCheckConf c;
  c.type = type_at(a);
  if (const json::value* t = a.if_contains("timeout"); t != nullptr && t->is_number()) {
    const double seconds = t->to_number<double>();
    // Below a millisecond (or not positive) the probe could never finish.
    c.timeout = std::chrono::milliseconds(
        static_cast<int64_t>(std::max(1.0, std::min(seconds * 1000, 3600e3))));
  }
  c.concurrency = std::max<uint32_t>(1, count_at(&a, "concurrency", 10));
  if (const json::value* h = a.if_contains("host"); h != nullptr && h->is_string()) {
    c.host = std::string(h->get_string());
  }
  if (const json::value* p = a.if_contains("port"); p != nullptr && p->is_int64()) {
    c.port = static_cast<uint16_t>(p->get_int64());
  }
  if (const json::value* p = a.if_contains("http_path"); p != nullptr && p->is_string()) {
    c.http_path = std::string(p->get_string());
  }
  if (const json::value* v = a.if_contains("https_verify_certificate"); v && v->is_bool()) {
    c.https_verify_certificate = v->get_bool();
  }
  if (const json::value* hs = a.if_contains("req_headers"); hs != nullptr && hs->is_array()) {
    for (const json::value& h : hs->get_array()) {
      if (h.is_string()) c.req_headers.emplace_back(h.get_string());
    }
  }
  const json::object* healthy = object_at(a, "healthy");
  const json::object* unhealthy = object_at(a, "unhealthy");
  c.healthy_interval = std::chrono::seconds(std::max<uint32_t>(1, count_at(healthy, "interval", 1)));
  c.unhealthy_interval =
      std::chrono::seconds(std::max<uint32_t>(1, count_at(unhealthy, "interval", 1)));
  HealthThresholds& t = c.thresholds;
  t.healthy_statuses = statuses_at(healthy, statuses_of({200, 302}));
  t.unhealthy_statuses =
      statuses_at(unhealthy, statuses_of({429, 404, 500, 501, 502, 503, 504, 505}));
  t.successes = count_at(healthy, "successes", 2);
  t.http_failures = count_at(unhealthy, "http_failures", 5);
  t.tcp_failures = count_at(unhealthy, "tcp_failures", 2);
  t.timeouts = count_at(unhealthy, "timeouts", 3);
  return c;
}

PassiveCheckConf parse_passive(const json::object& p) {
  PassiveCheckConf c;
  c.type = type_at(p);
  const json::object* healthy = object_at(p, "healthy");
  const json::object* unhealthy = object_at(p, "unhealthy");
  HealthThresholds& t = c.thresholds;
  t.healthy_statuses = statuses_at(
      healthy, statuses_of({200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303,
                            304, 305, 306, 307, 308}));
  t.unhealthy_statuses = statuses_at(unhealthy, statuses_of({429, 500, 503}));
  t.successes = count_at(healthy, "successes", 5);
  t.http_failures = count_at(unhealthy, "http_failures", 5);
  t.tcp_failures = count_at(unhealthy, "tcp_failures", 2);
  t.timeouts = count_at(unhealthy, "timeouts", 7);
  return c;
}

const char* event_name(HealthEvent e) {
  switch (e) {
    case HealthEvent::kSuccess: return "successes";
    case HealthEvent::kHttpFailure: return "HTTP failures";
    case HealthEvent::kTcpFailure: return "TCP failures";
    case HealthEvent::kTimeout: return "timeouts";
  }
  return "";
}

}  // namespace

HealthCheckConf parse_health_checks(const json::object& checks) {
  HealthCheckConf c;
  if (const json::object* a = object_at(checks, "active")) c.active = parse_active(*a);
  if (const json::object* p = object_at(checks, "passive")) c.passive = parse_passive(*p);
  return c;
}

HealthChecker::HealthChecker(std::string name, HealthCheckConf conf,
                             const std::vector<Target>& nodes)
    : name_(std::move(name)), conf_(std::move(conf)) {
  for (const Target& n : nodes) {
    size_t t = 0;
    while (t < targets_.size() &&
           (targets_[t].spec.host != n.spec.host || targets_[t].spec.port != n.spec.port)) {
      ++t;
    }
    if (t == targets_.size()) targets_.push_back(n);
    target_of_.push_back(t);
    weights_.push_back(n.spec.weight);
  }
  states_ = std::make_unique<NodeState[]>(targets_.size());
}

void HealthChecker::exclude_unhealthy(ExcludeSet& exclude) const {
  bool any_pickable = false;
  for (size_t i = 0; i < target_of_.size(); ++i) {
    if (weights_[i] > 0 && healthy(i)) {
      any_pickable = true;
      break;
    }
  }
  if (!any_pickable) return;  // every node that could be picked is down: use them all
  for (size_t i = 0; i < target_of_.size(); ++i) {
    if (!healthy(i)) exclude.add(i);
  }
}

const HealthThresholds& HealthChecker::thresholds(HealthSource source) const {
  if (source == HealthSource::kPassive && conf_.passive) return conf_.passive->thresholds;
  return conf_.active.thresholds;
}

bool HealthChecker::report_target(size_t target, HealthEvent event, HealthSource source) {
  if (target >= targets_.size()) return false;
  NodeState& s = states_[target];
  if (event == HealthEvent::kSuccess && s.clean.load(std::memory_order_relaxed)) return false;
  const HealthThresholds& t = thresholds(source);
  std::lock_guard lock(mu_);
  const bool was_healthy = s.healthy.load(std::memory_order_relaxed);
  uint32_t reached = 0;
  uint32_t limit = 0;
  if (event == HealthEvent::kSuccess) {
    s.http_failures = s.tcp_failures = s.timeouts = 0;
    if (was_healthy) {
      s.clean.store(true, std::memory_order_relaxed);
      return false;
    }
    reached = ++s.successes;
    limit = t.successes;
  } else {
    s.successes = 0;
    if (!was_healthy) return false;
    s.clean.store(false, std::memory_order_relaxed);
    uint32_t* counter = event == HealthEvent::kHttpFailure  ? &s.http_failures
                        : event == HealthEvent::kTcpFailure ? &s.tcp_failures
                                                            : &s.timeouts;
    reached = ++*counter;
    limit = event == HealthEvent::kHttpFailure  ? t.http_failures
            : event == HealthEvent::kTcpFailure ? t.tcp_failures
                                                : t.timeouts;
  }
  if (limit == 0 || reached < limit) return false;
  s.successes = s.http_failures = s.tcp_failures = s.timeouts = 0;
  s.healthy.store(!was_healthy, std::memory_order_relaxed);
  s.clean.store(!was_healthy, std::memory_order_relaxed);
  spdlog::warn("upstream {}: node {} is now {} ({} {} in a row, {} check)", name_,
               targets_[target].name, was_healthy ? "unhealthy" : "healthy", reached,
               event_name(event), source == HealthSource::kActive ? "active" : "passive");
  return true;
}

bool HealthChecker::report_target_status(size_t target, int status, HealthSource source) {
  if (status < 0 || status >= 600) return false;
  const HealthThresholds& t = thresholds(source);
  if (t.healthy_statuses.test(static_cast<size_t>(status))) {
    return report_target(target, HealthEvent::kSuccess, source);
  }
  if (t.unhealthy_statuses.test(static_cast<size_t>(status))) {
    return report_target(target, HealthEvent::kHttpFailure, source);
  }
  return false;
}

void HealthChecker::report_passive_failure(size_t node, bool timeout) {
  if (!conf_.passive) return;
  report(node, timeout ? HealthEvent::kTimeout : HealthEvent::kTcpFailure, HealthSource::kPassive);
}

void HealthChecker::report_passive_status(size_t node, int status) {
  if (!conf_.passive || conf_.passive->type == ProbeType::kTcp) return;
  report_status(node, status, HealthSource::kPassive);
}

HealthCheckers& HealthCheckers::global() {
  static HealthCheckers registry;
  return registry;
}

void HealthCheckers::add(const std::shared_ptr<HealthChecker>& checker) {
  std::lock_guard lock(mu_);
  std::erase_if(checkers_, [](const std::weak_ptr<HealthChecker>& w) { return w.expired(); });
  checkers_.push_back(checker);
}

std::vector<std::shared_ptr<HealthChecker>> HealthCheckers::live() {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<HealthChecker>> out;
  std::erase_if(checkers_, [&out](const std::weak_ptr<HealthChecker>& w) {
    auto c = w.lock();
    if (!c) return true;
    out.push_back(std::move(c));
    return false;
  });
  return out;
}

}  // namespace torii::upstream
