#include "plugins/signed_request.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <utility>

#include "core/sha256.h"

namespace torii::plugins::signing {

namespace {

constexpr char kHex[] = "0123456789ABCDEF";
constexpr char kLowerHex[] = "0123456789abcdef";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// RFC 9110 tchar, lower-case letters only.
bool is_lower_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  constexpr std::string_view kOther = "!#$%&'*+-.^_`|~";
  return kOther.find(c) != std::string_view::npos;
}

std::string lower_hex(const unsigned char* p, size_t n) {
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kLowerHex[p[i] >> 4];
    out[2 * i + 1] = kLowerHex[p[i] & 0xF];
  }
  return out;
}

// Percent-decodes then RFC 3986-encodes `in`, appending to `out`.
void reencode(std::string_view in, std::string& out) {
  for (size_t i = 0; i < in.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    if (c == '%' && i + 2 < in.size()) {
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        c = static_cast<unsigned char>(hi * 16 + lo);
        i += 2;
      }
    }
    if (is_unreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
}

Rejection missing(std::string_view header) {
  return {Reject::kAuthMissing, "missing header: " + std::string(header)};
}

Rejection malformed(std::string_view header) {
  return {Reject::kAuthMalformed, "invalid " + std::string(header)};
}

}  // namespace

std::optional<int64_t> parse_timestamp(std::string_view value) {
  if (value.empty() || value.size() > 13) return std::nullopt;
  int64_t v = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return value.size() == 13 ? v / 1000 : v;
}

bool valid_nonce(std::string_view value) {
  if (value.size() < kMinNonceLength || value.size() > kMaxNonceLength) return false;
  return std::all_of(value.begin(), value.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
  });
}

bool is_lower_hex_sha256(std::string_view value) {
  return value.size() == 64 && std::all_of(value.begin(), value.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::optional<std::vector<std::string_view>> parse_signed_headers(std::string_view value) {
  std::vector<std::string_view> names;
  size_t pos = 0;
  while (true) {
    const size_t semi = value.find(';', pos);
    const std::string_view name =
        value.substr(pos, semi == std::string_view::npos ? std::string_view::npos : semi - pos);
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_lower_tchar)) return std::nullopt;
    if (name == "x-torii-signature") return std::nullopt;
    if (names.size() == kMaxSignedHeaders) return std::nullopt;
    names.push_back(name);
    if (semi == std::string_view::npos) break;
    pos = semi + 1;
  }
  std::sort(names.begin(), names.end());
  if (std::adjacent_find(names.begin(), names.end()) != names.end()) return std::nullopt;
  return names;
}

bool within_skew(int64_t ts, int64_t now, int64_t skew) {
  const int64_t diff = now > ts ? now - ts : ts - now;
  return diff <= skew;
}

int64_t nonce_ttl(int64_t ts, int64_t now, int64_t skew) {
  return std::max<int64_t>(1, ts + skew - now + 1);
}

std::string canonical_path(std::string_view target) {
  target = target.substr(0, target.find('?'));
  if (!target.empty() && target.front() != '/') {
    // absolute-form: drop "scheme://authority"
    const size_t scheme_end = target.find("://");
    if (scheme_end != std::string_view::npos) {
      const size_t slash = target.find('/', scheme_end + 3);
      target = slash == std::string_view::npos ? std::string_view() : target.substr(slash);
    }
  }
  if (target.empty()) return "/";
  std::string out(target);
  for (size_t i = 0; i + 2 < out.size(); ++i) {
    if (out[i] == '%' && hex_value(out[i + 1]) >= 0 && hex_value(out[i + 2]) >= 0) {
      out[i + 1] = upper(out[i + 1]);
      out[i + 2] = upper(out[i + 2]);
      i += 2;
    }
  }
  return out;
}

