// Builders of Admin API response bodies.
#include "admin/admin_reply.h"

#include <boost/json/object.hpp>

#include "admin/json_text.h"

namespace torii::admin {

AdminResponse json_reply(int status, const boost::json::value& body) {
  AdminResponse r;
  r.status = status;
  r.body = to_json(body);
  return r;
}

AdminResponse error_reply(int status, std::string_view message) {
  boost::json::object body;
  body["error_msg"] = message;
  return json_reply(status, body);
}

AdminResponse plain_reply(int status, std::string body) {
  AdminResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

AdminResponse key_not_found() {
  boost::json::object body;
  body["message"] = "Key not found";
  return json_reply(404, body);
}

}  // namespace torii::admin
