// Watches the standalone config file by polling (APISIX polls too): cheap
// stat() calls, a re-read only when inode, size or mtime changed, and a
// change reported only when the content differs. Polling works on every
// filesystem and survives editors that replace the file by renaming.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace torii::store {

class FileWatch {
 public:
  explicit FileWatch(std::string path) : path_(std::move(path)) {}
  // The new content when the file changed since the last call (the first
  // call always returns the content); nullopt when unchanged or unreadable.
  std::optional<std::string> poll();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  uint64_t ino_ = 0, size_ = 0;
  int64_t mtime_ns_ = -1;
  std::string last_;
  bool seen_ = false;
};

}  // namespace torii::store
