// The plugin API: what a plugin implements (Plugin), what it sees and may
// change of a request (PluginContext), and how it answers early (Exit).
//
// Lifecycle. A plugin file registers a PluginInfo (plugin_registry.h) whose
// `create` turns one conf (a route's, a service's, a global rule's, ...)
// into an immutable Plugin instance. Instances are built on the control
// thread when a snapshot is compiled, shared by every worker, and kept
// across snapshots while their owner and conf are unchanged (so counters
// survive unrelated config changes and reset when the conf changes, as in
// APISIX). State shared by the workers of a node lives inside the instance
// and uses one documented mechanism per kind (atomics, a mutex-guarded
// table, or per-worker shards summed on read: see PluginContext::worker()).
//
// Phases, in request order (APISIX's): rewrite -> access -> before_proxy ->
// (upstream) -> header_filter -> body_filter -> log. In each phase global
// rules run first, then the route's merged chain, each in descending
// priority. A request phase may answer with an Exit: the rest of the request
// phases are skipped, but header_filter, body_filter and log still run (so
// cors adds its headers to a 401, and prometheus counts it).
//
// Threading. Phase methods run on a worker thread, many at once on
// different workers for the same instance: they are const, and anything they
// mutate must be safe for that. A phase must not block: a plugin that needs
// I/O (Redis) declares the phase asynchronous and implements the *_async
// variant, a coroutine on the worker's executor.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "http/method.h"
#include "http/variables.h"
#include "net/io.h"

namespace torii::upstream {
struct Upstream;
}

namespace torii::plugins {

struct Consumer;
struct Credential;
class ConsumerDirectory;

enum class Phase : uint8_t {
  kRewrite,
  kAccess,
  kBeforeProxy,
  kHeaderFilter,
  kBodyFilter,
  kLog,
};

// An early answer, APISIX's core.response.exit(status, body).
struct Exit {
  int status = 0;
  // Sent as is. Empty with status >= 400: nginx's error page for the status.
  std::string body;
  // Empty: "text/plain" (APISIX's default_type; it does not set a type for
  // JSON bodies either), or text/html for the error page.
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;

  // APISIX's `return code, {message = msg}`: {"message":"<msg>"} + "\n".
  static Exit message(int status, std::string_view msg);
  // A JSON body (serialised) + "\n", as APISIX encodes a table body.
  static Exit json(int status, const boost::json::object& body);
};

// What a request phase (rewrite, access, before_proxy) returns.
using Step = std::optional<Exit>;  // nullopt: go on
inline constexpr std::nullopt_t kContinue = std::nullopt;

// Per-request state a plugin keeps between its phases (limit-conn's held
// slot, api-breaker's counters). Owned by the request, destroyed after log.
class RequestState {
 public:
  virtual ~RequestState() = default;
};

// One request, as plugins see it. Implemented by the proxy. Views returned
// stay valid until the request ends. Methods documented "(rewrite/access)"
// only have an effect before the upstream request is built.
class PluginContext : public http::VarSource {
 public:
  // ---- the request as received ----
  virtual http::Method method() const = 0;
  virtual std::string_view method_token() const = 0;
  // Decoded, normalised path ($uri) and the raw request-target with query.
  virtual std::string_view uri() const = 0;
  virtual std::string_view request_uri() const = 0;
  virtual std::string_view query() const = 0;  // raw, without '?'
  virtual std::string_view host() const = 0;   // lower-case, no port
  virtual std::string_view scheme() const = 0;
  virtual std::string_view remote_addr() const = 0;
  // The first request header with this name (case-insensitive).
  virtual std::optional<std::string_view> request_header(std::string_view name) const = 0;
  // Every request header with this name, in order.
  virtual std::vector<std::string_view> request_headers(std::string_view name) const = 0;
  // Every request header as received: (name as sent, value), in order.
  virtual std::vector<std::pair<std::string_view, std::string_view>> all_request_headers()
      const = 0;
  virtual std::string_view route_id() const = 0;    // empty when no route matched
  virtual std::string_view service_id() const = 0;  // empty when none
  // The worker running the request (0..workers-1), for per-worker shards.
  virtual unsigned worker() const = 0;
  virtual unsigned workers() const = 0;

