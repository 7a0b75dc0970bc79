// The access log: each worker renders lines into its own buffer and writes
// it with one write(2) when it passes `buffer_size` or on the worker's
// periodic tick (at most ~100 ms late), so there is no syscall per request.
// All workers share one O_APPEND file descriptor; a whole buffer of whole
// lines per write keeps lines from interleaving.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"

namespace torii::observability {

class AccessLogFile {
 public:
  // Opens (creating parent directories) `path` for appending; "stdout" and
  // "stderr" are accepted.
  static core::Result<std::shared_ptr<AccessLogFile>> open(const std::string& path);
  ~AccessLogFile();
  void write(const std::string& data) const;
  // Opens the path again and puts the new file behind the same descriptor
  // (observability/log_file.h): after a rotation moved the old
  // file away, lines go to a new one (SIGUSR1, as nginx's reopen). Any
  // thread. stdout/stderr: nothing to do.
  core::Status reopen() const;

 private:
  AccessLogFile(int fd, bool owned, std::string path)
      : fd_(fd), owned_(owned), path_(std::move(path)) {}
  int fd_;
  bool owned_;
  std::string path_;
};

// One per worker; not thread-safe.
class AccessLogBuffer {
 public:
  AccessLogBuffer(std::shared_ptr<AccessLogFile> file, size_t buffer_size);
  ~AccessLogBuffer() { flush(); }
  std::string& line_buffer() { return buf_; }
  // Call after appending a line: writes when over the buffer size.
  void maybe_flush() {
    if (buf_.size() >= limit_) flush();
  }
  void flush();

 private:
  std::shared_ptr<AccessLogFile> file_;
  size_t limit_;
  std::string buf_;
};

}  // namespace torii::observability
