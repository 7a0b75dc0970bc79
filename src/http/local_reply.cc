#include "http/local_reply.h"

#include "http/safe_field.h"

namespace torii::http {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Moved Temporarily";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Not Allowed";
    case 408: return "Request Time-out";
    case 411: return "Length Required";
    case 413: return "Request Entity Too Large";
    case 414: return "Request-URI Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Temporarily Unavailable";
    case 504: return "Gateway Time-out";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

std::string html_error_page(int status) {
  std::string title = std::to_string(status) + " " + std::string(reason_phrase(status));
  return "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title +
         "</h1></center>\r\n<hr><center>torii</center>\r\n</body>\r\n</html>\r\n";
}

std::string serialize_local_reply(const LocalReply& reply, std::string_view server,
                                  std::string_view date, bool keep_alive, bool head_only) {
  const std::string body =
      reply.body.empty() && !reply.empty_body ? html_error_page(reply.status) : reply.body;
  std::string out;
  out.reserve(160 + body.size());
  out.append("HTTP/1.1 ").append(std::to_string(reply.status)).append(" ");
  out.append(reason_phrase(reply.status)).append("\r\n");
  out.append("Date: ").append(date).append("\r\n");
  // Headers come from plugins (a redirect's Location rendered from $arg_x):
  // control bytes are escaped so none can end its line (http/safe_field.h).
  std::string scratch;
  const auto append_safe = [&out, &scratch](std::string_view v) { out.append(safe_field(v, scratch)); };
  out.append("Content-Type: ");
  append_safe(reply.content_type);
  out.append("\r\n");
  out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  for (const auto& [name, value] : reply.headers) {
    append_safe(name);
    out.append(": ");
    append_safe(value);
    out.append("\r\n");
  }
  if (!keep_alive) out.append("Connection: close\r\n");
  out.append("Server: ").append(server).append("\r\n\r\n");
  if (!head_only) out.append(body);
  return out;
}

}  // namespace torii::http
