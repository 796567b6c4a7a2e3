// Plain-text corpora for pretraining: reading .txt/.jsonl/.json, the lines SentencePiece trains
// on, and packing into sequences. With the byte tokenizer every expected id is the byte itself,
// so the packed stream can be rebuilt from the documents independently.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "sculpt/core/error.h"
#include "sculpt/data/batching.h"
#include "sculpt/data/text_corpus.h"
#include "sculpt/text/byte_tokenizer.h"
#include "test_support.h"

namespace sculpt {
namespace {

using testing::write_file;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.one_line();
  }
  return "no error";
}

TEST(TextCorpus, ReadsTxtJsonlAndJsonWithFieldFallback) {
  testing::TempDir dir;
  const auto txt = write_file(dir, "book.txt", "Call me Ishmael.\nSome years ago.\n");
  const auto jsonl = write_file(dir, "docs.jsonl", "{\"text\": \"first\"}\n\n{\"text\": \"second\", \"x\": 1}\n");
  const auto json = write_file(dir, "train.json", R"([{"label": "World", "sentence": "news one"}, {"sentence": "news two", "label": "Sports"}])");
  const TextCorpus c = read_text_corpus({txt, jsonl, json}, "text,sentence");
  ASSERT_EQ(c.sources.size(), 3u);
  ASSERT_EQ(c.documents.size(), 5u);
  EXPECT_EQ(c.documents[0].text, "Call me Ishmael.\nSome years ago.\n");
  EXPECT_EQ(c.documents[2].text, "second");
  EXPECT_EQ(c.documents[2].source, 1);
  EXPECT_EQ(c.documents[4].text, "news two");  // the label is never read
  EXPECT_EQ(c.documents[4].source, 2);
  // A directory is read in sorted order (book.txt, docs.jsonl, train.json).
  EXPECT_EQ(read_text_corpus({dir.path.string()}, "text,sentence").documents.size(), 5u);
}

TEST(TextCorpus, BadInputNamesFileAndLine) {
  testing::TempDir dir;
  const auto bad_json = write_file(dir, "a.jsonl", "{\"text\": \"ok\"}\n{\"text\": oops}\n");
  EXPECT_EQ(error_of([&] { read_text_corpus({bad_json}); }),
              bad_json + ":2: invalid JSON (hint: each line must be one JSON object)");
  const auto no_field = write_file(dir, "b.jsonl", "{\"body\": \"x\"}\n");
  EXPECT_EQ(error_of([&] { read_text_corpus({no_field}); }),
              no_field + ":1: record has no \"text\" field (hint: choose the field with --text-field)");
  const auto latin1 = write_file(dir, "c.txt", "caf\xe9\n");
  EXPECT_EQ(error_of([&] { read_text_corpus({latin1}); }),
              latin1 + ": text is not valid UTF-8 (hint: convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8))");
  const auto empty = write_file(dir, "d.txt", "");
  EXPECT_EQ(error_of([&] { read_text_corpus({empty}); }),
              empty + ": no text in the corpus (hint: give files with non-empty text)");
  EXPECT_NE(error_of([&] { read_text_corpus({dir / "missing.txt"}); }).find("no such file"), std::string::npos);
}

TEST(TextCorpus, LinesAreNonEmptyAndSubsetIsSeededInOrder) {
  TextCorpus c;
  c.sources = {"x"};
  c.documents = {{"a\n\n  \nb\r\nc", 0}, {"d\ne\nf\ng\nh", 0}};
  const auto all = corpus_lines(c, 0, 1);
  EXPECT_EQ(all, (std::vector<std::string>{"a", "b", "c", "d", "e", "f", "g", "h"}));
  const auto some = corpus_lines(c, 3, 7);
  ASSERT_EQ(some.size(), 3u);
  EXPECT_EQ(some, corpus_lines(c, 3, 7));
  EXPECT_TRUE(std::is_sorted(some.begin(), some.end()));  // corpus order kept (letters are in order)
  EXPECT_NE(some, corpus_lines(c, 3, 8));  // another seed, another sample (fixed seeds: checked once)
}

