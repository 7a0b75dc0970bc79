#include <openssl/crypto.h>

#include <algorithm>

#include <boost/container_hash/hash.hpp>
#include "plugins/consumer.h"

namespace torii::plugins {

bool secrets_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

const Credential* ConsumerDirectory::find(std::string_view plugin, std::string_view key) const {
  auto index = credentials_.find(plugin);
  if (index == credentials_.end()) return nullptr;
  auto it = index->second.find(key);
  return it == index->second.end() ? nullptr : &it->second;
}

std::shared_ptr<const Consumer> ConsumerDirectory::consumer(std::string_view username) const {
  auto it = consumers_.find(username);
  return it == consumers_.end() ? nullptr : it->second;
}

void ConsumerDirectory::add_consumer(std::shared_ptr<const Consumer> consumer) {
  consumers_[consumer->username] = std::move(consumer);
}

bool ConsumerDirectory::add_credential(std::string_view plugin, std::string_view key,
                                       Credential credential) {
  auto index = credentials_.find(plugin);
  if (index == credentials_.end()) index = credentials_.emplace(std::string(plugin), CredentialIndex()).first;
  return index->second.emplace(std::string(key), std::move(credential)).second;
}

size_t ConsumerDirectory::KeyHash::operator()(std::string_view key) const {
  return boost::hash_range(key.begin(), key.end());
}

std::shared_ptr<const ConsumerRouteChain> ConsumerDirectory::merged(const PluginChain* route,
                                                                    const Consumer& consumer) const {
  const auto key = std::make_pair(route, &consumer);
  {
    std::shared_lock lock(merged_mutex_);
    if (auto it = merged_.find(key); it != merged_.end()) return it->second;
  }
  // Consumer entries replace the route's entry of the same plugin.
  struct Pick {
    const ChainEntry* entry;
    int route_index;
    int replaced_index;
  };
  std::vector<Pick> picks;
  const auto route_index_of = [route](std::string_view name) {
    if (route) {
      for (size_t i = 0; i < route->entries.size(); ++i) {
        if (route->entries[i].info->name == name) return static_cast<int>(i);
      }
    }
    return -1;
  };
  if (route) {
    for (size_t i = 0; i < route->entries.size(); ++i) {
      const ChainEntry& e = route->entries[i];
      if (consumer.plugins && consumer.plugins->contains(e.info->name)) continue;
      picks.push_back({&e, static_cast<int>(i), -1});
    }
  }
  if (consumer.plugins) {
    for (const ChainEntry& e : consumer.plugins->entries) {
      picks.push_back({&e, -1, route_index_of(e.info->name)});
    }
  }
  std::stable_sort(picks.begin(), picks.end(), [](const Pick& a, const Pick& b) {
    return a.entry->priority != b.entry->priority ? a.entry->priority > b.entry->priority
                                                  : a.entry->info->name < b.entry->info->name;
  });
  auto chain = std::make_shared<PluginChain>();
  auto out = std::make_shared<ConsumerRouteChain>();
  for (const Pick& p : picks) {
    chain->entries.push_back(*p.entry);
    chain->phases |= p.entry->phases;
    out->route_index.push_back(p.route_index);
    out->replaced_index.push_back(p.replaced_index);
  }
  out->chain = std::move(chain);
  std::unique_lock lock(merged_mutex_);
  auto [it, inserted] = merged_.emplace(key, std::move(out));
  return it->second;
}

}  // namespace torii::plugins
