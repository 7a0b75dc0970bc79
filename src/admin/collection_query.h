// GET on a collection: the filters and pagination of APISIX's v3 adapter
// (apisix/admin/v3_adapter.lua), applied to the items read from the store.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "admin/resource_kinds.h"

namespace torii::admin {

// One stored resource as the collection lists it.
struct ListItem {
  std::string key;  // full store key: "/apisix/routes/1"
  boost::json::value value;
  int64_t created_index = 0;
  int64_t modified_index = 0;
};

// A query argument the client got wrong. `plain`: APISIX answers with the
// bare message as the body ("page_size must be between 10 and 500"), else
// with {"error_msg": message}.
struct QueryError {
  bool plain = false;
  std::string message;
};

struct CollectionPage {
  std::vector<ListItem> items;  // the page, in key order or by createdIndex when paginated
  std::size_t total = 0;        // items that passed the filters, before pagination
};

// Applies, ANDed: `name` (regex search in `name`), `label` (has that label
// key), `uri` (regex search in `uri` or any of `uris`), `filter` (urlencoded
// k=v pairs, exact match on the kind's whitelisted fields: `service_id` and
// `upstream_id` for routes and stream_routes; other keys are ignored). Then,
// when both `page` and `page_size` are numbers, sorts by createdIndex and
// slices (page_size outside 10..500 is an error; page < 1 counts as 1).
// Regexes run on RE2; one RE2 cannot run is an error naming the argument.
std::variant<CollectionPage, QueryError> query_collection(
    const ResourceKind& kind, const std::map<std::string, std::string, std::less<>>& args,
    std::vector<ListItem> items);

}  // namespace torii::admin
