#include "observability/log_format.h"

#include <cctype>

namespace torii::observability {

LogFormat::LogFormat(std::string_view f) {
  Segment cur;
  size_t i = 0;
  while (i < f.size()) {
    if (f[i] == '$') {
      size_t j = i + 1;
      const bool braced = j < f.size() && f[j] == '{';
      if (braced) ++j;
      const size_t name_start = j;
      while (j < f.size() && (std::isalnum(static_cast<unsigned char>(f[j])) || f[j] == '_')) ++j;
      if (j > name_start && (!braced || (j < f.size() && f[j] == '}'))) {
        cur.has_var = true;
        cur.var = http::VarRef::parse(f.substr(name_start, j - name_start));
        segments_.push_back(std::move(cur));
        cur = Segment{};
        i = braced ? j + 1 : j;
        continue;
      }
    }
    cur.literal.push_back(f[i++]);
  }
  if (!cur.literal.empty()) segments_.push_back(std::move(cur));
}

void LogFormat::render(const http::VarSource& vars, std::string& out) const {
  for (const Segment& s : segments_) {
    out.append(s.literal);
    if (!s.has_var) continue;
    const auto v = vars.get(s.var);
    if (!v || v->empty()) {
      out.push_back('-');
      continue;
    }
    // Escape like nginx's default: quotes, backslashes and control bytes as \xHH.
    for (const char c : *v) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\' || u < 0x20 || u >= 0x7f) {
        static const char kHex[] = "0123456789ABCDEF";
        out.append("\\x");
        out.push_back(kHex[u >> 4]);
        out.push_back(kHex[u & 15]);
      } else {
        out.push_back(c);
      }
    }
  }
  out.push_back('\n');
}

}  // namespace torii::observability
