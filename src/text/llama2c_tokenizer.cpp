#include "sculpt/text/llama2c_tokenizer.h"

#include <cstdio>
#include <cstring>

#include "sculpt/core/atomic_file.h"
#include "sculpt/core/error.h"
#include "sculpt/text/utf8.h"

namespace sculpt {

Llama2cTokenizer::Llama2cTokenizer(const std::string& path, bool sentencepiece_whitespace)
    : path_(path), sentencepiece_whitespace_(sentencepiece_whitespace) {
  const std::string bytes = read_text_file(path);
  size_t pos = 0;
  auto read = [&](void* dst, size_t n, const char* what) {
    check(pos + n <= bytes.size(), std::string("file ends inside ") + what + " of token " + std::to_string(pieces_.size()),
          path, "the tokenizer file is truncated");
    std::memcpy(dst, bytes.data() + pos, n);
    pos += n;
  };
  int32_t max_len = 0;
  read(&max_len, 4, "the header");
  check(max_len > 0 && max_len < 4096, "implausible max_token_length " + std::to_string(max_len), path,
        "is this a llama2.c tokenizer.bin?");
  while (pos < bytes.size()) {
    float score;
    int32_t len;
    read(&score, 4, "the score");
    read(&len, 4, "the length");
    check(len >= 0 && len <= max_len, "token " + std::to_string(pieces_.size()) + " has length " + std::to_string(len),
          path, "the tokenizer file is corrupt");
    std::string piece(static_cast<size_t>(len), '\0');
    read(piece.data(), static_cast<size_t>(len), "the text");
    lookup_.emplace(piece, static_cast<int32_t>(pieces_.size()));  // first occurrence wins
    pieces_.push_back(std::move(piece));
    scores_.push_back(score);
  }
  check(pieces_.size() > 3, "no tokens in file", path);
  set_special_ids(1, 2, true);
}

std::vector<int32_t> Llama2cTokenizer::encode(const std::string& raw) const {
  if (!utf8_valid(raw)) throw Error("text is not valid UTF-8", "llama2.c tokenizer", "convert the input to UTF-8");
  std::vector<int32_t> ids;
  std::string text;
  if (sentencepiece_whitespace_) {
    // SentencePiece trims and collapses runs of spaces; a literal '▁' in the input is kept and
    // tokenized like a space (it is how the vocabulary spells one).
    for (char c : raw)
      if (c != ' ' || (!text.empty() && text.back() != ' ')) text += c;
    if (!text.empty() && text.back() == ' ') text.pop_back();
    std::string spaced;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text.compare(i, 3, "\xE2\x96\x81") == 0) {
        spaced += ' ';
        i += 2;
      } else {
        spaced += text[i];
      }
    }
    text.swap(spaced);
  } else {
    text = raw;
  }
  if (text.empty()) return ids;
  auto space = lookup_.find(" ");
  if (space != lookup_.end()) ids.push_back(space->second);  // SentencePiece's dummy prefix
  for (const std::string& ch : utf8_chars(text)) {
    auto it = lookup_.find(ch);
    if (it != lookup_.end()) {
      ids.push_back(it->second);
    } else {
      for (unsigned char c : ch) ids.push_back(static_cast<int32_t>(c) + 3);  // <0x00> is id 3
    }
  }
  while (true) {  // merge the best-scoring adjacent pair until none exists
    float best = -1e10f;
    int best_id = -1, best_index = -1;
    for (size_t i = 0; i + 1 < ids.size(); ++i) {
      auto it = lookup_.find(pieces_[ids[i]] + pieces_[ids[i + 1]]);
      if (it != lookup_.end() && scores_[it->second] > best) {
        best = scores_[it->second];
        best_id = it->second;
        best_index = static_cast<int>(i);
      }
    }
    if (best_index < 0) break;
    ids[best_index] = best_id;
    ids.erase(ids.begin() + best_index + 1);
  }
  return ids;
}

std::string Llama2cTokenizer::id_to_piece(int32_t id) const {
  check(id >= 0 && id < static_cast<int32_t>(pieces_.size()), "token id " + std::to_string(id) + " out of range", path_);
  return pieces_[id];
}

std::string Llama2cTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::string bytes;
  // While nothing has been written, each piece loses one leading space (the dummy prefix), as
  // run.c does after BOS and SentencePiece does at the start of a decode.
  bool at_start = true;
  for (int32_t id : ids) {
    if (skip_special && is_special(id)) continue;
    std::string piece = id_to_piece(id);
    unsigned value;
    char tail;
    if (piece.size() == 6 && std::sscanf(piece.c_str(), "<0x%02X%c", &value, &tail) == 2 && tail == '>') {
      bytes += static_cast<char>(value);
    } else {
      if (at_start && !piece.empty() && piece[0] == ' ' && !is_special(id)) piece.erase(0, 1);
      bytes += piece;
    }
    if (!bytes.empty()) at_start = false;
  }
  return utf8_lossy(bytes);
}

}  // namespace sculpt
