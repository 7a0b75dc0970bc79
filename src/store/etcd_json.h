// What EtcdStore sends to and decodes from etcd's v3 JSON gateway, without
// any I/O: base64 keys, range ends, and the decoding of every answer
// (range, put / txn, delete, lease grant, authenticate, error objects, one
// message of a watch stream). etcd is a peer we do not control, so every
// decoder takes arbitrary JSON and fails with kUnavailable "etcd: malformed
// ..." rather than assume a shape; tests/fuzz/etcd_response_fuzz.cc drives
// them directly.
//
// Gateway conventions the decoders follow: int64 fields are printed as
// JSON strings and omitted when zero; bool fields are omitted when false;
// keys and values are base64.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/config_store.h"

namespace torii::store::etcd {

// A kUnavailable error from kUpstream, retryable, message "etcd: <message>".
core::Error unavailable(std::string message);

std::string b64_encode(std::string_view in);
// core/base64.h's nginx rules: the data ends at the first '='; nullopt when a
// byte before it is outside the alphabet or the length is impossible.
std::optional<std::string> b64_decode(std::string_view in);

// The smallest key greater than every key starting with `prefix` (etcd's
// range_end for a prefix); "\0" (every key) when there is none.
std::string prefix_end(std::string_view prefix);

// Field readers. read_int: absent -> 0 and true; an int64, a uint64 that
// fits, or a string holding exactly a decimal int64 -> true; else false.
// read_bool: true only for a present JSON true. read_string: "" unless a
// string. read_object: nullptr unless an object.
bool read_int(const boost::json::object& o, std::string_view name, int64_t& out);
bool read_bool(const boost::json::object& o, std::string_view name);
std::string_view read_string(const boost::json::object& o, std::string_view name);
const boost::json::object* read_object(const boost::json::object& o, std::string_view name);

// One mvccpb.KeyValue object.
core::Result<KeyValue> parse_kv(const boost::json::value& v);
// `o.prev_kv` if present; a malformed one sets `st` and returns nullopt.
std::optional<KeyValue> parse_prev_kv(const boost::json::object& o, core::Status& st);
// `root.header.revision`.
core::Result<int64_t> header_revision(const boost::json::object& root);
// APISIX's directory marker: a key ending in '/' holding "init_dir".
bool is_dir_marker(const KeyValue& kv);

// etcd's error answer ({"error": "...", "code": N}) as a store error.
struct GatewayError {
  core::Error error;
  bool unauthenticated = false;  // the token is missing, invalid or expired
};
// `doc`: the parsed answer, or nullptr when it was not JSON.
GatewayError gateway_error(const boost::json::value* doc, int status, std::string_view path);

// A unary call's HTTP answer: the document when `status` is 200 and `body`
// is a JSON object without "error"; else the error to return, with
// `unauthenticated` set when etcd refused the token.
struct Answer {
  std::optional<boost::json::value> doc;  // set on success (always an object)
  GatewayError failure;                   // meaningful when !doc
};
Answer decode_answer(int status, std::string_view body, std::string_view path);

// The token of /v3/auth/authenticate; on failure the error as
// authenticate() reports it (naming `user`, source kConfig).
core::Result<std::string> decode_token(int status, std::string_view body, std::string_view user);

// The answers of the unary calls; `root` is Answer::doc's object.
core::Result<std::string> decode_lease(const boost::json::object& root);  // lease ID
// /v3/kv/range over a prefix: directory markers dropped.
core::Result<RangeResult> decode_range(const boost::json::object& root);
// /v3/kv/range of one key: nullopt when absent.
core::Result<std::optional<KeyValue>> decode_get(const boost::json::object& root);
// /v3/kv/put (expect.kind == kAny) or the /v3/kv/txn that guards it: the
// stored `key`/`value` with revisions; a failed compare is kConflict.
core::Result<PutResult> decode_put(const boost::json::object& root, std::string key,
                                   std::string value, Expect expect);
// /v3/kv/deleterange (!with_children) or the /v3/kv/txn of two deletes.
core::Result<DeleteResult> decode_delete(const boost::json::object& root, bool with_children);

// One message (one line) of a /v3/watch stream.
enum class WatchStep : uint8_t {
  kContinue,   // created ack or progress notification; nothing to deliver
  kEvents,     // `events` (possibly empty after dropping markers) up to `last`
  kAuthAgain,  // the token expired (only when `auth_enabled`): `detail` says why
  kCompacted,  // the history at `last` + 1 is gone: `detail` says why
};
// `last` is the revision the watcher is complete up to; it moves forward
// with events and progress notifications. Fails for error messages and
// anything malformed.
core::Result<WatchStep> decode_watch_message(std::string_view line, bool auth_enabled,
                                             int64_t& last, std::string& detail,
                                             std::vector<WatchEvent>& events);

}  // namespace torii::store::etcd
