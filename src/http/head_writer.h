// Writes an HTTP head (request or response) into a std::string.
//
// A head is some thirty pieces ("Name", ": ", value, "\r\n", ...). Appending
// each with std::string::append costs a call, a capacity check, a length
// update and, for a literal, a strlen per piece. The writer sizes the string
// once from a caller's estimate and copies pieces with memcpy through a
// cursor; a piece that does not fit grows the string (so the estimate is a
// hint, never a safety condition). finish() trims the string to what was
// written. While writing, the string's size is the writer's business: do
// not touch `out` between the constructor and finish().
#pragma once

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace torii::http {

class HeadWriter {
 public:
  // Writes at the end of `out` (its current bytes are kept), expecting about
  // `estimate` more bytes.
  HeadWriter(std::string& out, size_t estimate) : out_(out), start_(out.size()) {
    out_.resize(start_ + estimate);
    pos_ = start_;
  }
  HeadWriter(const HeadWriter&) = delete;
  HeadWriter& operator=(const HeadWriter&) = delete;

  HeadWriter& put(std::string_view s) {
    if (s.size() > out_.size() - pos_) grow(s.size());
    std::memcpy(out_.data() + pos_, s.data(), s.size());
    pos_ += s.size();
    return *this;
  }
  // The decimal digits of `v`.
  HeadWriter& put_uint(uint64_t v) {
    char digits[20];
    const auto r = std::to_chars(digits, digits + sizeof(digits), v);
    return put(std::string_view(digits, static_cast<size_t>(r.ptr - digits)));
  }
  // "name: value\r\n"
  HeadWriter& field(std::string_view name, std::string_view value) {
    const size_t n = name.size() + value.size() + 4;
    if (n > out_.size() - pos_) grow(n);
    char* w = out_.data() + pos_;
    std::memcpy(w, name.data(), name.size());
    w += name.size();
    w[0] = ':';
    w[1] = ' ';
    w += 2;
    std::memcpy(w, value.data(), value.size());
    w += value.size();
    w[0] = '\r';
    w[1] = '\n';
    pos_ += n;
    return *this;
  }
  // Bytes written so far.
  size_t written() const { return pos_ - start_; }
  // Trims `out` to what was written; the writer is done.
  void finish() { out_.resize(pos_); }

 private:
  void grow(size_t need) { out_.resize(pos_ + need + out_.size() / 2 + 64); }

  std::string& out_;
  size_t start_;
  size_t pos_;
};

}  // namespace torii::http
