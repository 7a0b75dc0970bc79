// Undoes a response body's Content-Encoding (gzip, deflate, br), piece by
// piece, for the plugins that must read the body as text (response-rewrite's
// filters). The decoded size is bounded by the caller: a few kilobytes of
// gzip can inflate to gigabytes, so decoding stops at the limit rather than
// at the end of the input.
//
// Security posture: the input is whatever an upstream sends. Corrupt,
// truncated or trailing bytes end decoding with an error value; nothing
// here throws or reads past the pieces it is given.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace torii::http {

enum class ContentCoding : unsigned char {
  kGzip,     // "gzip" / "x-gzip": one or more gzip members (never kEnd: another may follow)
  kDeflate,  // "deflate": zlib-wrapped (RFC 9110 8.4.1.2); a gzip header is also taken
  kBrotli,   // "br"
};

// The coding of a Content-Encoding value this decoder undoes; nullopt for
// an absent coding ("identity"), an unknown one ("zstd") or a list of
// several ("gzip, br"), which the caller must pass through untouched.
std::optional<ContentCoding> parse_content_coding(std::string_view value);

class BodyDecoder {
 public:
  enum class Outcome : unsigned char {
    kMore,     // every byte given was taken; more may follow
    kLimit,    // the body decodes to more than `max_out`: `out` holds the first
               // max_out bytes, the rest is not decoded
    kEnd,      // the encoded stream ended (bytes after its end are an error)
  };

  explicit BodyDecoder(ContentCoding coding);
  ~BodyDecoder();
  BodyDecoder(const BodyDecoder&) = delete;
  BodyDecoder& operator=(const BodyDecoder&) = delete;

  // Decodes `in` and appends to `out` while out.size() < max_out. After
  // kLimit or kEnd further calls decode nothing more (bytes given after
  // kEnd are an error); after an error, the caller stops. The error names
  // the coding and what is wrong ("gzip: invalid block type").
  core::Result<Outcome> feed(std::string_view in, std::string& out, size_t max_out);

  // At the end of the body: an error when the encoded stream stopped
  // before its end (a truncated upstream body); an empty body is fine.
  core::Status finish() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace torii::http
