// ResourceApi: routing of Admin API requests to the resource kinds, and the
// GET, DELETE and /schema/validate handlers (apisix/admin/init.lua run(),
// resource.lua get/delete, v3_adapter.lua). Writes are in resource_write.cc.
#include "admin/resource_api.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include <ctime>
#include <exception>
#include <vector>

#include "admin/admin_reply.h"
#include "admin/collection_query.h"
#include "admin/plugins_api.h"
#include "admin/reference_checks.h"
#include "admin/resource_checks.h"
#include "admin/resource_envelope.h"
#include "admin/resource_kinds.h"
#include "admin/resource_target.h"
#include "config/resource_schemas.h"
#include "core/json_numbers.h"

namespace torii::admin {
namespace {

namespace json = boost::json;

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  while (!path.empty()) {
    const auto slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
  }
  if (!segments.empty() && segments.front().empty()) segments.erase(segments.begin());
  while (!segments.empty() && segments.back().empty()) segments.pop_back();
  return segments;
}

std::string join(const std::vector<std::string_view>& segments, std::size_t from) {
  std::string out;
  for (std::size_t i = from; i < segments.size(); ++i) {
    if (i > from) out += '/';
    out += segments[i];
  }
  return out;
}

const std::string* query_arg(const AdminRequest& request, std::string_view name) {
  auto it = request.query.find(name);
  return it == request.query.end() ? nullptr : &it->second;
}

AdminResponse not_found() { return error_reply(404, "not found"); }

bool is_write(Method m) { return m != Method::kGet; }

}  // namespace

int64_t ResourceApiOptions::default_now() { return static_cast<int64_t>(std::time(nullptr)); }

ResourceApi::ResourceApi(store::ConfigStore& store, ResourceApiOptions options)
    : store_(store), options_(std::move(options)) {
  if (!options_.now) options_.now = ResourceApiOptions::default_now;
}

std::string ResourceApi::item_key(const Target& target, std::string_view id) const {
  if (target.kind->segment == "credentials") {
    return options_.prefix + "/consumers/" + target.consumer + "/credentials/" + std::string(id);
  }
  return options_.prefix + "/" + std::string(target.kind->segment) + "/" + std::string(id);
}

std::string ResourceApi::collection_key(const Target& target) const {
  if (target.kind->segment == "credentials") {
    return options_.prefix + "/consumers/" + target.consumer + "/credentials/";
  }
  return options_.prefix + "/" + std::string(target.kind->segment) + "/";
}

net::Task<AdminResponse> ResourceApi::handle(AdminRequest request) {
  try {
    co_return co_await dispatch(std::move(request));
  } catch (const std::exception& e) {
    // Only allocation failures and bugs get here; keep serving.
    co_return error_reply(500, e.what());
  }
}

net::Task<AdminResponse> ResourceApi::dispatch(AdminRequest request) {
  const auto segments = split_path(request.path);
  Method method;
  if (segments.empty() || !parse_method(request.method, method)) co_return not_found();

  if (segments[0] == "plugins") {
    if (segments.size() >= 2 && segments[1] == "reload") co_return reload_plugins(request.method);
    if (method != Method::kGet) co_return not_found();
    if (segments.size() >= 2 && segments[1] == "list") co_return list_plugins(request.query);
    co_return get_plugin(segments.size() >= 2 ? segments[1] : std::string_view(), request.query);
  }

  // The body is decoded for every method, as APISIX does.
  Body body;
  if (!request.body.empty()) {
    boost::system::error_code ec;
    json::value parsed = json::parse(request.body, ec);
    if (ec || !core::json_numbers_finite(parsed)) {
      json::object out;
      out["error_msg"] =
          "invalid request body: " + (ec ? ec.message() : std::string("number out of range"));
      out["req_body"] = request.body;
      co_return json_reply(400, out);
    }
    body = std::move(parsed);
  }

  if (segments[0] == "schema") {
    if (method == Method::kPost && segments.size() >= 3 && segments[1] == "validate") {
      co_return validate_schema(segments[2], body);
    }
    co_return not_found();
  }

  Target target;
  std::size_t next = 1;  // the segment after the kind
  if (segments[0] == "consumers" && segments.size() >= 3 && segments[2] == "credentials") {
    target.kind = find_kind("credentials");
    target.consumer = std::string(segments[1]);
    next = 3;
  } else {
    target.kind = find_kind(segments[0]);
  }
  if (target.kind == nullptr) {
    co_return error_reply(404, "Unsupported resource type: " + std::string(segments[0]));
  }
  if (segments.size() > next) target.id = std::string(segments[next]);
  target.sub_path = join(segments, next + 1);

  if (is_write(method) && !options_.read_only_reason.empty()) {
    co_return error_reply(400, options_.read_only_reason);
  }
  if (target.kind->segment == "stream_routes" && !options_.stream_enabled &&
      (method == Method::kPut || method == Method::kPost || method == Method::kPatch)) {
    co_return error_reply(400, "stream mode is disabled, can not add stream routes");
  }
  if (!ttl_of(query_arg(request, "ttl"))) {
    co_return error_reply(400, "invalid argument ttl: should be a number");
  }
  if (!target.kind->supports(method)) {
    co_return error_reply(405, "not supported `" + std::string(method_name(method)) +
                                   "` method for " + std::string(target.kind->word));
  }

  switch (method) {
    case Method::kGet:
      co_return co_await get(std::move(target), std::move(request));
    case Method::kPut:
      co_return co_await put(std::move(target), std::move(request), std::move(body));
    case Method::kPost:
      co_return co_await post(std::move(target), std::move(request), std::move(body));
    case Method::kPatch:
      co_return co_await patch(std::move(target), std::move(request), std::move(body));
    case Method::kDelete:
      co_return co_await remove(std::move(target), std::move(request));
  }
  co_return not_found();
}

