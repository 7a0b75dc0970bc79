// Per-request cost of each plugin: one instance built from a typical conf
// through the registry (schema check + factory, as a snapshot build does),
// then every phase it implements called once per iteration on the
// gateway's RequestContext, in request order: rewrite, access, before_proxy,
// header_filter, body_filter (one 1 KiB piece, the last), log.
//
// BM_Plugin/baseline is the same loop without a plugin (resetting the
// context, recording the upstream's answer, refilling the 1 KiB piece):
// subtract it from the others to get the plugin's own cost.
//
// Asynchronous phases (limit-conn, limit-req without nodelay) are measured
// through their synchronous variant: same decision, without the coroutine
// frame the runner adds (plugin_chain_bench.cc measures the runner).
// A case that answers early (redirect) skips the remaining request phases,
// as the runner does; any other case that answers is reported as an error.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "config/consumer_builder.h"
#include "plugin_bench_fixture.h"
#include "plugins/limit_count_local.h"
#include "plugins/nonce_store.h"
#include "plugins/signed_request.h"

namespace torii::bench {
namespace {

using plugins::Phase;
using plugins::Plugin;

struct PluginCase {
  std::string label;     // benchmark name suffix: plugin name[:variant]
  std::string plugins;   // the route's `plugins` object (JSON)
  bool answers = false;  // a request phase answers early on every request
  bool consumers = false;  // the snapshot carries bench_consumers()
};

// 1,000 consumers, each with key-auth, basic-auth and jwt-auth (HS256)
// credentials, built by the gateway's own consumer builder; the fixture's
// request carries consumer 500's.
std::shared_ptr<const plugins::ConsumerDirectory> bench_consumers() {
  static const auto dir = [] {
    config::ResourceSet rs;
    auto& items = rs.collections["consumers"];
    for (int i = 0; i < 1000; ++i) {
      const std::string n = std::to_string(i);
      const std::string json = R"({"username":"user-)" + n + R"(","plugins":{"key-auth":{"key":"key-)" + n +
                               R"("},"basic-auth":{"username":"user-)" + n + R"(","password":"pass-)" + n +
                               R"("},"jwt-auth":{"key":"jwt-)" + n + R"(","secret":"secret-)" + n + R"("}}})";
      items.push_back({"user-" + n, boost::json::parse(json).as_object()});
    }
    plugins::ChainBuilder chains;
    auto built = config::build_consumers(rs, config::DataEncryption(), chains,
                                         [](const core::Error& e) { return core::Status(e); });
    if (!built) std::fprintf(stderr, "plugins_bench: consumers: %s\n", built.error().message.c_str());
    return built ? *built : nullptr;
  }();
  return dir;
}

// `n` disjoint IPv4 /25 blocks (never adjacent, so the matcher cannot merge
// them into fewer ranges); the fixture's client 10.20.13.5 is in one of them.
std::string cidr_list(int n) {
  std::string out = "[";
  const int client_block = 20 * 256 + 13;
  const int first = n >= client_block ? 0 : client_block - n / 2;
  for (int i = 0; i < n; ++i) {
    const int b = first + i;
    if (i) out += ',';
    out += "\"10." + std::to_string(b / 256 % 256) + "." + std::to_string(b % 256) + ".0/25\"";
  }
  return out + "]";
}

