// Consumers on the data plane: who a request belongs to, once an auth
// plugin (key-auth, basic-auth, ...) has identified it (APISIX
// apisix/consumer.lua).
//
// A ConsumerDirectory is built with every config snapshot (on the control
// thread, config/consumer_builder.cc) and is immutable afterwards, except
// for the cache of merged chains, which is guarded by its own mutex.
//
// Lookups by secret. Auth plugins find a credential by the value of their
// key field (key-auth `key`, basic-auth `username`, ...). The index hashes
// that value and compares it in constant time, so a lookup never compares
// secret bytes with a data-dependent early exit; plugins compare other secrets
// (basic-auth's password) with secrets_equal().
#pragma once

#include <boost/json/object.hpp>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plugins/plugin_chain.h"

namespace torii::plugins {

struct Consumer {
  std::string username;
  std::string group_id;   // consumer_group id; empty: none
  std::string custom_id;  // labels.custom_id (X-Consumer-Custom-ID); empty: none
  // The consumer group's and the consumer's plugins other than auth plugins,
  // merged (the consumer's conf wins) and ordered; null: none. They join the
  // route's chain once the consumer is identified.
  std::shared_ptr<const PluginChain> plugins;
};

// One auth plugin conf, on a consumer or on one of its credentials.
struct Credential {
  std::shared_ptr<const Consumer> consumer;
  std::string id;            // credential id; empty for a conf on the consumer itself
  boost::json::object conf;  // the consumer-schema conf, decrypted, $env:// resolved
  // PluginInfo::prepare_credential's result for `conf`; null when none.
  std::shared_ptr<const void> prepared;
};

// A route's chain with a consumer's plugins overlaid (consumer > group >
// route, one instance per plugin name), and where each entry came from.
struct ConsumerRouteChain {
  std::shared_ptr<const PluginChain> chain;
  // For each entry of `chain`: its index in the route chain, or -1 when the
  // consumer or its group contributed it.
  std::vector<int> route_index;
  // For each entry the consumer or group contributed: the index of the
  // route entry of the same plugin it replaced, or -1 when the route had
  // none. Only those (-1 here and in route_index) run their rewrite phase
  // after the consumer joins (APISIX's rewrite_in_consumer marks
  // _from_consumer only on plugins the route lacks): the replaced route
  // entry's rewrite already ran.
  std::vector<int> replaced_index;
};

// True when `a` and `b` are equal, in time that depends only on their
// lengths (CRYPTO_memcmp).
bool secrets_equal(std::string_view a, std::string_view b);

class ConsumerDirectory {
 public:
  // ---- lookups (any thread) ----
  // The credential of auth plugin `plugin` whose key field equals `key`;
  // null when none.
  const Credential* find(std::string_view plugin, std::string_view key) const;
  // The consumer called `username`, or null (anonymous_consumer).
  std::shared_ptr<const Consumer> consumer(std::string_view username) const;
  bool empty() const { return consumers_.empty(); }

  // `route` (may be null) with `consumer`'s plugins overlaid. Computed once
  // per (route chain, consumer) for the life of the snapshot, then shared.
  // Only called for consumers with plugins.
  std::shared_ptr<const ConsumerRouteChain> merged(const PluginChain* route,
                                                   const Consumer& consumer) const;

  // ---- building (control thread, before publication) ----
  void add_consumer(std::shared_ptr<const Consumer> consumer);
  // False when another credential of that plugin already has this key: the
  // first one keeps it (the Admin API refuses duplicates; this guards
  // against other writers).
  bool add_credential(std::string_view plugin, std::string_view key, Credential credential);

 private:
  // Keys are looked up by a plain string hash (a probe reveals at most
  // which bucket group a guess falls in, nothing about stored keys) and
  // compared in constant time, so the time a lookup takes does not tell
  // how much of a stored key a guess matched. Transparent: a string_view
  // lookup allocates nothing.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const;
  };
  struct KeyEqual {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const { return secrets_equal(a, b); }
  };
  using CredentialIndex = boost::unordered_flat_map<std::string, Credential, KeyHash, KeyEqual>;

  std::map<std::string, std::shared_ptr<const Consumer>, std::less<>> consumers_;
  // plugin name -> key -> credential (no allocation per lookup)
  std::map<std::string, CredentialIndex, std::less<>> credentials_;

  mutable std::shared_mutex merged_mutex_;
  mutable std::map<std::pair<const PluginChain*, const Consumer*>,
                   std::shared_ptr<const ConsumerRouteChain>>
      merged_;
};

}  // namespace torii::plugins
