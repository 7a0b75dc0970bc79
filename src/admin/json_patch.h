// The two PATCH forms of the Admin API, with APISIX's semantics
// (apisix/core/table.lua `merge` and `patch`).
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string_view>

#include "core/result.h"

namespace torii::admin {

// Merges `patch` into `target` in place: an object over an object merges
// recursively, a null removes the key, anything else (arrays included)
// replaces the value wholesale. As in Lua, an empty object in `target`
// counts as an array and is replaced rather than merged.
void merge_patch(boost::json::object& target, const boost::json::object& patch);

// Replaces the value at `sub_path` ("upstream/nodes") inside `root` with
// `value`. Missing intermediate keys are created as empty objects (APISIX
// does the same); crossing a value that is not an object fails with
// "invalid sub-path: /<the path up to it>" (a JSON null is not an object
// either). An empty last segment replaces `root` itself, which must then
// still be an object.
core::Status patch_sub_path(boost::json::object& root, std::string_view sub_path,
                            boost::json::value value);

}  // namespace torii::admin