std::vector<PluginCase> cases() {
  std::vector<PluginCase> c;
  c.push_back({"baseline", "{}"});
  c.push_back({"limit-count",
               R"j({"limit-count": {"count": 1000000000, "time_window": 60, "key_type": "var",
                   "key": "remote_addr", "policy": "local", "rejected_code": 503}})j"});
  c.push_back({"limit-req",
               R"j({"limit-req": {"rate": 1000000000, "burst": 1000000000,
                   "key": "remote_addr", "rejected_code": 503}})j"});
  c.push_back({"limit-conn",
               R"j({"limit-conn": {"conn": 1000000, "burst": 0, "default_conn_delay": 0.1,
                   "key": "remote_addr", "rejected_code": 503}})j"});
  c.push_back({"api-breaker",
               R"j({"api-breaker": {"break_response_code": 502,
                   "unhealthy": {"http_statuses": [500, 503], "failures": 3},
                   "healthy": {"http_statuses": [200], "successes": 3}}})j"});
  c.push_back({"traffic-split",
               R"j({"traffic-split": {"rules": [{"weighted_upstreams": [
                   {"upstream": {"type": "roundrobin", "nodes": {"127.0.0.1:1981": 1}}, "weight": 3},
                   {"weight": 2}]}]}})j"});
  c.push_back({"traffic-split:match-miss",
               R"j({"traffic-split": {"rules": [{"match": [{"vars": [["arg_name", "==", "jack"]]}],
                   "weighted_upstreams": [
                   {"upstream": {"type": "roundrobin", "nodes": {"127.0.0.1:1981": 1}}, "weight": 1}]}]}})j"});
  c.push_back({"proxy-rewrite",
               R"j({"proxy-rewrite": {"uri": "/v2/items", "host": "backend.internal",
                   "headers": {"set": {"X-Api-Version": "v2", "X-Client": "$remote_addr"},
                               "add": {"X-Trace": "bench"}, "remove": ["Cookie"]}}})j"});
  c.push_back({"proxy-rewrite:regex_uri",
               R"j({"proxy-rewrite": {"regex_uri": ["^/api/v1/(.*)", "/v2/$1"]}})j"});
  c.push_back(
      {"response-rewrite",
       R"j({"response-rewrite": {"headers": {"set": {"X-Server-Id": "3", "X-Server-Status": "on"},
                   "remove": ["Server"]}}})j"});
  c.push_back({"response-rewrite:filters",
               R"j({"response-rewrite": {"filters": [{"regex": "x{16}", "scope": "global",
                   "replace": "y"}]}})j"});
  c.push_back({"redirect:http_to_https", R"j({"redirect": {"http_to_https": true}})j", true});
  c.push_back({"redirect:uri", R"j({"redirect": {"uri": "/new$uri", "ret_code": 302}})j", true});
  c.push_back({"fault-injection:no-hit",
               R"j({"fault-injection": {"abort": {"http_status": 403, "body": "blocked",
                   "vars": [[["arg_name", "==", "jack"]]]}}})j"});
  c.push_back({"cors",
               R"j({"cors": {"allow_origins": "https://app.example.com,https://admin.example.com",
                   "allow_methods": "GET,POST,PUT", "allow_headers": "*",
                   "expose_headers": "X-Request-Id", "max_age": 3600}})j"});
  c.push_back(
      {"ip-restriction:10", R"j({"ip-restriction": {"whitelist": )j" + cidr_list(10) + "}}"});
  c.push_back(
      {"ip-restriction:10000", R"j({"ip-restriction": {"whitelist": )j" + cidr_list(10000) + "}}"});
  c.push_back({"ua-restriction",
               R"j({"ua-restriction": {"denylist": ["(Baiduspider)/(\\d+)\\.(\\d+)", "bad-bot",
                   "(?i)curl/7\\.[0-9]+", "python-requests"]}})j"});
  c.push_back({"referer-restriction",
               R"j({"referer-restriction": {"whitelist": ["*.example.com", "example.org",
                   "partner.example.net"]}})j"});
  c.push_back({"uri-blocker",
               R"j({"uri-blocker": {"block_rules": ["^/admin", "\\.php$", "root\\.exe",
                   "/etc/passwd"], "case_insensitive": true}})j"});
  c.push_back({"request-id", R"j({"request-id": {}})j"});
  c.push_back({"request-id:nanoid", R"j({"request-id": {"algorithm": "nanoid"}})j"});
  c.push_back({"real-ip",
               R"j({"real-ip": {"source": "http_x_forwarded_for",
                   "trusted_addresses": ["10.0.0.0/8", "127.0.0.1"]}})j"});
  c.push_back({"client-control", R"j({"client-control": {"max_body_size": 1048576}})j"});
  c.push_back({"request-validation:headers",
               R"j({"request-validation": {"header_schema": {"type": "object",
                   "properties": {"user-agent": {"type": "string", "minLength": 1},
                                  "accept": {"type": "string"}},
                   "required": ["user-agent"]}}})j"});
  c.push_back({"prometheus", R"j({"prometheus": {}})j"});
  c.push_back({"key-auth", R"j({"key-auth": {}})j", false, true});
  c.push_back({"basic-auth", R"j({"basic-auth": {}})j", false, true});
  c.push_back({"jwt-auth:hs256", R"j({"jwt-auth": {"header": "X-Jwt"}})j", false, true});
  c.push_back({"consumer-restriction",
               R"j({"consumer-restriction": {"type": "route_id", "whitelist": ["1"]}})j"});
  return c;
}

// Prints, once, the registered plugins no case above covers, so a new
// plugin does not go unmeasured silently.
void report_uncovered() {
  static bool done = false;
  if (done) return;
  done = true;
  std::set<std::string> covered;
  for (const auto& c : cases()) {
    if (c.plugins.size() > 3) covered.insert(c.label.substr(0, c.label.find(':')));
  }
  std::string missing;
  for (const auto* info : plugins::all_plugins()) {
    if (!covered.count(info->name)) missing += " " + info->name;
  }
  if (!missing.empty()) std::fprintf(stderr, "plugins_bench: no case for:%s\n", missing.c_str());
}

