#include "observability/log_reopen.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace torii::observability {

core::Status reopen_onto(int fd, const std::string& path, const char* what) {
  const int fresh = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fresh < 0) return core::config_error(std::string(what) + " " + path + ": " + std::strerror(errno));
  // dup2 clears O_CLOEXEC on `fd`; dup3 keeps it.
  const int r = ::dup3(fresh, fd, O_CLOEXEC);
  const int saved = errno;
  ::close(fresh);
  if (r < 0) return core::config_error(std::string(what) + " " + path + ": " + std::strerror(saved));
  return core::ok_status();
}

}  // namespace torii::observability
