// The IMF-fixdate for the `Date:` header, formatted at most once per second
// per thread (every response carries it; strftime per response would show).
#pragma once

#include <ctime>
#include <string_view>

namespace torii::core {

class HttpDate {
 public:
  std::string_view now() {
    const std::time_t t = std::time(nullptr);
    if (t != last_) {
      std::tm tm;
      gmtime_r(&t, &tm);
      len_ = std::strftime(buf_, sizeof(buf_), "%a, %d %b %Y %H:%M:%S GMT", &tm);
      last_ = t;
    }
    return {buf_, len_};
  }

 private:
  std::time_t last_ = 0;
  char buf_[64] = {};
  size_t len_ = 0;
};

}  // namespace torii::core
