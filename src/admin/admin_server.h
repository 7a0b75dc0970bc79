// The Admin API's HTTP/1.1 listener (deployment.admin.admin_listen). It runs
// on the control thread's io_context, never on a worker's, and owns what
// APISIX does in nginx and apisix/init.lua http_admin() before a resource
// module runs: allow_admin, the admin key check (admin/init.lua
// check_token), CORS, the OPTIONS and `HEAD /apisix/admin` answers, the
// 1.5 MiB body cap, HTTP framing, timeouts and connection limits. Requests
// under /apisix/admin that pass all of that go to the AdminHandler
// (resource_api); everything else is answered here.
//
// Order of checks for one request, each answering and stopping the request:
//   malformed head                       -> 400 (431/414/501), close
//   peer outside allow_admin             -> 403 (nginx page), close
//   path not under /apisix/admin         -> 404 (nginx page)
//   OPTIONS with enable_admin_cors       -> 200, CORS preflight headers
//   HEAD /apisix/admin                   -> 200 (health probe, no key needed)
//   method not GET/PUT/POST/PATCH/DELETE -> 404 (APISIX's router has no route)
//   admin key missing/wrong/viewer write -> 401 {"error_msg":"failed to check token",...}
//   body over 1.5 MiB                    -> 400 (APISIX's get_body error), close
//   body with an unsupported type        -> 415
//   otherwise: 100 Continue if asked, read the body, call the handler.
// A reply sent before the request body was read closes the connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "admin/admin_types.h"
#include "config/server_config.h"
#include "core/result.h"
#include "net/io.h"

namespace torii::admin {

// Largest request body accepted (APISIX admin/init.lua MAX_REQ_BODY).
inline constexpr uint64_t kMaxAdminBody = 1572864;  // 1.5 MiB

// Called once per request that passed the listener's checks, on the
// listener's executor. Requests of one connection are handled one at a time;
// different connections run concurrently. The returned response is sent as
// is, plus the listener's headers (Server, X-API-VERSION, CORS). It should not
// throw; if it does, the client gets 500 {"error_msg":"internal error"} and
// the exception is logged.
using AdminHandler = std::function<net::Task<AdminResponse>(AdminRequest)>;

struct AdminServerOptions {
  config::AdminSettings settings;
  std::string server_header = "APISIX";  // `Server:` of every response
  // Open connections allowed at once; newer ones are closed at accept.
  size_t max_connections = 1024;
  // A slow or silent client must not hold a connection forever: each phase
  // has this deadline of its own — the wait for the next request on a
  // kept-alive connection, a whole request head (from its first byte), a
  // whole body, one response write. On expiry the connection is closed.
  std::chrono::milliseconds io_timeout{60000};
};

class AdminServer {
 public:
  // Binds settings.ip:settings.port (port 0: the kernel picks, see port())
  // without SO_REUSEPORT, so a second gateway on the same port fails here,
  // and starts accepting on `ex`. Errors are config errors naming the
  // address: "admin_listen 127.0.0.1:9180: Address already in use", or an
  // invalid allow_admin entry, or admin_key_required with no key (the caller
  // runs load_or_generate_admin_key() first; Torii never runs the Admin API
  // open by accident). Call on the executor's thread or before it runs.
  static core::Result<std::unique_ptr<AdminServer>> start(net::Executor ex,
                                                          AdminServerOptions options,
                                                          AdminHandler handler);
  ~AdminServer();  // stop()
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // The bound port (the kernel's choice when settings.port was 0).
  uint16_t port() const;
  // Open connections right now.
  size_t connections() const;
  // Closes the listener and every open connection (a handler call in
  // progress completes, its response is dropped). Idempotent. Call on the
  // executor's thread, or when the io_context is not running.
  void stop();

  struct State;  // shared with the connection coroutines (admin_server.cc)

 private:
  explicit AdminServer(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace torii::admin
