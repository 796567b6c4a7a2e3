// Tokenizers: loaders, special tokens, llama2.c against libsentencepiece, bad files. The
// cross-check against Hugging Face tokenizers/transformers runs live in the reference
// environment: tests/interop/check_tokenizers.py (ctest -L interop).
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

// Every kind refuses text that is not UTF-8 (Hugging Face cannot receive it either: Python
// strings hold code points) and decodes to valid UTF-8, U+FFFD standing for a partial character.
TEST(Tokenizer, InvalidUtf8IsAClearErrorForEveryKind) {
  testing::TempDir dir;
  write_byte_tokenizer(dir.path.string());
  std::vector<std::unique_ptr<Tokenizer>> kinds;
  kinds.push_back(load_tokenizer(dir.path.string()));
  const std::string stories = testing::shared_dir("models/stories260K");
  if (std::filesystem::exists(stories)) {
    kinds.push_back(load_tokenizer(stories + "/hf"));                                      // sentencepiece
    kinds.push_back(load_tokenizer(stories + "/stories260K.bin", stories + "/tok512.bin"));  // llama2c
  }
  for (const auto& tok : kinds)
    for (const char* bad : {"bad \xff byte", "cut \xE3\x81", "surrogate \xED\xA0\x80", "overlong \xC0\xAF"}) {
      try {
        tok->encode(bad);
        ADD_FAILURE() << tok->kind() << " accepted " << bad;
      } catch (const Error& e) {
        EXPECT_NE(e.one_line().find("text is not valid UTF-8"), std::string::npos) << e.one_line();
      }
    }
  // The byte tokenizer's ids are bytes: the first two bytes of "日" decode to one U+FFFD.
  EXPECT_EQ(kinds[0]->decode({0xE6, 0x97}), "\xEF\xBF\xBD");
  EXPECT_EQ(kinds[0]->decode({'a', 0xE6, 0x97, 0xA5}), "a\xE6\x97\xA5");
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
