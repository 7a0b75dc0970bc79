#include "net/resolve.h"

#include <netdb.h>
#include <sys/socket.h>

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "net/lookup_pool.h"

namespace torii::net {

namespace {

namespace asio = boost::asio;

// getaddrinfo's EAI_* as the error codes asio's resolver reports.
boost::system::error_code lookup_error(int rc) {
  switch (rc) {
    case EAI_NONAME:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
      return asio::error::host_not_found;
    case EAI_AGAIN: return asio::error::host_not_found_try_again;
    case EAI_SERVICE: return asio::error::service_not_found;
    case EAI_FAMILY: return asio::error::address_family_not_supported;
    case EAI_SOCKTYPE: return asio::error::socket_type_not_supported;
    case EAI_MEMORY: return asio::error::no_memory;
    case EAI_SYSTEM: return {errno, boost::system::system_category()};
    default: return asio::error::no_recovery;
  }
}

Resolved blocking_lookup(const std::string& host, const std::string& port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* list = nullptr;
  Resolved r;
  const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &list);
  if (rc != 0) {
    r.error = lookup_error(rc);
    return r;
  }
  for (const addrinfo* a = list; a != nullptr; a = a->ai_next) {
    if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
    asio::ip::tcp::endpoint ep;
    std::memcpy(ep.data(), a->ai_addr, a->ai_addrlen);
    r.endpoints.push_back(ep);
  }
  ::freeaddrinfo(list);
  if (r.endpoints.empty()) r.error = asio::error::host_not_found;
  return r;
}

// Where a lookup thread delivers answers for one io_context. The io_context
// may be shut down while a lookup still runs (a stuck name at SIGTERM):
// its shutdown closes the gate, and a later answer is dropped instead of
// being posted to a destroyed io_context.
class LookupInbox : public asio::execution_context::service {
 public:
  using key_type = LookupInbox;
  static inline asio::execution_context::id id;

  struct Gate {
    std::mutex mu;
    std::optional<Executor> ex;  // empty once the io_context shut down
  };

  explicit LookupInbox(asio::execution_context& ctx)
      : asio::execution_context::service(ctx), gate_(std::make_shared<Gate>()) {
    gate_->ex = static_cast<asio::io_context&>(ctx).get_executor();
  }
  std::shared_ptr<Gate> gate() const { return gate_; }

 private:
  void shutdown() override {
    std::lock_guard lock(gate_->mu);
    gate_->ex.reset();
  }
  std::shared_ptr<Gate> gate_;
};

// One lookup of a name, shared by every caller on this thread that asks for
// the same name while it runs: callers that gave up do not leave lookups
// queued behind them, so a name server that stops answering costs one
// pending lookup per name, not one per request.
struct Lookup {
  std::optional<Resolved> result;
  std::vector<std::weak_ptr<Timer>> waiters;  // woken by the answer
};

// Keyed by host and port. Per thread: the answer is handled on the
// caller's executor, the caller's thread (one thread per io_context).
thread_local std::unordered_map<std::string, std::shared_ptr<Lookup>> t_in_flight;

}  // namespace

Task<Resolved> resolve_before(Executor ex, std::string host, std::string port,
                              core::Clock::time_point deadline) {
  std::string key = host + '\n' + port;
  std::shared_ptr<Lookup>& slot = t_in_flight[key];
  if (!slot) {
    slot = std::make_shared<Lookup>();
    // Runs on `ex` (posted through its LookupInbox).
    auto answer = [lookup = slot, key = std::move(key)](Resolved r) {
      lookup->result = std::move(r);
      if (auto it = t_in_flight.find(key); it != t_in_flight.end() && it->second == lookup) {
        t_in_flight.erase(it);
      }
      for (const auto& w : lookup->waiters) {
        if (auto timer = w.lock()) timer->cancel();
      }
      lookup->waiters.clear();
    };
    LookupPool::shared().run([gate = asio::use_service<LookupInbox>(ex.context()).gate(), host,
                                port, answer = std::move(answer)]() mutable {
      Resolved r = blocking_lookup(host, port);
      std::lock_guard lock(gate->mu);
      if (!gate->ex) return;  // the io_context is gone: nobody waits any more
      asio::post(*gate->ex,
                 [answer = std::move(answer), r = std::move(r)]() mutable { answer(std::move(r)); });
    });
  }
  const std::shared_ptr<Lookup> lookup = slot;
  // Expires at the deadline unless the answer cancels it first (the answer
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
