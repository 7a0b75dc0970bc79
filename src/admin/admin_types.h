// The request and response the Admin API's HTTP listener (admin_server)
// hands to and gets from the resource handlers (resource_api). The listener
// owns HTTP framing, allow_admin, authentication, CORS and body limits; the
// handlers own everything under /apisix/admin/ that touches resources.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace torii::admin {

struct AdminRequest {
  std::string method;  // "GET", "PUT", "POST", "PATCH", "DELETE" (upper case)
  // Path below "/apisix/admin", percent-decoded, without the query: for
  // "/apisix/admin/routes/1?ttl=5" it is "/routes/1"; "" for "/apisix/admin".
  std::string path;
  // Query arguments, percent-decoded; the first value wins for repeated names.
  std::map<std::string, std::string, std::less<>> query;
  std::string body;           // at most 1.5 MiB (the listener refuses more)
  std::string content_type;   // as sent, may be empty
  bool viewer = false;        // the caller's key has the viewer role (GET only)
};

struct AdminResponse {
  int status = 200;
  // The body as sent; JSON unless a handler says otherwise (APISIX answers
  // a few errors with plain strings, e.g. "page_size must be between 10 and
  // 500").
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

}  // namespace torii::admin
