#include "observability/log_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace torii::observability {

namespace {
int open_append(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

core::Error failed(const char* what, const std::string& path, int err) {
  return core::config_error(std::string(what) + " " + path + ": " + std::strerror(err));
}
}  // namespace

core::Result<int> open_log_file(const std::string& path, const char* what) {
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  const int fd = open_append(path);
  if (fd < 0) return failed(what, path, errno);
  return fd;
}

void write_log_bytes(int fd, const char* data, size_t size) {
  size_t off = 0;
  while (off < size) {
    const ssize_t n = ::write(fd, data + off, size - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

core::Status reopen_log_file(int fd, const std::string& path, const char* what) {
  const int fresh = open_append(path);
  if (fresh < 0) return failed(what, path, errno);
  // dup2 would clear O_CLOEXEC on `fd`; dup3 keeps it.
  const int r = ::dup3(fresh, fd, O_CLOEXEC);
  const int saved = errno;
  ::close(fresh);
  if (r < 0) return failed(what, path, saved);
  return core::ok_status();
}

}  // namespace torii::observability
