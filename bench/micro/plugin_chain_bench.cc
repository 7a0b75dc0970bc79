// Cost of the plugin machinery per request, through the real runner
// (proxy/plugin_runner.h) driven the way the session drives it: request
// phases after routing, before_proxy, header_filter on the upstream's head,
// body_filter on one 1 KiB piece, log after the response. No sockets: the
// loop is one coroutine on an io_context, as a worker runs it.
//
//   BM_Chain/none                        route without plugins (the runner
//                                        is skipped, as the session does)
//   BM_Chain/limit-count+prometheus      bench/run's plugin scenario
//   BM_ChainDirect/limit-count+prometheus  the same two plugins, phases
//                                        called directly: the difference
//                                        to the runner is its own overhead
//   BM_Chain/api-route                   request-id, cors, limit-count,
//                                        proxy-rewrite, prometheus
#include <benchmark/benchmark.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <string>

#include "plugin_bench_fixture.h"
#include "proxy/plugin_runner.h"

namespace torii::bench {
namespace {

using plugins::Phase;

constexpr const char* kLimitCountPrometheus = R"({
  "limit-count": {"count": 1000000000, "time_window": 60, "key_type": "var",
                  "key": "remote_addr", "policy": "local", "rejected_code": 503},
  "prometheus": {}})";

constexpr const char* kApiRoute = R"({
  "request-id": {},
  "cors": {"allow_origins": "https://app.example.com", "allow_methods": "GET,POST"},
  "limit-count": {"count": 1000000000, "time_window": 60, "key_type": "var",
                  "key": "remote_addr", "policy": "local", "rejected_code": 503},
  "proxy-rewrite": {"uri": "/v2/items", "headers": {"set": {"X-Api-Version": "v2"}}},
  "prometheus": {}})";

// One request per iteration, as HttpSession / UpstreamExchange call the runner.
net::Task<void> session_loop(benchmark::State* state, RequestFixture* f, int64_t* answered) {
  for (auto _ : *state) {
    f->begin_request(0);
    proxy::RequestContext& ctx = f->ctx();
    const proxy::Chains chains = proxy::Chains::of(ctx);
    // No co_await inside a condition (GCC 12), as in the session.
    bool exit = false;
    if (proxy::needs_request_phases(chains)) exit = co_await proxy::run_request_phases(ctx, chains);
    if (!exit && chains.has(Phase::kBeforeProxy)) {
      exit = co_await proxy::run_before_proxy(ctx, chains);
    }
    if (exit) ++*answered;
    f->upstream_answered();
    if (chains.has(Phase::kHeaderFilter)) proxy::run_header_filter(ctx, chains);
    std::string& chunk = f->chunk();
    if (chains.has(Phase::kBodyFilter)) proxy::run_body_filter(ctx, chains, chunk, true);
    f->response_sent();
    if (ctx.status != 0) proxy::run_log(ctx, chains);
    benchmark::DoNotOptimize(chunk.data());
    benchmark::ClobberMemory();
  }
}

void run_chain(benchmark::State& state, const std::string& plugins_json) {
  plugins::ChainBuilder builder;
  auto chain = build_chain(builder, plugins_json);
  if (!chain) {
    state.SkipWithError(chain.error().message.c_str());
    return;
  }
  RequestFixture f;
  f.set_route_chain(*chain);
  int64_t answered = 0;
  bool failed = false;
  boost::asio::io_context io;
  boost::asio::co_spawn(io, session_loop(&state, &f, &answered),
                        [&failed](std::exception_ptr e) { failed = e != nullptr; });
  io.run();
  if (failed) state.SkipWithError("the request loop threw");
  if (answered > 0) state.SkipWithError("a plugin answered early");
}

void BM_ChainNone(benchmark::State& state) { run_chain(state, "{}"); }
void BM_ChainLimitCountPrometheus(benchmark::State& state) {
  run_chain(state, kLimitCountPrometheus);
}
void BM_ChainApiRoute(benchmark::State& state) { run_chain(state, kApiRoute); }

// The same chain without the runner: each entry's phases called in order.
void BM_ChainDirectLimitCountPrometheus(benchmark::State& state) {
  plugins::ChainBuilder builder;
  auto chain = build_chain(builder, kLimitCountPrometheus);
  if (!chain || !*chain) {
    state.SkipWithError(chain ? "empty chain" : chain.error().message.c_str());
    return;
  }
  const auto& entries = (*chain)->entries;
  RequestFixture f;
  f.set_route_chain(*chain);
  proxy::RequestContext& ctx = f.ctx();
  auto runs = [](const plugins::ChainEntry& e, Phase p) {
    return (e.phases & plugins::Plugin::bit(p)) != 0;
  };
  int64_t answered = 0;
  for (auto _ : state) {
    f.begin_request(entries.size());
    plugins::Step step;
    for (size_t i = 0; i < entries.size() && !step; ++i) {
      ctx.plugin_slot = i;
      if (runs(entries[i], Phase::kRewrite)) step = entries[i].plugin->rewrite(ctx);
    }
    for (size_t i = 0; i < entries.size() && !step; ++i) {
      ctx.plugin_slot = i;
      if (runs(entries[i], Phase::kAccess)) step = entries[i].plugin->access(ctx);
    }
    if (step) ++answered;
    f.upstream_answered();
    for (size_t i = 0; i < entries.size(); ++i) {
      ctx.plugin_slot = i;
      if (runs(entries[i], Phase::kHeaderFilter)) entries[i].plugin->header_filter(ctx);
    }
    std::string& chunk = f.chunk();
    f.response_sent();
    for (size_t i = 0; i < entries.size(); ++i) {
      ctx.plugin_slot = i;
      if (runs(entries[i], Phase::kLog)) entries[i].plugin->log(ctx);
    }
    benchmark::DoNotOptimize(chunk.data());
    benchmark::ClobberMemory();
  }
  if (answered > 0) state.SkipWithError("a plugin answered early");
}

BENCHMARK(BM_ChainNone)->Name("BM_Chain/none");
BENCHMARK(BM_ChainLimitCountPrometheus)->Name("BM_Chain/limit-count+prometheus");
BENCHMARK(BM_ChainDirectLimitCountPrometheus)->Name("BM_ChainDirect/limit-count+prometheus");
BENCHMARK(BM_ChainApiRoute)->Name("BM_Chain/api-route");

}  // namespace
}  // namespace torii::bench
