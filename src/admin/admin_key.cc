// Admin key bootstrap: read the key file back, or create it once with a
// random key. Every error names the file and what to do about it.
#include "admin/admin_key.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace torii::admin {
namespace {

constexpr size_t kMinKeyLength = 16;
constexpr size_t kMaxKeyLength = 512;
constexpr off_t kMaxFileSize = 4096;  // a key file is one short line

core::Error key_error(const std::string& path, const std::string& what) {
  return core::config_error("admin_key_file " + path + ": " + what);
}

std::string errno_text(int err) { return std::strerror(err); }

// Closes the descriptor on every path out of a function.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

bool valid_key(std::string_view key) {
  if (key.size() < kMinKeyLength || key.size() > kMaxKeyLength) return false;
  for (const char c : key) {
    if (c < 0x21 || c > 0x7e) return false;  // visible ASCII only
  }
  return true;
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.remove_prefix(1);
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.remove_suffix(1);
  return v;
}

// Reads an existing key file; an Error of kind kNotFound (no message) when
// the file does not exist, so the caller creates it.
core::Result<std::string> read_key_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) {
    const int err = errno;
    if (err == ENOENT) {
      return core::Error{core::ErrorKind::kNotFound, core::ErrorSource::kConfig, false, ""};
    }
    if (err == ELOOP)
      return key_error(path, "is a symbolic link; point admin_key_file at the file itself");
    return key_error(path, "cannot open: " + errno_text(err));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return key_error(path, "cannot stat: " + errno_text(errno));
  if (!S_ISREG(st.st_mode)) return key_error(path, "is not a regular file");
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return key_error(path, std::string("group or others have access to it (mode ") + mode +
                               "); run: chmod 600 " + path);
  }
  if (st.st_size > kMaxFileSize) return key_error(path, "too large for a key file");
  std::string content(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < content.size()) {
    const ssize_t n = ::read(fd.get(), content.data() + got, content.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return key_error(path, "cannot read: " + errno_text(errno));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  content.resize(got);
  const std::string_view key = trim(content);
  if (key.empty()) {
    return key_error(path, "is empty; delete it to generate a new key, or write a key into it");
  }
  if (!valid_key(key)) {
    return key_error(path,
                     "does not hold a valid key (expected one line of 16-512 printable "
                     "characters without spaces); delete it to generate a new key");
  }
  return std::string(key);
}

core::Result<std::string> random_hex_key() {
  unsigned char raw[kGeneratedKeyLength / 2];
  if (RAND_bytes(raw, sizeof(raw)) != 1) {
    return core::Error{core::ErrorKind::kIo, core::ErrorSource::kInternal, false,
                       "admin key: the random number generator failed"};
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string key;
  key.reserve(kGeneratedKeyLength);
  for (const unsigned char b : raw) {
    key.push_back(kHex[b >> 4]);
    key.push_back(kHex[b & 0x0f]);
  }
  return key;
}

// Makes the new directory entry durable too, not only the file's bytes.
void fsync_parent_dir(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0) ::fsync(fd.get());
}

// Creates `path` exclusively with `key`. kConflict when it appeared meanwhile.
core::Status create_key_file(const std::string& path, const std::string& key) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) {
    const int err = errno;
    if (err == EEXIST) {
      return core::Error{core::ErrorKind::kConflict, core::ErrorSource::kConfig, false, ""};
    }
    return key_error(path, "cannot create: " + errno_text(err));
  }
  const auto fail = [&](const std::string& what) -> core::Status {
    ::unlink(path.c_str());  // never leave a half-written key behind
    return key_error(path, what);
  };
  // The umask may only narrow 0600, but be explicit about the result.
  if (::fchmod(fd.get(), 0600) != 0) return fail("cannot chmod 600: " + errno_text(errno));
  const std::string line = key + "\n";
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd.get(), line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("cannot write: " + errno_text(errno));
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail("cannot fsync: " + errno_text(errno));
  fsync_parent_dir(path);
  return core::ok_status();
}

}  // namespace

core::Result<std::string> load_or_generate_admin_key(const std::string& path, bool& generated) {
  generated = false;
  if (path.empty()) return core::config_error("admin_key_file: no path configured");
  // Two attempts: another process may create the file between our read and
  // our O_EXCL create; then its key is the one to use.
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto existing = read_key_file(path);
    if (existing.ok()) return existing;
    if (existing.error().kind != core::ErrorKind::kNotFound) return existing.error();
    auto key = random_hex_key();
    if (!key.ok()) return key.error();
    const core::Status created = create_key_file(path, *key);
    if (created.ok()) {
      generated = true;
      return key;
    }
    if (created.error().kind != core::ErrorKind::kConflict) return created.error();
  }
  return key_error(path, "created and removed concurrently; retry");
}

}  // namespace torii::admin
