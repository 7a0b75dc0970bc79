#include "observability/error_log.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <mutex>

#include "observability/log_file.h"

namespace torii::observability {
namespace {

// A file sink writing each line with write(2) on an O_APPEND descriptor
// that reopen_error_log() can swap under it (spdlog's own file sink cannot
// be reopened).
class AppendFileSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit AppendFileSink(int fd) : fd_(fd) {}
  ~AppendFileSink() override { ::close(fd_); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    write_log_bytes(fd_, line.data(), line.size());
  }
  void flush_() override {}  // nothing is buffered

 private:
  int fd_;
};

// The error log's file, when it is one (set up once by the control thread).
int g_error_log_fd = -1;
std::string g_error_log_path;

spdlog::level::level_enum to_spdlog(const std::string& level) {
  if (level == "debug") return spdlog::level::debug;
  if (level == "info" || level == "notice") return spdlog::level::info;
  if (level == "warn") return spdlog::level::warn;
  if (level == "error") return spdlog::level::err;
  return spdlog::level::critical;  // crit, alert, emerg
}

}  // namespace

core::Status setup_error_log(const std::string& path, const std::string& level) {
  std::shared_ptr<spdlog::logger> logger;
  try {
    if (path == "stderr" || path.empty()) {
      logger = spdlog::stderr_logger_mt("torii");
    } else if (path == "stdout") {
      logger = spdlog::stdout_logger_mt("torii");
    } else {
      auto fd = open_log_file(path, "error log");
      if (!fd) return fd.error();
      logger = std::make_shared<spdlog::logger>("torii", std::make_shared<AppendFileSink>(*fd));
      g_error_log_fd = *fd;
      g_error_log_path = path;
    }
  } catch (const spdlog::spdlog_ex& e) {
    return core::config_error("error log " + path + ": " + e.what());
  }
  logger->set_pattern("%Y/%m/%d %H:%M:%S [%l] %P#%t: %v");
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  set_error_log_level(level);
  return core::ok_status();
}

void set_error_log_level(const std::string& level) { spdlog::set_level(to_spdlog(level)); }

core::Status reopen_error_log() {
  if (g_error_log_fd < 0) return core::ok_status();
  return reopen_log_file(g_error_log_fd, g_error_log_path, "error log");
}

}  // namespace torii::observability