std::string canonical_query(std::string_view raw) {
  std::vector<std::pair<std::string, std::string>> params;
  size_t pos = 0;
  while (pos <= raw.size()) {
    const size_t amp = raw.find('&', pos);
    const std::string_view piece =
        raw.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    if (!piece.empty()) {
      const size_t eq = piece.find('=');
      std::pair<std::string, std::string> p;
      reencode(piece.substr(0, eq), p.first);
      if (eq != std::string_view::npos) reencode(piece.substr(eq + 1), p.second);
      params.push_back(std::move(p));
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out.push_back('&');
    out.append(name).append("=").append(value);
  }
  return out;
}

std::string canonical_header_value(std::span<const std::string_view> values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    bool pending_space = false;
    bool started = false;
    for (char c : values[i]) {
      if (c == ' ' || c == '\t') {
        pending_space = started;
        continue;
      }
      if (pending_space) out.push_back(' ');
      pending_space = false;
      started = true;
      out.push_back(c);
    }
  }
  return out;
}

std::string canonical_string(const CanonicalRequest& r) {
  std::string out;
  out.reserve(256 + r.request_target.size() * 2);
  out.append(kAlgorithm).push_back('\n');
  out.append(r.timestamp).push_back('\n');
  out.append(r.nonce).push_back('\n');
  out.append(r.method).push_back('\n');
  out.append(canonical_path(r.request_target)).push_back('\n');
  const size_t q = r.request_target.find('?');
  if (q != std::string_view::npos) out.append(canonical_query(r.request_target.substr(q + 1)));
  out.push_back('\n');
  for (size_t i = 0; i < r.signed_headers.size() && i < r.header_values.size(); ++i) {
    out.append(r.signed_headers[i]).append(":").append(r.header_values[i]).push_back('\n');
  }
  out.push_back('\n');
  for (size_t i = 0; i < r.signed_headers.size(); ++i) {
    if (i > 0) out.push_back(';');
    out.append(r.signed_headers[i]);
  }
  out.push_back('\n');
  out.append(r.content_sha256);
  return out;
}

std::string hmac_sha256_hex(std::string_view secret, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return lower_hex(mac, len);
}

std::string sha256_hex(std::string_view data) {
  const core::Sha256Digest d = core::sha256(data);
  return lower_hex(d.data(), d.size());
}

std::optional<Rejection> check_key(std::optional<std::string_view> value) {
  if (!value) return missing(kKeyHeader);
  if (value->empty() || value->size() > kMaxKeyLength) return malformed(kKeyHeader);
  return std::nullopt;
}

std::optional<Rejection> check_timestamp(std::optional<std::string_view> value, int64_t& seconds) {
  if (!value) return missing(kTimestampHeader);
  const auto ts = parse_timestamp(*value);
  if (!ts) return malformed(kTimestampHeader);
  seconds = *ts;
  return std::nullopt;
}

std::optional<Rejection> check_nonce(std::optional<std::string_view> value) {
  if (!value) return missing(kNonceHeader);
  if (!valid_nonce(*value)) return malformed(kNonceHeader);
  return std::nullopt;
}

std::optional<Rejection> parse_signed_request(const SignatureHeaders& h, SignedRequest& out) {
  const std::pair<const std::optional<std::string_view>*, std::string_view> required[] = {
      {&h.key, kKeyHeader},
      {&h.timestamp, kTimestampHeader},
      {&h.nonce, kNonceHeader},
      {&h.content_sha256, kContentSha256Header},
      {&h.signed_headers, kSignedHeadersHeader},
      {&h.signature, kSignatureHeader},
  };
  for (const auto& [value, name] : required) {
    if (!*value) return missing(name);
  }
  if (auto r = check_key(h.key)) return r;
  if (auto r = check_timestamp(h.timestamp, out.timestamp_seconds)) return r;
  if (auto r = check_nonce(h.nonce)) return r;
  if (!is_lower_hex_sha256(*h.content_sha256)) return malformed(kContentSha256Header);
  auto names = parse_signed_headers(*h.signed_headers);
  if (!names) return malformed(kSignedHeadersHeader);
  if (!is_lower_hex_sha256(*h.signature)) return malformed(kSignatureHeader);
  out.key = *h.key;
  out.timestamp = *h.timestamp;
  out.nonce = *h.nonce;
  out.content_sha256 = *h.content_sha256;
  out.signed_headers = std::move(*names);
  out.signature = *h.signature;
  return std::nullopt;
}

}  // namespace torii::plugins::signing
