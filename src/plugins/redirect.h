// redirect's process-wide setting: the port http_to_https sends clients to
// (config.yaml plugin_attr.redirect.https_port, else the first
// apisix.ssl.listen port; 443 is left out of the Location). Set once at
// start, before the first snapshot is built; instances read it when built.
#pragma once

#include <cstdint>

namespace torii::plugins::redirect {

void set_https_port(uint16_t port);

}  // namespace torii::plugins::redirect
