// limit-count (priority 1002): at most `count` requests per `time_window`
// seconds per key, APISIX's fixed (or sliding) window counter.
//
// Phases: access counts the request and refuses it with `rejected_code`
// (503; body {"error_msg": rejected_msg} when set, else nginx's error page)
// once the window is used up; header_filter adds X-RateLimit-Limit /
// -Remaining / -Reset to the proxied response (a refusal carries them in
// its Exit). With `rules`, every rule whose key resolves is counted, with
// headers X-<prefix>-RateLimit-*, and the first refusal wins.
//
// State: a counter store per instance (a new conf, a new instance: the
// counters restart, as APISIX's conf-version key does), or per `group`
// (shared by every resource whose conf names that group; the confs must be
// identical, "group conf mismatched" otherwise). policy "local" keeps the
// counters in this node's memory, exact across its workers
// (limit_count_local.h); "redis", "redis-cluster" and "redis-sentinel" use
// the store limit_count_redis.cc registers (limit_count_store.h), and fail
// at create when this build has none.
//
// Security: the key defaults to the client address; a key taken from a
// header is chosen by the client, so it limits only honest clients. A nil
// key falls back to the client address (APISIX). A store failure answers
// 500 unless allow_degradation lets the request through.
#include <boost/container/small_vector.hpp>
#include <boost/crc.hpp>
#include <boost/json.hpp>

#include <spdlog/spdlog.h>
#include <charconv>
#include <cmath>
#include <map>
#include <mutex>
#include <set>
#include <typeinfo>

#include "core/saturate.h"
#include "plugins/limit_count_local.h"
#include "plugins/limit_count_store.h"
#include "plugins/limit_key.h"
#include "plugins/limit_redis_schema.h"
#include "plugins/plugin.h"
#include "plugins/plugin_registry.h"

namespace torii::plugins {
namespace limit_count {

// ---- the Redis store hook (limit_count_store.h) ---------------------------

namespace {
RedisCountStoreFactory& redis_factory_slot() {
  static RedisCountStoreFactory factory = nullptr;
  return factory;
}
}  // namespace

void register_redis_count_store_factory(RedisCountStoreFactory factory) {
  redis_factory_slot() = factory;
}

RedisCountStoreFactory redis_count_store_factory() { return redis_factory_slot(); }

}  // namespace limit_count

namespace {

namespace json = boost::json;
using limit_count::CountStore;
using limit_count::Decision;

constexpr double kMaxSafeInteger = 9007199254740991.0;  // 2^53 - 1

// ---- config ----------------------------------------------------------------

struct RuleConf {
  limits::NumberSpec count;
  limits::NumberSpec time_window;
  limits::LimitKey key;         // plain rule: key/key_type
  limits::VarTemplate key_tpl;  // `rules` entry: its key template
  std::string suffix;           // ":" + header_prefix (rules only)
  std::string limit_header = "X-RateLimit-Limit";
  std::string remaining_header = "X-RateLimit-Remaining";
  std::string reset_header = "X-RateLimit-Reset";
};

struct Config {
  std::vector<RuleConf> rules;
  bool has_rules = false;  // `rules` given (templates as keys, skip unresolved)
  std::string group;
  std::string policy = "local";
  std::string window_type = "fixed";
  int rejected_code = 503;
  std::optional<std::string> rejected_msg;
  bool allow_degradation = false;
  bool show_limit_quota_header = true;
};

// ---- schema (apisix/plugins/limit-count/init.lua, APISIX 3.18) -------------

json::value make_schema() {
  json::value v = json::parse(R"json({
    "type": "object",
    "properties": {
      "count": {"oneOf": [{"type": "integer", "exclusiveMinimum": 0}, {"type": "string"}]},
      "time_window": {"oneOf": [{"type": "integer", "exclusiveMinimum": 0}, {"type": "string"}]},
      "window_type": {"type": "string", "enum": ["fixed", "sliding"], "default": "fixed"},
      "rules": {
        "type": "array",
        "items": {
          "type": "object",
          "properties": {
            "count": {"oneOf": [{"type": "integer", "exclusiveMinimum": 0}, {"type": "string"}]},
            "time_window": {"oneOf": [{"type": "integer", "exclusiveMinimum": 0}, {"type": "string"}]},
            "key": {"type": "string"},
            "header_prefix": {"type": "string", "description": "prefix for rate limit headers"}
          },
          "required": ["count", "time_window", "key"]
        }
      },
      "group": {"type": "string"},
      "key": {"type": "string", "default": "remote_addr"},
      "key_type": {"type": "string", "enum": ["var", "var_combination", "constant"], "default": "var"},
      "rejected_code": {"type": "integer", "minimum": 200, "maximum": 599, "default": 503},
      "rejected_msg": {"type": "string", "minLength": 1},
      "policy": {"type": "string", "enum": ["local", "redis", "redis-cluster", "redis-sentinel"],
                 "default": "local"},
      "allow_degradation": {"type": "boolean", "default": false},
      "show_limit_quota_header": {"type": "boolean", "default": true},
      "sync_interval": {"type": "number", "default": -1}
    },
    "oneOf": [{"required": ["count", "time_window"]}, {"required": ["rules"]}],
    "encrypt_fields": ["redis_password", "sentinel_password"]
  })json");
  limits::add_redis_policy_branches(v.as_object(), /*sentinel=*/true);
  return v;
}

json::value make_metadata_schema() {
  return json::parse(R"json({
    "type": "object",
    "properties": {
      "limit_header": {"type": "string", "default": "X-RateLimit-Limit"},
      "remaining_header": {"type": "string", "default": "X-RateLimit-Remaining"},
      "reset_header": {"type": "string", "default": "X-RateLimit-Reset"}
    }
  })json");
}

