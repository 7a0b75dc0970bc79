// The admin key bootstrap. APISIX refuses to run with its old well-known
// default key; Torii has no default at all. With no key in config.yaml and
// admin_key_required, the gateway generates a random key at first start,
// keeps it in deployment.admin.admin_key_file (mode 0600) and prints it once;
// later starts read it back. Control plane only (startup, before serving).
#pragma once

#include <string>

#include "core/result.h"

namespace torii::admin {

// Length of a generated key: 16 random bytes as lower-case hex.
inline constexpr size_t kGeneratedKeyLength = 32;

// Returns the key kept in `path`, creating it when the file does not exist:
// 16 bytes from the OS CSPRNG (OpenSSL RAND_bytes) as 32 hex characters,
// written with O_CREAT|O_EXCL, mode 0600, fsync'd (file and directory), and
// `generated` set to true so the caller prints it once. `generated` is false
// when the key was read back.
//
// An existing file is refused (config error naming the path and the fix) when
// it is not a regular file, when group or others have any permission on it
// ("chmod 600 <path>"), or when its content (one line; surrounding whitespace
// ignored) is empty or is not 16-512 printable ASCII characters without
// spaces — an operator may write their own key there, but not a weak or
// garbled one.
core::Result<std::string> load_or_generate_admin_key(const std::string& path, bool& generated);

}  // namespace torii::admin