net::Task<AdminResponse> ResourceApi::get(Target target, AdminRequest request) {
  const ResourceKind& kind = *target.kind;
  if (target.id) {
    const std::string key = item_key(target, *target.id);
    auto found = co_await store_.get(key);
    if (!found) co_return store_failure(found.error());
    if (!*found) co_return key_not_found();
    const auto& kv = **found;
    co_return json_reply(200, item_envelope(key, public_value(kind, parse_stored(kv.value)),
                                            kv.create_revision, kv.mod_revision));
  }

  const std::string base = collection_key(target);
  auto range = co_await store_.range(base);
  if (!range) co_return store_failure(range.error());
  std::vector<ListItem> items;
  for (auto& kv : range->kvs) {
    // Skip the directory key itself (APISIX's "init_dir") and anything
    // nested deeper: a consumer's credentials are not consumers.
    const std::string_view rest = std::string_view(kv.key).substr(base.size());
    if (rest.empty() || rest.find('/') != std::string_view::npos) continue;
    items.push_back(ListItem{kv.key, public_value(kind, parse_stored(kv.value)), kv.create_revision,
                             kv.mod_revision});
  }

  auto result = query_collection(kind, request.query, std::move(items));
  if (auto* err = std::get_if<QueryError>(&result)) {
    co_return err->plain ? plain_reply(400, err->message) : error_reply(400, err->message);
  }
  auto& page = std::get<CollectionPage>(result);
  json::array list;
  for (auto& item : page.items) {
    list.push_back(
        item_envelope(item.key, std::move(item.value), item.created_index, item.modified_index));
  }
  json::object out;
  if (page.total == 0) {
    out["list"] = std::move(list);
    out["total"] = 0;
  } else {
    out["total"] = page.total;
    out["list"] = std::move(list);
  }
  co_return json_reply(200, out);
}

net::Task<AdminResponse> ResourceApi::remove(Target target, AdminRequest request) {
  const ResourceKind& kind = *target.kind;
  if (!target.id) co_return error_reply(400, "missing " + std::string(kind.word) + " id");
  const std::string key = item_key(target, *target.id);

  const std::string* force = query_arg(request, "force");
  if (force == nullptr || *force != "true") {
    auto st = co_await check_delete_references(store_, options_.prefix, target.kind, *target.id);
    if (!st) co_return check_failure(st.error());
  }

  // Deleting a consumer deletes its credentials with it (APISIX rmdir).
  auto removed = co_await store_.remove(key, kind.segment == "consumers");
  if (!removed) co_return store_failure(removed.error());
  if (removed->deleted == 0) co_return key_not_found();
  json::object out;
  out["deleted"] = "1";
  out["key"] = key;
  co_return json_reply(200, out);
}

AdminResponse ResourceApi::validate_schema(std::string_view resource, const Body& body) const {
  const ResourceKind* kind = find_kind(resource);
  // plugin_metadata has no resource schema of its own to validate against.
  if (kind == nullptr || kind->id_source == IdSource::kPluginName) {
    return error_reply(404, "Unsupported resource type: " + std::string(resource));
  }
  static const json::value kNull;
  const json::value& value = body ? *body : kNull;
  // APISIX answers a schema failure with the bare jsonschema message.
  if (const auto* schema = config::resource_schema(kind->segment)) {
    if (auto st = schema->validate(value); !st) return error_reply(400, st.error().message);
  }
  // Beyond APISIX's schema-only check: the rest of what a write would
  // refuse without reading the store (code rules, plugins, vars).
  if (auto st = validate_resource(*kind, value, ValidateContext{options_.encryption, {}}); !st) {
    return error_reply(400, st.error().message);
  }
  return plain_reply(200, "");
}

}  // namespace torii::admin