TEST(TextCorpus, PackingCutsTheDocumentStreamWithoutLosingTokens) {
  testing::TempDir dir;
  write_byte_tokenizer(dir.path.string());
  auto tok = load_tokenizer(dir.path.string());
  TextCorpus c;
  c.sources = {"s0", "s1"};
  for (int i = 0; i < 40; ++i) c.documents.push_back({"doc " + std::to_string(i) + std::string(i % 7, 'x'), i % 2});
  const int64_t context = 16;
  const PackedCorpus p = pack_corpus(c, *tok, context, 0.25, 3);

  // Per-source counts: bytes + BOS + EOS of each document.
  int64_t s0 = 0, s1 = 0;
  for (const auto& d : c.documents) (d.source == 0 ? s0 : s1) += static_cast<int64_t>(d.text.size()) + 2;
  EXPECT_EQ(p.tokens_per_source, (std::vector<int64_t>{s0, s1}));
  EXPECT_EQ(p.documents_per_source, (std::vector<int64_t>{20, 20}));

  // Rebuild both streams independently: documents in epoch_order(40, seed 3), the first 10 held out.
  const auto order = epoch_order(40, 3, 0);
  std::vector<int32_t> held, train;
  for (size_t k = 0; k < order.size(); ++k) {
    auto& s = k < 10 ? held : train;
    s.push_back(kByteTokenizerBos);
    for (unsigned char ch : c.documents[static_cast<size_t>(order[k])].text) s.push_back(ch);
    s.push_back(kByteTokenizerEos);
  }
  auto check_stream = [&](const std::vector<Example>& seqs, const std::vector<int32_t>& stream) {
    ASSERT_EQ(static_cast<int64_t>(seqs.size()), (static_cast<int64_t>(stream.size()) - 1) / context);
    for (size_t i = 0; i < seqs.size(); ++i) {
      ASSERT_EQ(seqs[i].tokens.size(), static_cast<size_t>(context + 1));
      ASSERT_EQ(seqs[i].target.size(), seqs[i].tokens.size());
      EXPECT_EQ(seqs[i].target[0], 0);
      for (int64_t j = 0; j <= context; ++j) {
        ASSERT_EQ(seqs[i].tokens[static_cast<size_t>(j)], stream[i * context + static_cast<size_t>(j)]);
        if (j > 0) {
          ASSERT_EQ(seqs[i].target[static_cast<size_t>(j)], 1);
        }
      }
    }
  };
  EXPECT_EQ(p.held_out_documents, std::vector<int64_t>(order.begin(), order.begin() + 10));
  check_stream(p.train, train);
  check_stream(p.held_out, held);
  EXPECT_EQ(p.train_tokens, static_cast<int64_t>(p.train.size()) * context);
  // Every stream token is a target of some sequence except the first and the dropped tail.
  const int64_t covered = p.train_tokens + p.held_out_tokens + 2;
  EXPECT_EQ(p.dropped_tail_tokens, static_cast<int64_t>(train.size() + held.size()) - covered);
  EXPECT_LT(p.dropped_tail_tokens, 2 * context);
}

TEST(TextCorpus, PackingRejectsTooLittleText) {
  testing::TempDir dir;
  write_byte_tokenizer(dir.path.string());
  auto tok = load_tokenizer(dir.path.string());
  TextCorpus c;
  c.sources = {"tiny.txt"};
  c.documents = {{"hi", 0}};
  EXPECT_EQ(error_of([&] { pack_corpus(c, *tok, 16, 0, 0); }),
            "tiny.txt: the corpus is shorter than one sequence of 17 tokens (hint: add text or lower --context)");
  EXPECT_THROW(pack_corpus(c, *tok, 16, 1.0, 0), Error);
}

}  // namespace
}  // namespace sculpt
