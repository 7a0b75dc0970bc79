// The error log (spdlog): nginx's level names, a file or stderr. Set up once
// by the control thread; every thread logs through spdlog's default logger.
#pragma once

#include <string>

#include "core/result.h"

namespace torii::observability {

// `path` may be "stderr". `level` is an nginx level name (debug .. emerg).
core::Status setup_error_log(const std::string& path, const std::string& level);
void set_error_log_level(const std::string& level);
// Reopens the error log's file by its path (SIGUSR1, after a rotation moved
// it away); stderr/stdout: nothing to do. Control thread.
core::Status reopen_error_log();

}  // namespace torii::observability
