#include "core/deadline.h"

#include <time.h>

namespace torii::core {

Deadline::Deadline(DeadlineSweeper& sweeper, std::function<void()> on_expire)
    : sweeper_(sweeper), on_expire_(std::move(on_expire)) {
  sweeper_.link(this);
}

Deadline::~Deadline() { sweeper_.unlink(this); }

Clock::time_point coarse_now() {
  // CLOCK_MONOTONIC_COARSE: a few ns instead of a TSC read; its ~4 ms
  // granularity is far below the sweep interval, and it shares
  // steady_clock's epoch (both are CLOCK_MONOTONIC based).
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return Clock::time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
}

void Deadline::arm(Clock::duration after) {
  when_ = coarse_now() + after;
  expired_ = false;
}

DeadlineSweeper::DeadlineSweeper(boost::asio::io_context& io) : timer_(io) {}

void DeadlineSweeper::start(std::function<void()> on_tick) {
  on_tick_ = std::move(on_tick);
  stopped_ = false;
  schedule();
}

void DeadlineSweeper::stop() {
  stopped_ = true;
  timer_.cancel();
}

void DeadlineSweeper::link(Deadline* d) {
  d->next_ = head_;
  if (head_) head_->prev_ = d;
  head_ = d;
  ++count_;
}

void DeadlineSweeper::unlink(Deadline* d) {
  if (cursor_ == d) cursor_ = d->next_;
  if (d->prev_) d->prev_->next_ = d->next_;
  else head_ = d->next_;
  if (d->next_) d->next_->prev_ = d->prev_;
  d->prev_ = d->next_ = nullptr;
  --count_;
}

void DeadlineSweeper::schedule() {
  if (stopped_) return;
  timer_.expires_after(kSweepInterval);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    sweep();
    if (on_tick_) on_tick_();
    schedule();
  });
}

void DeadlineSweeper::sweep() {
  const auto now = Clock::now();
  for (Deadline* d = head_; d != nullptr; d = cursor_) {
    cursor_ = d->next_;
    if (d->when_ <= now) {
      d->when_ = Clock::time_point::max();
      d->expired_ = true;
      // May destroy other deadlines (or this one); unlink() keeps cursor_ valid.
      d->on_expire_();
    }
  }
  cursor_ = nullptr;
}

}  // namespace torii::core