// ---- groups ------------------------------------------------------------------
//
// A group's store is shared by every live instance naming the group. The
// first conf seen fixes the group; another resource with a different conf
// is refused, but the same resource may change its conf (its new instance
// then starts a new store for the group).

struct GroupState {
  std::string name;
  std::string fingerprint;
  std::shared_ptr<CountStore> store;
  std::multiset<std::string> owners;  // owner_key of every live instance
};

struct GroupRegistry {
  std::mutex mu;
  std::map<std::string, std::weak_ptr<GroupState>, std::less<>> groups;
};

GroupRegistry& group_registry() {
  static auto* r = new GroupRegistry;  // leaked: instances may outlive static destruction
  return *r;
}

// Membership of one instance in its group; leaves on destruction.
struct GroupMembership {
  std::shared_ptr<GroupState> state;
  std::string owner;
  ~GroupMembership() {
    if (!state) return;
    auto& r = group_registry();
    std::lock_guard lock(r.mu);
    if (auto it = state->owners.find(owner); it != state->owners.end()) state->owners.erase(it);
  }
};

// The conf without `_meta`, keys sorted: APISIX compares each field.
std::string fingerprint(const json::object& conf) {
  std::map<std::string, std::string> sorted;
  for (const auto& [k, v] : conf) {
    if (k != "_meta") sorted.emplace(std::string(k), json::serialize(v));
  }
  std::string out;
  for (const auto& [k, v] : sorted) out += k + "=" + v + "\n";
  return out;
}

// ---- the plugin ----------------------------------------------------------------

// One counted rule's figures, turned into its X-RateLimit-* headers by
// header_filter (text only when the headers are written).
struct Quota {
  const RuleConf* rule;
  int64_t count;
  int64_t remaining;
  double reset_seconds;
};
using Quotas = boost::container::small_vector<Quota, 2>;

struct QuotaHeaders final : RequestState {
  Quotas quotas;
};

// A rule that applies to this request; its key is keys[key_begin, key_end)
// of the buffer resolve() filled (one buffer for every rule, no string each).
struct Resolved {
  const RuleConf* rule;
  int64_t count;
  int64_t window;
  size_t key_begin;
  size_t key_end;
  std::string_view key(const std::string& keys) const {
    return std::string_view(keys).substr(key_begin, key_end - key_begin);
  }
};
using ResolvedRules = boost::container::small_vector<Resolved, 2>;

// "X-RateLimit-Reset"'s value: APISIX truncates to 2 decimals.
std::string reset_text(double reset_seconds) {
  return limits::lua_number(std::floor(reset_seconds * 100) / 100);
}

