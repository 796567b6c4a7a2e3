#define PCRE2_CODE_UNIT_WIDTH 8
#include "sculpt/text/regex.h"

#include <pcre2.h>

#include "sculpt/core/error.h"

namespace sculpt {

UnicodeRegex::UnicodeRegex(const std::string& pattern) : pattern_(pattern) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF | PCRE2_UCP,
                        &error_code, &error_offset, nullptr);
  if (!code_) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error_code, message, sizeof message);
    throw Error("cannot compile pre-tokenizer regex at offset " + std::to_string(error_offset) + ": " +
                    reinterpret_cast<const char*>(message),
                "pattern " + pattern, "the tokenizer.json pattern uses syntax PCRE2 does not know");
  }
  pcre2_jit_compile(static_cast<pcre2_code*>(code_), PCRE2_JIT_COMPLETE);  // best effort
}

UnicodeRegex::~UnicodeRegex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

std::vector<std::pair<size_t, size_t>> UnicodeRegex::find_all(const std::string& text) const {
  auto* code = static_cast<pcre2_code*>(code_);
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> match(
      pcre2_match_data_create_from_pattern(code, nullptr), &pcre2_match_data_free);
  std::vector<std::pair<size_t, size_t>> out;
  size_t offset = 0;
  uint32_t options = 0;
  while (offset <= text.size()) {
    int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), offset, options, match.get(),
                         nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      if (rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21)
        throw Error("text is not valid UTF-8", "tokenizer", "convert the input to UTF-8");
      throw Error("regex match failed (PCRE2 error " + std::to_string(rc) + ")", "tokenizer");
    }
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match.get());
    size_t begin = ov[0], end = ov[1];
    if (end == begin) {  // empty match: step one code point forward
      if (begin >= text.size()) break;
      offset = begin + 1;
      while (offset < text.size() && (static_cast<unsigned char>(text[offset]) & 0xc0) == 0x80) ++offset;
      options = PCRE2_NO_UTF_CHECK;
      continue;
    }
    out.emplace_back(begin, end);
    offset = end;
    options = PCRE2_NO_UTF_CHECK;  // checked once on the first call
  }
  return out;
}

}  // namespace sculpt
