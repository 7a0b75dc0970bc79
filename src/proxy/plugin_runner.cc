#include "proxy/plugin_runner.h"

#include <spdlog/spdlog.h>

#include <optional>

namespace torii::proxy {

using plugins::ChainEntry;
using plugins::Phase;

Chains Chains::of(const RequestContext& ctx) {
  Chains c;
  c.global = ctx.snapshot().global_plugins.get();
  if (ctx.answered_by_global_rewrite) {
    // APISIX picks the route's plugins after the global rules' rewrite: a
    // global rule that answered there leaves none of them to run.
    c.route = nullptr;
  } else if (ctx.consumer_chain) {
    c.route = ctx.consumer_chain->chain.get();
  } else {
    c.route = ctx.route ? ctx.route->plugins.get() : nullptr;
  }
  return c;
}

namespace {

size_t global_size(const Chains& c) { return c.global ? c.global->entries.size() : 0; }

// plugin_skip values: the entry runs, is skipped, or has a _meta.filter
// not evaluated yet.
constexpr uint8_t kRuns = 0;
constexpr uint8_t kSkipped = 1;
constexpr uint8_t kFilterPending = 2;

uint8_t initial_skip(const ChainEntry& e) { return e.filter ? kFilterPending : kRuns; }

// Sizes the per-request slots and marks the entries prefer_route removes
// and those with a filter to evaluate.
void prepare(RequestContext& ctx, const Chains& c) {
  if (ctx.plugins_prepared) return;
  ctx.plugins_prepared = true;
  const size_t g = global_size(c);
  const size_t n = g + (c.route ? c.route->entries.size() : 0);
  ctx.plugin_states.resize(n);
  ctx.plugin_skip.assign(n, kRuns);
  for (size_t i = 0; i < n; ++i) {
    const ChainEntry& e = i < g ? c.global->entries[i] : c.route->entries[i - g];
    if (i < g && e.info->prefer_route && c.route && c.route->contains(e.info->name)) {
      ctx.plugin_skip[i] = kSkipped;
    } else {
      ctx.plugin_skip[i] = initial_skip(e);
    }
  }
}

// Whether entry `i` (`e`) is skipped in this request. Its _meta.filter is
// evaluated the first time one of its phases comes up, and the answer kept
// for the request (APISIX's meta_filter): it sees what the plugins before it
// set, such as $consumer_name after authentication or $remote_addr after
// real-ip.
bool skipped(RequestContext& ctx, const ChainEntry& e, size_t i) {
  uint8_t& s = ctx.plugin_skip[i];
  if (s == kFilterPending) s = e.filter->eval(ctx) ? kRuns : kSkipped;
  return s == kSkipped;
}

// Calls `fn(entry)` for every entry implementing `phase`, in order, with
// ctx.plugin_slot set; stops when fn returns true.
template <class Fn>
bool for_each(RequestContext& ctx, const Chains& c, Phase phase, Fn&& fn) {
  const uint8_t bit = plugins::Plugin::bit(phase);
  const size_t g = global_size(c);
  size_t slot = 0;
  for (const plugins::PluginChain* chain : {c.global, c.route}) {
    if (!chain) continue;
    for (const ChainEntry& e : chain->entries) {
      const size_t i = slot++;
      if (!(e.phases & bit) || skipped(ctx, e, i)) continue;
      ctx.plugin_slot = i;
      if (fn(e)) return true;
    }
    slot = g;
  }
  return false;
}

// Entry `i` of `c` (global ones first) answered in `phase`.
void take_exit(RequestContext& ctx, const Chains& c, size_t i, Phase phase, const ChainEntry& e,
               plugins::Exit exit) {
  if (exit.status >= 400 && e.has_error_response) {
    exit.body = e.error_response;
    exit.content_type.clear();
  }
  ctx.exit = std::move(exit);
  if (phase == Phase::kRewrite && i < global_size(c)) ctx.answered_by_global_rewrite = true;
}

// Whether entry `i` (`e`) runs in `phase`. With `only_consumer` set, only the
// route-chain entries a consumer brought run (APISIX "rewrite_in_consumer").
bool runs_in(RequestContext& ctx, const ChainEntry& e, size_t i, size_t g, uint8_t bit,
             bool only_consumer) {
  if (!(e.phases & bit)) return false;
  if (only_consumer && (i < g || ctx.consumer_chain->route_index[i - g] >= 0 ||
                        ctx.consumer_chain->replaced_index[i - g] >= 0)) {
    return false;
  }
  return !skipped(ctx, e, i);
}

const ChainEntry& entry_at(const Chains& c, size_t i, size_t g) {
  return i < g ? c.global->entries[i] : c.route->entries[i - g];
}

size_t chain_size(const Chains& c) {
  return global_size(c) + (c.route ? c.route->entries.size() : 0);
}

// A synchronous plugin's step in a request phase.
std::optional<plugins::Exit> run_step(RequestContext& ctx, const ChainEntry& e, Phase phase) {
  if (phase == Phase::kRewrite) return e.plugin->rewrite(ctx);
  if (phase == Phase::kAccess) return e.plugin->access(ctx);
  return e.plugin->before_proxy(ctx);
}

// One request phase from chain slot `from`, synchronously. Stops at an
// asynchronous entry (kSuspend, its slot in `stopped_at`) before running it.
PhasesNow run_phase_now(RequestContext& ctx, const Chains& c, Phase phase, bool only_consumer,
                        size_t from, size_t& stopped_at) {
  const uint8_t bit = plugins::Plugin::bit(phase);
  const size_t g = global_size(c);
  const size_t n = chain_size(c);
  for (size_t i = from; i < n; ++i) {
    const ChainEntry& e = entry_at(c, i, g);
    if (!runs_in(ctx, e, i, g, bit, only_consumer)) continue;
    if (e.plugin->is_async(phase)) {
      stopped_at = i;
      return PhasesNow::kSuspend;
    }
    ctx.plugin_slot = i;
    if (auto exit = run_step(ctx, e, phase)) {
      take_exit(ctx, c, i, phase, e, std::move(*exit));
      return PhasesNow::kAnswered;
    }
  }
  return PhasesNow::kPassed;
}

// One request phase from chain slot `from`: the synchronous entries through
// run_phase_now(), each asynchronous one awaited where it stopped.
net::Task<bool> run_phase(RequestContext& ctx, Chains c, Phase phase, bool only_consumer = false,
                          size_t from = 0) {
  const size_t g = global_size(c);
  for (;;) {
    size_t at = 0;
    const PhasesNow now = run_phase_now(ctx, c, phase, only_consumer, from, at);
    if (now != PhasesNow::kSuspend) co_return now == PhasesNow::kAnswered;
    const ChainEntry& e = entry_at(c, at, g);
    ctx.plugin_slot = at;
    plugins::Step step;
    // No co_await inside ?: or &&: GCC 12 miscompiles them.
    if (phase == Phase::kRewrite) {
      step = co_await e.plugin->rewrite_async(ctx);
    } else {
      step = co_await e.plugin->access_async(ctx);
    }
    if (step) {
      take_exit(ctx, c, at, phase, e, std::move(*step));
      co_return true;
    }
    from = at + 1;
  }
}

// An auth plugin identified a consumer with plugins of its own: the request
// switches to the route chain with those plugins overlaid (APISIX
// merge_consumer_route), keeping the per-request state and filter results of
// the entries it already had. Returns the chains to run from now on.
Chains join_consumer_plugins(RequestContext& ctx, Chains c) {
  ctx.consumer_changed = false;
  if (!ctx.consumer_ref || !ctx.consumer_ref->plugins || ctx.consumer_chain) return c;
  const plugins::PluginChain* route = ctx.route ? ctx.route->plugins.get() : nullptr;
  auto merged = ctx.consumers().merged(route, *ctx.consumer_ref);
  const size_t g = global_size(c);
  const size_t n = g + merged->chain->entries.size();
  std::vector<std::unique_ptr<plugins::RequestState>> states(n);
  std::vector<uint8_t> skip(n, 0);
  for (size_t i = 0; i < g; ++i) {
    states[i] = std::move(ctx.plugin_states[i]);
    skip[i] = ctx.plugin_skip[i];
    // prefer_route (prometheus) is decided against the chain that runs now:
    // a copy the consumer brings counts as the route's.
    const ChainEntry& e = c.global->entries[i];
    if (e.info->prefer_route && merged->chain->contains(e.info->name)) skip[i] = kSkipped;
  }
  for (size_t j = 0; j < merged->route_index.size(); ++j) {
    const int r = merged->route_index[j];
    const int replaced = merged->replaced_index[j];
    if (r >= 0) {
      states[g + j] = std::move(ctx.plugin_states[g + static_cast<size_t>(r)]);
      skip[g + j] = ctx.plugin_skip[g + static_cast<size_t>(r)];
    } else {
      // A consumer's copy of a route plugin takes over what the route's copy
      // kept for this request; its own _meta.filter decides for itself.
      if (replaced >= 0) states[g + j] = std::move(ctx.plugin_states[g + static_cast<size_t>(replaced)]);
      skip[g + j] = initial_skip(merged->chain->entries[j]);
    }
  }
  ctx.plugin_states = std::move(states);
  ctx.plugin_skip = std::move(skip);
  ctx.consumer_chain = std::move(merged);
  c.route = ctx.consumer_chain->chain.get();
  return c;
}

// The request phases run in stages; a stopped run resumes at its stage
// (ctx.phases_stage) and slot (ctx.phases_slot).
enum Stage : uint8_t {
  kStageRewrite,          // rewrite, every entry
  kStageConsumerRewrite,  // the consumer's plugins joined: their rewrite
  kStageAccess,           // access, every entry
};

// Joins the consumer's plugins when an auth plugin attached a consumer that
// has some; true when their rewrite must run.
bool join_consumer(RequestContext& ctx, Chains& c) {
  if (!ctx.consumer_changed) return false;
  c = join_consumer_plugins(ctx, c);
  return ctx.consumer_chain && c.has(Phase::kRewrite);
}

}  // namespace

bool needs_request_phases(const Chains& c) {
  return c.has(Phase::kRewrite) || c.has(Phase::kAccess);
}

PhasesNow run_request_phases_now(RequestContext& ctx, Chains c) {
  prepare(ctx, c);
  size_t stopped_at = 0;
  PhasesNow r = PhasesNow::kPassed;
  if (c.has(Phase::kRewrite)) {
    r = run_phase_now(ctx, c, Phase::kRewrite, false, 0, stopped_at);
    if (r == PhasesNow::kSuspend) ctx.phases_stage = kStageRewrite;
  }
  if (r == PhasesNow::kPassed && join_consumer(ctx, c)) {
    r = run_phase_now(ctx, c, Phase::kRewrite, true, 0, stopped_at);
    if (r == PhasesNow::kSuspend) ctx.phases_stage = kStageConsumerRewrite;
  }
  if (r == PhasesNow::kPassed && c.has(Phase::kAccess)) {
    r = run_phase_now(ctx, c, Phase::kAccess, false, 0, stopped_at);
    if (r == PhasesNow::kSuspend) ctx.phases_stage = kStageAccess;
  }
  if (r == PhasesNow::kSuspend) ctx.phases_slot = stopped_at;
  return r;
}

net::Task<bool> finish_request_phases(RequestContext& ctx) {
  // The chains as they are now: the consumer's, if one was joined.
  Chains c = Chains::of(ctx);
  const uint8_t stage = ctx.phases_stage;
  const size_t from = ctx.phases_slot;
  bool answered = false;
  if (stage == kStageRewrite) {
    answered = co_await run_phase(ctx, c, Phase::kRewrite, false, from);
    if (answered) co_return true;
    if (join_consumer(ctx, c)) answered = co_await run_phase(ctx, c, Phase::kRewrite, true);
    if (answered) co_return true;
  } else if (stage == kStageConsumerRewrite) {
    answered = co_await run_phase(ctx, c, Phase::kRewrite, true, from);
    if (answered) co_return true;
  }
  if (c.has(Phase::kAccess)) {
    answered = co_await run_phase(ctx, c, Phase::kAccess, false, stage == kStageAccess ? from : 0);
  }
  co_return answered;
}

net::Task<bool> run_request_phases(RequestContext& ctx, Chains c) {
  const PhasesNow now = run_request_phases_now(ctx, c);
  if (now == PhasesNow::kSuspend) co_return co_await finish_request_phases(ctx);
  co_return now == PhasesNow::kAnswered;
}

net::Task<bool> run_before_proxy(RequestContext& ctx, Chains c) {
  prepare(ctx, c);
  const bool answered = co_await run_phase(ctx, c, Phase::kBeforeProxy);
  co_return answered;
}

void run_header_filter(RequestContext& ctx, const Chains& c) {
  if (!c.has(Phase::kHeaderFilter)) return;
  prepare(ctx, c);
  for_each(ctx, c, Phase::kHeaderFilter, [&](const ChainEntry& e) {
    e.plugin->header_filter(ctx);
    return false;
  });
}

void run_body_filter(RequestContext& ctx, const Chains& c, std::string& chunk, bool last) {
  if (!c.has(Phase::kBodyFilter)) return;
  prepare(ctx, c);
  for_each(ctx, c, Phase::kBodyFilter, [&](const ChainEntry& e) {
    e.plugin->body_filter(ctx, chunk, last);
    return false;
  });
}

void run_log(RequestContext& ctx, const Chains& c) {
  if (!c.has(Phase::kLog)) return;
  prepare(ctx, c);
  for_each(ctx, c, Phase::kLog, [&](const ChainEntry& e) {
    e.plugin->log(ctx);
    return false;
  });
}

}  // namespace torii::proxy
