// request-id (APISIX priority 12015, rewrite + header_filter): gives every
// request an id in a header (X-Request-Id by default). A request that
// arrives with the header keeps its value; otherwise one is generated
// (uuid v4, nanoid or range_id) and set on the request sent upstream. With
// include_in_response (default true) the response gets the header too,
// unless the upstream already set it.
//
// Security posture: ids come from a per-thread xoshiro256** seeded with
// getrandom(): unique in practice, but predictable to someone who sees many
// of them; never use them as secrets. A client-supplied id is trusted as is,
// as in APISIX.
#include <boost/json.hpp>
#include <string>

#include "core/saturate.h"
#include "plugins/fast_random.h"
#include "plugins/plugin.h"
#include "plugins/plugin_registry.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;

enum class Algorithm : uint8_t { kUuid, kNanoid, kRangeId };

struct RequestIdConfig {
  std::string header_name = "X-Request-Id";
  bool include_in_response = true;
  Algorithm algorithm = Algorithm::kUuid;
  // range_id / nanoid: `length` characters drawn uniformly from `char_set`.
  int range_length = 16;
  std::string range_char_set = "abcdefghijklmnopqrstuvwxyzABCDEFGHIGKLMNOPQRSTUVWXYZ0123456789";
  int nanoid_length = 21;
  std::string nanoid_char_set = "abcdefghijklmnopqrstuvwxyzABCDEFGHIGKLMNOPQRSTUVWXYZ0123456789_-";
};

// The char sets' defaults repeat APISIX's (with its "IGK" typo: no 'J').
constexpr const char* kSchema = R"json({
  "type": "object",
  "properties": {
    "header_name": {"type": "string", "default": "X-Request-Id"},
    "include_in_response": {"type": "boolean", "default": true},
    "algorithm": {
      "type": "string",
      "enum": ["uuid", "nanoid", "range_id"],
      "default": "uuid"
    },
    "range_id": {
      "type": "object",
      "properties": {
        "length": {"type": "integer", "minimum": 6, "default": 16},
        "char_set": {
          "type": "string", "minLength": 6,
          "default": "abcdefghijklmnopqrstuvwxyzABCDEFGHIGKLMNOPQRSTUVWXYZ0123456789"
        }
      },
      "default": {}
    },
    "nanoid": {
      "type": "object",
      "properties": {
        "length": {"type": "integer", "minimum": 6, "default": 21},
        "char_set": {
          "type": "string", "minLength": 6,
          "default": "abcdefghijklmnopqrstuvwxyzABCDEFGHIGKLMNOPQRSTUVWXYZ0123456789_-"
        }
      },
      "default": {}
    }
  }
})json";

// Ids longer than this are refused at config time: an id is one header.
constexpr int64_t kMaxIdLength = 4096;

// The id a request carries, from rewrite to header_filter.
struct RequestIdState final : RequestState {
  std::string id;
};

std::string uuid_v4() {
  auto& rng = FastRandom::local();
  uint64_t hi = rng.next();
  uint64_t lo = rng.next();
  hi = (hi & ~0xf000ULL) | 0x4000ULL;              // version 4
  lo = (lo & ~(0xc0ULL << 56)) | (0x80ULL << 56);  // variant 10xx
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  size_t pos = 0;
  auto put = [&](uint64_t v, int nibbles) {
    for (int i = nibbles - 1; i >= 0; --i) {
      if (pos == 8 || pos == 13 || pos == 18 || pos == 23) ++pos;
      out[pos++] = kHex[(v >> (i * 4)) & 0xf];
    }
  };
  put(hi, 16);
  put(lo, 16);
  return out;
}

std::string random_string(int length, const std::string& char_set) {
  auto& rng = FastRandom::local();
  std::string out(static_cast<size_t>(length), '\0');
  const auto n = static_cast<uint32_t>(char_set.size());
  for (auto& c : out) c = char_set[rng.below(n)];
  return out;
}

class RequestId final : public Plugin {
 public:
  explicit RequestId(RequestIdConfig conf) : conf_(std::move(conf)) {}

  uint8_t phases() const override {
    return conf_.include_in_response ? bit(Phase::kRewrite) | bit(Phase::kHeaderFilter)
                                     : bit(Phase::kRewrite);
  }

  Step rewrite(PluginContext& ctx) const override {
    std::string id;
    if (auto sent = ctx.request_header(conf_.header_name)) {
      id.assign(*sent);
    } else {
      id = generate();
      ctx.set_request_header(conf_.header_name, id);
    }
    if (conf_.include_in_response) {
      auto state = std::make_unique<RequestIdState>();
      state->id = std::move(id);
      ctx.state() = std::move(state);
    }
    return kContinue;
  }

  void header_filter(PluginContext& ctx) const override {
    if (!conf_.include_in_response) return;
    const auto* state = dynamic_cast<const RequestIdState*>(ctx.state().get());
    if (state == nullptr) return;  // rewrite did not run (an earlier plugin answered)
    if (ctx.response_header(conf_.header_name)) return;
    ctx.set_response_header(conf_.header_name, state->id);
  }

 private:
  std::string generate() const {
    switch (conf_.algorithm) {
      case Algorithm::kNanoid:
        return random_string(conf_.nanoid_length, conf_.nanoid_char_set);
      case Algorithm::kRangeId:
        return random_string(conf_.range_length, conf_.range_char_set);
      case Algorithm::kUuid:
        break;
    }
    return uuid_v4();
  }

  RequestIdConfig conf_;
};

core::Status read_sized(const json::object& conf, const char* field, int& length,
                        std::string& char_set) {
  const auto* v = conf.if_contains(field);
  if (v == nullptr || !v->is_object()) return core::ok_status();
  const auto& o = v->get_object();
  if (const auto* l = o.if_contains("length"); l && l->is_number()) {
    const auto n = core::saturate<int64_t>(l->to_number<double>());
    if (n > kMaxIdLength) {
      return core::config_error(std::string(field) + ".length: at most " +
                                std::to_string(kMaxIdLength) + " is supported");
    }
    length = core::saturate<int>(n);
  }
  if (const auto* c = o.if_contains("char_set"); c && c->is_string()) {
    char_set = std::string(c->get_string());
  }
  return core::ok_status();
}

core::Result<std::shared_ptr<const Plugin>> create(const json::object& conf, const PluginScope&) {
  RequestIdConfig c;
  if (const auto* v = conf.if_contains("header_name"); v && v->is_string()) {
    c.header_name = std::string(v->get_string());
  }
  if (const auto* v = conf.if_contains("include_in_response"); v && v->is_bool()) {
    c.include_in_response = v->get_bool();
  }
  if (const auto* v = conf.if_contains("algorithm"); v && v->is_string()) {
    if (v->get_string() == "nanoid") c.algorithm = Algorithm::kNanoid;
    if (v->get_string() == "range_id") c.algorithm = Algorithm::kRangeId;
  }
  if (auto st = read_sized(conf, "range_id", c.range_length, c.range_char_set); !st) {
    return st.error();
  }
  if (auto st = read_sized(conf, "nanoid", c.nanoid_length, c.nanoid_char_set); !st) {
    return st.error();
  }
  return std::shared_ptr<const Plugin>(std::make_shared<RequestId>(std::move(c)));
}

PluginInfo make_info() {
  PluginInfo info;
  info.name = "request-id";
  info.priority = 12015;
  info.schema = json::parse(kSchema);
  info.create = create;
  return info;
}

const PluginRegistration kRegistration{make_info()};

}  // namespace
}  // namespace torii::plugins
