// Reopening a log file in place, for rotation (SIGUSR1).
#pragma once

#include <string>

#include "core/result.h"

namespace torii::observability {

// Opens `path` for appending (creating it) and puts it behind `fd` with
// dup2(2): a writer using `fd` at that moment writes whole to the old file
// or to the new one, never to a closed descriptor. `what` names the log in
// the error ("access log").
core::Status reopen_onto(int fd, const std::string& path, const char* what);

}  // namespace torii::observability
