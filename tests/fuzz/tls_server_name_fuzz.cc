// libFuzzer target: the server_name extension of a TLS ClientHello, as the
// TLS listener reads it to pick a certificate (tls::parse_server_name_extension),
// then the SNI lookup in a certificate index. Checks: no crash or UB, and a
// name that comes back is 1..255 printable bytes without spaces.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "tls/server_cert.h"
#include "tls/tls_server.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string name = torii::tls::parse_server_name_extension(data, size);
  if (!name.empty()) {
    if (name.size() > 255) std::abort();
    for (char c : name) {
      if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
        std::abort();
      }
    }
  }
  static const torii::tls::CertIndex empty;
  if (empty.find(name) != nullptr) std::abort();
  return 0;
}
