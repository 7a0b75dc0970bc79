// Router::match cost for an exact hit, a prefix hit, a host-route hit and a
// miss, with 10 and with 100,000 routes: the figures should stay flat as
// the route count grows. Prints figures only.
#include <benchmark/benchmark.h>

#include <boost/asio/ip/address.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "router/router.h"

namespace torii::router {
namespace {

// n routes: 50% exact paths, 40% prefix paths, 10% prefix paths under a
// host (1,000 distinct hosts, some wildcards). Route i gets index i.
std::vector<RouteSpec> make_routes(int n) {
  std::vector<RouteSpec> routes;
  routes.reserve(n);
  for (int i = 0; i < n; ++i) {
    RouteSpec r;
    r.index = static_cast<uint32_t>(i);
    std::string id = std::to_string(i);
    switch (i % 10) {
      case 0:
      case 1:
      case 2:
      case 3:
      case 4:
        r.uris = {"/api/v1/svc" + id + "/items"};
        break;
      case 9:
        r.uris = {"/host/" + id + "/*"};
        r.hosts = {(i % 20 == 19 ? "*.w" : "h") + std::to_string(i % 1000) + ".example.com"};
        break;
      default:
        r.uris = {"/api/v1/svc" + id + "/*"};
        break;
    }
    routes.push_back(std::move(r));
  }
  return routes;
}

const Router& router_with(int n) {
  static std::map<int, std::unique_ptr<Router>> cache;
  auto& slot = cache[n];
  if (!slot) {
    auto routes = make_routes(n);
    slot = std::move(Router::build(RouterKind::kRadixtreeHostUri, routes).value());
  }
  return *slot;
}

void run(benchmark::State& state, const std::string& path, const std::string& host,
         bool expect_hit) {
  const Router& router = router_with(static_cast<int>(state.range(0)));
  MatchRequest req;
  req.path = path;
  req.host = host;
  req.host_header = host;
  req.remote_addr = boost::asio::ip::make_address("127.0.0.1");
  Match out;
  if (router.match(req, out) != expect_hit) {
    state.SkipWithError("unexpected match result");
    return;
  }
  for (auto _ : state) {
    bool hit = router.match(req, out);
    benchmark::DoNotOptimize(hit);
    benchmark::DoNotOptimize(out.index);
  }
}

// Targets sit in the middle of the route list for each size.
std::string mid(int n, int residue) {
  int i = (n / 20) * 10 + residue;
  return std::to_string(i);
}

void BM_RouterExactHit(benchmark::State& state) {
  int n = static_cast<int>(state.range(0));
  run(state, "/api/v1/svc" + mid(n, 2) + "/items", "example.com", true);
}

void BM_RouterPrefixHit(benchmark::State& state) {
  int n = static_cast<int>(state.range(0));
  run(state, "/api/v1/svc" + mid(n, 7) + "/deep/path/x", "example.com", true);
}

void BM_RouterHostPrefixHit(benchmark::State& state) {
  int n = static_cast<int>(state.range(0));
  int i = (n / 20) * 10 + 9;
  run(state, "/host/" + std::to_string(i) + "/x", "h" + std::to_string(i % 1000) + ".example.com",
      true);
}

void BM_RouterMiss(benchmark::State& state) {
  run(state, "/nothing/here/at/all", "example.com", false);
}

BENCHMARK(BM_RouterExactHit)->Arg(10)->Arg(100000);
BENCHMARK(BM_RouterPrefixHit)->Arg(10)->Arg(100000);
BENCHMARK(BM_RouterHostPrefixHit)->Arg(10)->Arg(100000);
BENCHMARK(BM_RouterMiss)->Arg(10)->Arg(100000);

}  // namespace
}  // namespace torii::router
