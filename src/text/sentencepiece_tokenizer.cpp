#include "sculpt/text/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include "sculpt/core/error.h"
#include "sculpt/text/utf8.h"

namespace sculpt {

SentencePieceTokenizer::SentencePieceTokenizer(const std::string& model_path)
    : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()), path_(model_path) {
  const auto status = sp_->Load(model_path);
  if (!status.ok())
    throw Error("cannot load SentencePiece model: " + status.ToString(), model_path,
                "the file is corrupt or not a SentencePiece .model");
  set_special_ids(sp_->bos_id(), sp_->eos_id(), sp_->bos_id() >= 0);
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::vector<int32_t> SentencePieceTokenizer::encode(const std::string& text) const {
  // Refused like every tokenizer here (libsentencepiece would silently replace the bytes).
  if (!utf8_valid(text)) throw Error("text is not valid UTF-8", path_, "convert the input to UTF-8");
  std::vector<int> ids;
  const auto status = sp_->Encode(text, &ids);
  if (!status.ok()) throw Error("SentencePiece encode failed: " + status.ToString(), path_);
  return {ids.begin(), ids.end()};
}

std::string SentencePieceTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::vector<int> kept;
  for (int32_t id : ids) {
    check(id >= 0 && id < sp_->GetPieceSize(), "token id " + std::to_string(id) + " out of range", path_);
    if (!(skip_special && is_special(id))) kept.push_back(id);
  }
  std::string text;
  const auto status = sp_->Decode(kept, &text);
  if (!status.ok()) throw Error("SentencePiece decode failed: " + status.ToString(), path_);
  return text;
}

int64_t SentencePieceTokenizer::vocab_size() const { return sp_->GetPieceSize(); }

std::string SentencePieceTokenizer::id_to_piece(int32_t id) const {
  check(id >= 0 && id < sp_->GetPieceSize(), "token id " + std::to_string(id) + " out of range", path_);
  return sp_->IdToPiece(id);
}

bool SentencePieceTokenizer::is_special(int32_t id) const { return sp_->IsControl(id) || sp_->IsUnknown(id); }

}  // namespace sculpt
