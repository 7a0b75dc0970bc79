// request-validation (priority 2800): checks the request headers and/or body
// against JSON schemas from the conf before the request goes upstream, as
// APISIX's plugin (3.x).
//
// Phase: rewrite; asynchronous when `body_schema` is set (the body is read
// whole first, read_request_body). The header check sees the headers as
// ngx.req.get_headers() gives them to APISIX: an object with lower-case
// names (the first 100 headers), a repeated header as an array of its values;
// a property or required name in the schema finds its header whatever its
// case or `_` for `-`, as Lua's __index on that table does. The body check
// decodes `application/x-www-form-urlencoded` bodies (media type matched
// case-insensitively, parameters ignored) as ngx.decode_args does and every
// other body as JSON with cjson's rules and error messages; a missing or
// empty body, or a `false` one, is refused, as is a body sent with more than
// one Content-Type. A refusal answers `rejected_code` (default 400) with
// `rejected_msg` when set, else the validator's or decoder's message as plain
// text (no message: the status's error page).
//
// Security posture: the bytes validated are the bytes forwarded (the body is
// buffered, never re-read from the client), so a body cannot change after
// the check. Unlike APISIX, a JSON body is not re-encoded: the upstream's JSON
// parser must agree with cjson's (duplicate keys: the last wins). Bodies are
// held in memory: at most kMaxBodyBytes, or client_max_body_size when lower;
// more gets 413.
#include <strings.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/json_schema.h"
#include "plugins/plugin.h"
#include "plugins/plugin_registry.h"

namespace torii::plugins {
namespace {

namespace json = boost::json;

constexpr uint64_t kMaxBodyBytes = 8 << 20;
constexpr size_t kMaxHeaders = 100;  // ngx.req.get_headers()'s default

struct RequestValidationConfig {
  std::unique_ptr<config::JsonSchema> header_schema;
  std::unique_ptr<config::JsonSchema> body_schema;
  // Names the header schema looks up that differ from their normalised form
  // ("User-Agent", "x_api_key"), with that form ("user-agent", "x-api-key").
  std::vector<std::pair<std::string, std::string>> header_aliases;
  int rejected_code = 400;
  std::optional<std::string> rejected_msg;
};

constexpr std::string_view kSchema = R"json({
  "type": "object",
  "properties": {
    "header_schema": {"type": "object"},
    "body_schema": {"type": "object"},
    "rejected_code": {"type": "integer", "minimum": 200, "maximum": 599, "default": 400},
    "rejected_msg": {"type": "string", "minLength": 1, "maxLength": 256}
  },
  "anyOf": [
    {"required": ["header_schema"]},
    {"required": ["body_schema"]}
  ]
})json";

// ---------------------------------------------------------------------------
// JSON bodies, decoded as cjson.safe.decode (APISIX's core.json.decode) does:
// the same accepted inputs (hex, inf, nan, leading zeros, a NUL ending the
// text) and the same error messages. Numbers are doubles, as in Lua.

class CjsonDecoder {
 public:
  // `text` must be NUL-terminated (c_str()); `size` excludes the NUL.
  CjsonDecoder(const char* text, size_t size) : data_(text), size_(size), ptr_(text) {}

  // The value, or cjson's message.
  core::Result<json::value> decode() {
    if (size_ >= 2 && (data_[0] == '\0' || data_[1] == '\0')) {
      return fail("JSON parser does not support UTF-16 or UTF-32");
    }
    Token t = next_token();
    json::value v;
    if (!value(t, v)) return fail(std::move(error_));
    t = next_token();
    if (t.type != kEnd) {
      parse_error("the end", t);
      return fail(std::move(error_));
    }
    return v;
  }

 private:
  enum Type { kObjBegin, kObjEnd, kArrBegin, kArrEnd, kString, kNumber, kBoolean, kNull,
              kColon, kComma, kEnd, kWhitespace, kError, kUnknown };
  static constexpr int kMaxDepth = 1000;

  struct Token {
    Type type = kError;
    size_t index = 0;
    const char* error = nullptr;  // kError: what was wrong
    double number = 0;
    bool boolean = false;
  };

  static core::Error fail(std::string message) {
    return core::Error{core::ErrorKind::kInvalid, core::ErrorSource::kDownstream, false,
                       std::move(message)};
  }

