#include "http/body_decoder.h"

#include <brotli/decode.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstdint>

namespace torii::http {

namespace {

core::Error decode_error(std::string message) {
  return core::Error{core::ErrorKind::kBadResponse, core::ErrorSource::kUpstream, false,
                     std::move(message)};
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == y;
         });
}

// Output grows by at most this much per step.
constexpr size_t kStep = 16 * 1024;

}  // namespace

std::optional<ContentCoding> parse_content_coding(std::string_view value) {
  const std::string_view v = trim(value);
  if (iequal(v, "gzip") || iequal(v, "x-gzip")) return ContentCoding::kGzip;
  if (iequal(v, "deflate")) return ContentCoding::kDeflate;
  if (iequal(v, "br")) return ContentCoding::kBrotli;
  return std::nullopt;
}

struct BodyDecoder::State {
  ContentCoding coding;
  bool done = false;    // kEnd, kLimit or an error was returned
  bool ended = false;   // the encoded stream reached its end
  bool fed = false;     // some input came (an empty body decodes to nothing)
  // gzip: a member has begun and not ended. Members may follow one another
  // across pieces, so the end of one is not the end of the body.
  bool member_open = false;
  z_stream z{};
  bool z_ready = false;
  BrotliDecoderState* br = nullptr;

  explicit State(ContentCoding c) : coding(c) {
    if (coding == ContentCoding::kBrotli) {
      br = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
    } else {
      // 15 + 32: zlib or gzip header, detected from the first bytes.
      z_ready = inflateInit2(&z, 15 + 32) == Z_OK;
    }
  }
  ~State() {
    if (br) BrotliDecoderDestroyInstance(br);
    if (z_ready) inflateEnd(&z);
  }

  const char* name() const {
    switch (coding) {
      case ContentCoding::kGzip: return "gzip";
      case ContentCoding::kDeflate: return "deflate";
      case ContentCoding::kBrotli: return "br";
    }
    return "?";
  }

  // Both decoders write up to one byte past max_out: a stream of exactly
  // max_out bytes then ends (kEnd) and only a longer one is cut (kLimit).
  core::Result<Outcome> inflate_into(std::string_view in, std::string& out, size_t max_out) {
    if (!z_ready) return decode_error(std::string(name()) + ": cannot start the decoder");
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    for (;;) {
      if (z.avail_in > 0) member_open = true;
      const size_t before = out.size();
      const size_t room = std::min(kStep, max_out + 1 - before);
      out.resize(before + room);
      z.next_out = reinterpret_cast<Bytef*>(out.data() + before);
      z.avail_out = static_cast<uInt>(room);
      const int rc = ::inflate(&z, Z_NO_FLUSH);
      out.resize(before + room - z.avail_out);
      if (out.size() > max_out) {
        out.resize(max_out);
        return Outcome::kLimit;
      }
      if (rc == Z_STREAM_END) {
        // gzip allows members back to back (RFC 1952 2.2), in this piece or
        // the next; zlib streams do not.
        if (coding == ContentCoding::kGzip) {
          member_open = false;
          if (inflateReset(&z) != Z_OK) return decode_error("gzip: cannot read the next member");
          if (z.avail_in > 0) continue;
          return Outcome::kMore;
        }
        ended = true;
        if (z.avail_in > 0) {
          return decode_error(std::string(name()) + ": " + std::to_string(z.avail_in) +
                              " bytes after the end of the stream");
        }
        return Outcome::kEnd;
      }
      if (rc == Z_OK) {
        if (z.avail_in == 0 && z.avail_out != 0) return Outcome::kMore;  // needs the next piece
        continue;                                                        // needs more room
      }
      // Z_BUF_ERROR: no progress; with input and room left that would loop.
      if (rc == Z_BUF_ERROR && z.avail_in == 0) return Outcome::kMore;
      return decode_error(std::string(name()) + ": " + (z.msg ? z.msg : "corrupt data"));
    }
  }

  core::Result<Outcome> unbrotli_into(std::string_view in, std::string& out, size_t max_out) {
    if (!br) return decode_error("br: cannot start the decoder");
    const auto* next_in = reinterpret_cast<const uint8_t*>(in.data());
    size_t avail_in = in.size();
    for (;;) {
      const size_t before = out.size();
      const size_t room = std::min(kStep, max_out + 1 - before);
      out.resize(before + room);
      auto* next_out = reinterpret_cast<uint8_t*>(out.data() + before);
      size_t avail_out = room;
      const BrotliDecoderResult rc =
          BrotliDecoderDecompressStream(br, &avail_in, &next_in, &avail_out, &next_out, nullptr);
      out.resize(before + room - avail_out);
      if (out.size() > max_out) {
        out.resize(max_out);
        return Outcome::kLimit;
      }
      switch (rc) {
        case BROTLI_DECODER_RESULT_SUCCESS:
          ended = true;
          if (avail_in > 0) {
            return decode_error("br: " + std::to_string(avail_in) +
                                " bytes after the end of the stream");
          }
          return Outcome::kEnd;
        case BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT: return Outcome::kMore;
        case BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT: continue;
        case BROTLI_DECODER_RESULT_ERROR:
        default:
          return decode_error(std::string("br: ") +
                              BrotliDecoderErrorString(BrotliDecoderGetErrorCode(br)));
      }
    }
  }
};

BodyDecoder::BodyDecoder(ContentCoding coding) : state_(std::make_unique<State>(coding)) {}
BodyDecoder::~BodyDecoder() = default;

core::Result<BodyDecoder::Outcome> BodyDecoder::feed(std::string_view in, std::string& out,
                                                     size_t max_out) {
  State& s = *state_;
  if (!in.empty()) s.fed = true;
  if (s.done) {
    if (s.ended && !in.empty()) {
      return decode_error(std::string(s.name()) + ": " + std::to_string(in.size()) +
                          " bytes after the end of the stream");
    }
    return s.ended ? Outcome::kEnd : Outcome::kLimit;
  }
  auto r = s.coding == ContentCoding::kBrotli ? s.unbrotli_into(in, out, max_out)
                                              : s.inflate_into(in, out, max_out);
  if (!r || *r != Outcome::kMore) s.done = true;
  return r;
}

core::Status BodyDecoder::finish() const {
  const State& s = *state_;
  // Stopped early (a limit, an error already returned) is not truncation,
  // nor is an empty body (a HEAD, a 304), nor gzip between two members.
  if (s.ended || s.done || !s.fed) return core::ok_status();
  if (s.coding == ContentCoding::kGzip && !s.member_open) return core::ok_status();
  return decode_error(std::string(s.name()) + ": the body ends before the encoded stream does");
}

}  // namespace torii::http
