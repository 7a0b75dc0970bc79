// to_json: boost::json output with cjson's number format.
#include "admin/json_text.h"

#include <boost/json/serialize.hpp>
#include <cstdio>

namespace torii::admin {
namespace {

namespace json = boost::json;

void write(const json::value& v, std::string& out) {
  switch (v.kind()) {
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : v.get_object()) {
        if (!first) out += ',';
        first = false;
        out += json::serialize(key);
        out += ':';
        write(item, out);
      }
      out += '}';
      return;
    }
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& item : v.get_array()) {
        if (!first) out += ',';
        first = false;
        write(item, out);
      }
      out += ']';
      return;
    }
    case json::kind::double_: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.14g", v.get_double());
      out += buf;
      return;
    }
    default:
      out += json::serialize(v);
      return;
  }
}

}  // namespace

std::string to_json(const json::value& v) {
  std::string out;
  write(v, out);
  return out;
}

}  // namespace torii::admin
