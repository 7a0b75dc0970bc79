// SHA-256 for the request path. OpenSSL 3's one-shot SHA256() fetches the
// algorithm (taking a lock) and allocates a context on every call; this
// fetches it once and keeps one context per thread.
#pragma once

#include <array>
#include <string_view>

namespace torii::core {

using Sha256Digest = std::array<unsigned char, 32>;

Sha256Digest sha256(std::string_view data);

}  // namespace torii::core
