// Compiles a ResourceSet into an immutable Snapshot: validates every
// resource (schema + references), applies run-time defaults, resolves
// service inheritance and builds the router. All-or-nothing: one bad item
// rejects the whole set, with an error naming the item and field, so the
// previous snapshot keeps serving.
//
// Owned by the control thread. Keeps a cache of compiled upstreams keyed by
// their JSON so that an unchanged upstream is the same object in the next
// snapshot (workers keep balancer state per upstream object).
#pragma once

#include <functional>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "config/data_encryption.h"
#include "config/resource_set.h"
#include "config/snapshot.h"
#include "core/result.h"

namespace torii::config {

// kRejectAll: the standalone file (one bad item rejects the file, the
// previous snapshot keeps serving). kSkipInvalid: a config store, where
// every item was validated on write but another writer (an APISIX node on
// the same etcd, an older Torii) may have stored one Torii cannot use: that
// item is logged and left out, the rest serves (APISIX's behaviour).
// Collections the data plane does not use yet are ignored in kSkipInvalid
// and refused in kRejectAll.
enum class BuildMode : uint8_t { kRejectAll, kSkipInvalid };

class SnapshotBuilder {
 public:
  core::Result<std::shared_ptr<const Snapshot>> build(const ResourceSet& resources,
                                                      const ServerConfig& server,
                                                      BuildMode mode = BuildMode::kRejectAll);

 private:
  // `owner_key` names the health checker of an upstream with `checks`: the
  // resource key of the upstream object, or of the route or service that
  // holds it inline.
  core::Result<std::shared_ptr<const upstream::Upstream>> compile_upstream(
      const boost::json::object& obj, const std::string& id, const std::string& where,
      const std::string& owner_key);

  // Compiles the `ssls` collection into certs_ (unchanged objects are
  // reused from ssl_cache_, not parsed again).
  core::Status build_certs(const ResourceSet& rs, const DataEncryption& enc, bool skip_invalid,
                           const std::function<void(const core::Error&)>& skip);
  // An upstream's `checks`: a new health checker for its nodes, registered
  // for the prober and the metrics export.
  static void attach_health_checker(const boost::json::object& checks,
                                    const std::string& owner_key, upstream::Upstream& u);
  // An upstream's `tls`: its client certificate for upstream mTLS.
  core::Status attach_client_cert(const boost::json::object& obj, upstream::Upstream& u,
                                  const std::string& where);

  uint64_t next_version_ = 1;
  std::shared_ptr<tls::CertIndex> certs_;            // the build in progress
  std::unique_ptr<DataEncryption> encryption_;       // the build in progress
  std::string trusted_ca_;  // apisix.ssl.ssl_trusted_certificate of the build in progress
  struct CachedCert {
    std::string json;  // the object as compiled
    std::shared_ptr<const tls::ServerCert> server;
    std::shared_ptr<const tls::ClientCert> client;
  };
  std::map<std::string, CachedCert> ssl_cache_;  // by ssl id
  plugins::ChainBuilder chains_;  // plugin instances kept across builds
  std::set<std::string> reported_skips_;  // items ignored by the last build (logged once)
  std::map<std::string, std::weak_ptr<const upstream::Upstream>> upstream_cache_;
};

// Compiles one upstream object (already schema-checked). Exposed for tests
// and for the fuzz target.
core::Result<upstream::Upstream> compile_upstream_object(const boost::json::object& obj,
                                                         const std::string& where);

// Checks the standalone file named by `server` as `torii validate` does:
// every item's schema independently (so every error is reported at once),
// then references and routes as a whole. Empty when the file is valid.
std::vector<std::string> validate_standalone(const ServerConfig& server);

}  // namespace torii::config
