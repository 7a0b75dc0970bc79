// Redis Cluster routing: slot map, MOVED/ASK, the per-worker table.
// See redis_cluster.h.
#include "net/redis_cluster.h"

#include "net/per_worker_table.h"

#include <algorithm>
#include <charconv>
#include <functional>
#include <utility>

namespace torii::net::redis {

namespace {

uint16_t crc16_xmodem(std::string_view data) {
  uint16_t crc = 0;
  for (unsigned char b : data) {
    crc ^= static_cast<uint16_t>(b << 8);
    for (int i = 0; i < 8; ++i) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

bool parse_port(std::string_view s, uint16_t& port) {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v == 0 || v > 65535) return false;
  port = static_cast<uint16_t>(v);
  return true;
}

}  // namespace

core::Result<NodeAddress> parse_node_address(std::string_view text) {
  const auto bad = [&] {
    return core::config_error("invalid node address \"" + std::string(text) +
                              "\", expected host:port");
  };
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return bad();
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  NodeAddress a;
  if (host.empty() || !parse_port(text.substr(colon + 1), a.port)) return bad();
  a.host = std::string(host);
  return a;
}

uint16_t key_slot(std::string_view key) {
  // Only the part between the first '{' and the next '}' is hashed, when
  // that part is not empty: keys sharing a {tag} share a slot.
  const size_t open = key.find('{');
  if (open != std::string_view::npos) {
    const size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return static_cast<uint16_t>(crc16_xmodem(key) & (kClusterSlots - 1));
}

std::string ClusterOptions::table_key() const {
  std::string k = name;
  k += '\0';
  for (const auto& s : seeds) {
    k += s.host;
    k += ':';
    k += std::to_string(s.port);
    k += ',';
  }
  k += '\0';
  k += node.table_key();
  return k;
}

ClusterClient::ClusterClient(Executor ex, ClusterOptions options)
    : ex_(ex), options_(std::move(options)), refresh_done_(ex) {}

ClusterClient::~ClusterClient() { close(); }

void ClusterClient::close() {
  for (auto& [key, n] : nodes_) n->client->close();
  refresh_done_.cancel();
}

size_t ClusterClient::known_masters() const {
  size_t n = 0;
  std::unordered_map<const Node*, bool> seen;
  for (const Node* s : slots_) {
    if (s != nullptr && !seen[s]) {
      seen[s] = true;
      ++n;
    }
  }
  return n;
}

core::Error ClusterClient::unavailable(std::string what) const {
  return core::Error{core::ErrorKind::kUnavailable, core::ErrorSource::kUpstream, true,
                     "redis cluster " + options_.name + ": " + std::move(what)};
}

ClusterClient::Node* ClusterClient::node(const std::string& host, uint16_t port) {
  std::string key = host + ":" + std::to_string(port);
  auto it = nodes_.find(key);
  if (it != nodes_.end()) return it->second.get();
  auto n = std::make_unique<Node>();
  n->address = NodeAddress{host, port};
  Options o = options_.node;
  o.host = host;
  o.port = port;
  n->client = std::make_unique<Client>(ex_, std::move(o));
  Node* raw = n.get();
  // Nodes are never removed before the ClusterClient goes: a command may be
  // suspended inside any node's Client.
  nodes_.emplace(std::move(key), std::move(n));
  return raw;
}

Task<core::Status> ClusterClient::load_slots_from(Node* n) {
  // Tasks are made before co_await: GCC 12 miscompiles array temporaries
  // (initializer lists) inside a co_await expression.
  const std::vector<std::string> args = {"CLUSTER", "SLOTS"};
  auto task = n->client->command(args);
  core::Result<Reply> r = co_await std::move(task);
  if (!r.ok()) co_return r.error();
  const std::string peer = n->client->options().peer();
  if (r->is_error()) co_return unavailable(peer + ": " + r->str);
  if (r->type != Reply::Type::kArray) co_return unavailable(peer + ": bad CLUSTER SLOTS reply");
  // (A vector: GCC 12 cannot keep a std::array in a coroutine frame.)
  std::vector<Node*> fresh(kClusterSlots, nullptr);
  for (const Reply& range : r->elements) {
    if (range.type != Reply::Type::kArray || range.elements.size() < 3) continue;
    const Reply& first = range.elements[0];
    const Reply& last = range.elements[1];
    const Reply& master = range.elements[2];
    if (first.type != Reply::Type::kInteger || last.type != Reply::Type::kInteger ||
        master.type != Reply::Type::kArray || master.elements.size() < 2 ||
        master.elements[1].type != Reply::Type::kInteger) {
      continue;
    }
    // An empty or "?" host: the node did not say; it is the one we asked.
    std::string host = master.elements[0].str;
    if (host.empty() || host == "?") host = n->address.host;
    const int64_t port = master.elements[1].integer;
    if (port <= 0 || port > 65535) continue;
    Node* owner = node(host, static_cast<uint16_t>(port));
    for (int64_t s = std::max<int64_t>(first.integer, 0);
         s <= std::min<int64_t>(last.integer, kClusterSlots - 1); ++s) {
      fresh[static_cast<size_t>(s)] = owner;
    }
  }
  std::copy(fresh.begin(), fresh.end(), slots_.begin());
  co_return core::ok_status();
}

Task<core::Status> ClusterClient::refresh() {
  if (refreshing_) {
    co_await refresh_done_.async_wait(kNoThrow);
    co_return last_refresh_;
  }
  refreshing_ = true;
  refresh_done_.expires_at(Timer::time_point::max());

  // Masters we know first (the current map), then the configured seeds.
  std::vector<Node*> candidates;
  for (Node* s : slots_) {
    if (s != nullptr && std::find(candidates.begin(), candidates.end(), s) == candidates.end()) {
      candidates.push_back(s);
    }
  }
  for (const NodeAddress& seed : options_.seeds) {
    Node* n = node(seed.host, seed.port);
    if (std::find(candidates.begin(), candidates.end(), n) == candidates.end()) {
      candidates.push_back(n);
    }
  }
  core::Status result = unavailable("no node to ask for the slot map");
  for (Node* n : candidates) {
    result = co_await load_slots_from(n);
    if (result.ok()) break;
  }
  if (result.ok()) {
    loaded_ = true;
    stale_ = false;
  } else {
    result = unavailable("cannot load the slot map: " + result.error().message);
  }
  last_refresh_ = result;
  refreshing_ = false;
  refresh_done_.cancel();
  co_return result;
}

Task<core::Result<Reply>> ClusterClient::execute(Op op) {
  if (!loaded_ || stale_) {
    core::Status s = co_await refresh();
    if (!s.ok() && !loaded_) co_return s.error();
  }
  const uint16_t slot = key_slot(op.key);
  Node* target = slots_[slot];
  if (target == nullptr) {
    stale_ = true;
    co_return unavailable("no master serves slot " + std::to_string(slot));
  }
  const std::vector<std::string> keys(1, op.key);
  bool asking = false;
  for (int hop = 0; hop <= kMaxRedirections; ++hop) {
    auto task = op.script != nullptr ? target->client->eval(*op.script, keys, op.args, asking)
                                     : target->client->command(op.args, asking);
    core::Result<Reply> r = co_await std::move(task);
    if (!r.ok()) {
      stale_ = true;  // the master may have failed over
      co_return r;
    }
    if (!r->is_error()) co_return r;
    const std::string_view err = r->str;
    const bool moved = err.starts_with("MOVED ");
    if (!moved && !err.starts_with("ASK ")) co_return r;
    // "MOVED <slot> <host>:<port>" / "ASK <slot> <host>:<port>"
    const size_t sp = err.rfind(' ');
    std::string_view where = err.substr(sp + 1);
    NodeAddress to;
    if (where.starts_with(":")) {
      // No endpoint announced: the host of the node that answered.
      if (!parse_port(where.substr(1), to.port)) co_return r;
      to.host = target->address.host;
    } else {
      auto parsed = parse_node_address(where);
      if (!parsed.ok()) co_return r;
      to = std::move(*parsed);
    }
    Node* next = node(to.host, to.port);
    if (moved) {
      slots_[slot] = next;
      stale_ = true;  // more slots probably moved: reload before the next command
      asking = false;
    } else {
      asking = true;
    }
    target = next;
  }
  co_return unavailable("too many redirections for slot " + std::to_string(slot));
}

Task<core::Result<Reply>> ClusterClient::command(std::string key, std::vector<std::string> args) {
  return execute(Op{std::move(key), nullptr, std::move(args)});
}

Task<core::Result<Reply>> ClusterClient::eval(const Script& script, std::string key,
                                              std::initializer_list<std::string_view> args) {
  Op op{std::move(key), &script, {}};
  op.args.reserve(args.size());
  for (std::string_view a : args) op.args.emplace_back(a);
  return execute(std::move(op));
}

ClusterClient& cluster_client_for(Executor ex, const ClusterOptions& options,
                                  std::string_view table_key) {
  return per_worker<ClusterClient>(ex, options, table_key);
}

ClusterClient& cluster_client_for(Executor ex, const ClusterOptions& options) {
  return cluster_client_for(ex, options, options.table_key());
}

}  // namespace torii::net::redis
