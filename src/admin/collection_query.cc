// Filters and pagination of collection GETs (apisix/admin/v3_adapter.lua,
// plus the `filter` argument of APISIX 3.13+).
#include "admin/collection_query.h"

#include <re2/re2.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string_view>

#include "admin/lua_tostring.h"
#include "http/uri.h"
#include "router/lua_number.h"
#include "router/user_regex.h"

namespace torii::admin {
namespace {

namespace json = boost::json;
using Args = std::map<std::string, std::string, std::less<>>;

const std::string* arg(const Args& args, std::string_view name) {
  auto it = args.find(name);
  return it == args.end() ? nullptr : &it->second;
}

bool search(const re2::RE2& re, const json::value* v) {
  return v != nullptr && v->is_string() &&
         re2::RE2::PartialMatch(std::string_view(v->get_string()), re);
}

bool has_label(const json::object& value, std::string_view label) {
  const auto* labels = value.if_contains("labels");
  return labels != nullptr && labels->is_object() && labels->get_object().contains(label);
}

bool uri_matches(const json::object& value, const re2::RE2& re) {
  if (search(re, value.if_contains("uri"))) return true;
  const auto* uris = value.if_contains("uris");
  if (uris == nullptr || !uris->is_array()) return false;
  for (const auto& uri : uris->get_array()) {
    if (search(re, &uri)) return true;
  }
  return false;
}

// The fields `filter` may name, per kind (APISIX's list_filter_fields).
bool filterable(const ResourceKind& kind, std::string_view field) {
  if (kind.segment != "routes" && kind.segment != "stream_routes") return false;
  return field == "service_id" || field == "upstream_id";
}

// ngx.decode_args of the `filter` value: "k=v&k2=v2", each part
// percent-decoded; the first value of a repeated key wins.
std::vector<std::pair<std::string, std::string>> decode_filter(const ResourceKind& kind,
                                                               std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!text.empty()) {
    const auto amp = text.find('&');
    const std::string_view part = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    std::string key = http::percent_decode(part.substr(0, eq), true);
    std::string value = eq == std::string_view::npos
                            ? std::string()
                            : http::percent_decode(part.substr(eq + 1), true);
    if (!filterable(kind, key)) continue;
    const bool seen =
        std::any_of(out.begin(), out.end(), [&](const auto& kv) { return kv.first == key; });
    if (!seen) out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

std::variant<std::unique_ptr<re2::RE2>, QueryError> compile_arg(std::string_view name,
                                                                const std::string& pattern) {
  auto re = router::compile_user_regex(pattern, false);
  if (!re)
    return QueryError{false, "invalid argument " + std::string(name) + ": " + re.error().message};
  return std::move(*re);
}

}  // namespace

std::variant<CollectionPage, QueryError> query_collection(const ResourceKind& kind,
                                                          const Args& args,
                                                          std::vector<ListItem> items) {
  std::unique_ptr<re2::RE2> name_re;
  std::unique_ptr<re2::RE2> uri_re;
  if (const auto* name = arg(args, "name")) {
    auto re = compile_arg("name", *name);
    if (auto* err = std::get_if<QueryError>(&re)) return std::move(*err);
    name_re = std::move(std::get<0>(re));
  }
  if (const auto* uri = arg(args, "uri")) {
    auto re = compile_arg("uri", *uri);
    if (auto* err = std::get_if<QueryError>(&re)) return std::move(*err);
    uri_re = std::move(std::get<0>(re));
  }
  const std::string* label = arg(args, "label");
  std::vector<std::pair<std::string, std::string>> filters;
  if (const auto* filter = arg(args, "filter")) filters = decode_filter(kind, *filter);

  static const json::object kEmpty;
  std::erase_if(items, [&](const ListItem& item) {
    const json::object& value = item.value.is_object() ? item.value.get_object() : kEmpty;
    if (name_re && !search(*name_re, value.if_contains("name"))) return true;
    if (label != nullptr && !has_label(value, *label)) return true;
    if (uri_re && !uri_matches(value, *uri_re)) return true;
    for (const auto& [field, expected] : filters) {
      const auto* actual = value.if_contains(field);
      if (actual == nullptr || lua_tostring(*actual) != expected) return true;
    }
    return false;
  });

  CollectionPage page;
  page.total = items.size();

  const std::string* page_arg = arg(args, "page");
  const std::string* size_arg = arg(args, "page_size");
  const auto page_no = page_arg ? router::lua_tonumber(*page_arg) : std::nullopt;
  const auto page_size = size_arg ? router::lua_tonumber(*size_arg) : std::nullopt;
  if (!page_no || !page_size) {
    page.items = std::move(items);
    return page;
  }
  // Plain doubles from here: GCC 12 -O3 warns (wrongly) that the optionals'
  // values may be uninitialised.
  const double size_value = page_size.value_or(0);
  const double page_value = page_no.value_or(1);
  if (size_value < 10 || size_value > 500) {
    return QueryError{true, "page_size must be between 10 and 500"};
  }
  const auto size = static_cast<std::size_t>(size_value);
  // Any page past 1e9 is empty anyway; the cap keeps the cast defined.
  const auto number = static_cast<std::size_t>(std::clamp(page_value, 1.0, 1e9));

  std::stable_sort(items.begin(), items.end(), [](const ListItem& l, const ListItem& r) {
    return l.created_index < r.created_index;
  });
  const std::size_t from = (number - 1) * size;
  for (std::size_t i = from; i < items.size() && i < from + size; ++i) {
    page.items.push_back(std::move(items[i]));
  }
  return page;
}

}  // namespace torii::admin
