// The client side of anti-tamper / anti-replay, written from
// docs/plugins/anti-tamper.md on its own (it shares no code with the
// gateway's src/plugins/signed_request.cc), so a test that passes proves
// the documented algorithm and the gateway agree.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace torii::testing {

struct SigningInput {
  std::string key;
  std::string secret;
  std::string method = "GET";
  std::string target = "/";  // path and query as sent ("/echo?b=2&a=1")
  // Headers to sign and send, e.g. {"Host", "127.0.0.1:9080"}; names in any case.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int64_t timestamp = 0;  // 0: now
  std::string nonce;      // empty: a fresh random one (32 hex characters)
};

// "Name: value" lines to send: the signed headers, then X-Torii-Key,
// X-Torii-Timestamp, X-Torii-Nonce, X-Torii-Content-SHA256,
// X-Torii-Signed-Headers and X-Torii-Signature.
std::vector<std::string> sign_request(const SigningInput& in);

// A new random nonce (32 lower-case hex characters).
std::string random_nonce();

// Lower-case hex SHA-256.
std::string sha256_hex_of(const std::string& data);

}  // namespace torii::testing
