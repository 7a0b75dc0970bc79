// Cost of one balancer pick per algorithm, for a small (3) and a large (100)
// upstream. least_conn and ewma include their on_start/on_finish bookkeeping,
// since every real request pays it.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "upstream/balancer.h"

namespace torii::upstream {
namespace {

std::vector<NodeSpec> bench_nodes(int64_t count, int priorities = 1) {
  std::vector<NodeSpec> nodes;
  for (int64_t i = 0; i < count; ++i) {
    nodes.push_back(NodeSpec{"10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1),
                             8080, static_cast<int>(i % 5 + 1), static_cast<int>(i % priorities)});
  }
  return nodes;
}

void run_picks(benchmark::State& state, BalancerType type, int priorities = 1) {
  auto nodes = bench_nodes(state.range(0), priorities);
  auto lb = make_balancer(type, nodes);
  ExcludeSet none(nodes.size());
  for (auto _ : state) benchmark::DoNotOptimize(lb->pick("", none));
}

void BM_LbRoundRobin(benchmark::State& state) { run_picks(state, BalancerType::kRoundRobin); }
BENCHMARK(BM_LbRoundRobin)->Arg(3)->Arg(100);

void BM_LbRoundRobinPriorityGroups(benchmark::State& state) {
  run_picks(state, BalancerType::kRoundRobin, 2);
}
BENCHMARK(BM_LbRoundRobinPriorityGroups)->Arg(3)->Arg(100);

void BM_LbChash(benchmark::State& state) {
  auto nodes = bench_nodes(state.range(0));
  auto lb = make_balancer(BalancerType::kChash, nodes);
  std::vector<std::string> keys;
  for (int k = 0; k < 1024; ++k)
    keys.push_back("192.168." + std::to_string(k / 256) + "." + std::to_string(k % 256));
  ExcludeSet none(nodes.size());
  size_t k = 0;
  for (auto _ : state) benchmark::DoNotOptimize(lb->pick(keys[k++ & 1023], none));
}
BENCHMARK(BM_LbChash)->Arg(3)->Arg(100);

void BM_LbChashRetry(benchmark::State& state) {
  auto nodes = bench_nodes(state.range(0));
  auto lb = make_balancer(BalancerType::kChash, nodes);
  ExcludeSet tried(nodes.size());
  tried.add(static_cast<size_t>(lb->pick("192.168.0.1", tried)));
  for (auto _ : state) benchmark::DoNotOptimize(lb->pick("192.168.0.1", tried));
}
BENCHMARK(BM_LbChashRetry)->Arg(3)->Arg(100);

void BM_LbLeastConn(benchmark::State& state) {
  auto nodes = bench_nodes(state.range(0));
  auto lb = make_balancer(BalancerType::kLeastConn, nodes);
  ExcludeSet none(nodes.size());
  // Keep a few requests in flight so scores differ, as under load.
  std::vector<int> inflight(8, -1);
  size_t slot = 0;
  for (auto _ : state) {
    int i = lb->pick("", none);
    lb->on_start(i);
    if (inflight[slot] >= 0) lb->on_finish(inflight[slot], std::chrono::milliseconds(1), false);
    inflight[slot] = i;
    slot = (slot + 1) & 7;
  }
}
BENCHMARK(BM_LbLeastConn)->Arg(3)->Arg(100);

void BM_LbEwma(benchmark::State& state) {
  auto nodes = bench_nodes(state.range(0));
  auto lb = make_balancer(BalancerType::kEwma, nodes);
  ExcludeSet none(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    lb->on_finish(static_cast<int>(i),
                  std::chrono::microseconds(500 + 10 * static_cast<int64_t>(i)), false);
  }
  for (auto _ : state) {
    int i = lb->pick("", none);
    lb->on_start(i);
    lb->on_finish(i, std::chrono::microseconds(700), false);
  }
}
BENCHMARK(BM_LbEwma)->Arg(3)->Arg(100);

}  // namespace
}  // namespace torii::upstream