  static Type char_type(unsigned char c) {
    switch (c) {
      case '{': return kObjBegin;
      case '}': return kObjEnd;
      case '[': return kArrBegin;
      case ']': return kArrEnd;
      case ',': return kComma;
      case ':': return kColon;
      case '\0': return kEnd;
      case ' ': case '\t': case '\n': case '\r': return kWhitespace;
      case 'f': case 'i': case 'I': case 'n': case 'N': case 't': case '"': case '+': case '-':
        return kUnknown;
      default:
        return c >= '0' && c <= '9' ? kUnknown : kError;
    }
  }

  static const char* type_name(Type t) {
    static const char* const kNames[] = {"T_OBJ_BEGIN", "T_OBJ_END", "T_ARR_BEGIN", "T_ARR_END",
                                         "T_STRING",    "T_NUMBER",  "T_BOOLEAN",   "T_NULL",
                                         "T_COLON",     "T_COMMA",   "T_END",       "T_WHITESPACE",
                                         "T_ERROR",     "T_UNKNOWN"};
    return kNames[t];
  }

  void set_error(Token& t, const char* what) {
    t.type = kError;
    t.index = static_cast<size_t>(ptr_ - data_);
    t.error = what;
  }

  // Numbers strtod() takes that strict JSON does not.
  bool invalid_number() const {
    const char* p = ptr_;
    if (*p == '+') return true;
    if (*p == '-') ++p;
    if (*p == '0') {
      const int c2 = p[1];
      return (c2 | 0x20) == 'x' || (c2 >= '0' && c2 <= '9');
    }
    if (*p <= '9') return false;
    return strncasecmp(p, "inf", 3) == 0 || strncasecmp(p, "nan", 3) == 0;
  }

  void number_token(Token& t) {
    t.type = kNumber;
    char* end = nullptr;
    t.number = std::strtod(ptr_, &end);
    if (end == ptr_) {
      set_error(t, "invalid number");
    } else {
      ptr_ = end;
    }
  }

