#include "http/request.h"

#include <array>
#include <cstdint>
#include <cstring>

namespace torii::http {
namespace {

// Branch-free: header names are compared a byte at a time on every request.
char lower(char c) {
  const auto u = static_cast<unsigned char>(c);
  return static_cast<char>(u + (static_cast<unsigned char>(u - 'A') < 26 ? 32 : 0));
}

bool valid_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ||
         c == ':' || c == '[' || c == ']';
}

// Lower-cases and strips the port: "Example.COM:8080" -> "example.com",
// "[::1]:80" -> "[::1]". False for characters nginx also refuses.
bool normalize_host(std::string_view in, std::string& out) {
  out.clear();
  if (in.empty()) return true;
  size_t end = in.size();
  if (in.front() == '[') {
    const size_t close = in.find(']');
    if (close == std::string_view::npos) return false;
    end = close + 1;
  } else {
    const size_t colon = in.find(':');
    if (colon != std::string_view::npos) end = colon;
  }
  out.reserve(end);
  for (size_t i = 0; i < end; ++i) {
    const char c = lower(in[i]);
    if (!valid_host_char(c)) return false;
    out.push_back(c);
  }
  while (!out.empty() && out.back() == '.') out.pop_back();  // "a.com." is "a.com"
  return !out.empty() || in.empty();
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

bool contains_token(std::string_view list, std::string_view token) {
  size_t pos = 0;
  while (pos < list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view item = list.substr(pos, comma - pos);
    if (iequals(trim(item), token)) return true;
    pos = comma + 1;
  }
  return false;
}

// llhttp accepts some line shapes RFC 9112 forbids in requests; a proxy must
// not, or it could disagree with the upstream about where headers end.
// Every LF must end a CRLF and must not start an obs-fold (LF then SP or
// HT). (That every CR is followed by LF, H1Parser checks for any message.)
// memchr scans, since the head is checked on every request.
bool head_is_clean(std::string_view head) {
  const char* const begin = head.data();
  const char* const end = begin + head.size();
  for (const char* p = begin; p < end; ++p) {
    p = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    if (p == nullptr) break;
    if (p == begin || p[-1] != '\r') return false;                       // bare LF
    if (p + 1 < end && (p[1] == ' ' || p[1] == '\t')) return false;      // obs-fold
  }
  return true;
}

// RFC 9110 5.6.2 token characters: what a field name may contain.
constexpr std::array<bool, 256> kTokenChars = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (const char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();

// llhttp's default build lets HT and FF into a request target; nginx
// (1.21.1+) refuses every control character there, and so do we: an
// upstream may split the request line at a tab.
bool target_is_clean(std::string_view target) {
  for (const char c : target) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b == 0x7f) return false;
  }
  return true;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    if (!kTokenChars[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

}  // namespace

namespace {

// Eight bytes lower-cased at once: 0x20 is added to each byte in 'A'..'Z'
// and to no other (bytes >= 0x80 are left alone).
uint64_t lower8(uint64_t x) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  const uint64_t low7 = x & (0x7f * kOnes);
  const uint64_t above_z = low7 + (0x25 * kOnes);    // high bit set where byte > 'Z'
  const uint64_t from_a = low7 + (0x3f * kOnes);     // high bit set where byte >= 'A'
  const uint64_t upper = ~x & (from_a ^ above_z) & (0x80 * kOnes);
  return x | (upper >> 2);
}

uint64_t load8(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

uint64_t load4(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

}  // namespace

bool iequals_bytes(const char* a, const char* b, size_t n) {
  if (n >= 8) {
    // Whole words, then the last eight bytes (overlapping the previous word).
    for (size_t i = 0; i + 8 <= n; i += 8) {
      if (lower8(load8(a + i)) != lower8(load8(b + i))) return false;
    }
    return lower8(load8(a + n - 8)) == lower8(load8(b + n - 8));
  }
  if (n >= 4) {
    // The first and the last four bytes (overlapping) as one word.
    return lower8(load4(a) | (load4(a + n - 4) << 32)) ==
           lower8(load4(b) | (load4(b + n - 4) << 32));
  }
  for (size_t i = 0; i < n; ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::optional<std::string_view> Request::header(std::string_view name) const {
  for (const Header& h : headers) {
    if (iequals(h.name, name)) return h.value;
  }
  return std::nullopt;
}

void Request::clear() {
  headers.clear();
  content_length.reset();
  chunked = expect_continue = websocket_upgrade = false;
  keep_alive = true;
  path.clear();
  host.clear();
  host_header = {};
}

int reply_status(RequestError e) {
  switch (e) {
    case RequestError::kNone: return 200;
    case RequestError::kBadRequest: return 400;
    case RequestError::kNotImplemented: return 501;
    case RequestError::kMethodNotAllowed: return 405;
    case RequestError::kVersionNotSupported: return 505;
  }
  return 400;
}

RequestError build_request(const H1Parser& parser, const core::InputBuffer& buf,
                           size_t head_start, Request& req) {
  req.clear();
  if (!head_is_clean(buf.view(head_start, parser.head_end() - head_start))) {
    return RequestError::kBadRequest;
  }
  // llhttp passes 0.9, 1.0, 1.1 and 2.0. nginx answers "HTTP/0.9" (a version
  // token HTTP/0.9 never had) with 400 and a major above 1 with 505.
  if (parser.http_major() == 0) return RequestError::kBadRequest;
  if (parser.http_major() > 1) return RequestError::kVersionNotSupported;
  req.method_token = buf.view(parser.method().off, parser.method().len);
  const auto method = parse_method(req.method_token);
  req.method = method.value_or(Method::kOther);
  if (req.method == Method::kConnect) return RequestError::kMethodNotAllowed;
  req.version_major = parser.http_major();
  req.version_minor = parser.http_minor();
  req.keep_alive = parser.keep_alive();
  req.chunked = parser.chunked();
  req.content_length = parser.content_length();

  int host_count = 0;
  bool connection_upgrade = false;
  std::string_view upgrade;
  req.headers.reserve(parser.headers().size());
  for (const HeaderSpan& hs : parser.headers()) {
    Header h{buf.view(hs.name.off, hs.name.len), buf.view(hs.value.off, hs.value.len)};
    // llhttp 8 lets "X A", "X-A " and "" through as names; RFC 9112 5.1 does not.
    if (!is_token(h.name)) return RequestError::kBadRequest;
    h.value = trim(h.value);
    if (iequals(h.name, "host")) {
      if (++host_count > 1) return RequestError::kBadRequest;
      req.host_header = h.value;
    } else if (iequals(h.name, "expect")) {
      if (!iequals(h.value, "100-continue")) return RequestError::kNotImplemented;
      req.expect_continue = req.version_minor >= 1;
    } else if (iequals(h.name, "connection")) {
      connection_upgrade = connection_upgrade || contains_token(h.value, "upgrade");
    } else if (iequals(h.name, "upgrade")) {
      upgrade = h.value;
    } else if (iequals(h.name, "transfer-encoding")) {
      // HTTP/1.0 has no chunked coding (nginx: 400); any coding but a lone
      // "chunked" would be dropped silently on the way up (nginx: 501).
      if (req.version_minor == 0) return RequestError::kBadRequest;
      if (!iequals(h.value, "chunked")) return RequestError::kNotImplemented;
    }
    req.headers.push_back(h);
  }
  // An upgrade carrying a body is not a tunnel request: its body would reach
  // the upstream unframed. It is proxied as a plain request instead.
  req.websocket_upgrade = connection_upgrade && iequals(upgrade, "websocket") && !req.has_body();

  std::string_view target = buf.view(parser.url().off, parser.url().len);
  if (!target_is_clean(target)) return RequestError::kBadRequest;
  // Absolute-form (RFC 9112 3.2.2): the authority replaces Host.
  if (target.size() > 7 && (target[0] == 'h' || target[0] == 'H')) {
    const size_t scheme_end = target.find("://");
    if (scheme_end == std::string_view::npos) return RequestError::kBadRequest;
    const size_t path_start = target.find('/', scheme_end + 3);
    req.host_header = target.substr(scheme_end + 3, path_start == std::string_view::npos
                                                        ? std::string_view::npos
                                                        : path_start - scheme_end - 3);
    target = path_start == std::string_view::npos ? std::string_view("/") : target.substr(path_start);
    // The Host header is ignored, so its value must not stay in the list
    // either: every reader of "Host" (a signature over it, $http_host, the
    // upstream head) sees the authority the request is routed by. Otherwise
    // a request signed for one host could be sent, unchanged but for its
    // target, to another host's route. (Without a Host header none is
    // added: every header stays a view into the head.)
    for (Header& h : req.headers) {
      if (iequals(h.name, "host")) h.value = req.host_header;
    }
    host_count = 1;
  }
  if (host_count == 0 && req.version_minor >= 1) return RequestError::kBadRequest;
  if (!normalize_host(req.host_header, req.host)) return RequestError::kBadRequest;

  if (const size_t hash = target.find('#'); hash != std::string_view::npos) {
    target = target.substr(0, hash);
  }
  req.target = target;
  const size_t q = target.find('?');
  req.raw_path = target.substr(0, q);
  req.query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  if (!normalize_path(req.raw_path, req.path)) return RequestError::kBadRequest;
  return RequestError::kNone;
}

}  // namespace torii::http
