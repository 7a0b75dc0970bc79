// consumer-restriction (priority 2400): allows or refuses a request by who it
// is (the consumer an auth plugin attached, or its group) or by where it
// goes (route id, service id), as APISIX 3.x's plugin.
//
// Phase: access (after the auth plugins' rewrite). `type` picks the value:
// consumer_name (default), consumer_group_id, route_id or service_id. No
// value (no consumer identified, a route without service, ...):
//   401 {"message":"The request is rejected, please check the <type> for this request"}
// Then, in this order: a value in `blacklist` is refused; with a `whitelist`
// a value not in it is refused; `allowed_by_methods` ([{user, methods}]),
// consulted only when the value is not whitelisted, refuses a method not
// listed for that user (and any user not listed). Refusal:
//   <rejected_code, default 403> {"message":"<rejected_msg>"} or
//   {"message":"The <type> is forbidden."}
#include <boost/json.hpp>
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "plugins/consumer.h"
#include "plugins/plugin.h"
#include "plugins/plugin_registry.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;

constexpr std::string_view kSchema = R"json({
  "type": "object",
  "properties": {
    "type": {
      "type": "string",
      "enum": ["consumer_name", "service_id", "route_id", "consumer_group_id"],
      "default": "consumer_name"
    },
    "blacklist": {"type": "array", "minItems": 1, "items": {"type": "string"}},
    "whitelist": {"type": "array", "minItems": 1, "items": {"type": "string"}},
    "allowed_by_methods": {
      "type": "array",
      "items": {
        "type": "object",
        "properties": {
          "user": {"type": "string"},
          "methods": {
            "type": "array",
            "minItems": 1,
            "items": {
              "description": "HTTP method",
              "type": "string",
              "enum": ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS",
                       "CONNECT", "TRACE", "PURGE"]
            }
          }
        }
      }
    },
    "rejected_code": {"type": "integer", "minimum": 200, "default": 403},
    "rejected_msg": {"type": "string"}
  },
  "anyOf": [
    {"required": ["blacklist"]},
    {"required": ["whitelist"]},
    {"required": ["allowed_by_methods"]}
  ]
})json";

enum class Subject : uint8_t { kConsumerName, kConsumerGroupId, kRouteId, kServiceId };

struct MethodRule {
  std::string user;
  std::vector<std::string> methods;
};

struct ConsumerRestrictionConfig {
  Subject subject = Subject::kConsumerName;
  std::string type = "consumer_name";
  std::vector<std::string> blacklist;
  std::vector<std::string> whitelist;
  std::vector<MethodRule> allowed_by_methods;
};

bool contains(const std::vector<std::string>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

class ConsumerRestriction final : public Plugin {
 public:
  ConsumerRestriction(ConsumerRestrictionConfig conf, Exit reject)
      : conf_(std::move(conf)), reject_(std::move(reject)) {
    missing_ = Exit::message(401, "The request is rejected, please check the " + conf_.type +
                                      " for this request");
  }

  uint8_t phases() const override { return bit(Phase::kAccess); }

  Step access(PluginContext& ctx) const override {
    std::string_view value;
    const Consumer* c = ctx.consumer();
    switch (conf_.subject) {
      case Subject::kConsumerName: value = c ? std::string_view(c->username) : ""; break;
      case Subject::kConsumerGroupId: value = c ? std::string_view(c->group_id) : ""; break;
      case Subject::kRouteId: value = ctx.route_id(); break;
      case Subject::kServiceId: value = ctx.service_id(); break;
    }
    if (value.empty()) return missing_;
    if (contains(conf_.blacklist, value)) return reject_;
    bool block = false;
    bool whitelisted = false;
    if (!conf_.whitelist.empty()) {
      whitelisted = contains(conf_.whitelist, value);
      block = !whitelisted;
    }
    if (!conf_.allowed_by_methods.empty() && !whitelisted &&
        !method_allowed(value, ctx.method_token())) {
      block = true;
    }
    if (block) return reject_;
    return kContinue;
  }

 private:
  bool method_allowed(std::string_view user, std::string_view method) const {
    for (const MethodRule& r : conf_.allowed_by_methods) {
      if (r.user == user) return contains(r.methods, method);
    }
    return false;
  }

  ConsumerRestrictionConfig conf_;
  Exit reject_;
  Exit missing_;
};

std::vector<std::string> strings(const json::value* v) {
  std::vector<std::string> out;
  if (!v || !v->is_array()) return out;
  for (const auto& x : v->get_array()) {
    if (x.is_string()) out.emplace_back(x.get_string());
  }
  return out;
}

core::Result<std::shared_ptr<const Plugin>> create(const json::object& conf, const PluginScope&) {
  ConsumerRestrictionConfig c;
  if (const auto* v = conf.if_contains("type"); v && v->is_string()) {
    c.type = std::string(v->get_string());
    if (c.type == "consumer_group_id") c.subject = Subject::kConsumerGroupId;
    if (c.type == "route_id") c.subject = Subject::kRouteId;
    if (c.type == "service_id") c.subject = Subject::kServiceId;
  }
  c.blacklist = strings(conf.if_contains("blacklist"));
  c.whitelist = strings(conf.if_contains("whitelist"));
  if (const auto* v = conf.if_contains("allowed_by_methods"); v && v->is_array()) {
    for (const auto& x : v->get_array()) {
      if (!x.is_object()) continue;
      MethodRule r;
      if (const auto* u = x.get_object().if_contains("user"); u && u->is_string()) {
        r.user = std::string(u->get_string());
      }
      r.methods = strings(x.get_object().if_contains("methods"));
      c.allowed_by_methods.push_back(std::move(r));
    }
  }
  int code = 403;
  if (const auto* v = conf.if_contains("rejected_code"); v && v->is_number()) {
    const double d = v->to_number<double>();
    code = d > 999 ? 999 : static_cast<int>(d);  // the schema sets minimum 200
  }
  std::string msg = "The " + c.type + " is forbidden.";
  if (const auto* v = conf.if_contains("rejected_msg"); v && v->is_string()) {
    msg = std::string(v->get_string());
  }
  Exit reject = Exit::message(code, msg);
  return std::shared_ptr<const Plugin>(
      std::make_shared<ConsumerRestriction>(std::move(c), std::move(reject)));
}

PluginInfo make_info() {
  PluginInfo info;
  info.name = "consumer-restriction";
  info.priority = 2400;
  info.schema = json::parse(kSchema);
  info.create = create;
  return info;
}

}  // namespace

namespace {
const plugins::PluginRegistration kRegistration{make_info()};
}

}  // namespace torii::plugins
