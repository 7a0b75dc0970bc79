// libFuzzer target: the signed-request protocol of anti-tamper /
// anti-replay (src/plugins/signed_request.h), fed what a client controls.
// The input is split on '\n' into: request-target, method, then the six
// X-Torii-* values (key, timestamp, nonce, content sha256, signed headers,
// signature; a missing line is an absent header), then header values.
// Checks: no crash or UB; a header set that parses meets every syntax rule;
// canonical_path and canonical_query are idempotent, the query form is
// independent of the order of its pieces and only holds RFC 3986 output;
// canonical header values are trimmed and collapsed; the HMAC is 64 hex
// characters.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/signed_request.h"

namespace {

namespace signing = torii::plugins::signing;

void check(bool ok) {
  if (!ok) std::abort();
}

bool canonical_query_chars(std::string_view q) {
  return std::all_of(q.begin(), q.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~' || c == '%' || c == '=' || c == '&';
  });
}

// The '&' pieces of `q` in reverse order.
std::string reversed_pieces(std::string_view q) {
  std::vector<std::string_view> pieces;
  size_t pos = 0;
  while (true) {
    const size_t amp = q.find('&', pos);
    pieces.push_back(q.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos));
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  std::string out;
  for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) {
    if (!out.empty()) out.push_back('&');
    out.append(*it);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos <= in.size() && lines.size() < 48) {
    const size_t nl = in.find('\n', pos);
    lines.push_back(in.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  auto line = [&](size_t i) -> std::optional<std::string_view> {
    if (i < lines.size()) return lines[i];
    return std::nullopt;
  };
  const std::string_view target = line(0).value_or("/");
  const std::string_view method = line(1).value_or("GET");

  // Canonical forms.
  const std::string path = signing::canonical_path(target);
  check(!path.empty() && signing::canonical_path(path) == path);
  const size_t q = target.find('?');
  if (q != std::string_view::npos) {
    const std::string_view raw = target.substr(q + 1);
    const std::string query = signing::canonical_query(raw);
    check(canonical_query_chars(query));
    check(signing::canonical_query(query) == query);
    check(signing::canonical_query(reversed_pieces(raw)) == query);
  }

  // The header set.
  signing::SignatureHeaders h{line(2), line(3), line(4), line(5), line(6), line(7)};
  signing::SignedRequest req;
  const auto rejected = signing::parse_signed_request(h, req);
  if (rejected) {
    check(rejected->reason == signing::Reject::kAuthMissing ||
          rejected->reason == signing::Reject::kAuthMalformed);
    check(req.key.empty() && req.signed_headers.empty());
    return 0;
  }
  check(!req.key.empty() && req.key.size() <= signing::kMaxKeyLength);
  check(signing::parse_timestamp(req.timestamp) == req.timestamp_seconds);
  check(signing::valid_nonce(req.nonce));
  check(signing::is_lower_hex_sha256(req.content_sha256) && signing::is_lower_hex_sha256(req.signature));
  check(!req.signed_headers.empty() && req.signed_headers.size() <= signing::kMaxSignedHeaders);
  check(std::is_sorted(req.signed_headers.begin(), req.signed_headers.end()));
  check(std::adjacent_find(req.signed_headers.begin(), req.signed_headers.end()) ==
        req.signed_headers.end());

  // Header values: lines 8.. are the values of the signed headers, in order.
  std::vector<std::string> values;
  for (size_t i = 0; i < req.signed_headers.size(); ++i) {
    const std::string_view v = line(8 + i).value_or("");
    const std::string_view one[] = {v};
    std::string c = signing::canonical_header_value(one);
    check(c.empty() || (c.front() != ' ' && c.back() != ' '));
    check(c.find("  ") == std::string::npos && c.find('\t') == std::string::npos);
    values.push_back(std::move(c));
  }
  signing::CanonicalRequest r{req.timestamp, req.nonce, method, target, req.content_sha256,
                              req.signed_headers, values};
  const std::string canonical = signing::canonical_string(r);
  check(canonical.starts_with(signing::kAlgorithm));
  check(canonical.ends_with(req.content_sha256));
  // (No "the input does not sign itself" check: libFuzzer's comparison
  // tracing sees the HMAC this harness computes next to the signature it
  // is compared with and copies it into the input, which proves nothing.)
  check(signing::hmac_sha256_hex("fuzz-secret", canonical).size() == 64);
  return 0;
}
