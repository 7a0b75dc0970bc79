#include "observability/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "observability/log_reopen.h"

namespace torii::observability {

core::Result<std::shared_ptr<AccessLogFile>> AccessLogFile::open(const std::string& path) {
  if (path == "stdout") return std::shared_ptr<AccessLogFile>(new AccessLogFile(1, false, path));
  if (path == "stderr") return std::shared_ptr<AccessLogFile>(new AccessLogFile(2, false, path));
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return core::config_error("access log " + path + ": " + std::strerror(errno));
  }
  return std::shared_ptr<AccessLogFile>(new AccessLogFile(fd, true, path));
}

core::Status AccessLogFile::reopen() const {
  if (!owned_) return core::ok_status();
  return reopen_onto(fd_, path_, "access log");
}

AccessLogFile::~AccessLogFile() {
  if (owned_) ::close(fd_);
}

void AccessLogFile::write(const std::string& data) const {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd_, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // a full disk must not stop the proxy; the error log says why elsewhere
    }
    off += static_cast<size_t>(n);
  }
}

AccessLogBuffer::AccessLogBuffer(std::shared_ptr<AccessLogFile> file, size_t buffer_size)
    : file_(std::move(file)), limit_(buffer_size) {
  buf_.reserve(buffer_size + 1024);
}

void AccessLogBuffer::flush() {
  if (buf_.empty() || !file_) return;
  file_->write(buf_);
  buf_.clear();
}

}  // namespace torii::observability
