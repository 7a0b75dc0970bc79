#include "signing_client.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

namespace torii::testing {

namespace {

std::string hex(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

// Percent-decode (invalid escapes stay literal), then encode all but
// A-Z a-z 0-9 - . _ ~ as %XX.
std::string rfc3986(const std::string& in) {
  std::string decoded;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && std::isxdigit(static_cast<unsigned char>(in[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      decoded += static_cast<char>(std::stoi(in.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      decoded += in[i];
    }
  }
  std::string out;
  for (unsigned char c : decoded) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Trim, collapse inner runs of spaces/tabs.
std::string tidy(const std::string& v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

std::string random_nonce() {
  unsigned char b[16];
  RAND_bytes(b, sizeof b);
  return hex(b, sizeof b);
}

std::string sha256_hex_of(const std::string& data) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d);
  return hex(d, sizeof d);
}

std::vector<std::string> sign_request(const SigningInput& in) {
  const std::string ts = std::to_string(in.timestamp ? in.timestamp : std::time(nullptr));
  const std::string nonce = in.nonce.empty() ? random_nonce() : in.nonce;
  const std::string body_hash = sha256_hex_of(in.body);

  const size_t q = in.target.find('?');
  std::string path = in.target.substr(0, q);
  for (size_t i = 0; i + 2 < path.size(); ++i) {
    if (path[i] == '%' && std::isxdigit(static_cast<unsigned char>(path[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(path[i + 2]))) {
      path[i + 1] = static_cast<char>(std::toupper(static_cast<unsigned char>(path[i + 1])));
      path[i + 2] = static_cast<char>(std::toupper(static_cast<unsigned char>(path[i + 2])));
    }
  }
  std::vector<std::pair<std::string, std::string>> params;
  if (q != std::string::npos) {
    std::string rest = in.target.substr(q + 1);
    size_t pos = 0;
    while (pos <= rest.size()) {
      size_t amp = rest.find('&', pos);
      if (amp == std::string::npos) amp = rest.size();
      const std::string piece = rest.substr(pos, amp - pos);
      if (!piece.empty()) {
        const size_t eq = piece.find('=');
        params.emplace_back(rfc3986(piece.substr(0, eq)),
                            eq == std::string::npos ? "" : rfc3986(piece.substr(eq + 1)));
      }
      pos = amp + 1;
    }
  }
  std::sort(params.begin(), params.end());
  std::string query;
  for (const auto& [k, v] : params) query += (query.empty() ? "" : "&") + k + "=" + v;

  std::map<std::string, std::string> signed_headers;  // sorted by lower-case name
  for (const auto& [name, value] : in.headers) signed_headers[lower(name)] = tidy(value);
  std::string names;
  std::string block;
  for (const auto& [name, value] : signed_headers) {
    names += (names.empty() ? "" : ";") + name;
    block += name + ":" + value + "\n";
  }
  const std::string canonical = "TORII1-HMAC-SHA256\n" + ts + "\n" + nonce + "\n" + in.method +
                                "\n" + path + "\n" + query + "\n" + block + "\n" + names + "\n" +
                                body_hash;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), in.secret.data(), static_cast<int>(in.secret.size()),
       reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(), mac, &len);

  std::vector<std::string> out;
  for (const auto& [name, value] : in.headers) out.push_back(name + ": " + value);
  out.push_back("X-Torii-Key: " + in.key);
  out.push_back("X-Torii-Timestamp: " + ts);
  out.push_back("X-Torii-Nonce: " + nonce);
  out.push_back("X-Torii-Content-SHA256: " + body_hash);
  out.push_back("X-Torii-Signed-Headers: " + names);
  out.push_back("X-Torii-Signature: " + hex(mac, len));
  return out;
}

}  // namespace torii::testing
