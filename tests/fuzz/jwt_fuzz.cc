// libFuzzer target: JSON Web Tokens as jwt-auth receives them from clients.
// Every input is parsed; tokens that parse are verified against an HMAC key
// and an ECDSA P-256 key (the raw r||s -> DER conversion is the riskiest
// code). Checks: no crash or UB, verification never succeeds for a token
// that was not signed with the key, and base64url round-trips.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/base64.h"
#include "plugins/jwt.h"

namespace {

using torii::plugins::jwt::Algorithm;
using torii::plugins::jwt::Key;

constexpr std::string_view kP256Public =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEJXB1LDk1DQSbJj4ucLQVAKoB3F6v\n"
    "CE4157ZsGdVM6vIGd4jghY3kMXmpqCRLL4mwlToCwZi20++QYmPvLKTtow==\n"
    "-----END PUBLIC KEY-----\n";

const Key& hmac_key() {
  static const auto k = Key::create(Algorithm::kHS256, "fuzz-secret", false, "");
  return **k;
}

const Key& ec_key() {
  static const auto k = Key::create(Algorithm::kES256, "", false, kP256Public);
  if (!k) std::abort();  // the key above is a valid P-256 public key
  return **k;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto token = torii::plugins::jwt::parse_jwt(in);
  if (token) {
    // A fuzzer cannot forge HMAC-SHA256: success means the verifier is broken.
    if (hmac_key().verify(*token)) std::abort();
    if (ec_key().verify(*token)) std::abort();  // nor ECDSA without the private key
  }
  const std::string encoded = torii::core::base64url_encode(in);
  auto back = torii::core::base64url_decode(encoded);
  if (!back || *back != in) std::abort();
  return 0;
}
