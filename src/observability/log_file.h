// The files behind the access log and the error log: opened for appending,
// written whole, reopened in place for rotation (SIGUSR1).
#pragma once

#include <cstddef>
#include <string>

#include "core/result.h"

namespace torii::observability {

// Opens `path` for appending, creating it and its parent directories. The
// error names `what` ("access log") and the path.
core::Result<int> open_log_file(const std::string& path, const char* what);

// Writes all of `data` to `fd`, retrying on EINTR; gives up on any other
// error (a full disk must not stop the gateway). To a pipe or a socket,
// in writes of at most PIPE_BUF bytes cut at line ends, so lines of several
// writers never mix.
void write_log_bytes(int fd, const char* data, size_t size);

// Opens `path` again and puts it behind `fd` with dup3(2): a writer using
// `fd` at that moment writes whole to the old file or to the new one, never
// to a closed descriptor.
core::Status reopen_log_file(int fd, const std::string& path, const char* what);

}  // namespace torii::observability
