#include "proxy/upstream_request.h"

#include "http/head_writer.h"
#include "http/safe_field.h"

namespace torii::proxy {
namespace {

using http::iequals;

bool listed_in_connection(const http::Request& req, std::string_view name) {
  for (const http::Header& h : req.headers) {
    if (!iequals(h.name, "connection")) continue;
    std::string_view v = h.value;
    size_t pos = 0;
    while (pos <= v.size()) {
      size_t comma = v.find(',', pos);
      if (comma == std::string_view::npos) comma = v.size();
      std::string_view tok = v.substr(pos, comma - pos);
      while (!tok.empty() && (tok.front() == ' ' || tok.front() == '\t')) tok.remove_prefix(1);
      while (!tok.empty() && (tok.back() == ' ' || tok.back() == '\t')) tok.remove_suffix(1);
      if (iequals(tok, name)) return true;
      pos = comma + 1;
    }
  }
  return false;
}

// Headers torii drops or rewrites itself.
bool skip_request_header(std::string_view n) {
  switch (n.size()) {
    case 2: return iequals(n, "te");
    case 4: return iequals(n, "host");
    case 6: return iequals(n, "expect");
    case 7: return iequals(n, "upgrade") || iequals(n, "trailer");
    case 9: return iequals(n, "x-real-ip") || iequals(n, "forwarded");
    case 10: return iequals(n, "connection") || iequals(n, "keep-alive");
    case 14: return iequals(n, "content-length");
    case 15: return iequals(n, "x-forwarded-for");
    case 16: return iequals(n, "x-forwarded-host") || iequals(n, "x-forwarded-port") ||
                    iequals(n, "proxy-connection");
    case 17: return iequals(n, "transfer-encoding") || iequals(n, "x-forwarded-proto");
    default: return false;
  }
}

}  // namespace

bool is_hop_by_hop_response_header(std::string_view n) {
  switch (n.size()) {
    case 2: return iequals(n, "te");
    case 6: return iequals(n, "server");
    case 7: return iequals(n, "upgrade") || iequals(n, "trailer");
    case 10: return iequals(n, "connection") || iequals(n, "keep-alive");
    case 14: return iequals(n, "content-length");
    case 16: return iequals(n, "proxy-connection");
    case 17: return iequals(n, "transfer-encoding");
    default: return false;
  }
}

bool is_framing_header(std::string_view n) {
  return !iequals(n, "server") && is_hop_by_hop_response_header(n);
}

void build_upstream_request_head(const http::Request& req, const UpstreamHeadParams& p,
                                 std::string& out) {
  // Room for the client's headers as they came plus what torii adds.
  size_t estimate = 256 + p.target.size() + p.host.size() + 3 * p.remote_addr.size();
  for (const http::Header& h : req.headers) estimate += h.name.size() + h.value.size() + 4;
  if (p.edits) {
    for (const auto& e : p.edits->edits()) estimate += e.name.size() + e.value.size() + 4;
  }
  http::HeadWriter w(out, estimate);
  // A target or host rewritten from variables (proxy-rewrite's uri with a
  // query built from $arg_x) may carry CR LF or spaces: escaped, they cannot
  // split the request line or add a request (http/safe_field.h).
  std::string target_scratch, host_scratch;
  w.put(p.method.empty() ? req.method_token : p.method)
      .put(" ")
      .put(http::safe_target(p.target, target_scratch))
      .put(" HTTP/1.1\r\n")
      .field("Host", http::safe_field(p.host, host_scratch));
  bool has_connection_list = false;
  for (const http::Header& h : req.headers) {
    has_connection_list = has_connection_list || iequals(h.name, "connection");
  }
  bool has_xff = false;
  // From a trusted peer the first X-Forwarded-Proto/-Host/-Port are kept.
  std::optional<std::string_view> fwd_proto, fwd_host, fwd_port;
  for (const http::Header& h : req.headers) {
    if (iequals(h.name, "x-forwarded-for")) {
      has_xff = true;
      continue;
    }
    if (p.trust_forwarded) {
      if (iequals(h.name, "x-forwarded-proto")) {
        if (!fwd_proto) fwd_proto = h.value;
        continue;
      }
      if (iequals(h.name, "x-forwarded-host")) {
        if (!fwd_host) fwd_host = h.value;
        continue;
      }
      if (iequals(h.name, "x-forwarded-port")) {
        if (!fwd_port) fwd_port = h.value;
        continue;
      }
      if (iequals(h.name, "forwarded")) {
        w.field(h.name, h.value);
        continue;
      }
    }
    if (skip_request_header(h.name)) continue;
    if (has_connection_list && listed_in_connection(req, h.name)) continue;
    if (p.edits && p.edits->drops(h.name)) continue;
    w.field(h.name, h.value);
  }
  if (p.edits) {
    for (const auto& e : p.edits->edits()) {
      if (!e.adds() || skip_request_header(e.name)) continue;
      w.field(e.name, e.value);
    }
  }
  w.field("X-Real-IP", p.remote_addr);
  w.put("X-Forwarded-For: ");
  if (has_xff) {
    // The client's X-Forwarded-For lines joined in the order received, a
    // separator only after something was written; then the client.
    bool any = false;
    for (const http::Header& h : req.headers) {
      if (!iequals(h.name, "x-forwarded-for")) continue;
      if (any) w.put(", ");
      w.put(h.value);
      any = any || !h.value.empty();
    }
    if (any) w.put(", ");
  }
  w.put(p.remote_addr).put("\r\n");
  w.field("X-Forwarded-Proto", fwd_proto.value_or(p.scheme));
  w.field("X-Forwarded-Host",
          fwd_host ? *fwd_host : (req.host.empty() ? p.host : std::string_view(req.host)));
  w.field("X-Forwarded-Port", fwd_port.value_or(p.server_port));
  if (p.websocket) {
    w.put("Upgrade: websocket\r\nConnection: upgrade\r\n");
  } else if (p.body_length) {
    w.put("Content-Length: ").put_uint(*p.body_length).put("\r\n");
  } else if (req.chunked) {
    w.put("Transfer-Encoding: chunked\r\n");
  } else if (req.content_length) {
    w.put("Content-Length: ").put_uint(*req.content_length).put("\r\n");
  }
  w.put("\r\n");
  w.finish();
}

}  // namespace torii::proxy
