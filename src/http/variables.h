// Request variables as APISIX names them (`arg_x`, `http_x`, `cookie_x`,
// `uri`, `host`, ...). A name is parsed once, at config compile time, into a
// VarRef; per request a VarSource resolves VarRefs against that request.
// Used by route `vars`, chash keys, plugin filters and the access-log format.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace torii::http {

enum class Builtin : uint8_t {
  kUnknown,  // a name we do not provide: always resolves to nil, as in APISIX
  kUri,             // decoded, normalised path (nginx $uri)
  kRequestUri,      // raw request-target with query (nginx $request_uri)
  kQueryString,     // raw query without '?' ($args / $query_string)
  kHost,            // lower-cased host without port
  kRemoteAddr,
  kRemotePort,
  kServerAddr,
  kServerPort,
  kScheme,          // "http" / "https"
  kSslServerName,   // TLS: the SNI the client sent (nil on plain HTTP)
  kSslClientVerify, // TLS: "SUCCESS" or "NONE" (nil on plain HTTP), as nginx
  kSslClientSDn,    // mTLS: the client certificate's subject (RFC 2253)
  kSslClientSerial, // mTLS: its serial number, hex
  kRequestMethod,
  kServerProtocol,  // "HTTP/1.1"
  kRequestLength,
  kContentLength,   // request header
  kContentType,     // request header
  kRouteId,
  kRouteName,
  kServiceId,
  kServiceName,
  kTimeIso8601,
  kMsec,
  kRequestId,
  kStatus,            // response status (log phase only)
  kBodyBytesSent,     // log phase only
  kRequestTime,       // seconds, log phase only
  kUpstreamAddr,      // log phase only
  kUpstreamStatus,    // log phase only
  kUpstreamResponseTime,
  kUpstreamHost,      // Host header sent upstream
  kUpstreamUri,       // request-target sent upstream
  kUpstreamScheme,
  kRequest,           // "GET /path HTTP/1.1"
  kTimeLocal,         // "26/Nov/2026:10:01:41 +0000"
  kRemoteUser,        // basic-auth user (nil until auth plugins exist)
  kConsumerName,      // the consumer an auth plugin attached (nil before)
  kConsumerGroupId,   // that consumer's group_id
  kToriiErrorSource,  // who caused the error torii answered: downstream/upstream/internal/config
  kToriiError,        // why torii answered with an error (the same text as the error log)
  kHttpUserAgent,     // marks http_user_agent (resolved as a header)
  kHttpReferer,       // marks http_referer (resolved as a header)
};

struct VarRef {
  enum class Kind : uint8_t {
    kBuiltin,
    kArg,       // arg_<name>: first query argument with that name, decoded
    kHeader,    // http_<name>: lower-case, '_' matches '-'
    kCookie,    // cookie_<name>
    kUriParam,  // uri_param_<name>: radixtree_uri_with_parameter captures
  };
  Kind kind = Kind::kBuiltin;
  Builtin builtin = Builtin::kUnknown;
  std::string name;  // for kArg/kHeader/kCookie/kUriParam: the part after the prefix;
                     // for kHeader already lower-cased with '_' turned into '-'
  std::string original;  // the name as written, for error messages

  // Never fails: unknown names become Builtin::kUnknown (nil), like nginx vars.
  static VarRef parse(std::string_view name);
};

// Resolves variables for one request. Implementations own any decoded
// storage; returned views stay valid until the request ends.
class VarSource {
 public:
  virtual ~VarSource() = default;
  // nullopt means nil (absent), distinct from an empty value.
  virtual std::optional<std::string_view> get(const VarRef& ref) const = 0;
};

}  // namespace torii::http
