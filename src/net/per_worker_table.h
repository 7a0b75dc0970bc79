// Long-lived objects shared by the requests of one worker, held by asio
// services of the worker's io_context: made on first use, only ever used on
// that worker's loop, shut down with the io_context and destroyed with it.
//   per_worker<T>(ex, options, key)  one T per key (a Redis client per
//                                    server and database, a cluster client
//                                    per seed list)
//   per_worker_state<T>(ctx)         one T per worker (a client's pool and
//                                    counters)
#pragma once

#include <boost/asio/execution_context.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "net/io.h"

namespace torii::net {

namespace per_worker_detail {
// Registers the timer, socket and resolver services before the calling
// service, so they are shut down and destroyed after it: its shutdown can
// still close sockets and cancel timers.
inline void register_io_services_first(boost::asio::execution_context& ctx) {
  auto& io = static_cast<boost::asio::io_context&>(ctx);
  Timer t(io.get_executor());
  TcpSocket s(io.get_executor());
  TcpResolver r(io.get_executor());
}
}  // namespace per_worker_detail

// One T per key. T must be constructible from (Executor, Options) and have
// close(), which the io_context's shutdown calls.
template <class T, class Options>
class PerWorkerTable : public boost::asio::execution_context::service {
 public:
  using key_type = PerWorkerTable;
  static inline boost::asio::execution_context::id id;

  explicit PerWorkerTable(boost::asio::execution_context& ctx)
      : boost::asio::execution_context::service(ctx) {
    per_worker_detail::register_io_services_first(ctx);
  }

  T& get(Executor ex, const Options& options, std::string_view key) {
    auto it = objects_.find(key);
    if (it == objects_.end()) {
      it = objects_.emplace(std::string(key), std::make_unique<T>(ex, options)).first;
    }
    return *it->second;
  }

 private:
  void shutdown() override {
    for (auto& [key, object] : objects_) object->close();
  }

  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::unique_ptr<T>, Hash, std::equal_to<>> objects_;
};

// The worker-wide T for `key` on `ex`'s io_context, made from `options` on
// first use.
template <class T, class Options>
T& per_worker(Executor ex, const Options& options, std::string_view key) {
  auto& ctx = static_cast<boost::asio::execution_context&>(ex.context());
  return boost::asio::use_service<PerWorkerTable<T, Options>>(ctx).get(ex, options, key);
}

// One T per worker. T must be constructible from the io_context and have
// shutdown(), which the io_context's shutdown calls (close connections,
// stop timers). Shared: a coroutine holding it keeps it through shutdown.
template <class T>
class PerWorkerState : public boost::asio::execution_context::service {
 public:
  using key_type = PerWorkerState;
  static inline boost::asio::execution_context::id id;

  explicit PerWorkerState(boost::asio::execution_context& ctx)
      : boost::asio::execution_context::service(ctx) {
    per_worker_detail::register_io_services_first(ctx);
    state = std::make_shared<T>(static_cast<boost::asio::io_context&>(ctx));
  }

  std::shared_ptr<T> state;

 private:
  void shutdown() override { state->shutdown(); }
};

// The worker's T on `ex`'s io_context, made on first use.
template <class T>
const std::shared_ptr<T>& per_worker_state(Executor ex) {
  auto& ctx = static_cast<boost::asio::execution_context&>(ex.context());
  return boost::asio::use_service<PerWorkerState<T>>(ctx).state;
}

}  // namespace torii::net
