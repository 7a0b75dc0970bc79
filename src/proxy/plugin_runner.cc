#include "proxy/plugin_runner.h"

#include <spdlog/spdlog.h>

namespace torii::proxy {

using plugins::ChainEntry;
using plugins::Phase;

Chains Chains::of(const RequestContext& ctx) {
  Chains c;
  c.global = ctx.snapshot().global_plugins.get();
  c.route = ctx.route ? ctx.route->plugins.get() : nullptr;
  return c;
}

namespace {

size_t global_size(const Chains& c) { return c.global ? c.global->entries.size() : 0; }

// Sizes the per-request slots and decides, once, which entries run.
void prepare(RequestContext& ctx, const Chains& c) {
  if (ctx.plugins_prepared) return;
  ctx.plugins_prepared = true;
  const size_t g = global_size(c);
  const size_t n = g + (c.route ? c.route->entries.size() : 0);
  ctx.plugin_states.resize(n);
  ctx.plugin_skip.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const ChainEntry& e = i < g ? c.global->entries[i] : c.route->entries[i - g];
    if (i < g && e.info->prefer_route && c.route && c.route->contains(e.info->name)) {
      ctx.plugin_skip[i] = 1;
    } else if (e.filter && !e.filter->eval(ctx)) {
      ctx.plugin_skip[i] = 1;
    }
  }
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
      if (!(e.phases & bit) || ctx.plugin_skip[i]) continue;
      ctx.plugin_slot = i;
      if (fn(e)) return true;
    }
    slot = g;
  }
  return false;
}

void take_exit(RequestContext& ctx, const ChainEntry& e, plugins::Exit exit) {
  if (exit.status >= 400 && e.has_error_response) {
    exit.body = e.error_response;
    exit.content_type.clear();
  }
  ctx.exit = std::move(exit);
}

// One request phase; a coroutine only because some plugins are asynchronous.
net::Task<bool> run_phase(RequestContext& ctx, Chains c, Phase phase) {
  const uint8_t bit = plugins::Plugin::bit(phase);
  const size_t g = global_size(c);
  size_t slot = 0;
  for (const plugins::PluginChain* chain : {c.global, c.route}) {
    if (!chain) continue;
    for (const ChainEntry& e : chain->entries) {
      const size_t i = slot++;
      if (!(e.phases & bit) || ctx.plugin_skip[i]) continue;
      ctx.plugin_slot = i;
      plugins::Step step;
      // No co_await inside ?: or &&: GCC 12 miscompiles them.
      if (e.plugin->is_async(phase) && phase == Phase::kRewrite) {
        step = co_await e.plugin->rewrite_async(ctx);
      } else if (e.plugin->is_async(phase)) {
        step = co_await e.plugin->access_async(ctx);
      } else if (phase == Phase::kRewrite) {
        step = e.plugin->rewrite(ctx);
      } else if (phase == Phase::kAccess) {
        step = e.plugin->access(ctx);
      } else {
        step = e.plugin->before_proxy(ctx);
      }
      if (step) {
        take_exit(ctx, e, std::move(*step));
        co_return true;
      }
    }
    slot = g;
  }
  co_return false;
}

}  // namespace

bool needs_request_phases(const Chains& c) {
  return c.has(Phase::kRewrite) || c.has(Phase::kAccess);
}

net::Task<bool> run_request_phases(RequestContext& ctx, Chains c) {
  prepare(ctx, c);
  bool answered = false;
  if (c.has(Phase::kRewrite)) answered = co_await run_phase(ctx, c, Phase::kRewrite);
  if (answered) co_return true;
  if (c.has(Phase::kAccess)) answered = co_await run_phase(ctx, c, Phase::kAccess);
  co_return answered;
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
