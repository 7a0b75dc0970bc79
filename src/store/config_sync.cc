#include "store/config_sync.h"

#include "config/consumer_builder.h"
#include "core/json_numbers.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json/parse.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace torii::store {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{2000};

// Collections whose items are config resources, as stored under the prefix.
bool is_collection(std::string_view c) {
  static constexpr std::string_view kCollections[] = {
      "routes",     "services",        "upstreams",      "consumers",
      "ssls",       "global_rules",    "plugin_configs", "consumer_groups",
      "protos",     "plugin_metadata", "stream_routes",  "secrets"};
  return std::find(std::begin(kCollections), std::end(kCollections), c) != std::end(kCollections);
}

}  // namespace

ConfigSync::ConfigSync(net::Executor ex, ConfigStore& store, std::string prefix,
                       ChangeHandler on_change)
    : ex_(ex),
      store_(store),
      prefix_(std::move(prefix)),
      on_change_(std::move(on_change)),
      backoff_timer_(ex) {}

bool ConfigSync::split_key(std::string_view key, std::string& collection, std::string& id) const {
  if (key.size() <= prefix_.size() + 1 || key.substr(0, prefix_.size()) != prefix_ ||
      key[prefix_.size()] != '/') {
    return false;
  }
  std::string_view rest = key.substr(prefix_.size() + 1);
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash + 1 >= rest.size()) return false;
  const std::string_view c = rest.substr(0, slash);
  const std::string_view i = rest.substr(slash + 1);
  if (!is_collection(c)) return false;
  // Credentials live under their consumer: /consumers/{u}/credentials/{id}
  // is the `credentials` item "{u}/credentials/{id}" (config/consumer_builder.h).
  if (c == "consumers" && i.find('/') != std::string_view::npos) {
    std::string_view user, cred;
    if (!config::split_credential_id(i, user, cred)) return false;
    collection = "credentials";
    id = std::string(i);
    return true;
  }
  collection = std::string(c);
  id = std::string(i);
  return true;
}

namespace {

// Parses a stored value; logs and returns false for anything but an object
// (the caller keeps the key's previous value, if it had one).
bool parse_object(const KeyValue& kv, json::object& out) {
  json::error_code ec;
  json::value v = json::parse(kv.value, ec);
  if (ec || !v.is_object()) {
    spdlog::error("config store: {} at revision {} is not a JSON object; ignored (the key "
                  "keeps its previous value)", kv.key, kv.mod_revision);
    return false;
  }
  if (!core::json_numbers_finite(v)) {
    spdlog::error("config store: {} at revision {} holds a number out of range; ignored (the "
                  "key keeps its previous value)", kv.key, kv.mod_revision);
    return false;
  }
  out = std::move(v.get_object());
  return true;
}

}  // namespace

bool ConfigSync::apply_full(RangeResult& range) {
  std::map<std::string, Item, std::less<>> fresh;
  std::string collection, id;
  for (auto& kv : range.kvs) {
    if (!split_key(kv.key, collection, id)) continue;
    Item item{kv.create_revision, kv.mod_revision, {}};
    if (!parse_object(kv, item.value)) {
      // As a watch event leaves it (apply_event): the key keeps what it held
      // before, so a re-read does not drop what the watch kept.
      if (auto old = items_.find(kv.key); old != items_.end()) fresh.emplace(kv.key, old->second);
      continue;
    }
    fresh.emplace(std::move(kv.key), std::move(item));
  }
  bool changed = fresh.size() != items_.size();
  if (!changed) {
    for (auto a = fresh.begin(), b = items_.begin(); a != fresh.end(); ++a, ++b) {
      if (a->first != b->first || a->second.mod_revision != b->second.mod_revision ||
          a->second.value != b->second.value) {
        changed = true;
        break;
      }
    }
  }
  items_ = std::move(fresh);
  status_.revision = range.revision;
  status_.last_sync = core::Clock::now();
  ++status_.full_reads;
  return changed;
}

bool ConfigSync::apply_event(const WatchEvent& e) {
  std::string collection, id;
  if (!split_key(e.kv.key, collection, id)) return false;
  if (e.type == WatchEvent::Type::kDelete) return items_.erase(e.kv.key) > 0;
  Item item{e.kv.create_revision, e.kv.mod_revision, {}};
  if (!parse_object(e.kv, item.value)) return false;
  items_[e.kv.key] = std::move(item);
  return true;
}

net::Task<core::Status> ConfigSync::load() {
  auto range = co_await store_.range(prefix_ + "/");
  if (!range) co_return range.error();
  apply_full(*range);
  co_return core::ok_status();
}

void ConfigSync::start() {
  asio::co_spawn(ex_, run(), asio::detached);
}

void ConfigSync::stop() {
  stopped_ = true;
  backoff_timer_.cancel();
}

net::Task<void> ConfigSync::run() {
  auto backoff = kFirstBackoff;
  bool need_full_read = false;
  while (!stopped_) {
    if (need_full_read) {
      auto range = co_await store_.range(prefix_ + "/");
      if (stopped_) break;
      if (range) {
        const bool changed = apply_full(*range);
        spdlog::warn("config store {}: resynchronised at revision {}", store_.describe(),
                     status_.revision);
        need_full_read = false;
        backoff = kFirstBackoff;
        if (changed) on_change_();
      } else {
        status_.last_error = range.error().message;
      }
    }
    if (!need_full_read) {
      status_.connected = true;
      auto st = co_await store_.watch(
          prefix_ + "/", status_.revision,
          [this](std::vector<WatchEvent>& events, int64_t revision) {
            bool changed = false;
            for (const auto& e : events) changed |= apply_event(e);
            status_.revision = std::max(status_.revision, revision);
            status_.last_sync = core::Clock::now();
            if (changed) on_change_();
          });
      status_.connected = false;
      if (stopped_) break;
      if (st) continue;  // the store ended the watch cleanly: watch again
      status_.last_error = st.error().message;
      spdlog::error("config store {}: watch failed: {}; resynchronising", store_.describe(),
                    st.error().message);
      need_full_read = true;
      if (st.error().kind == core::ErrorKind::kCompacted) continue;  // no wait needed
    }
    // Back off with jitter so a fleet does not reconnect in lock-step.
    std::uniform_real_distribution<double> jitter(0.5, 1.5);
    backoff_timer_.expires_after(std::chrono::duration_cast<std::chrono::milliseconds>(
        backoff * jitter(rng_)));
    co_await backoff_timer_.async_wait(net::kNoThrow);
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

config::ResourceSet ConfigSync::resources() const {
  struct Entry {
    int64_t create_revision;
    std::string_view key;
    const Item* item;
  };
  std::vector<Entry> order;
  order.reserve(items_.size());
  for (const auto& [key, item] : items_) order.push_back({item.create_revision, key, &item});
  std::sort(order.begin(), order.end(), [](const Entry& a, const Entry& b) {
    return a.create_revision != b.create_revision ? a.create_revision < b.create_revision
                                                  : a.key < b.key;
  });
  config::ResourceSet set;
  std::string collection, id;
  for (const auto& e : order) {
    if (!split_key(e.key, collection, id)) continue;
    set.collections[collection].push_back(config::ResourceItem{id, e.item->value});
  }
  return set;
}

SyncStatus ConfigSync::status() const { return status_; }

}  // namespace torii::store
