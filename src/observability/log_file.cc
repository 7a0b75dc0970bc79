#include "observability/log_file.h"

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
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

namespace {
void write_all(int fd, const char* data, size_t size) {
  size_t off = 0;
  while (off < size) {
    const ssize_t n = ::write(fd, data + off, size - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}
}  // namespace

void write_log_bytes(int fd, const char* data, size_t size) {
  // A regular file opened O_APPEND takes each write(2) whole, whatever its
  // size and whoever else writes. A pipe or a socket (stdout under a
  // container runtime or systemd) only keeps writes of up to PIPE_BUF bytes
  // apart from other writers': larger ones are cut into pieces at whole
  // lines, so two workers' buffers never interleave inside a line (a line
  // longer than PIPE_BUF still goes in one write).
  struct stat st;
  if (size <= PIPE_BUF || ::fstat(fd, &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
    write_all(fd, data, size);
    return;
  }
  size_t off = 0;
  while (off < size) {
    size_t end = size;
    if (size - off > PIPE_BUF) {
      // The last line end within PIPE_BUF bytes, else the end of this line.
      const char* window = data + off;
      const void* nl = ::memrchr(window, '\n', PIPE_BUF);
      if (nl != nullptr) {
        end = off + static_cast<size_t>(static_cast<const char*>(nl) - window) + 1;
      } else if (const void* next = std::memchr(window, '\n', size - off); next != nullptr) {
        end = off + static_cast<size_t>(static_cast<const char*>(next) - window) + 1;
      }
    }
    write_all(fd, data + off, end - off);
    off = end;
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
