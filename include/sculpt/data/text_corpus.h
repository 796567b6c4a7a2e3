// Plain text for tokenizer training and language-model pretraining.
//   - A .txt file is one document (UTF-8).
//   - A .jsonl file holds one document per line: the string field `text_field` of each record
//     (a comma-separated list of names is tried in order, e.g. "text,sentence").
//   - A .json file is an array of records (the CL_Benchmark splits), one document per record.
// Packing (pretraining): every document becomes BOS + text + EOS; a seeded fraction of documents
// is held out; the rest are concatenated in a seeded order into one stream that is cut into
// sequences of context + 1 tokens, consecutive sequences sharing one token, so each sequence's
// `context` inputs predict the next `context` tokens and no token of the stream is skipped.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sculpt/data/example.h"
#include "sculpt/text/tokenizer.h"

namespace sculpt {

struct TextDocument {
  std::string text;
  int32_t source = 0;  // index into TextCorpus::sources
};

struct TextCorpus {
  std::vector<std::string> sources;  // the files read, in order
  std::vector<TextDocument> documents;
};

// Reads every path (a file, or a directory whose .txt/.jsonl/.json files are read in sorted
// order). Errors name the file and line: invalid JSON, a missing or non-string field, invalid
// UTF-8, an empty corpus.
TextCorpus read_text_corpus(const std::vector<std::string>& paths, const std::string& text_field = "text");

// The non-empty lines of all documents (what SentencePiece trains on); at most `max_lines`
// (0: all) chosen by a seeded shuffle and kept in corpus order.
std::vector<std::string> corpus_lines(const TextCorpus& corpus, int64_t max_lines, uint64_t seed);

struct PackedCorpus {
  std::vector<Example> train, held_out;     // each context + 1 tokens, every token but the first a target
  std::vector<int64_t> tokens_per_source;   // tokens of each source (BOS/EOS included), before packing
  std::vector<int64_t> documents_per_source;
  std::vector<int64_t> held_out_documents;  // indices into TextCorpus::documents, in held-out order
  int64_t train_tokens = 0, held_out_tokens = 0;  // tokens in the packed streams
  int64_t dropped_tail_tokens = 0;                // the end of each stream shorter than one sequence
};

// Tokenizes in parallel; `held_out_fraction` in [0, 1) of the documents (seeded) go to held_out.
PackedCorpus pack_corpus(const TextCorpus& corpus, const Tokenizer& tokenizer, int64_t context,
                         double held_out_fraction, uint64_t seed);

}  // namespace sculpt