void append_headers(const Quota& q, std::vector<std::pair<std::string, std::string>>& out) {
  out.emplace_back(q.rule->limit_header, std::to_string(q.count));
  out.emplace_back(q.rule->remaining_header, std::to_string(q.remaining));
  out.emplace_back(q.rule->reset_header, reset_text(q.reset_seconds));
}

class LimitCount final : public Plugin {
 public:
  LimitCount(Config conf, std::shared_ptr<CountStore> store, std::string key_prefix,
             std::unique_ptr<GroupMembership> membership)
      : conf_(std::move(conf)),
        store_(std::move(store)),
        sync_(store_->is_synchronous()),
        key_prefix_(std::move(key_prefix)),
        membership_(std::move(membership)) {}

  uint8_t phases() const override {
    uint8_t p = bit(Phase::kAccess);
    if (conf_.show_limit_quota_header) p |= bit(Phase::kHeaderFilter);
    return p;
  }
  bool is_async(Phase p) const override { return p == Phase::kAccess && !sync_; }

  Step access(PluginContext& ctx) const override {
    // Reused by this thread's requests: the synchronous path never suspends,
    // so no other request can touch it meanwhile (access_async cannot share it).
    thread_local std::string keys;
    keys.clear();
    ResolvedRules limits;
    if (auto exit = resolve(ctx, limits, keys)) return exit;
    Quotas quotas;
    for (const auto& r : limits) {
      auto d = store_->incoming_now(r.key(keys), r.count, std::chrono::seconds(r.window), 1);
      if (auto exit = apply(r, d, quotas)) return exit;
    }
    keep_quotas(ctx, quotas);
    return kContinue;
  }

  net::Task<Step> access_async(PluginContext& ctx) const override {
    std::string keys;
    ResolvedRules limits;
    if (auto exit = resolve(ctx, limits, keys)) co_return exit;
    Quotas quotas;
    for (const auto& r : limits) {
      std::string key(r.key(keys));
      auto d = co_await store_->incoming(key, r.count, std::chrono::seconds(r.window), 1);
      if (auto exit = apply(r, d, quotas)) co_return exit;
    }
    keep_quotas(ctx, quotas);
    co_return kContinue;
  }

  void header_filter(PluginContext& ctx) const override {
    // QuotaHeaders is final: comparing the type is dynamic_cast's answer,
    // without its walk of the class hierarchy on every response.
    RequestState* state = ctx.state().get();
    if (!state || typeid(*state) != typeid(QuotaHeaders)) return;
    for (const Quota& q : static_cast<QuotaHeaders*>(state)->quotas) {
      char buf[24];
      auto end = std::to_chars(buf, buf + sizeof buf, q.count).ptr;
      ctx.set_response_header(q.rule->limit_header, std::string_view(buf, end - buf));
      end = std::to_chars(buf, buf + sizeof buf, q.remaining).ptr;
      ctx.set_response_header(q.rule->remaining_header, std::string_view(buf, end - buf));
      ctx.set_response_header(q.rule->reset_header, reset_text(q.reset_seconds));
    }
  }

 private:
  // The rules that apply to this request, with their counts and keys.
  // An Exit when they cannot be worked out (500, or nothing with
  // allow_degradation: the request goes on unlimited, as in APISIX).
  Step resolve(PluginContext& ctx, ResolvedRules& out, std::string& keys) const {
    std::string err;
    for (const auto& rule : conf_.rules) {
      Resolved r{&rule, 0, 0, keys.size(), 0};
      keys += key_prefix_;
      if (conf_.has_rules) {
        if (rule.key_tpl.render(ctx, keys) == 0) {  // the rule does not apply
          keys.resize(r.key_begin);
          continue;
        }
      } else {
        rule.key.append(ctx, keys);
      }
      keys += rule.suffix;
      r.key_end = keys.size();
      auto count = resolve_positive(rule.count, ctx, err);
      auto window = count ? resolve_positive(rule.time_window, ctx, err) : std::nullopt;
      if (!count || !window) {
        spdlog::error("limit-count: failed to get rate limit rules: {}", err);
        return degrade();
      }
      r.count = *count;
      r.window = *window;
      out.push_back(r);
    }
    if (out.empty()) {
      spdlog::error("limit-count: failed to get rate limit rules: no rule applies");
      return degrade();
    }
    return kContinue;
  }

