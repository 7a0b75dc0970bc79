// Text forms of certificate fields, as nginx's $ssl_client_* variables
// print them.
#pragma once

#include <openssl/x509.h>

#include <string>

namespace torii::tls {

// The subject in RFC 2253 form ("CN=client,O=Example"), nginx's $ssl_client_s_dn.
std::string subject_text(X509* cert);
// The serial number in upper-case hex, nginx's $ssl_client_serial.
std::string serial_text(X509* cert);

}  // namespace torii::tls
