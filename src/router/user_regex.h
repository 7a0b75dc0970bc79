// Compiles regular expressions that come from users (route `vars` `~~`/`~*`
// and later regex_uri, uri-blocker, ...) on RE2, so matching is linear time
// and no pattern can stall a worker. Patterns written for PCRE that RE2
// cannot run are refused with the construct named.
#pragma once

#include <re2/re2.h>

#include <memory>
#include <string_view>

#include "core/result.h"

namespace torii::router {

// Compiles `pattern` for an unanchored search over bytes (PCRE without the
// `u` flag, as ngx.re uses it). On failure the message reads
//   regex "(?=a)" is not supported: RE2 has no look-around
// for a PCRE-only construct, or `invalid regex "(": <RE2's reason>` for a
// pattern no engine would accept. Called at config build time only.
core::Result<std::unique_ptr<re2::RE2>> compile_user_regex(std::string_view pattern,
                                                           bool case_insensitive);

}  // namespace torii::router
