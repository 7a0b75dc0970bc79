// A read-only ConfigStore over the standalone file's resources, so that the
// Admin API can answer GETs in standalone mode with the same envelopes as
// over a real store. Keys follow the etcd layout (`/apisix/routes/1`); every
// item of one file version carries that version as its revisions. Writes
// fail (the Admin API refuses them before they get here).
#pragma once

#include <map>

#include "config/resource_set.h"
#include "store/config_store.h"

namespace torii::store {

class ResourceSetStore final : public ConfigStore {
 public:
  explicit ResourceSetStore(std::string prefix);

  // Replaces the contents with a new version of the file.
  void replace(const config::ResourceSet& resources);

  std::string describe() const override;
  net::Task<core::Result<RangeResult>> range(std::string prefix) override;
  net::Task<core::Result<std::optional<KeyValue>>> get(std::string key) override;
  net::Task<core::Result<PutResult>> put(std::string key, std::string value, Expect expect,
                                         std::chrono::seconds ttl) override;
  net::Task<core::Result<DeleteResult>> remove(std::string key, bool with_children) override;
  net::Task<core::Status> watch(std::string prefix, int64_t after,
                                WatchHandler on_events) override;
  void close() override {}

 private:
  std::string prefix_;
  int64_t revision_ = 0;
  std::map<std::string, KeyValue, std::less<>> kvs_;
};

}  // namespace torii::store
