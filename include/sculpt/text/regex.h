// A compiled Unicode regular expression (PCRE2 in UTF + UCP mode), used by the pre-tokenizers.
// PCRE2 understands the patterns tokenizer.json files carry: \p{L}, \p{N}, (?i:...), (?!\S).
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sculpt {

class UnicodeRegex {
 public:
  explicit UnicodeRegex(const std::string& pattern);
  ~UnicodeRegex();
  UnicodeRegex(const UnicodeRegex&) = delete;
  UnicodeRegex& operator=(const UnicodeRegex&) = delete;
  // Byte ranges [begin, end) of every non-overlapping match, left to right.
  std::vector<std::pair<size_t, size_t>> find_all(const std::string& text) const;

 private:
  void* code_ = nullptr;  // pcre2_code*
  std::string pattern_;
};

}  // namespace sculpt
