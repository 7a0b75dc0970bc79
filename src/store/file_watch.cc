#include "store/file_watch.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

namespace torii::store {

std::optional<std::string> FileWatch::poll() {
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0) return std::nullopt;
  const int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  if (seen_ && st.st_ino == ino_ && static_cast<uint64_t>(st.st_size) == size_ && mtime == mtime_ns_) {
    return std::nullopt;
  }
  std::ifstream in(path_, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  ino_ = st.st_ino;
  size_ = static_cast<uint64_t>(st.st_size);
  mtime_ns_ = mtime;
  std::string content = ss.str();
  if (seen_ && content == last_) return std::nullopt;
  seen_ = true;
  last_ = content;
  return content;
}

}  // namespace torii::store