void run_case(benchmark::State& state, const PluginCase& c) {
  report_uncovered();
  plugins::ChainBuilder builder;
  auto chain = build_chain(builder, c.plugins);
  if (!chain) {
    state.SkipWithError(chain.error().message.c_str());
    return;
  }
  const Plugin* plugin = nullptr;
  uint8_t phases = 0;
  if (*chain) {
    if ((*chain)->entries.size() != 1) {
      state.SkipWithError("expected exactly one plugin");
      return;
    }
    plugin = (*chain)->entries[0].plugin.get();
    phases = (*chain)->entries[0].phases;
  }
  RequestFixture f;
  f.set_route_chain(*chain);
  if (c.consumers) f.set_consumers(bench_consumers());
  proxy::RequestContext& ctx = f.ctx();
  auto has = [phases](Phase p) { return (phases & Plugin::bit(p)) != 0; };
  const bool rw = has(Phase::kRewrite), ac = has(Phase::kAccess), bp = has(Phase::kBeforeProxy);
  const bool hf = has(Phase::kHeaderFilter), bf = has(Phase::kBodyFilter), lg = has(Phase::kLog);
  int64_t answered = 0;
  for (auto _ : state) {
    f.begin_request(1);
    plugins::Step step;
    if (rw) step = plugin->rewrite(ctx);
    if (!step && ac) step = plugin->access(ctx);
    if (!step && bp) step = plugin->before_proxy(ctx);
    f.upstream_answered();
    if (step) {
      ++answered;
      ctx.status = step->status;
    }
    if (hf) plugin->header_filter(ctx);
    std::string& chunk = f.chunk();
    if (bf) plugin->body_filter(ctx, chunk, true);
    f.response_sent();
    if (lg) plugin->log(ctx);
    benchmark::DoNotOptimize(chunk.data());
    benchmark::ClobberMemory();
  }
  const int64_t expected = c.answers ? static_cast<int64_t>(state.iterations()) : 0;
  if (answered != expected) {
    const std::string why = "answered " + std::to_string(answered) + " of " +
                            std::to_string(state.iterations()) + " requests, expected " +
                            std::to_string(expected);
    state.SkipWithError(why.c_str());
  }
}

[[maybe_unused]] const bool kRegistered = [] {
  for (auto& c : cases()) {
    const std::string name = "BM_Plugin/" + c.label;
    benchmark::RegisterBenchmark(name.c_str(), [c](benchmark::State& st) { run_case(st, c); });
  }
  return true;
}();

}  // namespace
}  // namespace torii::bench

// ---- ip-restriction's list lookup at 10 vs 10,000 CIDRs --------------------
// BM_IpRestrictionLookup/<family>/<entries>: router::CidrSet (what
// ip-restriction uses: one hash probe per prefix length) over a list of
// `entries` CIDRs of three prefix lengths, probed with 1,024 addresses
// taken in turn, half in the list and half not, so neither the branch
// predictor nor the cache learns one address. BM_IpRangeLookup: the same
// lists in router::IpMatcher (sorted ranges, binary search), for reference.
// family 4: /32, /24, /28 entries in 10.0.0.0/8; family 6: /128, /64, /56
// entries in 2001:db8::/32.
#include <random>

#include "router/cidr_set.h"
#include "router/ip_matcher.h"

