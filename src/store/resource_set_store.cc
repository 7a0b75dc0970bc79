#include "store/resource_set_store.h"

#include <boost/json/serialize.hpp>

namespace torii::store {

namespace {

core::Error read_only() {
  return core::Error{core::ErrorKind::kUnavailable, core::ErrorSource::kConfig, false,
                     "the standalone configuration file is read-only"};
}

}  // namespace

ResourceSetStore::ResourceSetStore(std::string prefix) : prefix_(std::move(prefix)) {}

void ResourceSetStore::replace(const config::ResourceSet& resources) {
  ++revision_;
  kvs_.clear();
  for (const auto& [collection, items] : resources.collections) {
    for (const auto& item : items) {
      KeyValue kv;
      kv.key = prefix_ + "/" + collection + "/" + item.id;
      boost::json::object value = item.value;
      if (!value.contains("id") && collection != "consumers") value["id"] = item.id;
      kv.value = boost::json::serialize(value);
      kv.create_revision = revision_;
      kv.mod_revision = revision_;
      kvs_.insert_or_assign(kv.key, std::move(kv));
    }
  }
}

std::string ResourceSetStore::describe() const { return "standalone file (read-only)"; }

net::Task<core::Result<RangeResult>> ResourceSetStore::range(std::string prefix) {
  RangeResult out;
  out.revision = revision_;
  for (auto it = kvs_.lower_bound(prefix); it != kvs_.end() && it->first.starts_with(prefix); ++it) {
    out.kvs.push_back(it->second);
  }
  co_return out;
}

net::Task<core::Result<std::optional<KeyValue>>> ResourceSetStore::get(std::string key) {
  auto it = kvs_.find(key);
  if (it == kvs_.end()) co_return std::optional<KeyValue>();
  co_return std::optional<KeyValue>(it->second);
}

net::Task<core::Result<PutResult>> ResourceSetStore::put(std::string, std::string, Expect,
                                                         std::chrono::seconds) {
  co_return read_only();
}

net::Task<core::Result<DeleteResult>> ResourceSetStore::remove(std::string, bool) {
  co_return read_only();
}

net::Task<core::Status> ResourceSetStore::watch(std::string, int64_t, WatchHandler) {
  co_return read_only();
}

}  // namespace torii::store
