#include "observability/access_log.h"

#include <unistd.h>

#include "observability/log_file.h"

namespace torii::observability {

core::Result<std::shared_ptr<AccessLogFile>> AccessLogFile::open(const std::string& path) {
  if (path == "stdout") return std::shared_ptr<AccessLogFile>(new AccessLogFile(1, false, path));
  if (path == "stderr") return std::shared_ptr<AccessLogFile>(new AccessLogFile(2, false, path));
  auto fd = open_log_file(path, "access log");
  if (!fd) return fd.error();
  return std::shared_ptr<AccessLogFile>(new AccessLogFile(*fd, true, path));
}

core::Status AccessLogFile::reopen() const {
  if (!owned_) return core::ok_status();
  return reopen_log_file(fd_, path_, "access log");
}

AccessLogFile::~AccessLogFile() {
  if (owned_) ::close(fd_);
}

void AccessLogFile::write(const std::string& data) const {
  write_log_bytes(fd_, data.data(), data.size());
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
