#include "net/resolve.h"

#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace torii::net {

namespace {

// One lookup of a name, shared by every caller on this thread that asks for
// the same name while it runs: callers that gave up do not leave lookups
// queued behind them, so a name server that stops answering costs one
// pending lookup per name, not one per request.
struct Lookup {
  explicit Lookup(Executor e) : resolver(e) {}
  TcpResolver resolver;
  std::optional<Resolved> result;
  std::vector<std::weak_ptr<Timer>> waiters;  // woken by the answer
};

// Keyed by host and port. Per thread: a lookup's handler runs on its
// executor's thread, the caller's (one thread per io_context).
thread_local std::unordered_map<std::string, std::shared_ptr<Lookup>> t_in_flight;

}  // namespace

Task<Resolved> resolve_before(Executor ex, std::string host, std::string port,
                              core::Clock::time_point deadline) {
  std::string key = host + '\n' + port;
  std::shared_ptr<Lookup>& slot = t_in_flight[key];
  if (!slot) {
    slot = std::make_shared<Lookup>(ex);
    slot->resolver.async_resolve(
        host, port,
        [lookup = slot, key = std::move(key)](const boost::system::error_code& ec,
                                              TcpResolver::results_type results) {
          Resolved r;
          r.error = ec;
          for (const auto& e : results) r.endpoints.push_back(e.endpoint());
          lookup->result = std::move(r);
          if (auto it = t_in_flight.find(key); it != t_in_flight.end() && it->second == lookup) {
            t_in_flight.erase(it);
          }
          for (const auto& w : lookup->waiters) {
            if (auto timer = w.lock()) timer->cancel();
          }
          lookup->waiters.clear();
        });
  }
  const std::shared_ptr<Lookup> lookup = slot;
  // Expires at the deadline unless the answer cancels it first (the handler
  // runs on this executor, so not before this coroutine waits).
  auto wake = std::make_shared<Timer>(ex, deadline);
  lookup->waiters.push_back(wake);
  co_await wake->async_wait(kNoThrow);
  if (lookup->result) co_return *lookup->result;
  Resolved timed_out;
  timed_out.timed_out = true;
  co_return timed_out;
}

}  // namespace torii::net