  static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = static_cast<char>(c | 0x20);
    if (c >= 'a' && c <= 'f') return 10 + c - 'a';
    return -1;
  }

  static int hex4(const char* p) {
    int v = 0;
    for (int i = 0; i < 4; ++i) {
      const int d = hex_digit(p[i]);  // stops at the NUL: it is not a digit
      if (d < 0) return -1;
      v = (v << 4) | d;
    }
    return v;
  }

  // \uXXXX (and a surrogate pair) at ptr_, appended as UTF-8.
  bool unicode_escape() {
    int cp = hex4(ptr_ + 2);
    if (cp < 0) return false;
    size_t len = 6;
    if ((cp & 0xF800) == 0xD800) {
      if (cp & 0x400) return false;  // a low surrogate first
      if (ptr_[6] != '\\' || ptr_[7] != 'u') return false;
      const int low = hex4(ptr_ + 8);
      if (low < 0 || (low & 0xFC00) != 0xDC00) return false;
      cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
      len = 12;
    }
    if (cp <= 0x7F) {
      str_.push_back(static_cast<char>(cp));
    } else if (cp <= 0x7FF) {
      str_.push_back(static_cast<char>((cp >> 6) | 0xC0));
      str_.push_back(static_cast<char>((cp & 0x3F) | 0x80));
    } else if (cp <= 0xFFFF) {
      str_.push_back(static_cast<char>((cp >> 12) | 0xE0));
      str_.push_back(static_cast<char>(((cp >> 6) & 0x3F) | 0x80));
      str_.push_back(static_cast<char>((cp & 0x3F) | 0x80));
    } else {
      str_.push_back(static_cast<char>((cp >> 18) | 0xF0));
      str_.push_back(static_cast<char>(((cp >> 12) & 0x3F) | 0x80));
      str_.push_back(static_cast<char>(((cp >> 6) & 0x3F) | 0x80));
      str_.push_back(static_cast<char>((cp & 0x3F) | 0x80));
    }
    ptr_ += len;
    return true;
  }

  void string_token(Token& t) {
    ++ptr_;  // the opening quote
    str_.clear();
    for (;;) {
      char c = *ptr_;
      if (c == '"') break;
      if (c == '\0') return set_error(t, "unexpected end of string");
      if (c == '\\') {
        switch (ptr_[1]) {
          case '"': c = '"'; break;
          case '\\': c = '\\'; break;
          case '/': c = '/'; break;
          case 'b': c = '\b'; break;
          case 't': c = '\t'; break;
          case 'n': c = '\n'; break;
          case 'f': c = '\f'; break;
          case 'r': c = '\r'; break;
          case 'u':
            if (unicode_escape()) continue;
            return set_error(t, "invalid unicode escape code");
          default:
            return set_error(t, "invalid escape code");
        }
        ++ptr_;  // the backslash
      }
      str_.push_back(c);
      ++ptr_;
    }
    ++ptr_;  // the closing quote
    t.type = kString;
  }

  Token next_token() {
    Token t;
    for (;;) {
      t.type = char_type(static_cast<unsigned char>(*ptr_));
      if (t.type != kWhitespace) break;
      ++ptr_;
    }
    t.index = static_cast<size_t>(ptr_ - data_);
    if (t.type == kError) {
      set_error(t, "invalid token");
      return t;
    }
    if (t.type == kEnd) return t;
    if (t.type != kUnknown) {
      ++ptr_;
      return t;
    }
    const char c = *ptr_;
    if (c == '"') {
      string_token(t);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      number_token(t);
    } else if (std::strncmp(ptr_, "true", 4) == 0) {
      t.type = kBoolean;
      t.boolean = true;
      ptr_ += 4;
    } else if (std::strncmp(ptr_, "false", 5) == 0) {
      t.type = kBoolean;
      ptr_ += 5;
    } else if (std::strncmp(ptr_, "null", 4) == 0) {
      t.type = kNull;
      ptr_ += 4;
    } else if (invalid_number()) {
      number_token(t);  // inf, nan, +1: strtod takes them
    } else {
      set_error(t, "invalid token");
    }
    return t;
  }

  bool parse_error(const char* expected, const Token& t) {
    error_ = std::string("Expected ") + expected + " but found " +
             (t.type == kError ? t.error : type_name(t.type)) + " at character " +
             std::to_string(t.index + 1);
    return false;
  }

  bool descend() {
    if (++depth_ <= kMaxDepth) return true;
    error_ = "Found too many nested data structures (" + std::to_string(depth_) +
             ") at character " + std::to_string(ptr_ - data_);
    return false;
  }

  bool object(json::value& out) {
    if (!descend()) return false;
    json::object& obj = out.emplace_object();
    Token t = next_token();
    if (t.type == kObjEnd) {
      --depth_;
      return true;
    }
    for (;;) {
      if (t.type != kString) return parse_error("object key string", t);
      std::string key = str_;
      t = next_token();
      if (t.type != kColon) return parse_error("colon", t);
      t = next_token();
      json::value v;
      if (!value(t, v)) return false;
      obj[key] = std::move(v);  // a repeated key: the last wins, as in a Lua table
      t = next_token();
      if (t.type == kObjEnd) {
        --depth_;
        return true;
      }
      if (t.type != kComma) return parse_error("comma or object end", t);
      t = next_token();
    }
  }

  bool array(json::value& out) {
    if (!descend()) return false;
    json::array& arr = out.emplace_array();
    Token t = next_token();
    if (t.type == kArrEnd) {
      --depth_;
      return true;
    }
    for (;;) {
      json::value v;
      if (!value(t, v)) return false;
      arr.push_back(std::move(v));
      t = next_token();
      if (t.type == kArrEnd) {
        --depth_;
        return true;
      }
      if (t.type != kComma) return parse_error("comma or array end", t);
      t = next_token();
    }
  }

  bool value(const Token& t, json::value& out) {
    switch (t.type) {
      case kString: out = json::string(str_); return true;
      case kNumber: out = t.number; return true;
      case kBoolean: out = t.boolean; return true;
      case kNull: out = nullptr; return true;
      case kObjBegin: return object(out);
      case kArrBegin: return array(out);
      default: return parse_error("value", t);
    }
  }

  const char* data_;
  size_t size_;
  const char* ptr_;
  int depth_ = 0;
  std::string str_;    // the last string token, unescaped
  std::string error_;
};

// ---------------------------------------------------------------------------
// Form bodies, decoded as ngx.decode_args(body, 0): `&`-separated pairs,
// `+` and %XX decoded (a `%` without two hex digits kept), a key without `=` is
// true, an empty key is dropped, a repeated key collects its values in an
// array.

std::string ngx_unescape(std::string_view in) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    c = static_cast<char>(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
      i += 2;
    } else {
      out.push_back(c);  // a '%' without two hex digits stays, the rest is read on
    }
  }
  return out;
}

