// Threads for blocking work that cannot be interrupted: getaddrinfo, for
// net/resolve.h. A job gets a thread of its own whenever more jobs wait than
// threads are idle, up to `max_threads`, so one job that never returns (a
// name server that does not answer) never holds the ones behind it while
// the cap allows. Past the cap, jobs wait in order. Threads stay for the
// process's life, as asio's resolver threads do.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>

namespace torii::net {

class LookupPool {
 public:
  // Allocate with new and never destroy: threads may still wait on the
  // pool at exit (a detached thread blocked in getaddrinfo).
  explicit LookupPool(size_t max_threads) : max_threads_(max_threads) {}
  ~LookupPool() = delete;
  LookupPool(const LookupPool&) = delete;
  LookupPool& operator=(const LookupPool&) = delete;

  // The process's pool (kMaxLookupThreads threads, net/resolve.h).
  static LookupPool& shared();

  // Runs `job` on one of the pool's threads, from any thread.
  void run(std::function<void()> job);
  // Threads started so far (tests).
  size_t threads() const;

 private:
  void work();

  const size_t max_threads_;
  mutable std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  size_t threads_ = 0;
  size_t idle_ = 0;  // waiting for a job, including one notified that has not taken it yet
};

}  // namespace torii::net