  // ---- changes to what is sent upstream (rewrite/access/before_proxy) ----
  // The request-target sent upstream (path and query, raw).
  virtual void set_upstream_uri(std::string target) = 0;
  virtual void set_upstream_method(std::string method) = 0;
  virtual void set_upstream_host(std::string host) = 0;
  // Replaces every header of that name (set), appends one (add), removes all
  // (remove). Torii's own X-Real-IP / X-Forwarded-* and framing headers are
  // applied after and cannot be changed this way.
  virtual void set_request_header(std::string_view name, std::string_view value) = 0;
  virtual void add_request_header(std::string_view name, std::string_view value) = 0;
  virtual void remove_request_header(std::string_view name) = 0;
  // Sends the request to this upstream instead of the route's (traffic-split).
  virtual void set_upstream(std::shared_ptr<const upstream::Upstream> up) = 0;
  // The client address every later phase, the access log, X-Real-IP and
  // X-Forwarded-For see (real-ip; rewrite phase). Must be an IP literal.
  virtual void set_remote_addr(std::string addr) = 0;
  // Overrides client_max_body_size for this request (client-control; 0:
  // unlimited). Applies to the body torii has not read yet: over the limit,
  // the request gets 413.
  virtual void set_max_body_size(uint64_t bytes) = 0;

  // ---- the request body (asynchronous rewrite/access phases only) ----
  // Reads the whole request body into memory (Content-Length or chunked,
  // de-chunked; an Expect: 100-continue is answered first) and returns it.
  // At most `limit` bytes are accepted; the request's own limit
  // (client_max_body_size, or client-control's) applies too, the smaller
  // wins. The view stays valid until the request ends; calling again returns
  // the same bytes (checked against the new `limit`). Once read, the proxy
  // sends exactly these bytes upstream with a Content-Length (no chunking)
  // instead of streaming from the client. A request without a body gives an
  // empty view and changes nothing.
  // Errors (source kDownstream):
  //   kTooLarge  over the limit: the caller answers 413. When Content-Length
  //              announced it, nothing was read and the request can still be
  //              proxied, streaming as usual; a chunked body found too large
  //              while reading cannot.
  //   kTimeout   client_body_timeout passed between two reads (408).
  //   kClosed / kIo  the client closed the connection or the read failed.
  //   kInvalid   malformed chunked framing (400); also when called after the
  //              request was sent upstream (source kInternal).
  // After an error that consumed body bytes the body is lost: if the plugin
  // lets the request go on, the proxy answers that error itself (413, 408,
  // 400, or closes) and never forwards a partial body.
  virtual net::Task<core::Result<std::string_view>> read_request_body(uint64_t limit) = 0;

  // ---- the response (header_filter; status also in log) ----
  virtual int response_status() const = 0;
  virtual void set_response_status(int status) = 0;
  // The header's value as the response has it now (the plugins' edits
  // applied); several lines of that name come back joined by ", " (RFC 9110
  // 5.3: one list), so "Content-Encoding: gzip" twice reads "gzip, gzip".
  virtual std::optional<std::string_view> response_header(std::string_view name) const = 0;
  virtual void set_response_header(std::string_view name, std::string_view value) = 0;
  virtual void add_response_header(std::string_view name, std::string_view value) = 0;
  virtual void remove_response_header(std::string_view name) = 0;
  // Replaces the whole response body (header_filter): the upstream's body is
  // read and dropped, Content-Length is set to the new body's size.
  virtual void replace_response_body(std::string body) = 0;

  // ---- consumers (auth plugins; plugins/consumer.h) ----
  // The snapshot's consumers and credentials, for auth plugins' lookups.
  virtual const ConsumerDirectory& consumers() const = 0;
  // Identifies the request's consumer (APISIX consumer.attach_consumer; an
  // auth plugin's rewrite phase). Sets $consumer_name and
  // $consumer_group_id; sets X-Consumer-Username, X-Credential-Identifier
  // and X-Consumer-Custom-ID on the upstream request, removing any a client
  // sent when the value is empty; and the consumer's (and its group's)
  // plugins join the chain from here on: their rewrite phase runs right
  // after this phase, then the merged access phase. A later call (a second
  // auth plugin) replaces the consumer. `credential_id` may be empty.
  virtual void attach_consumer(std::shared_ptr<const Consumer> consumer,
                               std::string credential_id) = 0;
  // The attached consumer, or null.
  virtual const Consumer* consumer() const = 0;

