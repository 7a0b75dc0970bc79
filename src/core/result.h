// Errors as values. Every fallible function on the data plane returns
// Result<T>; callers decide status codes and retries from the typed fields,
// never from the message text.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace torii::core {

// Whose fault an error is. Drives status codes and the access-log field.
enum class ErrorSource : unsigned char {
  kDownstream,  // the client sent something wrong or went away
  kUpstream,    // the upstream refused, reset, timed out or answered badly
  kInternal,    // a bug or resource exhaustion inside torii
  kConfig,      // the configuration cannot be used as written
};

enum class ErrorKind : unsigned char {
  kInvalid,          // malformed input (request bytes, JSON, config value)
  kTooLarge,         // input over a configured limit
  kTimeout,          // a deadline expired
  kConnectFailed,    // connect() refused / unreachable
  kReset,            // peer reset or closed the connection mid-exchange
  kBadResponse,      // upstream response could not be parsed
  kNoUpstream,       // no node could be picked
  kClosed,           // orderly close by the peer where more was expected
  kIo,               // any other I/O error
  kNotFound,         // a referenced object does not exist
  kConflict,         // a compare-and-swap lost: the stored value changed meanwhile
  kCompacted,        // a store's history before the asked revision is gone
  kUnavailable,      // a dependency (config store, Redis) cannot be reached
};

struct Error {
  ErrorKind kind = ErrorKind::kInvalid;
  ErrorSource source = ErrorSource::kInternal;
  bool retryable = false;  // true when the same request may be sent elsewhere
  std::string message;     // human-readable, names the field or peer involved
};

inline Error config_error(std::string message) {
  return Error{ErrorKind::kInvalid, ErrorSource::kConfig, false, std::move(message)};
}

// A value or an Error. Small on purpose: `ok()`, `value()`, `error()`.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const Error& error() const { return std::get<1>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success or an Error.
struct Ok {};
using Status = Result<Ok>;
inline Status ok_status() { return Ok{}; }

}  // namespace torii::core
