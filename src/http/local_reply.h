// Responses torii generates itself (errors, 404s): the one place that turns
// a status into bytes, so every error a client sees is shaped the same way.
// Bodies follow APISIX: JSON `{"error_msg":...}` where APISIX sends JSON,
// nginx's HTML error page where APISIX lets nginx answer (502, 504, ...).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace torii::http {

std::string_view reason_phrase(int status);

// nginx-style HTML page for `status` ("<center>torii</center>" signature).
std::string html_error_page(int status);

struct LocalReply {
  LocalReply(int s, std::string type = "text/html", std::string b = {})  // NOLINT: implicit
      : status(s), content_type(std::move(type)), body(std::move(b)) {}
  int status = 500;
  std::string content_type = "text/html";
  std::string body;  // empty: the status's HTML page (unless empty_body)
  bool empty_body = false;  // send an empty body, not the HTML page
  std::vector<std::pair<std::string, std::string>> headers;  // extra response headers
};

// Serialises a complete local reply. `keep_alive` false adds
// "Connection: close". `head_only` (HEAD requests) omits the body bytes
// while keeping Content-Length.
std::string serialize_local_reply(const LocalReply& reply, std::string_view server,
                                  std::string_view date, bool keep_alive, bool head_only);

}  // namespace torii::http
