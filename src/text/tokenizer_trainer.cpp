#include "sculpt/text/tokenizer_trainer.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "sculpt/core/atomic_file.h"
#include "sculpt/core/error.h"

namespace sculpt {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {
// Feeds the trainer from memory, so sentences can come from any reader (text, JSONL fields).
class VectorSentenceIterator : public sentencepiece::SentenceIterator {
 public:
  explicit VectorSentenceIterator(const std::vector<std::string>& s) : s_(s) {}
  bool done() const override { return i_ >= s_.size(); }
  void Next() override { ++i_; }
  const std::string& value() const override { return s_[i_]; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  const std::vector<std::string>& s_;
  size_t i_ = 0;
};
}  // namespace

std::string train_sentencepiece(const std::vector<std::string>& sentences, const TokenizerTrainOptions& o) {
  check(o.model_type == "bpe" || o.model_type == "unigram", "unknown tokenizer model type '" + o.model_type + "'",
        "--model-type", "choose bpe or unigram");
  check(!sentences.empty(), "no training text", "tokenizer train", "give files with non-empty text");
  // The Llama tokenizer's settings: no normalisation (text round-trips byte for byte), a dummy
  // prefix space, whitespace kept as is, digits split, <unk>/<s>/</s> at 0/1/2 and no pad.
  // input_sentence_size 0: the trainer uses every sentence given (sampling is the caller's, seeded).
  const std::unordered_map<std::string, std::string> args = {
      {"model_type", o.model_type},
      {"vocab_size", std::to_string(o.vocab_size)},
      {"character_coverage", std::to_string(o.character_coverage)},
      {"byte_fallback", o.byte_fallback ? "true" : "false"},
      {"split_digits", o.split_digits ? "true" : "false"},
      {"normalization_rule_name", "identity"},
      {"add_dummy_prefix", "true"},
      {"remove_extra_whitespaces", "false"},
      {"allow_whitespace_only_pieces", "true"},
      {"max_sentence_length", std::to_string(o.max_sentence_bytes)},
      {"input_sentence_size", "0"},
      {"shuffle_input_sentence", "false"},
      {"unk_id", "0"},
      {"bos_id", "1"},
      {"eos_id", "2"},
      {"pad_id", "-1"},
      {"hard_vocab_limit", "true"},
      {"num_threads", std::to_string(std::max(1, o.threads))},
      {"minloglevel", "2"},
  };
  sentencepiece::SetRandomGeneratorSeed(1);
  VectorSentenceIterator it(sentences);
  std::string proto;
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &it, &proto);
  check(status.ok(), "SentencePiece training failed: " + status.ToString(), "tokenizer train",
        "a smaller --vocab-size or more training text usually fixes this");
  return proto;
}

std::string sentencepiece_round_trip(const std::string& text) {
  static const std::string metaspace = "\xE2\x96\x81";
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, metaspace.size(), metaspace) == 0) {
      out += ' ';
      i += metaspace.size();
    } else {
      out += text[i++];
    }
  }
  return out;
}

void write_sentencepiece_dir(const std::string& dir, const std::string& model_proto) {
  sentencepiece::SentencePieceProcessor sp;
  check(sp.LoadFromSerializedProto(model_proto).ok(), "trained model does not load", dir, "this is a bug in sculpt");
  const fs::path d(dir);
  write_text_atomic((d / "tokenizer.model").string(), model_proto);
  const std::string unk = sp.IdToPiece(sp.unk_id()), bos = sp.IdToPiece(sp.bos_id()), eos = sp.IdToPiece(sp.eos_id());
  // transformers' LlamaTokenizer(Fast) reads these; sculpt reads add_bos_token.
  const json config = {{"tokenizer_class", "LlamaTokenizer"},
                       {"bos_token", bos},
                       {"eos_token", eos},
                       {"unk_token", unk},
                       {"pad_token", nullptr},
                       {"add_bos_token", true},
                       {"add_eos_token", false},
                       {"legacy", true},  // exactly libsentencepiece's behaviour
                       {"clean_up_tokenization_spaces", false},
                       {"sp_model_kwargs", json::object()}};
  write_text_atomic((d / "tokenizer_config.json").string(), config.dump(2) + "\n");
  const json specials = {{"bos_token", bos}, {"eos_token", eos}, {"unk_token", unk}};
  write_text_atomic((d / "special_tokens_map.json").string(), specials.dump(2) + "\n");
}

}  // namespace sculpt
