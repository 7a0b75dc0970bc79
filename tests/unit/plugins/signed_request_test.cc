// The signed-request protocol of anti-tamper / anti-replay: header syntax,
// canonical forms, the canonical string against a vector computed with the
// openssl command line (docs/plugins/anti-tamper.md shows the same one),
// and the order of presence / syntax checks.
#include "plugins/signed_request.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace torii::plugins::signing {
namespace {

TEST(SignedRequest, timestamps_are_seconds_or_13_digit_milliseconds) {
  EXPECT_EQ(parse_timestamp("1700000000"), 1700000000);
  EXPECT_EQ(parse_timestamp("1700000000123"), 1700000000);
  EXPECT_EQ(parse_timestamp("0"), 0);
  EXPECT_EQ(parse_timestamp("170000000012"), 170000000012);  // 12 digits: seconds, far future
  EXPECT_FALSE(parse_timestamp(""));
  EXPECT_FALSE(parse_timestamp("17000000001234"));  // 14 digits
  EXPECT_FALSE(parse_timestamp("-1700000000"));
  EXPECT_FALSE(parse_timestamp("1700000000.5"));
  EXPECT_FALSE(parse_timestamp(" 1700000000"));
}

TEST(SignedRequest, nonces_are_16_to_64_url_safe_characters) {
  EXPECT_TRUE(valid_nonce("0123456789abcdef"));
  EXPECT_TRUE(valid_nonce(std::string(64, 'Z')));
  EXPECT_TRUE(valid_nonce("550e8400-e29b-41d4-a716-446655440000"));
  EXPECT_TRUE(valid_nonce("abc_DEF-0123456789"));
  EXPECT_FALSE(valid_nonce("0123456789abcde"));  // 15
  EXPECT_FALSE(valid_nonce(std::string(65, 'a')));
  EXPECT_FALSE(valid_nonce("0123456789abcdef:"));
  EXPECT_FALSE(valid_nonce("0123456789 abcdef"));
  EXPECT_FALSE(valid_nonce("0123456789abcdef\xc3\xa9"));
}

TEST(SignedRequest, hex_sha256_is_64_lower_case_digits) {
  EXPECT_TRUE(is_lower_hex_sha256(sha256_hex("")));
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_FALSE(is_lower_hex_sha256("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
  EXPECT_FALSE(is_lower_hex_sha256(std::string(63, 'a')));
  EXPECT_FALSE(is_lower_hex_sha256(std::string(64, 'g')));
}

TEST(SignedRequest, signed_header_lists_are_sorted_lower_case_and_distinct) {
  auto names = parse_signed_headers("x-b;host;content-type");
  ASSERT_TRUE(names);
  EXPECT_EQ(*names, (std::vector<std::string_view>{"content-type", "host", "x-b"}));
  EXPECT_FALSE(parse_signed_headers(""));
  EXPECT_FALSE(parse_signed_headers("host;"));
  EXPECT_FALSE(parse_signed_headers(";host"));
  EXPECT_FALSE(parse_signed_headers("host; x-a"));
  EXPECT_FALSE(parse_signed_headers("Host"));
  EXPECT_FALSE(parse_signed_headers("host;host"));
  EXPECT_FALSE(parse_signed_headers("host;x-torii-signature"));
  EXPECT_FALSE(parse_signed_headers("ho:st"));
  std::string many = "host";
  for (size_t i = 1; i < kMaxSignedHeaders; ++i) many += ";x-" + std::to_string(i);
  EXPECT_TRUE(parse_signed_headers(many));
  EXPECT_FALSE(parse_signed_headers(many + ";x-one-more"));
}

TEST(SignedRequest, clock_window_and_nonce_ttl) {
  EXPECT_TRUE(within_skew(1000, 1300, 300));
  EXPECT_TRUE(within_skew(1300, 1000, 300));
  EXPECT_FALSE(within_skew(999, 1300, 300));
  EXPECT_FALSE(within_skew(1301, 1000, 300));
  // Remembered while the timestamp is accepted: ts + skew - now + 1.
  EXPECT_EQ(nonce_ttl(1000, 1000, 300), 301);
  EXPECT_EQ(nonce_ttl(1000, 1300, 300), 1);
  EXPECT_EQ(nonce_ttl(1300, 1000, 300), 601);  // future-dated: the full +-skew window
}

TEST(SignedRequest, canonical_path_uppercases_escapes_only) {
  EXPECT_EQ(canonical_path("/a%2fb%c3%A9/c?x=1"), "/a%2Fb%C3%A9/c");
  EXPECT_EQ(canonical_path("/a/../b/./c"), "/a/../b/./c");
  EXPECT_EQ(canonical_path("/100%"), "/100%");
  EXPECT_EQ(canonical_path("/%zz%4"), "/%zz%4");
  EXPECT_EQ(canonical_path(""), "/");
  EXPECT_EQ(canonical_path("?a=1"), "/");
  EXPECT_EQ(canonical_path("http://example.com/p%7e?q"), "/p%7E");
  EXPECT_EQ(canonical_path("http://example.com"), "/");
  EXPECT_EQ(canonical_path(canonical_path("/a%2fb%c3")), canonical_path("/a%2fb%c3"));
}

TEST(SignedRequest, canonical_query_decodes_reencodes_and_sorts) {
  EXPECT_EQ(canonical_query(""), "");
  EXPECT_EQ(canonical_query("b=2&a=1"), "a=1&b=2");
  EXPECT_EQ(canonical_query("a=2&a=1&a=10"), "a=1&a=10&a=2");
  EXPECT_EQ(canonical_query("flag&&x="), "flag=&x=");
  EXPECT_EQ(canonical_query("k=a b+c"), "k=a%20b%2Bc");
  EXPECT_EQ(canonical_query("k=%7e%41%2f"), "k=~A%2F");
  EXPECT_EQ(canonical_query("k=100%&j=%zz"), "j=%25zz&k=100%25");
  EXPECT_EQ(canonical_query("e=%C3%A9&e2=\xc3\xa9"), "e=%C3%A9&e2=%C3%A9");
  EXPECT_EQ(canonical_query("a=b=c"), "a=b%3Dc");
  // Sorted by name first, then value: "a" before "a-b" whatever the values.
  EXPECT_EQ(canonical_query("a-b=1&a=9"), "a=9&a-b=1");
  const std::string q = "z=1&y=%2f&x=a+b&w";
  EXPECT_EQ(canonical_query(canonical_query(q)), canonical_query(q));
}

TEST(SignedRequest, canonical_header_values_trim_and_collapse_whitespace) {
  const std::vector<std::string_view> one = {"  acme \t  corp  "};
  EXPECT_EQ(canonical_header_value(one), "acme corp");
  const std::vector<std::string_view> two = {"a", " b  c "};
  EXPECT_EQ(canonical_header_value(two), "a,b c");
  const std::vector<std::string_view> empty = {"   "};
  EXPECT_EQ(canonical_header_value(empty), "");
}

// The example of docs/plugins/anti-tamper.md, signed with
//   printf '%s' "$canonical" | openssl dgst -sha256 -mac HMAC -macopt key:jack-secret-0123456789
TEST(SignedRequest, canonical_string_and_signature_match_the_documented_example) {
  const std::vector<std::string_view> names = {"content-type", "host"};
  const std::vector<std::string> values = {"application/json", "api.example.com"};
  CanonicalRequest r;
  r.timestamp = "1700000000";
  r.nonce = "4f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e";
  r.method = "POST";
  r.request_target = "/api/orders?b=2&a=1";
  const std::string body_hash = sha256_hex("{\"amount\":100}");
  r.content_sha256 = body_hash;
  r.signed_headers = names;
  r.header_values = values;
  const std::string canonical = canonical_string(r);
  EXPECT_EQ(canonical,
            "TORII1-HMAC-SHA256\n1700000000\n4f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e\nPOST\n/api/orders\n"
            "a=1&b=2\ncontent-type:application/json\nhost:api.example.com\n\ncontent-type;host\n"
            "4d4bbe59c6aad22442cde199a6a8a5f034405fcd78fb5a81c24ef249de1c45f1");
  EXPECT_EQ(hmac_sha256_hex("jack-secret-0123456789", canonical),
            "a79a87820ef53d03f78edd4e6298ee33bd075b842a99885ea296323195372535");

  // No query, no body.
  r.request_target = "/api/orders";
  const std::string empty_hash = sha256_hex("");
  r.content_sha256 = empty_hash;
  EXPECT_NE(canonical_string(r).find("\n/api/orders\n\ncontent-type:"), std::string::npos);
}

TEST(SignedRequest, presence_is_checked_before_syntax_in_header_order) {
  SignatureHeaders h;
  SignedRequest out;
  auto r = parse_signed_request(h, out);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, Reject::kAuthMissing);
  EXPECT_EQ(r->message, "missing header: X-Torii-Key");

  h.key = "k";
  h.timestamp = "not-a-number";
  h.nonce = "0123456789abcdef";
  const std::string empty_hash = sha256_hex("");
  h.content_sha256 = empty_hash;
  h.signed_headers = "host";
  r = parse_signed_request(h, out);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->message, "missing header: X-Torii-Signature");  // presence first

  h.signature = std::string_view("0000000000000000000000000000000000000000000000000000000000000000");
  r = parse_signed_request(h, out);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, Reject::kAuthMalformed);
  EXPECT_EQ(r->message, "invalid X-Torii-Timestamp");

  h.timestamp = "1700000000";
  const std::string long_key(kMaxKeyLength + 1, 'k');
  h.key = long_key;
  r = parse_signed_request(h, out);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->message, "invalid X-Torii-Key");
  EXPECT_TRUE(out.key.empty());  // nothing is filled on failure

  h.key = "k";
  EXPECT_FALSE(parse_signed_request(h, out));
  EXPECT_EQ(out.timestamp_seconds, 1700000000);
  EXPECT_EQ(out.signed_headers, (std::vector<std::string_view>{"host"}));
}

}  // namespace
}  // namespace torii::plugins::signing