  Step degrade() const {
    if (conf_.allow_degradation) return kContinue;
    return Exit{500, {}, {}, {}};
  }

  static std::optional<int64_t> resolve_positive(const limits::NumberSpec& spec, PluginContext& ctx,
                                                 std::string& err) {
    auto v = spec.resolve(ctx, err);
    if (!v) return std::nullopt;
    if (*v <= 0) {
      err = "resolved value must be a positive number, got: " + limits::lua_number(*v);
      return std::nullopt;
    }
    if (*v != std::floor(*v)) {
      err = "resolved value must be an integer, got: " + limits::lua_number(*v);
      return std::nullopt;
    }
    if (*v > kMaxSafeInteger) {
      err = "resolved value exceeds safe integer range (2^53-1), got: " + limits::lua_number(*v);
      return std::nullopt;
    }
    return static_cast<int64_t>(*v);
  }

  Step apply(const Resolved& r, const core::Result<Decision>& d, Quotas& quotas) const {
    if (!d) {
      spdlog::error("limit-count: failed to limit count: {}", d.error().message);
      if (conf_.allow_degradation) return kContinue;
      json::object body;
      body["error_msg"] = "failed to limit count";
      return Exit::json(500, body);
    }
    if (!d->allowed) {
      Exit e;
      if (conf_.rejected_msg) {
        json::object body;
        body["error_msg"] = *conf_.rejected_msg;
        e = Exit::json(conf_.rejected_code, body);
      } else {
        e.status = conf_.rejected_code;
      }
      if (conf_.show_limit_quota_header) {
        // The rules counted before this one, then this one's.
        for (const Quota& q : quotas) append_headers(q, e.headers);
        append_headers(Quota{r.rule, r.count, 0, d->reset_seconds}, e.headers);
      }
      return e;
    }
    if (conf_.show_limit_quota_header) {
      quotas.push_back(Quota{r.rule, r.count, d->remaining, d->reset_seconds});
    }
    return kContinue;
  }

  void keep_quotas(PluginContext& ctx, const Quotas& quotas) const {
    if (!conf_.show_limit_quota_header || quotas.empty()) return;
    auto st = std::make_unique<QuotaHeaders>();
    st->quotas = quotas;
    ctx.state() = std::move(st);
  }

  Config conf_;
  std::shared_ptr<CountStore> store_;
  bool sync_;
  std::string key_prefix_;  // "" (local store, one per instance) or owner:version: / group:
  std::unique_ptr<GroupMembership> membership_;
};

// ---- create ----------------------------------------------------------------

core::Result<Config> parse(const json::object& o) {
  Config c;
  c.group = limits::conf_string(o, "group", "");
  c.policy = limits::conf_string(o, "policy", "local");
  c.window_type = limits::conf_string(o, "window_type", "fixed");
  c.rejected_code = core::saturate<int>(limits::conf_int(o, "rejected_code", 503));
  if (const auto* m = o.if_contains("rejected_msg"); m && m->is_string()) {
    c.rejected_msg = std::string(m->get_string());
  }
  c.allow_degradation = limits::conf_bool(o, "allow_degradation", false);
  c.show_limit_quota_header = limits::conf_bool(o, "show_limit_quota_header", true);

  const auto* rules = o.if_contains("rules");
  if (rules && rules->is_array() && (o.contains("count") || o.contains("time_window"))) {
    return core::config_error("count/time_window and rules cannot be specified at the same time");
  }
  if (rules && rules->is_array() && !c.group.empty()) {
    return core::config_error("group and rules cannot be specified at the same time");
  }
  if (c.policy != "local") {
    double sync = limits::conf_number(o, "sync_interval", -1);
    if (sync != -1) {
      if (sync < 0.1) return core::config_error("sync_interval should not be smaller than 0.1");
      const auto* tw = o.if_contains("time_window");
      if (tw && tw->is_number() && sync >= tw->to_number<double>()) {
        return core::config_error("sync_interval should be smaller than time_window");
      }
    }
  }

  if (rules && rules->is_array()) {
    c.has_rules = true;
    auto st = limits::for_each_rule(
        rules->get_array(), [&c](const json::object& r, limits::VarTemplate key, size_t position) {
          RuleConf rule;
          rule.count = limits::NumberSpec::from_conf(r.at("count"));
          rule.time_window = limits::NumberSpec::from_conf(r.at("time_window"));
          rule.key_tpl = std::move(key);
          std::string prefix = limits::conf_string(r, "header_prefix", std::to_string(position));
          rule.suffix = ":" + prefix;
          // "X-RateLimit-Limit" -> "X-<prefix>-RateLimit-Limit" (APISIX's gsub).
          rule.limit_header = "X-" + prefix + "-RateLimit-Limit";
          rule.remaining_header = "X-" + prefix + "-RateLimit-Remaining";
          rule.reset_header = "X-" + prefix + "-RateLimit-Reset";
          c.rules.push_back(std::move(rule));
        });
    if (!st) return st.error();
  } else {
    RuleConf rule;
    rule.count = limits::NumberSpec::from_conf(o.at("count"));
    rule.time_window = limits::NumberSpec::from_conf(o.at("time_window"));
    rule.key = limits::LimitKey::from_conf(o);
    c.rules.push_back(std::move(rule));
  }
  return c;
}

