// Moving bytes from one socket to another inside the kernel: splice(2)
// through a pipe, so a response body never crosses into user space.
//
// A proxied body read with recv() and written with send() is copied twice
// (kernel to torii, torii to kernel). splice() moves references to the
// socket's pages into a pipe and from the pipe into the other socket: no
// copy on either side. For a 64 KiB response that is most of what a proxy
// spends on it (bench/run's 64k scenarios).
//
// A SplicePipe is one pipe, non-blocking at both ends. fill() moves bytes
// from a socket into it, drain() moves what it holds to a socket; neither
// waits. The caller waits for readiness (the event loop) when a call makes
// no progress. A pipe that still holds bytes after a failure must be
// dropped, not reused: PipePool::release() closes it then.
//
// PipePool keeps a few idle pipes per worker (not thread-safe: one per
// worker loop), so a busy worker does not open and close two descriptors per
// response.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace torii::net {

// What one splice() call did.
struct SpliceStep {
  enum class Result : uint8_t {
    kMoved,        // `bytes` > 0 moved
    kWouldBlock,   // nothing to read / no room to write now; wait and retry
    kEndOfStream,  // fill(): the source socket was closed by its peer
    kFailed,       // the socket failed (reset, closed): `error` is errno
  };
  Result result = Result::kMoved;
  size_t bytes = 0;
  int error = 0;
};

// True for a splice() failure that says the kernel (or a seccomp policy)
// does not splice these descriptors at all, as opposed to a socket that
// failed.
bool splice_unsupported(int error);

class SplicePipe {
 public:
  // Opens a pipe (O_NONBLOCK, O_CLOEXEC) and asks for `capacity` bytes
  // (F_SETPIPE_SZ; the kernel's default of 64 KiB stays when refused).
  // Null when the process is out of descriptors.
  static std::unique_ptr<SplicePipe> open(size_t capacity);
  ~SplicePipe();
  SplicePipe(const SplicePipe&) = delete;
  SplicePipe& operator=(const SplicePipe&) = delete;

  // Moves up to `max` bytes (and at most the room left) from the stream
  // socket `from` into the pipe.
  SpliceStep fill(int from, size_t max);
  // Moves buffered bytes to the stream socket `to` (as much as it takes).
  SpliceStep drain(int to);

  size_t buffered() const { return buffered_; }
  size_t capacity() const { return capacity_; }
  size_t room() const { return capacity_ - buffered_; }

 private:
  SplicePipe(int read_end, int write_end, size_t capacity)
      : read_end_(read_end), write_end_(write_end), capacity_(capacity) {}

  int read_end_;
  int write_end_;
  size_t capacity_;
  size_t buffered_ = 0;
};

class PipePool {
 public:
  static constexpr size_t kPipeCapacity = 256 * 1024;
  // A pipe the kernel grants less than this (the user's pipe quota is used
  // up) would take more calls than copying: it is not used.
  static constexpr size_t kMinCapacity = 64 * 1024;
  // Pipes per worker: lent out at once (each holds two descriptors and up to
  // kPipeCapacity of socket pages), and kept idle between responses.
  static constexpr size_t kMaxInUse = 256;
  static constexpr size_t kMaxIdle = 16;

  // An empty pipe: an idle one, or a new one. Null when kMaxInUse are lent
  // out or none can be opened (the caller copies the body instead).
  std::unique_ptr<SplicePipe> acquire();
  // Takes back a pipe from acquire() (null is fine): keeps an empty one for
  // the next acquire(), closes one that holds bytes (they belong to a
  // transfer that failed) or one too many.
  void release(std::unique_ptr<SplicePipe> pipe);
  size_t idle() const { return idle_.size(); }
  size_t in_use() const { return in_use_; }
  // After splice_unsupported(): every later body takes the copying path
  // (logged once per worker).
  void mark_unsupported(int error);
  bool available() const { return !unsupported_; }

 private:
  std::vector<std::unique_ptr<SplicePipe>> idle_;
  size_t in_use_ = 0;
  bool unsupported_ = false;
  bool open_failure_logged_ = false;
};

}  // namespace torii::net
