// Runs the plugin phases of one request over the snapshot's global chain
// and the matched route's chain (global entries first in every phase, each
// chain in its priority order). The session calls these at fixed points of
// the data path (http_session.cc, upstream_exchange.cc):
//   run_request_phases  after routing (or with no route, before the 404):
//                       rewrite then access of every entry; stops at the
//                       first Exit, which it stores in ctx.exit
//   run_before_proxy    before the first upstream attempt
//   run_header_filter   on the response head, upstream's or local
//   run_body_filter     on each piece of a proxied body
//   run_log             after the response, before the access log
// Entries whose `_meta.filter` does not match (evaluated once, on first
// use) and global prefer_route entries the route also has are skipped.
// Every function is a no-op, without a coroutine frame or allocation, when
// no entry implements the phase.
#pragma once

#include <string>

#include "config/snapshot.h"
#include "plugins/plugin_chain.h"
#include "proxy/request_context.h"

namespace torii::proxy {

// The chains a request runs: the snapshot's global chain and its route's.
struct Chains {
  const plugins::PluginChain* global = nullptr;
  const plugins::PluginChain* route = nullptr;

  static Chains of(const RequestContext& ctx);
  bool has(plugins::Phase p) const {
    return (global && global->has(p)) || (route && route->has(p));
  }
};

bool needs_request_phases(const Chains& chains);
// Runs rewrite then access. True when a plugin answered (ctx.exit is set).
net::Task<bool> run_request_phases(RequestContext& ctx, Chains chains);
// The same in two steps, so that the common case runs no coroutine:
// run_request_phases_now() runs the phases synchronously up to the first
// plugin that works asynchronously (a Redis-backed limit, forward-auth);
// then, and only then, finish_request_phases() runs the rest from there.
// Every plugin runs once, in the order run_request_phases() would run it.
enum class PhasesNow : uint8_t {
  kAnswered,  // a plugin answered (ctx.exit is set)
  kPassed,    // every plugin ran; the request goes on
  kSuspend,   // call finish_request_phases()
};
PhasesNow run_request_phases_now(RequestContext& ctx, Chains chains);
// Continues with the chains of `ctx` (Chains::of(ctx): the route's, or the
// consumer's once joined), which must be the ones run_request_phases_now()
// was given: the slot it stopped at indexes them.
net::Task<bool> finish_request_phases(RequestContext& ctx);
// before_proxy: may answer too (ctx.exit).
net::Task<bool> run_before_proxy(RequestContext& ctx, Chains chains);
void run_header_filter(RequestContext& ctx, const Chains& chains);
void run_body_filter(RequestContext& ctx, const Chains& chains, std::string& chunk, bool last);
void run_log(RequestContext& ctx, const Chains& chains);

}  // namespace torii::proxy
