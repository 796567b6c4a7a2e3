// Prints generated text as it grows: the whole sequence is decoded again after each token and
// only what is new is printed, so tokenizers that drop a leading space on decode still print the
// right text; an incomplete UTF-8 tail (decoded as U+FFFD) waits for the token that completes it.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "sculpt/text/tokenizer.h"

namespace sculpt::cli {

class StreamPrinter {
 public:
  // `shown` is what is already on the screen of `ids` (e.g. the prompt, or nothing).
  StreamPrinter(const Tokenizer& tokenizer, std::vector<int32_t> ids, bool print_prefix)
      : tokenizer_(tokenizer), ids_(std::move(ids)), printed_(tokenizer.decode(ids_, /*skip_special=*/true)) {
    if (print_prefix) emit(printed_);
  }
  void add(int32_t id, bool final = false) {
    ids_.push_back(id);
    flush(final);
  }
  void flush(bool final) {
    const std::string text = tokenizer_.decode(ids_, true);
    const bool partial = text.size() >= 3 && text.compare(text.size() - 3, 3, "\xEF\xBF\xBD") == 0;
    if ((partial && !final) || text.size() <= printed_.size() || text.compare(0, printed_.size(), printed_) != 0) return;
    emit(text.substr(printed_.size()));
    printed_ = text;
  }

 private:
  static void emit(const std::string& s) {
    std::fputs(s.c_str(), stdout);
    std::fflush(stdout);
  }
  const Tokenizer& tokenizer_;
  std::vector<int32_t> ids_;
  std::string printed_;
};

}  // namespace sculpt::cli
