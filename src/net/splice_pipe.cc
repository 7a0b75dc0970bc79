#include "net/splice_pipe.h"

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <system_error>

namespace torii::net {

namespace {

constexpr unsigned kFlags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;

// splice() retried on EINTR.
ssize_t splice_once(int in, int out, size_t len) {
  for (;;) {
    const ssize_t n = ::splice(in, nullptr, out, nullptr, len, kFlags);
    if (n >= 0 || errno != EINTR) return n;
  }
}

SpliceStep failure(int error) {
  if (error == EAGAIN || error == EWOULDBLOCK) return {SpliceStep::Result::kWouldBlock, 0, 0};
  return {SpliceStep::Result::kFailed, 0, error};
}

}  // namespace

bool splice_unsupported(int error) {
  return error == EINVAL || error == ENOSYS || error == EPERM || error == EOPNOTSUPP;
}

std::unique_ptr<SplicePipe> SplicePipe::open(size_t capacity) {
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return nullptr;
  // F_SETPIPE_SZ returns the size granted (rounded up to pages); a refusal
  // (over fs.pipe-max-size or the user's pipe quota) leaves the default.
  int granted = ::fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(capacity));
  if (granted < 0) granted = ::fcntl(fds[1], F_GETPIPE_SZ);
  if (granted <= 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return nullptr;
  }
  return std::unique_ptr<SplicePipe>(new SplicePipe(fds[0], fds[1], static_cast<size_t>(granted)));
}

SplicePipe::~SplicePipe() {
  ::close(read_end_);
  ::close(write_end_);
}

SpliceStep SplicePipe::fill(int from, size_t max) {
  const size_t want = max < room() ? max : room();
  if (want == 0) return {SpliceStep::Result::kWouldBlock, 0, 0};
  const ssize_t n = splice_once(from, write_end_, want);
  if (n < 0) return failure(errno);
  if (n == 0) return {SpliceStep::Result::kEndOfStream, 0, 0};
  buffered_ += static_cast<size_t>(n);
  return {SpliceStep::Result::kMoved, static_cast<size_t>(n), 0};
}

SpliceStep SplicePipe::drain(int to) {
  if (buffered_ == 0) return {SpliceStep::Result::kMoved, 0, 0};
  const ssize_t n = splice_once(read_end_, to, buffered_);
  if (n < 0) return failure(errno);
  // A socket never takes 0 bytes of a non-empty pipe without an error.
  if (n == 0) return {SpliceStep::Result::kFailed, 0, EPIPE};
  buffered_ -= static_cast<size_t>(n);
  return {SpliceStep::Result::kMoved, static_cast<size_t>(n), 0};
}

std::unique_ptr<SplicePipe> PipePool::acquire() {
  if (in_use_ >= kMaxInUse) return nullptr;
  std::unique_ptr<SplicePipe> pipe;
  if (!idle_.empty()) {
    pipe = std::move(idle_.back());
    idle_.pop_back();
  } else {
    pipe = SplicePipe::open(kPipeCapacity);
    const int error = errno;
    const bool too_small = pipe && pipe->capacity() < kMinCapacity;
    if (!pipe || too_small) {
      pipe.reset();
      if (!open_failure_logged_) {
        open_failure_logged_ = true;
        spdlog::warn("no pipe of {} KiB for splice(2) ({}): response bodies are copied until one "
                     "can be opened",
                     kMinCapacity / 1024,
                     too_small ? std::string("the user's pipe quota, fs.pipe-user-pages-soft, is used up")
                               : std::generic_category().message(error));
      }
      return nullptr;
    }
  }
  ++in_use_;
  return pipe;
}

void PipePool::mark_unsupported(int error) {
  if (unsupported_) return;
  unsupported_ = true;
  idle_.clear();
  spdlog::warn("splice(2) is not available ({}): response bodies are copied through user space",
               std::generic_category().message(error));
}

void PipePool::release(std::unique_ptr<SplicePipe> pipe) {
  if (!pipe) return;
  --in_use_;
  if (unsupported_ || pipe->buffered() != 0 || idle_.size() >= kMaxIdle) return;
  idle_.push_back(std::move(pipe));
}

}  // namespace torii::net
