// APISIX-compatible AES-128-CBC encryption of stored secrets; see the header
// for the format and why it is what it is.
#include "config/data_encryption.h"

#include "core/base64.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <optional>

namespace torii::config {
namespace {

namespace json = boost::json;
using core::base64_decode;
using core::base64_encode;

constexpr std::size_t kKeySize = 16;

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

// resty.aes with `{iv = key}`: the key doubles as the IV.
std::optional<std::string> aes_128_cbc(bool encrypt, const std::string& key, std::string_view in) {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return std::nullopt;
  const auto* k = reinterpret_cast<const unsigned char*>(key.data());
  if (EVP_CipherInit_ex(ctx.get(), EVP_aes_128_cbc(), nullptr, k, k, encrypt ? 1 : 0) != 1) {
    return std::nullopt;
  }
  std::string out(in.size() + kKeySize, '\0');
  int n = 0;
  int total = 0;
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  if (EVP_CipherUpdate(ctx.get(), dst, &n, reinterpret_cast<const unsigned char*>(in.data()),
                       static_cast<int>(in.size())) != 1) {
    return std::nullopt;
  }
  total = n;
  // Fails on bad padding when decrypting: that is how a wrong key shows.
  if (EVP_CipherFinal_ex(ctx.get(), dst + total, &n) != 1) return std::nullopt;
  out.resize(static_cast<std::size_t>(total + n));
  return out;
}

bool has_prefix(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// apisix/secret.lua check_secret_uri: "$secret://", or "$env://" in any case.
bool is_secret_ref(std::string_view s) {
  if (has_prefix(s, "$secret://")) return true;
  std::string head(s.substr(0, 7));
  std::transform(head.begin(), head.end(), head.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return head == "$ENV://";
}

}  // namespace

core::Result<DataEncryption> DataEncryption::create(std::vector<std::string> keyring) {
  for (std::size_t i = 0; i < keyring.size(); ++i) {
    if (keyring[i].size() != kKeySize) {
      return core::config_error("data_encryption.keyring[" + std::to_string(i + 1) +
                                "]: must be exactly 16 bytes, got " +
                                std::to_string(keyring[i].size()));
    }
  }
  return DataEncryption(std::move(keyring));
}

std::string DataEncryption::encrypt(std::string_view plain) const {
  if (!enabled()) return std::string(plain);
  auto encrypted = aes_128_cbc(true, keyring_.front(), plain);
  // Encryption with a valid key cannot fail short of allocation failure;
  // APISIX then stores the value as given, and so do we.
  if (!encrypted) return std::string(plain);
  return base64_encode(*encrypted);
}

core::Result<std::string> DataEncryption::decrypt(std::string_view b64) const {
  return decrypt_if(b64, [](std::string_view) { return true; });
}

core::Result<std::string> DataEncryption::decrypt_if(std::string_view b64,
                                                     bool (*accept)(std::string_view)) const {
  if (!enabled()) return std::string(b64);
  const auto raw = base64_decode(b64);
  if (!raw) return core::config_error("base64 decode failed");
  for (const auto& key : keyring_) {
    if (auto plain = aes_128_cbc(false, key, *raw); plain && accept(*plain)) {
      ERR_clear_error();
      return std::move(*plain);
    }
  }
  // Leave nothing in this thread's OpenSSL error queue for a later TLS call
  // to misread as its own failure.
  ERR_clear_error();
  return core::config_error("decrypt failed: no data_encryption.keyring entry fits the value");
}

std::string DataEncryption::encrypt_ssl_key(std::string_view key) const {
  if (!enabled() || !has_prefix(key, "---")) return std::string(key);
  return encrypt(key);
}

core::Result<std::string> DataEncryption::decrypt_ssl_key(std::string_view stored) const {
  if (!enabled() || has_prefix(stored, "---")) return std::string(stored);
  if (!base64_decode(stored)) return core::config_error("base64 decode ssl key failed");
  auto plain = decrypt_if(stored, [](std::string_view p) { return has_prefix(p, "---"); });
  if (!plain) return core::config_error("decrypt ssl key failed");
  return plain;
}

void DataEncryption::encrypt_ssl(json::object& ssl) const {
  if (auto* key = ssl.if_contains("key"); key != nullptr && key->is_string()) {
    *key = encrypt_ssl_key(key->get_string());
  }
  if (auto* keys = ssl.if_contains("keys"); keys != nullptr && keys->is_array()) {
    for (auto& k : keys->get_array()) {
      if (k.is_string()) k = encrypt_ssl_key(k.get_string());
    }
  }
}

core::Status DataEncryption::decrypt_ssl(json::object& ssl) const {
  auto decrypt_one = [this](json::value& v, const std::string& field) -> core::Status {
    if (!v.is_string() || is_secret_ref(v.get_string())) return core::ok_status();
    auto plain = decrypt_ssl_key(v.get_string());
    if (!plain)
      return core::config_error("failed to decrypt ssl " + field + ": " + plain.error().message);
    v = *plain;
    return core::ok_status();
  };
  if (auto* key = ssl.if_contains("key"); key != nullptr) {
    if (auto st = decrypt_one(*key, "key"); !st) return st;
  }
  if (auto* keys = ssl.if_contains("keys"); keys != nullptr && keys->is_array()) {
    auto& arr = keys->get_array();
    for (std::size_t i = 0; i < arr.size(); ++i) {
      if (auto st = decrypt_one(arr[i], "keys[" + std::to_string(i + 1) + "]"); !st) return st;
    }
  }
  return core::ok_status();
}

}  // namespace torii::config
