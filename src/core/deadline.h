// Per-worker deadlines without a timer per operation.
//
// Every connection owns a Deadline. Arming it stores a time point; a sweeper
// on the worker's loop checks all armed deadlines every kSweepInterval and
// fires the expired ones (the owner cancels its socket, so the pending
// operation completes with an error the owner reports as a timeout).
// Arming costs a store, not a syscall: the per-request path sets several
// deadlines, and timers per operation would cost more than the request.
// Precision is kSweepInterval, enough for timeouts configured in seconds.
//
// Single-threaded: a Deadline and its sweeper belong to one worker's loop.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>

namespace torii::core {

using Clock = std::chrono::steady_clock;
inline constexpr std::chrono::milliseconds kSweepInterval{100};

class DeadlineSweeper;

// A cheap, coarse (~4 ms) reading of steady_clock, for deadlines.
Clock::time_point coarse_now();

class Deadline {
 public:
  // `on_expire` runs on the worker's loop when the armed time passes.
  Deadline(DeadlineSweeper& sweeper, std::function<void()> on_expire);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  void arm(Clock::duration after);
  void arm_at(Clock::time_point when) {
    when_ = when;
    expired_ = false;
  }
  void disarm() { when_ = Clock::time_point::max(); }
  bool armed() const { return when_ != Clock::time_point::max(); }
  // True once the deadline fired since it was last armed.
  bool expired() const { return expired_; }

 private:
  friend class DeadlineSweeper;
  DeadlineSweeper& sweeper_;
  std::function<void()> on_expire_;
  Clock::time_point when_ = Clock::time_point::max();
  bool expired_ = false;
  Deadline* prev_ = nullptr;
  Deadline* next_ = nullptr;
};

class DeadlineSweeper {
 public:
  explicit DeadlineSweeper(boost::asio::io_context& io);
  // Starts the periodic sweep; `on_tick` (optional) runs after each sweep,
  // e.g. to flush buffered logs and prune idle pools.
  void start(std::function<void()> on_tick);
  void stop();
  size_t size() const { return count_; }

 private:
  friend class Deadline;
  void link(Deadline* d);
  void unlink(Deadline* d);
  void sweep();
  void schedule();

  boost::asio::steady_timer timer_;
  std::function<void()> on_tick_;
  Deadline* head_ = nullptr;
  Deadline* cursor_ = nullptr;  // next node during a sweep, kept valid by unlink()
  size_t count_ = 0;
  bool stopped_ = false;
};

}  // namespace torii::core
