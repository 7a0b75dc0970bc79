// A byte-exact HTTP/1.x client for integration tests that need what libcurl
// hides: malformed requests, slow or partial sends, interim 1xx responses,
// the exact response framing and whether the server closed the connection.
// Used by http_strictness_test.cc, http_streaming_test.cc, upstream_test.cc
// and splice_body_test.cc, with the helpers below for scripted peers.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace torii::testing::wire {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

// FNV-1a 64, the hash the test Upstream reports as body_hash.
inline constexpr uint64_t kFnvOffset = 14695981039346656037ull;
inline uint64_t fnv1a(std::string_view data, uint64_t h = kFnvOffset) {
  for (const char c : data) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

struct Response {
  int status = 0;
  std::string head;                            // status line and fields, as received
  std::map<std::string, std::string> headers;  // lower-case names, last value wins
  std::string body;                            // de-chunked
  bool chunked = false;
  bool close_delimited = false;  // body ran until the server closed
};

// One client connection to a loopback port.
class Conn {
 public:
  // `source_ip`: the local address to connect from (any of 127.0.0.0/8 on
  // Linux loopback, to test per-client-IP behaviour); null: the kernel's pick.
  explicit Conn(uint16_t port, const char* source_ip = nullptr) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (source_ip) {
      // Port picked at connect(), not bind(): many connections, few ports.
      const int one = 1;
      ::setsockopt(fd_, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
      sockaddr_in src{};
      src.sin_family = AF_INET;
      ::inet_pton(AF_INET, source_ip, &src.sin_addr);
      if (::bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof(src)) != 0) {
        ::close(fd_);
        fd_ = -1;
        return;
      }
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~Conn() {
    if (fd_ >= 0) ::close(fd_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  bool eof() const { return eof_; }
  // Bytes received and not yet consumed by read_response().
  std::string& pending() { return buf_; }

  // Sends everything; false when the peer is gone.
  bool send(std::string_view bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  // Reads what is available (waiting until `deadline`); false on EOF, error or timeout.
  bool fill(SteadyClock::time_point deadline) {
    if (eof_) return false;
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char tmp[65536];
    const ssize_t n = ::recv(fd_, tmp, sizeof(tmp), 0);
    if (n <= 0) {
      eof_ = true;  // orderly close or reset: either way the server is done
      return false;
    }
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  // True when the server closes the connection within `timeout`; bytes that
  // arrive meanwhile are kept in pending().
  bool closed_within(milliseconds timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    while (!eof_ && SteadyClock::now() < deadline) fill(deadline);
    return eof_;
  }

  // Reads until `needle` is in pending(); false on close or timeout.
  bool read_until(std::string_view needle, milliseconds timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    while (buf_.find(needle) == std::string::npos) {
      if (!fill(deadline)) return buf_.find(needle) != std::string::npos;
    }
    return true;
  }

  // Reads one response and consumes it from pending(). A 1xx (and 101)
  // response is returned with its head only. nullopt when the head or the
  // framed body did not arrive in time.
  std::optional<Response> read_response(milliseconds timeout = milliseconds(5000),
                                        bool head_request = false) {
    const auto deadline = SteadyClock::now() + timeout;
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(deadline)) return std::nullopt;
    }
    Response r;
    r.head = buf_.substr(0, end + 2);
    buf_.erase(0, end + 4);
    if (r.head.rfind("HTTP/1.", 0) != 0 || r.head.size() < 12) return std::nullopt;
    r.status = std::atoi(r.head.c_str() + 9);
    size_t pos = r.head.find("\r\n") + 2;
    while (pos < r.head.size()) {
      const size_t eol = r.head.find("\r\n", pos);
      const std::string line = r.head.substr(pos, eol - pos);
      pos = eol + 2;
      const size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
      r.headers[name] = value;
    }
    if ((r.status >= 100 && r.status < 200) || r.status == 204 || r.status == 304 || head_request) {
      return r;
    }
    const auto te = r.headers.find("transfer-encoding");
    const auto cl = r.headers.find("content-length");
    if (te != r.headers.end() && te->second.find("chunked") != std::string::npos) {
      r.chunked = true;
      for (;;) {
        size_t eol;
        while ((eol = buf_.find("\r\n")) == std::string::npos) {
          if (!fill(deadline)) return std::nullopt;
        }
        const uint64_t n = std::strtoull(buf_.c_str(), nullptr, 16);
        buf_.erase(0, eol + 2);
        if (n == 0) {
          // Trailer section up to the empty line.
          for (;;) {
            while ((eol = buf_.find("\r\n")) == std::string::npos) {
              if (!fill(deadline)) return std::nullopt;
            }
            buf_.erase(0, eol + 2);
            if (eol == 0) return r;
          }
        }
        while (buf_.size() < n + 2) {
          if (!fill(deadline)) return std::nullopt;
        }
        r.body.append(buf_, 0, n);
        buf_.erase(0, n + 2);
      }
    }
    if (cl != r.headers.end()) {
      const uint64_t n = std::strtoull(cl->second.c_str(), nullptr, 10);
      while (buf_.size() < n) {
        if (!fill(deadline)) return std::nullopt;
      }
      r.body = buf_.substr(0, n);
      buf_.erase(0, n);
      return r;
    }
    r.close_delimited = true;
    while (!eof_) {
      if (!fill(deadline) && !eof_) return std::nullopt;
    }
    r.body = std::move(buf_);
    buf_.clear();
    return r;
  }

 private:
  int fd_ = -1;
  std::string buf_;
  bool eof_ = false;
};

// Value of `key=` in the /echo body of the test Upstream ("body_size", ...).
inline std::string echo_field(const std::string& body, const std::string& key) {
  const std::string k = key + "=";
  size_t pos = 0;
  if (body.rfind(k, 0) != 0) {
    pos = body.find("\n" + k);
    if (pos == std::string::npos) return "";
    ++pos;
  }
  pos += k.size();
  return body.substr(pos, body.find('\n', pos) - pos);
}

// A deterministic, non-repetitive body: a byte out of place shows.
inline std::string pattern_body(size_t n, uint32_t seed = 1) {
  std::string s(n, '\0');
  uint32_t x = seed;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

// For a scripted server: reads one request head (no body expected) from
// `fd` into `head`; `buf` keeps bytes read past it for the next call.
// False on EOF or error.
inline bool read_request_head(int fd, std::string& buf, std::string& head) {
  for (;;) {
    const size_t end = buf.find("\r\n\r\n");
    if (end != std::string::npos) {
      head = buf.substr(0, end + 4);
      buf.erase(0, end + 4);
      return true;
    }
    char tmp[4096];
    const ssize_t n = ::recv(fd, tmp, sizeof(tmp), 0);
    if (n <= 0) return false;
    buf.append(tmp, static_cast<size_t>(n));
  }
}

}  // namespace torii::testing::wire
