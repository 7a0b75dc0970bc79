// Base64 with the standard alphabet, as nginx's ngx_encode_base64 /
// ngx_decode_base64 (behind ngx.encode_base64 / ngx.decode_base64), so
// values written by APISIX read the same here.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace torii::core {

// Standard alphabet, '=' padding.
std::string base64_encode(std::string_view in);

// The data ends at the first '=' (what follows is ignored); every byte
// before it must be in the alphabet, and a length of 4n+1 cannot be
// decoded: nullopt. Missing padding is accepted.
std::optional<std::string> base64_decode(std::string_view in);

// base64url (RFC 4648 section 5: '-' and '_', no padding), as JWTs use.
std::string base64url_encode(std::string_view in);
// Accepts optional '=' padding at the end only; nullopt for any other byte
// outside the url alphabet or an impossible length.
std::optional<std::string> base64url_decode(std::string_view in);

}  // namespace torii::core
