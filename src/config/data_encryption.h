// Encryption at rest of secrets stored in the config store, byte-compatible
// with APISIX's `apisix.data_encryption` (apisix/ssl.lua aes_encrypt_pkey /
// aes_decrypt_pkey, apisix/plugin.lua encrypt_conf / decrypt_conf), so that a
// value APISIX wrote into a shared etcd reads back in Torii and vice versa.
//
// The scheme, as APISIX has it: AES-128-CBC, the key AND the IV are both the
// 16-byte keyring entry, PKCS#7 padding, the ciphertext stored as standard
// base64 with `=` padding. Values are written with the FIRST keyring entry;
// reading tries every entry in order and takes the first whose padding is
// valid, so prepending a new key rotates writes while old values stay
// readable. (CBC with a fixed IV leaks equal prefixes of equal plaintexts and
// has no integrity check: that is APISIX's format, kept for compatibility.)
//
// An empty keyring disables encryption: values pass through unchanged both
// ways, as APISIX does when `keyring` is empty.
//
// Immutable after create(); every method is const and safe to call from any
// thread at once.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace torii::config {

class DataEncryption {
 public:
  // Encryption disabled (empty keyring).
  DataEncryption() = default;

  // `keyring` is `apisix.data_encryption.keyring` in config order. Each entry
  // must be exactly 16 bytes; otherwise fails with a kConfig error naming the
  // entry by position ("data_encryption.keyring[2]: ..."), never by value.
  static core::Result<DataEncryption> create(std::vector<std::string> keyring);

  // True when the keyring is not empty.
  bool enabled() const { return !keyring_.empty(); }

  // A plugin field listed in the plugin's `encrypt_fields` (APISIX
  // aes_encrypt_pkey(v, "data_encrypt")): base64(AES(first key, plain)).
  // Returns `plain` unchanged when disabled. Whether fields are encrypted at
  // all (`enable_encrypt_fields`) is the caller's decision.
  std::string encrypt(std::string_view plain) const;

  // The inverse of encrypt(). Returns `b64` unchanged when disabled. Fails
  // with a kConfig error when `b64` is not base64 (nginx's decoder rules:
  // `=` ends the data, any other non-alphabet byte is an error) or when no
  // keyring entry yields valid padding (written with a key no longer in the
  // keyring, or not an encrypted value at all).
  core::Result<std::string> decrypt(std::string_view b64) const;

  // An SSL private key (ssls `key`/`keys[i]`, upstream `tls.client_key`), as
  // APISIX aes_encrypt_pkey(v) without a field: only a value that starts
  // with "---" (a PEM block) is encrypted, anything else (already encrypted,
  // a `$secret://` or `$env://` reference) is returned unchanged.
  std::string encrypt_ssl_key(std::string_view key) const;

  // The inverse, as APISIX aes_decrypt_pkey(v): a value that starts with
  // "---" is plaintext PEM and returned unchanged, as is any value when
  // disabled; otherwise decrypt(), failing with "base64 decode ssl key
  // failed" or "decrypt ssl key failed" (APISIX's words). Unlike APISIX, a
  // keyring entry counts only when what it decrypts is a PEM block: a wrong
  // key passes the padding check about once in 256, and its garbage would
  // otherwise end the search before the right key (a rotated keyring) or
  // read as "failed to parse key".
  core::Result<std::string> decrypt_ssl_key(std::string_view stored) const;

  // Encrypts, in place, `key` and every string in `keys` of an ssls object
  // with encrypt_ssl_key(). Called by the Admin API after check_resource()
  // and before writing. Other fields and non-string values are untouched.
  void encrypt_ssl(boost::json::object& ssl) const;

  // Decrypts, in place, `key` and every `keys[i]` with decrypt_ssl_key(),
  // leaving `$secret://` / `$env://` references for the secret resolver.
  // On failure `ssl` may be partly decrypted and the error names the field:
  // "failed to decrypt ssl key: decrypt ssl key failed" or
  // "failed to decrypt ssl keys[2]: ..." (1-based, as APISIX counts).
  core::Status decrypt_ssl(boost::json::object& ssl) const;

 private:
  explicit DataEncryption(std::vector<std::string> keyring) : keyring_(std::move(keyring)) {}
  // decrypt(), taking the first keyring entry whose plaintext `accept`s.
  core::Result<std::string> decrypt_if(std::string_view b64,
                                       bool (*accept)(std::string_view)) const;

  std::vector<std::string> keyring_;  // each exactly 16 bytes
};

}  // namespace torii::config
