// Encoding for and decoding of etcd's v3 JSON gateway (see etcd_json.h).
// The decoders were the bodies of EtcdStore's operations; they moved here
// unchanged so that the fuzz target reaches them without a socket.
#include "store/etcd_json.h"

#include "core/base64.h"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <charconv>
#include <utility>

namespace torii::store::etcd {
namespace {

namespace json = boost::json;
using core::Error;
using core::ErrorKind;
using core::ErrorSource;

constexpr std::string_view kDirMarker = "init_dir";

}  // namespace

Error unavailable(std::string message) {
  return Error{ErrorKind::kUnavailable, ErrorSource::kUpstream, true, "etcd: " + message};
}

// ------------------------------------------------------------ encoding

std::string b64_encode(std::string_view in) { return core::base64_encode(in); }

std::optional<std::string> b64_decode(std::string_view in) { return core::base64_decode(in); }

std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (uint8_t(end.back()) < 0xff) {
      end.back() = char(uint8_t(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

// ------------------------------------------------------------ decoding

// The gateway prints int64 as a JSON string and omits zero: absent -> 0.
bool read_int(const json::object& o, std::string_view name, int64_t& out) {
  out = 0;
  const json::value* v = o.if_contains(name);
  if (!v) return true;
  if (const auto* i = v->if_int64()) {
    out = *i;
    return true;
  }
  if (const auto* u = v->if_uint64()) {
    if (*u > uint64_t(INT64_MAX)) return false;
    out = int64_t(*u);
    return true;
  }
  if (const auto* s = v->if_string()) {
    auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), out);
    return ec == std::errc() && p == s->data() + s->size();
  }
  return false;
}

bool read_bool(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v && v->is_bool() && v->get_bool();
}

std::string_view read_string(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (!v || !v->is_string()) return {};
  return v->get_string();
}

const json::object* read_object(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v ? v->if_object() : nullptr;
}

core::Result<KeyValue> parse_kv(const json::value& v) {
  const json::object* o = v.if_object();
  if (!o) return unavailable("malformed answer: kv is not an object");
  KeyValue kv;
  const json::value* key = o->if_contains("key");
  if (!key || !key->is_string()) return unavailable("malformed answer: kv without a key");
  auto k = b64_decode(key->get_string());
  if (!k) return unavailable("malformed answer: key is not base64");
  kv.key = std::move(*k);
  if (const json::value* val = o->if_contains("value")) {
    if (!val->is_string()) return unavailable("malformed answer: value is not a string");
    auto d = b64_decode(val->get_string());
    if (!d) return unavailable("malformed answer: value is not base64");
    kv.value = std::move(*d);
  }
  if (!read_int(*o, "create_revision", kv.create_revision) ||
      !read_int(*o, "mod_revision", kv.mod_revision)) {
    return unavailable("malformed answer: bad revision in kv");
  }
  return kv;
}

std::optional<KeyValue> parse_prev_kv(const json::object& o, core::Status& st) {
  const json::value* p = o.if_contains("prev_kv");
  if (!p) return std::nullopt;
  auto kv = parse_kv(*p);
  if (!kv) {
    st = kv.error();
    return std::nullopt;
  }
  return std::move(*kv);
}

core::Result<int64_t> header_revision(const json::object& root) {
  const json::object* h = read_object(root, "header");
  int64_t rev = 0;
  if (!h || !read_int(*h, "revision", rev)) return unavailable("malformed answer: no header");
  return rev;
}

bool is_dir_marker(const KeyValue& kv) {
  return !kv.key.empty() && kv.key.back() == '/' && kv.value == kDirMarker;
}

GatewayError gateway_error(const json::value* doc, int status, std::string_view path) {
  std::string message;
  int64_t code = 0;
  if (doc && doc->is_object()) {
    const json::object& o = doc->get_object();
    message = std::string(read_string(o, "error"));
    if (message.empty()) message = std::string(read_string(o, "message"));
    if (!read_int(o, "code", code)) code = 0;
  }
  if (message.empty()) message = "HTTP " + std::to_string(status) + " from " + std::string(path);
  GatewayError g{unavailable(message), code == 16 || status == 401};
  // The only etcd errors that are the caller's, not the store's.
  if (message == "etcdserver: request is too large" ||
      message == "etcdserver: too many operations in txn request") {
    g.error.kind = ErrorKind::kInvalid;
    g.error.retryable = false;
  }
  return g;
}

// ------------------------------------------------------------ answers

Answer decode_answer(int status, std::string_view body, std::string_view path) {
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (!ec && status == 200 && doc.is_object() && !doc.get_object().contains("error")) {
    return Answer{std::move(doc), {}};
  }
  if (ec && status == 200) {
    return Answer{std::nullopt, {unavailable("malformed JSON answer to " + std::string(path))}};
  }
  return Answer{std::nullopt, gateway_error(ec ? nullptr : &doc, status, path)};
}

core::Result<std::string> decode_token(int status, std::string_view body, std::string_view user) {
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (!ec && status == 200 && doc.is_object()) {
    std::string_view token = read_string(doc.get_object(), "token");
    if (!token.empty()) return std::string(token);
  }
  GatewayError g = gateway_error(ec ? nullptr : &doc, status, "/v3/auth/authenticate");
  g.error.message =
      "etcd: authentication as \"" + std::string(user) + "\" failed: " + g.error.message.substr(6);
  g.error.source = ErrorSource::kConfig;
  return g.error;
}

core::Result<std::string> decode_lease(const json::object& root) {
  int64_t id = 0;
  if (!read_int(root, "ID", id) || id == 0) {
    return unavailable("malformed answer to /v3/lease/grant");
  }
  return std::to_string(id);
}

core::Result<RangeResult> decode_range(const json::object& root) {
  auto rev = header_revision(root);
  if (!rev) return rev.error();
  RangeResult out;
  out.revision = *rev;
  if (const json::value* kvs = root.if_contains("kvs")) {
    const json::array* arr = kvs->if_array();
    if (!arr) return unavailable("malformed answer: kvs is not an array");
    out.kvs.reserve(arr->size());
    for (const json::value& v : *arr) {
      auto kv = parse_kv(v);
      if (!kv) return kv.error();
      if (is_dir_marker(*kv)) continue;
      out.kvs.push_back(std::move(*kv));
    }
  }
  return out;
}

core::Result<std::optional<KeyValue>> decode_get(const json::object& root) {
  if (auto rev = header_revision(root); !rev) return rev.error();
  const json::value* kvs = root.if_contains("kvs");
  if (!kvs) return std::optional<KeyValue>{};
  const json::array* arr = kvs->if_array();
  if (!arr) return unavailable("malformed answer: kvs is not an array");
  if (arr->empty()) return std::optional<KeyValue>{};
  auto kv = parse_kv(arr->front());
  if (!kv) return kv.error();
  return std::optional<KeyValue>(std::move(*kv));
}

core::Result<PutResult> decode_put(const json::object& root, std::string key, std::string value,
                                   Expect expect) {
  const json::object* put_resp = &root;  // where prev_kv is
  if (expect.kind != Expect::Kind::kAny) {
    if (!read_bool(root, "succeeded")) {
      Error e{ErrorKind::kConflict, ErrorSource::kDownstream, false, ""};
      e.message = expect.kind == Expect::Kind::kAbsent ? "key " + key + " already exists"
                                                       : "key " + key + " changed since revision " +
                                                             std::to_string(expect.mod_revision);
      return e;
    }
    const json::value* responses = root.if_contains("responses");
    const json::array* arr = responses ? responses->if_array() : nullptr;
    const json::object* first = arr && !arr->empty() ? arr->front().if_object() : nullptr;
    put_resp = first ? read_object(*first, "response_put") : nullptr;
    if (!put_resp) return unavailable("malformed answer to /v3/kv/txn: no response_put");
  }

  auto rev = header_revision(root);
  if (!rev) return rev.error();
  core::Status st = core::ok_status();
  PutResult out;
  out.prev = parse_prev_kv(*put_resp, st);
  if (!st) return st.error();
  out.kv.key = std::move(key);
  out.kv.value = std::move(value);
  out.kv.mod_revision = *rev;
  out.kv.create_revision = out.prev ? out.prev->create_revision : *rev;
  return out;
}

core::Result<DeleteResult> decode_delete(const json::object& root, bool with_children) {
  DeleteResult out;
  auto rev = header_revision(root);
  if (!rev) return rev.error();
  out.revision = *rev;
  if (!with_children) {
    if (!read_int(root, "deleted", out.deleted)) return unavailable("malformed deleted count");
    return out;
  }
  if (const json::value* responses = root.if_contains("responses")) {
    const json::array* arr = responses->if_array();
    if (!arr) return unavailable("malformed answer to /v3/kv/txn");
    for (const json::value& r : *arr) {
      const json::object* o = r.if_object();
      const json::object* d = o ? read_object(*o, "response_delete_range") : nullptr;
      int64_t n = 0;
      if (!d || !read_int(*d, "deleted", n)) return unavailable("malformed answer to txn");
      out.deleted += n;
    }
  }
  return out;
}

// ------------------------------------------------------------ watch

core::Result<WatchStep> decode_watch_message(std::string_view line, bool auth_enabled,
                                             int64_t& last, std::string& detail,
                                             std::vector<WatchEvent>& events) {
  boost::system::error_code ec;
  json::value doc = json::parse(line, ec);
  if (ec || !doc.is_object()) return unavailable("malformed watch message");
  const json::object& root = doc.get_object();
  if (const json::value* err = root.if_contains("error")) {
    // A stream error: {"error":{"grpc_code":16,"http_code":401,"message":...}}.
    const json::object* eo = err->if_object();
    int64_t code = 0;
    std::string message = "watch stream error";
    if (eo) {
      if (!read_int(*eo, "grpc_code", code)) code = 0;
      if (auto m = read_string(*eo, "message"); !m.empty()) message = std::string(m);
    } else if (err->is_string()) {
      message = std::string(err->get_string());
    }
    if (code == 16 && auth_enabled) {
      detail = message;
      return WatchStep::kAuthAgain;
    }
    return unavailable(message);
  }
  const json::object* result = read_object(root, "result");
  if (!result) return unavailable("malformed watch message: no result");
  int64_t compact = 0;
  if (!read_int(*result, "compact_revision", compact))
    return unavailable("malformed watch message");
  if (compact > 0) {
    detail = "watch from revision " + std::to_string(last + 1) +
             ": history compacted up to revision " + std::to_string(compact);
    return WatchStep::kCompacted;
  }
  if (read_bool(*result, "canceled")) {
    std::string reason(read_string(*result, "cancel_reason"));
    if (reason.find("compact") != std::string::npos) {
      detail = reason;
      return WatchStep::kCompacted;
    }
    return unavailable("watch canceled" + (reason.empty() ? "" : ": " + reason));
  }
  if (read_bool(*result, "created")) return WatchStep::kContinue;
  const json::value* evs = result->if_contains("events");
  if (!evs) {
    // A progress notification: etcd sends those only to watchers that have
    // seen everything up to the header revision.
    if (auto rev = header_revision(*result); rev && *rev > last) last = *rev;
    return WatchStep::kContinue;
  }
  const json::array* arr = evs->if_array();
  if (!arr) return unavailable("malformed watch message: events is not an array");
  events.clear();
  events.reserve(arr->size());
  int64_t top = last;
  for (const json::value& e : *arr) {
    const json::object* eo = e.if_object();
    const json::value* kvv = eo ? eo->if_contains("kv") : nullptr;
    if (!kvv) return unavailable("malformed watch event");
    auto kv = parse_kv(*kvv);
    if (!kv) return kv.error();
    WatchEvent ev;
    const std::string_view type = read_string(*eo, "type");
    if (type == "DELETE") {
      ev.type = WatchEvent::Type::kDelete;
    } else if (!type.empty() && type != "PUT") {
      return unavailable("unknown watch event type " + std::string(type));
    }
    top = std::max(top, kv->mod_revision);
    ev.kv = std::move(*kv);
    if (ev.type == WatchEvent::Type::kPut && is_dir_marker(ev.kv)) continue;
    events.push_back(std::move(ev));
  }
  // The revision of the last event, not the header's: a catch-up message
  // may stop short of the header revision (etcd batches 1000 revisions).
  last = top;
  return WatchStep::kEvents;
}

}  // namespace torii::store::etcd
