#include "net/lookup_pool.h"

#include <pthread.h>

#include <thread>
#include <utility>

#include "net/resolve.h"

namespace torii::net {

LookupPool& LookupPool::shared() {
  static auto* pool = new LookupPool(kMaxLookupThreads);
  return *pool;
}

void LookupPool::run(std::function<void()> job) {
  std::lock_guard lock(mu_);
  jobs_.push_back(std::move(job));
  // A job beyond the idle threads (one notified but not yet awake counts as
  // idle) needs a thread of its own, or it would wait behind a job that may
  // never end.
  if (jobs_.size() > idle_ && threads_ < max_threads_) {
    ++threads_;
    std::thread([this] { work(); }).detach();
  }
  if (idle_ > 0) ready_.notify_one();
}

size_t LookupPool::threads() const {
  std::lock_guard lock(mu_);
  return threads_;
}

void LookupPool::work() {
  pthread_setname_np(pthread_self(), "torii-lookup");
  std::unique_lock lock(mu_);
  for (;;) {
    ++idle_;
    ready_.wait(lock, [this] { return !jobs_.empty(); });
    --idle_;
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

}  // namespace torii::net