void add_multi(json::object& obj, std::string key, json::value v) {
  json::value* existing = obj.if_contains(key);
  if (!existing) {
    obj.emplace(key, std::move(v));
  } else if (existing->is_array()) {
    existing->get_array().push_back(std::move(v));
  } else {
    json::array both;
    both.push_back(std::move(*existing));
    both.push_back(std::move(v));
    *existing = std::move(both);
  }
}

json::object decode_form(std::string_view body) {
  json::object out;
  size_t pos = 0;
  while (pos <= body.size()) {
    size_t amp = body.find('&', pos);
    if (amp == std::string_view::npos) amp = body.size();
    const std::string_view pair = body.substr(pos, amp - pos);
    // A trailing '&' ends the text: nothing after it.
    if (!pair.empty() || amp < body.size()) {
      const size_t eq = pair.find('=');
      std::string key = ngx_unescape(pair.substr(0, eq));
      if (!key.empty()) {
        if (eq == std::string_view::npos) {
          add_multi(out, std::move(key), true);
        } else {
          add_multi(out, std::move(key), json::string(ngx_unescape(pair.substr(eq + 1))));
        }
      }
    }
    pos = amp + 1;
  }
  return out;
}

// ---------------------------------------------------------------------------

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// ngx.req.get_headers()'s lookup on a miss: lower case, '_' as '-'.
std::string normalised_header(std::string_view name) {
  std::string out = lower(name);
  for (char& c : out) {
    if (c == '_') c = '-';
  }
  return out;
}

// The header names a schema looks up by key on the headers object
// (properties, required, dependencies), here and in the subschemas that
// apply to the same object (allOf, anyOf, oneOf, not, if/then/else).
void looked_up_names(const json::value& schema, std::vector<std::string>& out) {
  const json::object* s = schema.if_object();
  if (!s) return;
  if (const auto* props = s->if_contains("properties"); props && props->is_object()) {
    for (const auto& p : props->get_object()) out.emplace_back(p.key());
  }
  if (const auto* req = s->if_contains("required"); req && req->is_array()) {
    for (const auto& r : req->get_array()) {
      if (r.is_string()) out.emplace_back(r.get_string());
    }
  }
  if (const auto* deps = s->if_contains("dependencies"); deps && deps->is_object()) {
    for (const auto& d : deps->get_object()) {
      out.emplace_back(d.key());
      if (d.value().is_array()) {
        for (const auto& r : d.value().get_array()) {
          if (r.is_string()) out.emplace_back(r.get_string());
        }
      } else {
        looked_up_names(d.value(), out);
      }
    }
  }
  for (const char* list : {"allOf", "anyOf", "oneOf"}) {
    if (const auto* l = s->if_contains(list); l && l->is_array()) {
      for (const auto& sub : l->get_array()) looked_up_names(sub, out);
    }
  }
  for (const char* one : {"not", "if", "then", "else"}) {
    if (const auto* sub = s->if_contains(one)) looked_up_names(*sub, out);
  }
}

class RequestValidation final : public Plugin {
 public:
  explicit RequestValidation(RequestValidationConfig conf) : conf_(std::move(conf)) {}

  uint8_t phases() const override { return bit(Phase::kRewrite); }
  bool is_async(Phase p) const override { return p == Phase::kRewrite && conf_.body_schema; }

  Step rewrite(PluginContext& ctx) const override { return check_headers(ctx); }

  net::Task<Step> rewrite_async(PluginContext& ctx) const override {
    Step header_step = check_headers(ctx);
    if (header_step) co_return header_step;
    // Read first, then decide: no co_await inside a condition (GCC 12).
    core::Result<std::string_view> body = co_await ctx.read_request_body(kMaxBodyBytes);
    co_return check_body(ctx, body);
  }

 private:
  Exit reject(std::string_view err) const {
    Exit e;
    e.status = conf_.rejected_code;
    e.body = conf_.rejected_msg ? std::string_view(*conf_.rejected_msg) : err;
    return e;
  }

  json::object headers_object(const PluginContext& ctx) const {
    json::object obj;
    const auto headers = ctx.all_request_headers();
    const size_t n = std::min(headers.size(), kMaxHeaders);
    for (size_t i = 0; i < n; ++i) {
      add_multi(obj, lower(headers[i].first), json::string(headers[i].second));
    }
    for (const auto& [name, normal] : conf_.header_aliases) {
      if (obj.contains(name)) continue;
      if (const json::value* v = obj.if_contains(normal)) {
        json::value copy = *v;
        obj.emplace(name, std::move(copy));
      }
    }
    return obj;
  }

