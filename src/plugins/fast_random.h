// Non-cryptographic random numbers for the request path (fault-injection's
// percentages, request-id's ids): xoshiro256** with one state per thread,
// seeded from getrandom() the first time a thread asks. Never shared between
// threads, so no locking; not for secrets.
#pragma once

#include <sys/random.h>

#include <cstdint>
#include <ctime>

namespace torii::plugins {

class FastRandom {
 public:
  // The calling thread's generator.
  static FastRandom& local() {
    thread_local FastRandom rng;
    return rng;
  }

  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, n), n > 0 (Lemire's multiply-shift, bias < 2^-32 for small n).
  uint32_t below(uint32_t n) {
    return static_cast<uint32_t>(((next() >> 32) * static_cast<uint64_t>(n)) >> 32);
  }

 private:
  FastRandom() {
    if (getrandom(s_, sizeof s_, 0) != static_cast<ssize_t>(sizeof s_)) {
      // No entropy source: fall back to the clock and this object's address.
      uint64_t seed = static_cast<uint64_t>(std::time(nullptr)) ^ reinterpret_cast<uintptr_t>(this);
      for (auto& s : s_) s = seed = splitmix(seed);
    }
    if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 1;
  }
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t splitmix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  }
  uint64_t s_[4];
};

}  // namespace torii::plugins
