// Fuzz target for what EtcdStore reads from etcd's JSON gateway, a peer we
// do not control: the decoders of store/etcd_json.h, called as EtcdStore
// calls them. A unary answer goes through decode_answer() (HTTP status +
// body -> the document or etcd's error) and then the decoder of the call
// (range, get, put, the txn of a guarded put, delete, the txn of a delete
// with children, lease grant); an authenticate answer through
// decode_token(); a watch stream is cut into lines and each one goes
// through decode_watch_message(), carrying the watcher's revision along.
//
// Input: byte 0 picks the call ('0' + n, n = 0..9: range, get, put,
// put-if-absent, put-if-revision, delete, delete-with-children, lease,
// authenticate, watch); byte 1 the HTTP status ('0' + n: 200, 401, 400,
// 404, 500, 503, 413, 200) or, for watch, whether auth is on (bit 0); the
// rest is the body. Seeds: corpus/etcd_response/, shaped as etcd 3.5 answers.
//
// Besides ASan/UBSan findings, it traps when a decoder breaks its contract:
// errors not prefixed "etcd: ", a range that keeps directory markers, a
// watcher revision that moves backwards, a key that does not survive a
// base64 round trip, a prefix_end() that is not above its prefix.
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "store/etcd_json.h"

namespace {

using namespace torii;
using namespace torii::store;

[[noreturn]] void fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "etcd_response_fuzz: %s\n---\n%.*s\n---\n", what,
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

#define CHECK(cond, detail)             \
  do {                                  \
    if (!(cond)) fail(#cond, (detail)); \
  } while (0)

void check_error(const core::Error& e) { CHECK(e.message.rfind("etcd: ", 0) == 0, e.message); }

template <class T>
void check_result(const core::Result<T>& r) {
  if (!r) check_error(r.error());
}

void check_key(const KeyValue& kv) {
  const auto back = etcd::b64_decode(etcd::b64_encode(kv.key));
  CHECK(back && *back == kv.key, kv.key);
}

// Every key starting with `prefix` sorts below prefix_end(prefix), the range
// end EtcdStore sends; otherwise a range or watch would miss keys.
void check_prefix_end(std::string_view prefix) {
  const std::string end = etcd::prefix_end(prefix);
  if (end == std::string(1, '\0')) {
    CHECK(prefix.find_first_not_of('\xff') == std::string_view::npos, prefix);
    return;
  }
  const std::string longest = std::string(prefix) + std::string(4, '\xff');
  CHECK(std::string_view(prefix) < std::string_view(end), prefix);
  CHECK(std::string_view(longest) < std::string_view(end), prefix);
}

void unary(unsigned call, int status, std::string_view body) {
  static constexpr std::string_view kPaths[] = {
      "/v3/kv/range", "/v3/kv/range",       "/v3/kv/put", "/v3/kv/txn",
      "/v3/kv/txn",   "/v3/kv/deleterange", "/v3/kv/txn", "/v3/lease/grant"};
  const etcd::Answer answer = etcd::decode_answer(status, body, kPaths[call]);
  if (!answer.doc) {
    check_error(answer.failure.error);
    return;
  }
  CHECK(status == 200 && answer.doc->is_object(), body);
  const boost::json::object& root = answer.doc->get_object();
  CHECK(!root.contains("error"), body);
  switch (call) {
    case 0: {
      auto r = etcd::decode_range(root);
      check_result(r);
      if (r) {
        for (const KeyValue& kv : r->kvs) {
          CHECK(!etcd::is_dir_marker(kv), kv.key);
          check_key(kv);
        }
      }
      break;
    }
    case 1: {
      auto r = etcd::decode_get(root);
      check_result(r);
      if (r && *r) check_key(**r);
      break;
    }
    case 2:
    case 3:
    case 4: {
      const Expect expect = call == 2   ? Expect::any()
                            : call == 3 ? Expect::absent()
                                        : Expect::at(42);
      auto r = etcd::decode_put(root, "/apisix/routes/1", "{}", expect);
      if (!r) {
        // A lost compare is the caller's conflict, not a malformed answer.
        if (r.error().kind != core::ErrorKind::kConflict) check_error(r.error());
        CHECK(r.error().kind != core::ErrorKind::kConflict || call != 2, body);
      } else {
        CHECK(r->kv.key == "/apisix/routes/1" && r->kv.value == "{}", body);
        if (r->prev) check_key(*r->prev);
      }
      break;
    }
    case 5:
    case 6:
      check_result(etcd::decode_delete(root, call == 6));
      break;
    case 7: {
      auto r = etcd::decode_lease(root);
      check_result(r);
      if (r) CHECK(!r->empty() && *r != "0", body);
      break;
    }
  }
}

void watch(bool auth_enabled, std::string_view stream) {
  int64_t last = 0;
  std::vector<WatchEvent> events;
  size_t start = 0;
  // As EtcdStore::Impl::watch cuts the chunked stream: one JSON per line,
  // blank lines skipped, stop at the first error or compaction.
  for (size_t nl; (nl = stream.find('\n', start)) != std::string_view::npos; start = nl + 1) {
    const std::string_view line = stream.substr(start, nl - start);
    if (line.find_first_not_of(" \r\t") == std::string_view::npos) continue;
    const int64_t before = last;
    std::string detail;
    auto step = etcd::decode_watch_message(line, auth_enabled, last, detail, events);
    CHECK(last >= before, line);
    if (!step) {
      check_error(step.error());
      return;
    }
    if (*step == etcd::WatchStep::kAuthAgain) CHECK(auth_enabled, line);
    if (*step == etcd::WatchStep::kAuthAgain || *step == etcd::WatchStep::kCompacted) return;
    if (*step == etcd::WatchStep::kEvents) {
      for (const WatchEvent& ev : events) {
        CHECK(ev.type == WatchEvent::Type::kDelete || !etcd::is_dir_marker(ev.kv), line);
        CHECK(ev.kv.mod_revision <= last, line);
        check_key(ev.kv);
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  static constexpr int kStatuses[] = {200, 401, 400, 404, 500, 503, 413, 200};
  const unsigned call = static_cast<uint8_t>(data[0] - '0') % 10;
  const unsigned second = static_cast<uint8_t>(data[1] - '0');
  const std::string_view body(reinterpret_cast<const char*>(data) + 2, size - 2);

  if (call == 9) {
    watch((second & 1) != 0, body);
  } else if (call == 8) {
    auto token = etcd::decode_token(kStatuses[second % 8], body, "root");
    check_result(token);
    if (token) CHECK(!token->empty(), body);
  } else {
    unary(call, kStatuses[second % 8], body);
  }

  // The encoders on the same bytes: keys EtcdStore sends.
  const std::string_view prefix = body.substr(0, 64);
  check_prefix_end(prefix);
  const auto back = etcd::b64_decode(etcd::b64_encode(prefix));
  CHECK(back && *back == prefix, prefix);
  if (auto decoded = etcd::b64_decode(prefix)) {
    CHECK(etcd::b64_decode(etcd::b64_encode(*decoded)) == *decoded, prefix);
  }
  return 0;
}
