// How anti-tamper and anti-replay refuse a request: the one local reply
// (status, JSON body, X-Torii-Error-Code), the per-reason counter alarms
// watch, and the log line. Neither the reply, the metric nor the log ever
// carries a secret or a signature.
//
// Error table (docs/plugins/anti-tamper.md):
//   kAuthMissing            401 TORII_AUTH_MISSING
//   kAuthMalformed          400 TORII_AUTH_MALFORMED
//   kKeyInvalid             401 TORII_KEY_INVALID
//   kTimestampExpired       401 TORII_TIMESTAMP_EXPIRED   (+ X-Torii-Server-Time)
//   kSignedHeadersInvalid   401 TORII_SIGNED_HEADERS_INVALID
//   kBodyDigestMismatch     401 TORII_BODY_DIGEST_MISMATCH
//   kSignatureMismatch      401 TORII_SIGNATURE_MISMATCH
//   kNonceReplayed          403 TORII_NONCE_REPLAYED
//   kBodyTooLarge           413 TORII_BODY_TOO_LARGE
//   kNonceStoreUnavailable  503 TORII_NONCE_STORE_UNAVAILABLE
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "plugins/plugin.h"
#include "plugins/signed_request.h"

namespace torii::plugins::signing {

int status_of(Reject reason);
// "TORII_NONCE_REPLAYED"
std::string_view error_code_of(Reject reason);
// The metric label: "nonce_replayed"
std::string_view reason_label_of(Reject reason);

// The client's answer: `status_of` with body
// {"error_code":"<code>","message":"<message>"}\n (application/json) and
// X-Torii-Error-Code: <code>; with `server_time`, X-Torii-Server-Time too.
Exit reject_reply(const Rejection& rejection, std::optional<int64_t> server_time = std::nullopt);

// Counts the refusal in auth_reject_total{plugin,reason,route} (exported as
// apisix_auth_reject_total) and logs it at warn with the route, the key (at
// most 64 bytes), the first 16 hex digits of SHA-256(nonce) and the reason.
// `key` and `nonce` may be empty (not known yet). Worker thread.
void record_reject(PluginContext& ctx, std::string_view plugin, const Rejection& rejection,
                   std::string_view key, std::string_view nonce);

// record_reject() then reject_reply(): what a phase returns.
Exit refuse(PluginContext& ctx, std::string_view plugin, const Rejection& rejection,
            std::string_view key, std::string_view nonce,
            std::optional<int64_t> server_time = std::nullopt);

}  // namespace torii::plugins::signing