core::Result<std::shared_ptr<CountStore>> make_store(const Config& c, const json::object& conf) {
  if (c.policy == "local") {
    return std::shared_ptr<CountStore>(std::make_shared<limit_count::LocalCountStore>(
        c.window_type == "sliding" ? limit_count::LocalCountStore::Window::kSliding
                                   : limit_count::LocalCountStore::Window::kFixed));
  }
  auto factory = limit_count::redis_count_store_factory();
  if (!factory) {
    return core::config_error("policy \"" + c.policy + "\" is not available in this build");
  }
  auto made = factory(conf);
  if (!made) return made.error();
  return std::shared_ptr<CountStore>(std::move(*made));
}

core::Result<std::shared_ptr<const Plugin>> create(const json::object& conf,
                                                   const PluginScope& scope) {
  auto parsed = parse(conf);
  if (!parsed) return parsed.error();
  Config c = std::move(*parsed);

  if (c.group.empty()) {
    auto store = make_store(c, conf);
    if (!store) return store.error();
    std::string prefix;
    if (c.policy != "local") {
      // Shared stores need the owner in the key; the conf version makes a
      // changed conf start afresh (APISIX: resource_key:conf_version:key).
      boost::crc_32_type crc;
      json::object bare = conf;
      bare.erase("_meta");
      std::string text = json::serialize(bare);
      crc.process_bytes(text.data(), text.size());
      prefix = scope.owner_key + ":" + std::to_string(crc.checksum()) + ":";
    }
    return std::shared_ptr<const Plugin>(
        std::make_shared<LimitCount>(std::move(c), std::move(*store), std::move(prefix), nullptr));
  }

  std::string fp = fingerprint(conf);
  auto& reg = group_registry();
  std::lock_guard lock(reg.mu);
  std::shared_ptr<GroupState> state;
  if (auto it = reg.groups.find(c.group); it != reg.groups.end()) state = it->second.lock();
  if (state && state->fingerprint != fp) {
    bool only_self = true;
    for (const auto& o : state->owners) only_self = only_self && o == scope.owner_key;
    if (!only_self) return core::config_error("group conf mismatched");
    state.reset();  // the group's only user changed its conf: a new group store
  }
  if (!state) {
    auto store = make_store(c, conf);
    if (!store) return store.error();
    state = std::make_shared<GroupState>();
    state->name = c.group;
    state->fingerprint = std::move(fp);
    state->store = std::move(*store);
    reg.groups[c.group] = state;
  }
  state->owners.insert(scope.owner_key);
  auto membership = std::make_unique<GroupMembership>();
  membership->state = state;
  membership->owner = scope.owner_key;
  std::string prefix = c.policy == "local" ? std::string() : c.group + ":";
  auto store = state->store;
  return std::shared_ptr<const Plugin>(std::make_shared<LimitCount>(
      std::move(c), std::move(store), std::move(prefix), std::move(membership)));
}

PluginInfo make_info() {
  PluginInfo info;
  info.name = "limit-count";
  info.priority = 1002;
  info.schema = make_schema();
  info.metadata_schema = make_metadata_schema();
  info.create = &create;
  return info;
}

const PluginRegistration kRegistration{make_info()};

}  // namespace
}  // namespace torii::plugins
