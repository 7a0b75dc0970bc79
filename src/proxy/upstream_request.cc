#include "proxy/upstream_request.h"

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
  out.append(p.method.empty() ? req.method_token : p.method)
      .append(" ")
      .append(p.target)
      .append(" HTTP/1.1\r\nHost: ");
  out.append(p.host).append("\r\n");
  bool has_connection_list = false;
  for (const http::Header& h : req.headers) {
    has_connection_list = has_connection_list || iequals(h.name, "connection");
  }
  std::string xff;
  // From a trusted peer the first X-Forwarded-Proto/-Host/-Port are kept.
  std::optional<std::string_view> fwd_proto, fwd_host, fwd_port;
  for (const http::Header& h : req.headers) {
    if (iequals(h.name, "x-forwarded-for")) {
      if (!xff.empty()) xff.append(", ");
      xff.append(h.value);
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
        out.append(h.name).append(": ").append(h.value).append("\r\n");
        continue;
      }
    }
    if (skip_request_header(h.name)) continue;
    if (has_connection_list && listed_in_connection(req, h.name)) continue;
    if (p.edits && p.edits->drops(h.name)) continue;
    out.append(h.name).append(": ").append(h.value).append("\r\n");
  }
  if (p.edits) {
    for (const auto& e : p.edits->edits()) {
      if (!e.adds() || skip_request_header(e.name)) continue;
      out.append(e.name).append(": ").append(e.value).append("\r\n");
    }
  }
  out.append("X-Real-IP: ").append(p.remote_addr).append("\r\n");
  out.append("X-Forwarded-For: ");
  if (!xff.empty()) out.append(xff).append(", ");
  out.append(p.remote_addr).append("\r\n");
  out.append("X-Forwarded-Proto: ").append(fwd_proto.value_or(p.scheme)).append("\r\n");
  out.append("X-Forwarded-Host: ");
  if (fwd_host) out.append(*fwd_host);
  else out.append(req.host.empty() ? p.host : std::string_view(req.host));
  out.append("\r\nX-Forwarded-Port: ").append(fwd_port.value_or(p.server_port)).append("\r\n");
  if (p.websocket) {
    out.append("Upgrade: websocket\r\nConnection: upgrade\r\n");
  } else if (p.body_length) {
    out.append("Content-Length: ").append(std::to_string(*p.body_length)).append("\r\n");
  } else if (req.chunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  } else if (req.content_length) {
    out.append("Content-Length: ").append(std::to_string(*req.content_length)).append("\r\n");
  }
  out.append("\r\n");
}

}  // namespace torii::proxy