  // ---- a copy of the upstream request (before_proxy; proxy-mirror) ----
  // The request-target sent upstream: set_upstream_uri's, else the client's.
  virtual std::string_view upstream_target() const { return request_uri(); }
  // The head torii sends upstream as things stand, for a copy of the request
  // sent elsewhere: the upstream method, `target`, the Host the upstream
  // gets (per pass_host; "node" takes the first node's), the client's
  // headers with the plugins' edits and hop-by-hop headers dropped,
  // X-Real-IP / X-Forwarded-*, then `Content-Length: <body_length>` (none
  // when 0; never chunked), `Connection: close` and the blank line. Empty
  // when the request has no upstream (nothing to take the Host from).
  virtual std::string upstream_head_copy(std::string_view /*target*/,
                                         uint64_t /*body_length*/) const {
    return {};
  }

  // ---- the finished request in numbers (log phase) ----
  struct LogFigures {
    // $request_time: seconds, to the millisecond as the variable prints it.
    // nullopt when nil or not a number.
    std::optional<double> request_time;
    // $upstream_response_time: seconds to the millisecond, summed over the
    // attempts ("0.002, 0.001"; "-" counts 0). nullopt when no attempt has a
    // time (no upstream answered).
    std::optional<double> upstream_response_time;
    uint64_t request_length = 0;  // $request_length; 0 when nil
    uint64_t bytes_sent = 0;      // $bytes_sent when set, else $body_bytes_sent; 0 when nil
  };
  // The figures above as numbers, without printing and parsing text per
  // request (prometheus). The default reads and parses the variables (for a
  // context that only provides variables); the proxy overrides it with the
  // same values taken from its fields.
  virtual LogFigures log_figures() const;

  // ---- per-request plugin state ----
  // The slot of the running plugin instance in this request (null at first).
  virtual std::unique_ptr<RequestState>& state() = 0;
};

class Plugin {
 public:
  virtual ~Plugin() = default;

  // Request phases. Default: continue.
  virtual Step rewrite(PluginContext&) const { return kContinue; }
  virtual Step access(PluginContext&) const { return kContinue; }
  virtual Step before_proxy(PluginContext&) const { return kContinue; }
  // Asynchronous variants, called instead of the above when
  // is_async(phase) is true.
  virtual bool is_async(Phase) const { return false; }
  virtual net::Task<Step> rewrite_async(PluginContext& ctx) const;
  virtual net::Task<Step> access_async(PluginContext& ctx) const;

  // Response phases: they cannot answer early.
  virtual void header_filter(PluginContext&) const {}
  // `chunk` is the next piece of the response body, `last` marks the end;
  // the plugin may change `chunk` in place.
  virtual void body_filter(PluginContext&, std::string& chunk, bool last) const {}
  // After the response was sent (off the critical path of that response).
  virtual void log(PluginContext&) const {}

  // Which phases this plugin implements, so the runner skips the others
  // without a virtual call. A bit per Phase.
  virtual uint8_t phases() const = 0;
  static constexpr uint8_t bit(Phase p) { return static_cast<uint8_t>(1u << static_cast<uint8_t>(p)); }
};

// Where a conf comes from, for state keys and the effective-chain view.
struct PluginScope {
  std::string owner_key;  // "/apisix/routes/1", "/apisix/services/2", "/apisix/global_rules/g"
  unsigned workers = 1;   // worker threads of this node (per-worker shards)
  // The snapshot's upstream with that id, or null (traffic-split upstream_id).
  // Call it only inside create and keep what it returns, not the function:
  // the chain builder records each lookup and builds a new instance when an
  // id comes to name another upstream object.
  std::function<std::shared_ptr<const upstream::Upstream>(std::string_view id)> find_upstream;
  // This plugin's plugin_metadata (/apisix/plugin_metadata/{name}, without
  // `id`), or null when none is configured. Valid during create only: a
  // plugin copies what it needs. An instance is rebuilt when its plugin's
  // metadata changes.
  const boost::json::object* metadata = nullptr;
  // Compiles an inline upstream object (traffic-split weighted_upstreams);
  // errors name the field.
  std::function<core::Result<std::shared_ptr<const upstream::Upstream>>(
      const boost::json::object& upstream)> compile_upstream;
};

}  // namespace torii::plugins
