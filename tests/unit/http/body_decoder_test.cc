// BodyDecoder: gzip (several members too), deflate and br bodies come back
// whole whatever the piece sizes; the output limit holds against a bomb;
// corrupt, truncated and trailing bytes are errors.
#include "http/body_decoder.h"

#include <brotli/encode.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

namespace torii::http {
namespace {

// window_bits 15 + 16: gzip; 15: zlib (Content-Encoding: deflate).
std::string zlib_compress(const std::string& in, int window_bits) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, in.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  return out;
}

std::string brotli_compress(const std::string& in) {
  size_t n = BrotliEncoderMaxCompressedSize(in.size()) + 16;
  std::string out(n, '\0');
  EXPECT_TRUE(BrotliEncoderCompress(5, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, in.size(),
                                    reinterpret_cast<const uint8_t*>(in.data()), &n,
                                    reinterpret_cast<uint8_t*>(out.data())));
  out.resize(n);
  return out;
}

std::string text(size_t n) {
  std::string s;
  for (size_t i = 0; s.size() < n; ++i) s += "line " + std::to_string(i) + " of the body\n";
  s.resize(n);
  return s;
}

// Feeds `encoded` in pieces of `piece` bytes; the decoded text, or the error.
std::string decode(ContentCoding c, const std::string& encoded, size_t piece,
                   size_t max_out = 1 << 30) {
  BodyDecoder d(c);
  std::string out;
  for (size_t i = 0; i < encoded.size(); i += piece) {
    auto r = d.feed(std::string_view(encoded).substr(i, piece), out, max_out);
    if (!r) return "error: " + r.error().message;
    if (*r == BodyDecoder::Outcome::kLimit) return out + "<limit>";
  }
  if (auto st = d.finish(); !st) return "error: " + st.error().message;
  return out;
}

TEST(BodyDecoderTest, codings_are_recognised_by_name_only_alone) {
  EXPECT_EQ(parse_content_coding("gzip"), ContentCoding::kGzip);
  EXPECT_EQ(parse_content_coding(" X-GZIP "), ContentCoding::kGzip);
  EXPECT_EQ(parse_content_coding("Deflate"), ContentCoding::kDeflate);
  EXPECT_EQ(parse_content_coding("br"), ContentCoding::kBrotli);
  EXPECT_EQ(parse_content_coding("identity"), std::nullopt);
  EXPECT_EQ(parse_content_coding("zstd"), std::nullopt);
  EXPECT_EQ(parse_content_coding("gzip, br"), std::nullopt);
  EXPECT_EQ(parse_content_coding(""), std::nullopt);
}

TEST(BodyDecoderTest, every_coding_comes_back_whole_in_any_piece_size) {
  const std::string body = text(300000);
  const std::string gz = zlib_compress(body, 15 + 16);
  const std::string zl = zlib_compress(body, 15);
  const std::string br = brotli_compress(body);
  for (size_t piece : {1u, 7u, 4096u, 1u << 20}) {
    EXPECT_EQ(decode(ContentCoding::kGzip, gz, piece), body) << piece;
    EXPECT_EQ(decode(ContentCoding::kDeflate, zl, piece), body) << piece;
    EXPECT_EQ(decode(ContentCoding::kBrotli, br, piece), body) << piece;
  }
  EXPECT_EQ(decode(ContentCoding::kGzip, zlib_compress("", 15 + 16), 5), "");
}

TEST(BodyDecoderTest, gzip_members_back_to_back_are_one_body) {
  const std::string first = zlib_compress("first ", 15 + 16);
  const std::string gz = first + zlib_compress("second", 15 + 16);
  EXPECT_EQ(decode(ContentCoding::kGzip, gz, 3), "first second");
  // A member that ends exactly where a piece ends: the next piece goes on.
  EXPECT_EQ(decode(ContentCoding::kGzip, gz, first.size()), "first second");
  // Bytes after a member that do not start another are an error.
  EXPECT_EQ(decode(ContentCoding::kGzip, first + "junk", first.size()).rfind("error: gzip: ", 0), 0u);
}

TEST(BodyDecoderTest, an_empty_body_is_no_error) {
  // A HEAD or a 304 carries the header and no body.
  for (ContentCoding c : {ContentCoding::kGzip, ContentCoding::kDeflate, ContentCoding::kBrotli}) {
    BodyDecoder d(c);
    std::string out;
    ASSERT_TRUE(d.feed("", out, 100));
    EXPECT_TRUE(d.finish());
    EXPECT_EQ(out, "");
  }
}

TEST(BodyDecoderTest, output_stops_at_the_limit_however_much_the_input_inflates) {
  const std::string bomb = zlib_compress(std::string(64 << 20, 'a'), 15 + 16);  // ~64 KiB
  EXPECT_EQ(decode(ContentCoding::kGzip, bomb, 1 << 20, 100000),
            std::string(100000, 'a') + "<limit>");
  const std::string br_bomb = brotli_compress(std::string(64 << 20, 'b'));
  EXPECT_EQ(decode(ContentCoding::kBrotli, br_bomb, 4096, 5000), std::string(5000, 'b') + "<limit>");
}

TEST(BodyDecoderTest, a_body_of_exactly_the_limit_is_whole_one_byte_more_is_cut) {
  const std::string body = text(40000);
  for (size_t piece : {1u, 100u, 1u << 20}) {
    EXPECT_EQ(decode(ContentCoding::kGzip, zlib_compress(body, 15 + 16), piece, body.size()), body);
    EXPECT_EQ(decode(ContentCoding::kBrotli, brotli_compress(body), piece, body.size()), body);
    EXPECT_EQ(decode(ContentCoding::kGzip, zlib_compress(body, 15 + 16), piece, body.size() - 1),
              body.substr(0, body.size() - 1) + "<limit>");
  }
}

TEST(BodyDecoderTest, corrupt_truncated_and_trailing_bytes_are_errors) {
  const std::string body = text(5000);
  std::string gz = zlib_compress(body, 15 + 16);
  EXPECT_EQ(decode(ContentCoding::kGzip, "not gzip at all", 4).rfind("error: gzip: ", 0), 0u);
  EXPECT_EQ(decode(ContentCoding::kGzip, gz.substr(0, gz.size() / 2), 100),
            "error: gzip: the body ends before the encoded stream does");
  EXPECT_EQ(decode(ContentCoding::kDeflate, zlib_compress(body, 15) + "xyz", 64),
            "error: deflate: 3 bytes after the end of the stream");
  EXPECT_EQ(decode(ContentCoding::kBrotli, brotli_compress(body) + "!", 64),
            "error: br: 1 bytes after the end of the stream");
  // The stream ends with one piece, stray bytes come in the next.
  const std::string zl = zlib_compress(body, 15);
  EXPECT_EQ(decode(ContentCoding::kDeflate, zl + "tail", zl.size()),
            "error: deflate: 4 bytes after the end of the stream");
  std::string br = brotli_compress(body);
  br[br.size() / 2] ^= 0x55;
  // br has no checksum: a flipped byte is an error or, at least, not the body.
  EXPECT_NE(decode(ContentCoding::kBrotli, br, 64), body);
  EXPECT_EQ(decode(ContentCoding::kBrotli, "\x1b", 1), "error: br: the body ends before the encoded stream does");
}

}  // namespace
}  // namespace torii::http
