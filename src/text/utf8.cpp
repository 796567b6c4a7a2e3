#include "sculpt/text/utf8.h"

#include <algorithm>

namespace sculpt {

int utf8_sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xe0) == 0xc0) return 2;
  if ((lead & 0xf0) == 0xe0) return 3;
  if ((lead & 0xf8) == 0xf0) return 4;
  return 1;
}

namespace {
// Length of the valid sequence at text[i], or 0 when invalid.
size_t valid_sequence_at(const std::string& text, size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  if (lead < 0x80) return 1;
  size_t n = static_cast<size_t>(utf8_sequence_length(lead));
  if (n == 1 || i + n > text.size()) return 0;
  uint32_t cp = lead & (0xff >> (n + 1));
  for (size_t j = 1; j < n; ++j) {
    const auto c = static_cast<unsigned char>(text[i + j]);
    if ((c & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3f);
  }
  static const uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_for_len[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}
}  // namespace

std::vector<std::string> utf8_chars(const std::string& text) {
  std::vector<std::string> out;
  for (size_t i = 0; i < text.size();) {
    size_t n = valid_sequence_at(text, i);
    if (n == 0) n = 1;
    out.push_back(text.substr(i, n));
    i += n;
  }
  return out;
}

bool utf8_valid(const std::string& text) {
  for (size_t i = 0; i < text.size();) {
    size_t n = valid_sequence_at(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

namespace {
// Bytes of the longest prefix of a well-formed sequence at bytes[i] (its "maximal subpart",
// Unicode §3.9 / table 3-7): 0 when bytes[i] cannot start one.
size_t maximal_subpart_at(const std::string& bytes, size_t i) {
  const auto lead = static_cast<unsigned char>(bytes[i]);
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // the allowed range of the second byte
  if (lead >= 0xc2 && lead <= 0xdf) n = 2;
  else if (lead >= 0xe0 && lead <= 0xef) n = 3, lo = lead == 0xe0 ? 0xa0 : 0x80, hi = lead == 0xed ? 0x9f : 0xbf;
  else if (lead >= 0xf0 && lead <= 0xf4) n = 4, lo = lead == 0xf0 ? 0x90 : 0x80, hi = lead == 0xf4 ? 0x8f : 0xbf;
  else return 0;
  size_t k = 1;
  for (; k < n && i + k < bytes.size(); ++k) {
    const auto c = static_cast<unsigned char>(bytes[i + k]);
    if (k == 1 ? (c < lo || c > hi) : (c & 0xc0) != 0x80) break;
  }
  return k;
}
}  // namespace

std::string utf8_lossy(const std::string& bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    const size_t n = valid_sequence_at(bytes, i);
    if (n > 0) {
      out.append(bytes, i, n);
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      i += std::max<size_t>(1, maximal_subpart_at(bytes, i));
    }
  }
  return out;
}

std::string utf8_encode(uint32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
  return out;
}

std::vector<uint32_t> utf8_code_points(const std::string& text) {
  std::vector<uint32_t> out;
  for (const std::string& ch : utf8_chars(text)) {
    const auto lead = static_cast<unsigned char>(ch[0]);
    uint32_t cp = ch.size() == 1 ? lead : lead & (0xff >> (ch.size() + 1));
    for (size_t j = 1; j < ch.size(); ++j) cp = (cp << 6) | (static_cast<unsigned char>(ch[j]) & 0x3f);
    out.push_back(cp);
  }
  return out;
}

}  // namespace sculpt
