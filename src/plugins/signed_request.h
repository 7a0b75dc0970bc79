// The signed-request protocol shared by anti-tamper and anti-replay: the
// X-Torii-* request headers, their syntax, the canonical string a client
// signs, and the HMAC over it. Pure functions over bytes: no I/O, no plugin
// types, so the fuzz target (tests/fuzz/signature_canonical_fuzz.cc) and
// the client helpers of the tests call exactly what the gateway runs.
//
// Headers (docs/plugins/anti-tamper.md is the user-facing description):
//   X-Torii-Key             the credential's key (1..256 bytes)
//   X-Torii-Timestamp       unix seconds, decimal; 13 digits are milliseconds
//   X-Torii-Nonce           16..64 characters of [A-Za-z0-9_-]
//   X-Torii-Content-SHA256  lower-case hex SHA-256 of the raw body
//   X-Torii-Signed-Headers  lower-case header names joined by ';'
//   X-Torii-Signature       lower-case hex HMAC-SHA256(secret, canonical string)
//
// Canonical string: these lines joined by "\n", no trailing newline
//   TORII1-HMAC-SHA256
//   <X-Torii-Timestamp as sent>
//   <X-Torii-Nonce>
//   <method as sent>
//   <canonical_path(request-target)>
//   <canonical_query(query)>
//   <"name:value\n" per signed header, names sorted>      (the block ends with "\n")
//   <signed header names, sorted, joined by ';'>
//   <X-Torii-Content-SHA256>
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace torii::plugins::signing {

inline constexpr std::string_view kAlgorithm = "TORII1-HMAC-SHA256";
inline constexpr std::string_view kKeyHeader = "X-Torii-Key";
inline constexpr std::string_view kTimestampHeader = "X-Torii-Timestamp";
inline constexpr std::string_view kNonceHeader = "X-Torii-Nonce";
inline constexpr std::string_view kContentSha256Header = "X-Torii-Content-SHA256";
inline constexpr std::string_view kSignedHeadersHeader = "X-Torii-Signed-Headers";
inline constexpr std::string_view kSignatureHeader = "X-Torii-Signature";
// Response headers.
inline constexpr std::string_view kServerTimeHeader = "X-Torii-Server-Time";
inline constexpr std::string_view kErrorCodeHeader = "X-Torii-Error-Code";

inline constexpr size_t kMaxKeyLength = 256;
inline constexpr size_t kMinNonceLength = 16;
inline constexpr size_t kMaxNonceLength = 64;
// Bounds the canonical string a request can make the gateway build.
inline constexpr size_t kMaxSignedHeaders = 32;

// Why a signed request is refused: one value per row of the error table
// (signing_reject.h maps each to its status, error_code and metric label).
enum class Reject : uint8_t {
  kAuthMissing,            // a required header is absent
  kAuthMalformed,          // a header breaks its syntax
  kKeyInvalid,             // no credential has that key
  kTimestampExpired,       // |now - timestamp| > allowed_clock_skew
  kSignedHeadersInvalid,   // host / content-type / a required name not signed, or absent
  kBodyDigestMismatch,     // X-Torii-Content-SHA256 is not the body's SHA-256
  kSignatureMismatch,      // the HMAC differs
  kNonceReplayed,          // the nonce was seen within its window
  kBodyTooLarge,           // the body is over max_body_bytes
  kNonceStoreUnavailable,  // the nonce store cannot answer (or is full)
};

struct Rejection {
  Reject reason;
  std::string message;  // shown to the client; never holds a secret
};

// ---- one header each. nullopt: the value is invalid ----

// Seconds since the epoch: 1..13 decimal digits, where exactly 13 digits
// are milliseconds (truncated to seconds).
std::optional<int64_t> parse_timestamp(std::string_view value);
// 16..64 characters of [A-Za-z0-9_-].
bool valid_nonce(std::string_view value);
// 64 characters of [0-9a-f] (a SHA-256 or an HMAC-SHA256 in hex).
bool is_lower_hex_sha256(std::string_view value);
// "host;x-a;content-type": 1..kMaxSignedHeaders distinct names of lower-case
// token characters, separated by ';' (no spaces, no empty name), never
// x-torii-signature. Returned sorted (views into `value`).
std::optional<std::vector<std::string_view>> parse_signed_headers(std::string_view value);

// ---- time ----

// |now - ts| <= skew.
bool within_skew(int64_t ts, int64_t now, int64_t skew);
// How long a nonce must be remembered so the request cannot be replayed
// while its timestamp is still accepted: ts + skew - now + 1 seconds (>= 1
// when within_skew holds).
int64_t nonce_ttl(int64_t ts, int64_t now, int64_t skew);

// ---- canonical forms ----

// The path of a request-target as received (query dropped; absolute-form
// "http://h/p" gives "/p"; empty gives "/"), with the two hex digits of
// every %XX escape upper-cased. Nothing is decoded and no dot-segment is
// removed. Idempotent.
std::string canonical_path(std::string_view request_target);
// A raw query (no '?'): split on '&' (empty pieces dropped), each piece
// split at its first '=' into name and value (no '=': empty value), both
// percent-decoded ('+' stays '+'; a '%' not followed by two hex digits is a
// literal '%') then re-encoded per RFC 3986 (unreserved A-Z a-z 0-9 - . _ ~
// as is, every other byte %XX upper-case), sorted by encoded name then
// encoded value (bytewise), joined as "name=value" with '&'. Idempotent,
// and independent of the order of the pieces.
std::string canonical_query(std::string_view raw_query);
// The canonical value of a header sent once or several times: each value
// with leading/trailing spaces and tabs trimmed and inner runs of them
// collapsed to one space, joined by ','.
std::string canonical_header_value(std::span<const std::string_view> values);

struct CanonicalRequest {
  std::string_view timestamp;       // X-Torii-Timestamp as sent
  std::string_view nonce;           // X-Torii-Nonce
  std::string_view method;          // as sent ("GET")
  std::string_view request_target;  // raw, query included
  std::string_view content_sha256;  // X-Torii-Content-SHA256
  // Sorted names (parse_signed_headers) and, index for index, their
  // canonical values (canonical_header_value).
  std::span<const std::string_view> signed_headers;
  std::span<const std::string> header_values;
};
// The string to sign (see the top of this file). `signed_headers` and
// `header_values` must have the same size.
std::string canonical_string(const CanonicalRequest& request);

// Lower-case hex of HMAC-SHA256(secret, data) / SHA-256(data).
std::string hmac_sha256_hex(std::string_view secret, std::string_view data);
std::string sha256_hex(std::string_view data);

// ---- the whole header set ----

// The X-Torii-* headers of a request, nullopt where absent.
struct SignatureHeaders {
  std::optional<std::string_view> key;
  std::optional<std::string_view> timestamp;
  std::optional<std::string_view> nonce;
  std::optional<std::string_view> content_sha256;
  std::optional<std::string_view> signed_headers;
  std::optional<std::string_view> signature;
};

// A header set that passed parse_signed_request (views into its input).
struct SignedRequest {
  std::string_view key;
  std::string_view timestamp;
  int64_t timestamp_seconds = 0;
  std::string_view nonce;
  std::string_view content_sha256;
  std::vector<std::string_view> signed_headers;  // sorted
  std::string_view signature;
};

// Checks presence (in the order of the header list above: kAuthMissing,
// "missing header: X-Torii-Nonce") then syntax (kAuthMalformed, "invalid
// X-Torii-Timestamp"). nullopt: `out` is filled.
std::optional<Rejection> parse_signed_request(const SignatureHeaders& headers, SignedRequest& out);

// One header of the set on its own (anti-replay without anti-tamper):
// kAuthMissing when absent, kAuthMalformed when invalid; nullopt when fine.
std::optional<Rejection> check_key(std::optional<std::string_view> value);
std::optional<Rejection> check_timestamp(std::optional<std::string_view> value, int64_t& seconds);
std::optional<Rejection> check_nonce(std::optional<std::string_view> value);

}  // namespace torii::plugins::signing
