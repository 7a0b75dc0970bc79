// Long-lived objects shared by the requests of one worker: one table per
// io_context (= per worker), keyed by a string the caller derives from the
// object's settings (a Redis client per server and database, a cluster
// client per seed list). An object is made on first use from (executor,
// options), is only ever used on that worker's loop, and is closed when the
// io_context shuts down; the table dies with the io_context.
//
// T must be constructible from (Executor, Options) and have close().
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

template <class T, class Options>
class PerWorkerTable : public boost::asio::execution_context::service {
 public:
  using key_type = PerWorkerTable;
  static inline boost::asio::execution_context::id id;

  explicit PerWorkerTable(boost::asio::execution_context& ctx)
      : boost::asio::execution_context::service(ctx) {
    // Register the timer and socket services before this one, so they are
    // shut down and destroyed after it: our shutdown still closes sockets
    // and cancels timers.
    auto& io = static_cast<boost::asio::io_context&>(ctx);
    Timer t(io.get_executor());
    TcpSocket s(io.get_executor());
    TcpResolver r(io.get_executor());
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

}  // namespace torii::net
