// Fuzz target for what an upstream sends back: H1Parser in kResponse mode,
// fed as UpstreamConn feeds it (a buffer that grows between reads and may
// move, each read parsed from where the last stopped).
//
// Input layout: byte 0 holds flags (bit 0: the request was HEAD, so the
// response has no body; bit 1: parse the bytes as a request instead, the
// same property for what clients send); byte 1 seeds how the rest is cut
// into 1..8 reads. The rest is what the upstream sends. Seeds:
// corpus/http1_response/.
//
// Besides ASan/UBSan findings, it traps when the parse depends on where the
// reads were cut: the same bytes fed at once and in pieces must give the
// same verdict (error or not), the same head, the same body bytes and the
// same end. That is what keeps the framing checks honest that span reads
// (the CRLF after chunk data, the LF after a CR), and the spans that must
// stay contiguous across a buffer that moved.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/h1_parser.h"

namespace {

using torii::http::H1Parser;
using torii::http::ParseError;
using torii::http::Span;

[[noreturn]] void fail(const char* what, std::string_view input) {
  std::fprintf(stderr, "http1_response_fuzz: %s\n---\n%.*s\n---\n", what,
               static_cast<int>(input.size()), input.data());
  std::abort();
}

// What a parse of the first message produced, as text.
struct Outcome {
  bool error = false;
  bool head_complete = false;
  bool message_complete = false;
  bool finished = false;  // finish() at the end of input completed the message
  size_t consumed = 0;
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  bool operator==(const Outcome&) const = default;
};

std::string text(const std::string& buf, Span s) { return buf.substr(s.off, s.len); }

// Feeds `input` to a response parser in reads ending at `cuts` (ascending,
// the last one input.size()). Each read copies what arrived so far into a
// new buffer, so spans must survive the buffer moving.
Outcome parse(std::string_view input, H1Parser::Kind kind, bool head_request,
              const std::vector<size_t>& cuts) {
  H1Parser p(kind);
  p.expect_no_body(head_request);
  Outcome o;
  std::string buf;
  size_t parsed = 0;
  for (const size_t cut : cuts) {
    std::string moved(input.substr(0, cut));
    buf.swap(moved);  // a new allocation: the old base is gone
    while (parsed < buf.size()) {
      const size_t n = p.feed(buf.data(), parsed, buf.size() - parsed);
      parsed += n;
      for (const Span& s : p.body()) o.body += text(buf, s);
      p.clear_body();
      if (p.error() != ParseError::kNone || p.message_complete() || n == 0) break;
    }
    if (p.error() != ParseError::kNone || p.message_complete()) break;
  }
  o.error = p.error() != ParseError::kNone;
  if (!o.error && !p.message_complete()) o.finished = p.finish();
  o.head_complete = p.head_complete();
  o.message_complete = p.message_complete();
  o.consumed = parsed;
  if (o.head_complete && !o.error) {
    o.status = p.status_code();
    for (const auto& h : p.headers()) o.headers.emplace_back(text(buf, h.name), text(buf, h.value));
  }
  if (o.error) {
    // Where an error is found may depend on the cut; that one is found may not.
    o.consumed = 0;
    o.body.clear();
    o.head_complete = o.message_complete = false;
  }
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const bool head_request = (data[0] & 1) != 0;
  const H1Parser::Kind kind =
      (data[0] & 2) != 0 ? H1Parser::Kind::kRequest : H1Parser::Kind::kResponse;
  uint32_t seed = data[1] * 2654435761u + 1;
  const std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);
  if (input.empty()) return 0;

  std::vector<size_t> cuts;
  const size_t pieces = 1 + seed % 8;
  for (size_t i = 1; i < pieces; ++i) {
    seed = seed * 1103515245u + 12345u;
    cuts.push_back(1 + seed % input.size());
  }
  cuts.push_back(input.size());
  std::sort(cuts.begin(), cuts.end());

  const Outcome whole = parse(input, kind, head_request, {input.size()});
  const Outcome pieces_outcome = parse(input, kind, head_request, cuts);
  if (!(whole == pieces_outcome)) fail("the parse depends on where the reads were cut", input);
  // One byte per read: every boundary at once.
  if (input.size() <= 512) {
    std::vector<size_t> every;
    for (size_t i = 1; i <= input.size(); ++i) every.push_back(i);
    if (!(whole == parse(input, kind, head_request, every))) {
      fail("the parse differs when fed one byte per read", input);
    }
  }
  return 0;
}
