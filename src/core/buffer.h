// A growable byte buffer for reading from a socket: [0, size()) holds bytes
// read and not yet released; the caller reads into write_area() and then
// commit()s. Grows geometrically up to a hard limit; never shrinks while a
// message is in flight. Offsets (not pointers) are what callers keep, so
// growth never invalidates them.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>

namespace torii::core {

class InputBuffer {
 public:
  explicit InputBuffer(size_t initial = 4096) : cap_(initial) {}

  char* data() { return ensure(); }
  const char* data() const { return buf_.get(); }
  size_t size() const { return size_; }
  size_t capacity() const { return cap_; }
  size_t free_space() const { return cap_ - size_; }
  std::string_view view(size_t off, size_t len) const { return {buf_.get() + off, len}; }

  // Space to read into; empty when full (grow() first).
  std::span<char> write_area() {
    ensure();
    return {buf_.get() + size_, cap_ - size_};
  }
  void commit(size_t n) { size_ += n; }

  // Doubles capacity, capped at `limit`. Returns false when already at the limit.
  bool grow(size_t limit) {
    if (cap_ >= limit) return false;
    size_t next = cap_ * 2 < limit ? cap_ * 2 : limit;
    auto fresh = std::make_unique_for_overwrite<char[]>(next);
    if (buf_ && size_) std::memcpy(fresh.get(), buf_.get(), size_);
    buf_ = std::move(fresh);
    cap_ = next;
    return true;
  }

  // Grows to exactly `cap` bytes (one allocation) when smaller.
  void reserve(size_t cap) {
    if (cap_ >= cap) return;
    auto fresh = std::make_unique_for_overwrite<char[]>(cap);
    if (buf_ && size_) std::memcpy(fresh.get(), buf_.get(), size_);
    buf_ = std::move(fresh);
    cap_ = cap;
  }

  // Drops [0, off) and moves the rest to the front (pipelined leftovers).
  void consume_front(size_t off) {
    if (off >= size_) {
      size_ = 0;
      return;
    }
    std::memmove(buf_.get(), buf_.get() + off, size_ - off);
    size_ -= off;
  }
  // Forgets bytes past `off` (body bytes already forwarded).
  void truncate(size_t off) { size_ = off; }
  // Returns an empty buffer that grew for a large body to `cap` bytes, so
  // idle pooled connections do not keep large windows.
  void shrink_if_larger(size_t cap) {
    if (size_ == 0 && cap_ > cap) {
      buf_.reset();
      cap_ = cap;
    }
  }

 private:
  char* ensure() {
    if (!buf_) buf_ = std::make_unique_for_overwrite<char[]>(cap_);
    return buf_.get();
  }
  std::unique_ptr<char[]> buf_;
  size_t cap_;
  size_t size_ = 0;
};

}  // namespace torii::core