  Step check_headers(const PluginContext& ctx) const {
    if (!conf_.header_schema) return kContinue;
    const json::value headers = headers_object(ctx);
    if (auto st = conf_.header_schema->validate(headers); !st) return reject(st.error().message);
    return kContinue;
  }

  Step check_body(const PluginContext& ctx, const core::Result<std::string_view>& body) const {
    if (!body) {
      // nginx answers these itself while reading the body.
      Exit e;
      switch (body.error().kind) {
        case core::ErrorKind::kTooLarge: e.status = 413; break;
        case core::ErrorKind::kTimeout: e.status = 408; break;
        case core::ErrorKind::kInvalid:
          e.status = body.error().source == core::ErrorSource::kInternal ? 500 : 400;
          break;
        default: e.status = 400; break;  // the client is gone: nobody reads it
      }
      return e;
    }
    // core.request.get_body() gives nil for an empty body: refused, no message.
    if (body->empty()) return reject("");
    const auto types = ctx.request_headers("content-type");
    if (types.size() > 1) return reject("duplicated Content-Type header");
    const bool form =
        types.size() == 1 && lower(types[0]).starts_with("application/x-www-form-urlencoded");
    json::value decoded;
    if (form) {
      decoded = decode_form(*body);
    } else {
      const std::string text(*body);  // NUL-terminated, as cjson reads it
      auto parsed = CjsonDecoder(text.c_str(), text.size()).decode();
      if (!parsed) return reject(parsed.error().message);
      // `false` is Lua's falsy value: APISIX takes it for a failed decode.
      if (parsed->is_bool() && !parsed->get_bool()) return reject("");
      decoded = std::move(*parsed);
    }
    if (auto st = conf_.body_schema->validate(decoded); !st) return reject(st.error().message);
    return kContinue;
  }

  RequestValidationConfig conf_;
};

core::Result<std::unique_ptr<config::JsonSchema>> compile_user_schema(const json::value& v,
                                                                      std::string_view field) {
  // A Lua table cannot tell {} from []: APISIX takes `[]` for an empty schema.
  const json::value empty = json::object();
  const json::value& schema = v.is_array() && v.get_array().empty() ? empty : v;
  auto compiled = config::JsonSchema::compile(schema);
  if (!compiled) {
    // "<pointer>: <why>", the pointer made absolute in the conf.
    std::string msg = compiled.error().message;
    const std::string prefix = "/" + std::string(field);
    msg = msg.starts_with("/: ") ? prefix + msg.substr(1) : prefix + msg;
    return core::config_error("invalid " + std::string(field) + ": " + msg);
  }
  return std::move(*compiled);
}

core::Result<std::shared_ptr<const Plugin>> create(const json::object& conf, const PluginScope&) {
  RequestValidationConfig c;
  if (const auto* v = conf.if_contains("rejected_code"); v && v->is_number()) {
    c.rejected_code = static_cast<int>(v->to_number<double>());
  }
  if (const auto* v = conf.if_contains("rejected_msg"); v && v->is_string()) {
    c.rejected_msg = std::string(v->get_string());
  }
  if (const auto* v = conf.if_contains("body_schema")) {
    auto s = compile_user_schema(*v, "body_schema");
    if (!s) return s.error();
    c.body_schema = std::move(*s);
  }
  if (const auto* v = conf.if_contains("header_schema")) {
    auto s = compile_user_schema(*v, "header_schema");
    if (!s) return s.error();
    c.header_schema = std::move(*s);
    std::vector<std::string> names;
    looked_up_names(*v, names);
    for (std::string& name : names) {
      std::string normal = normalised_header(name);
      if (normal == name) continue;
      bool seen = false;
      for (const auto& a : c.header_aliases) seen = seen || a.first == name;
      if (!seen) c.header_aliases.emplace_back(std::move(name), std::move(normal));
    }
  }
  return std::shared_ptr<const Plugin>(std::make_shared<RequestValidation>(std::move(c)));
}

PluginInfo make_info() {
  PluginInfo info;
  info.name = "request-validation";
  info.priority = 2800;
  info.schema = json::parse(kSchema);
  info.create = create;
  return info;
}

}  // namespace

namespace {
const plugins::PluginRegistration kRegistration{make_info()};
}

}  // namespace torii::plugins