namespace torii::bench {
namespace {

struct IpLookupData {
  std::vector<std::string> entries;
  std::vector<boost::asio::ip::address> probes;
};

IpLookupData ip_lookup_data(int family, int n) {
  std::mt19937_64 rng(static_cast<uint64_t>(n) * 31 + static_cast<uint64_t>(family));
  IpLookupData d;
  std::vector<boost::asio::ip::address> hits;
  for (int i = 0; i < n; ++i) {
    if (family == 4) {
      const uint32_t a = 0x0a000000u | static_cast<uint32_t>(rng() & 0x00ffffff);
      const int bits = i % 3 == 0 ? 32 : (i % 3 == 1 ? 24 : 28);
      d.entries.push_back(boost::asio::ip::address_v4(a).to_string() + "/" + std::to_string(bits));
      hits.push_back(boost::asio::ip::address_v4(a));
    } else {
      boost::asio::ip::address_v6::bytes_type b{};
      b[0] = 0x20, b[1] = 0x01, b[2] = 0x0d, b[3] = 0xb8;
      for (size_t k = 4; k < 16; ++k) b[k] = static_cast<unsigned char>(rng());
      const int bits = i % 3 == 0 ? 128 : (i % 3 == 1 ? 64 : 56);
      d.entries.push_back(boost::asio::ip::address_v6(b).to_string() + "/" + std::to_string(bits));
      hits.push_back(boost::asio::ip::address_v6(b));
    }
  }
  for (int i = 0; i < 1024; ++i) {
    if (i % 2 == 0) {
      d.probes.push_back(hits[rng() % hits.size()]);
    } else if (family == 4) {
      d.probes.push_back(
          boost::asio::ip::address_v4(0xac100000u | static_cast<uint32_t>(rng() & 0xfffff)));
    } else {
      boost::asio::ip::address_v6::bytes_type b{};
      b[0] = 0x20, b[1] = 0x01, b[2] = 0x0d, b[3] = 0xb9;
      for (size_t k = 4; k < 16; ++k) b[k] = static_cast<unsigned char>(rng());
      d.probes.push_back(boost::asio::ip::address_v6(b));
    }
  }
  return d;
}

template <class Matcher>
void run_ip_lookup(benchmark::State& state) {
  const IpLookupData d =
      ip_lookup_data(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  auto m = Matcher::build(d.entries);
  if (!m) {
    state.SkipWithError(m.error().message.c_str());
    return;
  }
  size_t i = 0;
  int64_t in = 0;
  for (auto _ : state) {
    in += m->contains(d.probes[i]) ? 1 : 0;
    i = (i + 1) & 1023;
  }
  state.counters["in_list"] =
      benchmark::Counter(static_cast<double>(in) / static_cast<double>(state.iterations()));
}

void BM_IpRestrictionLookup(benchmark::State& state) { run_ip_lookup<router::CidrSet>(state); }
void BM_IpRangeLookup(benchmark::State& state) { run_ip_lookup<router::IpMatcher>(state); }

BENCHMARK(BM_IpRestrictionLookup)
    ->ArgNames({"family", "entries"})
    ->ArgsProduct({{4, 6}, {10, 10000}});
BENCHMARK(BM_IpRangeLookup)
    ->ArgNames({"family", "entries"})
    ->ArgsProduct({{4, 6}, {10, 10000}});

// anti-tamper's per-request work without I/O: parse the header set, build
// the canonical string of a POST with a 4-parameter query and 2 signed
// headers, HMAC it and hash a 1 KiB body.
void BM_AntiTamperVerify(benchmark::State& state) {
  const std::string body(1024, 'x');
  const std::string digest = plugins::signing::sha256_hex(body);
  const std::string signature(64, '0');
  const std::vector<std::string_view> names = {"content-type", "host"};
  const std::vector<std::string> values = {"application/json", "api.example.com"};
  for (auto _ : state) {
    plugins::signing::SignatureHeaders h{"jack-key", "1700000000", "4f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e",
                                         digest, "host;content-type", signature};
    plugins::signing::SignedRequest req;
    benchmark::DoNotOptimize(plugins::signing::parse_signed_request(h, req));
    plugins::signing::CanonicalRequest r{req.timestamp, req.nonce, "POST",
                                         "/api/orders?d=4&c=3&b=2&a=1", req.content_sha256,
                                         names, values};
    benchmark::DoNotOptimize(
        plugins::signing::hmac_sha256_hex("jack-secret-0123456789", plugins::signing::canonical_string(r)));
    benchmark::DoNotOptimize(plugins::signing::sha256_hex(body));
  }
}
BENCHMARK(BM_AntiTamperVerify);

// anti-replay's local store: one insert per iteration over 262,144 keys per
// thread (fresh, then replays until their 1 s TTL passes, then fresh again:
// memory stays bounded), on `threads` workers sharing the store.
void BM_AntiReplayLocalInsert(benchmark::State& state) {
  static plugins::nonce::LocalNonceStore store;
  static const auto quota = std::make_shared<plugins::nonce::NonceQuota>(100'000'000);
  std::string key = "torii:nonce:jack:" + std::to_string(state.thread_index()) + "-";
  const size_t base = key.size();
  uint64_t i = 0;
  for (auto _ : state) {
    key.resize(base);
    key += std::to_string(i++ & 0x3FFFF);
    benchmark::DoNotOptimize(store.insert(key, 1, quota));
  }
}
BENCHMARK(BM_AntiReplayLocalInsert)->Threads(1)->Threads(2);

// limit-count's local store (policy local, fixed window): every thread
// counts one key, as every worker does for a route limited by a constant
// key or by one busy client. With 2 threads the key's state moves between
// cores on every call: what the count costs a node's workers together.
void BM_LimitCountLocalOneKey(benchmark::State& state) {
  using plugins::limit_count::LocalCountStore;
  static LocalCountStore store(LocalCountStore::Window::kFixed);
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        store.incoming_now("127.0.0.1", 1'000'000'000'000, std::chrono::seconds(60), 1));
  }
}
BENCHMARK(BM_LimitCountLocalOneKey)->Threads(1)->Threads(2);

}  // namespace
}  // namespace torii::bench
