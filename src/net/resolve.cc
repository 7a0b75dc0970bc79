#include "net/resolve.h"

#include <memory>
#include <optional>
#include <utility>

namespace torii::net {

Task<Resolved> resolve_before(Executor ex, std::string host, std::string port,
                              core::Clock::time_point deadline) {
  // Shared with the lookup's handler, which may run after this coroutine
  // gave up and returned.
  struct Pending {
    explicit Pending(Executor e) : wake(e, Timer::time_point::max()), resolver(e) {}
    Timer wake;  // expires at the deadline; the lookup's handler cancels it
    TcpResolver resolver;
    std::optional<Resolved> result;
  };
  auto pending = std::make_shared<Pending>(ex);
  pending->resolver.async_resolve(
      host, port,
      [pending](const boost::system::error_code& ec, TcpResolver::results_type results) {
        Resolved r;
        r.error = ec;
        for (const auto& e : results) r.endpoints.push_back(e.endpoint());
        pending->result = std::move(r);
        pending->wake.cancel();
      });
  // The handler runs on this executor, so not before this coroutine waits.
  pending->wake.expires_at(deadline);
  co_await pending->wake.async_wait(kNoThrow);
  if (pending->result) co_return std::move(*pending->result);
  Resolved timed_out;
  timed_out.timed_out = true;
  co_return timed_out;
}

}  // namespace torii::net
