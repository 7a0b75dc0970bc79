// libFuzzer target: an upstream body in a Content-Encoding response-rewrite
// decodes (http/body_decoder.h). Byte 0 picks the coding (gzip, deflate,
// br) and, with byte 1, how the rest is cut into pieces and the output
// limit. Checks: no crash or UB, the decoded size never passes the limit
// (a bomb stops there), the same bytes decode to the same text and verdict
// whatever the cut, and nothing is decoded after an end, a limit or an error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/body_decoder.h"

namespace {

using torii::http::BodyDecoder;
using torii::http::ContentCoding;

struct Decoded {
  std::string text;
  bool error = false;
  bool limited = false;
};

Decoded decode(ContentCoding c, std::string_view in, size_t piece, size_t limit) {
  BodyDecoder d(c);
  Decoded out;
  size_t i = 0;
  do {
    const std::string_view p = in.substr(i, piece);
    i += p.size();
    auto r = d.feed(p, out.text, limit);
    if (out.text.size() > limit) std::abort();  // the limit is a hard bound
    if (!r) {
      out.error = true;
      return out;
    }
    if (*r == BodyDecoder::Outcome::kLimit) {
      out.limited = true;
      return out;
    }
    if (*r == BodyDecoder::Outcome::kEnd && i < in.size()) {
      // Bytes after the end are refused, never decoded.
      const size_t before = out.text.size();
      if (d.feed(in.substr(i), out.text, limit)) std::abort();
      if (out.text.size() != before) std::abort();
      out.error = true;
      return out;
    }
  } while (i < in.size());
  if (!d.finish()) out.error = true;
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const ContentCoding coding = data[0] % 3 == 0   ? ContentCoding::kGzip
                               : data[0] % 3 == 1 ? ContentCoding::kDeflate
                                                  : ContentCoding::kBrotli;
  const size_t piece = 1 + (data[1] % 64);
  const size_t limit = 1 + (static_cast<size_t>(data[0] >> 2) << 10);  // 1 .. ~64 KiB
  const std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);

  const Decoded whole = decode(coding, in, in.size() == 0 ? 1 : in.size(), limit);
  const Decoded cut = decode(coding, in, piece, limit);
  // Where the pieces were cut changes nothing the client would see. (An
  // error may be found earlier or later, so only clean results compare.)
  if (!whole.error && !cut.error) {
    if (whole.text != cut.text || whole.limited != cut.limited) std::abort();
  }
  return 0;
}
