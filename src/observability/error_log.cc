#include "observability/error_log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <filesystem>

namespace torii::observability {
namespace {

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
      std::error_code ec;
      const auto parent = std::filesystem::path(path).parent_path();
      if (!parent.empty()) std::filesystem::create_directories(parent, ec);
      logger = spdlog::basic_logger_mt("torii", path);
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

}  // namespace torii::observability
